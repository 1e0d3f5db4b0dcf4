# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The etcd side of a sync: our policy above the chosen library's client (``etcd_library``).

``etcd-sdk-python`` (``pyetcd``) or python-etcd3 (``etcd3``) builds the channel, TLS and auth token;
each is reached through its adapter (``_adapter_pyetcd``, ``_adapter_etcd3``), the only files
below a library's public API: a ``Connection`` per endpoint. Ours, here, is what neither offers:
failover (one connection per endpoint, the next one on unavailability), recognising a commit
left ambiguous by a failover (``_own_commit``), renewing an expired auth token (a new
connection authenticates), and a lease-backed lock (``_lock``; python-etcd3's ``Lock`` crashes
with tenacity >= 7).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys
import threading
import time
import traceback

from urllib.parse import urlsplit

from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    ConflictError, EtcdError, MissingLibraryError)
from ansible_collections.apigw.router.plugins.module_utils.etcd import _adapter_etcd3, _adapter_pyetcd
from ansible_collections.apigw.router.plugins.module_utils.etcd._lock import hold_lock
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import has_userinfo, redact_endpoint

LIBRARIES = ('auto', 'pyetcd', 'etcd3')
DEFAULT_PORT = 2379
# After these the same request goes to the next endpoint. UNAVAILABLE covers "connection
# refused", TLS failures, and etcd's "no leader", "leader changed", "request timed out". A
# write that failed so may have been applied: every write is guarded, so a repeat is safe.
_RETRY_CODES = ('UNAVAILABLE', 'DEADLINE_EXCEEDED')
_MAX_KEYS_IN_MSG = 10
# A read at one revision that etcd compacts away starts over at a new one, this many times.
MAX_READ_RESTARTS = 10
# Reads of a transaction's keys when its outcome is unknown (each within the timeout).
READ_BACK_TRIES = 3
_GRPC_OPTIONS = {  # reconnect quickly to a member that comes back (the default backoff grows to 2 min)
    'grpc.initial_reconnect_backoff_ms': 200, 'grpc.min_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 2000,
    # Replies up to 64 MiB (gRPC's default is 4): a read restarted after a compaction uses
    # larger pages, so that a busy cluster cannot compact between every two of them.
    'grpc.max_receive_message_length': 64 * 1024 * 1024}


ADAPTERS = {'pyetcd': _adapter_pyetcd, 'etcd3': _adapter_etcd3}


def _load(library):
    """``(name, adapter module, library module, grpc module)``; MissingLibraryError when unusable."""
    if library not in LIBRARIES:
        raise ValueError("library must be one of %s, not %r" % (", ".join(LIBRARIES), library))
    # Both register the same .proto files in protobuf's pool: one per process, the loaded one.
    loaded = [n for n, adapter in ADAPTERS.items() if adapter.MODULE in sys.modules]
    failures = []
    for name in [library] if library != 'auto' else (loaded or list(ADAPTERS)):
        adapter = ADAPTERS[name]
        if loaded and loaded[0] != name:
            failures.append(MissingLibraryError(adapter.LABEL, None, reason='%s is already loaded in this process and '
                                                'both cannot be imported together' % loaded[0]))
            continue
        try:
            module = adapter.load()
            import grpc
            return name, adapter, module, grpc
        except Exception as exc:  # ImportError, or TypeError from protobuf for old generated code
            reason = ('%s: %s' % (type(exc).__name__, exc)).splitlines()[0] + adapter.failure_hint()
            failures.append(MissingLibraryError(adapter.LABEL, traceback.format_exc(), reason=reason))
    if len(failures) == 1:
        raise failures[0]
    raise MissingLibraryError('etcd-sdk-python (pyetcd) or etcd3', '\n'.join(f.exception_text or '' for f in failures),
                              reason='; '.join('%s: %s' % (f.library, f.reason) for f in failures))


def _b(value):
    return value if isinstance(value, bytes) else value.encode('utf-8')


def _text(key):
    """A key in a message: bytes that are not UTF-8 escaped (backslashreplace)."""
    return key.decode('utf-8', 'backslashreplace') if isinstance(key, bytes) else key


def prefix_range_end(prefix):
    """The ``range_end`` that selects every key starting with ``prefix`` (bytes)."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xff:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b'\0'


def _keys_text(keys):
    keys, more = sorted(_text(k) for k in keys), len(keys) - _MAX_KEYS_IN_MSG
    return ', '.join(keys[:_MAX_KEYS_IN_MSG]) + (' ... and %d more' % more if more > 0 else '')


def parse_endpoint(text, tls_default=False):
    """``http://h:p`` / ``https://h:p`` / ``h:p`` -> (url, host, port, secure).

    Credentials in an endpoint (``user:password@``) are refused, and no message shows them.
    """
    bad = 'invalid etcd endpoint %r: expected http://host:port or https://host:port'
    if not isinstance(text, str) or not text.strip():
        raise EtcdError('invalid etcd endpoint %r: expected a URL such as http://127.0.0.1:2379' % (text,))
    text = text.strip()
    if has_userinfo(text):
        raise EtcdError('etcd endpoint %r must not carry credentials (user:password@): remove them from the URL and '
                        'give etcd_user and etcd_password (or ETCDCTL_USER / ETCDCTL_PASSWORD)' % (redact_endpoint(text),))
    if '://' not in text:
        text = ('https://' if tls_default else 'http://') + text
    try:
        parts = urlsplit(text)
        host = parts.hostname
        if parts.scheme not in ('http', 'https') or not host or parts.path not in ('', '/'):
            raise ValueError(text)
    except ValueError:  # includes an unclosed or invalid IPv6 literal
        raise EtcdError(bad % (text,))
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise EtcdError('invalid etcd endpoint %r: bad port' % (text,))
    netloc = '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)
    return '%s://%s' % (parts.scheme, netloc), ('[%s]' % host if ':' in host else host), port, parts.scheme == 'https'


def _coded(error, code):
    error.grpc_code = code  # an attribute, not a detail: details become result keys
    return error


def _rpc_error(exc, grpc):
    """The gRPC error behind a library exception (both translate some codes into their
    own exception classes without the details, raised inside ``except RpcError``)."""
    while exc is not None and not isinstance(exc, grpc.RpcError):
        exc = exc.__context__
    return exc


# etcd's default --max-txn-ops: it counts every operation of a transaction, compares and reads too.
ETCD_MAX_TXN_OPS = 128


class EtcdClient:
    """One etcd cluster through one or more endpoints, each with its own connection. An
    operation goes to the endpoint that last answered; on one that is unreachable (or whose
    member cannot serve: no leader, leader changed) it is repeated on the next, round-robin
    with a short backoff, within about ``timeout`` seconds per endpoint."""

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
        self._endpoints = [parse_endpoint(e, tls_default) for e in endpoints]
        plain = [ep[0] for ep in self._endpoints if not ep[3]]
        if tls_default and plain:  # certificates given for TLS: never fall back to plaintext silently
            raise EtcdError('etcd certificates are given, but %s %s plain http://: use https:// endpoints for TLS'
                            % (', '.join(plain), 'is' if len(plain) == 1 else 'are'))
        self.library, self._adapter, self._lib, self._grpc = _load(library)
        self._tls = dict(ca_cert=ca_cert, cert_cert=client_cert, cert_key=client_key)
        for what, path in (('etcd_ca_cert', ca_cert), ('etcd_client_cert', client_cert), ('etcd_client_key', client_key)):
            if path and not os.access(path, os.R_OK):
                raise EtcdError('cannot read %s %s' % (what, path))
        self._adapter.check_tls(any(ep[3] for ep in self._endpoints), ca_cert)
        self._user, self._password = user, password
        self._clients = [None] * len(self._endpoints)
        self._no_auth = False  # auth is not enabled on the cluster: go on without a token
        self._current = 0
        self._state_lock = threading.RLock()

    @property
    def endpoints(self):
        return [ep[0] for ep in self._endpoints]

    def close(self):
        with self._state_lock:
            clients, self._clients = self._clients, [None] * len(self._clients)
        for client in clients:
            if client is not None:
                client.close()

    # -- failover ----------------------------------------------------------------------------

    def _client(self, idx):
        """The adapter's Connection to endpoint ``idx``, built (and authenticated) on first use."""
        with self._state_lock:
            if self._clients[idx] is None:
                self._clients[idx] = self._build(idx, not self._no_auth and self._user)
            return self._clients[idx]

    def _build(self, idx, user):
        _url, host, port, secure = self._endpoints[idx]
        auth = dict(user=user, password=self._password or '') if user else {}
        try:
            return self._adapter.Connection(self._lib, host, port, secure, self._tls, auth, self.timeout,
                                            list(_GRPC_OPTIONS.items()))
        except Exception as exc:
            error = _rpc_error(exc, self._grpc)
            if user and error is not None:
                code = error.code().name
                if code in ('INVALID_ARGUMENT', 'UNAUTHENTICATED', 'PERMISSION_DENIED'):
                    raise EtcdError('etcd authentication failed for user %r at %s: %s'
                                    % (user, self._endpoints[idx][0], error.details()))
                if code == 'FAILED_PRECONDITION':  # "authentication is not enabled"
                    self._no_auth = True
                    return self._build(idx, None)
            raise

    def call(self, what, fn):
        """``fn(Connection)`` (the adapter's, see ``_adapter_pyetcd``) with failover; ``what``
        names the operation in errors."""
        n = len(self._endpoints)
        deadline = time.monotonic() + self.timeout * n
        failures, renewed = {}, set()
        delay, start = 0.1, self._current
        while True:
            for i in range(n):
                idx = (start + i) % n
                url = self._endpoints[idx][0]
                if time.monotonic() >= deadline:
                    break
                client = None
                try:
                    client = self._client(idx)
                    result = fn(client)
                except Exception as exc:
                    error = _rpc_error(exc, self._grpc)
                    if error is None:
                        raise
                    code, details = error.code().name, error.details() or ''
                    if code == 'UNAUTHENTICATED' and self._user and idx not in renewed:
                        renewed.add(idx)  # the token expired: a new client authenticates again
                        with self._state_lock:
                            if client is not None and self._clients[idx] is client:
                                # Not closed: other threads may be using it; unreferenced, it is.
                                self._clients[idx] = None
                        failures[url] = '%s: %s' % (code, details)
                        start = idx
                        break
                    if code in _RETRY_CODES:  # the channel reconnects by itself
                        failures[url] = '%s: %s' % (code, details)
                        continue
                    raise self._error(what, url, code, details)
                self._current = idx
                return result
            else:
                start = (start + 1) % n
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)
        text = '; '.join('%s (%s)' % item for item in failures.items()) or 'no endpoint answered'
        tls = any(w in text.lower() for w in ('ssl', 'handshake', 'certificate', 'tls'))
        raise _coded(EtcdError('etcd unreachable for %s within %.1fs%s: %s' % (
            what, self.timeout * n, ' (TLS failure: check etcd_ca_cert, etcd_client_cert and etcd_client_key)' * tls,
            text)), 'UNAVAILABLE')

    def _error(self, what, url, code, details):
        """The cause first, then the operation (``what`` may list keys)."""
        cause = '%s: %s' % (code, details)
        if code == 'PERMISSION_DENIED':
            cause = 'permission denied for user %r' % self._user
        elif code == 'UNAUTHENTICATED' or 'user name is empty' in details:
            cause = 'not authenticated (%s), set etcd_user/etcd_password' % details
        elif code == 'RESOURCE_EXHAUSTED' and 'larger than max' in details:
            cause = ('message too large: %s (etcd takes requests up to its --max-request-bytes, 1.5 MiB by default)'
                     % details)
        return _coded(EtcdError('etcd at %s: %s; refused %s' % (url, cause, what)), code)

    # -- reads ---------------------------------------------------------------------------------

    def get(self, key, revision=0):
        """``(value bytes, mod_revision)`` of ``key`` (at ``revision``), or None when absent."""
        kvs = self._range('get %s' % key, _b(key), None, revision=revision).kvs
        return (kvs[0].value, kvs[0].mod_revision) if kvs else None

    def _range(self, what, key, end, **fields):
        """A RangeResponse (``revision``, ``limit``, ``count_only``, ``keys_only``, ``min_mod_revision``)."""
        return self.call(what, lambda c: c.range(key, end, **fields))

    def count(self, prefix, min_mod_revision=0, revision=0):
        """``(keys under prefix [with mod_revision >= min_mod_revision], revision)``. etcd counts
        before it filters by mod_revision: that filter lists the keys that pass (``keys_only``)."""
        start = _b(prefix)
        fields = dict(keys_only=True, min_mod_revision=min_mod_revision) if min_mod_revision else dict(count_only=True)
        resp = self._range('count %s' % prefix, start, prefix_range_end(start), revision=revision, **fields)
        return (len(resp.kvs) if min_mod_revision else resp.count), resp.header.revision

    def read_prefix(self, prefix, page_size=1000):
        """``(revision, {key bytes: (value bytes, mod_revision)})`` of every key under ``prefix``: pages of
        ``page_size`` keys at the revision of the first, one snapshot (a page too large for gRPC
        is read again in halves). When etcd compacts that revision mid-read, the read starts
        over at a new one (as Kubernetes' reflector relists) with pages 4x larger (a shorter
        window), at most MAX_READ_RESTARTS times."""
        if page_size < 1:
            raise ValueError('page_size must be at least 1')
        start = _b(prefix)
        end = prefix_range_end(start)
        for restart in range(MAX_READ_RESTARTS + 1):
            pages = page_size * 4 ** restart
            revision, result, key, size = 0, {}, start, pages
            try:
                while True:
                    try:
                        resp = self._range('read %s' % prefix, key, end, limit=size, revision=revision)
                    except EtcdError as exc:
                        if getattr(exc, 'grpc_code', None) == 'RESOURCE_EXHAUSTED' and size > 1:
                            size = max(1, size // 2)
                            continue
                        raise
                    revision = revision or resp.header.revision
                    for kv in resp.kvs:
                        result[kv.key] = (kv.value, kv.mod_revision)  # bytes: a stray key need not be UTF-8
                    if not resp.more or not resp.kvs:
                        return revision, result
                    key, size = resp.kvs[-1].key + b'\0', pages
            except EtcdError as exc:
                if getattr(exc, 'grpc_code', None) != 'OUT_OF_RANGE':  # "required revision has been compacted"
                    raise
        raise _coded(EtcdError('etcd compacted the revision being read %d times in a row while reading %s: the '
                               'cluster compacts faster than the prefix can be read; retry, or compact less often'
                               % (MAX_READ_RESTARTS + 1, prefix)), 'OUT_OF_RANGE')

    # -- writes --------------------------------------------------------------------------------

    def txn(self, ops, lock=None):
        """Apply guarded ``ops`` in one transaction; return the revision after it. ``ops``:
        ``('create', key, value[, joined])`` (only if absent), ``('update', key, value, mod_revision)``,
        ``('delete', key, mod_revision)`` (only if the key still has that mod_revision). All or
        nothing: when a guard fails, ConflictError names the keys whose guards failed. A create
        ``joined`` to the previous one (no key read between them) shares its range guard "no key
        in [first, last]": one message instead of one per key.

        With ``lock`` (a held EtcdLock), the transaction also requires the lock key to be still
        ours (its create revision): a sync that lost its lock, say paused past the lease while
        another sync took it, writes nothing more. That failure raises ``lock.lost_error()``,
        never a ConflictError (a re-plan would be made under a lock we no longer hold)."""
        if not ops:
            raise ValueError('txn() needs at least one operation')
        guards = [(op[0], op[1], None, op[2]) if op[0] == 'delete' else
                  (op[0], op[1], _b(op[2]), op[3] if op[0] == 'update' else (len(op) > 3 and op[3]))
                  for op in ops]
        held_by = (lock.key, lock.revision) if lock is not None else None
        keys = [g[1] for g in guards]
        what = 'a transaction of %d operation(s) (%s)' % (len(ops), _keys_text(keys))
        attempts = []

        def send(c):
            attempts.append(1)
            return c.txn(guards, held_by)
        try:
            resp = self.call(what, send)
        except EtcdError as exc:
            # Committed all the same: a timed-out attempt applied before a later one was refused, or the
            # transaction that filled the quota (etcd applies it, then answers "database space exceeded"). Also a
            # lone attempt that timed out: the process may have been paused (SIGSTOP) past its deadline while
            # etcd answered; then the lock may be gone too, which matters more than a timeout.
            code = getattr(exc, 'grpc_code', None)
            landed = len(attempts) > 1 or code == 'RESOURCE_EXHAUSTED' or (held_by and code == 'UNAVAILABLE')
            if not landed:
                raise
            found, lock_kv, why = self._read_back(keys, lock_key=held_by and held_by[0])
            if found is None:
                # The result can then miss this one transaction's keys: say so rather than guess.
                exc.msg += ('; whether this transaction was applied is unknown: etcd did not answer %d reads of '
                            'its keys (the last: %s)' % (READ_BACK_TRIES, why.msg))
                raise
            revision = self._committed_by_us(guards, found, held_by, lock_kv)
            if revision:
                return revision
            if held_by and (lock_kv is None or lock_kv[1] != held_by[1]):
                raise lock.lost_error(lock_kv[0] if lock_kv else None)
            raise
        if resp.succeeded:
            return resp.header.revision
        # Which guards failed: read the keys (one request, only on a conflict). An earlier attempt may have been
        # applied before its endpoint failed: if every key holds what we wrote, at one revision, that was our write.
        found, lock_kv = self._read_keys(keys, lock_key=held_by and held_by[0])
        if len(attempts) > 1:
            revision = self._committed_by_us(guards, found, held_by, lock_kv)
            if revision:
                return revision
        # The lock is not ours (any more): stop, whichever compare failed. No re-plan under another's lock.
        if held_by and (lock_kv is None or lock_kv[1] != held_by[1]):
            raise lock.lost_error(lock_kv[0] if lock_kv else None)
        failed = [key for kind, key, _v, mod in guards
                  if (found[key] is not None if kind == 'create' else (found[key] is None or found[key][1] != mod))]
        raise ConflictError('etcd keys changed concurrently, nothing written by this transaction: %s'
                            % _keys_text(failed or keys), failed)

    def _committed_by_us(self, guards, found, held_by, lock_kv):
        """``_own_commit()``, and with a lock ``held_by`` (key, create revision), also made under it.
        ``lock_kv``: the lock key's ``(value, create_revision)`` now, or None. While the lock is
        still ours, the keys as they are now tell. Once it is gone, they tell nothing (the sync
        that took the lock after us may have rewritten, deleted, or written the same values
        again): the keys as they were at the last revision of our lock do."""
        key, ours = held_by or (None, 0)
        if held_by is not None and (lock_kv is None or lock_kv[1] != ours):
            try:
                end = self._lock_end(key, ours)
                found = dict((g[1], self._get_at(g[1], end - 1)) for g in guards)
            except EtcdError:  # compacted, or unreachable: not provably ours
                return None
        revision = _own_commit(guards, found)
        return revision if revision and revision > ours else None

    def _get_at(self, key, revision):
        kvs = self._range('get %s' % key, _b(key), None, revision=revision).kvs
        return (kvs[0].value, kvs[0].mod_revision) if kvs else None

    def _lock_end(self, key, ours):
        """The revision at which the lock key created at ``ours`` was gone: a bisection of its
        history (about log2 of the revisions since, one small read each)."""
        resp = self._range('get %s' % key, _b(key), None)
        low, high = ours, resp.header.revision + 1  # ours at low, gone at high
        while high - low > 1:
            middle = (low + high) // 2
            kvs = self._range('get %s' % key, _b(key), None, revision=middle).kvs
            if kvs and kvs[0].create_revision == ours:
                low = middle
            else:
                high = middle
        return high

    def _read_back(self, keys, lock_key=None):
        """``_read_keys()`` after a write whose outcome is unknown: ``(found, lock, None)``, or
        ``(None, None, why)`` when etcd does not answer it READ_BACK_TRIES times. The etcd that just
        failed to answer a write (a member busy with fsyncs, a database raising its space alarm) is
        often slow for the next request too, and a commit that goes unrecognised is missing from
        the result. A database over its quota refuses every transaction in etcd 3.4, also one that
        only reads: then the keys are read one by one (a range request, which no quota stops)."""
        why = None
        for attempt in range(READ_BACK_TRIES):
            if attempt:
                time.sleep(min(0.5 * attempt, self.timeout))
            try:
                if getattr(why, 'grpc_code', None) == 'RESOURCE_EXHAUSTED':
                    return self._read_keys_one_by_one(keys, lock_key) + (None,)
                return self._read_keys(keys, lock_key=lock_key) + (None,)
            except EtcdError as exc:
                why = exc
        return None, None, why

    def _read_keys_one_by_one(self, keys, lock_key=None):
        """What ``_read_keys()`` returns, from one range request per key, all at one revision."""
        at = [0]  # the revision of the first answer

        def kv_of(key):
            resp = self._range('get %s' % _text(_b(key)), _b(key), None, revision=at[0])
            at[0] = at[0] or resp.header.revision
            return resp.kvs[0] if resp.kvs else None
        found = {}
        for key in keys:
            kv = kv_of(key)
            found[key] = (kv.value, kv.mod_revision) if kv else None
        lock = kv_of(lock_key) if lock_key else None
        return found, ((lock.value, lock.create_revision) if lock else None)

    def _read_keys(self, keys, lock_key=None):
        """``({key: (value, mod_revision) or None}, lock)`` in one request; ``lock``: the
        ``(value, create_revision)`` of ``lock_key`` (None when absent or not asked)."""
        asked = list(keys) + ([lock_key] if lock_key else [])
        if len(asked) > ETCD_MAX_TXN_OPS:
            # A full transaction's keys plus the lock key: one read-only transaction of them all
            # would exceed etcd's --max-txn-ops (INVALID_ARGUMENT). Rare (a conflict, an unknown
            # outcome): read them one by one, at one revision.
            return self._read_keys_one_by_one(keys, lock_key)
        replies = self.call('read %d key(s) after a conflict' % len(asked), lambda c: c.get_many(asked))
        found = dict((k, r[:2] if r else None) for k, r in zip(keys, replies))
        lock = replies[-1] if lock_key else None
        return found, ((lock[0], lock[2]) if lock else None)

    # -- lock ----------------------------------------------------------------------------------

    def lock(self, name_key, ttl=30, timeout=30):
        """A context manager holding the lease-backed lock ``name_key`` (see ``_lock``)."""
        return hold_lock(self, name_key, ttl, timeout)


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
    return revisions.pop() if len(revisions) == 1 else None  # delete-only or mixed: not provably ours
