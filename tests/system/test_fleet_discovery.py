# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Discover and refresh in one play: the apig_instances inventory plugin gives the hosts, the role
(fleet_refresh_hosts) or the inventory-host playbook refreshes them. Real ansible-playbook runs of
the installed collection against the simulator (2 regions, 3 projects, 600 instances in mixed
statuses); what was sent is checked in the simulator's request log, what should have been sent is
computed from the simulator's own config."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections

import pytest

from apigw_support.ansible import REPO_ROOT
from apigw_support.simulator import Simulator
from test_inventory_plugin import (CONFIG, DOMAIN, EXPECTED, NORTH, NORTH_DEV, PASSWORD, SOUTH, TOKEN, USER,
                                   InventoryCli, expected_ids)
# The same simulated cloud and request log as the inventory tests (a module-scoped simulator per module).
from test_inventory_plugin import log, sim  # noqa: F401 pylint: disable=unused-import

PROJECT_OF = dict((i, p) for p in (NORTH, NORTH_DEV, SOUTH) for i in EXPECTED.projects[p]["instances"])


def test_one_play_discovers_and_refreshes_with_the_role(sim, log, ansible, tmp_path):
    source = InventoryCli(tmp_path / "inv").config(sim)  # cn-north-4 (looked up + a given sub-project), cn-south-1
    play = {"name": "discover and refresh", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "refresh", "ansible.builtin.include_role": {"name": "apigw.router.fleet_refresh"}, "vars": {
            "fleet_refresh_hosts": "{{ groups['apig_instances'] }}", "fleet_refresh_batch_size": 100,
            "fleet_refresh_options": {"auth_token": "{{ apig_token }}", "retries": 0}}},
        {"name": "summary", "ansible.builtin.debug": {"var": "fleet_refresh_summary"}}]}
    run = ansible.run([play], args=["-i", str(source)], extra_vars={"apig_token": TOKEN}).assert_success()
    running = expected_ids(NORTH) + expected_ids(NORTH_DEV) + expected_ids(SOUTH)
    assert len(running) > 300 and len(PROJECT_OF) == 600  # the rest are Frozen, Unhealthy, Creating, ...
    summary = run.task("summary")["fleet_refresh_summary"]
    assert (summary["total"], summary["failed"]) == (len(running), 0)
    entries = log()
    puts = [e for e in entries if e["method"] == "PUT"]
    # each Running instance exactly once, in its own project; no other instance
    assert collections.Counter(e["instance_id"] for e in puts) == dict((i, 1) for i in running)
    assert [e for e in puts if e["project_id"] != PROJECT_OF[e["instance_id"]]] == []
    # one project look-up per region whose project is not given (the plugin's; the role needs none)
    lookups = sorted(e["query"] for e in entries if e["resource"] == "projects")
    assert lookups == ["name=cn-north-4", "name=cn-south-1"]
    assert not ansible.find_in_captures(TOKEN)


def test_fleet_inventory_playbook_logs_in_once(sim, log, ansible, tmp_path):
    """playbooks/fleet_inventory.yml over the plugin's hosts with IAM password auth: one login for
    the play (one project), one refresh per host with that login's token."""
    source = InventoryCli(tmp_path / "inv").config(
        sim, regions=[{"name": "cn-north-4", "endpoint": sim.url, "project_id": NORTH_DEV}])
    playbook = (REPO_ROOT / "playbooks" / "fleet_inventory.yml").read_text()
    run = ansible.run(playbook, args=["-i", str(source), "--forks", "8"], extra_vars={
        "apig_iam_endpoint": sim.url, "apig_iam_user": USER, "apig_iam_password": PASSWORD,
        "apig_iam_domain": DOMAIN, "apig_retries": 0}).assert_success()
    running = expected_ids(NORTH_DEV)
    entries = log()
    logins = [e for e in entries if e["method"] == "POST" and e["path"] == "/v3/auth/tokens"]
    assert len(logins) == 1 and logins[0]["status"] == 201
    puts = [e for e in entries if e["method"] == "PUT"]
    assert collections.Counter(e["instance_id"] for e in puts) == dict((i, 1) for i in running)
    assert all(e["project_id"] == NORTH_DEV and e["auth"] == "token" and e["principal"] == USER for e in puts)
    assert "%d instances, %d changed, 0 failed" % (len(running), len(running)) in run.task("Show the summary")["msg"]
    assert ansible.find_in_captures(PASSWORD) == []
    assert ansible.find_in_captures("MIIsim") == []  # neither the issued token nor the plugin's


# -- the modules look the project up from the region (no project_id) -------------------------

def _refresh(sim, **options):
    return dict({"endpoint": sim.url, "iam_endpoint": sim.url, "auth_token": TOKEN, "retries": 0}, **options)


def test_refresh_module_looks_projects_up_once_per_region_per_run(sim, log, ansible):
    north, south = expected_ids(NORTH)[:3], expected_ids(SOUTH)[:3]
    ansible.run_tasks([
        {"name": "single", "apigw.router.apigw_router_refresh": _refresh(
            sim, instance_id=north[0], region="cn-north-4")},
        {"name": "fleet", "apigw.router.apigw_router_refresh": _refresh(sim, region="cn-north-4", instances=[
            {"instance_id": i} for i in north] + [{"instance_id": i, "region": "cn-south-1"} for i in south])},
    ]).assert_success()
    entries = log()
    # one look-up per region per module run: cn-north-4 in both runs, cn-south-1 in the fleet run
    assert sorted(e["query"] for e in entries if e["resource"] == "projects") == [
        "name=cn-north-4", "name=cn-north-4", "name=cn-south-1"]
    puts = [e for e in entries if e["method"] == "PUT"]
    assert collections.Counter(e["instance_id"] for e in puts) == dict(
        [(i, 1) for i in north[1:] + south] + [(north[0], 2)])
    for entry in puts:
        project = PROJECT_OF[entry["instance_id"]]
        assert entry["project_id"] == project and "/%s/" % project in entry["path"], entry
    assert not ansible.find_in_captures(TOKEN)


@pytest.mark.parametrize("region, count", [("eu-west-0", 0), ("cn-east-9", 2)])
def test_refresh_module_refuses_a_region_without_exactly_one_project(ansible, tmp_path, region, count):
    config = {"projects": [
        {"id": "2a2b2c3d4e5f60718293a4b5c6d7e8%02d" % n, "name": "cn-east-9",
         "instances": [{"id": "dup-%d" % n, "generate": {"count": 1, "seed": n}}]} for n in (1, 2)],
        "credentials": CONFIG["credentials"]}
    with Simulator(config, workdir=tmp_path / "sim") as sim:
        run = ansible.run_tasks([{"name": "refused", "apigw.router.apigw_router_refresh": _refresh(
            sim, instances=[{"instance_id": "dup-1", "region": region}])}]).assert_failure()
        msg = run.task("refused")["msg"]
        assert "region %s" % region in msg and "lists %d projects" % count in msg, msg
        assert [e["resource"] for e in sim.requests()] == ["projects"]  # nothing refreshed
