# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The simulator speaks the real wire format: checked with Huawei's official SDK.

The SDK's ApigClient parses the ListApisV2 pages and its Signer signs requests, so
nothing here trusts the collection's own code; plain ``requests`` covers the paths
the SDK has no client for (IAM password auth, the refresh family). Results are
verified out of band through the simulator's request log and counters.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from huaweicloudsdkapig.v2 import ApigClient, ListApisV2Request
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from apigw_support.simulator import Simulator, SimulatorError

PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
OTHER_PROJECT = "f9e8d7c6b5a4938271605f4e3d2c1b0a"
RELEASE = "DEFAULT_ENVIRONMENT_RELEASE_ID"
TEST_ENV = "7e570000000000000000000000000001"
MULTI_ID = "a1000000000000000000000000000002"

ADMIN_AK, ADMIN_SK = "SIMTESTADMINAK000001", "sim-test-admin-sk-9f2c41d7"
TEMP_AK, TEMP_SK, TEMP_STS = "SIMTESTTEMPAK0000002", "sim-test-temp-sk-55aa10e3", "sim-test-sts-token-7c1d2e"
NOROLE_AK, NOROLE_SK = "SIMTESTNOROLEAK00003", "sim-test-norole-sk-0be4a2c9"
ADMIN_PASSWORD = "Sim-Admin-Passw0rd-41c7"
READER_PASSWORD = "Sim-Reader-Passw0rd-8d02"
STATIC_TOKEN = "MIIsim-static-test-token-3e9b0a6f1c"
DOMAIN = "sim-domain"

SECRETS = [ADMIN_SK, TEMP_SK, TEMP_STS, NOROLE_SK, ADMIN_PASSWORD, READER_PASSWORD, STATIC_TOKEN]

CONFIG = {
    "settings": {"refresh": {"working_polls": 2, "working_seconds": 0}},
    "projects": [
        {"id": PROJECT, "name": "sim-region-1", "instances": [
            {"id": "inst-a", "apis": [
                {"id": "a1000000000000000000000000000001", "name": "get_orders", "req_uri": "/orders",
                 "req_method": "GET", "envs": [{"id": RELEASE, "name": "RELEASE"}]},
                {"id": MULTI_ID, "name": "put_order", "req_uri": "/orders/{id}", "req_method": "PUT",
                 "envs": [{"id": RELEASE, "name": "RELEASE", "publish_id": "p-release"},
                          {"id": TEST_ENV, "name": "TEST", "publish_id": "p-test"}],
                 "backend_api": {"req_protocol": "HTTPS", "req_method": "PUT", "req_uri": "/b/orders",
                                 "url_domain": "10.0.0.1:443", "timeout": 5000, "retry_count": "-1",
                                 "vpc_channel_status": 2}},
                {"id": "a1000000000000000000000000000003", "name": "draft", "req_uri": "/draft"},
            ]},
            {"id": "inst-big", "generate": {"count": 1200, "seed": 11, "published_ratio": 0.8,
                                            "multi_env_ratio": 0.1}},
            {"id": "inst-faulty", "generate": {"count": 5, "seed": 2}},
            {"id": "inst-slow", "generate": {"count": 5, "seed": 3}},
        ]},
        {"id": OTHER_PROJECT, "name": "sim-region-2", "instances": [
            {"id": "inst-other", "generate": {"count": 3, "seed": 4}},
        ]},
    ],
    "credentials": {
        "users": [
            {"name": "admin", "password": ADMIN_PASSWORD, "domain": DOMAIN, "roles": ["op_svc_apig"],
             "projects": [PROJECT]},
            {"name": "reader", "password": READER_PASSWORD, "domain": DOMAIN, "roles": []},
        ],
        "tokens": [{"name": "static-admin", "token": STATIC_TOKEN, "roles": ["op_svc_apig"],
                    "projects": [PROJECT]}],
        "keys": [
            {"ak": ADMIN_AK, "sk": ADMIN_SK, "roles": ["op_svc_apig"]},
            {"ak": TEMP_AK, "sk": TEMP_SK, "security_token": TEMP_STS, "roles": ["op_svc_apig"]},
            {"ak": NOROLE_AK, "sk": NOROLE_SK, "roles": []},
        ],
    },
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("apig_sim")) as simulator:
        yield simulator


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False          # no proxy from the environment for loopback
    yield session
    session.close()


@pytest.fixture(autouse=True)
def _clean(sim):
    sim.reset(faults="config", apis="config")


def router_url(sim, resource, instance="inst-a", project=PROJECT):
    return "%s/v1/%s/apigw/instances/%s/op-operations/router/%s" % (sim.url, project, instance, resource)


def list_url(sim, instance="inst-a", project=PROJECT):
    return "%s/v2/%s/apigw/instances/%s/apis" % (sim.url, project, instance)


def sdk_client(sim, ak=ADMIN_AK, sk=ADMIN_SK, project=PROJECT, security_token=None):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.timeout = (5, 30)
    credentials = BasicCredentials(ak, sk, project)
    if security_token:
        credentials = credentials.with_security_token(security_token)
    return (ApigClient.new_builder().with_http_config(config).with_credentials(credentials)
            .with_endpoints([sim.url]).build())


def sdk_sign(method, url, ak, sk, security_token=None, sdk_date=None, project=PROJECT):
    """Headers and URL of a request signed by the official SDK's Signer (as its
    BasicCredentials would: X-Project-Id, optional X-Security-Token)."""
    parts = urlsplit(url)
    query = [tuple(p.split("=", 1)) for p in parts.query.split("&") if p]
    headers = {"Content-Type": "application/json", "X-Project-Id": project}
    if security_token:
        headers["X-Security-Token"] = security_token
    if sdk_date:
        headers["X-Sdk-Date"] = sdk_date
    request = SdkRequest(method=method, schema=parts.scheme, host=parts.netloc,
                         resource_path=parts.path, query_params=query, header_params=headers)
    signed = Signer(BasicCredentials(ak, sk, project)).sign(request)
    return "%s://%s%s" % (parts.scheme, parts.netloc, signed.uri), dict(signed.header_params)


def error_of(response):
    body = response.json()
    assert body["request_id"] == response.headers["X-Request-Id"]
    return response.status_code, body["error_code"]


def iam_token(http, sim, user="admin", password=ADMIN_PASSWORD, project=PROJECT):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "password": password, "domain": {"name": DOMAIN}}}},
        "scope": {"project": {"id": project}}}}
    return http.post(sim.url + "/v3/auth/tokens", json=body, timeout=10)


# ---- ListApisV2 through the official SDK -----------------------------------------------

def test_sdk_parses_list_page_with_multi_env_api(sim):
    response = sdk_client(sim).list_apis_v2(ListApisV2Request(instance_id="inst-a", limit=500))
    assert (response.total, response.size) == (3, 3)
    by_id = dict((api.id, api) for api in response.apis)
    multi = by_id[MULTI_ID]
    assert multi.run_env_id == RELEASE + "|" + TEST_ENV
    assert multi.run_env_name == "RELEASE|TEST"
    assert multi.publish_id == "p-release|p-test"
    assert len(multi.publish_time.split("|")) == 2
    assert multi.backend_api.url_domain == "10.0.0.1:443"
    assert multi.backend_api.retry_count == "-1"
    draft = by_id["a1000000000000000000000000000003"]
    assert (draft.run_env_id, draft.run_env_name, draft.publish_id) == ("", "", "")
    entry = sim.requests()[-1]
    assert (entry["auth"], entry["principal"], entry["status"]) == ("aksk", ADMIN_AK, 200)
    assert entry["resource"] == "list_apis" and entry["instance_id"] == "inst-a"


def test_sdk_pages_through_1200_generated_apis(sim):
    client = sdk_client(sim)
    seen, offset, total, pages = [], 0, None, 0
    for _page in range(10):                       # bounded: 3 pages expected
        response = client.list_apis_v2(ListApisV2Request(instance_id="inst-big", offset=offset,
                                                         limit=500))
        total = response.total
        pages += 1
        seen.extend(api.id for api in response.apis)
        offset += response.size
        if offset >= total or response.size == 0:
            break
    assert (total, pages, len(seen), len(set(seen))) == (1200, 3, 1200, 1200)
    # The SDK sends the canonical (sorted) query it signed.
    assert [e["query"] for e in sim.requests()] == [
        "limit=500&offset=0", "limit=500&offset=500", "limit=500&offset=1000"]
    published = client.list_apis_v2(ListApisV2Request(
        instance_id="inst-big", env_id=RELEASE, limit=500)).apis
    assert published and all(RELEASE in a.run_env_id.split("|") for a in published)


def test_list_filters_and_limits(sim, http):
    headers = {"X-Auth-Token": STATIC_TOKEN}
    url = list_url(sim, "inst-big")
    page = http.get(url, params={"limit": 0}, headers=headers, timeout=10).json()
    assert page["size"] == 20 and page["total"] == 1200           # limit <= 0 means 20
    one = page["apis"][3]
    for key in ("id", "name", "group_id"):
        found = http.get(url, params={key: one[key], "limit": 500}, headers=headers, timeout=10).json()
        assert one["id"] in [a["id"] for a in found["apis"]]
    gets = http.get(url, params={"req_method": "GET", "limit": 500}, headers=headers, timeout=10).json()
    assert gets["size"] and all(a["req_method"] == "GET" for a in gets["apis"])
    multi = [a for a in http.get(url, params={"limit": 500}, headers=headers, timeout=10).json()["apis"]
             if "|" in a["run_env_id"]]
    assert multi, "the generator must produce multi-environment APIs"
    with pytest.raises(ClientRequestException) as caught:
        sdk_client(sim).list_apis_v2(ListApisV2Request(instance_id="inst-big", limit=501))
    assert (caught.value.status_code, caught.value.error_code) == (400, "APIG.2012")


# ---- AK/SK ------------------------------------------------------------------------------

def test_sdk_signed_refresh_accepted_and_missigned_refused(sim, http):
    url, headers = sdk_sign("PUT", router_url(sim, "apis"), ADMIN_AK, ADMIN_SK)
    answer = http.put(url, headers=headers, timeout=10)
    assert answer.status_code == 200 and answer.content == b""
    assert answer.headers["X-Request-Id"]

    bad = dict(headers, Authorization=headers["Authorization"][:-4] + "0000")
    assert error_of(http.put(url, headers=bad, timeout=10)) == (401, "APIG.1002")
    # Signed for another path: same headers, different URL.
    assert error_of(http.put(router_url(sim, "acls"), headers=headers, timeout=10)) == (401, "APIG.1002")
    # Signed with the wrong secret key.
    url2, wrong = sdk_sign("PUT", router_url(sim, "apis"), ADMIN_AK, "not-the-secret")
    assert error_of(http.put(url2, headers=wrong, timeout=10)) == (401, "APIG.1002")
    assert [r["resource"] for r in sim.refreshes()] == ["apis"]


def test_skewed_sdk_date_refused(sim, http):
    stale = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20))
    url, headers = sdk_sign("PUT", router_url(sim, "apis"), ADMIN_AK, ADMIN_SK,
                            sdk_date=stale.strftime("%Y%m%dT%H%M%SZ"))
    assert error_of(http.put(url, headers=headers, timeout=10)) == (401, "APIG.1001")
    near = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=10))
    url, headers = sdk_sign("PUT", router_url(sim, "apis"), ADMIN_AK, ADMIN_SK,
                            sdk_date=near.strftime("%Y%m%dT%H%M%SZ"))
    assert http.put(url, headers=headers, timeout=10).status_code == 200


def test_roleless_key_may_list_but_not_refresh(sim, http):
    url, headers = sdk_sign("PUT", router_url(sim, "apis"), NOROLE_AK, NOROLE_SK)
    assert error_of(http.put(url, headers=headers, timeout=10)) == (403, "APIG.1005")
    url, headers = sdk_sign("GET", router_url(sim, "state"), NOROLE_AK, NOROLE_SK)
    assert error_of(http.get(url, headers=headers, timeout=10)) == (403, "APIG.1005")
    page = sdk_client(sim, NOROLE_AK, NOROLE_SK).list_apis_v2(ListApisV2Request(instance_id="inst-a"))
    assert page.total == 3
    assert sim.refreshes() == []


def test_temporary_key_needs_its_security_token(sim, http):
    url, headers = sdk_sign("PUT", router_url(sim, "apis"), TEMP_AK, TEMP_SK, security_token=TEMP_STS)
    assert http.put(url, headers=headers, timeout=10).status_code == 200
    url, headers = sdk_sign("PUT", router_url(sim, "apis"), TEMP_AK, TEMP_SK)
    assert error_of(http.put(url, headers=headers, timeout=10)) == (401, "APIG.1002")
    url, headers = sdk_sign("PUT", router_url(sim, "apis"), TEMP_AK, TEMP_SK, security_token="other")
    assert error_of(http.put(url, headers=headers, timeout=10)) == (401, "APIG.1002")
    page = sdk_client(sim, TEMP_AK, TEMP_SK, security_token=TEMP_STS).list_apis_v2(
        ListApisV2Request(instance_id="inst-a"))
    assert page.total == 3


# ---- IAM token and the refresh family ---------------------------------------------------

def test_password_token_refresh_and_state(sim, http):
    answer = iam_token(http, sim)
    assert answer.status_code == 201
    token = answer.headers["X-Subject-Token"]
    assert [r["name"] for r in answer.json()["token"]["roles"]] == ["op_svc_apig"]
    assert answer.json()["token"]["project"]["id"] == PROJECT
    headers = {"X-Auth-Token": token}
    state = http.get(router_url(sim, "state"), headers=headers, timeout=10).json()
    assert state["status"] == "finished" and state["finished"] == []      # idle

    put = http.put(router_url(sim, "apis"), headers=headers, timeout=10)
    assert put.status_code == 200 and put.content == b""
    assert http.put(router_url(sim, "acls"), headers=headers, timeout=10).status_code == 200
    polls = []
    for _poll in range(10):                      # bounded; working_polls is 2
        polls.append(http.get(router_url(sim, "state"), headers=headers, timeout=10).json())
        if polls[-1]["status"] != "working":
            break
    assert [p["status"] for p in polls] == ["working", "working", "finished"]
    assert polls[0] == {"request_id": polls[0]["request_id"], "processing": "Starting",
                        "status": "working", "finished": ["PROJECT"]}
    assert polls[-1]["finished"] == ["PROJECT", "API", "ACL"]
    refreshes = sim.refreshes()
    assert [(r["instance_id"], r["resource"], r["principal"]) for r in refreshes] == [
        ("inst-a", "apis", "admin"), ("inst-a", "acls", "admin")]
    assert refreshes[0]["apis"] == 3 and refreshes[0]["published"] == 2
    assert polls[0]["request_id"] == refreshes[1]["request_id"]       # the last PUT's id


def test_iam_refusals(sim, http):
    wrong = iam_token(http, sim, password="wrong")
    assert wrong.status_code == 401
    assert wrong.json() == {"error": {"code": 401, "message": "The username or password is wrong.",
                                      "title": "Unauthorized"}}
    assert "X-Subject-Token" not in wrong.headers
    reader = iam_token(http, sim, user="reader", password=READER_PASSWORD).headers["X-Subject-Token"]
    answer = http.put(router_url(sim, "apis"), headers={"X-Auth-Token": reader}, timeout=10)
    assert error_of(answer) == (403, "APIG.1005")
    assert http.get(list_url(sim), headers={"X-Auth-Token": reader}, timeout=10).status_code == 200
    # The admin's token is scoped to PROJECT: another project's instance is off limits.
    admin = iam_token(http, sim).headers["X-Subject-Token"]
    answer = http.put(router_url(sim, "apis", "inst-other", OTHER_PROJECT),
                      headers={"X-Auth-Token": admin}, timeout=10)
    assert error_of(answer) == (403, "APIG.1136")


def test_error_answers(sim, http):
    token = {"X-Auth-Token": STATIC_TOKEN}
    assert error_of(http.put(router_url(sim, "apis", "inst-nope"), headers=token, timeout=10)) == \
        (404, "APIG.3030")
    assert error_of(http.get(list_url(sim, "inst-nope"), headers=token, timeout=10)) == (404, "APIG.3030")
    assert error_of(http.put(router_url(sim, "bogus"), headers=token, timeout=10)) == (404, "APIGW.0101")
    assert error_of(http.get(router_url(sim, "apis"), headers=token, timeout=10)) == (404, "APIGW.0101")
    assert error_of(http.put(router_url(sim, "apis"), timeout=10)) == (401, "APIG.1000")
    assert error_of(http.put(router_url(sim, "apis"), headers={"X-Auth-Token": "MIIwrong"},
                             timeout=10)) == (401, "APIG.1002")
    codes = [(e["status"], e["error_code"]) for e in sim.requests()]
    assert codes == [(404, "APIG.3030"), (404, "APIG.3030"), (404, "APIGW.0101"),
                     (404, "APIGW.0101"), (401, "APIG.1000"), (401, "APIG.1002")]


# ---- faults -----------------------------------------------------------------------------

def test_injected_faults_come_out_in_order(sim, http):
    headers = {"X-Auth-Token": STATIC_TOKEN}
    url = router_url(sim, "apis", "inst-faulty")
    sim.set_faults("inst-faulty", [
        {"status": 500, "error_code": "APIG.3500"},
        {"status": 429, "retry_after": 1},
        {"reset": True},
        {"delay": 0.5},
        {"status": 500, "error_code": "APIG.9008", "method": "GET"},   # only a GET takes it
    ])
    first = http.put(url, headers=headers, timeout=10)
    assert error_of(first) == (500, "APIG.3500")
    assert first.json()["error_msg"] == "Failed to synchronize data to etcd."
    second = http.put(url, headers=headers, timeout=10)
    assert error_of(second) == (429, "APIG.0308") and second.headers["Retry-After"] == "1"
    with pytest.raises(requests.exceptions.ConnectionError):
        http.put(url, headers=headers, timeout=10)
    started = time.monotonic()
    assert http.put(url, headers=headers, timeout=10).status_code == 200
    assert time.monotonic() - started >= 0.5
    assert http.put(url, headers=headers, timeout=10).status_code == 200   # the GET-only entry waits
    assert error_of(http.get(router_url(sim, "state", "inst-faulty"), headers=headers,
                             timeout=10)) == (500, "APIG.9008")
    assert http.put(url, headers=headers, timeout=10).status_code == 200
    log = sim.requests()
    assert [e["status"] for e in log] == [500, 429, 0, 200, 200, 500, 200]
    assert [bool(e["fault"]) for e in log] == [True, True, True, True, False, True, False]
    assert len(sim.refreshes()) == 3                      # only the answered PUTs refreshed


def test_standing_fault_and_plain_text_body(sim, http):
    headers = {"X-Auth-Token": STATIC_TOKEN}
    url = router_url(sim, "apis", "inst-faulty")
    sim.set_faults("inst-faulty", [{"status": 502, "body": "Bad Gateway"}], always={"status": 503})
    first = http.put(url, headers=headers, timeout=10)
    assert (first.status_code, first.text) == (502, "Bad Gateway")
    for _attempt in range(3):
        assert error_of(http.put(url, headers=headers, timeout=10)) == (503, "APIG.9999")
    sim.set_faults("inst-faulty", [])                      # replace: no standing fault any more
    assert http.put(url, headers=headers, timeout=10).status_code == 200


# ---- the log holds no secrets ----------------------------------------------------------

def test_request_log_never_holds_secrets(sim, http):
    used = list(SECRETS)
    used.append(iam_token(http, sim).headers["X-Subject-Token"])
    iam_token(http, sim, password="a-wrong-password-6f1e")
    used.append("a-wrong-password-6f1e")
    for ak, sk, sts in ((ADMIN_AK, ADMIN_SK, None), (TEMP_AK, TEMP_SK, TEMP_STS),
                        (NOROLE_AK, NOROLE_SK, None), (ADMIN_AK, "wrong-sk-1d9b", None)):
        url, headers = sdk_sign("PUT", router_url(sim, "apis"), ak, sk, security_token=sts)
        http.put(url, headers=headers, timeout=10)
        used.append(headers["Authorization"].rsplit("Signature=", 1)[1])
    used.append("wrong-sk-1d9b")
    http.put(router_url(sim, "apis"), headers={"X-Auth-Token": STATIC_TOKEN}, timeout=10)
    http.put(router_url(sim, "apis"), headers={"X-Auth-Token": used[len(SECRETS)]}, timeout=10)
    sdk_client(sim).list_apis_v2(ListApisV2Request(instance_id="inst-a"))

    texts = [sim.log_text(), str(sim.requests()), str(sim.stats()), str(sim.refreshes()),
             sim.stderr_text()]
    for secret in used:
        for text in texts:
            assert secret not in text
    principals = set(e["principal"] for e in sim.requests())
    assert {"admin", ADMIN_AK, TEMP_AK, NOROLE_AK, "static-admin"} <= principals


# ---- concurrency counters ---------------------------------------------------------------

def test_peak_concurrency_counts_parallel_slow_requests(sim, http):
    sim.set_faults("inst-slow", [], latency_ms=400)
    sim.reset()
    headers = {"X-Auth-Token": STATIC_TOKEN}
    url = router_url(sim, "state", "inst-slow")
    parallel = 6
    barrier = threading.Barrier(parallel, timeout=10)

    def call(_index):
        with requests.Session() as session:
            session.trust_env = False
            barrier.wait()
            return session.get(url, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        assert list(pool.map(call, range(parallel))) == [200] * parallel
    stats = sim.stats()
    assert stats["peak_in_flight"] == parallel
    assert stats["instances"]["inst-slow"]["peak_in_flight"] == parallel
    assert stats["instances"]["inst-slow"]["in_flight"] == 0
    assert stats["by_path"]["GET /v1/%s/apigw/instances/inst-slow/op-operations/router/state"
                            % PROJECT] == {"200": parallel}

    # At most 2 at a time: the peak must say 2, not the number of requests.
    sim.reset()

    def bounded(_index):
        with requests.Session() as session:
            session.trust_env = False
            return session.get(url, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert list(pool.map(bounded, range(6))) == [200] * 6
    stats = sim.stats()
    assert (stats["peak_in_flight"], stats["requests"]) == (2, 6)


# ---- the harness itself -----------------------------------------------------------------

def test_harness_stops_the_process_and_reports_bad_config(tmp_path):
    sim = Simulator({"projects": [{"id": "p1", "instances": [
        {"id": "i1", "generate": {"count": 1200, "seed": 11}}]}]}, workdir=tmp_path / "ok")
    with sim:
        proc = sim.proc
        assert sim.running
    assert proc.poll() is not None and not sim.running
    with pytest.raises(SimulatorError, match="unknown keys"):
        with Simulator({"projects": [{"id": "p1", "instances": [{"id": "i1", "typo": 1}]}]},
                       workdir=tmp_path / "bad", startup_timeout=15):
            pass


def test_generated_apis_are_deterministic(tmp_path, sim):
    generator = {"count": 1200, "seed": 11, "published_ratio": 0.8, "multi_env_ratio": 0.1}
    config = {
        "projects": [{"id": PROJECT, "instances": [{"id": "inst-big", "generate": generator}]}],
        "credentials": {"tokens": [{"token": STATIC_TOKEN, "roles": []}]},
    }
    with requests.Session() as http, Simulator(config, workdir=tmp_path) as other:
        http.trust_env = False
        headers = {"X-Auth-Token": STATIC_TOKEN}
        mine = http.get(list_url(other, "inst-big"), params={"limit": 500, "offset": 700},
                        headers=headers, timeout=10).json()
        theirs = http.get(list_url(sim, "inst-big"), params={"limit": 500, "offset": 700},
                          headers=headers, timeout=10).json()
    assert mine == theirs
    published = sum(1 for a in theirs["apis"] if a["run_env_id"])
    assert 0 < published < len(theirs["apis"])
