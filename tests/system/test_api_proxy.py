# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Proxies and CA bundles from the environment, through a real proxy on 127.0.0.1.

The HTTP client resolves what requests reads from the environment (HTTP_PROXY, HTTPS_PROXY,
NO_PROXY, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) once per origin instead of once per request;
these tests check that the requests still go where requests would send them. The proxy
below forwards plain HTTP (absolute request line) and tunnels CONNECT, and counts both;
the simulator's request log (or the TLS server's count) is the second, independent witness.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import http.client
import select
import socket
import ssl
import threading
import warnings
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import urllib3

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import HttpTransport
from ansible_collections.apigw.router.plugins.module_utils.common._retry import RetryPolicy
from apigw_support.etcd import make_certs
from apigw_support.simulator import Simulator

PROJECT = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
TOKEN = "MIItest-proxy-token-31f7c2"
INSTANCES = ["px-%02d" % i for i in range(12)]
CONFIG = {
    "projects": [{"id": PROJECT, "name": "cn-test-1", "instances": [
        {"id": i, "generate": {"count": 1, "seed": n}} for n, i in enumerate(INSTANCES)]}],
    "credentials": {"tokens": [{"name": "proxy-token", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}
# The machine's own settings must not leak into these runs.
CLEAN_ENV = dict((name, None) for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
                 for name in (base, base.lower()))


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_CONNECT(self):
        self.server.record("CONNECT", self.path)
        host, _sep, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _w, _x = select.select(sockets, [], [], 10)
                if not readable:
                    return
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)
        finally:
            upstream.close()

    def _forward(self):
        self.server.record(self.command, self.path)
        target = urlsplit(self.path)
        if not target.scheme:  # a proxy only takes absolute URLs (or CONNECT)
            self.send_error(400)
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = dict((k, v) for k, v in self.headers.items() if k.lower() not in ("proxy-connection", "connection"))
        upstream = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
        try:
            path = target.path + ("?" + target.query if target.query else "")
            upstream.request(self.command, path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        finally:
            upstream.close()
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("connection", "transfer-encoding", "content-length", "keep-alive"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_PUT = do_POST = _forward


class CountingProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", 0), _ProxyHandler)
        self.seen = []
        self._lock = threading.Lock()
        self.url = "http://127.0.0.1:%d" % self.server_address[1]

    def record(self, method, target):
        with self._lock:
            self.seen.append((method, target))


@pytest.fixture
def proxy():
    server = CountingProxy()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim")) as simulator:
        yield simulator


def _fleet_play(sim):
    return [{"name": "fleet", "hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "refresh", "apigw.router.apigw_router_refresh": {
            "instances": [{"instance_id": i} for i in INSTANCES], "concurrency": 4, "retries": 0,
            "endpoint": sim.url, "project_id": PROJECT, "auth_token": TOKEN}}]}]


def _refreshed(sim):
    return sorted(e["instance_id"] for e in sim.requests() if e["method"] == "PUT" and e["status"] == 200)


def test_fleet_goes_through_the_http_proxy_of_the_environment(ansible, sim, proxy):
    sim.reset()
    run = ansible.run(_fleet_play(sim), env=dict(CLEAN_ENV, HTTP_PROXY=proxy.url)).assert_success()
    assert run.task("refresh")["summary"]["changed"] == len(INSTANCES)
    # Every request went through the proxy, with the absolute URL a forwarding proxy needs...
    assert sorted(proxy.seen) == sorted(
        ("PUT", "%s/v1/%s/apigw/instances/%s/op-operations/router/apis" % (sim.url, PROJECT, i)) for i in INSTANCES)
    # ...and reached the simulator exactly once each.
    assert _refreshed(sim) == INSTANCES


def test_no_proxy_bypasses_the_proxy(ansible, sim, proxy):
    sim.reset()
    ansible.run(_fleet_play(sim), env=dict(CLEAN_ENV, HTTP_PROXY=proxy.url, NO_PROXY="127.0.0.1")).assert_success()
    assert proxy.seen == []
    assert _refreshed(sim) == INSTANCES


def test_a_dead_proxy_is_a_clear_failure_not_a_bypass(ansible, sim):
    sim.reset()
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d" % sock.getsockname()[1]
    run = ansible.run(_fleet_play(sim), env=dict(CLEAN_ENV, HTTP_PROXY=dead)).assert_failure()
    assert run.task("refresh")["summary"]["failed"] == len(INSTANCES)
    assert sim.requests() == []


# ---------------------------------------------------------------------------- HTTPS: CONNECT

class _TlsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_PUT(self):
        self.server.count += 1
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """A tiny HTTPS server (127.0.0.1, certificate from a test CA) that counts PUTs."""
    certs = make_certs(str(tmp_path_factory.mktemp("certs")))
    server = HTTPServer(("127.0.0.1", 0), _TlsHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certs["server_cert"], certs["server_key"])
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.count = 0
    server.url = "https://127.0.0.1:%d" % server.server_address[1]
    server.ca = certs["ca"]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _put_many(url, count, **kwargs):
    transport = HttpTransport(retry_policy=RetryPolicy(0), timeout=10, **kwargs)
    for n in range(count):
        transport.send("PUT", "%s/v1/x/%d" % (url, n), "test PUT")


@pytest.fixture
def env(monkeypatch):
    for name in CLEAN_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_https_tunnels_through_the_https_proxy_once_per_connection(tls_server, proxy, env):
    env.setenv("HTTPS_PROXY", proxy.url)
    before = tls_server.count
    _put_many(tls_server.url, 5, ca_path=tls_server.ca)
    assert tls_server.count - before == 5
    # One CONNECT: the tunnel is a kept-alive connection that carries all five requests.
    assert proxy.seen == [("CONNECT", tls_server.url[len("https://"):])]


def test_https_no_proxy_goes_direct(tls_server, proxy, env):
    env.setenv("HTTPS_PROXY", proxy.url)
    env.setenv("NO_PROXY", "localhost,127.0.0.1")
    before = tls_server.count
    _put_many(tls_server.url, 3, ca_path=tls_server.ca)
    assert tls_server.count - before == 3 and proxy.seen == []


def test_requests_ca_bundle_applies_without_ca_path(tls_server, env):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.delenv(name, raising=False)
    with pytest.raises(ApiError, match="TLS verification failed"):
        _put_many(tls_server.url, 1)
    env.setenv("CURL_CA_BUNDLE", tls_server.ca)
    _put_many(tls_server.url, 1)
    env.delenv("CURL_CA_BUNDLE")
    env.setenv("REQUESTS_CA_BUNDLE", tls_server.ca)
    _put_many(tls_server.url, 1)
    # validate_certs=false wins over the environment, as in requests.
    env.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    _put_many(tls_server.url, 1, validate_certs=False)


def test_validate_certs_false_quiets_only_our_own_requests(tls_server, env):
    # urllib3 warns about every unverified HTTPS request. validate_certs=false quiets that for
    # the endpoint the user named, not for the process: in the inventory plugin, the process is
    # the controller, and any other code's unverified requests must still be reported.
    # (The filter names the host; urllib3's warning names nothing else: another pool that talks
    # to the same host name unverified is quiet too, hence "localhost" below.)
    port = tls_server.server_address[1]
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        before = tls_server.count
        _put_many(tls_server.url, 3, validate_certs=False)
        assert tls_server.count - before == 3
        assert [w for w in seen if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)] == []
        other = urllib3.PoolManager(cert_reqs="CERT_NONE")
        assert other.request("PUT", "https://localhost:%d/v1/other" % port, retries=False).status == 200
        other.clear()
    insecure = [str(w.message) for w in seen if issubclass(w.category, urllib3.exceptions.InsecureRequestWarning)]
    assert len(insecure) == 1 and "'localhost'" in insecure[0]
