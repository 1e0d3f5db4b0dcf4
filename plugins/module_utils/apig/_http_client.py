# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The one HTTP client: TLS, timeouts, auth, retries and error parsing live here.

Nobody else builds management API URLs, sleeps between attempts or reads error bodies.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import functools
import json
import os
import re
import threading
import traceback
import warnings

from urllib.parse import quote, urlencode, urlsplit

from ansible_collections.apigw.router.plugins.module_utils.apig._endpoints import apig_endpoint
from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    ApiError, MissingLibraryError, ValidationError)
from ansible_collections.apigw.router.plugins.module_utils.common._retry import NO_ANSWER, RetryPolicy, parse_retry_after
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import has_userinfo, redact_url

# requests and urllib3 are imported by the first HttpTransport, not with this module: their
# import is a noticeable part of a short run, which an etcd-mode run from a file (no HTTP at
# all) and every module process that only validates its options would otherwise pay.
requests = urllib3 = HTTPAdapter = Timeout = None


def _import_requests():
    """Binds requests, urllib3, HTTPAdapter and Timeout here; MissingLibraryError without them."""
    global requests, urllib3, HTTPAdapter, Timeout  # pylint: disable=global-statement
    if requests is not None:
        return
    try:
        import requests as requests_module
        import urllib3 as urllib3_module
        from requests.adapters import HTTPAdapter as adapter_class
        from urllib3.util import Timeout as timeout_class
    except ImportError:
        raise MissingLibraryError("requests", traceback.format_exc())
    urllib3, HTTPAdapter, Timeout = urllib3_module, adapter_class, timeout_class
    requests = requests_module  # last: it marks the others as bound


USER_AGENT = "apigw.router/0.2.0"

# What a failed status means, for the message; 403 is refined by its error code below.
STATUS_PHRASES = {
    400: "bad request",
    401: "authentication failed",
    403: "forbidden",
    404: "not found",
    429: "throttled",
    500: "server error",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}
NO_ROLE_CODES = ("APIG.1005",)


def check_http_url(option, url):
    """``url`` if it is an http(s) URL with a host and nothing that does not belong in a base URL.

    Credentials in the URL (``user:password@``) are refused, and every message shows the
    URL with its userinfo redacted, since it holds a password that is not a no_log option.
    """
    shown = redact_url(url)
    if has_userinfo(url):
        raise ValidationError("%s %r must not carry credentials (user:password@): remove them from the URL and use "
                              "the authentication options (auth_token, access_key/secret_key or "
                              "iam_user/iam_password/iam_domain)" % (option, shown))
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
        parts.port  # raises ValueError on a bad port
    except ValueError:  # a bad port, or an unclosed or invalid IPv6 literal
        raise ValidationError("%s %r is not a valid URL (check the host and the port)" % (option, shown))
    if parts.scheme not in ("http", "https") or not hostname:
        raise ValidationError("%s %r must be an http:// or https:// URL with a host" % (option, shown))
    if parts.query or parts.fragment:
        raise ValidationError("%s %r must not carry a query or a fragment"
                              % (option, parts._replace(netloc=hostname).geturl()))
    return url.rstrip("/")


def base_url(endpoint=None, region=None, cloud=None):
    """The management API's base URL from ``endpoint`` or ``region`` (and ``cloud``), validated."""
    if endpoint:
        return check_http_url("endpoint", endpoint)
    if region:
        return apig_endpoint(region, cloud)
    raise ValidationError("endpoint or region is required to reach the APIG management API "
                          "(or set HUAWEICLOUD_APIG_ENDPOINT / HUAWEICLOUD_SDK_REGION)")


def parse_error_body(body, headers=None):
    """(error_code, error_msg, request_id) from any of the gateway's error shapes.

    Shapes seen: ``{"error_code", "error_msg", "request_id"}`` (APIG), ``{"error": {"code",
    "message"}}`` (IAM and some proxies) and plain text. The request id may also come only
    in the X-Request-Id header.
    """
    headers = headers or {}
    request_id = headers.get("X-Request-Id") or headers.get("x-request-id")
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    body = (body or "").strip()
    code = msg = None
    try:
        data = json.loads(body) if body else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        if "error_code" in data or "error_msg" in data:
            code, msg = data.get("error_code"), data.get("error_msg")
        elif isinstance(data.get("error"), dict):
            code, msg = data["error"].get("code"), data["error"].get("message")
        request_id = data.get("request_id") or request_id
    elif body:
        msg = body[:500]
    return (None if code is None else str(code)), (None if msg is None else str(msg)), request_id


class Response(object):
    """A successful answer."""

    def __init__(self, status, headers, body, attempts):
        self.status = status
        self.headers = headers
        self.body = body
        self.attempts = attempts
        self.request_id = headers.get("X-Request-Id")

    def json(self, what):
        try:
            return json.loads(self.body.decode("utf-8")) if self.body else None
        except ValueError:
            raise ApiError("%s: the answer is not valid JSON" % what, status=self.status,
                           request_id=self.request_id, attempts=self.attempts)


class _Origin(object):
    """How to reach one scheme://host:port: the urllib3 pool requests would pick for it
    (direct, or through the proxy the environment names), and whether the request line
    carries the absolute URL (plain HTTP through a forwarding proxy)."""

    def __init__(self, prefix, pool, absolute):
        self.prefix = prefix
        self.pool = pool
        self.absolute = absolute

    def target(self, url):
        if self.absolute:
            return url
        return url[len(self.prefix):] or "/"


def _connection_pool(adapter, request, verify, proxies):
    """The urllib3 pool that requests' ``adapter`` would send ``request`` through, keyed by the
    TLS settings (``verify``) as well as by scheme, host, port and proxy."""
    with_tls_context = getattr(adapter, "get_connection_with_tls_context", None)
    if with_tls_context is not None:  # requests 2.32.2 and newer
        return with_tls_context(request, verify, proxies=proxies)
    # Older requests (2.25 on RHEL 9 and Ubuntu 22.04, 2.28 on Debian 12, 2.31 on Ubuntu 24.04)
    # only has get_connection(), whose pools are keyed by scheme, host and port alone, the TLS
    # settings being set on the pool afterwards: a pool that first connected without
    # verification kept its unverified connections for later verified requests
    # (CVE-2024-35195). The same public calls that 2.32.2 makes instead: the pool manager,
    # asked for a pool whose key includes the TLS settings.
    parts = urlsplit(request.url)
    pool_kwargs = {"cert_reqs": "CERT_NONE" if verify is False else "CERT_REQUIRED"}
    if isinstance(verify, str):
        pool_kwargs["ca_cert_dir" if os.path.isdir(verify) else "ca_certs"] = verify
    proxy = requests.utils.select_proxy(request.url, proxies)
    if proxy:
        # (Not prepend_scheme_if_needed(): before requests 2.27 it read "host:port" as a scheme.)
        proxy = proxy if "://" in proxy else "http://" + proxy
        if not urllib3.util.parse_url(proxy).host:
            raise requests.exceptions.InvalidProxyURL("Please check proxy URL. It is malformed and could be "
                                                      "missing the host.")
        manager = adapter.proxy_manager_for(proxy)
    else:
        manager = adapter.poolmanager
    return manager.connection_from_host(parts.hostname, port=parts.port, scheme=parts.scheme.lower(),
                                        pool_kwargs=pool_kwargs)


def _quiet_unverified(pool):
    """No InsecureRequestWarning for the host that ``pool`` connects to, and only for it.

    validate_certs=false is the user's explicit choice, and urllib3 warns on every request.
    urllib3.disable_warnings() would silence every pool of the process (in the inventory
    plugin: the controller's). warnings.catch_warnings() around our requests only would swap
    the process-wide filters while the fleet's threads (and others) run: two overlapping blocks
    restore each other's state, which can leave a filter in place for good. So one filter, for
    the host named in urllib3's warning: the endpoint's, or for a tunnel the proxy's.
    """
    hosts = set([pool.host] + ([pool.proxy.host] if getattr(pool, "proxy", None) else []))
    for host in sorted(h for h in hosts if h):
        warnings.filterwarnings(
            "ignore", category=urllib3.exceptions.InsecureRequestWarning,
            message=r"Unverified HTTPS request is being made to host '\[?%s\.?\]?'"
            % re.escape(host.strip("[]").rstrip(".")))


class HttpTransport(object):
    """Pooled keep-alive connections with TLS settings, timeout and retry policy.

    Thread-safe for concurrent requests: the fleet form shares one transport.

    What requests reads from the environment (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY,
    REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) is resolved by requests' own code, once per origin
    (scheme, host and port: all that decides a proxy or its bypass), into the connection pool
    requests' adapter would use. Each request then goes straight to that pool. Going through
    ``Session.request`` instead re-reads and re-parses the whole environment, ~/.netrc and the
    cookie jar for every request, which cost more CPU than the fleet form's requests wait for.
    """

    def __init__(self, validate_certs=True, ca_path=None, timeout=30.0, retry_policy=None, pool_size=16):
        _import_requests()
        self.verify = (ca_path or True) if validate_certs else False
        self.timeout = timeout
        self.retry_policy = retry_policy or RetryPolicy()
        # The session only reads the environment (trust_env), in origin(); it sends nothing.
        self.session = requests.Session()
        self.adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(10, pool_size))
        self.default_headers = dict(requests.utils.default_headers())
        self.default_headers["User-Agent"] = USER_AGENT
        self._urllib3_timeout = Timeout(connect=timeout, read=timeout)
        self._origins = {}
        self._origins_lock = threading.Lock()

    def origin(self, url):
        """The _Origin of ``url``, resolved from the environment on first use."""
        scheme, _sep, rest = url.partition("://")
        prefix = scheme + "://" + rest.split("/", 1)[0].split("?", 1)[0]
        found = self._origins.get(prefix)
        if found is None:
            with self._origins_lock:
                found = self._origins.get(prefix)
                if found is None:
                    found = self._origins[prefix] = self._resolve(prefix)
        return found

    def _resolve(self, prefix):
        probe = requests.PreparedRequest()
        probe.prepare(method="GET", url=prefix + "/")
        settings = self.session.merge_environment_settings(probe.url, {}, False, self.verify, None)
        proxies, verify = settings["proxies"], settings["verify"]
        pool = _connection_pool(self.adapter, probe, verify, proxies)
        try:
            self.adapter.cert_verify(pool, probe.url, verify, None)
        except OSError:
            raise ApiError("the CA bundle %s for %s does not exist (ca_path, or REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE "
                           "in the environment)" % (verify, urlsplit(prefix).netloc), status=NO_ANSWER)
        absolute = self.adapter.request_url(probe, proxies) != probe.path_url
        if verify is False and prefix.startswith("https://"):
            _quiet_unverified(pool)
        return _Origin(prefix, pool, absolute)

    def exchange(self, method, url, body, headers):
        """One HTTP request, no retry: (status, headers, body bytes); raises urllib3's or
        http.client's exceptions."""
        origin = self.origin(url)
        request_headers = dict(self.default_headers)
        request_headers.update(headers)
        if body is not None or method not in ("GET", "HEAD"):
            # As requests does: an explicit length, 0 for a PUT without a body.
            request_headers["Content-Length"] = str(len(body) if body else 0)
        answer = origin.pool.request(method, origin.target(url), body=body, headers=request_headers,
                                     redirect=False, assert_same_host=False, retries=False,
                                     timeout=self._urllib3_timeout, preload_content=True, decode_content=True)
        return answer.status, answer.headers, answer.data

    def send(self, method, url, what, body=None, headers=None, auth=None, project_id=None,
             not_found="not found"):
        """Send with retries; return a Response for 2xx, else raise ApiError.

        ``auth`` is applied anew for every attempt so that signatures carry a fresh date.
        """
        policy = self.retry_policy
        attempt = 0
        while True:
            attempt += 1
            request_headers = dict(headers or {})
            if body is not None:
                request_headers.setdefault("Content-Type", "application/json")
            if auth is not None:
                request_headers = auth.apply(method, url, request_headers, body, project_id)
            retry_after = None
            try:
                status, answer_headers, content = self.exchange(method, url, body, request_headers)
            except urllib3.exceptions.SSLError as exc:
                # A certificate problem does not fix itself: no retry.
                raise ApiError("%s: TLS verification failed for %s (%s); give ca_path with the CA that signed "
                               "the endpoint's certificate, or set validate_certs=false"
                               % (what, urlsplit(url).netloc, _short(exc)), status=NO_ANSWER, attempts=attempt)
            except ValueError as exc:
                # Before urllib3's errors: its LocationValueError is a ValueError too, and a bad
                # URL does not get better by retrying. http.client refuses a header value with a
                # newline, and latin-1 cannot encode every character; the text of these exceptions
                # quotes the offending value, which may be a credential: name the kind only.
                raise ApiError("%s: the request could not be built (%s): a header value (a credential?) or the "
                               "URL holds characters HTTP does not allow" % (what, type(exc).__name__),
                               status=NO_ANSWER, attempts=attempt)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                status, error = NO_ANSWER, _short(exc)
                if not policy.should_retry(attempt - 1, status):
                    raise ApiError("%s: no answer from %s after %d attempt(s): %s"
                                   % (what, urlsplit(url).netloc, attempt, error),
                                   status=NO_ANSWER, attempts=attempt)
            else:
                if 200 <= status < 300:
                    return Response(status, answer_headers, content, attempt)
                code, message, request_id = parse_error_body(content, answer_headers)
                if not policy.should_retry(attempt - 1, status, code):
                    raise ApiError(_failure_message(what, status, code, message, request_id, attempt, not_found),
                                   status=status, error_code=code, error_msg=message,
                                   request_id=request_id, attempts=attempt)
                retry_after = parse_retry_after(answer_headers.get("Retry-After"))
            policy.wait(attempt, retry_after)


def _short(exc):
    """An exception's text, trimmed: requests nests long reprs of its internals."""
    text = str(exc) or type(exc).__name__
    return text if len(text) < 300 else text[:300] + "..."


def _failure_message(what, status, code, message, request_id, attempts, not_found):
    if status == 403 and (code in NO_ROLE_CODES or not message):
        phrase = "forbidden: the credentials lack the op_svc_apig role"
    elif status == 404:
        phrase = not_found
    else:
        phrase = STATUS_PHRASES.get(status, "unexpected answer")
    details = ", ".join(p for p in (code, message) if p)
    text = "%s: %s (HTTP %d%s" % (what, phrase, status, ": " + details if details else "")
    if request_id:
        text += ", request_id %s" % request_id
    if attempts > 1:
        text += ", after %d attempts" % attempts
    return text + ")"


class ApigClient(object):
    """The management API of one endpoint, with one authentication method."""

    def __init__(self, transport, endpoint, auth):
        self.transport = transport
        self.endpoint = endpoint
        self.auth = auth

    def call(self, method, path_segments, what, project_id, query=None, body=None, not_found="not found"):
        """``path_segments`` are joined with '/', each percent-encoded (ids are validated already,
        quoting is a second line of defence against traversal)."""
        path = "/" + "/".join(_quoted_segment(str(s)) for s in path_segments)
        url = self.endpoint + path
        if query:
            # quote (not quote_plus): the signer reads "+" as a literal plus, as the gateway does.
            url += "?" + urlencode(sorted(query.items()), quote_via=quote)
        data = None if body is None else json.dumps(body).encode("utf-8")
        return self.transport.send(method, url, what, body=data, auth=self.auth, project_id=project_id,
                                   not_found=not_found)


@functools.lru_cache(maxsize=4096)
def _quoted_segment(segment):
    # A fleet sends the same few segments (version, project, resource) thousands of times.
    return quote(segment, safe="")


class ClientPool(object):
    """ApigClients by endpoint, sharing one transport and one auth (fleet overrides)."""

    def __init__(self, transport, auth):
        self.transport = transport
        self.auth = auth
        self._clients = {}
        self._lock = threading.Lock()

    def get(self, endpoint):
        with self._lock:
            if endpoint not in self._clients:
                self._clients[endpoint] = ApigClient(self.transport, endpoint, self.auth)
            return self._clients[endpoint]
