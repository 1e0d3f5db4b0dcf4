# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for etcd/_client: how a failed transaction is named in its error."""

from __future__ import annotations

import socket

import pytest

from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import EtcdClient

pytest.importorskip("pyetcd")


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
