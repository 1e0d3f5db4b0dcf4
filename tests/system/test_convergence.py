# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""API mode and etcd mode must leave the same bytes in etcd for the same APIs.

The simulator stands in for the gateway: its refresh of ``apis`` writes the instance's
published APIs into a real etcd with its own writer (tools/apig_sim/etcd_writer.py, built
from the documented layout, sharing no code with plugins/). The module's etcd mode then
syncs the same instance from ListApisV2 (through the module) and from a saved ListApisV2
page (``src``) into other prefixes. The three dumps, read with etcdctl, must be
byte-identical below their prefix, and every manifest must match its routes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json

import pytest
import requests

from apigw_support.etcd import etcd_single
from apigw_support.simulator import Simulator

PROJECT = "5e5e0000000000000000000000000001"
TOKEN = "MIIconvergence-token-31337"
CONFIG = {
    "projects": [{"id": PROJECT, "instances": [
        {"id": "conv-small", "apis": [
            {"id": "c0000000000000000000000000000001", "name": "orders", "req_method": "GET",
             "req_uri": "/orders",
             "envs": [{"id": "DEFAULT_ENVIRONMENT_RELEASE_ID", "name": "RELEASE"},
                      {"id": "5a5a0000000000000000000000000001", "name": "TEST"}],
             "backend_api": {"req_protocol": "HTTPS", "req_method": "GET", "req_uri": "/v1/orders",
                             "url_domain": "orders.internal:443", "timeout": 5000, "retry_count": "-1"}},
            {"id": "c0000000000000000000000000000002", "name": "draft", "req_uri": "/draft"},
            {"id": "c0000000000000000000000000000003", "name": "注文 — ünïcode ✓", "req_method": "POST",
             "req_uri": "/bestellung/注文",
             "envs": [{"id": "zz5a0000000000000000000000000003", "name": "ZED"},
                      {"id": "5a5a0000000000000000000000000001", "name": "TEST"},
                      {"id": "DEFAULT_ENVIRONMENT_RELEASE_ID", "name": "RELEASE"}]},
        ]},
        {"id": "conv-large", "generate": {"count": 1200, "seed": 11, "published_ratio": 0.9,
                                          "multi_env_ratio": 0.2}},
    ]}],
    "credentials": {"tokens": [{"name": "ci", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}
GATEWAY_PREFIX = "/gw/router"


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    with etcd_single(str(tmp_path_factory.mktemp("etcd"))) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def sim(tmp_path_factory, etcd):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim"), etcd_endpoints=etcd.endpoints,
                   etcd_key_prefix=GATEWAY_PREFIX) as simulator:
        yield simulator


def below(dump, prefix):
    return {k[len(prefix):]: v for k, v in dump.items()}


def connection(sim):
    return {"project_id": PROJECT, "endpoint": sim.url, "auth_token": TOKEN}


@pytest.mark.parametrize("instance_id", ["conv-small", "conv-large"])
def test_api_mode_and_etcd_mode_write_the_same_bytes(ansible, sim, etcd, tmp_path, instance_id):
    page = requests.get("%s/v2/%s/apigw/instances/%s/apis" % (sim.url, PROJECT, instance_id),
                        params={"limit": 500, "offset": 0}, headers={"X-Auth-Token": TOKEN}, timeout=30).json()
    src = tmp_path / "apis.json"
    apis = list(page["apis"])
    offset = page["size"]
    while offset < page["total"]:
        more = requests.get("%s/v2/%s/apigw/instances/%s/apis" % (sim.url, PROJECT, instance_id),
                            params={"limit": 500, "offset": offset}, headers={"X-Auth-Token": TOKEN},
                            timeout=30).json()
        apis += more["apis"]
        offset += more["size"]
    src.write_text(json.dumps(apis))

    since = sim.last_seq()
    run = ansible.run_tasks([
        {"name": "api", "apigw.router.apigw_router_refresh": dict(connection(sim), instance_id=instance_id)},
        {"name": "from ListApisV2", "apigw.router.apigw_router_refresh": dict(
            connection(sim), instance_id=instance_id, mode="etcd", key_prefix="/mod/list",
            etcd_endpoints=etcd.endpoints)},
        {"name": "from src", "apigw.router.apigw_router_refresh": dict(
            instance_id=instance_id, mode="etcd", key_prefix="/mod/src", src=str(src),
            etcd_endpoints=etcd.endpoints)},
    ]).assert_success()
    assert run.task("api")["status"] == 200

    dumps = [etcd.dump(prefix + "/" + instance_id + "/") for prefix in (GATEWAY_PREFIX, "/mod/list", "/mod/src")]
    routes = [below({k: v for k, v in dump.items() if "/apis/" in k}, prefix)
              for dump, prefix in zip(dumps, (GATEWAY_PREFIX, "/mod/list", "/mod/src"))]
    published = sum(1 for api in apis if api.get("run_env_id"))
    assert len(routes[0]) == published
    assert routes[0] == routes[1] == routes[2]
    for prefix, dump in zip((GATEWAY_PREFIX, "/mod/list", "/mod/src"), dumps):
        # The manifest's digest covers the full keys, so it differs per prefix: recompute it here.
        manifest = json.loads(dump.pop(prefix + "/" + instance_id + "/manifest"))
        digest = hashlib.sha256(b"".join(k.encode() + b"\n" + v + b"\n" for k, v in sorted(dump.items())))
        assert manifest == {"schema": 1, "count": published, "sha256": digest.hexdigest()}
    assert sorted(run.task("from src")["created"]) == sorted(
        api["id"] for api in apis if api.get("run_env_id"))

    # ListApisV2 was paged by 500 until the total was reached; a listing of several pages
    # was taken twice, the second confirming the first's ids
    lists = [e for e in sim.requests(since) if e["method"] == "GET" and e["resource"] == "list_apis"]
    expected_pages = max(1, -(-len(apis) // 500))
    listings = 1 if expected_pages == 1 else 2
    assert [e["query"] for e in lists] == ["limit=500&offset=%d" % (500 * i) for i in range(expected_pages)] * listings


def test_gateway_refresh_heals_drift_and_fails_with_3500_without_etcd(ansible, sim, etcd, tmp_path):
    key = GATEWAY_PREFIX + "/conv-small/apis/c0000000000000000000000000000001"
    etcd.put(key, "tampered")
    etcd.put(GATEWAY_PREFIX + "/conv-small/apis/stray", "{}")
    ansible.run_tasks([{"name": "api", "apigw.router.apigw_router_refresh": dict(
        connection(sim), instance_id="conv-small")}]).assert_success()
    healed = etcd.dump(GATEWAY_PREFIX + "/conv-small/apis/")
    assert sorted(healed) == [key, key[:-1] + "3"]  # the stray key is gone
    assert json.loads(healed[key])["name"] == "orders"

    # a simulator whose etcd is gone answers the gateway's own 500 APIG.3500, which is retried
    with Simulator(CONFIG, workdir=tmp_path / "sim-no-etcd", etcd_endpoints=["http://127.0.0.1:9"]) as broken:
        run = ansible.run_tasks([{"name": "api", "apigw.router.apigw_router_refresh": dict(
            connection(broken), instance_id="conv-small", retries=1, retry_delay=0.01)}]).assert_failure()
        result = run.task("api")
        assert (result["status"], result["error_code"], result["attempts"]) == (500, "APIG.3500", 2)
        assert [e["status"] for e in broken.requests() if e["method"] == "PUT"] == [500, 500]
