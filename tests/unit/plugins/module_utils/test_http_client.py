# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import types
import warnings

import pytest
import requests
import urllib3

from ansible_collections.apigw.router.plugins.module_utils.apig import _http_client
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError, ValidationError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import (
    ApigClient, HttpTransport, base_url, parse_error_body)
from ansible_collections.apigw.router.plugins.module_utils.common._retry import RetryPolicy


@pytest.mark.parametrize("body, headers, expected", [
    (b'{"error_code":"APIG.3030","error_msg":"The instance does not exist","request_id":"r1"}', {},
     ("APIG.3030", "The instance does not exist", "r1")),
    (b'{"error_code":"APIG.1002","error_msg":"Incorrect token"}', {"X-Request-Id": "hdr"},
     ("APIG.1002", "Incorrect token", "hdr")),
    (b'{"error":{"code":"APIG.0308","message":"throttled"}}', {}, ("APIG.0308", "throttled", None)),
    (b'{"error":{"code":401,"message":"The username or password is wrong.","title":"Unauthorized"}}', {},
     ("401", "The username or password is wrong.", None)),
    (b"Bad Gateway", {"X-Request-Id": "x"}, (None, "Bad Gateway", "x")),
    (b"", {}, (None, None, None)),
    (b"[1, 2]", {}, (None, "[1, 2]", None)),
    (u'{"error_code":"APIG.2012","error_msg":"参数无效"}'.encode("utf-8"), {}, ("APIG.2012", u"参数无效", None)),
    (b"\xff\xfe not utf-8", {}, (None, u"\ufffd\ufffd not utf-8", None)),
])
def test_parse_error_body(body, headers, expected):
    assert parse_error_body(body, headers) == expected


@pytest.mark.parametrize("endpoint, region, expected", [
    ("https://apig.example.com/", None, "https://apig.example.com"),
    ("http://127.0.0.1:8080", "cn-north-4", "http://127.0.0.1:8080"),
    (None, "cn-north-4", "https://apig.cn-north-4.myhuaweicloud.com"),
])
def test_base_url(endpoint, region, expected):
    assert base_url(endpoint, region) == expected


@pytest.mark.parametrize("endpoint, region, message", [
    (None, None, "endpoint or region is required"),
    ("ftp://x", None, "must be an http:// or https:// URL"),
    ("apig.example.com", None, "must be an http:// or https:// URL"),
    ("https://apig.example.com/?a=1", None, "must not carry a query"),
    ("https://user:pw@apig.example.com", None, "must not carry"),
    ("https://apig.example.com:99999", None, "is not a valid URL"),
    ("http://[::1/", None, "is not a valid URL"),
    ("http://[zz]:80", None, "is not a valid URL"),
    (None, "cn/north", "not a valid region"),
    (None, "../x", "not a valid region"),
])
def test_base_url_refuses(endpoint, region, message):
    with pytest.raises(ValidationError, match=message) as err:
        base_url(endpoint, region)
    assert "pw" not in str(err.value)


class FakeAnswer(object):
    def __init__(self, status, body=b"", headers=None):
        self.status = status
        self.body = body
        self.headers = urllib3.HTTPHeaderDict(headers or {})


class FakeExchange(object):
    """Plays a script of answers (or exceptions) in place of the network and records what was sent."""

    def __init__(self, script):
        self.script = list(script)
        self.sent = []

    def __call__(self, method, url, body, headers):
        self.sent.append((method, url, dict(headers=headers, data=body)))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return step.status, step.headers, step.body


def transport(script, retries=3):
    slept = []
    t = HttpTransport(retry_policy=RetryPolicy(retries, 1.0, sleep=slept.append, rand=lambda: 1.0))
    t.exchange = FakeExchange(script)
    return t, slept


def test_success_first_time():
    t, slept = transport([FakeAnswer(200, headers={"X-Request-Id": "rq"})])
    answer = t.send("PUT", "http://h/x", "refresh")
    assert (answer.status, answer.attempts, answer.request_id, slept) == (200, 1, "rq", [])


def test_retries_then_succeeds_with_backoff_and_retry_after():
    t, slept = transport([
        FakeAnswer(500, b'{"error_code":"APIG.3500","error_msg":"failed to synchronize data to etcd"}'),
        FakeAnswer(429, b'{"error_code":"APIG.0308","error_msg":"throttled"}', {"Retry-After": "0.5"}),
        urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
        FakeAnswer(204),
    ])
    answer = t.send("PUT", "http://h/x", "refresh")
    assert answer.attempts == 4
    assert slept == [1.0, 0.5, 4.0]


@pytest.mark.parametrize("status, code, phrase", [
    (400, "APIG.2012", "bad request"),
    (401, "APIG.1002", "authentication failed"),
    (403, "APIG.1005", "forbidden: the credentials lack the op_svc_apig role"),
    (403, "APIG.1136", "forbidden (HTTP 403: APIG.1136"),
    (404, "APIG.3030", "the instance does not exist"),
])
def test_client_errors_fail_at_once(status, code, phrase):
    body = ('{"error_code":"%s","error_msg":"m","request_id":"rid"}' % code).encode()
    t, slept = transport([FakeAnswer(status, body)])
    with pytest.raises(ApiError) as err:
        t.send("PUT", "http://h/x", "refresh", not_found="the instance does not exist")
    exc = err.value
    assert (exc.status, exc.error_code, exc.error_msg, exc.request_id, exc.attempts) == (status, code, "m", "rid", 1)
    assert phrase in exc.msg
    assert slept == []


def test_gives_up_after_retries_with_last_status():
    t, slept = transport([FakeAnswer(503)] * 3, retries=2)
    with pytest.raises(ApiError) as err:
        t.send("PUT", "http://h/x", "refresh")
    assert (err.value.status, err.value.attempts) == (503, 3)
    assert "after 3 attempts" in err.value.msg
    assert len(slept) == 2


def test_no_answer_reports_minus_one():
    t, slept = transport([urllib3.exceptions.ReadTimeoutError(None, "/x", "slow")] * 2, retries=1)
    with pytest.raises(ApiError) as err:
        t.send("GET", "http://h/x", "state")
    assert (err.value.status, err.value.attempts) == (-1, 2)


@pytest.mark.parametrize("error", [
    ValueError("Invalid header value b'tok-SECRET\\n'"),
    UnicodeEncodeError("latin-1", u"tok-SECRET\u2028", 9, 10, "ordinal not in range"),
])
def test_unsendable_header_is_reported_without_its_value(error):
    t, slept = transport([error])
    with pytest.raises(ApiError, match="could not be built") as err:
        t.send("PUT", "http://h/x", "refresh")
    assert "SECRET" not in err.value.msg and err.value.attempts == 1 and slept == []


def test_tls_failure_is_not_retried():
    t, slept = transport([urllib3.exceptions.SSLError("certificate verify failed")])
    with pytest.raises(ApiError, match="ca_path") as err:
        t.send("GET", "https://h/x", "state")
    assert err.value.attempts == 1 and slept == []


def test_auth_is_applied_on_every_attempt():
    calls = []

    class CountingAuth(object):
        def apply(self, method, url, headers, body, project_id):
            calls.append(project_id)
            return dict(headers, Authorization="n%d" % len(calls))

    t, dummy = transport([FakeAnswer(502), FakeAnswer(200)])
    t.send("PUT", "http://h/x", "refresh", auth=CountingAuth(), project_id="p1")
    assert calls == ["p1", "p1"]
    assert [kw["headers"]["Authorization"] for dummy, dummy, kw in t.exchange.sent] == ["n1", "n2"]


def test_client_quotes_every_path_segment():
    t, dummy = transport([FakeAnswer(200)])
    ApigClient(t, "http://h:1/base", None).call("GET", ("v1", "p", "a/b", ".."), "x", "p", query={"b": 2, "a": 1})
    assert t.exchange.sent[0][1] == "http://h:1/base/v1/p/a%2Fb/..?a=1&b=2"


def test_validate_certs_and_ca_path():
    assert HttpTransport(validate_certs=True).verify is True
    assert HttpTransport(validate_certs=True, ca_path="/ca.pem").verify == "/ca.pem"
    assert HttpTransport(validate_certs=False, ca_path="/ca.pem").verify is False


# Environment settings are resolved by requests' own code once per origin (scheme, host, port).
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def clean_env(monkeypatch):
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_origin_without_proxy_is_direct(clean_env):
    origin = HttpTransport().origin("http://api.example:8080/v1/p?x=1")
    assert origin.pool.proxy is None and (origin.pool.host, origin.pool.port) == ("api.example", 8080)
    assert origin.target("http://api.example:8080/v1/p?x=1") == "/v1/p?x=1"


def test_plain_http_goes_to_the_forwarding_proxy_with_the_absolute_url(clean_env):
    clean_env.setenv("HTTP_PROXY", "http://proxy.example:3128")
    origin = HttpTransport().origin("http://api.example/v1")
    assert (origin.pool.host, origin.pool.port) == ("proxy.example", 3128)
    assert origin.target("http://api.example/v1/x") == "http://api.example/v1/x"


def test_https_tunnels_through_the_https_proxy(clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    origin = HttpTransport().origin("https://api.example/v1")
    assert origin.pool.proxy.host == "proxy.example" and origin.pool.host == "api.example"
    assert origin.target("https://api.example/v1/x") == "/v1/x"


def test_no_proxy_bypasses_the_proxy(clean_env):
    clean_env.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    clean_env.setenv("NO_PROXY", "iam.example,.internal")
    t = HttpTransport()
    assert t.origin("https://iam.example/v3").pool.proxy is None
    assert t.origin("https://apig.region.internal/v1").pool.proxy is None
    assert t.origin("https://api.example/v1").pool.proxy is not None


def test_the_environment_is_read_once_per_origin(clean_env):
    t = HttpTransport()
    first = t.origin("http://api.example/v1/a")
    clean_env.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert t.origin("http://api.example/v2/b?q=1") is first
    assert t.origin("http://other.example/v1").pool.host == "proxy.example"


def test_ca_bundle_from_the_environment_unless_ca_path_or_no_verification(clean_env, tmp_path):
    env_ca, own_ca = tmp_path / "env.pem", tmp_path / "own.pem"
    env_ca.write_text("x")
    own_ca.write_text("x")
    clean_env.setenv("REQUESTS_CA_BUNDLE", str(env_ca))
    assert HttpTransport().origin("https://h/").pool.ca_certs == str(env_ca)
    assert HttpTransport(ca_path=str(own_ca)).origin("https://h/").pool.ca_certs == str(own_ca)
    assert HttpTransport(validate_certs=False).origin("https://h/").pool.cert_reqs == "CERT_NONE"


def test_a_missing_ca_bundle_is_named(clean_env, tmp_path):
    with pytest.raises(ApiError, match="CA bundle .*missing.pem for h does not exist"):
        HttpTransport(ca_path=str(tmp_path / "missing.pem")).origin("https://h/x")


# requests before 2.32.2 (the OS packages of RHEL 9, Ubuntu 22.04 and 24.04, Debian 12) has no
# get_connection_with_tls_context: the transport asks the pool manager itself. requests' own
# 2.32.2+ method is the oracle: both must pick the same pool settings.

@pytest.fixture
def older_adapter(monkeypatch):
    """HTTPAdapter as requests < 2.32.2 has it: without get_connection_with_tls_context."""
    _http_client._import_requests()

    class OlderAdapter(_http_client.HTTPAdapter):
        @property
        def get_connection_with_tls_context(self):
            raise AttributeError("requests < 2.32.2")

    monkeypatch.setattr(_http_client, "HTTPAdapter", OlderAdapter)
    return OlderAdapter


def _settings(pool):
    proxy = pool.proxy and (pool.proxy.scheme, pool.proxy.host, pool.proxy.port)
    return (type(pool).__name__, pool.scheme, pool.host, pool.port, proxy,
            getattr(pool, "cert_reqs", None), getattr(pool, "ca_certs", None), getattr(pool, "ca_cert_dir", None))


@pytest.mark.parametrize("url, environment, validate_certs, ca", [
    ("http://api.example:8080/v1", {}, True, None),
    ("https://api.example/v1", {}, True, None),
    ("https://api.example/v1", {}, False, None),
    ("https://api.example:8443/v1", {}, True, "file"),
    ("https://api.example/v1", {}, True, "dir"),
    ("https://api.example/v1", {"REQUESTS_CA_BUNDLE": "file"}, True, None),
    ("http://api.example/v1", {"HTTP_PROXY": "http://proxy.example:3128"}, True, None),
    ("https://api.example/v1", {"HTTPS_PROXY": "proxy.example:3128"}, False, None),
    ("https://api.example/v1", {"HTTPS_PROXY": "http://proxy.example:3128", "NO_PROXY": "api.example"}, True, None),
])
def test_older_requests_get_the_pool_that_requests_2_32_2_picks(clean_env, tmp_path, older_adapter, url,
                                                                environment, validate_certs, ca):
    paths = {"file": str(tmp_path / "ca.pem"), "dir": str(tmp_path)}
    (tmp_path / "ca.pem").write_text("x")
    for name, value in environment.items():
        clean_env.setenv(name, paths.get(value, value))
    older = HttpTransport(validate_certs=validate_certs, ca_path=paths.get(ca)).origin(url).pool
    clean_env.setattr(_http_client, "HTTPAdapter", older_adapter.__mro__[1])
    newer = HttpTransport(validate_certs=validate_certs, ca_path=paths.get(ca)).origin(url).pool
    assert _settings(older) == _settings(newer)


def test_older_requests_never_share_a_pool_between_tls_settings(clean_env, older_adapter):
    # CVE-2024-35195: requests < 2.32.2 keyed its pools by scheme, host and port only, so a pool
    # that first connected unverified served later verified requests with those connections.
    adapter = older_adapter()
    probe = requests.PreparedRequest()
    probe.prepare(method="GET", url="https://api.example/")
    unverified = _http_client._connection_pool(adapter, probe, False, {})
    verified = _http_client._connection_pool(adapter, probe, True, {})
    assert unverified is not verified
    assert (unverified.cert_reqs, verified.cert_reqs) == ("CERT_NONE", "CERT_REQUIRED")
    assert _http_client._connection_pool(adapter, probe, True, {}) is verified


def test_older_requests_refuse_a_proxy_without_a_host(clean_env, older_adapter):
    clean_env.setenv("HTTPS_PROXY", "http://:3128")
    with pytest.raises(requests.exceptions.InvalidProxyURL):
        HttpTransport().origin("https://api.example/v1")


@pytest.mark.parametrize("host, proxy, warned_host, quiet", [
    ("apig.example", None, "apig.example", True),
    ("apig.example", None, "APIG.example", True),
    ("apig.example", None, "other.example", False),
    ("apig.example", None, "apig.example.evil", False),
    ("apig.example", "proxy.example", "proxy.example", True),
    ("::1", None, "::1", True),
    ("::1", None, "[::1]", True),
])
def test_unverified_warnings_are_quieted_for_our_hosts_only(host, proxy, warned_host, quiet):
    pool = types.SimpleNamespace(host=host, proxy=proxy and urllib3.util.parse_url("http://%s:3128" % proxy))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        _http_client._quiet_unverified(pool)
        # urllib3's own text (1.26 and 2.x)
        warnings.warn("Unverified HTTPS request is being made to host '%s'. Adding certificate verification "
                      "is strongly advised." % warned_host, urllib3.exceptions.InsecureRequestWarning)
        warnings.warn("Unverified HTTPS request is being made to host '%s'." % warned_host, UserWarning)
    assert [w.category for w in seen] == ([] if quiet else [urllib3.exceptions.InsecureRequestWarning]) + [UserWarning]
