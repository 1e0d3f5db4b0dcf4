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
