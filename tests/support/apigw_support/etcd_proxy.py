# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""gRPC proxies in front of a real etcd, for what a single local member cannot show.

``ForwardingProxy`` forwards every call of the etcd v3 API unchanged (bytes in, bytes out,
status codes passed back) and counts the calls per method. On top of it:

- ``ContestingProxy`` makes another writer win every race, on demand. A test that needs
  "someone else keeps changing these keys" cannot rely on a second writer racing the code
  under test: on a busy machine the racer loses the CPU for a whole sync and the sync goes
  through. This proxy makes the race deterministic instead: a ``Txn`` that writes one of the
  ``contested`` keys is preceded by a write of those keys straight to etcd, outside the proxy.
  Every guarded transaction on them therefore fails its compare, however fast or slow the
  machine, and a retry or re-plan meets the same fate.
- ``DelayingProxy`` puts a network between the client and etcd: every unary call waits
  ``rtt`` seconds before it is forwarded (calls in flight wait side by side, as on a link).
  Streams (watches, lease keep-alives) are forwarded without delay.

    with ContestingProxy(etcd.endpoints[0], contested_keys) as proxy:
        ...  # give the code under test proxy.endpoint
    proxy.interventions  # how many transactions it got in front of
    proxy.calls          # {method name: calls forwarded}, e.g. {'Txn': 80, 'Range': 2}

Each listens on 127.0.0.1, on a port it picks, and is stopped when its block ends.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading
import time
from collections import Counter
from concurrent import futures

import grpc
from pyetcd.etcdrpc import rpc_pb2

_TXN = '/etcdserverpb.KV/Txn'
_PUT = '/etcdserverpb.KV/Put'
_STREAMING = frozenset(['/etcdserverpb.Watch/Watch', '/etcdserverpb.Lease/LeaseKeepAlive'])
_FORWARD_TIMEOUT = 30.0


class ForwardingProxy(object):
    """See the module docstring. ``upstream``: ``http://host:port`` of the real etcd."""

    def __init__(self, upstream, workers=16):
        self._target = upstream.split('//', 1)[-1]
        self._workers = workers  # calls served at once; an open stream holds one
        self._lock = threading.Lock()
        self.calls = Counter()
        self._channel = self._server = None
        self.endpoint = None

    def __enter__(self):
        self._channel = grpc.insecure_channel(self._target)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=self._workers))
        self._server.add_generic_rpc_handlers([_Handler(self)])
        port = self._server.add_insecure_port('127.0.0.1:0')
        self._server.start()
        self.endpoint = 'http://127.0.0.1:%d' % port
        return self

    def __exit__(self, *exc_info):
        self._server.stop(grace=None).wait(10)
        self._channel.close()

    def before_unary(self, method, request):
        """Called before a unary call is forwarded, with its serialized request."""

    def _count(self, method):
        with self._lock:
            self.calls[method.rsplit('/', 1)[-1]] += 1

    def forward_unary(self, method, request, context):
        self._count(method)
        self.before_unary(method, request)
        call = self._channel.unary_unary(method)
        try:
            return call(request, metadata=context.invocation_metadata(), timeout=_timeout(context))
        except grpc.RpcError as exc:
            context.abort(exc.code(), exc.details())

    def forward_stream(self, method, requests, context):
        self._count(method)
        call = self._channel.stream_stream(method)
        try:
            yield from call(requests, metadata=context.invocation_metadata())
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                context.abort(exc.code(), exc.details())


class DelayingProxy(ForwardingProxy):
    """See the module docstring: every unary call waits ``rtt`` seconds."""

    def __init__(self, upstream, rtt, workers=128):
        super(DelayingProxy, self).__init__(upstream, workers)
        self.rtt = rtt

    def before_unary(self, method, request):
        if self.rtt:
            time.sleep(self.rtt)


class ContestingProxy(ForwardingProxy):
    """See the module docstring."""

    def __init__(self, upstream, contested_keys):
        super(ContestingProxy, self).__init__(upstream)
        self._contested = frozenset(k.encode('utf-8') for k in contested_keys)
        self.interventions = 0

    def before_unary(self, method, request):
        if method == _TXN:
            self._contest(request)

    def _contest(self, raw_request):
        """Write the contested keys this transaction writes, before it reaches etcd."""
        txn = rpc_pb2.TxnRequest.FromString(raw_request)
        keys = sorted(set(op.request_put.key for op in txn.success if op.HasField('request_put'))
                      & self._contested)
        if not keys:
            return
        with self._lock:
            self.interventions += 1
            count = self.interventions
        put = self._channel.unary_unary(_PUT, request_serializer=rpc_pb2.PutRequest.SerializeToString,
                                        response_deserializer=rpc_pb2.PutResponse.FromString)
        for key in keys:
            put(rpc_pb2.PutRequest(key=key, value=b'someone else %d' % count), timeout=_FORWARD_TIMEOUT)


def _timeout(context):
    remaining = context.time_remaining()
    return _FORWARD_TIMEOUT if remaining is None else max(remaining, 0.001)


class _Handler(grpc.GenericRpcHandler):
    """Every method, unary or streaming, with requests and responses left as bytes."""

    def __init__(self, proxy):
        self._proxy = proxy

    def service(self, handler_call_details):
        method = handler_call_details.method
        if method in _STREAMING:
            return grpc.stream_stream_rpc_method_handler(
                lambda requests, context: self._proxy.forward_stream(method, requests, context))
        return grpc.unary_unary_rpc_method_handler(
            lambda request, context: self._proxy.forward_unary(method, request, context))
