# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Job slicing as AWX / Ansible Automation Platform does it, with the inventory-host form.

A sliced job template runs N jobs at once, each over a disjoint slice of the inventory's hosts
(host i in slice i mod N). Here N real ``ansible-playbook`` processes of the shipped
``playbooks/fleet_inventory.yml`` run at the same time over one static inventory of 300
instances (every host carrying its own ``apigw_*`` variables), each limited to its slice with
``--limit @file``. The simulator's request log, not the playbooks' output, shows that every
instance was refreshed exactly once and that no slice touched another slice's instance.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import os
import threading

import yaml

import pytest

from apigw_support.simulator import Simulator

# 300 module runs cost the controller several CPU-minutes in all (about a second each with
# ansible-core 2.19): too long for the CI suite on two cores, so `make reliability` runs it.
pytestmark = pytest.mark.slow

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK = os.path.join(REPO_ROOT, "playbooks", "fleet_inventory.yml")

PROJECT = "5c1d2e3f4a5b60718293a4b5c6d7e8f9"
TOKEN = "MIIslice-secret-token-8e2f4a"  # must never show in any output or log
SIZE = 300
SLICES = 3
HOSTS = ["apig-%03d" % i for i in range(SIZE)]  # inventory names, for --limit and the recap
INSTANCES = {host: "inst-%03d" % i for i, host in enumerate(HOSTS)}  # the instance IDs

CONFIG = {
    "settings": {"refresh": {"working_polls": 0, "working_seconds": 0}},
    "projects": [{"id": PROJECT, "name": "cn-slices-1", "instances": [
        {"id": instance_id, "generate": {"count": 1, "seed": index}}
        for index, instance_id in enumerate(INSTANCES.values())]}],
    "credentials": {"tokens": [{"name": "awx-job", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}


@pytest.fixture
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim-slices")) as simulator:
        yield simulator


def static_inventory(sim_url):
    """300 hosts, each with its own apigw_* host variables (as an AWX inventory source syncs them)."""
    return {"apig_instances": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"},
        "hosts": {host: {"apigw_instance_id": INSTANCES[host], "apigw_project_id": PROJECT,
                         "apigw_endpoint": sim_url, "apig_refresh_resources": ["apis"]}
                  for host in HOSTS}}}


def test_sliced_jobs_refresh_every_instance_exactly_once(ansible, sim, tmp_path):
    inventory = tmp_path / "fleet.yml"
    inventory.write_text(yaml.safe_dump(static_inventory(sim.url)), encoding="utf-8")
    slices = [HOSTS[k::SLICES] for k in range(SLICES)]
    with open(PLAYBOOK, encoding="utf-8") as handle:
        playbook = handle.read()

    runs, errors = [None] * SLICES, []
    start = threading.Barrier(SLICES)

    def run_slice(k):
        limit = tmp_path / ("slice-%d.txt" % k)
        # localhost too: the summary play runs there (an AWX slice's inventory has it implicitly)
        limit.write_text("\n".join(slices[k] + ["localhost"]) + "\n", encoding="utf-8")
        try:
            start.wait()
            runs[k] = ansible.run(playbook, name="slice-%d" % k,
                                  extra_vars={"apig_auth_token": TOKEN},
                                  args=["-i", str(inventory), "--limit", "@" + str(limit), "--forks", "10"],
                                  timeout=1200)
        except Exception as exc:  # reported below, with the slice it came from
            errors.append("slice %d: %r" % (k, exc))

    threads = [threading.Thread(target=run_slice, args=(k,)) for k in range(SLICES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    # The N processes really ran at the same time: each started before any other ended.
    windows = [(os.stat(r.run_dir / "command.txt").st_mtime, os.stat(r.run_dir / "stdout.txt").st_mtime)
               for r in runs]
    assert max(begin for begin, _end in windows) < min(end for _begin, end in windows)

    # Out of band: one PUT and one refresh per instance, and each from the slice that owns it.
    puts = [e for e in sim.requests() if e["method"] == "PUT"]
    assert collections.Counter(e["instance_id"] for e in puts) == {i: 1 for i in INSTANCES.values()}
    assert all(e["status"] == 200 for e in puts)
    refreshed = collections.Counter(r["instance_id"] for r in sim.refreshes())
    assert refreshed == {i: 1 for i in INSTANCES.values()}

    # Each job's own view: exactly its slice, all changed, none failed.
    for k, run in enumerate(runs):
        run.assert_success()
        results = run.tasks("Refresh this instance's router")
        assert sorted(r.host for r in results) == sorted(slices[k])
        assert all(r.changed and not r.failed and r["status"] == 200 for r in results)
        assert "%d instances, %d changed, 0 failed" % (len(slices[k]), len(slices[k])) \
            in run.task("Show the summary")["msg"]

    assert ansible.find_in_captures(TOKEN) == []
    assert TOKEN not in sim.log_text()
