# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for etcd/_client: how a failed transaction is named in its error, and how one whose
outcome is unknown is read back."""

from __future__ import annotations

import socket

from types import SimpleNamespace

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import EtcdClient

pytest.importorskip("pyetcd")
grpc = pytest.importorskip("grpc")


def closed_port():
    """A loopback port that nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_transaction_that_fails_is_named_with_its_operations_and_sorted_keys():
    client = EtcdClient(["http://127.0.0.1:%d" % closed_port()], timeout=0.3, library="pyetcd")
    try:
        with pytest.raises(EtcdError) as err:
            client.txn([("create", b"/p/i/apis/b", b"{}"), ("update", "/p/i/apis/a", b"{}", 7),
                        ("delete", b"/p/i/apis/\xff", 3)])
    finally:
        client.close()
    assert err.value.msg.startswith(
        "etcd unreachable for a transaction of 3 operation(s) (/p/i/apis/\\xff, /p/i/apis/a, /p/i/apis/b) within ")


def test_a_large_transaction_names_its_first_keys_and_counts_the_others():
    client = EtcdClient(["http://127.0.0.1:%d" % closed_port()], timeout=0.3, library="pyetcd")
    ops = [("create", "/p/i/apis/k%03d" % i, b"{}") for i in range(12, 0, -1)]
    try:
        with pytest.raises(EtcdError) as err:
            client.txn(ops)
    finally:
        client.close()
    shown = ", ".join("/p/i/apis/k%03d" % i for i in range(1, 11))
    assert "a transaction of 12 operation(s) (%s ... and 2 more) within" % shown in err.value.msg


class _Refusal(grpc.RpcError):
    """A gRPC error as the libraries raise it: ``code()`` and ``details()``."""

    def __init__(self, code, details):
        super().__init__(details)
        self._code, self._details = getattr(grpc.StatusCode, code), details

    def code(self):
        return self._code

    def details(self):
        return self._details


class FullEtcd:
    """A connection to an etcd whose database just filled: the transaction is applied and
    answered "database space exceeded" (etcd applies the request that crosses the quota), and
    the first ``slow_reads`` reads of its keys time out."""

    def __init__(self, slow_reads):
        self.slow_reads, self.reads, self.store = slow_reads, 0, {}

    def txn(self, guards, held_by=None):
        for _kind, key, value, _mod in guards:
            self.store[key if isinstance(key, bytes) else key.encode()] = (value, 42, 42)
        raise _Refusal("RESOURCE_EXHAUSTED", "etcdserver: mvcc: database space exceeded")

    def get_many(self, keys):
        self.reads += 1
        if self.reads <= self.slow_reads:
            raise _Refusal("DEADLINE_EXCEEDED", "Deadline Exceeded")
        return [self.store.get(k if isinstance(k, bytes) else k.encode()) for k in keys]


class OverQuotaEtcd(FullEtcd):
    """etcd 3.4 over its quota: it refuses every transaction, also one that only reads; range
    requests are answered."""

    def __init__(self):
        super().__init__(slow_reads=0)
        self.ranges = []

    def get_many(self, keys):
        self.reads += 1
        raise _Refusal("RESOURCE_EXHAUSTED", "etcdserver: mvcc: database space exceeded")

    def range(self, key, end, revision=0, **_fields):
        self.ranges.append((key, revision))
        held = self.store.get(key)
        kvs = [SimpleNamespace(value=held[0], mod_revision=held[1], create_revision=held[2])] if held else []
        return SimpleNamespace(kvs=kvs, header=SimpleNamespace(revision=50))

    def close(self):
        pass


@pytest.mark.parametrize("slow_reads", [0, 1, 2])
def test_a_transaction_applied_by_a_full_etcd_is_recognised_though_the_first_reads_time_out(slow_reads):
    client = EtcdClient(["http://127.0.0.1:%d" % closed_port()], timeout=0.05, library="pyetcd")
    etcd = FullEtcd(slow_reads)
    client._client = lambda idx: etcd
    ops = [("create", "/p/i/apis/a", b"{}"), ("create", "/p/i/apis/b", b"{}", True)]
    assert client.txn(ops) == 42  # committed: the caller counts it
    assert etcd.reads == slow_reads + 1


def test_a_transaction_whose_outcome_cannot_be_read_says_so():
    client = EtcdClient(["http://127.0.0.1:%d" % closed_port()], timeout=0.05, library="pyetcd")
    etcd = FullEtcd(slow_reads=99)
    client._client = lambda idx: etcd
    with pytest.raises(EtcdError) as err:
        client.txn([("create", "/p/i/apis/a", b"{}")])
    assert etcd.reads == 3
    msg = err.value.msg
    assert msg.index("database space exceeded") < msg.index("/p/i/apis/a") < msg.index(
        "whether this transaction was applied is unknown: etcd did not answer 3 reads of its keys (the last: "
        "etcd unreachable for read 1 key(s) after a conflict within 0.1s: "), msg


def test_a_transaction_applied_by_an_etcd_over_its_quota_is_recognised_from_range_reads():
    client = EtcdClient(["http://127.0.0.1:%d" % closed_port()], timeout=0.05, library="pyetcd")
    etcd = OverQuotaEtcd()
    client._client = lambda idx: etcd
    assert client.txn([("create", "/p/i/apis/a", b"{}"), ("create", "/p/i/apis/b", b"{}", True)]) == 42
    assert etcd.reads == 1  # the transaction that reads is refused once, then each key is read
    assert etcd.ranges == [(b"/p/i/apis/a", 0), (b"/p/i/apis/b", 50)]  # at the revision of the first


class StrictEtcd(OverQuotaEtcd):
    """A full etcd that still answers read-only transactions, but, like etcd, refuses one of
    more than --max-txn-ops (128) operations."""

    def get_many(self, keys):
        self.reads += 1
        if len(keys) > 128:
            raise _Refusal("INVALID_ARGUMENT", "etcdserver: too many operations in txn request")
        return [self.store.get(k if isinstance(k, bytes) else k.encode()) for k in keys]


def test_a_full_transaction_is_read_back_within_etcds_operation_limit():
    """128 creates and the lock key are 129 reads: more than one transaction may hold, so they
    are read one by one, and the commit is still recognised."""
    client = EtcdClient(["http://127.0.0.1:%d" % closed_port()], timeout=0.05, library="pyetcd")
    etcd = StrictEtcd()
    etcd.store[b"/p/i/lock"] = (b"this-host", 1, 1)
    lock = SimpleNamespace(key=b"/p/i/lock", revision=1)
    client._client = lambda idx: etcd
    ops = [("create", "/p/i/apis/a%03d" % i, b"{}", i > 0) for i in range(128)]
    assert client.txn(ops, lock=lock) == 42
    assert etcd.reads == 0 and len(etcd.ranges) == 129  # each key, then the lock key
