# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The role ``apigw.router.fleet_refresh`` given inventory hosts (``fleet_refresh_hosts``).

The hosts carry the ``apigw_*`` variables the inventory plugin ``apig_instances`` sets (here
from a static inventory), so that one play refreshes every instance in its own project. What
was sent is read from the simulator's request log; etcd's content is dumped with etcdctl.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import time

import pytest
import yaml

from apigw_support.etcd import etcd_single
from apigw_support.simulator import Simulator
from test_etcd_mode import APIS, expected_state

ROLE = "apigw.router.fleet_refresh"
TOKEN = "MIIhosts-secret-token-81f0c2"  # must never show in any output
PROJECTS = {"0b1c2d3e4f5a67890b1c2d3e4f5a6701": ("cn-north-4", ["h-%02d" % i for i in range(1, 6)]),
            "0b1c2d3e4f5a67890b1c2d3e4f5a6702": ("cn-east-3", ["h-%02d" % i for i in range(6, 10)])}
CONFIG = {
    "settings": {"refresh": {"working_polls": 0, "working_seconds": 0}},
    "projects": [{"id": project, "name": region, "instances": [
        {"id": instance_id, "generate": {"count": 2, "seed": index}} for index, instance_id in enumerate(instances)]}
        for project, (region, instances) in PROJECTS.items()],
    "credentials": {"tokens": [{"name": "hosts-ci", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}
INSTANCE_PROJECT = dict((i, p) for p, (_r, instances) in PROJECTS.items() for i in instances)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim-hosts")) as simulator:
        yield simulator


@pytest.fixture
def log(sim):
    deadline = time.monotonic() + 10
    while sim.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    sim.reset(faults="config")
    return sim.requests


def inventory(path, sim, extra_hosts=None, host_vars=None):
    """A static inventory as the apig_instances plugin would make it: host name = instance id."""
    hosts = {}
    for project, (region, instances) in PROJECTS.items():
        for instance_id in instances:
            hosts["gw-" + instance_id] = dict({"apigw_instance_id": instance_id, "apigw_project_id": project,
                                               "apigw_region": region, "apigw_endpoint": sim.url},
                                              **(host_vars or {}).get("gw-" + instance_id, {}))
    doc = {"all": {"vars": {"ansible_connection": "local"}, "children": {
        "apig_instances": {"hosts": hosts},
        "other": {"hosts": dict({"web-1": {}}, **(extra_hosts or {}))}}}}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def role_task(name, **role_vars):
    return {"name": name, "ansible.builtin.include_role": {"name": ROLE},
            "vars": dict({"fleet_refresh_options": {"auth_token": "{{ apig_token }}", "retries": 0}}, **role_vars)}


def test_hosts_refreshed_once_each_in_their_own_project(ansible, sim, log, tmp_path):
    path = inventory(tmp_path / "hosts.yml", sim)
    run = ansible.run_tasks([
        role_task("refresh", fleet_refresh_hosts="{{ groups['apig_instances'] }}", fleet_refresh_batch_size=4),
        {"name": "summary", "ansible.builtin.debug": {"var": "fleet_refresh_summary"}},
    ], extra_vars={"apig_token": TOKEN}, args=["-i", path], verbosity=2).assert_success()
    summary = run.task("summary")["fleet_refresh_summary"]
    assert (summary["total"], summary["changed"], summary["failed"]) == (9, 9, 0)
    puts = [e for e in log() if e["method"] == "PUT"]
    assert collections.Counter(e["instance_id"] for e in puts) == dict((i, 1) for i in INSTANCE_PROJECT)
    assert all(e["project_id"] == INSTANCE_PROJECT[e["instance_id"]] for e in puts)
    assert TOKEN not in run.stdout + run.stderr


@pytest.mark.parametrize("name, role_vars, extra_hosts, fragments", [
    ("both", dict(fleet_refresh_hosts=["gw-h-01"], fleet_refresh_instances=[{"instance_id": "h-01"}]), None,
     ["fleet_refresh_instances and fleet_refresh_hosts are mutually exclusive"]),
    ("neither", dict(), None, ["give the instances, as fleet_refresh_instances", "or as fleet_refresh_hosts"]),
    ("unknown host", dict(fleet_refresh_hosts=["gw-h-01", "nowhere-7"]), None,
     ["fleet_refresh_hosts names hosts that are not in the inventory: nowhere-7"]),
    ("no instance id", dict(fleet_refresh_hosts="{{ groups['apig_instances'] + ['web-1', 'web-2'] }}"),
     {"web-2": {"apigw_region": "cn-north-4"}},
     ["these hosts of fleet_refresh_hosts have no apigw_instance_id", "web-1, web-2"]),
    ("bad id", dict(fleet_refresh_hosts=["gw-h-01", "web-3"]), {"web-3": {"apigw_instance_id": "../x"}},
     ['these do not: "../x"']),
    ("not a list", dict(fleet_refresh_hosts={"a": 1}), None, ["fleet_refresh_hosts", "list"]),
])
def test_hosts_refused_before_any_request(ansible, sim, log, tmp_path, name, role_vars, extra_hosts, fragments):
    path = inventory(tmp_path / "hosts.yml", sim, extra_hosts=extra_hosts)
    run = ansible.run_tasks([{"name": "case", "block": [
        role_task("apply", **role_vars),
        {"name": "accepted", "ansible.builtin.fail": {"msg": "NOT REFUSED"}},
    ], "rescue": [{"name": "refused", "ansible.builtin.debug": {"msg": "{{ ansible_failed_result.msg }}"}}]}],
        extra_vars={"apig_token": TOKEN}, args=["-i", path]).assert_success()
    msg = run.task("refused")["msg"]
    for fragment in fragments:
        assert fragment in msg, (name, fragment, msg)
    assert log() == []


def test_hosts_with_their_own_etcd(ansible, sim, log, tmp_path):
    """Etcd mode: apigw_etcd_endpoints and apigw_key_prefix of each host pick its cluster and prefix."""
    for name in ("etcd-1", "etcd-2"):
        (tmp_path / name).mkdir()
    with etcd_single(tmp_path / "etcd-1") as one, etcd_single(tmp_path / "etcd-2") as two:
        own = {"gw-h-06": {"apigw_etcd_endpoints": two.endpoints, "apigw_key_prefix": "/two"},
               "gw-h-07": {"apigw_etcd_endpoints": two.endpoints}}
        path = inventory(tmp_path / "hosts.yml", sim, host_vars=own)
        run = ansible.run_tasks([role_task(
            "sync", fleet_refresh_hosts=["gw-h-01", "gw-h-06", "gw-h-07"], fleet_refresh_mode="etcd",
            fleet_refresh_options={"apis": APIS, "etcd_endpoints": one.endpoints}),
            {"name": "summary", "ansible.builtin.debug": {"var": "fleet_refresh_summary"}}],
            args=["-i", path]).assert_success()
        assert run.task("summary")["fleet_refresh_summary"]["changed"] == 3
        assert one.dump("/") == expected_state("/apig/router", "h-01")
        assert two.dump("/") == dict(expected_state("/two", "h-06"), **expected_state("/apig/router", "h-07"))
    assert log() == []  # a fixed source: the management API is not called
