# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest

from ansible_collections.apigw.router.plugins.module_utils.apig import _signer
from ansible_collections.apigw.router.plugins.module_utils.apig._auth import selected_method
from ansible_collections.apigw.router.plugins.module_utils.apig._auth_aksk import AkSkAuth
from ansible_collections.apigw.router.plugins.module_utils.apig._auth_password import PasswordAuth
from ansible_collections.apigw.router.plugins.module_utils.apig._auth_token import TokenAuth
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError, AuthError, ValidationError


def auth_of(params, transport):
    """What the runner does: the selected method built from the options."""
    return selected_method(params).from_params(params, transport)


TOKEN = dict(auth_token="tok-SECRET")
AKSK = dict(access_key="AK1", secret_key="sk-SECRET")
PASSWORD = dict(iam_user="u", iam_password="pw-SECRET", iam_domain="d", iam_endpoint="https://iam.example")


@pytest.mark.parametrize("params, method", [
    (TOKEN, TokenAuth),
    (AKSK, AkSkAuth),
    (dict(AKSK, security_token="st-SECRET"), AkSkAuth),
    (PASSWORD, PasswordAuth),
    (dict(PASSWORD, iam_endpoint=None, region="cn-north-4"), PasswordAuth),
    # iam_domain alone (say from ANSIBLE_HWC_DOMAIN) does not select a method
    (dict(TOKEN, iam_domain="d"), TokenAuth),
])
def test_selects_one_method(params, method):
    assert selected_method(params) is method


@pytest.mark.parametrize("params, message", [
    ({}, "no authentication"),
    (dict(TOKEN, **AKSK), "conflicting authentication: access_key, auth_token, secret_key select token and AK/SK"),
    (dict(TOKEN, **PASSWORD), "conflicting authentication"),
    (dict(AKSK, **PASSWORD), "conflicting authentication"),
    (dict(access_key="AK1"), "AK/SK authentication needs secret_key"),
    (dict(secret_key="x"), "AK/SK authentication needs access_key"),
    (dict(security_token="x"), "needs access_key, secret_key"),
    (dict(iam_user="u", iam_password="p"), "IAM password authentication needs iam_domain, iam_endpoint"),
    (dict(iam_password="p", iam_domain="d", iam_endpoint="https://i"), "needs iam_user"),
    (dict(PASSWORD, iam_endpoint="iam.example.com"), "iam_endpoint 'iam.example.com' must be an http"),
    (dict(PASSWORD, iam_endpoint="https://[::1"), "iam_endpoint 'https://\\[::1' is not a valid URL"),
    (dict(auth_token="tok-SECRET\n"), "auth_token holds whitespace, control or non-ASCII characters"),
    (dict(auth_token=" tok-SECRET"), "auth_token holds whitespace"),
    (dict(auth_token=u"tok-SECRET\u00e9"), "auth_token holds"),
    (dict(AKSK, security_token="st-SECRET\r\n"), "security_token holds"),
    (dict(AKSK, access_key="AK1 "), "access_key holds"),
])
def test_refuses_missing_or_ambiguous(params, message):
    with pytest.raises(ValidationError, match=message) as err:
        selected_method(params)
    assert "SECRET" not in str(err.value)


def test_token_header():
    headers = auth_of(TOKEN, None).apply("PUT", "https://h/x", {}, None, "p")
    assert headers == {"X-Auth-Token": "tok-SECRET"}


def test_aksk_signs_project_and_security_token():
    auth = auth_of(dict(AKSK, security_token="st"), None)
    headers = auth.apply("PUT", "https://h.example/v1/p/x", {}, None, "proj1")
    assert headers["X-Project-Id"] == "proj1" and headers["X-Security-Token"] == "st"
    access, signed, sig = _signer.parse_authorization(headers["Authorization"])
    assert access == "AK1"
    assert signed == ["host", "x-project-id", "x-sdk-date", "x-security-token"]
    creq = _signer.canonical_request("PUT", "/v1/p/x", [], headers, signed, b"")
    assert sig == _signer.signature(_signer.string_to_sign(creq, headers["X-Sdk-Date"]), "sk-SECRET")


class FakeTransport(object):
    def __init__(self, answers):
        self.answers = list(answers)
        self.sent = []

    def send(self, method, url, what, body=None, **kwargs):
        self.sent.append((method, url, json.loads(body)))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class TokenAnswer(object):
    status = 201
    request_id = None
    attempts = 1

    def __init__(self, token, body=b""):
        self.headers = {"X-Subject-Token": token} if token else {}
        self.body = body


def test_password_gets_one_scoped_token_per_project():
    transport = FakeTransport([TokenAnswer("t-p1"), TokenAnswer("t-p2")])
    auth = auth_of(PASSWORD, transport)
    assert auth.apply("GET", "u", {}, None, "p1")["X-Auth-Token"] == "t-p1"
    assert auth.apply("GET", "u", {}, None, "p1")["X-Auth-Token"] == "t-p1"
    assert auth.apply("GET", "u", {}, None, "p2")["X-Auth-Token"] == "t-p2"
    assert len(transport.sent) == 2
    method, url, body = transport.sent[0]
    assert (method, url) == ("POST", "https://iam.example/v3/auth/tokens")
    assert body["auth"]["scope"] == {"project": {"id": "p1"}}
    assert body["auth"]["identity"]["password"]["user"] == {"name": "u", "password": "pw-SECRET", "domain": {"name": "d"}}


def test_password_failure_is_an_auth_error_without_the_password():
    transport = FakeTransport([ApiError("IAM token for user u: authentication failed (HTTP 401)", status=401,
                                        attempts=1)])
    with pytest.raises(AuthError) as err:
        auth_of(PASSWORD, transport).apply("GET", "u", {}, None, "p1")
    assert err.value.status == 401 and "pw-SECRET" not in err.value.msg


def test_password_answer_without_token():
    with pytest.raises(AuthError, match="without an X-Subject-Token"):
        auth_of(PASSWORD, FakeTransport([TokenAnswer(None)])).apply("GET", "u", {}, None, "p1")


@pytest.mark.parametrize("body, expires_at", [
    (b'{"token": {"expires_at": "2026-11-30T05:30:00.000000Z", "methods": ["password"]}}',
     "2026-11-30T05:30:00.000000Z"),
    (b"", None),
    (b"not json", None),
    (b'{"token": {"expires_at": 5}}', None),
    (b'["token"]', None),
])
def test_password_issue_returns_the_token_with_its_expiry(body, expires_at):
    transport = FakeTransport([TokenAnswer("t-p1", body)])
    issued = auth_of(PASSWORD, transport).issue("p1")
    assert issued == {"token": "t-p1", "expires_at": expires_at, "project_id": "p1"}
    assert len(transport.sent) == 1
