# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The apig_instances inventory plugin through real ``ansible-inventory`` and
``ansible-playbook`` runs of the installed collection, against the simulator: 2 regions,
3 projects, several hundred instances in mixed statuses. What the plugin sent is checked
in the simulator's request log; what it should find is computed from the simulator's own
config (never from the plugin).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import json
import os
import subprocess
import sys

import pytest
import yaml

from apig_sim import config as sim_config
from apigw_support.ansible import INSTALLED_COLLECTIONS
from apigw_support.simulator import Simulator

NORTH, NORTH_DEV, SOUTH = "1a1b2c3d4e5f60718293a4b5c6d7e801", "1a1b2c3d4e5f60718293a4b5c6d7e802", \
    "1a1b2c3d4e5f60718293a4b5c6d7e803"
TOKEN = "MIIsim-inventory-token-6f0c2e91"
NOLIST_TOKEN = "MIIsim-inventory-nolist-4b7d"
SOUTH_ONLY_TOKEN = "MIIsim-inventory-south-only-8e21"
AK, SK = "SIMINVENTORYAK000001", "sim-inventory-sk-1c9e44f0"
PASSWORD, DOMAIN, USER = "Sim-Inventory-Passw0rd-73aa", "sim-inv-domain", "inv-ops"
SECRETS = [TOKEN, NOLIST_TOKEN, SOUTH_ONLY_TOKEN, SK, PASSWORD]
MIX = {"Running": 6, "Frozen": 1, "Unhealthy": 1, "Creating": 1, "Restarting": 1}

CONFIG = {
    "projects": [
        {"id": NORTH, "name": "cn-north-4", "generate_instances": {"count": 320, "seed": 1, "statuses": MIX}},
        {"id": NORTH_DEV, "name": "cn-north-4_dev", "region": "cn-north-4",
         "generate_instances": {"count": 40, "seed": 2, "statuses": MIX, "name_prefix": "dev"}},
        {"id": SOUTH, "name": "cn-south-1", "generate_instances": {"count": 240, "seed": 3, "statuses": MIX}},
    ],
    "credentials": {
        "users": [{"name": USER, "password": PASSWORD, "domain": DOMAIN, "roles": ["op_svc_apig"]}],
        "tokens": [{"name": "inv-token", "token": TOKEN, "roles": ["op_svc_apig"]},
                   {"name": "nolist", "token": NOLIST_TOKEN, "can_list_instances": False},
                   {"name": "south-only", "token": SOUTH_ONLY_TOKEN, "projects": [SOUTH]}],
        "keys": [{"ak": AK, "sk": SK, "roles": ["op_svc_apig"]}],
    },
}
EXPECTED = sim_config.build(CONFIG)


def expected_ids(project, statuses=("Running",)):
    return sorted(i for i in EXPECTED.projects[project]["instances"]
                  if statuses is None or EXPECTED.instances[i].fields["status"] in statuses)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("apig_sim_inventory")) as simulator:
        yield simulator


@pytest.fixture
def log(sim):
    sim.reset(faults="clear")
    return sim.requests


class InventoryCli(object):
    """Runs ansible-inventory on config files written into ``workdir``."""

    def __init__(self, workdir):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.outputs = []

    def config(self, sim, name="fleet.apig_instances.yml", **options):
        base = {"plugin": "apigw.router.apig_instances",
                "regions": [{"name": "cn-north-4", "endpoint": sim.url, "iam_endpoint": sim.url},
                            {"name": "cn-south-1", "endpoint": sim.url, "iam_endpoint": sim.url},
                            # a sub-project of cn-north-4: its id given, no look-up
                            {"name": "cn-north-4", "endpoint": sim.url, "project_id": NORTH_DEV}],
                "auth_token": TOKEN, "retry_delay": 0.01}
        base.update(options)
        path = self.workdir / name
        path.write_text(yaml.safe_dump(dict((k, v) for k, v in base.items() if v is not None)))
        return path

    def env(self, extra=None):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "HUAWEICLOUD_")))
        home = self.workdir / "ansible-home"
        cfg = self.workdir / "ansible.cfg"
        cfg.write_text("# empty: configured through the environment\n")
        env.update({"ANSIBLE_CONFIG": str(cfg), "ANSIBLE_HOME": str(home),
                    "ANSIBLE_LOCAL_TEMP": str(home / "tmp"), "ANSIBLE_COLLECTIONS_PATH": str(INSTALLED_COLLECTIONS),
                    "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False", "ANSIBLE_NOCOLOR": "1",
                    "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "LC_ALL": "C.UTF-8"})
        env.update(extra or {})
        return env

    def run(self, *sources, verbosity=0, env=None, strict=False, args=()):
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "--list"]
        for source in sources:
            command += ["-i", str(source)]
        if verbosity:
            command.append("-" + "v" * verbosity)
        command += list(args)
        extra = dict(env or {})
        if strict:
            extra["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "True"
        done = subprocess.run(command, cwd=str(self.workdir), env=self.env(extra), capture_output=True, text=True, check=False,
                              timeout=300)
        self.outputs.append(done.stdout + done.stderr)
        return done


@pytest.fixture
def cli(tmp_path):
    return InventoryCli(tmp_path / "inventory")


def plain(value):
    """ansible-inventory writes unsafe values as {"__ansible_unsafe": value}: the plain value."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return dict((k, plain(v)) for k, v in value.items())
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def groups_of(listing):
    # At -v and above ansible-inventory prints its version banner to stdout before the JSON.
    start = 0 if listing.startswith("{") else listing.index("\n{") + 1
    raw = json.loads(listing[start:])
    data = plain(raw)
    return data, dict((g, sorted(v.get("hosts", []))) for g, v in data.items() if g != "_meta")


def assert_no_secret(cli):
    for output in cli.outputs:
        for secret in SECRETS:
            assert secret not in output


def test_lists_two_regions_three_projects(sim, log, cli):
    done = cli.run(cli.config(sim))
    assert done.returncode == 0, done.stderr
    data, groups = groups_of(done.stdout)
    north = expected_ids(NORTH) + expected_ids(NORTH_DEV)
    south = expected_ids(SOUTH)
    assert len(north) > 150 and len(south) > 100
    assert groups["apig_cn_north_4"] == sorted(north)
    assert groups["apig_cn_south_1"] == south
    assert groups["apig_instances"] == sorted(north + south)
    host = data["_meta"]["hostvars"][south[0]]
    instance = EXPECTED.instances[south[0]]
    # values from the API are marked unsafe (never templated)
    assert json.loads(done.stdout)["_meta"]["hostvars"][south[0]]["apigw_instance_name"] == {
        "__ansible_unsafe": instance.name}
    assert host["apigw_project_id"] == SOUTH and host["apigw_region"] == "cn-south-1"
    assert host["apigw_instance_name"] == instance.name and host["apigw_status"] == "Running"
    assert host["apigw_endpoint"] == sim.url and host["ansible_connection"] == "local"
    assert data["_meta"]["hostvars"][expected_ids(NORTH_DEV)[0]]["apigw_project_id"] == NORTH_DEV
    entries = log()
    lookups = [(e["path"], e["query"]) for e in entries if e["resource"] == "projects"]
    assert sorted(lookups) == [("/v3/projects", "name=cn-north-4"), ("/v3/projects", "name=cn-south-1")]
    listing = collections.Counter(e["project_id"] for e in entries if e["resource"] == "list_instances")
    assert listing == {NORTH: 1, NORTH_DEV: 1, SOUTH: 1}
    assert all("status=Running" in e["query"] and "limit=500" in e["query"]
               for e in entries if e["resource"] == "list_instances")
    assert len(entries) == 5
    assert_no_secret(cli)


def test_statuses_all_pages_and_details(sim, log, cli):
    done = cli.run(cli.config(sim, statuses=["all"], include_details=True, details_concurrency=8,
                              regions=[{"name": "cn-north-4", "endpoint": sim.url, "iam_endpoint": sim.url}]))
    assert done.returncode == 0, done.stderr
    data, groups = groups_of(done.stdout)
    assert groups["apig_instances"] == expected_ids(NORTH, None)
    one = data["_meta"]["hostvars"][expected_ids(NORTH, None)[0]]
    assert isinstance(one["apigw_available_zone_ids"], list) and one["apigw_available_zone_ids"]
    entries = log()
    pages = [e["query"] for e in entries if e["resource"] == "list_instances"]
    assert pages == ["limit=500&offset=0"]                 # 320 < 500: one page, no status filter
    assert sum(1 for e in entries if e["resource"] == "show_instance") == 320


def test_several_statuses_filtered_locally_and_keyed_groups(sim, log, cli):
    done = cli.run(cli.config(sim, statuses=["Frozen", "Unhealthy"],
                              keyed_groups=[{"key": "apigw_status", "prefix": "status"}],
                              groups={"south_frozen": "apigw_region == 'cn-south-1' and apigw_status == 'Frozen'"},
                              compose={"apigw_key_prefix": "'/apig/' ~ apigw_instance_id"}))
    assert done.returncode == 0, done.stderr
    data, groups = groups_of(done.stdout)
    wanted = ("Frozen", "Unhealthy")
    assert groups["apig_instances"] == sorted(expected_ids(NORTH, wanted) + expected_ids(NORTH_DEV, wanted)
                                              + expected_ids(SOUTH, wanted))
    assert groups["south_frozen"] == expected_ids(SOUTH, ("Frozen",))
    assert groups["status_Unhealthy"] == sorted(expected_ids(NORTH, ("Unhealthy",))
                                                + expected_ids(NORTH_DEV, ("Unhealthy",))
                                                + expected_ids(SOUTH, ("Unhealthy",)))
    first = groups["south_frozen"][0]
    assert data["_meta"]["hostvars"][first]["apigw_key_prefix"] == "/apig/" + first
    assert all("status=" not in e["query"] for e in log() if e["resource"] == "list_instances")


def test_cache_second_run_sends_no_request(sim, log, cli, tmp_path):
    path = cli.config(sim, cache=True, cache_plugin="ansible.builtin.jsonfile",
                      cache_connection=str(tmp_path / "cache"))
    first = cli.run(path)
    sent = len(log())
    second = cli.run(path)
    assert first.returncode == second.returncode == 0
    assert sent == 5 and len(sim.requests()) == sent
    assert json.loads(second.stdout) == json.loads(first.stdout)
    flushed = cli.run(path, args=["--flush-cache"])
    assert flushed.returncode == 0 and len(sim.requests()) == 2 * sent
    for cached in (tmp_path / "cache").iterdir():
        assert TOKEN not in cached.read_text()


def test_empty_answer_warns_about_permission(sim, log, cli):
    done = cli.run(cli.config(sim, auth_token=NOLIST_TOKEN))
    assert done.returncode == 0
    _data, groups = groups_of(done.stdout)
    assert not groups.get("apig_instances")
    text = " ".join(done.stderr.split())
    assert "region cn-south-1" in text and "apig:instance:list" in text
    assert_no_secret(cli)


@pytest.mark.parametrize("case", ["401", "403", "500", "unreachable"])
def test_failures_name_status_code_and_region(sim, log, cli, case, unused_port):
    options = {"retries": 1}
    if case == "401":
        options["auth_token"] = "MIIsim-wrong-token"
        expected = ["project id of region cn-north-4", "HTTP 401"]
    elif case == "403":
        options["auth_token"] = SOUTH_ONLY_TOKEN
        expected = ["ListInstancesV2 in region cn-north-4", "forbidden", "HTTP 403", "APIG.1136"]
    elif case == "500":
        sim.set_faults(SOUTH, always={"status": 500, "error_code": "APIG.9999"})
        expected = ["ListInstancesV2 in region cn-south-1", "server error", "HTTP 500", "APIG.9999",
                    "after 2 attempts"]
    else:
        options["regions"] = [{"name": "cn-north-4", "endpoint": "http://127.0.0.1:%d" % unused_port,
                               "project_id": NORTH}]
        expected = ["ListInstancesV2 in region cn-north-4", "no answer from 127.0.0.1:%d" % unused_port]
    done = cli.run(cli.config(sim, **options), strict=True)
    assert done.returncode != 0
    text = " ".join(done.stderr.split())
    for part in expected:
        assert part in text
    assert "Traceback" not in done.stderr + done.stdout
    assert_no_secret(cli)


@pytest.fixture
def unused_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("auth", ["token", "aksk", "password"])
def test_no_secret_at_vvv(sim, log, cli, auth):
    options = {"token": {"auth_token": TOKEN},
               "aksk": {"auth_token": None, "access_key": AK},
               "password": {"auth_token": None, "iam_user": USER, "iam_domain": DOMAIN, "iam_endpoint": sim.url}}[auth]
    # secrets from the environment, as users keep them out of files
    env = {"token": {}, "aksk": {"HUAWEICLOUD_SDK_SK": SK}, "password": {"ANSIBLE_HWC_PASSWORD": PASSWORD}}[auth]
    done = cli.run(cli.config(sim, **options), verbosity=3, env=env, strict=True)
    assert done.returncode == 0, done.stderr
    assert len(groups_of(done.stdout)[1].get("apig_instances", [])) > 250, done.stderr[-3000:]
    failing = cli.run(cli.config(sim, name="bad.apig_instances.yml", statuses=["Runing"], **options),
                      verbosity=3, env=env)
    assert "Runing" in failing.stderr
    assert_no_secret(cli)
    entries = log()
    if auth == "password":
        logins = [e for e in entries if e["resource"] == "tokens"]
        # one domain-scoped token for the look-ups, one per project listed
        assert len(logins) == 4


BAD_CONFIGS = [
    ({"regions": []}, "regions must be a non-empty list"),
    ({"regions": [42]}, "regions[0] must be a region name or a dict"),
    ({"regions": ["cn north 4"]}, "region 'cn north 4' is not a valid region name"),
    ({"regions": [{"endpoint": "https://apig.example"}]}, "regions[0]: name is required"),
    ({"regions": [{"name": "cn-north-4", "zone": "a"}]}, "regions[0]: unknown keys zone"),
    ({"regions": [{"name": "cn-north-4", "endpoint": "apig.example.com"}]}, "must be an http:// or https:// URL"),
    ({"regions": [{"name": "cn-north-4", "endpoint": "https://apig.example:99999"}]}, "is not a valid URL"),
    ({"regions": [{"name": "cn-north-4", "iam_endpoint": "ftp://iam.example"}]}, "regions[0].iam_endpoint"),
    ({"regions": [{"name": "cn-north-4", "project_id": "../etc"}]}, "regions[0].project_id '../etc' is not a valid"),
    ({"regions": ["cn-north-4", "cn-north-4"]}, "regions[1] repeats regions[0]"),
    ({"regions": ["cn-north-4"], "cloud": "https://myhuaweicloud.com"}, "is not a domain suffix"),
    ({"statuses": ["Runing"]}, "statuses: 'Runing' is not an APIG instance status"),
    ({"statuses": ["all", "Running"]}, "'all' cannot be combined"),
    ({"hostnames": ["ip_address"]}, "hostnames must be a list of id or instance_name"),
    ({"access_key": AK}, "conflicting authentication"),
    ({"iam_user": USER, "iam_password": PASSWORD, "iam_domain": DOMAIN}, "conflicting authentication"),
    ({"auth_token": None}, "no authentication for the APIG management API"),
    ({"auth_token": None, "access_key": AK}, "AK/SK authentication needs secret_key"),
    ({"auth_token": None, "iam_user": USER, "iam_password": PASSWORD}, "IAM password authentication needs iam_domain"),
    ({"include_filters": [{}]}, "include_filters[0] must be a non-empty dict"),
    ({"exclude_filters": "prod"}, "exclude_filters"),
    ({"timeout": 0}, "timeout must be at least 0.001"),
    ({"details_concurrency": 500}, "details_concurrency must be between 1 and 64"),
    ({"regoins": ["cn-north-4"]}, "unknown option regoins"),
    ({"retries": 1000}, "retries must be between 0 and 100"),
]


def test_bad_configs_each_fail_clearly_without_a_request(sim, log, cli):
    # One ansible-inventory run with every bad config as its own source: each fails on its own.
    sources = [cli.config(sim, name="bad%02d.apig_instances.yml" % i, **options)
               for i, (options, _expected) in enumerate(BAD_CONFIGS)]
    done = cli.run(*sources)
    text = " ".join(done.stderr.split())
    for source, (_options, expected) in zip(sources, BAD_CONFIGS):
        start = text.find("(%s)" % source)
        if start < 0:     # failures Ansible reports without our prefix (option type errors)
            start = text.find(str(source))
        assert start >= 0, "no failure reported for %s (%s)" % (source.name, expected)
        assert expected in text[start:start + 700], (source.name, text[start:start + 700])
    assert len(BAD_CONFIGS) >= 20
    assert log() == []
    assert "Traceback" not in done.stderr
    assert_no_secret(cli)


def test_playbook_uses_discovered_hosts(sim, log, ansible, tmp_path):
    """ansible-playbook with the plugin as inventory: one refresh per discovered Running
    instance of cn-south-1, in its own project, checked in the request log."""
    cli = InventoryCli(tmp_path / "pb")
    source = cli.config(sim, regions=[{"name": "cn-south-1", "endpoint": sim.url, "iam_endpoint": sim.url}])
    play = {"name": "refresh discovered", "hosts": "apig_cn_south_1", "gather_facts": False,
            "tasks": [{"name": "refresh", "apigw.router.apigw_router_refresh": {
                "instance_id": "{{ apigw_instance_id }}", "project_id": "{{ apigw_project_id }}",
                "endpoint": "{{ apigw_endpoint }}", "auth_token": TOKEN, "retry_delay": 0.01}}]}
    run = ansible.run([play], args=["-i", str(source), "--forks", "8"], env={"ANSIBLE_TIMEOUT": "30"})
    run.assert_success()
    refreshed = sorted(e["instance_id"] for e in log() if e["method"] == "PUT")
    assert refreshed == expected_ids(SOUTH)
    assert {e["project_id"] for e in sim.requests() if e["method"] == "PUT"} == {SOUTH}
    assert not ansible.find_in_captures(TOKEN)


# -- host names from the API, credentials in endpoints ------------------------------------------------

NAMES_PROJECT = "1a1b2c3d4e5f60718293a4b5c6d7e8ff"
NAMES_CONFIG = {
    "projects": [{"id": NAMES_PROJECT, "name": "cn-east-3", "instances": [
        {"id": "c0ffee000000000000000000000000a1", "name": "localhost"},
        {"id": "c0ffee000000000000000000000000a2", "name": "web1"},
        {"id": "c0ffee000000000000000000000000a3", "name": "bad name"},
        {"id": "c0ffee000000000000000000000000a4", "name": "127.0.0.1"},
        {"id": "c0ffee000000000000000000000000a5", "name": "gw-east-ok"},
    ]}],
    "credentials": {"tokens": [{"name": "names", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}


@pytest.fixture(scope="module")
def names_sim(tmp_path_factory):
    with Simulator(NAMES_CONFIG, workdir=tmp_path_factory.mktemp("apig_sim_names")) as simulator:
        yield simulator


def test_host_names_never_take_over_localhost_or_another_sources_host(names_sim, cli):
    """An instance named localhost, 127.0.0.1, with a space, or like a host of a static inventory
    parsed before, is named by its instance id (with a warning naming it); nothing of ours lands
    on the implicit localhost or on the other source's host."""
    static = cli.workdir / "static.yml"
    static.write_text(yaml.safe_dump({"all": {"hosts": {"web1": {"ansible_host": "10.9.8.7"}}}}))
    source = cli.config(names_sim, name="names.apig_instances.yml", hostnames=["instance_name", "id"],
                        regions=[{"name": "cn-east-3", "endpoint": names_sim.url, "project_id": NAMES_PROJECT}])
    done = cli.run(static, source, verbosity=3, strict=True)
    assert done.returncode == 0, done.stderr
    data, groups = groups_of(done.stdout)
    assert groups["apig_instances"] == ["c0ffee000000000000000000000000a1", "c0ffee000000000000000000000000a2",
                                        "c0ffee000000000000000000000000a3", "c0ffee000000000000000000000000a4",
                                        "gw-east-ok"]
    hostvars = data["_meta"]["hostvars"]
    assert hostvars["web1"] == {"ansible_host": "10.9.8.7"}
    assert "localhost" not in hostvars and "127.0.0.1" not in hostvars
    warnings = " ".join(done.stderr.split())
    for instance_id, name in (("a1", "'localhost'"), ("a2", "'web1'"), ("a3", "'bad name'"), ("a4", "'127.0.0.1'")):
        assert "instance c0ffee000000000000000000000000%s (region cn-east-3): host name %s" % (instance_id, name) \
            in warnings, warnings[-3000:]
    assert_no_secret(cli)


def test_credentials_in_endpoints_are_refused_and_never_shown(names_sim, cli):
    secret = "inv-URLpw-Rk27-leakcheck"
    names_sim.reset(faults="clear")
    sources = [
        cli.config(names_sim, name="c1.apig_instances.yml",
                   regions=[{"name": "cn-east-3", "endpoint": "http://ops:%s@127.0.0.1:bad" % secret}]),
        cli.config(names_sim, name="c2.apig_instances.yml",
                   regions=[{"name": "cn-east-3", "endpoint": names_sim.url,
                             "iam_endpoint": "http://ops:%s@127.0.0.1:1" % secret}]),
        cli.config(names_sim, name="c3.apig_instances.yml", iam_endpoint="https://ops:%s@iam.example:x" % secret,
                   regions=[{"name": "cn-east-3", "endpoint": names_sim.url}]),
    ]
    done = cli.run(*sources, verbosity=3)
    text = " ".join(done.stderr.split())
    for source, shown in zip(sources, ("regions[0].endpoint 'http://***@127.0.0.1:bad'",
                                       "regions[0].iam_endpoint 'http://***@127.0.0.1:1'",
                                       "iam_endpoint 'https://***@iam.example:x'")):
        start = text.find("(%s)" % source)
        assert start >= 0 and shown in text[start:start + 700] and "must not carry credentials" in \
            text[start:start + 700], text[-3000:]
    assert secret not in done.stdout + done.stderr
    assert names_sim.requests() == []
