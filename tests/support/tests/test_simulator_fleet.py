# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The simulator's fleet side speaks the real wire format: ListInstancesV2 and
ShowDetailsOfInstanceV2 parsed by Huawei's APIG SDK, KeystoneListProjects by its IAM SDK
(both signing with their own signer); the rest with plain ``requests``, checked in the
request log.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
import requests

from huaweicloudsdkapig.v2 import ApigClient, ListInstancesV2Request, ShowDetailsOfInstanceV2Request
from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkiam.v3 import IamClient, KeystoneListProjectsRequest

from apigw_support.simulator import Simulator

NORTH, NORTH_DEV, SOUTH = "0a1b2c3d4e5f60718293a4b5c6d7e801", "0a1b2c3d4e5f60718293a4b5c6d7e802", \
    "0a1b2c3d4e5f60718293a4b5c6d7e803"
AK, SK = "SIMFLEETAK0000000001", "sim-fleet-sk-5d1e77a0"
TOKEN, NOLIST_TOKEN = "MIIsim-fleet-token-0c4f2b", "MIIsim-fleet-nolist-token-9a7e13"
PASSWORD, DOMAIN = "Sim-Fleet-Passw0rd-22b1", "sim-fleet-domain"
SECRETS = [SK, TOKEN, NOLIST_TOKEN, PASSWORD]

CONFIG = {
    "projects": [
        {"id": NORTH, "name": "cn-north-4", "generate_instances": {
            "count": 620, "seed": 5, "statuses": {"Running": 6, "Frozen": 1, "Unhealthy": 1, "Creating": 1}}},
        {"id": NORTH_DEV, "name": "cn-north-4_dev", "region": "cn-north-4", "instances": [
            {"id": "inst-dev", "name": "dev-gateway", "status": "Running", "spec": "BASIC",
             "available_zones": ["cn-north-4a", "cn-north-4c"], "instance_version": "2.7.1",
             "create_time": 1700000000000}]},
        {"id": SOUTH, "name": "cn-south-1", "generate_instances": {"count": 12, "statuses": ["Running", "Frozen"]}},
    ],
    "credentials": {
        "users": [{"name": "ops", "password": PASSWORD, "domain": DOMAIN, "roles": ["op_svc_apig"]}],
        "tokens": [{"name": "fleet-token", "token": TOKEN, "roles": ["op_svc_apig"]},
                   {"name": "nolist", "token": NOLIST_TOKEN, "can_list_instances": False}],
        "keys": [{"ak": AK, "sk": SK, "roles": ["op_svc_apig"]}],
    },
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("apig_sim_fleet")) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _clean(sim):
    sim.reset(faults="config")


@pytest.fixture
def http():
    session = requests.Session()
    session.trust_env = False
    yield session
    session.close()


def http_config():
    config = HttpConfig.get_default_config()
    config.timeout = (5, 30)
    return config


def apig_sdk(sim, project=NORTH):
    return (ApigClient.new_builder().with_http_config(http_config())
            .with_credentials(BasicCredentials(AK, SK, project)).with_endpoints([sim.url]).build())


def list_url(sim, project=NORTH):
    return "%s/v2/%s/apigw/instances" % (sim.url, project)


def test_sdk_pages_through_the_fleet(sim):
    client = apig_sdk(sim)
    seen, offset, total = [], 0, None
    for _page in range(10):
        response = client.list_instances_v2(ListInstancesV2Request(offset=offset, limit=500))
        total = response.total
        seen.extend(response.instances)
        offset += response.size
        if offset >= total or response.size == 0:
            break
    assert (total, len(seen), len({i.id for i in seen})) == (620, 620, 620)
    statuses = {i.status for i in seen}
    assert statuses == {"Running", "Frozen", "Unhealthy", "Creating"}
    first = seen[0]
    assert first.project_id == NORTH and first.type == "apig" and isinstance(first.create_time, int)
    assert first.instance_status == {"Running": 6, "Frozen": 37, "Unhealthy": 40, "Creating": 1}[first.status]
    assert first.loadbalancer_provider in ("lvs", "elb")
    log = sim.requests()
    assert [e["query"] for e in log] == ["limit=500&offset=0", "limit=500&offset=500"]
    assert all(e["resource"] == "list_instances" and e["project_id"] == NORTH and e["auth"] == "aksk"
               for e in log)


def test_sdk_status_and_name_filters(sim):
    client = apig_sdk(sim)
    frozen = client.list_instances_v2(ListInstancesV2Request(status="Frozen", limit=500))
    assert frozen.total == frozen.size > 0 and {i.status for i in frozen.instances} == {"Frozen"}
    named = client.list_instances_v2(ListInstancesV2Request(instance_name="cn-north-4-000", limit=500))
    assert sorted(i.instance_name for i in named.instances) == ["apig-cn-north-4-%04d" % n for n in range(10)]
    one = client.list_instances_v2(ListInstancesV2Request(instance_id=named.instances[3].id))
    assert [i.id for i in one.instances] == [named.instances[3].id]


def test_sdk_parses_details_with_zone_string(sim):
    details = apig_sdk(sim, NORTH_DEV).show_details_of_instance_v2(
        ShowDetailsOfInstanceV2Request(instance_id="inst-dev"))
    assert details.id == "inst-dev" and details.instance_name == "dev-gateway" and details.spec == "BASIC"
    assert details.available_zone_ids == "[cn-north-4a, cn-north-4c]"
    assert details.instance_version == "2.7.1" and details.create_time == 1700000000000
    assert details.ingress_ip and details.vpc_id and details.subnet_id
    assert details.node_ips.livedata == [] and details.privateips[0].ip_address == details.ingress_ip
    assert sim.requests()[-1]["resource"] == "show_instance"


def test_iam_sdk_lists_projects_by_region_name(sim):
    client = (IamClient.new_builder().with_http_config(http_config())
              .with_credentials(GlobalCredentials(AK, SK, "0" * 32)).with_endpoints([sim.url]).build())
    north = client.keystone_list_projects(KeystoneListProjectsRequest(name="cn-north-4")).projects
    assert [(p.id, p.name, p.enabled) for p in north] == [(NORTH, "cn-north-4", True)]
    every = client.keystone_list_projects(KeystoneListProjectsRequest()).projects
    assert sorted(p.name for p in every) == ["cn-north-4", "cn-north-4_dev", "cn-south-1"]
    entry = sim.requests()[0]
    assert (entry["path"], entry["query"], entry["auth"], entry["resource"]) == (
        "/v3/projects", "name=cn-north-4", "aksk", "projects")


@pytest.mark.parametrize("query, size, total", [
    ("limit=9999", 500, 620),          # > 500 becomes 500
    ("limit=0", 20, 620),              # <= 0 becomes 20
    ("limit=-3&offset=-10", 20, 620),  # negative offset becomes 0
    ("", 20, 620),                     # default 20
    ("offset=610&limit=500", 10, 620),
    ("offset=700", 0, 620),
])
def test_paging_is_clamped_as_documented(sim, http, query, size, total):
    answer = http.get(list_url(sim) + "?" + query, headers={"X-Auth-Token": TOKEN}, timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert (body["size"], body["total"], len(body["instances"])) == (size, total, size)


def test_unknown_status_is_a_400(sim, http):
    answer = http.get(list_url(sim) + "?status=Runing", headers={"X-Auth-Token": TOKEN}, timeout=10)
    assert (answer.status_code, answer.json()["error_code"]) == (400, "APIG.2012")
    assert "status" in answer.json()["error_msg"]


def test_credentials_without_list_permission_get_an_empty_list(sim, http):
    answer = http.get(list_url(sim) + "?limit=500", headers={"X-Auth-Token": NOLIST_TOKEN}, timeout=10)
    assert answer.status_code == 200
    assert answer.json() == {"total": 0, "size": 0, "instances": []}


def test_domain_scoped_token_lists_projects_but_not_instances(sim, http):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "ops", "password": PASSWORD, "domain": {"name": DOMAIN}}}},
        "scope": {"domain": {"name": DOMAIN}}}}
    issued = http.post(sim.url + "/v3/auth/tokens", json=body, timeout=10)
    assert issued.status_code == 201 and issued.json()["token"]["domain"]["name"] == DOMAIN
    token = issued.headers["X-Subject-Token"]
    projects = http.get(sim.url + "/v3/projects?name=cn-south-1", headers={"X-Auth-Token": token}, timeout=10)
    assert [p["id"] for p in projects.json()["projects"]] == [SOUTH]
    listed = http.get(list_url(sim, SOUTH), headers={"X-Auth-Token": token}, timeout=10)
    assert (listed.status_code, listed.json()["error_code"]) == (401, "APIG.1003")
    wrong = dict(body, auth=dict(body["auth"], scope={"domain": {"name": "other-domain"}}))
    assert http.post(sim.url + "/v3/auth/tokens", json=wrong, timeout=10).status_code == 401
    bad = http.get(sim.url + "/v3/projects", headers={"X-Auth-Token": "nope"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["error"]["code"] == 401


def test_project_faults_and_latency_apply_to_listing(sim, http):
    sim.set_faults(SOUTH, sequence=[{"status": 500, "error_code": "APIG.9999"}], latency_ms=50)
    headers = {"X-Auth-Token": TOKEN}
    first = http.get(list_url(sim, SOUTH), headers=headers, timeout=10)
    second = http.get(list_url(sim, SOUTH), headers=headers, timeout=10)
    assert (first.status_code, first.json()["error_code"]) == (500, "APIG.9999")
    assert second.status_code == 200 and second.json()["total"] == 12
    log = sim.requests()
    assert [e["status"] for e in log] == [500, 200]
    assert all(e["duration_ms"] >= 50 for e in log)
    assert log[0]["fault"]["status"] == 500


def test_request_log_holds_no_secret(sim, http):
    http.get(list_url(sim), headers={"X-Auth-Token": TOKEN}, timeout=10)
    http.get(list_url(sim), headers={"X-Auth-Token": NOLIST_TOKEN}, timeout=10)
    apig_sdk(sim).list_instances_v2(ListInstancesV2Request(limit=1))
    text = json.dumps(sim.requests()) + sim.log_text()
    assert [e["principal"] for e in sim.requests()] == ["fleet-token", "nolist", AK]
    for secret in SECRETS:
        assert secret not in text
