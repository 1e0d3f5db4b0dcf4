# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
import urllib3

from ansible_collections.apigw.router.plugins.module_utils.common._errors import AuthError, ValidationError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import HttpTransport
from ansible_collections.apigw.router.plugins.module_utils.runs import _iam_token


def run_iam_token(params, check_mode=False):
    """As the module shell runs it; the login never warns."""
    return _iam_token.run_iam_token(params, check_mode, False, _no_warning)


def _no_warning(warning):
    raise AssertionError("unexpected warning: %s" % warning)


PASSWORD = "pw-SECRET-9"
PARAMS = dict(project_id="p1", region=None, cloud=None, iam_endpoint="https://iam.example", iam_user="u",
              iam_password=PASSWORD, iam_domain="d", validate_certs=True, ca_path=None, timeout=30.0, retries=0,
              retry_delay=0.0)


@pytest.fixture
def iam(monkeypatch):
    """Answers IAM's token call in place of the network; records what was sent."""
    sent = []
    answers = []

    def exchange(self, method, url, body, headers):
        sent.append((method, url, json.loads(body) if body else headers.get("X-Auth-Token")))
        return answers.pop(0)

    monkeypatch.setattr(HttpTransport, "exchange", exchange)
    return sent, answers


def test_returns_token_expiry_and_project(iam):
    sent, answers = iam
    answers.append((201, urllib3.HTTPHeaderDict({"X-Subject-Token": "tok-1"}),
                    b'{"token": {"expires_at": "2026-11-30T05:30:00.000000Z"}}'))
    result = run_iam_token(dict(PARAMS))
    assert (result["token"], result["expires_at"], result["project_id"], result["changed"]) == (
        "tok-1", "2026-11-30T05:30:00.000000Z", "p1", False)
    assert "tok-1" not in result["msg"] and PASSWORD not in result["msg"]
    assert [(m, u) for m, u, dummy in sent] == [("POST", "https://iam.example/v3/auth/tokens")]
    assert sent[0][2]["auth"]["scope"] == {"project": {"id": "p1"}}


def test_check_mode_logs_in_too(iam):
    sent, answers = iam
    answers.append((201, urllib3.HTTPHeaderDict({"X-Subject-Token": "tok-2"}), b"{}"))
    result = run_iam_token(dict(PARAMS), check_mode=True)
    assert result["token"] == "tok-2" and result["expires_at"] is None and len(sent) == 1


def test_refused_login_names_user_not_password(iam):
    sent, answers = iam
    answers.append((401, urllib3.HTTPHeaderDict(),
                    b'{"error": {"code": 401, "message": "The username or password is wrong."}}'))
    with pytest.raises(AuthError) as err:
        run_iam_token(dict(PARAMS))
    assert "user u" in err.value.msg and "401" in err.value.msg and PASSWORD not in err.value.msg


def test_region_gives_the_iam_endpoint_with_the_cloud_suffix(iam):
    sent, answers = iam
    answers.append((201, urllib3.HTTPHeaderDict({"X-Subject-Token": "t"}), b""))
    run_iam_token(dict(PARAMS, iam_endpoint=None, region="eu-west-101", cloud="myhuaweicloud.eu"))
    assert sent[0][1] == "https://iam.eu-west-101.myhuaweicloud.eu/v3/auth/tokens"


@pytest.mark.parametrize("change, message", [
    (dict(iam_user=None), "needs iam_user"),
    (dict(iam_password=None), "needs iam_password"),
    (dict(iam_domain=None), "needs iam_domain"),
    (dict(iam_endpoint=None), r"needs iam_endpoint \(or region\)"),
    (dict(iam_endpoint="ftp://iam.example"), "iam_endpoint 'ftp://iam.example' must be an http"),
    (dict(project_id=None), "project_id is required, or region to look it up"),
    (dict(project_id=None, iam_endpoint=None, region="bad region"), "region 'bad region' is not a valid"),
    (dict(iam_endpoint=None, region="cn-north-4", cloud="not a domain"), "cloud 'not a domain' is not a domain suffix"),
    (dict(project_id="p/../x"), "project_id 'p/../x' is not a valid identifier"),
    (dict(timeout=0.0), "timeout must be at least 0.001, not 0.0"),
    (dict(retries=-1), "retries must be between 0 and 100"),
    (dict(retry_delay=5000.0), "retry_delay must be between 0 and 3600"),
])
def test_bad_input_is_refused_before_any_request(iam, change, message):
    sent, dummy = iam
    with pytest.raises(ValidationError, match=message) as err:
        run_iam_token(dict(PARAMS, **change))
    assert sent == [] and PASSWORD not in err.value.msg


def test_without_project_id_the_region_project_is_looked_up_with_a_domain_token(iam):
    sent, answers = iam
    answers.extend([
        (201, urllib3.HTTPHeaderDict({"X-Subject-Token": "domain-tok"}), b"{}"),
        (200, urllib3.HTTPHeaderDict(), b'{"projects": [{"id": "p42", "name": "cn-north-4"}]}'),
        (201, urllib3.HTTPHeaderDict({"X-Subject-Token": "project-tok"}), b'{"token": {"expires_at": "E"}}'),
    ])
    result = run_iam_token(dict(PARAMS, project_id=None, region="cn-north-4"))
    assert (result["token"], result["project_id"], result["expires_at"]) == ("project-tok", "p42", "E")
    assert [(m, u) for m, u, dummy in sent] == [
        ("POST", "https://iam.example/v3/auth/tokens"),
        ("GET", "https://iam.example/v3/projects?name=cn-north-4"),
        ("POST", "https://iam.example/v3/auth/tokens")]
    assert sent[0][2]["auth"]["scope"] == {"domain": {"name": "d"}}
    assert sent[1][2] == "domain-tok"
    assert sent[2][2]["auth"]["scope"] == {"project": {"id": "p42"}}
