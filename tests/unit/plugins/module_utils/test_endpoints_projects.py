# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import threading
import time

import pytest

from ansible_collections.apigw.router.plugins.module_utils.apig._auth_aksk import AkSkAuth
from ansible_collections.apigw.router.plugins.module_utils.apig._auth_password import PasswordAuth, iam_endpoint_of
from ansible_collections.apigw.router.plugins.module_utils.apig._auth_token import TokenAuth
from ansible_collections.apigw.router.plugins.module_utils.apig._endpoints import (
    DEFAULT_CLOUD, apig_endpoint, iam_endpoint)
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError, ValidationError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import Response, base_url
from ansible_collections.apigw.router.plugins.module_utils.apig._projects import ProjectLookup

IAM = "https://iam.example"


@pytest.mark.parametrize("region, cloud, apig, iam", [
    ("cn-north-4", None, "https://apig.cn-north-4.myhuaweicloud.com", "https://iam.cn-north-4.myhuaweicloud.com"),
    ("ap-southeast-1", None, "https://apig.ap-southeast-1.myhuaweicloud.com",
     "https://iam.ap-southeast-1.myhuaweicloud.com"),
    ("eu-west-101", None, "https://apig.eu-west-101.myhuaweicloud.eu", "https://iam.eu-west-101.myhuaweicloud.eu"),
    ("eu-west-101", "myhuaweicloud.com", "https://apig.eu-west-101.myhuaweicloud.com",
     "https://iam.eu-west-101.myhuaweicloud.com"),
    ("xy-private-1", "cloud.Example.ORG", "https://apig.xy-private-1.cloud.example.org",
     "https://iam.xy-private-1.cloud.example.org"),
])
def test_endpoints_from_region_and_cloud(region, cloud, apig, iam):
    assert DEFAULT_CLOUD == "myhuaweicloud.com"
    assert apig_endpoint(region, cloud) == apig
    assert iam_endpoint(region, cloud) == iam
    assert base_url(None, region, cloud) == apig
    assert iam_endpoint_of({"region": region, "cloud": cloud}) == iam


@pytest.mark.parametrize("region, cloud, message", [
    ("cn/north", None, "region 'cn/north' is not a valid region name"),
    ("CN-NORTH-4", None, "not a valid region name"),
    ("", None, "not a valid region name"),
    (4, None, "region 4 is not a valid region name"),
    ("cn-north-4", "https://example.com", "cloud 'https://example.com' is not a domain suffix"),
    ("cn-north-4", "com", "is not a domain suffix"),
    ("cn-north-4", "a..b", "is not a domain suffix"),
    ("cn-north-4", "example.com/x", "is not a domain suffix"),
])
def test_endpoints_refuse(region, cloud, message):
    with pytest.raises(ValidationError, match=message):
        apig_endpoint(region, cloud)


def test_iam_endpoint_given_wins():
    assert iam_endpoint_of({"iam_endpoint": IAM, "region": "cn-north-4"}) == IAM
    assert iam_endpoint_of({}) is None


class FakeTransport(object):
    """Applies auth as HttpTransport does and answers from a function of (method, url, body)."""

    def __init__(self, answer, delay=0.0):
        self.answer = answer
        self.delay = delay
        self.calls = []
        self._lock = threading.Lock()

    def send(self, method, url, what, body=None, headers=None, auth=None, project_id=None, **kwargs):
        sent = dict(headers or {})
        if auth is not None:
            sent = auth.apply(method, url, sent, body, project_id)
        with self._lock:
            self.calls.append((method, url, sent, body, project_id))
        if self.delay:
            time.sleep(self.delay)
        result = self.answer(method, url, body)
        if isinstance(result, Exception):
            raise result
        status, headers_out, payload = result
        return Response(status, headers_out, json.dumps(payload).encode("utf-8"), 1)


def projects(*pairs):
    return (200, {}, {"projects": [{"id": i, "name": n, "domain_id": "d1", "enabled": True} for i, n in pairs]})


def test_lookup_sends_name_query_and_caches_per_endpoint_and_region():
    transport = FakeTransport(lambda m, url, b: projects(
        ("p-" + url.rsplit("=", 1)[1], url.rsplit("=", 1)[1])))
    lookup = ProjectLookup(transport, TokenAuth("tok-SECRET"))
    assert lookup.project_id("cn-north-4", IAM) == "p-cn-north-4"
    assert lookup.project_id("cn-north-4", IAM + "/") == "p-cn-north-4"
    assert lookup.project_id("cn-south-1", IAM) == "p-cn-south-1"
    assert lookup.project_id("cn-north-4", "https://iam.other") == "p-cn-north-4"
    assert [c[1] for c in transport.calls] == [
        IAM + "/v3/projects?name=cn-north-4", IAM + "/v3/projects?name=cn-south-1",
        "https://iam.other/v3/projects?name=cn-north-4"]
    assert all(c[0] == "GET" and c[4] is None and c[2]["X-Auth-Token"] == "tok-SECRET" for c in transport.calls)


def test_lookup_is_once_per_region_under_concurrency():
    transport = FakeTransport(lambda m, u, b: projects(("p1", "cn-north-4")), delay=0.05)
    lookup = ProjectLookup(transport, TokenAuth("t"))
    results = []
    threads = [threading.Thread(target=lambda: results.append(lookup.project_id("cn-north-4", IAM)))
               for _thread in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["p1"] * 16
    assert len(transport.calls) == 1


def test_lookup_ignores_projects_of_other_names():
    # Sub-projects are named <region>_<suffix>; a proxy might ignore ?name=.
    transport = FakeTransport(lambda m, u, b: projects(("sub", "cn-north-4_dev"), ("p1", "cn-north-4")))
    assert ProjectLookup(transport, TokenAuth("t")).project_id("cn-north-4", IAM) == "p1"


@pytest.mark.parametrize("answer, message", [
    (projects(), "region cn-north-4: IAM https://iam.example lists 0 projects named cn-north-4, need exactly one "
                 r"\(check the region name"),
    (projects(("a", "cn-north-4"), ("b", "cn-north-4")), r"lists 2 projects .*\(ids a, b\)"),
    (projects(("../x", "cn-north-4")), "project id of region cn-north-4 from IAM '../x' is not a valid identifier"),
    ((200, {}, {"nothing": 1}), "project id of region cn-north-4 .*: IAM answered without a projects list"),
    ((200, {}, ["x"]), "without a projects list"),
])
def test_lookup_refuses_zero_several_or_odd_answers(answer, message):
    lookup = ProjectLookup(FakeTransport(lambda m, u, b: answer), TokenAuth("t"))
    with pytest.raises((ValidationError, ApiError), match=message):
        lookup.project_id("cn-north-4", IAM)


def test_lookup_api_error_passes_through_and_is_not_cached():
    answers = [ApiError("project id of region cn-north-4 (IAM x): server error (HTTP 500)", status=500),
               projects(("p1", "cn-north-4"))]
    transport = FakeTransport(lambda m, u, b: answers.pop(0))
    lookup = ProjectLookup(transport, TokenAuth("t"))
    with pytest.raises(ApiError, match="HTTP 500"):
        lookup.project_id("cn-north-4", IAM)
    assert lookup.project_id("cn-north-4", IAM) == "p1"


@pytest.mark.parametrize("region, iam, message", [
    ("cn north", IAM, "not a valid region name"),
    ("cn-north-4", "iam.example", "iam_endpoint 'iam.example' must be an http"),
])
def test_lookup_validates_before_sending(region, iam, message):
    transport = FakeTransport(lambda m, u, b: projects())
    with pytest.raises(ValidationError, match=message):
        ProjectLookup(transport, TokenAuth("t")).project_id(region, iam)
    assert transport.calls == []


def test_lookup_aksk_signs_without_project_header():
    transport = FakeTransport(lambda m, u, b: projects(("p1", "cn-north-4")))
    ProjectLookup(transport, AkSkAuth("AK1", "sk-SECRET", "st-1")).project_id("cn-north-4", IAM)
    headers = transport.calls[0][2]
    assert "X-Project-Id" not in headers
    assert headers["Authorization"].startswith("SDK-HMAC-SHA256 Access=AK1,")
    assert headers["X-Security-Token"] == "st-1"
    assert "sk-SECRET" not in json.dumps(headers)


def test_password_lookup_uses_one_domain_scoped_token():
    def answer(method, url, body):
        if url.endswith("/v3/auth/tokens"):
            scope = json.loads(body)["auth"]["scope"]
            return (201, {"X-Subject-Token": "tok-" + ("domain" if "domain" in scope else scope["project"]["id"])},
                    {"token": {}})
        return projects(("p-" + url.rsplit("=", 1)[1], url.rsplit("=", 1)[1]))
    transport = FakeTransport(answer)
    auth = PasswordAuth(transport, IAM, "u", "pw-SECRET", "dom")
    lookup = ProjectLookup(transport, auth)
    assert lookup.project_id("cn-north-4", IAM) == "p-cn-north-4"
    assert lookup.project_id("cn-south-1", IAM) == "p-cn-south-1"
    logins = [c for c in transport.calls if c[1].endswith("/v3/auth/tokens")]
    assert len(logins) == 1
    assert json.loads(logins[0][3])["auth"]["scope"] == {"domain": {"name": "dom"}}
    listing = [c for c in transport.calls if "/v3/projects" in c[1]]
    assert [c[2]["X-Auth-Token"] for c in listing] == ["tok-domain", "tok-domain"]
    # A project-scoped token is a separate login.
    assert auth.apply("GET", "u", {}, None, "p-cn-north-4")["X-Auth-Token"] == "tok-p-cn-north-4"
    assert len([c for c in transport.calls if c[1].endswith("/v3/auth/tokens")]) == 2
