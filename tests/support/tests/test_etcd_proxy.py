# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The gRPC proxies of apigw_support.etcd_proxy, in front of a real etcd member."""

from __future__ import annotations

import time

import pyetcd

from apigw_support.etcd import etcd_single
from apigw_support.etcd_proxy import ContestingProxy, DelayingProxy


def _client(endpoint):
    host, port = endpoint.split('//')[1].rsplit(':', 1)
    return pyetcd.client(host, int(port), timeout=10)


def test_the_delaying_proxy_forwards_every_call_after_its_round_trip_and_counts_them(tmp_path):
    with etcd_single(str(tmp_path)) as etcd:
        with DelayingProxy(etcd.endpoints[0], rtt=0.2) as proxy:
            client = _client(proxy.endpoint)
            start = time.monotonic()
            client.put('/proxy/a', 'one')
            put_took = time.monotonic() - start
            value, _meta = client.get('/proxy/a')
            client.close()
        assert put_took >= 0.2  # a lower bound: a proxy that does not wait cannot pass it
        assert value == b'one'
        assert proxy.calls == {'Put': 1, 'Range': 1}
        # out of band, straight from etcd
        assert etcd.etcdctl(['get', '/proxy/a', '--print-value-only']).strip() == 'one'


def test_the_contesting_proxy_writes_a_contested_key_before_a_transaction_on_it(tmp_path):
    with etcd_single(str(tmp_path)) as etcd:
        with ContestingProxy(etcd.endpoints[0], ['/proxy/contested']) as proxy:
            client = _client(proxy.endpoint)
            put = client.transactions.put
            client.transaction([], [put('/proxy/free', 'mine')], [])
            ok, _responses = client.transaction(
                [client.transactions.version('/proxy/contested') == 0], [put('/proxy/contested', 'mine')], [])
            client.close()
        assert not ok  # someone else's write came first, every time
        assert proxy.interventions == 1
        assert proxy.calls == {'Txn': 2}
        assert etcd.etcdctl(['get', '/proxy/contested', '--print-value-only']).strip() == 'someone else 1'
        assert etcd.etcdctl(['get', '/proxy/free', '--print-value-only']).strip() == 'mine'
