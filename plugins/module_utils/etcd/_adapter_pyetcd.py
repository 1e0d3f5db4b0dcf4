# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The adapter of ``etcd-sdk-python`` (``import pyetcd``), a maintained fork of python-etcd3.

With ``_adapter_etcd3`` the only file that reaches below a library's public API; the
client policy (failover, re-authentication, commit resolution) and the lock above it
(``_client``, ``_lock``) speak only to ``Connection``: one endpoint, one library client.

Internals used, and why:

- ``client.kvstub.Txn`` with a ``TxnRequest`` filled in place from the library's generated
  ``etcdrpc`` messages (``Connection.txn``): the public ``transaction()`` builds every
  comparison and operation as an object, then a message, then copies it: most of a bulk
  sync's CPU would go there.
- ``client.call_credentials`` set to None on plaintext endpoints: the library sends the
  token both as metadata and as call credentials, which gRPC refuses without TLS.

Everything else is public: ``Endpoint``, ``MultiEndpointEtcd3Client``,
``get_range_response``, ``transaction``, ``lease``, ``refresh_lease``, ``revoke_lease``.

Tested with etcd-sdk-python 0.0.7 (requirements.txt: >= 0.0.7) and protobuf >= 5.27.2.
python-etcd3 has the same client API but for two points, so its adapter subclasses
``Connection`` and replaces those (``_connect``, ``range``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

MODULE = 'pyetcd'
LABEL = 'etcd-sdk-python'


def load():
    """The library module (ImportError, or protobuf's TypeError, when it cannot be used)."""
    import pyetcd
    return pyetcd


def failure_hint():
    """Words to add to an import failure's reason."""
    return ''


def check_tls(secure, ca_cert):
    """Nothing to refuse: without ``ca_cert`` the client trusts the system's CAs."""


def _b(value):
    return value if isinstance(value, bytes) else value.encode('utf-8')


def _read(path):
    with open(path, 'rb') as handle:
        return handle.read()


class Connection:
    """One etcd endpoint through one library client. Constructing it connects (and, with
    ``auth``, authenticates): a gRPC error then comes out of the constructor."""

    def __init__(self, lib, host, port, secure, tls, auth, timeout, options):
        """``tls``: ``ca_cert``, ``cert_cert``, ``cert_key`` paths (or None); ``auth``: ``user``
        and ``password``, or empty; ``options``: gRPC channel options, (name, value) pairs."""
        self._rpc = lib.etcdrpc
        self.client = self._connect(lib, host, port, secure, tls, auth, timeout, options)
        if not secure:  # the token goes as metadata and as call credentials, refused by gRPC on plaintext
            self.client.call_credentials = None

    def _connect(self, lib, host, port, secure, tls, auth, timeout, options):
        creds = None
        if secure:  # the Endpoint takes channel credentials: the system's CAs when no ca_cert is given
            import grpc
            files = dict((k, _read(v) if v else None) for k, v in tls.items())
            creds = grpc.ssl_channel_credentials(files['ca_cert'], files['cert_key'], files['cert_cert'])
        # time_retry=0: never refuse this member after a failure; failover is the caller's.
        endpoint = lib.Endpoint(host, port, secure=secure, creds=creds, time_retry=0, opts=options)
        return lib.MultiEndpointEtcd3Client([endpoint], timeout=timeout, **auth)

    def close(self):
        self.client.close()

    # -- key-value -------------------------------------------------------------------------------

    def range(self, key, end, **fields):
        """etcd's RangeResponse for ``[key, end)`` (``end`` None: the key alone); ``fields``:
        any of ``revision``, ``limit``, ``count_only``, ``keys_only``, ``min_mod_revision``."""
        return self.client.get_range_response(key, end, **fields)

    def txn(self, guards, held_by=None):
        """etcd's TxnResponse (``succeeded``, ``header.revision``) of the guarded writes
        ``guards`` (see ``txn_request``)."""
        c = self.client
        return c.kvstub.Txn(self.txn_request(guards, held_by), c.timeout, credentials=c.call_credentials,
                            metadata=c.metadata)

    def txn_request(self, guards, held_by=None):
        """The TxnRequest of ``guards``: ``(kind, key, value bytes, revision)`` with kind
        ``create`` (revision: joined to the previous create), ``update`` (the mod_revision
        read) or ``delete`` (value None). With ``held_by`` ``(lock key, create revision)``,
        first of all the compare that the lock is still that key. Joined creates share one
        compare, "no key in [first, last]"."""
        rpc = self._rpc
        request = rpc.TxnRequest()
        add_compare, add_success = request.compare.add, request.success.add
        version, mod, equal, less = rpc.Compare.VERSION, rpc.Compare.MOD, rpc.Compare.EQUAL, rpc.Compare.LESS
        if held_by:
            add_compare(key=_b(held_by[0]), target=rpc.Compare.CREATE, result=equal, create_revision=held_by[1])
        run = []  # joined creates, guarded together by "no key in [first, last]"
        for kind, key, value, revision in guards + [(None, None, None, None)]:
            if run and not (kind == 'create' and revision):
                # version < 1 over a range holds when no key exists in it (etcd >= 3.3).
                add_compare(key=run[0], range_end=run[-1] + b'\0', target=version, result=less, version=1)
                run = []
            if kind is None:
                break
            if kind == 'create':
                run.append(_b(key))
            if kind == 'delete':
                add_compare(key=_b(key), target=mod, result=equal, mod_revision=revision)
                add_success().request_delete_range.key = _b(key)
                continue
            if kind == 'update':
                add_compare(key=_b(key), target=mod, result=equal, mod_revision=revision)
            put = add_success().request_put
            put.key = _b(key)
            put.value = value
        return request

    def get_many(self, keys):
        """For each of ``keys``, read in one transaction: ``(value, mod_revision, create_revision)``,
        or None when absent."""
        t = self.client.transactions
        replies = self.client.transaction([], [t.get(k) for k in keys], [])[1]
        return [(r[0][0], r[0][1].mod_revision, r[0][1].create_revision) if r else None for r in replies]

    # -- leases and the lock key -----------------------------------------------------------------

    def grant_lease(self, ttl):
        return self.client.lease(ttl).id

    def refresh_lease(self, lease_id):
        """The lease's remaining TTL; 0 or less when it is gone."""
        replies = list(self.client.refresh_lease(lease_id))
        return replies[0].TTL if replies else 0

    def revoke_lease(self, lease_id):
        self.client.revoke_lease(lease_id)

    def put_if_absent(self, key, value, lease_id):
        """``(True, revision of the put, None)`` when ``key`` was absent and now holds ``value`` on
        the lease; else ``(False, None, (value, create_revision) of the key, or None)``."""
        c = self.client
        t = c.transactions
        ok, replies = c.transaction([t.version(key) == 0], [t.put(key, value, lease=lease_id)], [t.get(key)])
        if ok:
            return True, replies[0].response_put.header.revision, None
        current = replies[0][0] if replies[0] else None
        return False, None, (current[0], current[1].create_revision) if current else None

    def delete_if_revision(self, key, mod_revision):
        """Delete ``key`` only while it still has ``mod_revision``."""
        t = self.client.transactions
        self.client.transaction([t.mod(key) == mod_revision], [t.delete(key)], [])
