# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The README's demo and the example playbooks under playbooks/ work as documented."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import socket
import subprocess
import xml.etree.ElementTree as ET

import psutil
import pytest

from apigw_support.ansible import REPO_ROOT
from apigw_support.etcd import etcd_single
from apigw_support.simulator import Simulator

PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
TOKEN = "MIIplaybooks-token-0451"
CONFIG = {
    "settings": {"refresh": {"working_polls": 1}},
    "projects": [{"id": PROJECT, "instances": [
        {"id": "pb-%d" % n, "generate": {"count": 10, "seed": n}} for n in range(3)]}],
    "credentials": {"tokens": [{"name": "ci", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}


def test_make_demo_runs_the_whole_story():
    """What `make demo` runs: etcd + simulator, the role, an etcd sync, the drift gate."""
    demo = subprocess.run(["bash", "hack/demo.sh"], cwd=str(REPO_ROOT), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, timeout=300, check=False)
    out = demo.stdout.decode("utf-8", "replace")
    assert demo.returncode == 0, out[-3000:]
    # the fleet is what the inventory plugin discovered: the 40 Running instances, not the 3 others
    assert "fleet: 40 instances, 37 refreshed, 3 failed (demo-07, demo-23, demo-31)" in out
    assert "in_sync=False" in out and "in sync: True" in out
    reports = REPO_ROOT / "build" / "demo" / "reports"
    suite = ET.parse(str(reports / "fleet_refresh.junit.xml")).getroot()
    cases = suite.findall(".//testcase")
    assert len(cases) == 40 and len(suite.findall(".//failure")) == 3
    assert json.loads((reports / "fleet_refresh.json").read_text())["summary"]["failed"] == 3
    # everything it started is stopped: etcd's port refuses connections, no simulator is left
    etcd_port = int(re.search(r"starting etcd on http://127\.0\.0\.1:(\d+)", out).group(1))
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", etcd_port), timeout=2).close()
    demo_config = str(REPO_ROOT / "build" / "demo" / "apig_sim.yml")
    assert not [p.pid for p in psutil.process_iter(["cmdline"]) if demo_config in (p.info["cmdline"] or [])]


def test_ci_cd_step_playbook(ansible, tmp_path):
    with Simulator(CONFIG, workdir=tmp_path / "sim") as sim:
        env = {"HUAWEICLOUD_APIG_ENDPOINT": sim.url, "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
               "HUAWEICLOUD_AUTH_TOKEN": TOKEN, "CI_REPORT_DIR": str(tmp_path / "reports")}
        playbook = (REPO_ROOT / "playbooks" / "ci_cd_step.yml").read_text()
        ansible.run(playbook, env=env, extra_vars={
            "apig_instances": [{"instance_id": "pb-0"}, {"instance_id": "pb-2"}]}).assert_success()
        sent = [(e["method"], e["instance_id"], e["resource"]) for e in sim.requests()]
        for instance in ("pb-0", "pb-2"):
            assert [s for s in sent if s[1] == instance and s[0] == "PUT"] == [
                ("PUT", instance, "apis"), ("PUT", instance, "acls")]
            assert ("GET", instance, "state") in sent  # waited for the router
        assert not [s for s in sent if s[1] == "pb-1"]
    suite = ET.parse(str(tmp_path / "reports" / "fleet_refresh.junit.xml")).getroot()
    assert [c.get("name") for c in suite.findall(".//testcase")] == ["pb-0", "pb-2"]


def test_drift_gate_playbook(ansible, tmp_path):
    apis = [{"id": "g1", "name": "one", "req_method": "GET", "req_uri": "/one", "run_env_id": "e1",
             "run_env_name": "RELEASE", "publish_id": "p1"}]
    apis_dir = tmp_path / "apis"
    apis_dir.mkdir()
    (apis_dir / "inst-gate.json").write_text(json.dumps(apis))
    playbook = (REPO_ROOT / "playbooks" / "drift_gate.yml").read_text()
    gate_vars = {"apis_dir": str(apis_dir), "apig_instance_ids": ["inst-gate"]}
    with etcd_single(str(tmp_path)) as etcd:
        env = {"ETCDCTL_ENDPOINTS": ",".join(etcd.endpoints)}
        ansible.run_tasks([{"name": "sync", "apigw.router.apigw_router_refresh": {
            "mode": "etcd", "instance_id": "inst-gate", "src": str(apis_dir / "inst-gate.json")}}],
            env=env).assert_success()
        revision = etcd.revision()
        ansible.run(playbook, env=env, extra_vars=gate_vars).assert_success()
        etcd.put("/apig/router/inst-gate/apis/g1", "{}")
        failed = ansible.run(playbook, env=env, extra_vars=gate_vars).assert_failure()
        assert "drift on inst-gate" in failed.stdout
        assert etcd.revision() == revision + 1  # the gate itself never writes


@pytest.mark.parametrize("path", sorted(p.name for p in (REPO_ROOT / "playbooks").glob("*.yml")))
def test_example_playbooks_parse(ansible, path):
    check = subprocess.run([os.path.join(str(REPO_ROOT), ".venv", "bin", "ansible-playbook"), "--syntax-check",
                            "-i", "localhost,", str(REPO_ROOT / "playbooks" / path)],
                           env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO_ROOT / "build" / "collections")),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=False)
    assert check.returncode == 0, check.stdout.decode("utf-8", "replace")
