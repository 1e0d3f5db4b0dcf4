# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The role ``apigw.router.fleet_refresh`` passes what the management API says through as text.

An error message of the API ends up in the batch records, the printed summary, the summary fact
and both reports, which the role makes with its filters. None of them may treat that text as a
template: a gateway (or anyone in the path) could otherwise make the controller evaluate
expressions and lookups. The simulator answers one instance with a templated error code and
message; the output and the report files must hold them literally.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import xml.etree.ElementTree as ET

import pytest

from apigw_support.simulator import Simulator

PROJECT = "7a1b2c3d4e5f60718293a4b5c6d7e8f9"
TOKEN = "MIIuntrusted-token-5d1e"
ERROR_CODE = "APIG.{{ 6 * 7 }}"
ERROR_MSG = "boom {{ 7 * 191 }} {{ lookup('ansible.builtin.env', 'HOME') }}"
CONFIG = {
    "settings": {"refresh": {"working_polls": 0, "working_seconds": 0}},
    "projects": [{"id": PROJECT, "name": "cn-untrusted-1", "instances": [
        {"id": "u-1", "generate": {"count": 1, "seed": 1}},
        {"id": "u-2", "generate": {"count": 1, "seed": 2},
         "faults": {"always": {"status": 500, "error_code": ERROR_CODE, "error_msg": ERROR_MSG}}}]}],
    "credentials": {"tokens": [{"name": "untrusted", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim-untrusted")) as simulator:
        yield simulator


def test_api_text_is_never_templated(ansible, sim, tmp_path):
    reports = tmp_path / "reports"
    play = {"name": "fleet", "hosts": "localhost", "gather_facts": False, "roles": ["apigw.router.fleet_refresh"],
            "vars": {"fleet_refresh_instances": [{"instance_id": "u-1"}, {"instance_id": "u-2"}],
                     "fleet_refresh_batch_size": 1, "fleet_refresh_max_fail_percentage": 100,
                     "fleet_refresh_report_dir": str(reports),
                     "fleet_refresh_options": {"endpoint": sim.url, "project_id": PROJECT, "auth_token": TOKEN,
                                               "retries": 0}},
            "tasks": [{"name": "summary", "ansible.builtin.debug": {"var": "fleet_refresh_summary"}}]}
    run = ansible.run([play]).assert_success()

    assert run.task("summary")["fleet_refresh_summary"]["failed_instances"] == ["u-2"]
    shown = run.task("apigw.router.fleet_refresh : Show the summary")["msg"]
    failed_line = [line for line in shown if line.startswith("FAILED u-2")]
    assert len(failed_line) == 1 and ERROR_CODE in failed_line[0] and ERROR_MSG in failed_line[0], shown
    # what the expressions and the lookup would have given
    home = os.environ.get("HOME", "/root")
    for rendered in ("APIG.42", "boom 1337", "1337 " + home):
        assert rendered not in run.stdout

    with open(str(reports / "fleet_refresh.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    failed = [r for r in report["results"] if r["failed"]]
    assert [(r["instance_id"], r["error_code"], r["error_msg"]) for r in failed] == [("u-2", ERROR_CODE, ERROR_MSG)]
    failure = ET.parse(str(reports / "fleet_refresh.junit.xml")).getroot().find(".//testcase[@name='u-2']/failure")
    assert failure.get("type") == ERROR_CODE and ERROR_MSG in failure.get("message")
    assert "error_msg: " + ERROR_MSG in failure.text
