# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The etcd-mode engine (_etcd_client + _etcd_sync) against real etcd servers.

Every outcome is checked out of band with etcdctl (apigw_support.etcd), never with the code under
test. In-process tests use pyetcd; python-etcd3 cannot share a process with it, so it is
proven in a subprocess (test_etcd3_library_in_subprocess).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request

import grpc
import pytest

from apigw_support.etcd import etcd_cluster, etcd_single, USER_PASSWORD, ROOT_PASSWORD
from apigw_support.routes import desired_routes

from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    ConflictError,
    EtcdError,
    MissingLibraryError,
    ValidationError,
)
from ansible_collections.apigw.router.plugins.module_utils.etcd import _client as etcd_client_module
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import EtcdClient
from ansible_collections.apigw.router.plugins.module_utils.etcd._sync import inspect, lock_key, sync
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import (
    canonical_json,
    manifest,
    manifest_key,
    routes_prefix,
)

PREFIX = '/apig/router'
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# -- helpers --------------------------------------------------------------------------------

def api(i, tag='v1', pad=0):
    return {
        'id': 'api%05d' % i, 'name': 'api-%d-%s%s' % (i, tag, 'x' * pad), 'group_id': 'g1', 'group_name': 'group',
        'type': 1, 'req_protocol': 'HTTPS', 'req_method': 'GET', 'req_uri': '/v1/items/%d' % i,
        'match_mode': 'NORMAL', 'auth_type': 'APP', 'backend_type': 'HTTP', 'cors': False,
        'run_env_id': 'DEFAULT_ENVIRONMENT_RELEASE_ID', 'run_env_name': 'RELEASE', 'publish_id': 'p%d' % i,
        'backend_api': {'req_protocol': 'HTTP', 'req_method': 'GET', 'req_uri': '/items/%d' % i,
                        'url_domain': 'backend.local', 'timeout': 5000, 'retry_count': '-1'},
        'register_time': '2024-01-01T00:00:00Z',
    }


def routes(instance, ids, tag='v1', pad=0):
    return desired_routes([api(i, tag, pad) for i in ids], PREFIX, instance)


def ids_of(desired):
    return sorted(k.rsplit('/', 1)[1] for k in desired)


def instance_dump(cluster, instance):
    return cluster.dump('%s/%s/' % (PREFIX, instance))


def expected_state(instance, desired):
    state = dict(desired)
    state[manifest_key(PREFIX, instance)] = canonical_json(manifest(desired))
    return state


class Interfering:
    """Wraps an EtcdClient; ``before_txn(n, ops)`` runs before the n-th (1-based) txn. A sync
    sends some transactions from several threads at once (etcd/_pipeline.py): n counts the
    order in which they were started."""

    def __init__(self, client, before_txn):
        self._client = client
        self._before = before_txn
        self._counting = threading.Lock()
        self.txns = 0
        self.conflicts = 0
        self.revisions = []
        self.at_once = self.most_at_once = 0  # transactions being sent at the same moment

    def __getattr__(self, name):
        return getattr(self._client, name)

    def txn(self, ops, lock=None):
        with self._counting:
            self.txns += 1
            n = self.txns
            # Counted from here: a ``before_txn`` that waits keeps its transaction in flight.
            self.at_once += 1
            self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            self._before(n, ops)
            rev = self._client.txn(ops, lock=lock)
        except ConflictError:
            with self._counting:
                self.conflicts += 1
            raise
        finally:
            with self._counting:
                self.at_once -= 1
        with self._counting:
            self.revisions.append((rev, len(ops)))
        return rev


@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd1')) as cluster:
        yield cluster


@pytest.fixture
def client(etcd):
    c = EtcdClient(etcd.endpoints, library='pyetcd', timeout=5)
    yield c
    c.close()


# -- basic sync behaviour -------------------------------------------------------------------

def test_first_sync_writes_exactly_routes_and_manifest(etcd, client):
    desired = routes('first', range(1, 11))
    result = sync(client, 'first', desired, key_prefix=PREFIX)
    assert result['changed'] is True
    assert result['created'] == ids_of(desired)
    assert result['updated'] == [] and result['deleted'] == [] and result['unchanged'] == 0
    assert result['manifest'] == manifest(desired) and result['manifest']['count'] == 10
    kvs = etcd.dump_kvs('%s/first/' % PREFIX)
    # One transaction wrote routes and manifest; the lock's release came after it.
    assert set(mod for _v, mod in kvs.values()) == {result['revision']}
    assert etcd.revision() == result['revision'] + 1
    state = instance_dump(etcd, 'first')
    assert state == expected_state('first', desired)  # exactly: no lock key left, nothing else
    assert state[manifest_key(PREFIX, 'first')] == canonical_json(manifest(desired))
    assert 'first' in result['msg'] and '10 created' in result['msg']


def test_noop_resync_writes_nothing(etcd, client):
    desired = routes('noop', range(1, 21))
    sync(client, 'noop', desired, key_prefix=PREFIX)
    before = etcd.revision()
    result = sync(client, 'noop', desired, key_prefix=PREFIX)
    assert etcd.revision() == before  # not even the lock key was written
    assert result['changed'] is False
    assert (result['created'], result['updated'], result['deleted']) == ([], [], [])
    assert result['unchanged'] == 20
    assert result['revision'] == before
    assert instance_dump(etcd, 'noop') == expected_state('noop', desired)


def test_drift_is_healed_exactly(etcd, client):
    desired = routes('drift', range(1, 11))
    sync(client, 'drift', desired, key_prefix=PREFIX)
    base = '%s/drift/apis/' % PREFIX
    etcd.put(base + 'api00003', '{"hand":"edited"}')
    etcd.delete(base + 'api00005')
    etcd.put(base + 'stray01', 'x')
    etcd.put(base + 'not an id!', 'y')  # a stray key that is not even a valid id
    etcd.put('%s/drift/notes' % PREFIX, 'foreign')  # outside apis/: never touched
    before_rev = etcd.revision()
    result = sync(client, 'drift', desired, key_prefix=PREFIX, diff=True)
    assert result['changed'] is True
    assert result['updated'] == ['api00003']
    assert result['created'] == ['api00005']
    assert sorted(result['deleted']) == sorted(['stray01', base + 'not an id!'])
    assert result['unchanged'] == 8
    state = instance_dump(etcd, 'drift')
    assert state.pop('%s/drift/notes' % PREFIX) == b'foreign'
    assert state == expected_state('drift', desired)
    # routes and manifest in one transaction (3 ops + manifest), plus lock put and release
    assert etcd.revision() - before_rev == 3
    diff = result['diff']
    assert diff['before'][base + 'api00003'] == {'hand': 'edited'}
    assert diff['after'][base + 'api00003'] == json.loads(desired[base + 'api00003'])
    assert base + 'stray01' in diff['before'] and base + 'stray01' not in diff['after']
    assert base + 'api00005' in diff['after']


def test_check_mode_writes_nothing_but_reports_the_plan(etcd, client):
    desired = routes('check', range(1, 6))
    sync(client, 'check', desired, key_prefix=PREFIX)
    etcd.put('%s/check/apis/api00002' % PREFIX, 'changed by hand')
    etcd.put('%s/check/apis/extra' % PREFIX, 'x')
    new = routes('check', range(1, 8))
    state = instance_dump(etcd, 'check')
    rev = etcd.revision()
    result = sync(client, 'check', new, key_prefix=PREFIX, check_mode=True, diff=True)
    assert etcd.revision() == rev and instance_dump(etcd, 'check') == state
    assert result['changed'] is True
    assert result['created'] == ['api00006', 'api00007']
    assert result['updated'] == ['api00002']
    assert result['deleted'] == ['extra']
    assert result['unchanged'] == 4
    assert result['revision'] == rev
    assert 'would be' in result['msg']
    mkey = manifest_key(PREFIX, 'check')
    assert result['diff']['after'][mkey] == manifest(new)
    assert result['diff']['before'][mkey] == manifest(desired)
    # In sync: check mode reports no change.
    sync(client, 'check', new, key_prefix=PREFIX)
    again = sync(client, 'check', new, key_prefix=PREFIX, check_mode=True)
    assert again['changed'] is False and again['unchanged'] == 7


def test_manifest_alone_is_repaired(etcd, client):
    desired = routes('mani', range(1, 4))
    sync(client, 'mani', desired, key_prefix=PREFIX)
    etcd.put(manifest_key(PREFIX, 'mani'), '{"schema":1,"count":99,"sha256":"bad"}')
    result = sync(client, 'mani', desired, key_prefix=PREFIX)
    assert result['changed'] is True and result['created'] == result['updated'] == result['deleted'] == []
    assert 'manifest rewritten' in result['msg']
    assert instance_dump(etcd, 'mani') == expected_state('mani', desired)


def test_empty_source_needs_allow_empty(etcd, client):
    desired = routes('empty', range(1, 6))
    sync(client, 'empty', desired, key_prefix=PREFIX)
    state = instance_dump(etcd, 'empty')
    with pytest.raises(ValidationError) as err:
        sync(client, 'empty', {}, key_prefix=PREFIX)
    assert 'allow_empty' in err.value.msg
    assert instance_dump(etcd, 'empty') == state
    result = sync(client, 'empty', {}, key_prefix=PREFIX, allow_empty=True)
    assert result['deleted'] == ids_of(desired) and result['changed'] is True
    assert instance_dump(etcd, 'empty') == expected_state('empty', {})
    assert result['manifest']['count'] == 0
    # An empty source on an empty instance is fine without allow_empty.
    assert sync(client, 'empty', {}, key_prefix=PREFIX)['changed'] is False


def test_prune_false_keeps_extra_routes(etcd, client):
    sync(client, 'noprune', routes('noprune', range(1, 4)), key_prefix=PREFIX)
    result = sync(client, 'noprune', routes('noprune', range(3, 6)), key_prefix=PREFIX, prune=False)
    assert result['created'] == ['api00004', 'api00005'] and result['deleted'] == []
    keys = sorted(k for k in instance_dump(etcd, 'noprune') if '/apis/' in k)
    assert [k.rsplit('/', 1)[1] for k in keys] == ['api0000%d' % i for i in range(1, 6)]


def test_foreign_keys_are_never_touched(etcd, client):
    foreign = {
        '%s/foreign/notes' % PREFIX: b'a',
        '%s/foreign/apisX/api00001' % PREFIX: b'sibling prefix',
        '%s/foreign/apis' % PREFIX: b'the prefix without slash',
        '%s/other/apis/api00001' % PREFIX: b'another instance',
        '/elsewhere/apis/api00001': b'elsewhere',
    }
    for k, v in foreign.items():
        etcd.put(k, v)
    sync(client, 'foreign', routes('foreign', range(1, 4)), key_prefix=PREFIX)
    sync(client, 'foreign', {}, key_prefix=PREFIX, allow_empty=True)
    for k, v in foreign.items():
        assert etcd.dump(k)[k] == v


def test_inspect_reports_count_manifest_records_and_drift(etcd, client):
    desired = routes('info', range(1, 6))
    empty = inspect(client, 'info', PREFIX, desired=desired)
    assert empty['count'] == 0 and empty['manifest'] is None and empty['in_sync'] is False
    assert empty['drift']['create'] == ids_of(desired)
    sync(client, 'info', desired, key_prefix=PREFIX)
    rev = etcd.revision()
    info = inspect(client, 'info', PREFIX, desired=desired, records=True)
    assert info['count'] == 5 and info['manifest'] == manifest(desired) and info['revision'] == rev
    assert info['in_sync'] is True and info['drift'] == {'create': [], 'update': [], 'delete': []}
    assert [r['id'] for r in info['routes']] == ids_of(desired)
    etcd.put('%s/info/apis/api00002' % PREFIX, '{}')
    info = inspect(client, 'info', PREFIX, desired=routes('info', range(2, 7)))
    assert info['drift'] == {'create': ['api00006'], 'update': ['api00002'], 'delete': ['api00001']}
    assert info['in_sync'] is False
    assert 'routes' not in info and etcd.revision() == rev + 1


# -- transactions ---------------------------------------------------------------------------

def test_txn_batching_respects_max_txn_ops(etcd, client):
    desired = routes('batch', range(1, 301))
    spy = Interfering(client, lambda n, ops: None)
    result = sync(spy, 'batch', desired, key_prefix=PREFIX, max_txn_ops=50)
    assert result['created'] == ids_of(desired)
    kvs = etcd.dump_kvs('%s/batch/' % PREFIX)
    by_revision = {}
    for key, (_value, mod) in kvs.items():
        by_revision.setdefault(mod, []).append(key)
    # 301 operations (300 routes + manifest): 7 transactions, each one revision of <= 50 keys.
    assert len(by_revision) == 7 and spy.txns == 7
    assert max(len(keys) for keys in by_revision.values()) == 50
    assert sorted(by_revision) == sorted(rev for rev, _n in spy.revisions)
    last = max(by_revision)
    assert manifest_key(PREFIX, 'batch') in by_revision[last]
    assert result['revision'] == last


def test_txn_batching_leaves_room_for_the_lock_compare(etcd, client):
    # 300 updates: one guard each, plus the lock's compare; etcd counts compares against its
    # --max-txn-ops (128 here, as by default), so at most 127 updates go in one transaction.
    sync(client, 'relock', routes('relock', range(1, 301)), key_prefix=PREFIX)
    desired = routes('relock', range(1, 301), tag='v2')
    spy = Interfering(client, lambda n, ops: None)
    result = sync(spy, 'relock', desired, key_prefix=PREFIX, max_txn_ops=128)
    assert len(result['updated']) == 300 and [n for _rev, n in spy.revisions] == [127, 127, 47]
    assert instance_dump(etcd, 'relock') == expected_state('relock', desired)


def test_txn_batching_respects_request_size(etcd, client):
    # 150 routes of ~20 KB: 128 of them in one transaction would exceed etcd's 1.5 MiB limit.
    desired = routes('big', range(1, 151), pad=20000)
    assert sum(sorted(len(v) for v in desired.values())[:128]) > 1.5 * 1024 * 1024
    spy = Interfering(client, lambda n, ops: None)
    result = sync(spy, 'big', desired, key_prefix=PREFIX)
    assert result['created'] == ids_of(desired) and spy.txns >= 3
    assert instance_dump(etcd, 'big') == expected_state('big', desired)


def test_conflict_is_detected_and_replanned(etcd, client):
    desired = routes('conflict', range(1, 11))
    target = '%s/conflict/apis/api00007' % PREFIX

    def before(n, ops):
        if n == 2:  # after the first transaction committed, someone creates one of our keys
            etcd.put(target, 'written concurrently')

    spy = Interfering(client, before)
    result = sync(spy, 'conflict', desired, key_prefix=PREFIX, max_txn_ops=4)
    assert spy.conflicts == 1
    # Only what committed is claimed: api00007 was created by someone else, we updated it.
    assert result['updated'] == ['api00007']
    assert result['created'] == [i for i in ids_of(desired) if i != 'api00007']
    assert instance_dump(etcd, 'conflict') == expected_state('conflict', desired)


def test_conflict_retries_are_bounded(etcd, client):
    desired = routes('conflict2', range(1, 4))
    sync(client, 'conflict2', desired, key_prefix=PREFIX)
    key = '%s/conflict2/apis/api00002' % PREFIX
    counter = [0]

    def before(n, ops):
        counter[0] += 1
        etcd.put(key, 'interference %d' % counter[0])

    etcd.put(key, 'drift')
    spy = Interfering(client, before)
    with pytest.raises(ConflictError) as err:
        sync(spy, 'conflict2', desired, key_prefix=PREFIX, max_conflict_retries=2)
    assert err.value.keys == [key] and key in err.value.msg
    assert spy.txns == 3 and spy.conflicts == 3
    assert 'created' not in err.value.details  # nothing committed, nothing claimed
    assert etcd.dump(key)[key] == b'interference 3'


def test_failed_later_transaction_reports_what_committed(etcd, client):
    desired = routes('partial', range(1, 9))

    def before(n, ops):
        if n == 2:
            raise EtcdError('simulated outage')

    with pytest.raises(EtcdError) as err:
        sync(Interfering(client, before), 'partial', desired, key_prefix=PREFIX, max_txn_ops=4)
    details = err.value.details
    kvs = etcd.dump_kvs('%s/partial/' % PREFIX)
    written = sorted(k.rsplit('/', 1)[1] for k in kvs)
    assert details['created'] == written == ['api0000%d' % i for i in range(1, 5)]
    assert details['changed'] is True and set(mod for _v, mod in kvs.values()) == {details['revision']}
    # No lock was left behind, and the next sync finishes the job.
    result = sync(client, 'partial', desired, key_prefix=PREFIX)
    assert result['created'] == ['api0000%d' % i for i in range(5, 9)] and result['unchanged'] == 4


class _Unavailable(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.UNAVAILABLE

    def details(self):
        return 'simulated: connection lost after the request was sent'


class LosesFirstTxnReply(EtcdClient):
    """The first transaction is applied by etcd, but its reply is lost (as when a member dies)."""

    lose = 1
    after_applied = None  # runs between the applied attempt and its retry

    def call(self, what, fn):
        if not what.startswith('a transaction') or not self.lose:
            return EtcdClient.call(self, what, fn)
        self.lose -= 1
        first = [True]

        def applied_then_lost(client):
            resp = fn(client)
            if first[0]:
                first[0] = False
                if self.after_applied is not None:
                    self.after_applied()
                raise _Unavailable()
            return resp
        return EtcdClient.call(self, what, applied_then_lost)


def test_retried_write_whose_reply_was_lost(etcd):
    c = LosesFirstTxnReply(etcd.endpoints, library='pyetcd')
    desired = routes('lost', range(1, 6))
    # The retry's guards fail because of our own first attempt: recognised, not a conflict.
    result = sync(c, 'lost', desired, key_prefix=PREFIX)
    assert result['created'] == ids_of(desired)
    kvs = etcd.dump_kvs('%s/lost/' % PREFIX)
    assert set(mod for _v, mod in kvs.values()) == {result['revision']}
    # A delete-only transaction cannot be proven ours: reported as a conflict, never claimed.
    key = '%s/lost/apis/api00001' % PREFIX
    c.lose = 1
    with pytest.raises(ConflictError) as err:
        c.txn([('delete', key, kvs[key][1])])
    assert err.value.keys == [key] and key not in etcd.dump(key)
    c.close()


# -- lock -----------------------------------------------------------------------------------

def test_lock_serialises_two_syncs(etcd):
    windows = {}
    results = {}
    errors = []

    class Slow(Interfering):
        def lock(self, *args, **kwargs):
            outer = self._client.lock(*args, **kwargs)
            name = self.name

            class Timed:
                def __enter__(self):
                    held = outer.__enter__()
                    windows[name] = [time.monotonic(), None]
                    return held

                def __exit__(self, *exc):
                    windows[name][1] = time.monotonic()
                    return outer.__exit__(*exc)
            return Timed()

    def run(name, ids):
        c = EtcdClient(etcd.endpoints, library='pyetcd')
        spy = Slow(c, lambda n, ops: time.sleep(0.05))
        spy.name = name
        try:
            results[name] = (sync(spy, 'locked', routes('locked', ids, tag=name), key_prefix=PREFIX,
                                  max_txn_ops=10), spy.conflicts)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=run, args=('a', range(1, 61))),
               threading.Thread(target=run, args=('b', range(31, 91)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    (a0, a1), (b0, b1) = windows['a'], windows['b']
    assert a1 <= b0 or b1 <= a0, 'the two syncs held the lock at the same time'
    assert results['a'][1] == results['b'][1] == 0  # serialised: no conflicts at all
    second = 'b' if b0 > a0 else 'a'
    ids = range(1, 61) if second == 'a' else range(31, 91)
    assert instance_dump(etcd, 'locked') == expected_state('locked', routes('locked', ids, tag=second))
    assert results[second][0]['deleted'] and results[second][0]['updated']


def _lease_of(etcd, key):
    return int(json.loads(etcd.etcdctl(['get', key, '-w', 'json']))['kvs'][0]['lease'])


@pytest.mark.parametrize('then', ['another-sync', 'another-holder'])
def test_a_sync_that_lost_its_lock_writes_nothing_more(etcd, client, then):
    """What a sync paused past its lease's TTL meets when it wakes up: its lock key gone, and
    another sync that ran meanwhile (or holds the lock now). Its next transaction is refused.
    (One transaction at a time, so that the pause falls between two of them; the same with
    several in flight: test_a_pipelined_sync_that_lost_its_lock_claims_exactly_what_committed.)"""
    instance = 'lost-%s' % then
    key, prefix = lock_key(PREFIX, instance), routes_prefix(PREFIX, instance)
    seen = {}

    def before(n, ops):
        if n != 3:
            return
        # The pause: the lease is gone (here revoked; the keep-alive, every TTL/3, has not seen it yet).
        etcd.etcdctl(['lease', 'revoke', '%x' % _lease_of(etcd, key)])
        if then == 'another-sync':  # ... and another sync took the lock, wrote and released it
            other = EtcdClient(etcd.endpoints, library='pyetcd', timeout=5)
            seen['other'] = sync(other, instance, routes(instance, range(1, 6), tag='v2'), key_prefix=PREFIX)
            other.close()
        else:  # ... or holds it now
            seen['lease'] = etcd.etcdctl(['lease', 'grant', '60']).split()[1]
            etcd.etcdctl(['put', key, 'other-host:4242:holder', '--lease=%s' % seen['lease']])
            seen['lock'] = json.loads(etcd.etcdctl(['get', key, '-w', 'json']))['kvs'][0]
        seen['revision'], seen['kvs'] = etcd.revision(), etcd.dump_kvs('%s/%s/' % (PREFIX, instance))

    spy = Interfering(client, before)
    with pytest.raises(EtcdError) as err:
        sync(spy, instance, routes(instance, range(1, 41)), key_prefix=PREFIX, max_txn_ops=10, txns_in_flight=1)
    assert spy.txns == 3 and len(spy.revisions) == 2  # the third was sent, and refused
    assert not isinstance(err.value, ConflictError)  # no re-plan under a lock we do not hold
    msg = err.value.msg
    assert msg.startswith('lost the etcd lock %s in the middle of the sync: ' % key) and 're-run' in msg, msg
    # Out of band: not one write more, not even the release of the lock.
    assert etcd.revision() == seen['revision']
    assert etcd.dump_kvs('%s/%s/' % (PREFIX, instance)) == seen['kvs']
    # The result still reports what the two committed transactions did.
    details = err.value.details
    assert details['created'] == ['api%05d' % i for i in range(1, 21)] and details['changed'] is True
    assert details['revision'] == spy.revisions[-1][0] and (details['updated'], details['deleted']) == ([], [])
    if then == 'another-sync':
        assert 'its lease expired' in msg
        assert instance_dump(etcd, instance) == expected_state(instance, routes(instance, range(1, 6), tag='v2'))
        assert seen['other']['deleted'] == ['api%05d' % i for i in range(6, 21)]
    else:
        assert 'another sync holds it (other-host:4242:holder)' in msg
        assert details['lock_holder'] == 'other-host:4242:holder'
        # Our release did not delete the other holder's key.
        assert json.loads(etcd.etcdctl(['get', key, '-w', 'json']))['kvs'][0] == seen['lock']
        etcd.etcdctl(['lease', 'revoke', seen['lease']])


def _kvs_at(etcd, prefix, revision):
    """``{key: (value bytes, mod_revision)}`` under ``prefix`` as etcd held them at ``revision`` (etcdctl)."""
    out = json.loads(etcd.etcdctl(['get', prefix, '--prefix', '--rev=%d' % revision, '-w', 'json']))
    return dict((base64.b64decode(kv['key']).decode('utf-8'), (base64.b64decode(kv.get('value', '')),
                                                               int(kv['mod_revision'])))
                for kv in out.get('kvs', []))


def _slow_first(n, _ops):
    # The first transaction waits a little, so that the next ones are surely sent meanwhile.
    if n == 1:
        time.sleep(0.3)


def test_pipelined_writes_keep_routes_before_deletes_and_the_manifest_last(etcd, client):
    """Several transactions in flight, and still: every route is created or updated before the
    first one is deleted (or in the same transaction), and the manifest is written with or
    after the last delete (read out of band, revision by revision, with etcdctl)."""
    instance = 'pipelined-order'
    prefix = routes_prefix(PREFIX, instance)
    sync(client, instance, routes(instance, range(1, 61)), key_prefix=PREFIX)
    start = etcd.revision()
    desired = routes(instance, range(31, 121), tag='v2')
    spy = Interfering(client, _slow_first)
    result = sync(spy, instance, desired, key_prefix=PREFIX, max_txn_ops=10, txns_in_flight=4)
    assert spy.most_at_once >= 2, 'the transactions were never in flight together'
    assert (len(result['created']), len(result['updated']), len(result['deleted'])) == (60, 30, 30)
    end = etcd.revision()
    history = dict((r, _kvs_at(etcd, prefix, r)) for r in range(start, end + 1))
    gone = ['%sapi%05d' % (prefix, i) for i in range(1, 31)]
    first_delete = min(r for r in history if any(k not in history[r] for k in gone))
    last_delete = min(r for r in history if all(k not in history[r] for k in gone))
    # From the first delete on (the transaction that deletes may also write the last routes), every
    # desired route holds its new value: a router never misses one.
    for revision in range(first_delete, end + 1):
        held = history[revision]
        assert dict((k, held[k][0]) for k in desired if k in held) == desired, revision
    stored_manifest = etcd.dump_kvs(manifest_key(PREFIX, instance))[manifest_key(PREFIX, instance)]
    # In the transaction of the last delete or after it, and after every route write.
    assert stored_manifest[1] >= last_delete
    assert all(mod <= stored_manifest[1] for _value, mod in history[end].values())
    assert instance_dump(etcd, instance) == expected_state(instance, desired)
    assert result['revision'] == stored_manifest[1]


def test_a_pipelined_sync_that_lost_its_lock_claims_exactly_what_committed(etcd, client):
    """The lock's lease is revoked while several transactions are in flight: those sent after it
    are refused, and the error claims exactly the routes that are in etcd (etcdctl), no more, no
    fewer. No re-plan; a re-run converges."""
    instance = 'lost-pipelined'
    key, prefix = lock_key(PREFIX, instance), routes_prefix(PREFIX, instance)
    seen = {}

    def before(n, _ops):
        if n == 1:
            time.sleep(0.2)
        if n == 3:
            etcd.etcdctl(['lease', 'revoke', '%x' % _lease_of(etcd, key)])
            seen['revoked'] = etcd.revision()

    desired = routes(instance, range(1, 81))
    spy = Interfering(client, before)
    with pytest.raises(EtcdError) as err:
        sync(spy, instance, desired, key_prefix=PREFIX, max_txn_ops=10, txns_in_flight=4)
    assert not isinstance(err.value, ConflictError)
    assert err.value.msg.startswith('lost the etcd lock %s in the middle of the sync: ' % key), err.value.msg
    assert spy.most_at_once >= 2
    held = etcd.dump_kvs(prefix)
    assert all(mod < seen['revoked'] for _value, mod in held.values())  # nothing after the revoke
    details = err.value.details
    assert details['created'] == sorted(k.rsplit('/', 1)[1] for k in held)
    assert 0 < len(held) < 80 and manifest_key(PREFIX, instance) not in etcd.dump_kvs(PREFIX + '/' + instance)
    assert details['revision'] == max(mod for _value, mod in held.values())
    again = sync(client, instance, desired, key_prefix=PREFIX)
    assert again['created'] == sorted(set(ids_of(desired)) - set(details['created']))
    assert instance_dump(etcd, instance) == expected_state(instance, desired)


@pytest.mark.parametrize('meanwhile', ['lock-taken', 'same-values-rewritten', 'overwritten-by-a-sync'])
def test_ambiguous_commit_across_a_lost_lock(etcd, meanwhile):
    """A transaction applied under our lock, its reply lost; before the retry the lock passes to
    another holder, who may rewrite those keys (other values, deletes, or the very same values).
    The retry is refused, yet the applied write counts as ours, at its own revision (read in the
    history, as the keys were when our lock went); the next transaction writes nothing."""
    instance = 'amb-%s' % meanwhile
    key, prefix = lock_key(PREFIX, instance), routes_prefix(PREFIX, instance)
    ops = [('create', prefix + 'api00001', b'{"a":1}'), ('create', prefix + 'api00002', b'{"a":2}', True)]
    c = LosesFirstTxnReply(etcd.endpoints, library='pyetcd', timeout=5)
    other = EtcdClient(etcd.endpoints, library='pyetcd', timeout=5)
    seen = {}

    def takeover():
        seen['applied'] = etcd.dump_kvs(prefix)
        etcd.etcdctl(['lease', 'revoke', '%x' % _lease_of(etcd, key)])
        if meanwhile == 'overwritten-by-a-sync':  # took the lock, rewrote one key, deleted the other, released
            sync(other, instance, routes(instance, [1], tag='v2'), key_prefix=PREFIX)
        else:
            seen['lease'] = etcd.etcdctl(['lease', 'grant', '60']).split()[1]
            etcd.etcdctl(['put', key, 'other-host:1:holder', '--lease=%s' % seen['lease']])
        if meanwhile == 'same-values-rewritten':  # the new holder writes the very same values, in one go
            kvs = etcd.dump_kvs(prefix)
            seen['rewritten'] = other.txn([('update', k, kvs[k][0], kvs[k][1]) for k in sorted(kvs)])
        seen['revision'], seen['kvs'] = etcd.revision(), etcd.dump_kvs(prefix)
    c.after_applied = takeover
    try:
        with c.lock(key, ttl=15, timeout=5) as held:
            revision = c.txn(ops, lock=held)  # the applied attempt: ours, at the revision it was applied
            assert seen['applied'] == {prefix + 'api00001': (b'{"a":1}', revision),
                                       prefix + 'api00002': (b'{"a":2}', revision)}
            if meanwhile == 'same-values-rewritten':  # not at the revision of the new holder's write
                assert set(mod for _v, mod in seen['kvs'].values()) == {seen['rewritten']} != {revision}
            with pytest.raises(EtcdError) as err:  # the next one: refused
                c.txn([('create', prefix + 'api00003', b'{"b":1}')], lock=held)
            assert 'lost the etcd lock %s' % key in err.value.msg
            assert etcd.revision() == seen['revision'] and etcd.dump_kvs(prefix) == seen['kvs']
        if 'lease' in seen:
            assert 'another sync holds it (other-host:1:holder)' in err.value.msg
            assert etcd.dump(key) == {key: b'other-host:1:holder'}  # released: not theirs
    finally:
        c.close()
        other.close()
        if 'lease' in seen:
            etcd.etcdctl(['lease', 'revoke', seen['lease']])


class FailsNextTxn(EtcdClient):
    """The next transaction attempt fails with ``failure`` (code, details), after etcd applied it
    (``mode`` 'applied') or without sending it (any other mode); ``meanwhile`` runs in between."""
    mode = meanwhile = failure = None

    def call(self, what, fn):
        mode, self.mode = self.mode, None
        if mode is None or not what.startswith('a transaction'):
            return EtcdClient.call(self, what, fn)
        if mode == 'applied':
            EtcdClient.call(self, what, fn)
        if self.meanwhile is not None:
            self.meanwhile()
        raise self._error(what, self.endpoints[0], *self.failure)


class PausedPastItsDeadline(FailsNextTxn):
    """A lone transaction attempt whose deadline passed while the process was paused (SIGSTOP):
    etcd applied it ('applied') or never got it ('unsent'); ``meanwhile`` runs during the pause."""
    failure = ('UNAVAILABLE', 'Deadline Exceeded')


@pytest.mark.parametrize('mode', ['applied', 'unsent'])
def test_timed_out_transaction_of_a_sync_that_lost_its_lock(etcd, mode):
    instance = 'timed-out-%s' % mode
    key, prefix = lock_key(PREFIX, instance), routes_prefix(PREFIX, instance)
    c = PausedPastItsDeadline(etcd.endpoints, library='pyetcd', timeout=5)
    seen = {}

    def meanwhile():  # the lease expires; another sync rewrites the prefix and releases the lock
        seen['applied'] = etcd.dump_kvs(prefix)
        etcd.etcdctl(['lease', 'revoke', '%x' % _lease_of(etcd, key)])
        other = EtcdClient(etcd.endpoints, library='pyetcd', timeout=5)
        sync(other, instance, routes(instance, [1], tag='v2'), key_prefix=PREFIX)
        other.close()
        seen['revision'], seen['kvs'] = etcd.revision(), etcd.dump_kvs(prefix)
    c.meanwhile = meanwhile
    ops = [('create', prefix + 'api00001', b'{"a":1}'), ('create', prefix + 'api00002', b'{"a":2}', True)]
    try:
        with c.lock(key, ttl=15, timeout=5) as held:
            c.mode = mode
            if mode == 'applied':  # reported as the commit it was, not as "etcd unreachable"
                revision = c.txn(ops, lock=held)
                assert seen['applied'] == {prefix + 'api00001': (b'{"a":1}', revision),
                                           prefix + 'api00002': (b'{"a":2}', revision)}
                ops = [('create', prefix + 'api00003', b'{"b":1}')]
            with pytest.raises(EtcdError) as err:  # unsent: the lost lock, not "etcd unreachable"
                c.txn(ops, lock=held)
            assert err.value.msg.startswith('lost the etcd lock %s' % key), err.value.msg
            assert mode == 'applied' or seen['applied'] == {}
            assert etcd.revision() == seen['revision'] and etcd.dump_kvs(prefix) == seen['kvs']
    finally:
        c.close()


def test_lock_waits_and_times_out(etcd, client):
    key = lock_key(PREFIX, 'busy')
    with client.lock(key, ttl=10, timeout=5) as held:
        assert etcd.dump(key)[key] == held.value
        start = time.monotonic()
        with pytest.raises(EtcdError) as err:
            sync(client, 'busy', routes('busy', [1]), key_prefix=PREFIX, lock_timeout=0.5)
        assert 0.5 <= time.monotonic() - start < 3
        assert 'lock' in err.value.msg and key in err.value.msg
    assert etcd.dump(key) == {}  # released
    assert instance_dump(etcd, 'busy') == {}


def test_lock_expires_with_its_lease(etcd, client):
    key = lock_key(PREFIX, 'lease')
    # Revoked lease: the key goes at once, another holder gets in, and the first sees it lost.
    with client.lock(key, ttl=3, timeout=5) as first:
        etcd.etcdctl(['lease', 'revoke', '%x' % first.lease_id])
        start = time.monotonic()
        with client.lock(key, ttl=3, timeout=5):
            assert time.monotonic() - start < 1
        deadline = time.monotonic() + 5
        while not first.lost and time.monotonic() < deadline:
            time.sleep(0.1)
        assert first.lost
    # A holder that dies without releasing: its lease expires within the TTL.
    script = textwrap.dedent('''
        import os, sys
        sys.path.insert(0, %r)
        from ansible_collections.apigw.router.plugins.module_utils.etcd._client import EtcdClient
        c = EtcdClient(%r, library='pyetcd')
        held = c.lock(%r, ttl=2, timeout=5)  # keep a reference: a collected generator releases
        held.__enter__()
        print('held', flush=True)
        os._exit(0)
    ''') % (os.path.join(REPO, 'build', 'dev'), etcd.endpoints, key)
    out = subprocess.run([sys.executable, '-c', script], stdout=subprocess.PIPE, universal_newlines=True,
                         timeout=30, check=False)
    assert out.stdout.strip() == 'held' and key in etcd.dump(key)
    start = time.monotonic()
    with client.lock(key, ttl=3, timeout=10):
        waited = time.monotonic() - start
    assert 0.5 < waited < 5


# -- clusters, TLS, auth ----------------------------------------------------------------------

def test_three_members_with_dead_member_first(tmp_path):
    with etcd_cluster(tmp_path, size=3) as cluster:
        dead = cluster.kill_leader()  # also forces an election while we start
        endpoints = [dead.endpoint] + [m.endpoint for m in cluster.members if m is not dead]
        c = EtcdClient(endpoints, library='pyetcd', timeout=3)
        desired = routes('ha', range(1, 51))
        start = time.monotonic()
        result = sync(c, 'ha', desired, key_prefix=PREFIX, max_txn_ops=20)
        assert result['created'] == ids_of(desired)
        assert time.monotonic() - start < 10
        assert instance_dump(cluster, 'ha') == expected_state('ha', desired)
        assert sync(c, 'ha', desired, key_prefix=PREFIX)['changed'] is False
        c.close()


def test_tls_with_client_certificates(tmp_path):
    with etcd_single(tmp_path, tls=True) as server:
        kwargs = server.client_kwargs()
        assert all(e.startswith('https://') for e in kwargs['endpoints'])
        c = EtcdClient(library='pyetcd', **kwargs)
        desired = routes('tls', range(1, 6))
        assert sync(c, 'tls', desired, key_prefix=PREFIX)['created'] == ids_of(desired)
        assert instance_dump(server, 'tls') == expected_state('tls', desired)
        c.close()
        # Without a client certificate the server refuses the handshake.
        bare = EtcdClient(kwargs['endpoints'], ca_cert=kwargs['ca_cert'], library='pyetcd', timeout=1)
        with pytest.raises(EtcdError) as err:
            bare.get('/x')
        assert kwargs['endpoints'][0] in err.value.msg
        # Plain http to a TLS port fails too, with the endpoint named.
        plain = EtcdClient([kwargs['endpoints'][0].replace('https', 'http')], library='pyetcd', timeout=1)
        with pytest.raises(EtcdError):
            plain.get('/x')


def test_auth_with_range_limited_user(tmp_path):
    with etcd_single(tmp_path, auth=True) as server:
        kwargs = server.client_kwargs()
        c = EtcdClient(library='pyetcd', **kwargs)
        desired = routes('auth', range(1, 6))
        result = sync(c, 'auth', desired, key_prefix=PREFIX)  # lock lease, guarded txns, paged read
        assert result['created'] == ids_of(desired)
        assert instance_dump(server, 'auth') == expected_state('auth', desired)
        assert sync(c, 'auth', desired, key_prefix=PREFIX)['changed'] is False
        assert inspect(c, 'auth', PREFIX)['count'] == 5
        assert c.count(PREFIX + "/auth/apis/")[1] == server.revision()  # a read as the limited user
        # Outside the user's range: permission denied, named.
        with pytest.raises(EtcdError) as err:
            sync(c, 'auth', desired_routes([api(1)], '/elsewhere', 'auth'), key_prefix='/elsewhere')
        assert 'permission denied' in err.value.msg
        c.close()
        # Wrong password: a clear failure that never shows the password.
        bad = EtcdClient(kwargs['endpoints'], user='router', password='Wrong-Secret-42', library='pyetcd')
        with pytest.raises(EtcdError) as err:
            bad.get('/apig/router/x')
        assert 'authentication failed' in err.value.msg
        for text in (str(err.value), repr(err.value.details)):
            assert 'Wrong-Secret-42' not in text and USER_PASSWORD not in text and ROOT_PASSWORD not in text
        # No credentials at all.
        anon = EtcdClient(kwargs['endpoints'], library='pyetcd', timeout=2)
        with pytest.raises(EtcdError):
            anon.get('/apig/router/x')


# -- large prefixes ---------------------------------------------------------------------------

def small_api(i):
    return {'id': 'api%05d' % i, 'name': 'n%d-%s' % (i, 'x' * 120), 'req_method': 'GET',
            'req_uri': '/v1/items/%d' % i, 'run_env_id': 'RELEASE_ID', 'publish_id': 'p%d' % i,
            'group_id': 'g1', 'auth_type': 'APP'}


def test_paged_read_of_20000_routes(etcd, client):
    desired = desired_routes([small_api(i) for i in range(1, 20501)], PREFIX, 'large')
    sizes = [len(v) for v in desired.values()]
    assert 250 <= sum(sizes) / len(sizes) <= 350 and sum(sizes) > 5 * 1024 * 1024  # > gRPC's 4 MiB
    start = time.monotonic()
    result = sync(client, 'large', desired, key_prefix=PREFIX)
    first = time.monotonic() - start
    assert len(result['created']) == 20500
    start = time.monotonic()
    again = sync(client, 'large', desired, key_prefix=PREFIX)
    noop = time.monotonic() - start
    assert again['changed'] is False and again['unchanged'] == 20500
    assert instance_dump(etcd, 'large') == expected_state('large', desired)
    # A page size larger than the whole prefix works (a page too large for gRPC would be halved).
    rev, everything = client.read_prefix(routes_prefix(PREFIX, 'large'), page_size=100000)
    assert len(everything) == 20500
    print('20500 routes: first sync %.2fs, no-op sync %.2fs' % (first, noop))


def test_paged_read_is_one_snapshot(etcd, client):
    prefix = '%s/snap/apis/' % PREFIX
    for start in range(0, 300, 100):
        client.txn([('create', prefix + 'k%04d' % i, b'v') for i in range(start, start + 100)])
    pages = []

    class Meddling(EtcdClient):
        def _range(self, what, key, end, **fields):
            resp = EtcdClient._range(self, what, key, end, **fields)
            pages.append(len(resp.kvs))
            if len(pages) == 1:  # between the first and the second page
                etcd.put(prefix + 'k0250', 'changed')
                etcd.put(prefix + 'k9999', 'added')
                etcd.delete(prefix + 'k0299')
            return resp

    m = Meddling(etcd.endpoints, library='pyetcd')
    rev, kvs = m.read_prefix(prefix, page_size=64)
    assert pages == [64, 64, 64, 64, 44]
    assert len(kvs) == 300 and kvs[(prefix + 'k0250').encode()][0] == b'v' and (prefix + 'k9999').encode() not in kvs
    assert max(mod for _v, mod in kvs.values()) <= rev < etcd.revision()
    m.close()


# -- libraries ------------------------------------------------------------------------------

def test_library_choice_in_process():
    assert EtcdClient(['http://127.0.0.1:1'], library='auto').library == 'pyetcd'
    with pytest.raises(MissingLibraryError) as err:
        EtcdClient(['http://127.0.0.1:1'], library='etcd3')
    assert 'both cannot be imported' in err.value.msg
    with pytest.raises(ValueError):
        EtcdClient(['http://127.0.0.1:1'], library='etcd4')


ETCD3_SCRIPT = '''
import json, os, sys
sys.path.insert(0, sys.argv[1])
assert 'PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION' not in os.environ
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ConflictError
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import EtcdClient
from ansible_collections.apigw.router.plugins.module_utils.etcd._sync import sync
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records, routes_prefix
apis = json.loads(sys.argv[3])
prefix = routes_prefix('/apig/router', 'lib3')
desired = dict((prefix + api_id, value) for api_id, value in build_records(apis).items())
c = EtcdClient(json.loads(sys.argv[2]), library='etcd3')
assert c.library == 'etcd3' and 'pyetcd' not in sys.modules
out = {'first': sync(c, 'lib3', desired, max_txn_ops=4)}
out['noop'] = sync(c, 'lib3', desired)

class Meddling(object):
    def __init__(self, c):
        self.c, self.n = c, 0
    def __getattr__(self, name):
        return getattr(self.c, name)
    def txn(self, ops, lock=None):
        self.n += 1
        if self.n == 1:  # someone edits a route between our read and our write
            self.c.txn([('update', ops[0][1], b'concurrent', self.c.get(ops[0][1])[1])])
        return self.c.txn(ops, lock=lock)

changed = dict(desired)
key = sorted(changed)[0]
changed[key] = changed[key].replace(b'"GET"', b'"POST"')
out['conflict'] = sync(Meddling(c), 'lib3', changed)
out['protobuf'] = os.environ.get('PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION')
print(json.dumps(out))
'''


def test_etcd3_library_in_subprocess(etcd, tmp_path):
    apis = [api(i) for i in range(1, 11)]
    env = dict(os.environ)
    env.pop('PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION', None)
    proc = subprocess.run([sys.executable, '-c', ETCD3_SCRIPT, os.path.join(REPO, 'build', 'dev'),
                           json.dumps(etcd.endpoints), json.dumps(apis)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          timeout=60, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    desired = desired_routes(apis, PREFIX, 'lib3')
    assert out['protobuf'] == 'python'  # set by the client before protobuf was imported
    assert out['first']['created'] == ids_of(desired) and out['first']['changed'] is True
    assert out['noop']['changed'] is False and out['noop']['unchanged'] == 10
    assert out['conflict']['updated'] == ['api00001'] and out['conflict']['unchanged'] == 9
    changed = dict(desired)
    key = sorted(changed)[0]
    changed[key] = changed[key].replace(b'"GET"', b'"POST"')
    assert instance_dump(etcd, 'lib3') == expected_state('lib3', changed)


# -- no-op in O(1) reads: the manifest and two counts ------------------------------------------

class CountsReads(EtcdClient):
    """Counts full reads of the routes (the values under ``apis/``), the only expensive read of
    a sync. A writing sync also reads ``groups/``, the per-group manifests (one small key per
    group a scope ever named): not counted here."""
    full_reads = 0

    def read_prefix(self, prefix, page_size=1000):
        if prefix.endswith('/apis/'):
            self.full_reads += 1
        return EtcdClient.read_prefix(self, prefix, page_size)


def _synced(etcd, instance, ids=range(1, 41)):
    c = CountsReads(etcd.endpoints, library='pyetcd', timeout=5)
    desired = routes(instance, ids)
    sync(c, instance, desired, key_prefix=PREFIX)
    assert instance_dump(etcd, instance) == expected_state(instance, desired)
    c.full_reads = 0
    return c, desired


def test_noop_reads_no_value(etcd):
    c, desired = _synced(etcd, 'fast')
    rev = etcd.revision()
    result = sync(c, 'fast', desired, key_prefix=PREFIX, diff=True)
    assert result['changed'] is False and result['unchanged'] == 40 and result['revision'] == rev
    assert result['diff'] == {'before': {}, 'after': {}} and result['manifest'] == manifest(desired)
    assert sync(c, 'fast', desired, key_prefix=PREFIX, check_mode=True)['changed'] is False
    info = inspect(c, 'fast', PREFIX, desired=desired)
    assert info['in_sync'] is True and info['count'] == 40 and info['revision'] == rev
    assert c.full_reads == 0 and etcd.revision() == rev
    # records: true needs the values.
    assert len(inspect(c, 'fast', PREFIX, desired=desired, records=True)['routes']) == 40 and c.full_reads == 1
    c.close()


@pytest.mark.parametrize('change', ['edit', 'delete', 'stray', 'delete-and-stray', 'recreate-same',
                                    'manifest-edited', 'manifest-deleted'])
def test_any_change_since_the_manifest_is_found_and_healed(etcd, change):
    instance = 'heal-%s' % change
    c, desired = _synced(etcd, instance)
    key = routes_prefix(PREFIX, instance) + 'api00007'
    mkey = manifest_key(PREFIX, instance)
    if change == 'edit':
        etcd.put(key, '{"tampered":true}')
    elif change == 'delete':
        etcd.delete(key)
    elif change == 'stray':
        etcd.put(routes_prefix(PREFIX, instance) + 'zz-stray', 'x')
    elif change == 'delete-and-stray':  # the count stays the same
        etcd.delete(key)
        etcd.put(routes_prefix(PREFIX, instance) + 'zz-stray', 'x')
    elif change == 'recreate-same':  # same bytes again: a newer mod_revision, nothing to write
        etcd.delete(key)
        etcd.put(key, desired[key].decode('utf-8'))
    elif change == 'manifest-edited':
        etcd.put(mkey, etcd.dump(mkey)[mkey].decode('utf-8').replace('"count":40', '"count":41'))
    else:
        etcd.delete(mkey)
    info = inspect(c, instance, PREFIX, desired=desired)
    assert info['in_sync'] is (change == 'recreate-same'), info
    result = sync(c, instance, desired, key_prefix=PREFIX)
    # The info module and the sync compared values, each reading them once: under its lock the
    # sync proves in three small reads that nothing changed since its first look.
    assert c.full_reads == 2
    assert result['changed'] is (change != 'recreate-same'), result
    assert instance_dump(etcd, instance) == expected_state(instance, desired)  # healed, out of band
    c.full_reads = 0
    assert sync(c, instance, desired, key_prefix=PREFIX)['changed'] is False
    # A sync that wrote re-arms the fast path; one that found nothing to write leaves it off
    # (a no-op writes nothing, not even the manifest) until the next change.
    assert c.full_reads == (1 if change == 'recreate-same' else 0)
    c.close()


class WritesWhileLocking(CountsReads):
    """A client for which another writer changes the prefix between the sync's first look
    and its lock: the sync must read every value again under the lock, and plan from that."""
    concurrent = None

    def lock(self, *args, **kwargs):
        if self.concurrent:
            self.concurrent()
            self.concurrent = None
        return EtcdClient.lock(self, *args, **kwargs)


@pytest.mark.parametrize('change', ['edit', 'stray', 'manifest'])
def test_a_change_between_first_look_and_lock_is_read_again(etcd, change):
    instance = 'late-%s' % change
    c = WritesWhileLocking(etcd.endpoints, library='pyetcd', timeout=5)
    sync(c, instance, routes(instance, range(1, 21)), key_prefix=PREFIX)
    desired = routes(instance, range(1, 31))  # 10 more routes: the sync has work to do
    prefix = routes_prefix(PREFIX, instance)
    c.concurrent = {
        'edit': lambda: etcd.put(prefix + 'api00003', '{"late":true}'),
        'stray': lambda: etcd.put(prefix + 'zz-late', 'x'),
        'manifest': lambda: etcd.put(manifest_key(PREFIX, instance), '{}'),
    }[change]
    c.full_reads = 0
    result = sync(c, instance, desired, key_prefix=PREFIX)
    assert c.full_reads == 2  # the first look, and again under the lock
    assert result['created'] == ['api%05d' % i for i in range(21, 31)]
    assert result['updated'] == (['api00003'] if change == 'edit' else [])
    assert result['deleted'] == (['zz-late'] if change == 'stray' else [])
    assert instance_dump(etcd, instance) == expected_state(instance, desired)  # out of band
    c.close()


def test_noop_with_prune_false_and_kept_routes(etcd):
    c, _desired = _synced(etcd, 'keep', range(1, 11))
    smaller = routes('keep', range(1, 6), tag='v2')
    result = sync(c, 'keep', smaller, key_prefix=PREFIX, prune=False)  # keeps 6..10, manifest of all 10
    assert result['changed'] is True and result['manifest']['count'] == 10
    c.full_reads = 0
    again = sync(c, 'keep', smaller, key_prefix=PREFIX, prune=False)
    assert again['changed'] is False and c.full_reads == 1  # the manifest is not the source's: values compared
    assert len([k for k in instance_dump(etcd, 'keep') if '/apis/' in k]) == 10
    c.close()


# -- a busy etcd: compaction while reading --------------------------------------------------

def _compact(cluster, revision=None):
    """Compact to ``revision`` (default: the current one) out of band, through etcd's JSON gateway."""
    body = json.dumps({'revision': revision or cluster.revision()}).encode('utf-8')
    request = urllib.request.Request(cluster.endpoints[0] + '/v3/kv/compaction', data=body, method='POST')
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=5) as answer:
        answer.read()


class CompactsMidRead(EtcdClient):
    """Compacts (out of band) right after the first page of the first ``times`` reads at a revision."""

    def __init__(self, cluster, times, *args, **kwargs):
        EtcdClient.__init__(self, cluster.endpoints, *args, **kwargs)
        self.cluster, self.times, self.compacted = cluster, times, 0

    def _range(self, what, key, end, **fields):
        resp = EtcdClient._range(self, what, key, end, **fields)
        if fields.get('limit') and not fields.get('revision') and self.compacted < self.times and resp.more:
            self.cluster.put('/busy/other', str(self.compacted))
            _compact(self.cluster)
            self.compacted += 1
        return resp


def test_read_restarts_when_etcd_compacts_mid_read(etcd, monkeypatch):
    desired = routes('compact', range(1, 201))
    c = CompactsMidRead(etcd, 3, library='pyetcd')
    assert sync(c, 'compact', desired, key_prefix=PREFIX, page_size=50)['created'] == ids_of(desired)
    changed = routes('compact', range(1, 201), tag='v2')
    c.compacted = 0
    result = sync(c, 'compact', changed, key_prefix=PREFIX, page_size=50)
    # The sync's one full read restarted once; under the lock, three small reads showed that
    # nothing under the prefix changed since (the other writer's key is outside it).
    assert c.compacted == 1 and len(result['updated']) == 200
    assert instance_dump(etcd, 'compact') == expected_state('compact', changed)
    # Compacting under every read: bounded, and the message says what happened. (Each restart
    # reads pages four times larger, so with 200 keys the bound is lowered to be reached.)
    monkeypatch.setattr(etcd_client_module, 'MAX_READ_RESTARTS', 2)
    c.times, c.compacted = 100, 0
    with pytest.raises(EtcdError) as err:
        c.read_prefix(routes_prefix(PREFIX, 'compact'), page_size=1)
    assert c.compacted == 3 and 'compacted the revision being read 3 times' in err.value.msg
    c.close()


def test_sync_of_30000_routes_while_another_client_writes_and_compacts(tmp_path):
    with etcd_single(tmp_path) as server:
        c = EtcdClient(server.endpoints, library='pyetcd', timeout=10)
        desired = routes('busy', range(30000))
        assert len(sync(c, 'busy', desired, key_prefix=PREFIX)['created']) == 30000
        stop, counts = threading.Event(), {'writes': 0, 'compactions': 0}

        def busy():  # another client: writes other keys, compacts to the latest revision every 5 writes
            while not stop.is_set():
                server.put('/busy/key', str(counts['writes']))
                counts['writes'] += 1
                if counts['writes'] % 5 == 0:
                    _compact(server)
                    counts['compactions'] += 1
        thread = threading.Thread(target=busy, daemon=True)
        thread.start()
        try:
            changed = routes('busy', range(30000), tag='v2')
            info = inspect(c, 'busy', PREFIX, desired=changed)
            result = sync(c, 'busy', changed, key_prefix=PREFIX)
        finally:
            stop.set()
            thread.join(10)
        assert len(info['drift']['update']) == 30000 and len(result['updated']) == 30000
        assert counts['compactions'] >= 2, counts
        assert instance_dump(server, 'busy') == expected_state('busy', changed)
        c.close()


# -- an auth token that expires during a sync ---------------------------------------------------

class CountsClients(EtcdClient):
    built = 0

    def _build(self, idx, user):
        self.built += 1
        return EtcdClient._build(self, idx, user)


def test_expired_auth_token_is_renewed(tmp_path):
    with etcd_single(tmp_path, auth=True, extra_args=['--auth-token', 'simple', '--auth-token-ttl', '1']) as server:
        c = CountsClients(library='pyetcd', **server.client_kwargs())
        desired = routes('token', range(1, 301))
        assert len(sync(c, 'token', desired, key_prefix=PREFIX, max_txn_ops=16)['created']) == 300
        assert c.built == 1
        time.sleep(2.5)  # an idle simple token lives --auth-token-ttl seconds
        changed = routes('token', range(1, 301), tag='v2')
        assert len(sync(c, 'token', changed, key_prefix=PREFIX)['updated']) == 300
        assert c.built == 2  # the expired token was answered by a new, authenticated client
        assert instance_dump(server, 'token') == expected_state('token', changed)
        c.close()


# -- a full etcd: the transaction that fills the quota is applied, then refused -----------------

class FullAfterApplying(FailsNextTxn):
    """etcd applies the transaction that crosses --quota-backend-bytes and then answers
    "database space exceeded" (its quota applier checks after applying). ``mode``: 'applied'
    sends the transaction first, 'refused' answers so without sending it."""
    failure = ('RESOURCE_EXHAUSTED', 'etcdserver: mvcc: database space exceeded')


def test_quota_refusal_of_an_applied_transaction_counts_as_its_commit(etcd):
    c = FullAfterApplying(etcd.endpoints, library='pyetcd', timeout=5)
    prefix = routes_prefix(PREFIX, 'quota')
    c.mode = 'applied'
    revision = c.txn([('create', prefix + 'a1', '{"a":1}'), ('create', prefix + 'a2', '{"a":2}', True)])
    assert etcd.dump_kvs(prefix) == {prefix + 'a1': (b'{"a":1}', revision), prefix + 'a2': (b'{"a":2}', revision)}
    c.mode = 'refused'  # not applied: the refusal stands, with its cause
    with pytest.raises(EtcdError) as err:
        c.txn([('create', prefix + 'b1', '{"b":1}')])
    assert 'database space exceeded' in err.value.msg and prefix + 'b1' not in etcd.dump(prefix)
    c.close()
