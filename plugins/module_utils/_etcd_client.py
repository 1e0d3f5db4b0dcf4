# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""A small etcd v3 client: endpoint failover, paged reads, guarded transactions, a lease lock.

Both supported libraries, ``etcd-sdk-python`` (imports as ``pyetcd``, preferred) and
python-etcd3 (``etcd3``), ship the same generated gRPC stubs. We use only those stubs
(``etcdrpc``) and drive gRPC ourselves, so one code path serves both and we control what
the high-level clients do not offer: failover for python-etcd3, paging by key range at
one revision, per-call deadlines, re-authentication, and a lock that does not depend on
either library's ``Lock`` (python-etcd3's crashes with current tenacity).

Nothing here is imported at module import time except the standard library: the
libraries are loaded when a client is built, and a missing or unusable one raises
``MissingLibraryError``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import os
import socket
import sys
import threading
import time
import traceback
import uuid

from urllib.parse import urlsplit

from ansible_collections.apigw.router.plugins.module_utils._errors import (
    ConflictError,
    EtcdError,
    MissingLibraryError,
)

LIBRARIES = ('auto', 'pyetcd', 'etcd3')

DEFAULT_PORT = 2379

# Status codes after which the same request goes to the next endpoint. UNAVAILABLE covers
# "connection refused", TLS handshake failures, and etcd's own "no leader", "leader
# changed" and "request timed out". A write that failed this way may or may not have been
# applied: every write we send is guarded, so repeating it is safe (see txn()).
_RETRY_CODES = ('UNAVAILABLE', 'DEADLINE_EXCEEDED')

# Keys listed in an error message before "... and N more".
_MAX_KEYS_IN_MSG = 10

_PROTOBUF_ENV = 'PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION'


def _load_rpc(library):
    """Return ``(name, etcdrpc module, grpc module)`` for the library asked for.

    Raises MissingLibraryError when it cannot be imported.
    """
    if library not in LIBRARIES:
        raise ValueError("library must be one of %s, not %r" % (", ".join(LIBRARIES), library))
    if library == 'auto':
        # The two libraries register the same .proto files in protobuf's descriptor pool,
        # so only one of them can live in a process: stick to one that is already loaded.
        if 'pyetcd' in sys.modules:
            candidates = ['pyetcd']
        elif 'etcd3' in sys.modules:
            candidates = ['etcd3']
        else:
            candidates = ['pyetcd', 'etcd3']
    else:
        candidates = [library]
    failures = []
    for name in candidates:
        try:
            return (name,) + _import_rpc(name)
        except MissingLibraryError as exc:
            failures.append(exc)
    if len(failures) == 1:
        raise failures[0]
    raise MissingLibraryError(
        'etcd-sdk-python (pyetcd) or etcd3', '\n'.join(f.exception_text or '' for f in failures),
        reason='; '.join('%s: %s' % (f.library, f.reason) for f in failures))


def _import_rpc(name):
    other = 'etcd3' if name == 'pyetcd' else 'pyetcd'
    if other in sys.modules:
        raise MissingLibraryError(
            name, None,
            reason='%s is already loaded in this process and both cannot be imported together' % other)
    if name == 'etcd3' and 'google.protobuf' not in sys.modules:
        # python-etcd3's generated code only loads with protobuf >= 4 under the pure-Python
        # implementation, which must be chosen before protobuf is first imported.
        os.environ.setdefault(_PROTOBUF_ENV, 'python')
    try:
        if name == 'pyetcd':
            from pyetcd import etcdrpc
        else:
            from etcd3 import etcdrpc
        import grpc  # a dependency of both: checked here so that a failure names the library
    except Exception as exc:  # ImportError, or TypeError from protobuf for old generated code
        reason = '%s: %s' % (type(exc).__name__, exc)
        if name == 'etcd3':
            backend = _protobuf_backend()
            if backend not in (None, 'python'):
                reason = ('protobuf was already imported with its %r implementation; python-etcd3 needs '
                          '%s=python set before protobuf is first imported (or use etcd-sdk-python)'
                          % (backend, _PROTOBUF_ENV))
        raise MissingLibraryError(
            'etcd-sdk-python' if name == 'pyetcd' else 'etcd3', traceback.format_exc(),
            reason=reason.splitlines()[0] if reason else None)
    return etcdrpc, grpc


def _protobuf_backend():
    if 'google.protobuf' not in sys.modules:
        return None
    try:
        from google.protobuf.internal import api_implementation
        return api_implementation.Type()
    except Exception:
        return 'unknown'


def _b(value):
    if isinstance(value, bytes):
        return value
    return value.encode('utf-8')


def _s(value):
    return value.decode('utf-8', 'surrogateescape')


def prefix_range_end(prefix):
    """The ``range_end`` that selects every key starting with ``prefix`` (bytes)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xff:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b'\0'  # every key


def _keys_text(keys):
    keys = sorted(keys)
    text = ', '.join(keys[:_MAX_KEYS_IN_MSG])
    if len(keys) > _MAX_KEYS_IN_MSG:
        text += ' ... and %d more' % (len(keys) - _MAX_KEYS_IN_MSG)
    return text


class _Endpoint:
    """One endpoint URL and, lazily, its gRPC channel, stubs and auth token."""

    def __init__(self, url, target, secure):
        self.url = url
        self.target = target
        self.secure = secure
        self.channel = None
        self.kv = self.lease = self.maintenance = self.auth = None
        self.token = None

    def close(self):
        if self.channel is not None:
            try:
                self.channel.close()
            except Exception:
                pass
        self.channel = None
        self.token = None


def parse_endpoint(text, tls_default=False):
    """``http://h:p`` / ``https://h:p`` / ``h:p`` -> (url, grpc target, secure)."""
    if not isinstance(text, str) or not text.strip():
        raise EtcdError('invalid etcd endpoint %r: expected a URL such as http://127.0.0.1:2379' % (text,))
    text = text.strip()
    if '://' not in text:
        text = ('https://' if tls_default else 'http://') + text
    try:
        parts = urlsplit(text)
        hostname = parts.hostname
    except ValueError:  # e.g. an unclosed or invalid IPv6 literal
        raise EtcdError('invalid etcd endpoint %r: expected http://host:port or https://host:port' % (text,))
    if parts.scheme not in ('http', 'https') or not hostname or parts.path not in ('', '/'):
        raise EtcdError('invalid etcd endpoint %r: expected http://host:port or https://host:port' % (text,))
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise EtcdError('invalid etcd endpoint %r: bad port' % (text,))
    host = parts.hostname
    target = '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)
    return '%s://%s' % (parts.scheme, target), target, parts.scheme == 'https'


class EtcdClient:
    """A client for one etcd cluster reached through one or more endpoints.

    Every operation is sent to the endpoint that last answered; when an endpoint is
    unreachable (or the member cannot serve: no leader, leader changed) the operation is
    repeated on the next one, round-robin with a short backoff, within a total of about
    ``timeout`` seconds per endpoint. Each single request has a deadline of ``timeout``.
    """

    def __init__(self, endpoints, ca_cert=None, client_cert=None, client_key=None,
                 user=None, password=None, timeout=10.0, library='auto'):
        if isinstance(endpoints, str):
            endpoints = [e for e in endpoints.split(',') if e.strip()]
        if not endpoints:
            raise EtcdError('no etcd endpoint given')
        if bool(client_cert) != bool(client_key):
            raise EtcdError('etcd_client_cert and etcd_client_key must be given together')
        if password and not user:
            raise EtcdError('an etcd password was given without a user')
        self.timeout = float(timeout)
        if self.timeout <= 0:
            raise EtcdError('the etcd timeout must be positive')
        tls_default = bool(ca_cert or client_cert)
        self._endpoints = [_Endpoint(*parse_endpoint(e, tls_default)) for e in endpoints]
        plain = [ep.url for ep in self._endpoints if not ep.secure]
        if tls_default and plain:
            # Certificates were given for TLS: never fall back to plaintext silently.
            raise EtcdError('etcd certificates are given, but %s %s plain http://: use https:// endpoints for TLS'
                            % (', '.join(plain), 'is' if len(plain) == 1 else 'are'))
        self.library, self._rpc, self._grpc = _load_rpc(library)
        grpc = self._grpc
        self._user = user
        self._password = password
        self._credentials = None
        if any(ep.secure for ep in self._endpoints):
            self._credentials = grpc.ssl_channel_credentials(
                root_certificates=self._read_file('etcd_ca_cert', ca_cert),
                private_key=self._read_file('etcd_client_key', client_key),
                certificate_chain=self._read_file('etcd_client_cert', client_cert))
        self._current = 0
        self._state_lock = threading.RLock()
        self.calls = 0  # gRPC requests sent (for tests and statistics)

    @property
    def endpoints(self):
        return [ep.url for ep in self._endpoints]

    @staticmethod
    def _read_file(what, path):
        if not path:
            return None
        try:
            with open(path, 'rb') as f:
                return f.read()
        except (IOError, OSError) as exc:
            raise EtcdError('cannot read %s %s: %s' % (what, path, exc.strerror or exc))

    # -- plumbing ---------------------------------------------------------------------------

    def close(self):
        with self._state_lock:
            for ep in self._endpoints:
                ep.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _connect(self, ep, timeout):
        """Make sure ``ep`` has a channel (and a token when auth is used); return its metadata."""
        with self._state_lock:
            if ep.channel is None:
                options = [
                    # Reconnect quickly to a member that comes back (the default backoff
                    # grows to two minutes, during which calls fail fast as UNAVAILABLE).
                    ('grpc.initial_reconnect_backoff_ms', 200),
                    ('grpc.min_reconnect_backoff_ms', 200),
                    ('grpc.max_reconnect_backoff_ms', 2000),
                ]
                if ep.secure:
                    ep.channel = self._grpc.secure_channel(ep.target, self._credentials, options=options)
                else:
                    ep.channel = self._grpc.insecure_channel(ep.target, options=options)
                ep.kv = self._rpc.KVStub(ep.channel)
                ep.lease = self._rpc.LeaseStub(ep.channel)
                ep.maintenance = self._rpc.MaintenanceStub(ep.channel)
                ep.auth = self._rpc.AuthStub(ep.channel)
            if self._user and ep.token is None:
                self.calls += 1
                try:
                    resp = ep.auth.Authenticate(
                        self._rpc.AuthenticateRequest(name=self._user, password=self._password or ''),
                        timeout=timeout)
                    ep.token = resp.token
                except self._grpc.RpcError as exc:
                    code = exc.code().name
                    if code in ('INVALID_ARGUMENT', 'UNAUTHENTICATED', 'PERMISSION_DENIED'):
                        raise EtcdError('etcd authentication failed for user %r at %s: %s'
                                        % (self._user, ep.url, exc.details()))
                    if code == 'FAILED_PRECONDITION':
                        ep.token = ''  # auth is not enabled on this cluster: go on without a token
                    else:
                        raise
            return (('token', ep.token),) if ep.token else None

    def _call(self, what, fn):
        """Run ``fn(endpoint, timeout, metadata)`` with failover; return its result.

        ``what`` names the operation in error messages.
        """
        grpc = self._grpc
        n = len(self._endpoints)
        deadline = time.monotonic() + self.timeout * n
        failures = {}
        reauthenticated = set()
        delay = 0.1
        start = self._current
        while True:
            for i in range(n):
                idx = (start + i) % n
                ep = self._endpoints[idx]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                per_call = min(self.timeout, remaining)
                try:
                    metadata = self._connect(ep, per_call)
                    self.calls += 1
                    result = fn(ep, per_call, metadata)
                except grpc.RpcError as exc:
                    code = exc.code().name
                    details = exc.details() or ''
                    if code == 'UNAUTHENTICATED' and self._user and idx not in reauthenticated:
                        # The token expired (simple tokens live 5 minutes by default).
                        reauthenticated.add(idx)
                        ep.token = None
                        failures[ep.url] = '%s: %s' % (code, details)
                        start = idx
                        break
                    if code in _RETRY_CODES:
                        failures[ep.url] = '%s: %s' % (code, details)
                        continue
                    raise self._error(what, ep, code, details)
                with self._state_lock:
                    self._current = idx
                return result
            else:
                start = (start + 1) % n
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)
        text = '; '.join('%s (%s)' % (url, msg) for url, msg in failures.items())
        hint = ''
        low = text.lower()
        if 'ssl' in low or 'handshake' in low or 'certificate' in low or 'tls' in low:
            hint = ' (TLS failure: check etcd_ca_cert, etcd_client_cert and etcd_client_key)'
        err = EtcdError('etcd unreachable for %s within %.1fs%s: %s'
                        % (what, self.timeout * n, hint, text or 'no endpoint answered'))
        err.grpc_code = 'UNAVAILABLE'
        raise err

    def _error(self, what, ep, code, details):
        low = details.lower()
        if code == 'PERMISSION_DENIED':
            msg = 'etcd refused %s at %s: permission denied for user %r' % (what, ep.url, self._user)
        elif 'request is too large' in low or 'too many operations' in low:
            msg = 'etcd refused %s at %s as too large: %s' % (what, ep.url, details)
        elif code == 'RESOURCE_EXHAUSTED' and 'larger than max' in low:
            msg = ('message too large for %s at %s: %s (etcd takes requests up to its --max-request-bytes, '
                   '1.5 MiB by default; gRPC replies up to 4 MiB)' % (what, ep.url, details))
        elif code == 'UNAUTHENTICATED' or 'user name is empty' in low:
            msg = 'etcd refused %s at %s: not authenticated (%s); set etcd_user/etcd_password' % (
                what, ep.url, details)
        else:
            msg = 'etcd error for %s at %s: %s: %s' % (what, ep.url, code, details)
        err = EtcdError(msg)
        err.grpc_code = code
        return err

    # -- reads ------------------------------------------------------------------------------

    def _range(self, what, request):
        return self._call(what, lambda ep, t, md: ep.kv.Range(request, timeout=t, metadata=md))

    def get(self, key):
        """``(value bytes, mod_revision)`` of ``key``, or None when it does not exist."""
        resp = self._range('get %s' % key, self._rpc.RangeRequest(key=_b(key)))
        if not resp.kvs:
            return None
        return resp.kvs[0].value, resp.kvs[0].mod_revision

    def current_revision(self, key=None):
        """The cluster's current revision.

        With ``key``, a linearizable read of that key (needs read access to it only);
        without, the answering member's status (needs no key permission).
        """
        if key is not None:
            resp = self._range('read revision', self._rpc.RangeRequest(key=_b(key), count_only=True))
            return resp.header.revision
        resp = self._call('status', lambda ep, t, md: ep.maintenance.Status(
            self._rpc.StatusRequest(), timeout=t, metadata=md))
        return resp.header.revision

    def read_prefix(self, prefix, page_size=1000):
        """Every key under ``prefix``: ``(revision, {key: (value bytes, mod_revision)})``.

        Read in pages of at most ``page_size`` keys by key range, every page at the revision
        of the first one, so the result is one consistent snapshot however large it is.
        A page whose reply is too large for gRPC is read again in halves. If etcd compacts
        the revision away mid-read, the read starts over (a few times).
        """
        if page_size < 1:
            raise ValueError('page_size must be at least 1')
        start_key = _b(prefix)
        end = prefix_range_end(start_key)
        last = None
        for _attempt in range(3):
            revision = 0
            result = {}
            key = start_key
            size = page_size
            try:
                while True:
                    request = self._rpc.RangeRequest(key=key, range_end=end, limit=size, revision=revision)
                    try:
                        resp = self._range('read %s' % prefix, request)
                    except EtcdError as exc:
                        if getattr(exc, 'grpc_code', None) == 'RESOURCE_EXHAUSTED' and size > 1:
                            size = max(1, size // 2)
                            continue
                        raise
                    if not revision:
                        revision = resp.header.revision
                    for kv in resp.kvs:
                        result[_s(kv.key)] = (kv.value, kv.mod_revision)
                    if not resp.more or not resp.kvs:
                        return revision, result
                    key = resp.kvs[-1].key + b'\0'
                    size = page_size
            except EtcdError as exc:
                if getattr(exc, 'grpc_code', None) != 'OUT_OF_RANGE':  # compacted mid-read
                    raise
                last = exc
        raise last

    # -- writes -----------------------------------------------------------------------------

    def txn(self, ops):
        """Apply guarded ``ops`` in one transaction; return the revision after it.

        ``ops``: ``('create', key, value)`` (only if the key does not exist),
        ``('update', key, value, mod_revision)`` and ``('delete', key, mod_revision)`` (only if
        the key still has that mod_revision). All or nothing: when any guard fails, nothing
        is written and ``ConflictError`` names the keys whose guards failed.
        """
        if not ops:
            raise ValueError('txn() needs at least one operation')
        rpc = self._rpc
        # Built in place with add() and field assignment: constructing each message and
        # passing lists to TxnRequest() copies every one of them again (about 3x slower for
        # the same bytes).
        request = rpc.TxnRequest()
        add_compare, add_success, add_failure = request.compare.add, request.success.add, request.failure.add
        version, mod, equal = rpc.Compare.VERSION, rpc.Compare.MOD, rpc.Compare.EQUAL
        guards = []
        for op in ops:
            kind, key = op[0], _b(op[1])
            if kind == 'create':
                value = _b(op[2])
                add_compare(key=key, target=version, result=equal, version=0)
                put = add_success().request_put
                put.key = key
                put.value = value
                guards.append((kind, op[1], value, 0))
            elif kind == 'update':
                value = _b(op[2])
                add_compare(key=key, target=mod, result=equal, mod_revision=op[3])
                put = add_success().request_put
                put.key = key
                put.value = value
                guards.append((kind, op[1], value, op[3]))
            elif kind == 'delete':
                add_compare(key=key, target=mod, result=equal, mod_revision=op[2])
                add_success().request_delete_range.key = key
                guards.append((kind, op[1], None, op[2]))
            else:
                raise ValueError('unknown txn operation %r' % (kind,))
            # When a guard fails, the failure branch reads the keys in the same transaction:
            # it tells exactly which guards failed, at no extra round trip, and it is one
            # snapshot taken where the guards failed, which _own_commit needs to recognise
            # our own earlier attempt (a read after the failure could see later writes).
            add_failure().request_range.key = key

        attempts = []

        def send(ep, timeout, metadata):
            attempts.append(ep.url)
            return ep.kv.Txn(request, timeout=timeout, metadata=metadata)

        what = 'a transaction of %d operation(s) (%s)' % (len(ops), _keys_text([g[1] for g in guards]))
        resp = self._call(what, send)
        if resp.succeeded:
            return resp.header.revision
        found = {}
        for guard, r in zip(guards, resp.responses):
            kvs = r.response_range.kvs
            found[guard[1]] = (kvs[0].value, kvs[0].mod_revision) if kvs else None
        if len(attempts) > 1:
            # An earlier attempt may have been applied before its endpoint failed: if every
            # key now holds exactly what we wrote, all at one revision, that was our write.
            revision = _own_commit(guards, found)
            if revision:
                return revision
        failed = []
        for kind, key, _value, mod in guards:
            current = found[key]
            if kind == 'create' and current is not None:
                failed.append(key)
            elif kind != 'create' and (current is None or current[1] != mod):
                failed.append(key)
        raise ConflictError('etcd keys changed concurrently, nothing written by this transaction: %s'
                            % _keys_text(failed), failed)

    # -- lock -------------------------------------------------------------------------------

    def lease_grant(self, ttl):
        resp = self._call('grant a lease', lambda ep, t, md: ep.lease.LeaseGrant(
            self._rpc.LeaseGrantRequest(TTL=int(ttl)), timeout=t, metadata=md))
        if resp.error:
            raise EtcdError('etcd refused a lease: %s' % resp.error)
        return resp.ID

    def lease_keepalive(self, lease_id):
        """Refresh a lease; return its remaining TTL (0 or less: it has expired)."""
        def send(ep, timeout, metadata):
            stream = ep.lease.LeaseKeepAlive(iter([self._rpc.LeaseKeepAliveRequest(ID=lease_id)]),
                                             timeout=timeout, metadata=metadata)
            for resp in stream:
                return resp.TTL
            return 0
        return self._call('keep a lease alive', send)

    def lease_revoke(self, lease_id):
        def send(ep, timeout, metadata):
            try:
                return ep.lease.LeaseRevoke(self._rpc.LeaseRevokeRequest(ID=lease_id),
                                            timeout=timeout, metadata=metadata)
            except self._grpc.RpcError as exc:
                if exc.code().name == 'NOT_FOUND':  # already expired or revoked
                    return None
                raise
        self._call('revoke a lease', send)

    @contextlib.contextmanager
    def lock(self, name_key, ttl=30, timeout=30):
        """Hold the lock ``name_key`` for the duration of the ``with`` block.

        The lock is a key created only if absent, attached to a lease that is kept alive
        while the lock is held, so a holder that dies releases it within ``ttl`` seconds.
        Waits at most ``timeout`` seconds for another holder (EtcdError after that).
        Yields an ``EtcdLock`` whose ``lost`` becomes true if the lease could not be kept.
        """
        held = EtcdLock(self, name_key, ttl)
        held.acquire(timeout)
        try:
            yield held
        finally:
            held.release()


def _own_commit(guards, found):
    """The revision at which exactly these guarded writes were applied, or None."""
    revisions = set()
    for kind, key, value, mod in guards:
        current = found[key]
        if kind == 'delete':
            if current is not None:
                return None
            continue
        if current is None or current[0] != value or current[1] <= mod:
            return None
        revisions.add(current[1])
    if len(revisions) != 1:
        return None  # delete-only, or values written at different revisions: not provably ours
    return revisions.pop()


class EtcdLock:
    """A lease-backed lock key; see ``EtcdClient.lock``."""

    def __init__(self, client, key, ttl):
        self.client = client
        self.key = key
        self.ttl = max(2, int(ttl))
        self.value = ('%s:%d:%s' % (socket.gethostname(), os.getpid(), uuid.uuid4().hex)).encode('utf-8')
        self.lease_id = None
        self.revision = None
        self.holder = None
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread = None

    @property
    def lost(self):
        return self._lost.is_set()

    def acquire(self, timeout):
        client, rpc = self.client, self.client._rpc
        key = _b(self.key)
        self.lease_id = client.lease_grant(self.ttl)
        self._thread = threading.Thread(target=self._keepalive, name='etcd-lock-keepalive')
        self._thread.daemon = True
        self._thread.start()
        request = rpc.TxnRequest(
            compare=[rpc.Compare(key=key, target=rpc.Compare.VERSION, result=rpc.Compare.EQUAL, version=0)],
            success=[rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=self.value, lease=self.lease_id))],
            failure=[rpc.RequestOp(request_range=rpc.RangeRequest(key=key))])
        deadline = time.monotonic() + float(timeout)
        delay = 0.05
        try:
            while True:
                resp = client._call('take the lock %s' % self.key, lambda ep, t, md: ep.kv.Txn(
                    request, timeout=t, metadata=md))
                if resp.succeeded:
                    self.revision = resp.header.revision
                    return
                kvs = resp.responses[0].response_range.kvs
                if kvs and kvs[0].value == self.value:  # our own put, applied before a failover
                    self.revision = kvs[0].mod_revision
                    return
                self.holder = _s(kvs[0].value) if kvs else None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise EtcdError('timed out after %gs waiting for the etcd lock %s (held by %s)'
                                    % (float(timeout), self.key, self.holder or 'someone else'),
                                    lock_holder=self.holder)
                time.sleep(min(delay, remaining))
                delay = min(delay * 2, 0.5)
        except BaseException:
            self.release()
            raise

    def _keepalive(self):
        interval = max(0.5, self.ttl / 3.0)
        last_ok = time.monotonic()
        while not self._stop.wait(interval):
            try:
                ttl = self.client.lease_keepalive(self.lease_id)
                if ttl <= 0:
                    self._lost.set()
                    return
                last_ok = time.monotonic()
            except Exception:
                if time.monotonic() - last_ok >= self.ttl:
                    self._lost.set()
                    return

    def release(self):
        """Delete our key (if still ours) and revoke the lease; errors are ignored:
        the lease expires on its own within ``ttl``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.client.timeout + 1)
            self._thread = None
        if self.lease_id is None:
            return
        client, rpc = self.client, self.client._rpc
        try:
            if self.revision:
                key = _b(self.key)
                request = rpc.TxnRequest(
                    compare=[rpc.Compare(key=key, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL,
                                         mod_revision=self.revision)],
                    success=[rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key))])
                client._call('release the lock %s' % self.key, lambda ep, t, md: ep.kv.Txn(
                    request, timeout=t, metadata=md))
        except EtcdError:
            pass
        try:
            client.lease_revoke(self.lease_id)
        except EtcdError:
            pass
        self.lease_id = None
        self.revision = None
