# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""mode: api through real ansible-playbook runs against the simulator over loopback HTTP.

Every case is checked out of band with the simulator's request log: what was sent, how
often, with which credentials; never only with what the module says about itself.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import time

import pytest

from apigw_support.simulator import Simulator

PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
INSTANCE = "inst-a"
TOKEN = "MIItest-admin-token-5f1e9a"
READER_TOKEN = "MIItest-reader-token-77aa01"
AK, SK = "TESTAK00000000000001", "test-secret-key-9c0ffee"
TMP_AK, TMP_SK, TMP_ST = "TESTTMPAK00000000002", "test-tmp-secret-key-beef", "test-security-token-cafe"
NOROLE_AK, NOROLE_SK = "TESTNOROLE0000000003", "test-norole-secret-4242"
USER, PASSWORD, DOMAIN = "ops-admin", "Test-Passw0rd!x9", "test-domain"
SECRETS = (TOKEN, READER_TOKEN, SK, TMP_SK, TMP_ST, NOROLE_SK, PASSWORD)

CONFIG = {
    "settings": {"refresh": {"working_polls": 2, "working_seconds": 0}},
    "projects": [{"id": PROJECT, "name": "cn-test-1", "instances": [
        {"id": INSTANCE, "generate": {"count": 5, "seed": 1}},
        {"id": "inst-b", "generate": {"count": 5, "seed": 2}},
    ] + [{"id": "fleet-%02d" % i, "generate": {"count": 2, "seed": i}} for i in range(12)]}],
    "credentials": {
        "users": [{"name": USER, "password": PASSWORD, "domain": DOMAIN, "roles": ["op_svc_apig"]}],
        "tokens": [{"name": "ci-token", "token": TOKEN, "roles": ["op_svc_apig"]},
                   {"name": "reader-token", "token": READER_TOKEN, "roles": []}],
        "keys": [{"ak": AK, "sk": SK, "roles": ["op_svc_apig"]},
                 {"ak": TMP_AK, "sk": TMP_SK, "security_token": TMP_ST, "roles": ["op_svc_apig"]},
                 {"ak": NOROLE_AK, "sk": NOROLE_SK, "roles": []}],
    },
}

REFRESH = "apigw.router.apigw_router_refresh"


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim")) as simulator:
        yield simulator


@pytest.fixture
def log(sim):
    """The simulator's log of what this test sent (faults cleared first).

    A request that an earlier test gave up on (a client timeout) may still be in flight:
    wait for it, boundedly, so that it does not land in this test's log.
    """
    deadline = time.monotonic() + 10
    while sim.stats()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    sim.reset(faults="clear")
    return sim.requests


def refresh_args(sim, **overrides):
    args = dict(instance_id=INSTANCE, project_id=PROJECT, endpoint=sim.url, auth_token=TOKEN, retry_delay=0.01)
    args.update(overrides)
    return {k: v for k, v in args.items() if v is not None}


def run_refresh(ansible, sim, check=False, verbosity=0, env=None, **overrides):
    return ansible.run_tasks([{"name": "refresh", REFRESH: refresh_args(sim, **overrides)}],
                             check=check, verbosity=verbosity, env=env)


def puts(entries):
    return [e for e in entries if e["method"] == "PUT"]


# --------------------------------------------------------------------------------- auth

@pytest.mark.parametrize("auth, kind, principal", [
    (dict(auth_token=TOKEN), "token", "ci-token"),
    (dict(auth_token=None, access_key=AK, secret_key=SK), "aksk", AK),
    (dict(auth_token=None, access_key=TMP_AK, secret_key=TMP_SK, security_token=TMP_ST), "aksk", TMP_AK),
    (dict(auth_token=None, iam_user=USER, iam_password=PASSWORD, iam_domain=DOMAIN, iam_endpoint="SIM"),
     "token", USER),
])
def test_each_auth_method_refreshes(ansible, sim, log, auth, kind, principal):
    if auth.get("iam_endpoint") == "SIM":
        auth["iam_endpoint"] = sim.url
    run = run_refresh(ansible, sim, **auth).assert_success()
    result = run.task("refresh")
    assert result.changed and result["status"] == 200 and result["attempts"] == 1
    assert result["resources"] == ["apis"]
    entries = log()
    sent = puts(entries)
    assert [(e["path"], e["status"], e["auth"], e["principal"]) for e in sent] == [
        ("/v1/%s/apigw/instances/%s/op-operations/router/apis" % (PROJECT, INSTANCE), 200, kind, principal)]
    if "iam_user" in auth:
        # one project-scoped token from IAM, then the PUT with it
        assert [(e["method"], e["auth"], e["status"]) for e in entries] == [
            ("POST", "password", 201), ("PUT", "token", 200)]


def test_wrong_iam_password_fails_before_any_refresh(ansible, sim, log):
    run = run_refresh(ansible, sim, auth_token=None, iam_user=USER, iam_password="wrong-Passw0rd",
                      iam_domain=DOMAIN, iam_endpoint=sim.url).assert_failure()
    result = run.task("refresh")
    assert result["status"] == 401 and "IAM token for user ops-admin" in result["msg"]
    assert [e["method"] for e in log()] == ["POST"]


@pytest.mark.parametrize("auth, message", [
    (dict(auth_token=None), "no authentication"),
    (dict(access_key=AK, secret_key=SK), "conflicting authentication"),
    (dict(auth_token=None, access_key=AK), "AK/SK authentication needs secret_key"),
    (dict(auth_token=None, iam_user=USER, iam_password=PASSWORD), "needs iam_domain, iam_endpoint"),
])
def test_missing_or_ambiguous_auth_sends_nothing(ansible, sim, log, auth, message):
    run = run_refresh(ansible, sim, **auth).assert_failure()
    assert message in run.task("refresh")["msg"]
    assert log() == []


# ----------------------------------------------------------------------- status table

@pytest.mark.parametrize("overrides, status, error_code, phrase", [
    (dict(auth_token="MIIwrong-token"), 401, "APIG.1002", "authentication failed"),
    (dict(auth_token=None, access_key=AK, secret_key="not-the-secret"), 401, "APIG.1002", "authentication failed"),
    (dict(auth_token=READER_TOKEN), 403, "APIG.1005", "forbidden: the credentials lack the op_svc_apig role"),
    (dict(auth_token=None, access_key=NOROLE_AK, secret_key=NOROLE_SK), 403, "APIG.1005", "op_svc_apig role"),
    (dict(instance_id="inst-unknown"), 404, "APIG.3030", "the instance does not exist"),
])
def test_client_errors_fail_without_retry(ansible, sim, log, overrides, status, error_code, phrase):
    run = run_refresh(ansible, sim, retries=3, **overrides).assert_failure()
    result = run.task("refresh")
    assert (result["status"], result["error_code"], result["attempts"]) == (status, error_code, 1)
    assert phrase in result["msg"] and result["request_id"]
    assert not result.changed
    sent = puts(log())
    assert len(sent) == 1 and sent[0]["status"] == status and sent[0]["request_id"] == result["request_id"]


def test_bad_request_is_not_retried(ansible, sim, log):
    sim.set_faults(INSTANCE, sequence=[{"status": 400, "error_code": "APIG.2012", "error_msg": "Invalid parameter"}])
    result = run_refresh(ansible, sim, retries=3).assert_failure().task("refresh")
    assert (result["status"], result["error_code"], result["error_msg"], result["attempts"]) == \
        (400, "APIG.2012", "Invalid parameter", 1)
    assert len(puts(log())) == 1


@pytest.mark.parametrize("fault, status", [
    ({"status": 429, "error_code": "APIG.0308"}, 429),
    ({"status": 500, "error_code": "APIG.3500", "error_msg": "Failed to synchronize data to etcd"}, 500),
    ({"status": 500, "error_code": "APIG.9008"}, 500),
    ({"status": 502, "body": "Bad Gateway"}, 502),
    ({"status": 503}, 503),
    ({"status": 504, "body": {"error": {"code": "APIG.9999", "message": "gateway timeout"}}}, 504),
    ({"reset": True}, -1),
])
def test_retryable_answers_are_retried_then_fail_with_last_status(ansible, sim, log, fault, status):
    sim.set_faults(INSTANCE, always=dict(fault, method="PUT"))
    result = run_refresh(ansible, sim, retries=2).assert_failure().task("refresh")
    assert (result["status"], result["attempts"]) == (status, 3)
    assert len(puts(log())) == 3  # the first try and exactly `retries` retries


def test_transient_faults_then_success(ansible, sim, log):
    sim.set_faults(INSTANCE, sequence=[{"status": 500, "error_code": "APIG.3500"}, {"reset": True},
                                       {"status": 503}])
    result = run_refresh(ansible, sim, retries=3).assert_success().task("refresh")
    assert result.changed and (result["status"], result["attempts"]) == (200, 4)
    assert [e["status"] for e in puts(log())] == [500, 0, 503, 200]


def test_timeout_is_retried(ansible, sim, log):
    sim.set_faults(INSTANCE, sequence=[{"delay": 3, "method": "PUT"}])
    result = run_refresh(ansible, sim, timeout=0.5, retries=1).assert_success().task("refresh")
    assert (result["status"], result["attempts"]) == (200, 2)


def test_retry_after_is_honoured(ansible, sim, log):
    sim.set_faults(INSTANCE, sequence=[{"status": 429, "retry_after": 1}])
    result = run_refresh(ansible, sim, retries=2).assert_success().task("refresh")
    assert result["attempts"] == 2
    first, second = puts(log())
    assert first["status"] == 429 and second["status"] == 200
    gap = _when(second) - _when(first)
    assert gap >= datetime.timedelta(seconds=0.95), gap


def _when(entry):
    return datetime.datetime.strptime(entry["time"], "%Y-%m-%dT%H:%M:%S.%fZ")


def test_unreachable_endpoint_reports_minus_one(ansible, sim, log):
    result = run_refresh(ansible, sim, endpoint="http://127.0.0.1:9", retries=1).assert_failure().task("refresh")
    assert (result["status"], result["attempts"]) == (-1, 2)
    assert "no answer" in result["msg"]


# --------------------------------------------------------------------- behaviour

def test_check_mode_sends_nothing(ansible, sim, log):
    result = run_refresh(ansible, sim, check=True, resources=["apis", "acls"]).assert_success().task("refresh")
    assert result.changed and result["attempts"] == 0
    assert log() == []


def test_several_resources_one_put_each_in_order(ansible, sim, log):
    result = run_refresh(ansible, sim, resources=["apis", "acls", "vpcs", "throttles", "tenants", "signatures",
                                                  "certs"]).assert_success().task("refresh")
    assert result["resources"] == ["apis", "acls", "vpcs", "throttles", "tenants", "signatures", "certs"]
    assert [e["resource"] for e in puts(log())] == result["resources"]
    assert [r["resource"] for r in sim.refreshes()] == result["resources"]


def test_wait_polls_the_router_state(ansible, sim, log):
    result = run_refresh(ansible, sim, wait=True, wait_sleep=0).assert_success().task("refresh")
    assert result["state"]["status"] == "finished" and "API" in result["state"]["finished"]
    states = [e for e in log() if e["method"] == "GET" and e["resource"] == "state"]
    assert len(states) == 3  # working, working, finished (working_polls: 2)


def test_wait_times_out(ansible, sim, log):
    sim.set_faults(INSTANCE, always={"method": "GET", "resource": "state", "body": {
        "request_id": "x", "processing": "Starting", "status": "working", "finished": ["PROJECT"]},
        "status": 200})
    result = run_refresh(ansible, sim, wait=True, wait_timeout=2, wait_sleep=1).assert_failure().task("refresh")
    assert "still working after 2s" in result["msg"] and result["state"]["status"] == "working"


@pytest.mark.parametrize("instance_id", ["../inst-a", "inst-a/../../x", "inst%2Fa", "inst a", "x" * 65, "-x"])
def test_traversal_like_ids_are_refused_with_zero_requests(ansible, sim, log, instance_id):
    result = run_refresh(ansible, sim, instance_id=instance_id).assert_failure().task("refresh")
    assert "is not a valid identifier" in result["msg"]
    assert log() == []


def test_unknown_resource_is_refused(ansible, sim, log):
    run = run_refresh(ansible, sim, resources=["apis", "routes"]).assert_failure()
    assert "routes" in run.task("refresh")["msg"]
    assert log() == []


def test_env_fallbacks(ansible, sim, log):
    env = {"HUAWEICLOUD_APIG_ENDPOINT": sim.url, "HUAWEICLOUD_SDK_PROJECT_ID": PROJECT,
           "HUAWEICLOUD_SDK_AK": AK, "HUAWEICLOUD_SDK_SK": SK}
    run = ansible.run_tasks([{"name": "refresh", REFRESH: {"instance_id": INSTANCE}}], env=env).assert_success()
    assert run.task("refresh")["status"] == 200
    assert [(e["auth"], e["principal"], e["project_id"]) for e in puts(log())] == [("aksk", AK, PROJECT)]


def test_module_defaults_for_the_action_group(ansible, sim, log):
    run = ansible.run_tasks(
        [{"name": "refresh", REFRESH: {"instance_id": INSTANCE, "resources": ["apis", "acls"]}}],
        module_defaults={"group/apigw.router.apigw": {"endpoint": sim.url, "project_id": PROJECT,
                                                      "auth_token": TOKEN}}).assert_success()
    assert run.task("refresh")["resources"] == ["apis", "acls"]
    assert len(puts(log())) == 2


def test_fleet_form_in_api_mode(ansible, sim, log):
    fleet = [{"instance_id": "fleet-%02d" % i} for i in range(12)] + [{"instance_id": "inst-unknown"}]
    sim.set_faults("fleet-03", always={"status": 503})
    result = run_refresh(ansible, sim, instance_id=None, instances=fleet, concurrency=4,
                         retries=1).assert_failure().task("refresh")
    assert [r["instance_id"] for r in result["results"]] == [f["instance_id"] for f in fleet]
    assert result["summary"] == {"total": 13, "changed": 11, "unchanged": 0, "failed": 2}
    failed = {r["instance_id"]: (r["status"], r["attempts"]) for r in result["results"] if r["failed"]}
    assert failed == {"fleet-03": (503, 2), "inst-unknown": (404, 1)}
    assert "fleet-03" in result["msg"] and "inst-unknown" in result["msg"]
    sent = puts(log())
    per_instance = {}
    for entry in sent:
        per_instance[entry["instance_id"]] = per_instance.get(entry["instance_id"], 0) + 1
    expected = {"fleet-%02d" % i: 1 for i in range(12)}
    expected.update({"fleet-03": 2, "inst-unknown": 1})  # 503 once retried; 404 never
    assert per_instance == expected
    assert sim.stats()["peak_in_flight"] <= 4


def test_no_secret_in_any_output_at_vvv(ansible, sim, log):
    runs = [
        run_refresh(ansible, sim, verbosity=3),
        run_refresh(ansible, sim, verbosity=3, auth_token=None, access_key=TMP_AK, secret_key=TMP_SK,
                    security_token=TMP_ST),
        run_refresh(ansible, sim, verbosity=3, auth_token=None, iam_user=USER, iam_password=PASSWORD,
                    iam_domain=DOMAIN, iam_endpoint=sim.url, wait=True, wait_sleep=0),
        # failures too: their messages and tracebacks must not carry secrets either
        run_refresh(ansible, sim, verbosity=3, auth_token=None, access_key=AK, secret_key=SK, instance_id="nope"),
        run_refresh(ansible, sim, verbosity=3, auth_token=None, iam_user=USER, iam_password=PASSWORD,
                    iam_domain=DOMAIN, iam_endpoint="http://127.0.0.1:9", retries=0),
    ]
    assert [r.rc == 0 for r in runs] == [True, True, True, False, False]
    assert ansible.captured_files()
    for secret in SECRETS:
        assert ansible.find_in_captures(secret) == [], secret
        assert secret not in sim.log_text()
