# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils.apig import _http_client
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.apig._projects import ProjectLookup
from ansible_collections.apigw.router.plugins.module_utils.common import _module
from ansible_collections.apigw.router.plugins.module_utils.runs import _api_mode, _etcd_clients, _etcd_mode, _info
from ansible_collections.apigw.router.plugins.module_utils.runs._targets import resolve_targets


def run_api_refresh(params, check_mode=False, diff=False):
    return _api_mode.run_api_refresh(params, check_mode, diff, _no_warning)


def run_etcd_sync(params, check_mode=False, diff=False):
    return _etcd_mode.run_etcd_sync(params, check_mode, diff, _no_warning)


def run_info(params, check_mode=False, diff=False, warn=None):
    # etcd_params gives apis, which info without compare warns about (see the last test).
    return _info.run_info(params, check_mode, diff, warn or (lambda warning: None))


def _no_warning(warning):
    raise AssertionError("unexpected warning: %s" % warning)


def params(**overrides):
    base = dict(instance_id="inst1", instances=None, project_id="proj1", concurrency=16, endpoint="http://127.0.0.1:9",
                region=None, auth_token="tok", access_key=None, secret_key=None, security_token=None,
                iam_endpoint=None, iam_user=None, iam_password=None, iam_domain=None, validate_certs=True,
                ca_path=None, timeout=30.0, retries=3, retry_delay=1.0, resources=["apis"], wait=False,
                wait_timeout=300, wait_sleep=2, apis=None, src=None, mode="api")
    base.update(overrides)
    return base


@pytest.fixture(autouse=True)
def no_requests(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a request was sent")
    monkeypatch.setattr(_http_client.HttpTransport, "send", refuse)


@pytest.mark.parametrize("overrides, message", [
    (dict(instance_id="../etc"), "instance_id '../etc' is not a valid identifier"),
    (dict(instance_id="a/b"), "instance_id 'a/b' is not a valid identifier"),
    (dict(instance_id="a%2Fb"), "is not a valid identifier"),
    (dict(instance_id="a\x00b"), "is not a valid identifier"),
    (dict(instance_id="a\nb"), "is not a valid identifier"),
    (dict(instance_id="x" * 65), "is not a valid identifier"),
    (dict(instance_id=""), "is not a valid identifier"),
    (dict(instance_id="-lead"), "is not a valid identifier"),
    (dict(project_id="p/1"), "project_id 'p/1' is not a valid identifier"),
    (dict(project_id=None), "project_id is required"),
    (dict(instance_id=None, instances=[]), "instances is empty"),
    (dict(instance_id=None, instances=[dict(instance_id="a"), dict(instance_id="a")]),
     "instances\\[0\\] and instances\\[1\\] are both instance a"),
    (dict(instance_id=None, instances=[dict(instance_id="a"), dict(instance_id="b/..")]),
     "instances\\[1\\].instance_id 'b/..' is not a valid identifier"),
    (dict(instance_id=None, instances=[dict(instance_id="a", project_id="bad id")]),
     "instances\\[0\\].project_id 'bad id'"),
    (dict(concurrency=0), "concurrency must be between 1 and 256"),
    (dict(concurrency=257), "concurrency must be between 1 and 256"),
    (dict(endpoint=None), "endpoint or region is required"),
    (dict(endpoint="ftp://x"), "must be an http:// or https:// URL"),
    (dict(resources=["apis", "routes"]), "unknown resources 'routes'"),
    (dict(resources=[]), "at least one resource"),
    (dict(auth_token=None), "no authentication"),
    (dict(access_key="AK", secret_key="SK"), "conflicting authentication"),
    (dict(timeout=0), "timeout must be at least"),
    (dict(retries=-1), "retries must be between 0 and 100"),
    (dict(wait_timeout=-5), "wait_timeout must be at least 0"),
    (dict(apis=[]), "apis is a source for mode etcd"),
    (dict(src="/tmp/x.json"), "src is a source for mode etcd"),
])
def test_refused_before_any_request(overrides, message):
    with pytest.raises(ValidationError, match=message):
        run_api_refresh(params(**overrides))


def test_check_mode_sends_nothing_for_a_fleet():
    result = run_api_refresh(params(instance_id=None, instances=[dict(instance_id="a"), dict(instance_id="b")]),
                             check_mode=True)
    assert result["summary"] == dict(total=2, changed=2, unchanged=0, failed=0)
    assert [r["instance_id"] for r in result["results"]] == ["a", "b"]


def test_fleet_overrides():
    fleet, targets = resolve_targets(params(instance_id=None, instances=[
        dict(instance_id="a"), dict(instance_id="b", project_id="proj2", endpoint="https://other:8443/")]), True)
    assert fleet
    assert [(t["instance_id"], t["project_id"], t["base_url"]) for t in targets] == [
        ("a", "proj1", "http://127.0.0.1:9"), ("b", "proj2", "https://other:8443")]


# --- etcd mode and info: sources, prefixes, unexpected exceptions ------------------------

from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records  # noqa: E402

APIS = [dict(id="a%d" % i, name="n", req_method="GET", req_uri="/x%d" % i, run_env_id="e1",
             run_env_name="RELEASE") for i in range(3)]


class FakeEtcd(object):
    made = []

    def __init__(self, endpoints, **kwargs):
        self.endpoints = endpoints
        self.kwargs = kwargs
        self.closed = False
        FakeEtcd.made.append(self)

    def close(self):
        self.closed = True


def etcd_params(**overrides):
    base = params(mode="etcd", apis=list(APIS), etcd_endpoints=["http://127.0.0.1:1"], etcd_ca_cert=None,
                  etcd_client_cert=None, etcd_client_key=None, etcd_user=None, etcd_password=None,
                  etcd_timeout=10.0, etcd_library="auto", key_prefix="/apig/router", prune=True,
                  allow_empty=False, max_txn_ops=128, lock_timeout=30.0, records=False, compare=False,
                  fail_on_drift=False)
    base.update(overrides)
    return base


@pytest.fixture
def fake_etcd(monkeypatch):
    FakeEtcd.made = []
    synced = []

    def fake_sync(client, instance_id, desired, **kwargs):
        synced.append((client, instance_id, desired, kwargs))
        return dict(changed=True, msg="synced %s" % instance_id)

    monkeypatch.setattr(_etcd_clients, "EtcdClient", FakeEtcd)
    monkeypatch.setattr(_etcd_mode, "sync", fake_sync)
    return synced


def test_fixed_source_is_built_once_and_keyed_by_each_instance_prefix(fake_etcd, monkeypatch):
    built = []
    from ansible_collections.apigw.router.plugins.module_utils.sources import _source
    real = _source.build_records
    monkeypatch.setattr(_source, "build_records", lambda apis: built.append(1) or real(apis))
    two = [dict(instance_id="i1"), dict(instance_id="i2")]
    result = run_etcd_sync(etcd_params(instance_id=None, instances=two))
    assert built == [1]
    records = build_records(APIS)
    for (_client, instance_id, desired, _kwargs) in fake_etcd:
        assert desired == dict(("/apig/router/%s/apis/%s" % (instance_id, k), v) for k, v in records.items())
    assert result["summary"]["changed"] == 2 and result["msg"].startswith("2 instance(s): 2 changed")
    assert [c.closed for c in FakeEtcd.made] == [True]


def test_a_bad_fixed_source_is_refused_before_etcd_is_touched(fake_etcd):
    with pytest.raises(ValidationError, match="apis\\[1\\]"):
        run_etcd_sync(etcd_params(apis=[APIS[0], dict(APIS[1], req_uri="no-slash")]))
    assert FakeEtcd.made == [] and fake_etcd == []


def test_unexpected_exception_keeps_its_traceback_but_not_its_text(fake_etcd, monkeypatch):
    def broken(client, instance_id, desired, **kwargs):
        # Built at run time: the traceback shows source lines, and a literal would be one.
        raise KeyError("-".join(("SECRET", "IN", "TEXT")))

    monkeypatch.setattr(_etcd_mode, "sync", broken)
    for overrides in (dict(), dict(instance_id=None, instances=[dict(instance_id="i1"), dict(instance_id="i2")])):
        result = run_etcd_sync(etcd_params(**overrides))
        single = result if "results" not in result else result["results"][0]
        assert single["failed"] and single["msg"].startswith("unexpected KeyError at test_runs.py line")
        assert "Traceback (most recent call last)" in single["exception"] and "in broken" in single["exception"]
        assert "SECRET-IN-TEXT" not in repr(result)


def test_the_module_shell_turns_an_unexpected_exception_into_a_failure_with_traceback(monkeypatch):
    class Module(object):
        params, check_mode, _diff, no_log_values = {}, False, False, set()

        def fail_json(self, **kwargs):
            raise SystemExit(kwargs)

    def runner(params, check_mode, diff, warn):
        return {}["missing"]

    monkeypatch.setattr(_module, "AnsibleModule", lambda argument_spec, **kwargs: Module())
    with pytest.raises(SystemExit) as exc:
        _module.ApigwRouterModule({}).execute(runner)
    failure = exc.value.args[0]
    assert failure["msg"].startswith("unexpected KeyError at test_runs.py line") and "'missing'" not in failure["msg"]
    assert "in runner" in failure["exception"]


def test_info_has_its_own_wording(fake_etcd, monkeypatch):
    answers = {"i1": dict(count=3, in_sync=True, drift=dict(create=[], update=[], delete=[])),
               "i2": dict(count=2, in_sync=False, drift=dict(create=["a2"], update=[], delete=[]))}
    monkeypatch.setattr(_info, "inspect", lambda client, instance_id, *a, **k: dict(answers[instance_id]))
    fleet = dict(instance_id=None, instances=[dict(instance_id="i1"), dict(instance_id="i2")], compare=True)
    result = run_info(etcd_params(**fleet))
    assert result["msg"] == "2 instance(s) read: 5 route(s), 1 in sync, 1 drifting, 0 failed"
    assert result["changed"] is False and "changed" not in result["msg"]
    result = run_info(etcd_params(fail_on_drift=True, **fleet))
    assert result["failed"] and result["msg"] == (
        "2 instance(s) read: 5 route(s), 1 in sync, 1 drifting, 1 failed; failed: i2 (drift on instance i2: "
        "a sync would create 1, update 0 and delete 0 route(s))")


# --- per-item targets: cloud, region, project lookup, etcd connections ------------------

def test_endpoints_from_region_and_cloud():
    fleet, targets = resolve_targets(params(instance_id=None, endpoint=None, region="cn-north-4", instances=[
        dict(instance_id="a"),
        dict(instance_id="b", region="eu-west-101"),
        dict(instance_id="c", region="ap-southeast-1", cloud="example.cloud"),
        dict(instance_id="d", endpoint="https://apig.private:8443/")]), True)
    assert [t["base_url"] for t in targets] == [
        "https://apig.cn-north-4.myhuaweicloud.com", "https://apig.eu-west-101.myhuaweicloud.eu",
        "https://apig.ap-southeast-1.example.cloud", "https://apig.private:8443"]


def test_project_is_looked_up_only_without_one_and_with_a_region():
    _fleet, targets = resolve_targets(params(instance_id=None, project_id=None, endpoint=None, region="cn-north-4",
                                             instances=[dict(instance_id="a"),
                                                        dict(instance_id="b", project_id="p2"),
                                                        dict(instance_id="c", region="eu-west-101")]), True)
    assert [(t["project_id"], t.get("iam_endpoint")) for t in targets] == [
        (None, "https://iam.cn-north-4.myhuaweicloud.com"), ("p2", None),
        (None, "https://iam.eu-west-101.myhuaweicloud.eu")]
    _fleet, targets = resolve_targets(params(project_id=None, endpoint=None, region="cn-north-4",
                                             iam_endpoint="http://127.0.0.1:5000"), True)
    assert targets[0]["iam_endpoint"] == "http://127.0.0.1:5000"


@pytest.mark.parametrize("item, message", [
    (dict(region="Bad Region"), "instances\\[1\\].region: region 'Bad Region' is not a valid region name"),
    (dict(region="cn-north-4", cloud="no_dots"), "instances\\[1\\].cloud: cloud 'no_dots'"),
    (dict(endpoint="ftp://x"), "instances\\[1\\].endpoint: endpoint 'ftp://x'"),
    (dict(project_id=None, endpoint="http://127.0.0.1:9"),
     "instances\\[1\\].project_id is required .* without a region"),
    (dict(etcd_endpoints=["http://127.0.0.1:2379"]), "instances\\[1\\].etcd_endpoints is an etcd connection option"),
])
def test_a_bad_item_is_named(item, message):
    base = dict(instance_id="b", project_id="p1", region=None)
    base.update(item)
    with pytest.raises(ValidationError, match=message):
        run_api_refresh(params(instance_id=None, endpoint=None, region=None, project_id=None,
                               instances=[dict(instance_id="a", endpoint="http://127.0.0.1:9", project_id="p0"),
                                          dict(base, endpoint=base.get("endpoint"))]))


def test_project_lookup_once_per_region_in_the_fleet(monkeypatch):
    lookups, refreshed = [], []

    class Lookup(ProjectLookup):
        def __init__(self, transport, auth):  # pylint: disable=super-init-not-called
            self.known = {}

        def project_id(self, region, iam_endpoint):
            if region not in self.known:  # the real one caches per region the same way
                lookups.append((region, iam_endpoint))
                self.known[region] = "proj-" + region
            return self.known[region]

    def refresh(api, instance_id, resources, **kwargs):
        refreshed.append((instance_id, api.project_id))
        return dict(changed=True)

    monkeypatch.setattr(_api_mode, "ProjectLookup", Lookup)
    monkeypatch.setattr(_api_mode, "refresh_instance", refresh)
    result = run_api_refresh(params(instance_id=None, project_id=None, endpoint=None, region="cn-north-4",
                                    concurrency=1, instances=[
                                        dict(instance_id="a"), dict(instance_id="b", region="cn-east-3"),
                                        dict(instance_id="c"), dict(instance_id="d", project_id="own")]))
    assert result["summary"]["changed"] == 4
    assert lookups == [("cn-north-4", "https://iam.cn-north-4.myhuaweicloud.com"),
                       ("cn-east-3", "https://iam.cn-east-3.myhuaweicloud.com")]
    assert refreshed == [("a", "proj-cn-north-4"), ("b", "proj-cn-east-3"), ("c", "proj-cn-north-4"), ("d", "own")]


def test_one_etcd_client_per_distinct_connection_all_closed(fake_etcd):
    tls = dict(etcd_endpoints=["https://c:2379"], etcd_ca_cert="/ca", etcd_client_cert="/cert",
               etcd_client_key="/key", etcd_user="u", etcd_password="pw")
    run_etcd_sync(etcd_params(instance_id=None, instances=[
        dict(instance_id="a1"), dict(instance_id="b1", etcd_endpoints=["http://b:2379"]),
        dict(instance_id="c1", **tls), dict(instance_id="a2", key_prefix="/other"),
        dict(instance_id="b2", etcd_endpoints=["http://b:2379"]), dict(instance_id="c2", **tls)]))
    assert [c.endpoints for c in FakeEtcd.made] == [["http://127.0.0.1:1"], ["http://b:2379"], ["https://c:2379"]]
    assert FakeEtcd.made[2].kwargs["user"] == "u" and FakeEtcd.made[2].kwargs["password"] == "pw"
    assert all(c.closed for c in FakeEtcd.made)
    used = dict((instance_id, (FakeEtcd.made.index(client), sorted(desired)[0].rsplit("/apis/", 1)[0]))
                for client, instance_id, desired, _kwargs in fake_etcd)
    assert used == {"a1": (0, "/apig/router/a1"), "b1": (1, "/apig/router/b1"), "c1": (2, "/apig/router/c1"),
                    "a2": (0, "/other/a2"), "b2": (1, "/apig/router/b2"), "c2": (2, "/apig/router/c2")}
    assert dict((i, k["key_prefix"]) for _c, i, _d, k in fake_etcd)["a2"] == "/other"


def test_a_bad_etcd_connection_names_the_item_and_closes_the_others(monkeypatch, fake_etcd):
    from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError

    class Picky(FakeEtcd):
        def __init__(self, endpoints, **kwargs):
            if kwargs.get("client_cert") and not kwargs.get("client_key"):
                raise EtcdError("etcd_client_cert and etcd_client_key must be given together")
            FakeEtcd.__init__(self, endpoints, **kwargs)

    monkeypatch.setattr(_etcd_clients, "EtcdClient", Picky)
    with pytest.raises(EtcdError, match="instances\\[1\\]: etcd_client_cert and etcd_client_key"):
        run_etcd_sync(etcd_params(instance_id=None, instances=[
            dict(instance_id="a1"), dict(instance_id="b1", etcd_endpoints=["https://b:2379"], etcd_client_cert="/c")]))
    assert [c.closed for c in FakeEtcd.made] == [True] and fake_etcd == []


@pytest.mark.parametrize("item, message", [
    (dict(key_prefix="rel"), "instances\\[1\\].key_prefix: key_prefix 'rel' must start with '/'"),
    (dict(etcd_endpoints=[]), "instances\\[1\\].etcd_endpoints must list at least one endpoint"),
])
def test_a_bad_etcd_item_is_refused_before_any_client(fake_etcd, item, message):
    with pytest.raises(ValidationError, match=message):
        items = [dict(instance_id="a1"), dict(instance_id="b1", **item)]
        run_etcd_sync(etcd_params(instance_id=None, instances=items))
    assert FakeEtcd.made == []


@pytest.mark.parametrize("items, refused", [
    # the case: Y's whole key space lies in X's apis/
    ([dict(instance_id="X", key_prefix="/nest"), dict(instance_id="Y", key_prefix="/nest/X/apis")], (0, 1)),
    # in the other order, and further down, and with endpoints spelt differently or only one shared
    ([dict(instance_id="Y", key_prefix="/nest/X/deep/er"), dict(instance_id="X", key_prefix="/nest/")], (0, 1)),
    ([dict(instance_id="a"), dict(instance_id="X", key_prefix="/p", etcd_endpoints=["127.0.0.1:1"]),
      dict(instance_id="Y", key_prefix="/p/X", etcd_endpoints=["http://b:2", "http://127.0.0.1:1/"])], (1, 2)),
    # beside each other, not nested: an id that extends another, a prefix that extends another
    ([dict(instance_id="X", key_prefix="/p"), dict(instance_id="X2", key_prefix="/p")], None),
    ([dict(instance_id="X", key_prefix="/p"), dict(instance_id="Y", key_prefix="/p/X2")], None),
    ([dict(instance_id="X", key_prefix="/p"), dict(instance_id="Y", key_prefix="/pX")], None),
    ([dict(instance_id="X", key_prefix="/p"), dict(instance_id="Y", key_prefix="/p/Xapis")], None),
    # nested, but on two clusters
    ([dict(instance_id="X", key_prefix="/nest"),
      dict(instance_id="Y", key_prefix="/nest/X/apis", etcd_endpoints=["http://other:2379"])], None),
])
@pytest.mark.parametrize("run", [run_etcd_sync, run_info])
def test_nested_key_spaces_on_one_cluster_are_refused_before_any_client(fake_etcd, items, refused, run):
    if refused is None:
        run(etcd_params(instance_id=None, instances=items))
        return
    with pytest.raises(ValidationError) as err:
        run(etcd_params(instance_id=None, instances=items))
    first, second = refused
    assert err.value.msg.startswith("instances[%d] (instance %s) and instances[%d] (instance %s) have nested etcd "
                                    "key spaces" % (first, items[first]["instance_id"], second,
                                                    items[second]["instance_id"])), err.value.msg
    assert "the same key_prefix for both" in err.value.msg
    assert FakeEtcd.made == [] and fake_etcd == []


def test_nested_key_spaces_are_found_among_many_targets(fake_etcd):
    items = [dict(instance_id="i%04d" % n) for n in range(2000)]
    items.append(dict(instance_id="late", key_prefix="/apig/router/i1234/apis"))
    with pytest.raises(ValidationError, match="instances\\[1234\\] \\(instance i1234\\) and instances\\[2000\\]"):
        run_etcd_sync(etcd_params(instance_id=None, instances=items))


def test_each_result_names_its_etcd_endpoints_and_their_origin(fake_etcd, monkeypatch):
    from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError
    monkeypatch.setenv("ETCDCTL_ENDPOINTS", "http://env-a:2379,http://env-b:2379")
    failing = dict(instance_id="b1", etcd_endpoints=["https://b:2379"])

    def fake_sync(client, instance_id, desired, **kwargs):
        if instance_id == "b1":
            raise EtcdError("unreachable")
        return dict(changed=True, msg="synced", diff=dict(before={}, after={"k": "v"}))

    monkeypatch.setattr(_etcd_mode, "sync", fake_sync)
    result = run_etcd_sync(etcd_params(etcd_endpoints=None, instance_id=None,
                                       instances=[dict(instance_id="a1"), failing]), diff=True)
    first, second = result["results"]
    assert (first["etcd_endpoints"], first["etcd_endpoints_from"]) == (["http://env-a:2379", "http://env-b:2379"], "env")
    assert first["diff"]["before_header"] == first["diff"]["after_header"] == (
        "etcd http://env-a:2379, http://env-b:2379 (from ETCDCTL_ENDPOINTS): /apig/router/a1/apis/")
    assert second["failed"] and second["msg"] == "unreachable"
    assert (second["etcd_endpoints"], second["etcd_endpoints_from"]) == (["https://b:2379"], "option")


def test_info_warns_about_a_source_it_ignores(fake_etcd, monkeypatch):
    warned = []
    monkeypatch.setattr(_info, "inspect", lambda *a, **k: dict(count=0, manifest=None, revision=1))
    result = run_info(etcd_params(src="/nowhere.json", apis=None), warn=warned.append)
    assert warned == ["src is ignored without compare: true (only a drift check reads a source)"]
    assert (result["etcd_endpoints"], result["etcd_endpoints_from"]) == (["http://127.0.0.1:1"], "option")
