# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The HTTP side: routing, the order of checks, faults, answers, the log, /_sim/.

Checks run in the gateway's order: route (404 APIGW.0101), credentials (401), project
(401 APIG.1003 / 403 APIG.1136), instance (404 APIG.3030), role on op-operations
(APIG.1005), then injected faults, then the real work. Every answer carries an
X-Request-Id header; every error body carries ``request_id``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import socket
import ssl
import struct
import sys
import threading
import time
import traceback
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote

from apig_sim import data, fleet, hooks
from apig_sim.auth import Authenticator
from apig_sim.config import REFRESH_RESOURCES, ConfigError, instance_apis
from apig_sim.errors import ApigError, IamError, code_for_status
from apig_sim.faults import IAM_TARGET, LISTING_KEYS, LISTING_RESOURCE, FaultBook, FaultError, normalise_plan
from apig_sim.state import Refreshes, RequestLog, Stats, utc_now_iso

MAX_BODY = 1024 * 1024      # no APIG request we serve has a body anywhere near this
JSON_TYPE = "application/json;charset=UTF-8"

_IAM_RE = re.compile(r"^/v3/auth/tokens\Z")
_ROUTER_RE = re.compile(r"^/v1/(?P<project>[^/]+)/apigw/instances/(?P<instance>[^/]+)"
                        r"/op-operations/router/(?P<resource>[^/]+)\Z")
_LIST_RE = re.compile(r"^/v2/(?P<project>[^/]+)/apigw/instances/(?P<instance>[^/]+)/apis\Z")
_PROJECTS_RE = re.compile(r"^/v3/projects\Z")
_INSTANCES_RE = re.compile(r"^/v2/(?P<project>[^/]+)/apigw/instances\Z")
_INSTANCE_RE = re.compile(r"^/v2/(?P<project>[^/]+)/apigw/instances/(?P<instance>[^/]+)\Z")


class Route:
    """What a request addresses: ``kind`` is iam, iam_projects, refresh, state, list_apis,
    list_instances or show_instance."""

    def __init__(self, kind, resource, project_id=None, instance_id=None):
        self.kind = kind
        self.resource = resource
        self.project_id = project_id
        self.instance_id = instance_id


def match_route(method, path):
    """The Route for a decoded path, or None; a known path with another method is None
    too (the front gateway matches method and path together)."""
    if _IAM_RE.match(path):
        return Route("iam", "tokens") if method == "POST" else None
    if _PROJECTS_RE.match(path):
        return Route("iam_projects", "projects") if method == "GET" else None
    found = _INSTANCES_RE.match(path)
    if found:
        return Route("list_instances", "list_instances", found.group("project")) if method == "GET" else None
    found = _INSTANCE_RE.match(path)
    if found:
        return Route("show_instance", "show_instance", found.group("project"), found.group("instance")) \
            if method == "GET" else None
    found = _ROUTER_RE.match(path)
    if found:
        resource = found.group("resource")
        if method == "PUT" and resource in REFRESH_RESOURCES:
            return Route("refresh", resource, found.group("project"), found.group("instance"))
        if method == "GET" and resource == "state":
            return Route("state", "state", found.group("project"), found.group("instance"))
        return None
    found = _LIST_RE.match(path)
    if found and method == "GET":
        return Route("list_apis", "list_apis", found.group("project"), found.group("instance"))
    return None


class _Aborted(Exception):
    """The connection was reset on purpose (a ``reset`` fault)."""


class SimServer(ThreadingHTTPServer):
    daemon_threads = True          # a stuck client never keeps the process alive
    allow_reuse_address = True
    request_queue_size = 512       # fleet tests open hundreds of connections at once

    def __init__(self, address, config, log_path=None, verbose=False):
        self.config = config
        self.verbose = verbose
        self.auth = Authenticator(config)
        self.faults = FaultBook(config.fault_plans())
        self.log = RequestLog(log_path)
        self.stats = Stats()
        self.refreshes = Refreshes()
        # The APIs as configured, for POST /_sim/reset {"apis": "config"}.
        self.config_apis = dict((i.id, list(i.apis)) for i in config.instances.values())
        self._serial = 0                 # numbers the APIs that then_add and then_append faults add
        self._serial_lock = threading.Lock()
        ThreadingHTTPServer.__init__(self, address, Handler)

    def next_serial(self, fault):
        """The first number of the APIs that ``fault`` adds (then_add, then_append), reserving them."""
        with self._serial_lock:
            first = self._serial
            self._serial += fault.get("then_add", 0) + fault.get("then_append", 0)
            return first

    def server_close(self):
        ThreadingHTTPServer.server_close(self)
        self.log.close()

    def handle_error(self, request, client_address):
        # Over HTTPS, a client that refuses our certificate ends the handshake: expected, not a bug.
        if isinstance(sys.exc_info()[1], ssl.SSLError):
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"   # keep-alive, as clients pool connections
    server_version = "apig-sim"
    timeout = 120                   # an idle keep-alive connection frees its thread

    # ---- plumbing -------------------------------------------------------------------

    def version_string(self):
        return self.server_version

    def parse_request(self):
        # A fresh id per request, before parsing, so even http.server's own error
        # answers (bad request line, unsupported method) carry one.
        self.request_id = uuid.uuid4().hex
        return BaseHTTPRequestHandler.parse_request(self)

    def send_response(self, code, message=None):
        BaseHTTPRequestHandler.send_response(self, code, message)
        self.send_header("X-Request-Id", getattr(self, "request_id", None) or uuid.uuid4().hex)

    def log_message(self, fmt, *args):
        # The request log is the record; stderr only in --verbose mode. The request
        # line holds no secret (tokens and signatures travel in headers).
        if self.server.verbose:
            sys.stderr.write("apig_sim: %s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_OPTIONS(self):
        self._dispatch()

    def _dispatch(self):
        self._sent = False
        self._record = None
        self._listing_fault = None
        raw_path, _sep, raw_query = self.path.partition("?")
        if raw_path == "/_sim" or raw_path.startswith("/_sim/"):
            self._admin(raw_path, raw_query)
        else:
            self._serve(raw_path, raw_query)

    def _header_dict(self):
        """Lower-cased name -> value as the client meant it.

        http.server decodes header bytes as Latin-1; the SDK sends UTF-8 text that way,
        so re-decode to get the text it signed.
        """
        out = {}
        for name, value in self.headers.items():
            try:
                value = value.encode("latin-1").decode("utf-8")
            except (UnicodeEncodeError, UnicodeDecodeError):
                pass
            out.setdefault(name.lower(), value)
        return out

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            raise ApigError("APIG.2012", "Invalid parameter value: chunked request bodies "
                            "are not supported by the simulator.")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            raise ApigError("APIG.2012", "Invalid parameter value: request body too large.")
        return self.rfile.read(length) if length else b""

    def _send(self, status, body=b"", content_type=JSON_TYPE, headers=None):
        self._commit(status)
        self._sent = True
        self.send_response(status)      # adds X-Request-Id
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _send_json(self, status, obj, headers=None):
        self._send(status, json.dumps(obj).encode("utf-8"), JSON_TYPE, headers)

    def _send_apig_error(self, error, outcome):
        outcome["error_code"] = error.code
        self._send_json(error.status, {"error_code": error.code, "error_msg": error.msg,
                                       "request_id": self.request_id}, error.headers)

    def _reset_connection(self):
        """Send part of a response, then reset the connection (RST, not FIN), so the
        client sees a connection error rather than a short but valid answer."""
        self.close_connection = True
        self._commit(0)                    # status 0: no answer
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 1024\r\nX-Requ")
        except OSError:
            pass
        sock = self.connection
        try:
            # Linger 0: close() sends RST at once. rfile holds a reference to the
            # socket, so close it first or the descriptor would stay open.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            sock.close()
        except OSError:
            pass

    # ---- APIG and IAM requests -------------------------------------------------------

    def _serve(self, raw_path, raw_query):
        route = match_route(self.command, unquote(raw_path))
        instance = None
        if route is not None and route.instance_id:
            instance = self.server.config.instances.get(route.instance_id)
        outcome = {"status": None, "error_code": None, "auth": "none", "principal": None,
                   "fault": None}
        stats_key = instance.id if instance is not None else None
        self._record = {"started": time.monotonic(), "time": utc_now_iso(), "route": route,
                        "path": raw_path, "query": raw_query, "outcome": outcome,
                        "stats_key": stats_key}
        self.server.stats.begin(stats_key)
        try:
            body = self._read_body()
            if route is None:
                raise ApigError("APIGW.0101")
            if route.kind == "iam":
                self._serve_iam(body, outcome)
            elif route.kind == "iam_projects":
                self._serve_iam_projects(raw_path, raw_query, body, outcome)
            elif route.kind == "list_instances":
                self._serve_list_instances(route, raw_path, raw_query, body, outcome)
            else:
                self._serve_apig(route, instance, raw_path, raw_query, body, outcome)
        except ApigError as error:
            self._send_apig_error(error, outcome)
        except IamError as error:
            self._send_json(error.status, error.body())
        except _Aborted:
            pass                           # recorded (status 0) before the reset
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            self._commit(499)              # the client went away (if not recorded yet)
        except Exception:                  # pylint: disable=broad-except
            traceback.print_exc(file=sys.stderr)
            if not self._sent:
                self._send_apig_error(ApigError("APIG.9999"), outcome)
            else:
                self.close_connection = True
        finally:
            self._commit(0)

    def _commit(self, status):
        """Count and log the request being served, once, just before its answer goes
        out: a client that has its answer then always finds it in /_sim/, and the
        in-flight count never includes requests whose answer was already sent.
        ``status`` is what was (about to be) answered; 0 for none."""
        record, self._record = self._record, None
        if record is None:
            return
        outcome, route = record["outcome"], record["route"]
        outcome["status"] = status
        self.server.stats.end(record["stats_key"], self.command, record["path"], status,
                              outcome["error_code"], outcome["fault"])
        self.server.log.add({
            "time": record["time"], "method": self.command, "path": record["path"],
            "query": record["query"], "status": status, "error_code": outcome["error_code"],
            "request_id": self.request_id, "auth": outcome["auth"],
            "principal": outcome["principal"],
            "project_id": route.project_id if route else None,
            "instance_id": route.instance_id if route else None,
            "resource": route.resource if route else None,
            "fault": outcome["fault"],
            "duration_ms": round((time.monotonic() - record["started"]) * 1000.0, 3),
        })

    def _serve_iam(self, body, outcome):
        self._wait_latency(IAM_TARGET)
        outcome["auth"] = "password"
        try:
            parsed = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            parsed = None
        try:
            outcome["principal"] = parsed["auth"]["identity"]["password"]["user"]["name"]
        except (KeyError, TypeError):
            pass
        if self._apply_fault(IAM_TARGET, "POST", "tokens", outcome, iam=True):
            return
        if not isinstance(parsed, dict):
            raise IamError(400, "The request body is invalid.")
        token, answer, _user = self.server.auth.issue_token(parsed)
        self._send_json(201, answer, {"X-Subject-Token": token})

    @staticmethod
    def _query(raw_query):
        # The first value of each parameter, as the gateway reads them.
        query = {}
        for key, value in parse_qsl(raw_query, keep_blank_values=True):
            query.setdefault(key, value)
        return query

    def _serve_iam_projects(self, raw_path, raw_query, body, outcome):
        """KeystoneListProjects: any valid credential (a domain-scoped token, a project-scoped
        one, a static token or an AK/SK signature without X-Project-Id)."""
        self._wait_latency(IAM_TARGET)
        try:
            self.server.auth.authenticate(self.command, raw_path, raw_query, self._header_dict(), body,
                                          seen=outcome)
        except ApigError:
            # IAM answers in its own shape, not APIG's.
            raise IamError(401, "The request you have made requires authentication.")
        if self._apply_fault(IAM_TARGET, "GET", "projects", outcome, iam=True):
            return
        self._send_json(200, fleet.list_projects(self.server.config.projects, self._query(raw_query)))

    def _serve_list_instances(self, route, raw_path, raw_query, body, outcome):
        """ListInstancesV2 of one project."""
        server = self.server
        project = server.config.projects.get(route.project_id)
        if project is not None:
            self._wait_latency(route.project_id)
        identity = server.auth.authenticate(self.command, raw_path, raw_query, self._header_dict(), body,
                                            seen=outcome)
        if not identity.scoped:
            raise ApigError("APIG.1003")
        if identity.projects is not None and route.project_id not in identity.projects:
            raise ApigError("APIG.1136")
        if project is not None and self._apply_fault(route.project_id, "GET", route.resource, outcome):
            return
        query = self._query(raw_query)
        instances = [] if project is None or not identity.can_list_instances else \
            [server.config.instances[i] for i in project["instances"]]
        self._send_json(200, fleet.list_instances(instances, query))

    def _serve_apig(self, route, instance, raw_path, raw_query, body, outcome):
        server = self.server
        if instance is not None:
            self._wait_latency(instance.id)
        identity = server.auth.authenticate(self.command, raw_path, raw_query,
                                            self._header_dict(), body, seen=outcome)
        if not identity.scoped:
            raise ApigError("APIG.1003")
        if identity.projects is not None and route.project_id not in identity.projects:
            raise ApigError("APIG.1136")
        if instance is None or instance.project_id != route.project_id:
            raise ApigError("APIG.3030")
        if route.kind == "show_instance":
            if self._apply_fault(instance.id, self.command, route.resource, outcome):
                return
            self._send_json(200, fleet.details_view(instance))
            return
        if route.kind in ("refresh", "state") and \
                server.config.settings["admin_role"] not in identity.roles:
            raise ApigError("APIG.1005", status=server.config.settings["forbidden_status"])
        if self._apply_fault(instance.id, self.command, route.resource, outcome):
            return
        if route.kind == "refresh":
            try:
                details = hooks.on_refresh(instance.project_id, instance.id, route.resource,
                                           list(instance.apis))
            except hooks.SyncFailed as exc:
                raise ApigError("APIG.3500", "Failed to synchronize data to etcd. %s" % exc)
            server.refreshes.record(instance, route.resource, self.request_id,
                                    identity.label, details)
            self._send(200)
        elif route.kind == "state":
            answer = server.refreshes.poll(instance)
            self._send_json(200, answer)
        elif self._listing_fault is not None:
            answer, after = data.list_apis_faulty(instance.apis, self._query(raw_query), self._listing_fault,
                                                  instance.id, server.next_serial(self._listing_fault))
            if after is not instance.apis:
                instance.apis = after      # one assignment: a concurrent listing sees either list
            self._send_json(200, answer)
        else:
            answer = data.list_apis(instance.apis, self._query(raw_query))
            self._send_json(200, answer)

    def _wait_latency(self, target):
        delay = self.server.faults.latency(target)
        if delay > 0:
            time.sleep(delay)

    def _apply_fault(self, target, method, resource, outcome, iam=False):
        """Apply the next fault for this request; True when it answered (or reset)."""
        fault = self.server.faults.take(target, method, resource)
        self._listing_fault = None
        if fault is None:
            return False
        outcome["fault"] = dict((k, v) for k, v in fault.items()
                                if k not in ("count", "method", "resource", "body"))
        if fault.get("delay"):
            time.sleep(fault["delay"])
        if fault.get("reset"):
            self._reset_connection()
            raise _Aborted()
        if "status" not in fault:
            if resource == LISTING_RESOURCE and set(LISTING_KEYS) & set(fault):
                self._listing_fault = fault  # answered with a page that the fault changes
            return False                   # a pure delay: carry on normally
        status = fault["status"]
        headers = {}
        if fault.get("retry_after") is not None:
            headers["Retry-After"] = fault["retry_after"]
        if "body" in fault:
            outcome["error_code"] = fault.get("error_code")
            body = fault["body"]
            if isinstance(body, (dict, list)):
                self._send(status, json.dumps(body).encode("utf-8"),
                           fault.get("content_type") or JSON_TYPE, headers)
            else:
                self._send(status, body.encode("utf-8"),
                           fault.get("content_type") or "text/plain;charset=UTF-8", headers)
            return True
        if iam and "error_code" not in fault:
            self._send_json(status, IamError(status, fault.get("error_msg") or "Injected fault.")
                            .body(), headers)
            return True
        error = ApigError(fault.get("error_code") or code_for_status(status),
                          fault.get("error_msg"), status=status, headers=headers)
        self._send_apig_error(error, outcome)
        return True

    # ---- /_sim/: the test-side admin API (no auth, not logged) -----------------------

    def _admin(self, raw_path, raw_query):
        server = self.server
        try:
            body = self._read_body()
            payload = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(payload, dict):
                raise ValueError("the body must be a JSON object")
        except (ApigError, UnicodeDecodeError, ValueError) as exc:
            self._send_json(400, {"error": "bad request body: %s" % exc})
            return
        query = dict(parse_qsl(raw_query, keep_blank_values=True))
        key = (self.command, raw_path.rstrip("/"))
        try:
            if key == ("GET", "/_sim/health"):
                answer = {"ok": True, "port": server.server_address[1],
                          "instances": len(server.config.instances)}
            elif key == ("GET", "/_sim/requests"):
                entries, last = server.log.since(int(query.get("since") or 0))
                answer = {"requests": entries, "last_seq": last}
            elif key == ("GET", "/_sim/stats"):
                answer = server.stats.snapshot()
            elif key == ("GET", "/_sim/refreshes"):
                answer = {"refreshes": server.refreshes.records()}
            elif key == ("GET", "/_sim/faults"):
                answer = {"faults": server.faults.snapshot()}
            elif key == ("POST", "/_sim/faults"):
                answer = self._admin_faults(payload)
            elif key == ("POST", "/_sim/reset"):
                answer = self._admin_reset(payload)
            elif key == ("POST", "/_sim/apis"):
                answer = self._admin_apis(payload)
            elif key == ("GET", "/_sim/config"):
                answer = self._admin_config()
            else:
                self._send_json(404, {"error": "no admin endpoint %s %s" % key})
                return
        except (ConfigError, FaultError, ValueError, KeyError, TypeError) as exc:
            self._send_json(400, {"error": str(exc)})
            return
        self._send_json(200, answer)

    def _target(self, payload):
        target = payload.get("instance_id")
        if target != IAM_TARGET and target not in self.server.config.instances \
                and target not in self.server.config.projects:
            raise ValueError("instance_id must be a configured instance, a project (its "
                             "ListInstancesV2 calls) or %r" % IAM_TARGET)
        return target

    def _admin_faults(self, payload):
        target = self._target(payload)
        plan = normalise_plan(dict((k, payload[k]) for k in ("sequence", "always", "latency_ms")
                                   if k in payload), "faults[%s]" % target)
        pending = self.server.faults.set(target, plan, append=bool(payload.get("append")))
        return {"instance_id": target, "pending": pending}

    def _admin_reset(self, payload):
        server = self.server
        faults = payload.get("faults", "keep")
        apis = payload.get("apis", "keep")
        if faults not in ("keep", "config", "clear") or apis not in ("keep", "config"):
            raise ValueError("faults: keep|config|clear, apis: keep|config")
        server.log.clear()
        server.stats.clear()
        server.refreshes.clear()
        if faults == "config":
            server.faults.load(server.config.fault_plans())
        elif faults == "clear":
            server.faults.load({})
        if apis == "config":
            for iid, apis_list in server.config_apis.items():
                server.config.instances[iid].apis = list(apis_list)
        _entries, last = server.log.since(0)
        return {"ok": True, "last_seq": last}

    def _admin_apis(self, payload):
        target = self._target(payload)
        if target not in self.server.config.instances:
            raise ValueError("instance_id must be an instance")
        # Same validation and completion as the config file; the list is swapped in
        # one assignment, so a concurrent ListApisV2 sees the old or the new one.
        apis = instance_apis(payload, target, "apis[%s]" % target)
        self.server.config.instances[target].apis = apis
        return {"instance_id": target, "count": len(apis),
                "published": sum(1 for a in apis if data.is_published(a))}

    def _admin_config(self):
        cfg = self.server.config
        return {"projects": dict(
            (pid, {"name": p["name"], "instances": dict(
                (iid, {"apis": len(cfg.instances[iid].apis),
                       "published": sum(1 for a in cfg.instances[iid].apis if data.is_published(a))})
                for iid in p["instances"])})
            for pid, p in cfg.projects.items())}


def serve(config, host="127.0.0.1", port=0, log_path=None, verbose=False, tls_cert=None, tls_key=None):
    """A started SimServer (serving on a daemon thread) and that thread.

    With ``tls_cert`` (and ``tls_key``, unless the key is in the certificate file) it
    speaks HTTPS only. The handshake runs in the handler's thread, on its first read, so a
    client that stalls or refuses the certificate never holds up the accept loop; such a
    connection ends before any request is read, so it is neither logged nor counted.
    """
    server = SimServer((host, port), config, log_path=log_path, verbose=verbose)
    if tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls_cert, tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              name="apig_sim", daemon=True)
    thread.start()
    return server, thread
