# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The per-instance lock of a sync: a key created only if absent, on a lease kept alive
while it is held, so that a holder that dies frees it within the lease's TTL.

Our own rather than a library's: python-etcd3's ``Lock.acquire()`` crashes with tenacity
>= 7 when it must wait. It speaks to the adapter's ``Connection`` (``grant_lease``,
``put_if_absent``, ``refresh_lease``, ``delete_if_revision``, ``revoke_lease``) through
``EtcdClient.call`` (failover, renewal).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import os
import socket
import threading
import time
import uuid

from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError


@contextlib.contextmanager
def hold_lock(client, name_key, ttl=30, timeout=30):
    """Hold ``name_key`` for the ``with`` block; wait at most ``timeout`` s for another holder
    (EtcdError after). Yields an EtcdLock whose ``lost`` becomes true if the lease lapsed."""
    held = EtcdLock(client, name_key, ttl)
    held.acquire(timeout)
    try:
        yield held
    finally:
        held.release()


class EtcdLock:
    """A lease-backed lock key; see ``hold_lock``. ``revision`` is the create revision of our key
    while we hold it: a key of another holder (or ours re-created) always has another one, so
    ``EtcdClient.txn(..., lock=)`` makes writes conditional on it."""

    def __init__(self, client, key, ttl):
        self.client, self.key, self.ttl = client, key, max(2, int(ttl))
        self.value = ('%s:%d:%s' % (socket.gethostname(), os.getpid(), uuid.uuid4().hex)).encode('utf-8')
        self.lease_id = self.revision = self.holder = None
        self._lost, self._stop, self._thread = threading.Event(), threading.Event(), None

    @property
    def lost(self):
        return self._lost.is_set()

    def lost_error(self, holder=None):
        """The EtcdError that stops a sync whose lock is gone (``holder``: the value of the key
        that now stands in its place, if any)."""
        self._lost.set()
        holder = holder.decode('utf-8', 'replace') if isinstance(holder, bytes) else holder
        return EtcdError('lost the etcd lock %s in the middle of the sync: %s; nothing more was written '
                         '(the result lists what was); re-run the sync'
                         % (self.key, 'another sync holds it (%s)' % holder if holder else
                            'its lease expired or the key was deleted (a pause or a cut from etcd longer than '
                            'its %ds TTL)' % self.ttl), lock_holder=holder)

    def acquire(self, timeout):
        client = self.client
        self.lease_id = client.call('grant a lease', lambda c: c.grant_lease(self.ttl))
        self._thread = threading.Thread(target=self._keepalive, name='etcd-lock-keepalive')
        self._thread.daemon = True
        self._thread.start()

        def take(c):
            return c.put_if_absent(self.key, self.value, self.lease_id)
        deadline, delay = time.monotonic() + float(timeout), 0.05
        try:
            while True:
                ok, revision, current = client.call('take the lock %s' % self.key, take)
                if ok:
                    self.revision = revision
                    return
                if current and current[0] == self.value:  # our own put, applied before a failover
                    self.revision = current[1]
                    return
                self.holder = current[0].decode('utf-8', 'replace') if current else None
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
        interval, last_ok = max(0.5, self.ttl / 3.0), time.monotonic()
        while not self._stop.wait(interval):
            try:
                if self.client.call('keep a lease alive', lambda c: c.refresh_lease(self.lease_id)) <= 0:
                    self._lost.set()
                    return
                last_ok = time.monotonic()
            except Exception:
                if time.monotonic() - last_ok >= self.ttl:
                    self._lost.set()
                    return

    def release(self):
        """Delete our key (if still ours) and revoke the lease; errors are ignored: the lease
        expires on its own within ``ttl``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.client.timeout + 1)
            self._thread = None
        if self.lease_id is None:
            return

        def delete(c):  # only our own key: another holder's has another revision
            c.delete_if_revision(self.key, self.revision)
        for what, fn in (('release the lock %s' % self.key, delete if self.revision else None),
                         ('revoke a lease', lambda c: c.revoke_lease(self.lease_id))):
            try:
                if fn is not None:
                    self.client.call(what, fn)
            except Exception:  # NOT_FOUND: already expired or revoked
                pass
        self.lease_id = self.revision = None
