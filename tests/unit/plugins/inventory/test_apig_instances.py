# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests of the apig_instances inventory plugin, in the convention of the inventory
plugins of amazon.aws and community.general: a real InventoryModule and InventoryData,
options read from a real config file, and the HTTP layer (HttpTransport.exchange)
answering from recorded ListInstancesV2 / ShowDetailsOfInstanceV2 / KeystoneListProjects
answers. Everything above one HTTP exchange (auth, retries, paging, errors) is the real code.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import os
import sys
import threading
from unittest import mock
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from requests.structures import CaseInsensitiveDict

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader

from ansible_collections.apigw.router.plugins.inventory import apig_instances
from ansible_collections.apigw.router.plugins.inventory.apig_instances import InventoryModule
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import HttpTransport

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
API = "https://apig.cn-north-4.myhuaweicloud.com"
API_SOUTH = "https://apig.cn-south-1.myhuaweicloud.com"
SECRET = "tok-SECRET-value"


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle)


PROJECTS = fixture("keystone_list_projects.json")
LISTED = fixture("list_instances_v2.json")["instances"]
DETAILS = fixture("show_details_of_instance_v2.json")
STATUSES = ("Running", "Running", "Running", "Frozen", "Unhealthy", "Creating")


def make_fleet(region, project_id, count):
    """``count`` instances shaped like the recorded ones, statuses cycling through STATUSES."""
    fleet = []
    for index in range(count):
        item = copy.deepcopy(LISTED[index % len(LISTED)])
        item.update(id="%s%04d" % (region.replace("-", ""), index), project_id=project_id,
                    instance_name="gw-%s-%04d" % (region, index), status=STATUSES[index % len(STATUSES)])
        fleet.append(item)
    return fleet


class FakeCloud(object):
    """Answers HttpTransport.exchange like IAM and APIG do, and records every call."""

    def __init__(self, fleets=None, projects=None):
        self.fleets = fleets if fleets is not None else {
            ("cn-north-4", "p-north"): make_fleet("cn-north-4", "p-north", 1203),
            ("cn-south-1", "p-south"): make_fleet("cn-south-1", "p-south", 7)}
        self.projects = projects if projects is not None else {"cn-north-4": ["p-north"], "cn-south-1": ["p-south"]}
        self.calls = []
        self.faults = []          # (predicate(url), status, body) applied to matching requests
        self._lock = threading.Lock()

    def _answer(self, status, body, headers=None):
        content = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        return status, CaseInsensitiveDict(headers or {"Content-Type": "application/json"}), content

    def __call__(self, method, url, body=None, headers=None):
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        with self._lock:
            self.calls.append({"method": method, "url": url, "path": parts.path, "query": query,
                               "headers": dict(headers or {})})
        for predicate, status, body in self.faults:
            if predicate(url):
                if status is None:
                    raise ConnectionRefusedError("connection refused")
                return self._answer(status, body)
        if parts.path == "/v3/projects":
            region = query.get("name")
            items = [dict(PROJECTS["projects"][0], id=pid, name=region) for pid in self.projects.get(region, [])]
            return self._answer(200, {"projects": items, "links": PROJECTS["links"]})
        host_region = parts.hostname.split(".")[1]
        segments = parts.path.strip("/").split("/")
        fleet = self.fleets.get((host_region, segments[1]), [])
        if len(segments) == 4:
            matched = [i for i in fleet if not query.get("status") or i["status"] == query["status"]]
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
            page = matched[offset:offset + limit]
            return self._answer(200, {"total": len(matched), "size": len(page), "instances": page})
        instance = next((i for i in fleet if i["id"] == segments[4]), None)
        if instance is None:
            return self._answer(404, {"error_code": "APIG.3030", "error_msg": "The instance does not exist"})
        return self._answer(200, dict(DETAILS, **dict((k, instance[k]) for k in ("id", "instance_name", "status"))))

    def paths(self, part):
        return [c for c in self.calls if part in c["path"]]


@pytest.fixture
def cloud(monkeypatch):
    fake = FakeCloud()
    # A class attribute that is not a function: called without the transport as self.
    monkeypatch.setattr(HttpTransport, "exchange", mock.MagicMock(side_effect=fake))
    return fake


@pytest.fixture
def warnings(monkeypatch):
    warning = mock.MagicMock()
    monkeypatch.setattr(apig_instances.display, "warning", warning)
    return warning


def load_plugin():
    # Through the loader, as ansible-inventory does (see conftest.py): so the documented
    # options, their defaults and environment variables are what the tests exercise.
    module = inventory_loader.get(InventoryModule.NAME)
    assert isinstance(module, InventoryModule), "the collection loader did not find %s" % InventoryModule.NAME
    return module


@pytest.fixture
def plugin():
    return load_plugin()


def write_config(tmp_path, name="fleet.apig_instances.yml", **options):
    config = {"plugin": "apigw.router.apig_instances", "regions": ["cn-north-4", "cn-south-1"],
              "auth_token": SECRET, "retry_delay": 0}
    config.update(options)
    for key in [k for k, v in config.items() if v is None]:
        del config[key]
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config))
    return str(path)


def run(plugin, path, cache=True):
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), path, cache=cache)
    if plugin.get_option("cache"):
        plugin.update_cache_if_changed()
    return inventory


def hosts_of(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts())


# ---- verify_file -----------------------------------------------------------------------

@pytest.mark.parametrize("name, expected", [
    ("fleet.apig_instances.yml", True),
    ("apig_instances.yaml", True),
    ("prod-apig_instances.yml", True),
    ("fleet.apig_instance.yml", False),
    ("apig_instances.json", False),
    ("inventory.yml", False),
])
def test_verify_file(plugin, tmp_path, name, expected):
    path = tmp_path / name
    path.write_text("plugin: apigw.router.apig_instances\n")
    assert plugin.verify_file(str(path)) is expected


def test_verify_file_missing(plugin, tmp_path):
    assert not plugin.verify_file(str(tmp_path / "none.apig_instances.yml"))


@pytest.mark.parametrize("name", ["apigw.router.apig_instances", "apig_instances"])
def test_short_and_long_plugin_name(plugin, cloud, tmp_path, name):
    inventory = run(plugin, write_config(tmp_path, plugin=name, regions=["cn-south-1"]))
    assert len(hosts_of(inventory, "apig_instances")) == 4


# ---- paging, statuses, project look-up ---------------------------------------------------

def test_pages_by_500_until_total_and_looks_up_each_region_once(plugin, cloud, tmp_path):
    inventory = run(plugin, write_config(tmp_path, statuses=["all"]))
    north = [c for c in cloud.paths("/apigw/instances") if c["url"].startswith(API + "/")]
    assert [(c["query"]["offset"], c["query"]["limit"]) for c in north] == [("0", "500"), ("500", "500"),
                                                                            ("1000", "500")]
    assert all("status" not in c["query"] for c in north)
    lookups = cloud.paths("/v3/projects")
    assert [(urlsplit(c["url"]).hostname, c["query"]) for c in lookups] == [
        ("iam.cn-north-4.myhuaweicloud.com", {"name": "cn-north-4"}),
        ("iam.cn-south-1.myhuaweicloud.com", {"name": "cn-south-1"})]
    assert len(hosts_of(inventory, "apig_cn_north_4")) == 1203
    assert len(hosts_of(inventory, "apig_cn_south_1")) == 7
    assert len(hosts_of(inventory, "apig_instances")) == 1210
    # project-scoped requests carry the project in the path; the token travels as a header
    assert all(c["headers"]["X-Auth-Token"] == SECRET for c in cloud.calls)
    assert {c["path"].split("/")[2] for c in north} == {"p-north"}


def test_one_status_is_sent_to_the_api(plugin, cloud, tmp_path):
    inventory = run(plugin, write_config(tmp_path, regions=["cn-north-4"]))
    listing = cloud.paths("/apigw/instances")
    assert {c["query"]["status"] for c in listing} == {"Running"}
    assert len(listing) == 2            # 603 Running instances: two pages
    names = hosts_of(inventory, "apig_instances")
    assert len(names) == 603
    assert {inventory.get_host(n).vars["apigw_status"] for n in names} == {"Running"}


def test_several_statuses_are_filtered_locally(plugin, cloud, tmp_path):
    inventory = run(plugin, write_config(tmp_path, regions=["cn-south-1"], statuses=["Frozen", "Unhealthy"]))
    assert all("status" not in c["query"] for c in cloud.paths("/apigw/instances"))
    assert hosts_of(inventory, "apig_instances") == ["cnsouth10003", "cnsouth10004"]


def test_given_project_id_skips_the_lookup_and_dict_endpoints(plugin, cloud, tmp_path):
    cloud.fleets[("private", "p-given")] = make_fleet("x-private-1", "p-given", 2)
    path = write_config(tmp_path, regions=[{"name": "x-private-1", "endpoint": "https://apig.private.example/",
                                            "project_id": "p-given"}], statuses=["all"])
    inventory = run(plugin, path)
    assert cloud.paths("/v3/projects") == []
    assert [c["url"].split("?")[0] for c in cloud.calls] == ["https://apig.private.example/v2/p-given/apigw/instances"]
    host = inventory.get_host("xprivate10000")
    assert host.vars["apigw_endpoint"] == "https://apig.private.example"
    assert host.vars["apigw_region"] == "x-private-1"
    assert host.vars["apigw_project_id"] == "p-given"
    assert hosts_of(inventory, "apig_x_private_1") == ["xprivate10000", "xprivate10001"]


def test_cloud_and_eu_default_endpoints(plugin, cloud, tmp_path):
    cloud.projects = {"eu-west-101": ["p-eu"], "cn-north-4": ["p-north"]}
    run(plugin, write_config(tmp_path, regions=["eu-west-101"]))
    run(plugin, write_config(tmp_path, regions=["cn-north-4"], cloud="cloud.example.org",
                             iam_endpoint="https://iam.example.org"))
    hosts = [urlsplit(c["url"]).hostname for c in cloud.calls]
    assert hosts[:2] == ["iam.eu-west-101.myhuaweicloud.eu", "apig.eu-west-101.myhuaweicloud.eu"]
    assert set(hosts[2:]) == {"iam.example.org", "apig.cn-north-4.cloud.example.org"}
    assert hosts[2] == "iam.example.org"


# ---- hostvars, groups, hostnames, filters -------------------------------------------------

def test_hostvars_are_prefixed_unsafe_and_local(plugin, cloud, tmp_path):
    inventory = run(plugin, write_config(tmp_path, regions=["cn-south-1"]))
    first = LISTED[0]
    host = inventory.get_host("cnsouth10000")
    variables = host.vars
    assert variables["ansible_connection"] == "local"
    assert variables["ansible_python_interpreter"] == sys.executable
    expected = {
        "apigw_instance_id": "cnsouth10000", "apigw_instance_name": "gw-cn-south-1-0000",
        "apigw_project_id": "p-south", "apigw_region": "cn-south-1", "apigw_endpoint": API_SOUTH,
        "apigw_status": "Running", "apigw_spec": first["spec"], "apigw_eip_address": first["eip_address"],
        "apigw_enterprise_project_id": "0", "apigw_loadbalancer_provider": first["loadbalancer_provider"],
    }
    assert dict((k, variables[k]) for k in expected) == expected
    assert variables["apigw_create_time"].endswith("Z") and variables["apigw_create_time"][:2] == "20"
    assert "apigw_ingress_ip" not in variables
    assert sorted(g.name for g in host.get_groups()) == ["apig_cn_south_1", "apig_instances"]


def test_api_values_are_never_templated(plugin, cloud, tmp_path, monkeypatch):
    # An instance name (chosen by whoever may create instances) must not run code on the controller.
    monkeypatch.setenv("APIGW_UNSAFE_PROBE", "leaked")
    cloud.fleets[("cn-south-1", "p-south")][0]["instance_name"] = "{{ lookup('env', 'APIGW_UNSAFE_PROBE') }}"
    inventory = run(plugin, write_config(tmp_path, regions=["cn-south-1"], compose={"copy": "apigw_instance_name"},
                                         keyed_groups=[{"key": "apigw_instance_name", "prefix": "name"}]))
    variables = inventory.get_host("cnsouth10000").vars
    assert variables["apigw_instance_name"] == "{{ lookup('env', 'APIGW_UNSAFE_PROBE') }}"
    assert variables["copy"] == "{{ lookup('env', 'APIGW_UNSAFE_PROBE') }}"
    assert not any("leaked" in g for g in inventory.groups)


def test_create_time_is_iso_8601(plugin, cloud, tmp_path):
    cloud.fleets[("cn-south-1", "p-south")][0]["create_time"] = 1700000000123
    inventory = run(plugin, write_config(tmp_path, regions=["cn-south-1"]))
    assert inventory.get_host("cnsouth10000").vars["apigw_create_time"] == "2023-11-14T22:13:20.123Z"


def test_local_connection_false(plugin, cloud, tmp_path):
    inventory = run(plugin, write_config(tmp_path, regions=["cn-south-1"], local_connection=False))
    assert "ansible_connection" not in inventory.get_host("cnsouth10000").vars
    assert "ansible_python_interpreter" not in inventory.get_host("cnsouth10000").vars


def test_include_details(plugin, cloud, tmp_path):
    inventory = run(plugin, write_config(tmp_path, regions=["cn-south-1"], statuses=["all"],
                                         include_details=True, details_concurrency=3))
    details = [c for c in cloud.calls if len(c["path"].strip("/").split("/")) == 5]
    assert sorted(c["path"].rsplit("/", 1)[1] for c in details) == ["cnsouth1%04d" % i for i in range(7)]
    variables = inventory.get_host("cnsouth10002").vars
    assert variables["apigw_available_zone_ids"] == ["cn-north-4a", "cn-north-4b"]
    assert isinstance(variables["apigw_available_zone_ids"], list)
    assert variables["apigw_ingress_ip"] == DETAILS["ingress_ip"]
    assert variables["apigw_vpc_id"] == DETAILS["vpc_id"]
    assert variables["apigw_subnet_id"] == DETAILS["subnet_id"]
    assert variables["apigw_instance_version"] == DETAILS["instance_version"]


def test_details_concurrency_is_the_bound():
    from ansible_collections.apigw.router.plugins.plugin_utils import _instances_api
    lock = threading.Lock()
    state = {"running": 0, "peak": 0}
    gate = threading.Event()

    class Api(object):
        def show_details(self, instance_id):
            with lock:
                state["running"] += 1
                state["peak"] = max(state["peak"], state["running"])
            gate.wait(0.05)
            with lock:
                state["running"] -= 1
            return {"instance_version": instance_id}
    records = [{"instance": {"id": str(i)}, "_api": Api()} for i in range(12)]
    _instances_api.Discovery(None, None, [], include_details=True, concurrency=3)._add_details(records)
    assert state["peak"] == 3
    assert [r["details"]["instance_version"] for r in records] == [str(i) for i in range(12)]


def test_hostnames_instance_name(plugin, cloud, tmp_path):
    inventory = run(plugin, write_config(tmp_path, regions=["cn-south-1"], hostnames=["instance_name", "id"]))
    assert hosts_of(inventory, "apig_instances") == ["gw-cn-south-1-0000", "gw-cn-south-1-0001",
                                                     "gw-cn-south-1-0002", "gw-cn-south-1-0006"]


def test_duplicate_instance_names_are_an_error(plugin, cloud, tmp_path):
    cloud.fleets[("cn-south-1", "p-south")][1]["instance_name"] = "gw-cn-south-1-0000"
    with pytest.raises(AnsibleParserError, match="instances cnsouth10000 and cnsouth10001 are both named "
                                                 "gw-cn-south-1-0000 \\(region cn-south-1\\)"):
        run(plugin, write_config(tmp_path, regions=["cn-south-1"], hostnames=["instance_name"]))


def test_include_and_exclude_filters(plugin, cloud, tmp_path):
    path = write_config(tmp_path, regions=["cn-south-1"], statuses=["all"],
                        include_filters=[{"instance_name": "gw-*-000[0-4]"}, {"apigw_status": "Creating"}],
                        exclude_filters=[{"status": ["Frozen", "Unhealthy"]}])
    inventory = run(plugin, path)
    assert hosts_of(inventory, "apig_instances") == ["cnsouth10000", "cnsouth10001", "cnsouth10002",
                                                     "cnsouth10005"]


def test_compose_groups_keyed_groups(plugin, cloud, tmp_path):
    path = write_config(tmp_path, regions=["cn-south-1"], statuses=["all"],
                        compose={"apigw_key_prefix": "'/apig/' ~ apigw_instance_id",
                                 "etcd_group": "apigw_status | lower"},
                        groups={"needs_attention": "apigw_status != 'Running'"},
                        keyed_groups=[{"key": "apigw_status", "prefix": "status"},
                                      {"key": "etcd_group", "prefix": "etcd"}])
    inventory = run(plugin, path)
    assert inventory.get_host("cnsouth10001").vars["apigw_key_prefix"] == "/apig/cnsouth10001"
    assert hosts_of(inventory, "needs_attention") == ["cnsouth10003", "cnsouth10004", "cnsouth10005"]
    assert hosts_of(inventory, "status_Running") == ["cnsouth10000", "cnsouth10001", "cnsouth10002",
                                                     "cnsouth10006"]
    assert hosts_of(inventory, "etcd_frozen") == ["cnsouth10003"]


def test_strict_fails_on_a_bad_compose(plugin, cloud, tmp_path):
    path = write_config(tmp_path, regions=["cn-south-1"], strict=True, compose={"x": "no_such_var.attr"})
    with pytest.raises(AnsibleError, match="Could not set x for host cnsouth10000"):
        run(plugin, path)
    run(plugin, write_config(tmp_path, regions=["cn-south-1"], strict=False, compose={"x": "no_such_var.attr"}))


# ---- cache ---------------------------------------------------------------------------------

def test_cache_second_run_sends_nothing(plugin, cloud, tmp_path):
    path = write_config(tmp_path, regions=["cn-south-1"], cache=True, cache_plugin="ansible.builtin.jsonfile",
                        cache_connection=str(tmp_path / "cache"))
    first = run(plugin, path)
    sent = len(cloud.calls)
    assert sent == 2
    again = load_plugin()
    second = run(again, path, cache=True)
    assert len(cloud.calls) == sent
    assert hosts_of(second, "apig_instances") == hosts_of(first, "apig_instances")
    # --flush-cache (cache=False) refreshes it
    run(again, path, cache=False)
    assert len(cloud.calls) == 2 * sent
    assert SECRET not in "".join(p.read_text() for p in (tmp_path / "cache").iterdir())


def test_cache_off_always_asks(plugin, cloud, tmp_path):
    path = write_config(tmp_path, regions=["cn-south-1"])
    run(plugin, path)
    run(plugin, path)
    assert len(cloud.calls) == 4


# ---- errors --------------------------------------------------------------------------------

def test_empty_answer_warns_about_the_permission(plugin, cloud, tmp_path, warnings):
    cloud.fleets[("cn-south-1", "p-south")] = []
    inventory = run(plugin, write_config(tmp_path, regions=["cn-south-1"]))
    assert hosts_of(inventory, "apig_instances") == []
    message = warnings.call_args.args[0]
    assert "region cn-south-1" in message and "apig:instance:list" in message


@pytest.mark.parametrize("status, body, expected", [
    (401, {"error_code": "APIG.1002", "error_msg": "Incorrect token or token resolution failed."},
     r"ListInstancesV2 in region cn-south-1 \(project p-south, offset 0\): authentication failed \(HTTP 401: "
     r"APIG.1002"),
    (403, {"error_code": "APIG.1136", "error_msg": "no authority to operate instance"},
     r"region cn-south-1 .*forbidden \(HTTP 403: APIG.1136"),
    (500, {"error_code": "APIG.9999", "error_msg": "System error."},
     r"region cn-south-1 .*server error \(HTTP 500: APIG.9999, System error., after 2 attempts\)"),
    (200, b"<html>", r"region cn-south-1 .*the answer is not valid JSON"),
    (200, {"instances": "x"}, r"region cn-south-1 .*the answer has no instances list and total"),
    (200, {"total": 1, "instances": [{"id": "../../x"}]}, r"instance id from ListInstancesV2 .* not a valid identifier"),
    (None, None, r"region cn-south-1 .*no answer from apig.cn-south-1.myhuaweicloud.com after 2 attempt"),
])
def test_api_errors_name_region_status_and_code(plugin, cloud, tmp_path, status, body, expected):
    cloud.faults.append((lambda url: "/apigw/instances" in url, status, body))
    with pytest.raises(AnsibleParserError, match=expected) as err:
        run(plugin, write_config(tmp_path, regions=["cn-south-1"], retries=1))
    assert SECRET not in str(err.value)
    assert "Traceback" not in str(err.value)


def test_401_from_iam_lookup_names_the_region(plugin, cloud, tmp_path):
    cloud.faults.append((lambda url: "/v3/projects" in url, 401,
                         {"error": {"code": 401, "message": "The request you have made requires authentication."}}))
    with pytest.raises(AnsibleParserError, match=r"project id of region cn-north-4 .*authentication failed "
                                                 r"\(HTTP 401"):
        run(plugin, write_config(tmp_path))


@pytest.mark.parametrize("projects, expected", [
    ([], "region cn-south-1: IAM https://iam.cn-south-1.myhuaweicloud.com lists 0 projects named cn-south-1"),
    (["a1", "b2"], r"lists 2 projects named cn-south-1, need exactly one \(ids a1, b2\)"),
])
def test_zero_or_several_projects(plugin, cloud, tmp_path, projects, expected):
    cloud.projects["cn-south-1"] = projects
    with pytest.raises(AnsibleParserError, match=expected):
        run(plugin, write_config(tmp_path, regions=["cn-south-1"]))


def test_details_404_names_the_instance(plugin, cloud, tmp_path):
    cloud.faults.append((lambda url: url.endswith("/cnsouth10001"), 404,
                         {"error_code": "APIG.3030", "error_msg": "The instance does not exist"}))
    with pytest.raises(AnsibleParserError, match="ShowDetailsOfInstanceV2 of instance cnsouth10001 in region "
                                                 "cn-south-1: instance not found"):
        run(plugin, write_config(tmp_path, regions=["cn-south-1"], include_details=True))


def test_password_auth_logs_in_once_per_project(plugin, cloud, tmp_path):
    tokens = []

    def iam(url):
        return url.endswith("/v3/auth/tokens")
    original = cloud.__call__

    def answer(method, url, body=None, headers=None):
        if iam(url):
            scope = json.loads(body)["auth"]["scope"]
            tokens.append(scope)
            return cloud._answer(201, {"token": {}}, {"X-Subject-Token": "tok-%d" % len(tokens)})
        return original(method, url, body=body, headers=headers)
    HttpTransport.exchange.side_effect = answer
    path = write_config(tmp_path, auth_token=None, iam_user="u", iam_password="pw-SECRET", iam_domain="dom")
    run(plugin, path)
    assert tokens == [{"domain": {"name": "dom"}}, {"project": {"id": "p-north"}}, {"project": {"id": "p-south"}}]
    assert len(cloud.paths("/v3/projects")) == 2


BAD_CONFIGS = [
    (dict(regions=None), "regions"),
    (dict(regions=[]), "regions must be a non-empty list"),
    (dict(regions=[{"name": "cn-north-4", "endpoint": "https://apig.example:99999"}]), "is not a valid URL"),
    (dict(iam_user="u", iam_password="pw-SECRET", iam_domain="d"), "conflicting authentication"),
    (dict(regions=[42]), r"regions\[0\] must be a region name or a dict"),
    (dict(regions=[["cn-north-4"]]), r"regions\[0\] must be a region name or a dict"),
    (dict(regions=["cn north 4"]), r"regions\[0\]: region 'cn north 4' is not a valid region name"),
    (dict(regions=[{"endpoint": "https://x.example"}]), r"regions\[0\]: name is required"),
    (dict(regions=[{"name": "cn-north-4", "zone": "a"}]), r"regions\[0\]: unknown keys zone"),
    (dict(regions=[{"name": "cn-north-4", "endpoint": "apig.example.com"}]),
     r"regions\[0\]: regions\[0\].endpoint 'apig.example.com' must be an http"),
    (dict(regions=[{"name": "cn-north-4", "iam_endpoint": "ftp://iam"}]), r"regions\[0\].iam_endpoint 'ftp://iam'"),
    (dict(regions=[{"name": "cn-north-4", "project_id": "../x"}]), r"regions\[0\].project_id '../x' is not a valid"),
    (dict(regions=["cn-north-4", "cn-north-4"]), r"regions\[1\] repeats regions\[0\] \(region cn-north-4\)"),
    (dict(cloud="https://myhuaweicloud.com"), "cloud 'https://myhuaweicloud.com' is not a domain suffix"),
    (dict(iam_endpoint="iam.example"), "iam_endpoint 'iam.example' must be an http"),
    (dict(statuses=["Runing"]), "statuses: 'Runing' is not an APIG instance status"),
    (dict(statuses=["all", "Running"]), "'all' cannot be combined with other statuses"),
    (dict(statuses=[]), "statuses must be a non-empty list"),
    (dict(hostnames=["ip"]), "hostnames must be a list of id or instance_name"),
    (dict(access_key="AK"), "conflicting authentication: access_key, auth_token select token and AK/SK"),
    (dict(auth_token=None), "no authentication for the APIG management API"),
    (dict(auth_token=None, access_key="AK"), "AK/SK authentication needs secret_key"),
    (dict(auth_token=None, iam_user="u", iam_password="pw-SECRET"), "IAM password authentication needs iam_domain"),
    (dict(auth_token="tok-SECRET\n"), "auth_token holds whitespace"),
    (dict(include_filters=[{}]), r"include_filters\[0\] must be a non-empty dict"),
    (dict(exclude_filters=[{"name": {"a": 1}}]), r"exclude_filters\[0\].name must be a pattern"),
    (dict(timeout=0), "timeout must be at least 0.001"),
    (dict(retries=-1), "retries must be between 0 and 100"),
    (dict(details_concurrency=0), "details_concurrency must be between 1 and 64"),
    (dict(regoins=["cn-north-4"]), "unknown option regoins"),
]


@pytest.mark.parametrize("options, expected", BAD_CONFIGS)
def test_bad_configs_fail_before_any_request(plugin, cloud, tmp_path, options, expected):
    assert len(BAD_CONFIGS) >= 20
    with pytest.raises(AnsibleError, match=expected) as err:
        run(plugin, write_config(tmp_path, **options))
    assert cloud.calls == []
    assert "SECRET" not in str(err.value)


# ---- host names from the API, credentials in endpoints, plain http --------------------------------

def test_a_name_that_is_localhost_or_another_sources_host_gets_the_instance_id(plugin, cloud, tmp_path, warnings):
    fleet = cloud.fleets[("cn-south-1", "p-south")]
    fleet[0]["instance_name"] = "localhost"
    fleet[1]["instance_name"] = "web1"
    fleet[2]["instance_name"] = "bad name\x1b"
    inventory = InventoryData()
    inventory.add_host("web1")  # from a source parsed before this one
    inventory.set_variable("web1", "ansible_host", "10.1.2.3")
    plugin.parse(inventory, DataLoader(), write_config(tmp_path, regions=["cn-south-1"],
                                                       hostnames=["instance_name", "id"]))
    assert hosts_of(inventory, "apig_instances") == ["cnsouth10000", "cnsouth10001", "cnsouth10002",
                                                     "gw-cn-south-1-0006"]
    web1 = inventory.get_host("web1").vars
    assert "localhost" not in inventory.hosts and web1["ansible_host"] == "10.1.2.3"
    assert not [k for k in web1 if k.startswith(("apigw_", "ansible_connection", "ansible_python"))], web1
    messages = [call.args[0] for call in warnings.call_args_list]
    assert len(messages) == 3
    for instance_id, name in (("cnsouth10000", "'localhost'"), ("cnsouth10001", "'web1'"),
                              ("cnsouth10002", "'bad name\\x1b'")):
        assert any("instance %s" % instance_id in m and name in m for m in messages), messages


def test_an_instance_whose_id_is_another_sources_host_is_left_out(plugin, cloud, tmp_path, warnings):
    inventory = InventoryData()
    inventory.add_host("cnsouth10000")
    plugin.parse(inventory, DataLoader(), write_config(tmp_path, regions=["cn-south-1"]))
    assert "cnsouth10000" not in hosts_of(inventory, "apig_instances")
    assert "ansible_connection" not in inventory.get_host("cnsouth10000").vars
    assert "instance cnsouth10000" in warnings.call_args.args[0] and "left out" in warnings.call_args.args[0]


@pytest.mark.parametrize("options", [
    dict(regions=[{"name": "cn-north-4", "endpoint": "http://ops:pw-SECRET@apig.example:bad"}]),
    dict(regions=[{"name": "cn-north-4", "iam_endpoint": "https://ops:pw-SECRET@iam.example"}]),
    dict(iam_endpoint="http://ops:pw-SECRET@iam.example:bad"),
    dict(auth_token=None, iam_user="u", iam_password="p", iam_domain="d",
         iam_endpoint="http://ops:pw-SECRET@iam.example"),
])
def test_credentials_in_endpoints_are_refused_redacted(plugin, cloud, tmp_path, options):
    with pytest.raises(AnsibleError, match=r"must not carry credentials") as err:
        run(plugin, write_config(tmp_path, **options))
    assert cloud.calls == [] and "SECRET" not in str(err.value) and "***@" in str(err.value)


def test_iam_password_over_plain_http_warns(plugin, cloud, tmp_path, warnings):
    HttpTransport.exchange.side_effect = lambda method, url, body=None, headers=None: (
        cloud._answer(201, {"token": {}}, {"X-Subject-Token": "t"}) if url.endswith("/v3/auth/tokens")
        else cloud(method, url, body=body, headers=headers))
    run(plugin, write_config(tmp_path, regions=["cn-south-1"], auth_token=None, iam_user="u",
                             iam_password="pw-SECRET", iam_domain="d", iam_endpoint="http://iam.example:5000"))
    messages = [call.args[0] for call in warnings.call_args_list]
    assert any("iam_password is sent over plain http:// to iam_endpoint http://iam.example:5000" in m
               for m in messages), messages
    assert not any("SECRET" in m for m in messages)
