# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""apigw_iam_token: one IAM login for a play over many inventory hosts, counted in the
simulator's request log, and no secret in the output at -vvv."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json

import pytest

from apigw_support.simulator import Simulator

PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
USER, PASSWORD, DOMAIN = "ops-admin", "Iam-Passw0rd!token7", "test-domain"
HOSTS = ["tok-%02d" % i for i in range(8)]
ISSUED_TOKEN_PREFIX = "MIIsim"  # every token the simulator issues starts with this
CONFIG = {
    "projects": [{"id": PROJECT, "name": "cn-test-1", "instances": [
        {"id": i, "generate": {"count": 1, "seed": n}} for n, i in enumerate(HOSTS)]}],
    "credentials": {"users": [{"name": USER, "password": PASSWORD, "domain": DOMAIN, "roles": ["op_svc_apig"],
                               "projects": [PROJECT]}]},
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim")) as simulator:
        yield simulator


@pytest.fixture
def inventory(ansible, tmp_path):
    """The instances as inventory hosts, as the apig_instances inventory plugin gives them."""
    path = tmp_path / "hosts.json"
    path.write_text(json.dumps({"apig": {"hosts": dict(
        (h, {"ansible_connection": "local", "ansible_python_interpreter": ansible.python,
             "apigw_instance_id": h}) for h in HOSTS)}}))
    return ["-i", str(path)]


def _play(sim, password=PASSWORD):
    return [{"name": "refresh the fleet with one login", "hosts": "apig", "gather_facts": False, "tasks": [
        {"name": "login", "apigw.router.apigw_iam_token": {
            "iam_endpoint": sim.url, "iam_user": USER, "iam_password": password, "iam_domain": DOMAIN,
            "project_id": PROJECT, "retries": 0},
         "run_once": True, "no_log": True, "register": "iam"},
        {"name": "expiry", "ansible.builtin.debug": {"msg": "{{ iam.expires_at }} {{ iam.project_id }}"},
         "run_once": True},
        {"name": "refresh", "apigw.router.apigw_router_refresh": {
            "instance_id": "{{ apigw_instance_id }}", "endpoint": sim.url, "project_id": PROJECT,
            "auth_token": "{{ iam.token }}"},
         "no_log": True},
    ]}]


def test_one_login_for_the_play_and_no_secret_at_vvv(ansible, sim, inventory):
    sim.reset()
    run = ansible.run(_play(sim), args=inventory, verbosity=3).assert_success()
    log = sim.requests()
    logins = [e for e in log if e["method"] == "POST" and e["path"] == "/v3/auth/tokens"]
    refreshes = [e for e in log if e["method"] == "PUT"]
    assert len(logins) == 1 and logins[0]["status"] == 201
    # Every host refreshed exactly once, with the token of that one login (the simulator
    # names its user as the principal).
    assert sorted(e["instance_id"] for e in refreshes) == HOSTS
    assert all(e["status"] == 200 and e["auth"] == "token" and e["principal"] == USER for e in refreshes)
    assert len(log) == 1 + len(HOSTS)
    expires_at, project = run.task("expiry")["msg"].split()
    assert project == PROJECT
    expiry = datetime.datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
    assert expiry > datetime.datetime.now(datetime.timezone.utc)
    assert ansible.find_in_captures(PASSWORD) == []
    assert ansible.find_in_captures(ISSUED_TOKEN_PREFIX) == []
    assert PASSWORD not in sim.log_text()


def test_check_mode_logs_in_once_and_refreshes_nothing(ansible, sim, inventory):
    sim.reset()
    run = ansible.run(_play(sim), args=inventory, check=True).assert_success()
    log = sim.requests()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [("POST", "/v3/auth/tokens", 201)]
    assert len(run.tasks("refresh")) == len(HOSTS)


def test_wrong_password_fails_the_login_and_nothing_else_runs(ansible, sim, inventory):
    sim.reset()
    run = ansible.run(_play(sim, password="wrong-Passw0rd"), args=inventory).assert_failure()
    log = sim.requests()
    assert [(e["method"], e["status"]) for e in log] == [("POST", 401)]
    assert ansible.find_in_captures("wrong-Passw0rd") == []
    assert run.tasks("refresh") == []


def test_without_no_log_the_module_still_hides_the_password(ansible, sim):
    sim.reset()
    run = ansible.run_tasks([{"name": "login", "apigw.router.apigw_iam_token": {
        "iam_endpoint": sim.url, "iam_user": USER, "iam_password": PASSWORD, "iam_domain": DOMAIN,
        "project_id": PROJECT}}], verbosity=3).assert_success()
    result = run.task("login")
    assert result["token"].startswith(ISSUED_TOKEN_PREFIX) and result["project_id"] == PROJECT
    assert result["token"] not in result["msg"]
    assert ansible.find_in_captures(PASSWORD) == []
