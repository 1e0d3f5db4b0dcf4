# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.apigw.router.plugins.module_utils import _http_client
from ansible_collections.apigw.router.plugins.module_utils._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils._runner import resolve_targets, run_api_refresh


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

from ansible_collections.apigw.router.plugins.module_utils import _runner  # noqa: E402
from ansible_collections.apigw.router.plugins.module_utils._routes import build_records  # noqa: E402

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

    monkeypatch.setattr(_runner, "EtcdClient", FakeEtcd)
    monkeypatch.setattr(_runner, "sync", fake_sync)
    return synced


def test_fixed_source_is_built_once_and_keyed_by_each_instance_prefix(fake_etcd, monkeypatch):
    built = []
    from ansible_collections.apigw.router.plugins.module_utils import _source
    real = _source.build_records
    monkeypatch.setattr(_source, "build_records", lambda apis: built.append(1) or real(apis))
    result = _runner.run_etcd_sync(etcd_params(instance_id=None, instances=[dict(instance_id="i1"),
                                                                             dict(instance_id="i2")]))
    assert built == [1]
    records = build_records(APIS)
    for (_client, instance_id, desired, _kwargs) in fake_etcd:
        assert desired == dict(("/apig/router/%s/apis/%s" % (instance_id, k), v) for k, v in records.items())
    assert result["summary"]["changed"] == 2 and result["msg"].startswith("2 instance(s): 2 changed")
    assert [c.closed for c in FakeEtcd.made] == [True]


def test_a_bad_fixed_source_is_refused_before_etcd_is_touched(fake_etcd):
    with pytest.raises(ValidationError, match="apis\\[1\\]"):
        _runner.run_etcd_sync(etcd_params(apis=[APIS[0], dict(APIS[1], req_uri="no-slash")]))
    assert FakeEtcd.made == [] and fake_etcd == []


def test_unexpected_exception_keeps_its_traceback_but_not_its_text(fake_etcd, monkeypatch):
    def broken(client, instance_id, desired, **kwargs):
        # Built at run time: the traceback shows source lines, and a literal would be one.
        raise KeyError("-".join(("SECRET", "IN", "TEXT")))

    monkeypatch.setattr(_runner, "sync", broken)
    for overrides in (dict(), dict(instance_id=None, instances=[dict(instance_id="i1"), dict(instance_id="i2")])):
        result = _runner.run_etcd_sync(etcd_params(**overrides))
        single = result if "results" not in result else result["results"][0]
        assert single["failed"] and single["msg"].startswith("unexpected KeyError at test_runner.py line")
        assert "Traceback (most recent call last)" in single["exception"] and "in broken" in single["exception"]
        assert "SECRET-IN-TEXT" not in repr(result)


def test_execute_turns_an_unexpected_exception_into_a_failure_with_traceback():
    class Module(object):
        params, check_mode, _diff = {}, False, False

        def fail_json(self, **kwargs):
            raise SystemExit(kwargs)

    def runner(params, check_mode, diff):
        return {}["missing"]

    with pytest.raises(SystemExit) as exc:
        _runner.execute(Module(), runner)
    failure = exc.value.args[0]
    assert failure["msg"].startswith("unexpected KeyError at test_runner.py line") and "'missing'" not in failure["msg"]
    assert "in runner" in failure["exception"]


def test_info_has_its_own_wording(fake_etcd, monkeypatch):
    answers = {"i1": dict(count=3, in_sync=True, drift=dict(create=[], update=[], delete=[])),
               "i2": dict(count=2, in_sync=False, drift=dict(create=["a2"], update=[], delete=[]))}
    monkeypatch.setattr(_runner, "inspect", lambda client, instance_id, *a, **k: dict(answers[instance_id]))
    fleet = dict(instance_id=None, instances=[dict(instance_id="i1"), dict(instance_id="i2")], compare=True)
    result = _runner.run_info(etcd_params(**fleet))
    assert result["msg"] == "2 instance(s) read: 5 route(s), 1 in sync, 1 drifting, 0 failed"
    assert result["changed"] is False and "changed" not in result["msg"]
    result = _runner.run_info(etcd_params(fail_on_drift=True, **fleet))
    assert result["failed"] and result["msg"] == (
        "2 instance(s) read: 5 route(s), 1 in sync, 1 drifting, 1 failed; failed: i2 (drift on instance i2: "
        "a sync would create 1, update 0 and delete 0 route(s))")
