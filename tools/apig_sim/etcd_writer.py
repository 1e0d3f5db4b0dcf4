# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The simulated gateway's router data in etcd, written from the documented layout alone.

This is a second, independent implementation of the layout the collection documents for
etcd mode (route keys, route records, manifest), written from the documentation and
sharing no code with ``plugins/``: the convergence test compares what the module writes
with what this writes, so a shared helper would hide the very mistakes it looks for. It
talks to etcd through etcd-sdk-python's public client (``pyetcd.client``,
``get_prefix``, ``transaction``), unguarded: the gateway owns its router data.

Layout, as a user reads it:

- a route per published API (non-empty ``run_env_id``) at
  ``<key_prefix>/<instance_id>/apis/<api_id>``;
- its value: canonical JSON (UTF-8, keys sorted, no insignificant whitespace) of
  ``schema`` (1) and the API's ``id``, ``name``, ``group_id``, ``group_name``, ``type``,
  ``req_protocol``, ``req_method``, ``req_uri``, ``match_mode``, ``auth_type``,
  ``backend_type``, ``cors`` as the source has them (absent ones left out), ``envs``
  (one ``{"id", "name", "publish_id"}`` per environment from the ``|``-joined
  ``run_env_id``, ``run_env_name``, ``publish_id``, sorted by id) and, when the API has
  ``backend_api``, ``backend`` with its ``req_protocol``, ``req_method``, ``req_uri``,
  ``url_domain``, ``timeout``, ``retry_count``;
- ``type``, ``timeout`` and ``retry_count`` are JSON integers (ListApisV2 sends
  ``retry_count`` as a string such as ``"-1"``). The layout documentation does not say so:
  this rule was found when this writer, first written without it, disagreed with the
  module on every route with a backend; 0.1.0 writes integers, so that is the layout;
- ``<key_prefix>/<instance_id>/manifest``: canonical JSON ``{"schema": 1, "count": <routes>,
  "sha256": <hex>}``, the digest over every route key in ascending byte order of
  ``key + "\\n" + value + "\\n"``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
from urllib.parse import urlsplit

import grpc
import pyetcd

RECORD_FIELDS = ("id", "name", "group_id", "group_name", "type", "req_protocol", "req_method", "req_uri",
                 "match_mode", "auth_type", "backend_type", "cors")
BACKEND_FIELDS = ("req_protocol", "req_method", "req_uri", "url_domain", "timeout", "retry_count")
INTEGER_FIELDS = ("type", "timeout", "retry_count")
ENV_LISTS = ("run_env_id", "run_env_name", "publish_id")
TXN_OPS = 128  # etcd's default --max-txn-ops


class WriteFailed(Exception):
    """etcd could not be read or written (the message says where and why)."""


def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _copy(source, names):
    """The fields of ``source`` named in ``names`` that it has (None counts as absent)."""
    out = {}
    for name in names:
        value = source.get(name)
        if value is not None:
            out[name] = int(value) if name in INTEGER_FIELDS and isinstance(value, str) else value
    return out


def route_record(api):
    """The route record of one published API, as a dict."""
    record = {"schema": 1}
    record.update(_copy(api, RECORD_FIELDS))
    ids, names, publications = [str(api.get(name) or "").split("|") for name in ENV_LISTS]
    envs = [{"id": env_id,
             "name": names[i] if i < len(names) else "",
             "publish_id": publications[i] if i < len(publications) else ""}
            for i, env_id in enumerate(ids)]
    record["envs"] = sorted(envs, key=lambda env: env["id"])
    if api.get("backend_api"):
        record["backend"] = _copy(api["backend_api"], BACKEND_FIELDS)
    return record


def routes(apis, key_prefix, instance_id):
    """{key: canonical value bytes} of the published APIs."""
    base = "%s/%s/apis/" % (key_prefix.rstrip("/"), instance_id)
    return {base + api["id"]: canonical(route_record(api)) for api in apis if api.get("run_env_id")}


def manifest(route_values):
    digest = hashlib.sha256()
    for key in sorted(route_values, key=lambda k: k.encode("utf-8")):
        digest.update(key.encode("utf-8") + b"\n" + route_values[key] + b"\n")
    return canonical({"schema": 1, "count": len(route_values), "sha256": digest.hexdigest()})


class EtcdWriter:
    """Makes ``<key_prefix>/<instance_id>/`` hold exactly the routes of an API list."""

    def __init__(self, endpoints, key_prefix="/apig/router", timeout=5.0):
        self.endpoints = list(endpoints)
        self.key_prefix = key_prefix
        self.timeout = timeout
        self._clients = {}

    def _client(self, endpoint):
        if endpoint not in self._clients:
            url = urlsplit(endpoint if "://" in endpoint else "http://" + endpoint)
            self._clients[endpoint] = pyetcd.client(host=url.hostname, port=url.port or 2379, timeout=self.timeout)
        return self._clients[endpoint]

    def write(self, instance_id, apis):
        """Write the routes and the manifest; return created/updated/deleted ids and counts.

        Tries the endpoints in order: the first that answers does the whole write.
        """
        problems = []
        for endpoint in self.endpoints:
            try:
                return self._write(self._client(endpoint), instance_id, apis)
            except (pyetcd.Etcd3Exception, grpc.RpcError) as exc:
                # pyetcd marks the endpoint of a failed call as failed for good: the next
                # refresh starts with a new client, so that etcd coming back is seen.
                self._clients.pop(endpoint, None)
                problems.append("%s: %s" % (endpoint, exc.__class__.__name__ + (" %s" % exc if str(exc) else "")))
        raise WriteFailed("etcd unavailable (%s)" % "; ".join(problems))

    def _write(self, client, instance_id, apis):
        desired = routes(apis, self.key_prefix, instance_id)
        base = "%s/%s/" % (self.key_prefix.rstrip("/"), instance_id)
        current = {meta.key.decode("utf-8"): value for value, meta in client.get_prefix(base + "apis/")}
        puts = [(key, value) for key, value in sorted(desired.items()) if current.get(key) != value]
        deletes = sorted(key for key in current if key not in desired)
        wanted_manifest = manifest(desired)
        stored, _meta = client.get(base + "manifest")
        ops = [client.transactions.put(key, value) for key, value in puts]
        ops += [client.transactions.delete(key) for key in deletes]
        if stored != wanted_manifest:
            ops.append(client.transactions.put(base + "manifest", wanted_manifest))
        for start in range(0, len(ops), TXN_OPS):
            client.transaction(compare=[], success=ops[start:start + TXN_OPS], failure=[])
        ids = len(base + "apis/")
        return {"created": [k[ids:] for k, _v in puts if k not in current],
                "updated": [k[ids:] for k, _v in puts if k in current],
                "deleted": [k[ids:] for k in deletes],
                "unchanged": len(desired) - len(puts)}
