# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reliability under faults: real processes on loopback, real ansible-playbook runs.

- etcd member loss: the leader of a 3-member cluster is SIGKILLed in the middle of a sync
  of 20,000 routes (slow: 100,000 routes and repeated leader kills);
- every etcd endpoint down (refused, and a black hole that never answers);
- racing syncs of one instance with different sources, and a third writer that changes
  route keys while a sync writes;
- management API faults from the simulator (500 APIG.3500 storms, 429 with Retry-After,
  answers slower than ``timeout``, connections reset mid-answer, the gateway's etcd going
  away), through the module's fleet form and the ``fleet_refresh`` role;
- process death: the module SIGKILLed while it writes 20,000 routes, its lock left behind.

After every fault to a 3-member cluster, the members' ``etcdctl endpoint hashkv`` are compared
first (``assert_members_agree``): a divergence of etcd's own (etcd 3.5.0-3.5.2 have a known
bug, etcd-io/etcd#13766) fails with a message that says so, apart from this suite's assertions.

Everything is checked out of band: etcd with etcdctl and etcd's own JSON gateway
(``/v3/...`` on the client URL, used here to poll revisions fast and to write as the
"third writer" with the exact revision of its write), the management API with the
simulator's request log. Expected route records are written out here from the SPEC
(canonical JSON), not computed with the collection's code.

Figures (durations, revisions, writes) are printed, so ``pytest -s`` shows what each
fault did.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import datetime
import hashlib
import json
import os
import signal
import socket
import stat
import sys
import threading
import time
from urllib.request import ProxyHandler, Request, build_opener

import psutil
import pytest

from apigw_support.ansible import AnsibleRunner
from apigw_support.etcd import etcd_cluster, etcd_single, free_ports
from apigw_support.simulator import Simulator

REFRESH = 'apigw.router.apigw_router_refresh'
INFO = 'apigw.router.apigw_router_info'
PREFIX = '/apig/router'
LOCK_TTL = 15  # SPEC/_etcd_sync: a holder that dies frees the lock within this many seconds
NO_TRACEBACK = '(traceback unavailable)'

_OPENER = build_opener(ProxyHandler({}))


# -- expected state, written out from the SPEC ----------------------------------------------

def api(i, tag='a'):
    """A published API of ~260 bytes as a route (20,000 of them are over gRPC's 4 MiB)."""
    return {'id': 'api%05d' % i, 'name': 'items-%d-%s-%s' % (i, tag, 'x' * 120), 'req_method': 'GET',
            'req_uri': '/v1/items/%d' % i, 'run_env_id': 'RELEASE_ID', 'publish_id': 'p%d' % i,
            'group_id': 'g1', 'auth_type': 'APP', 'register_time': '2024-01-01T00:00:00Z'}


def record_bytes(i, tag='a'):
    """The canonical route record of api(i, tag): sorted keys, no whitespace, volatile fields out."""
    record = {'schema': 1, 'id': 'api%05d' % i, 'name': 'items-%d-%s-%s' % (i, tag, 'x' * 120),
              'group_id': 'g1', 'req_method': 'GET', 'req_uri': '/v1/items/%d' % i, 'auth_type': 'APP',
              'envs': [{'id': 'RELEASE_ID', 'publish_id': 'p%d' % i}]}
    return json.dumps(record, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode('utf-8')


def route_key(instance, api_id, prefix=PREFIX):
    return '%s/%s/apis/%s' % (prefix, instance, api_id)


def manifest_key(instance, prefix=PREFIX):
    return '%s/%s/manifest' % (prefix, instance)


def lock_key(instance, prefix=PREFIX):
    return '%s/%s/lock' % (prefix, instance)


def expected_routes(instance, ids, tag='a'):
    return dict((route_key(instance, 'api%05d' % i), record_bytes(i, tag)) for i in ids)


def manifest_bytes(routes):
    digest = hashlib.sha256()
    for key in sorted(routes, key=lambda k: k.encode('utf-8')):
        digest.update(key.encode('utf-8') + b'\n' + routes[key] + b'\n')
    return ('{"count":%d,"schema":1,"sha256":"%s"}' % (len(routes), digest.hexdigest())).encode()


def expected_state(instance, ids, tag='a'):
    """Everything under ``<prefix>/<instance>/`` after a sync: routes and manifest, no lock."""
    state = expected_routes(instance, ids, tag)
    state[manifest_key(instance)] = manifest_bytes(state)
    return state


def write_src(path, ids, tag='a'):
    with open(str(path), 'w', encoding='utf-8') as f:
        json.dump([api(i, tag) for i in ids], f)
    return str(path)


def ids_of(keys):
    return sorted(k.rsplit('/', 1)[1] for k in keys)


# -- etcd out of band: etcd's JSON gateway (fast polling, writes with their revision) ---------

def _b64(text):
    return base64.b64encode(text if isinstance(text, bytes) else text.encode('utf-8')).decode('ascii')


def gateway(endpoint, path, body, timeout=2.0):
    request = Request(endpoint + path, data=json.dumps(body).encode('utf-8'), method='POST',
                      headers={'Content-Type': 'application/json'})
    with _OPENER.open(request, timeout=timeout) as answer:
        return json.loads(answer.read().decode('utf-8'))


def revision_of(endpoints):
    """The revision that the first answering endpoint reports, or None."""
    for endpoint in endpoints:
        try:
            return int(gateway(endpoint, '/v3/maintenance/status', {}, timeout=0.5)['header']['revision'])
        except (OSError, ValueError, KeyError):
            continue
    return None


def third_writer_txn(endpoint, puts=(), deletes=()):
    """One transaction (one revision) of unguarded puts and deletes; returns its revision."""
    ops = [{'requestPut': {'key': _b64(k), 'value': _b64(v)}} for k, v in puts]
    ops += [{'requestDeleteRange': {'key': _b64(k)}} for k in deletes]
    answer = gateway(endpoint, '/v3/kv/txn', {'success': ops})
    assert answer.get('succeeded', True) is not False, answer
    return int(answer['header']['revision'])


def wait_for(condition, timeout, interval=0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return condition()


# -- processes ------------------------------------------------------------------------------

class Background:
    """``runner.run_tasks(...)`` in a thread: the test acts on etcd while the playbook runs."""

    def __init__(self, runner, tasks, **kwargs):
        self.run = None
        self.error = None
        self.started = time.monotonic()
        self.finished = None

        def target():
            try:
                self.run = runner.run_tasks(tasks, **kwargs)
            except BaseException as exc:  # pragma: no cover - re-raised by join()
                self.error = exc
            finally:
                self.finished = time.monotonic()

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    @property
    def alive(self):
        return self.thread.is_alive()

    def join(self, timeout=300):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), 'ansible-playbook still running after %ss' % timeout
        if self.error is not None:
            raise self.error
        return self.run


def module_pids(workdir):
    """PIDs of the Python processes running apigw_router_refresh for playbooks in ``workdir``.

    The harness puts Ansible's remote tmp under its work dir, so the AnsiballZ path names it.
    """
    pids = []
    for proc in psutil.process_iter(['pid', 'cmdline']):
        cmd = proc.info['cmdline'] or []
        if (len(cmd) >= 2 and 'python' in os.path.basename(cmd[0])
                and cmd[-1].endswith('AnsiballZ_apigw_router_refresh.py') and str(workdir) in cmd[-1]):
            pids.append(proc.info['pid'])
    return pids


def new_dir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


def black_hole():
    """A listening socket that never accepts: TCP connects, nothing ever answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    sock.listen(64)
    return sock


# -- playbook pieces ------------------------------------------------------------------------

def sync_task(name, instance, **options):
    return {'name': name, REFRESH: dict(mode='etcd', instance_id=instance, **options)}


def assert_clean(result):
    """A result as users see it: a message, never a traceback or raw module output."""
    msg = result.get('msg', '')
    assert msg and 'Traceback' not in msg and not msg.startswith(('MODULE FAILURE', 'Task failed')), result.result
    assert not msg.startswith('unexpected '), msg  # the fleet runner's catch-all for foreign exceptions
    assert 'module_stderr' not in result and 'module_stdout' not in result, result.result
    assert result.get('exception', NO_TRACEBACK) == NO_TRACEBACK, result.get('exception')


def outside(dump, instance, prefix=PREFIX):
    """The keys a sync of ``instance`` may not change: all but its routes, manifest and lock."""
    mine = '%s/%s/apis/' % (prefix, instance)
    return dict((k, v) for k, v in dump.items()
                if not k.startswith(mine) and k not in (manifest_key(instance, prefix), lock_key(instance, prefix)))


def assert_claims_match_etcd(result, kvs, instance, since):
    """``created``/``updated`` name exactly the route keys written after ``since`` up to the
    result's revision: no write claimed that did not happen, none hidden."""
    revision = result.get('revision')
    claimed = set(result.get('created', [])) | set(result.get('updated', []))
    mine = '%s/%s/apis/' % (PREFIX, instance)
    if revision is None:
        assert not claimed, result.result
        return
    written = set(k.rsplit('/', 1)[1] for k, (_v, mod) in kvs.items()
                  if k.startswith(mine) and since < mod <= revision)
    assert claimed == written, ('claimed but not in etcd: %s; in etcd but not claimed: %s'
                                % (sorted(claimed - written)[:10], sorted(written - claimed)[:10]))


FOREIGN = {
    route_key('inst-other', 'api00001'): b'another instance',
    route_key('inst-leader-2', 'api00001'): b'an instance whose id extends this one',
    '%s/inst-leader/notes' % PREFIX: b'not a route',
    '%s/inst-leader/apisX/api00001' % PREFIX: b'a sibling of the routes prefix',
    route_key('inst-leader', 'api00001', prefix='/elsewhere'): b'another key prefix',
    '/unrelated/key': b'outside every prefix',
}


# -- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-faults')) as cluster:
        yield cluster


@pytest.fixture(scope='module')
def src_20k(tmp_path_factory):
    return write_src(tmp_path_factory.mktemp('src') / 'apis-20k.json', range(20000))


# -- etcd member loss -----------------------------------------------------------------------

def _leader_first(cluster):
    leader = cluster.leader()
    return leader, [leader.endpoint] + [m.endpoint for m in cluster.members if m is not leader]


def _kill_leader_mid_sync(ansible, cluster, instance, src, count, max_txn_ops, kills=1):
    """Start a sync, SIGKILL the leader ``kills`` times while it writes (restarting the dead
    member in between, so that a quorum remains).

    Returns (the run, the revision before the sync, the revisions at the kills, the number of
    transactions the sync needs, the member killed last, still down)."""
    _leader, endpoints = _leader_first(cluster)
    rev0 = cluster.revision()
    task = sync_task('sync', instance, src=src, etcd_endpoints=endpoints, etcd_timeout=3, max_txn_ops=max_txn_ops)
    job = Background(ansible, [task], name='sync-under-kill')
    txns = -(-(count + 1) // max_txn_ops)
    kill_revisions = []
    killed = None
    for n in range(kills):
        # The lock is rev0 + 1, the first transactions rev0 + 2, rev0 + 3, ...: kill once writes
        # are under way (later kills spread over the sync).
        threshold = rev0 + 3 + n * max(1, txns // (kills + 1))
        assert wait_for(lambda: (revision_of(cluster.live_endpoints) or 0) >= threshold or not job.alive, 120)
        rev = revision_of(cluster.live_endpoints)
        if not job.alive:
            break
        killed = cluster.kill_leader()
        kill_revisions.append(rev)
        print('killed leader %s at revision %s (sync started at %d, %d transactions to write)'
              % (killed.name, rev, rev0, txns))
        if n + 1 < kills:
            killed.start()
            cluster.wait_healthy(30, members=cluster.members)
            cluster.assert_members_agree()  # the restarted member caught up with the same data
    run = job.join(600)
    cluster.assert_members_agree()  # the survivors, before any assertion on what they hold
    return run, rev0, kill_revisions, txns, killed


def test_leader_killed_mid_sync_of_20000_routes(ansible, tmp_path, src_20k):
    instance = 'inst-leader'
    ids = range(20000)
    with etcd_cluster(new_dir(tmp_path / 'etcd'), size=3) as cluster:
        for key, value in FOREIGN.items():
            cluster.put(key, value)
        before = outside(cluster.dump_kvs('/'), instance)

        run, rev0, kill_revs, txns, killed = _kill_leader_mid_sync(ansible, cluster, instance, src_20k, 20000, 16)
        assert kill_revs, 'the sync ended before the leader could be killed'
        assert kill_revs[0] - rev0 < txns, 'the leader was killed after the sync had written everything'
        result = run.task('sync')
        kvs = cluster.dump_kvs('/')
        assert_clean(result)
        if result.failed:  # allowed: a clear message naming etcd, and only committed writes claimed
            assert 'etcd' in result['msg'], result['msg']
        else:
            assert result['created'] == ids_of(expected_routes(instance, ids)) and result['deleted'] == []
        assert_claims_match_etcd(result, kvs, instance, rev0)
        outcome = 'failed' if result.failed else 'ok'
        print('sync through the kill: %s in %.1fs: %s' % (outcome, run.duration, result['msg'][:200]))

        # A re-run converges: it creates exactly what is missing and claims nothing else.
        present = set(k for k in kvs if k.startswith('%s/%s/apis/' % (PREFIX, instance)))
        rev1 = cluster.revision()
        again = ansible.run_tasks([sync_task('sync', instance, src=src_20k, etcd_endpoints=cluster.endpoints,
                                             etcd_timeout=3)], name='rerun').assert_success().task('sync')
        assert again['created'] == ids_of(set(expected_routes(instance, ids)) - present)
        assert (again['updated'], again['deleted']) == ([], [])
        assert_claims_match_etcd(again, cluster.dump_kvs('/'), instance, rev1)

        # etcd holds exactly the desired routes; nothing outside apis/ changed, not even rewritten.
        after = cluster.dump_kvs('/')
        assert outside(after, instance) == before
        mine = dict((k, v) for k, (v, _m) in after.items()
                    if k.startswith('%s/%s/apis/' % (PREFIX, instance)) or k == manifest_key(instance))
        assert mine == expected_state(instance, ids)
        rev2 = cluster.revision()
        third = ansible.run_tasks([sync_task('sync', instance, src=src_20k, etcd_endpoints=cluster.endpoints)],
                                  name='noop').assert_success().task('sync')
        assert third.changed is False and third['unchanged'] == 20000 and cluster.revision() == rev2

        # The killed member comes back and catches up: every member serves the same routes.
        killed.start()
        cluster.wait_healthy(30, members=cluster.members)
        assert cluster.assert_members_agree() == rev2  # etcd's own consistency first, then ours
        assert wait_for(lambda: revision_of([killed.endpoint]) == rev2, 20, 0.1)
        assert cluster.etcdctl(['get', manifest_key(instance), '--print-value-only'],
                               endpoints=[killed.endpoint]).strip().encode() == mine[manifest_key(instance)]
        print('leader kill: %d routes verified, %d foreign keys unchanged, re-run created %d'
              % (len(mine) - 1, len(before), len(again['created'])))


@pytest.mark.slow
def test_100000_routes_with_repeated_leader_kills(ansible, tmp_path):
    instance = 'inst-100k'
    ids = range(100000)
    src = write_src(tmp_path / 'apis-100k.json', ids)
    with etcd_cluster(new_dir(tmp_path / 'etcd'), size=3) as cluster:
        run, rev0, kill_revs, txns, killed = _kill_leader_mid_sync(ansible, cluster, instance, src, 100000, 32,
                                                                   kills=4)
        assert len(kill_revs) >= 2, kill_revs
        result = run.task('sync')
        assert_clean(result)
        assert_claims_match_etcd(result, cluster.dump_kvs('%s/%s/' % (PREFIX, instance)), instance, rev0)
        killed.start()
        cluster.wait_healthy(30, members=cluster.members)
        cluster.assert_members_agree()
        for attempt in range(3):
            again = ansible.run_tasks([sync_task('sync', instance, src=src, etcd_endpoints=cluster.endpoints)],
                                      name='rerun-%d' % attempt).task('sync')
            if not again.failed:
                break
        assert not again.failed, again['msg']
        state = cluster.dump('%s/%s/' % (PREFIX, instance))
        assert state == expected_state(instance, ids)
        print('100k with %d leader kills: first run %s in %.1fs; re-run %d created; %d keys verified'
              % (len(kill_revs), 'failed' if result.failed else 'ok', run.duration, len(again['created']),
                 len(state)))


def _clock(n):
    """A task that records the controller's time: the time between two clocks is a task's."""
    return {'name': 'clock %d' % n, 'ansible.builtin.set_fact': {'clock_%d' % n: '{{ now().timestamp() }}'}}


def test_all_etcd_endpoints_down_fail_in_bounded_time(ansible):
    hole = black_hole()
    try:
        refused = ['http://127.0.0.1:%d' % p for p in free_ports(2)]
        endpoints = [refused[0], 'http://127.0.0.1:%d' % hole.getsockname()[1], refused[1]]
        timeout = 1.0
        base = dict(etcd_endpoints=endpoints, etcd_timeout=timeout, apis=[api(1), api(2)])
        run = ansible.run_tasks([
            _clock(0),
            dict(sync_task('sync', 'inst-down', **base), ignore_errors=True),
            _clock(1),
            dict({'name': 'info', INFO: dict(instance_id='inst-down', etcd_endpoints=endpoints, etcd_timeout=timeout)},
                 ignore_errors=True),
            _clock(2),
            dict({'name': 'fleet', REFRESH: dict(base, mode='etcd', instances=[
                {'instance_id': 'inst-down-a'}, {'instance_id': 'inst-down-b'}])}, ignore_errors=True),
            _clock(3),
        ], name='all-down')
    finally:
        hole.close()
    bound = timeout * len(endpoints)
    for name in ('sync', 'info'):
        result = run.task(name)
        assert result.failed and not result.changed
        assert_clean(result)
        assert 'etcd unreachable' in result['msg'] and 'within %.1fs' % bound in result['msg'], result['msg']
        for endpoint in endpoints:
            assert endpoint in result['msg'], (endpoint, result['msg'])
        for key in ('created', 'updated', 'deleted'):
            assert not result.get(key), result.result
    fleet = run.task('fleet')
    assert fleet.failed and fleet['summary'] == {'total': 2, 'changed': 0, 'unchanged': 0, 'failed': 2}
    for item in fleet['results']:
        assert item['failed'] and not item['changed'] and 'etcd unreachable' in item['msg']
        assert not any(item.get(k) for k in ('created', 'updated', 'deleted'))
    # Each task took about etcd_timeout per endpoint (the fleet's two instances in parallel),
    # plus the module's start-up; it did try until the deadline.
    clocks = [float(run.task('clock %d' % n)['ansible_facts']['clock_%d' % n]) for n in range(4)]
    took = [b - a for a, b in zip(clocks, clocks[1:])]
    for seconds in took:
        assert bound <= seconds < bound + 5, took
    print('all endpoints down (refused, black hole, refused; etcd_timeout %.0fs): sync %.1fs, info %.1fs, '
          'fleet of 2 %.1fs' % ((timeout,) + tuple(took)))


# -- a full etcd, an expiring auth token ------------------------------------------------------

QUOTA = 8 * 1024 * 1024


def _route_ids(cluster, instance):
    return sorted(k.rsplit('/', 1)[1] for k in cluster.dump('%s/%s/apis/' % (PREFIX, instance)))


def test_database_full_mid_sync_reports_what_committed(ansible, tmp_path):
    """etcd runs out of space (--quota-backend-bytes 8 MiB) in the middle of a sync of 30,000
    routes: the task fails with the cause first, and the part that committed makes it changed."""
    src = write_src(tmp_path / 'apis-30k.json', range(30000))
    outcomes = {}
    for form in ('single', 'fleet'):
        with etcd_single(new_dir(tmp_path / form), extra_args=['--quota-backend-bytes', str(QUOTA)]) as cluster:
            if form == 'single':
                task = sync_task('sync', 'full', src=src, etcd_endpoints=cluster.endpoints)
            else:
                task = {'name': 'sync', REFRESH: dict(mode='etcd', src=src, etcd_endpoints=cluster.endpoints,
                                                      concurrency=1, instances=[{'instance_id': 'full'},
                                                                                {'instance_id': 'full-2'}])}
            run = ansible.run_tasks([dict(task, ignore_errors=True)], name='quota-%s' % form)
            result = run.task('sync')
            written = _route_ids(cluster, 'full')
            outcomes[form] = (result, written, _route_ids(cluster, 'full-2'))
    for form, (result, written, second) in outcomes.items():
        assert result.failed and result.changed, (form, result.result)
        item = result.result if form == 'single' else result['results'][0]
        assert_clean(result)
        assert 0 < len(written) < 30000 and item['created'] == written, (
            form, len(written), len(item['created']), sorted(set(written) - set(item['created']))[:3], item['msg'])
        assert item['changed'] is True and (item.get('failed') is True or form == 'single')  # single: result.failed
        msg = item['msg']
        assert msg.startswith('etcd at ') and 'database space exceeded' in msg, msg
        assert msg.index('database space exceeded') < msg.index('/apis/api'), msg  # the cause before the keys
        if form == 'fleet':
            assert result['summary']['failed'] == 2 and second == [] and result['results'][1]['changed'] is False
            assert 'database space exceeded' in result['msg']
        print('quota %d MiB, %s form: %d of 30000 routes committed, reported changed'
              % (QUOTA // 2 ** 20, form, len(written)))


def test_sync_outlives_the_auth_token(ansible, tmp_path):
    """Simple auth tokens that expire after 1 s idle (--auth-token-ttl 1): a sync of 20,000
    routes as the range-limited user succeeds, and so does its re-run after the token lapsed."""
    with etcd_single(tmp_path, auth=True, extra_args=['--auth-token', 'simple', '--auth-token-ttl', '1']) as cluster:
        src = write_src(tmp_path / 'apis-20k.json', range(20000))
        changed = write_src(tmp_path / 'apis-20k-b.json', range(20000), tag='b')
        kwargs = cluster.client_kwargs()
        base = dict(etcd_endpoints=cluster.endpoints, etcd_user=kwargs['user'], etcd_password=kwargs['password'])
        run = ansible.run_tasks([
            sync_task('sync', 'token', src=src, **base),
            {'name': 'idle', 'ansible.builtin.pause': {'seconds': 2}},
            sync_task('again', 'token', src=changed, **base),
        ], name='token-ttl')
        first, again = run.task('sync'), run.task('again')
        assert not first.failed and len(first['created']) == 20000, first.get('msg')
        assert not again.failed and len(again['updated']) == 20000, again.get('msg')
        assert cluster.dump('%s/token/' % PREFIX) == expected_state('token', range(20000), tag='b')
        assert ansible.find_in_captures(kwargs['password']) == []
        print('auth token ttl 1s: 20000 routes synced in %.1fs' % run.duration)


# -- races ----------------------------------------------------------------------------------

def _hold_lock(etcd, instance, ttl=60):
    """Take the instance's lock out of band (a leased key), as a running sync would hold it."""
    lease = etcd.etcdctl(['lease', 'grant', str(ttl)]).split()[1]
    etcd.etcdctl(['put', lock_key(instance), 'test-holder:0:held-by-the-test', '--lease=%s' % lease])
    return lease


def _race(ansible, etcd, instance, sources, hold=True):
    """Start one sync per source together; with ``hold`` they all wait on the lock first."""
    lease = _hold_lock(etcd, instance) if hold else None
    runners = [AnsibleRunner(ansible.workdir / ('racer-%d' % i), collections_path=ansible.collections_path)
               for i in range(len(sources))]
    jobs = [Background(r, [sync_task('sync', instance, src=src, etcd_endpoints=etcd.endpoints, max_txn_ops=32)],
                       name='racer') for r, src in zip(runners, sources)]
    if hold:
        # Both module processes are up and past their first look, waiting on the lock.
        assert wait_for(lambda: all(module_pids(r.workdir) for r in runners), 60, 0.05)
        time.sleep(2)
        etcd.etcdctl(['lease', 'revoke', lease])
    return [job.join(300) for job in jobs]


def _check_serialised(etcd, instance, runs, id_sets, tags):
    results = [run.assert_success().task('sync') for run in runs]
    first, second = sorted(range(len(results)), key=lambda i: results[i]['revision'])
    f, s = results[first], results[second]
    f_ids, s_ids = set(id_sets[first]), set(id_sets[second])
    # never a mix: exactly the source of the sync that ran last
    assert etcd.dump('%s/%s/' % (PREFIX, instance)) == expected_state(instance, sorted(s_ids), tags[second])
    # the second planned against the first's complete result, and wrote after it
    assert s['created'] == sorted('api%05d' % i for i in s_ids - f_ids)
    assert s['updated'] == sorted('api%05d' % i for i in s_ids & f_ids)
    assert s['deleted'] == sorted('api%05d' % i for i in f_ids - s_ids)
    kvs = etcd.dump_kvs('%s/%s/' % (PREFIX, instance))
    written_by_second = [kvs[route_key(instance, i)][1] for i in s['created'] + s['updated']]
    assert min(written_by_second) > f['revision'], 'the two syncs interleaved their writes'
    return f, s


def test_racing_syncs_end_with_exactly_one_source(ansible, etcd, tmp_path):
    instance = 'inst-race'
    id_sets = [range(0, 10000), range(5000, 15000)]
    tags = ['a', 'b']
    sources = [write_src(tmp_path / ('race-%s.json' % t), ids, t) for ids, t in zip(id_sets, tags)]
    rev0 = etcd.revision()
    runs = _race(ansible, etcd, instance, sources)
    f, s = _check_serialised(etcd, instance, runs, id_sets, tags)
    assert len(f['created']) == 10000 and f['revision'] > rev0
    assert etcd.dump(lock_key(instance)) == {}
    print('race: first sync created %d, second created %d / updated %d / deleted %d, after it'
          % (len(f['created']), len(s['created']), len(s['updated']), len(s['deleted'])))


@pytest.mark.slow
def test_racing_syncs_repeated(ansible, etcd, tmp_path):
    instance = 'inst-race-many'
    tags = ['a', 'b']
    id_sets = [range(0, 8000), range(3000, 11000)]
    sources = [write_src(tmp_path / ('race-%s.json' % t), ids, t) for ids, t in zip(id_sets, tags)]
    for round_ in range(8):
        etcd.etcdctl(['del', '%s/%s/' % (PREFIX, instance), '--prefix'])
        runs = _race(ansible, etcd, instance, sources, hold=round_ % 2 == 0)
        _check_serialised(etcd, instance, runs, id_sets, tags)
    print('race: 8 rounds, every one serialised and equal to one source')


def test_third_writer_during_a_sync_is_never_overwritten_blindly(ansible, etcd, src_20k):
    instance = 'inst-third'
    ids = range(20000)
    desired = expected_routes(instance, ids)
    k_first, k_second = route_key(instance, 'api00000'), route_key(instance, 'api00001')
    k_last, k_before_last = route_key(instance, 'api19999'), route_key(instance, 'api19998')
    stray, notes = route_key(instance, 'stray-3w'), '%s/%s/notes' % (PREFIX, instance)
    rev0 = etcd.revision()
    job = Background(ansible, [sync_task('sync', instance, src=src_20k, etcd_endpoints=etcd.endpoints,
                                         max_txn_ops=16)], name='sync-with-third-writer')
    # after the lock (rev0 + 1) and the first transactions (api00000 ... api00015 and more)
    assert wait_for(lambda: (revision_of(etcd.endpoints) or 0) >= rev0 + 4 or not job.alive, 120)
    assert job.alive, 'the sync ended before the third writer could act'
    rev_w = third_writer_txn(etcd.endpoints[0], puts=[
        (k_last, desired[k_last]),        # not yet written by the sync: already right
        (k_before_last, b'{"third":"writer"}'),   # not yet written: wrong
        (k_first, b'{"third":"writer"}'),         # already written by the sync: now wrong
        (stray, b'{}'),                           # a route the source does not have
        (notes, b'third writer, outside apis/'),  # not a route
    ], deletes=[k_second])                        # already written by the sync: now missing
    result = job.join(300).assert_success().task('sync')
    assert result['revision'] > rev_w, 'the sync finished before the third writer wrote'
    kvs = etcd.dump_kvs('%s/%s/' % (PREFIX, instance))
    # Preserved: the plan that followed the conflict saw the right value and left it alone.
    assert kvs[k_last] == (desired[k_last], rev_w)
    # Superseded only by guarded writes planned after the third writer's revision.
    for key in (k_first, k_second, k_before_last):
        assert kvs[key][0] == desired[key] and kvs[key][1] > rev_w, key
    assert stray not in kvs and kvs[notes] == (b'third writer, outside apis/', rev_w)
    # Claims: the sync did not create k_last or k_before_last (the third writer did).
    all_ids = ids_of(desired)
    assert result['created'] == [i for i in all_ids if i not in ('api19998', 'api19999')]
    assert result['updated'] == ['api19998'] and result['deleted'] == ['stray-3w']
    assert result['unchanged'] == 1
    del kvs[notes]
    assert dict((k, v) for k, (v, _m) in kvs.items()) == expected_state(instance, ids)
    print('third writer at revision %d: sync re-planned and finished at %d; created %d, updated %s, '
          'deleted %s, preserved api19999' % (rev_w, result['revision'], len(result['created']),
                                              result['updated'], result['deleted']))


# -- process death --------------------------------------------------------------------------

def test_sigkilled_sync_is_repaired_and_its_lock_expires(ansible, etcd, src_20k):
    instance = 'inst-death'
    ids = range(20000)
    rev0 = etcd.revision()
    job = Background(ansible, [sync_task('sync', instance, src=src_20k, etcd_endpoints=etcd.endpoints,
                                         max_txn_ops=16)], name='killed')
    assert wait_for(lambda: (revision_of(etcd.endpoints) or 0) >= rev0 + 4 or not job.alive, 120)
    pids = module_pids(ansible.workdir)
    assert job.alive and len(pids) == 1, (job.alive, pids)
    os.kill(pids[0], signal.SIGKILL)
    killed_at = time.monotonic()
    run = job.join(120)
    assert run.task('sync').failed

    # What the dead sync left: some routes, no manifest (written last), its lock on a lease.
    left = etcd.dump_kvs('%s/%s/' % (PREFIX, instance))
    routes_left = [k for k in left if '/apis/' in k]
    assert 0 < len(routes_left) < 20000 and manifest_key(instance) not in left
    for key in routes_left:
        assert left[key][0] == expected_routes(instance, [int(key[-5:])])[key]
    lock = json.loads(etcd.etcdctl(['get', lock_key(instance), '-w', 'json']))['kvs'][0]
    ttl = json.loads(etcd.etcdctl(['lease', 'timetolive', '%x' % int(lock['lease']), '-w', 'json']))['ttl']
    assert 0 < ttl <= LOCK_TTL

    # The next run waits for the lease to expire (not for its own lock_timeout) and repairs.
    rev1 = etcd.revision()
    repair = ansible.run_tasks([sync_task('sync', instance, src=src_20k, etcd_endpoints=etcd.endpoints)],
                               name='repair').assert_success()
    waited = time.monotonic() - killed_at
    result = repair.task('sync')
    assert result['created'] == ids_of(set(expected_routes(instance, ids)) - set(routes_left))
    assert (result['updated'], result['deleted'], result['unchanged']) == ([], [], len(routes_left))
    assert_claims_match_etcd(result, etcd.dump_kvs('%s/%s/' % (PREFIX, instance)), instance, rev1)
    assert waited < ttl + 15, waited
    assert etcd.dump('%s/%s/' % (PREFIX, instance)) == expected_state(instance, ids)
    expired = json.loads(etcd.etcdctl(['lease', 'timetolive', '%x' % int(lock['lease']), '-w', 'json']))
    assert expired['ttl'] == -1
    rev2 = etcd.revision()
    ansible.run_tasks([sync_task('sync', instance, src=src_20k, etcd_endpoints=etcd.endpoints)],
                      name='noop').assert_success()
    assert etcd.revision() == rev2
    print('process death: killed with %d/20000 routes written, lock TTL left %ds; repair done %.1fs after '
          'the kill (its run %.1fs), created %d' % (len(routes_left), ttl, waited, repair.duration,
                                                    len(result['created'])))


def test_sync_paused_past_its_lease_writes_nothing_more(ansible, etcd, src_20k, tmp_path):
    """A sync SIGSTOPped past its lock's TTL while another sync takes the lock and finishes; on
    SIGCONT it must not write one key more, and must fail saying why."""
    instance = 'inst-paused'
    mine = '%s/%s/' % (PREFIX, instance)
    paused = AnsibleRunner(ansible.workdir / 'paused', collections_path=ansible.collections_path)
    meanwhile = AnsibleRunner(ansible.workdir / 'meanwhile', collections_path=ansible.collections_path)
    src_b = write_src(tmp_path / 'apis-b.json', range(100), tag='b')
    rev0 = etcd.revision()
    job = Background(paused, [sync_task('sync', instance, src=src_20k, etcd_endpoints=etcd.endpoints,
                                        max_txn_ops=16)], name='paused')
    pid = None
    try:
        # after the lock (rev0 + 1) and the first transactions
        assert wait_for(lambda: (revision_of(etcd.endpoints) or 0) >= rev0 + 4 or not job.alive, 120)
        pids = module_pids(paused.workdir)
        assert job.alive and len(pids) == 1, (job.alive, pids)
        pid = pids[0]
        os.kill(pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        assert wait_for(lambda: psutil.Process(pid).status() == psutil.STATUS_STOPPED, 10, 0.05)
        # The lease runs out (nobody keeps it alive), etcd deletes the lock key.
        assert wait_for(lambda: lock_key(instance) not in etcd.dump(lock_key(instance)), LOCK_TTL + 15, 0.2)
        expired_after = time.monotonic() - stopped_at
        before_pause = etcd.dump_kvs(mine)  # what the paused sync wrote (a reply in flight included)
        assert 0 < len(before_pause) < 20000 and manifest_key(instance) not in before_pause

        # Another sync runs meanwhile and completes: 100 routes of other content, the rest pruned.
        second = meanwhile.run_tasks([sync_task('sync', instance, src=src_b, etcd_endpoints=etcd.endpoints)],
                                     name='meanwhile').assert_success().task('sync')
        state_b = expected_state(instance, range(100), tag='b')
        kvs_b = etcd.dump_kvs(mine)
        assert dict((k, v) for k, (v, _m) in kvs_b.items()) == state_b
        assert second['deleted'] == ids_of(set(before_pause) - set(state_b))
        rev_b = etcd.revision()
        assert rev_b >= second['revision']

        os.kill(pid, signal.SIGCONT)
        resumed_at = time.monotonic()
        run = job.join(120)
        pid = None
    finally:
        if pid is not None:  # the test failed while the module was stopped: let it end, then end it
            try:
                os.kill(pid, signal.SIGCONT)
                psutil.Process(pid).wait(30)
            except (OSError, psutil.Error):
                pass
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            job.thread.join(60)
    result = run.task('sync')
    # Out of band: not one write after SIGCONT (the revision did not move), the second sync's keys intact.
    assert etcd.revision() == rev_b, 'written after SIGCONT: %s' % sorted(
        k for k, (_v, mod) in etcd.dump_kvs(mine).items() if mod > rev_b)[:10]
    assert etcd.dump_kvs(mine) == kvs_b
    assert result.failed
    assert_clean(result)
    assert ('lost the etcd lock %s in the middle of the sync: ' % lock_key(instance)) in result['msg'], result['msg']
    assert 'nothing more was written' in result['msg'] and 're-run' in result['msg']
    # The paused sync reports what it did write before the pause.
    assert result['changed'] is True
    assert result['created'] == ids_of(before_pause) and result['updated'] == result['deleted'] == []
    print('paused sync: stopped with %d/20000 routes written, lock expired %.1fs after SIGSTOP; another sync '
          'updated %d, deleted %d; after SIGCONT the paused sync failed in %.1fs: %s'
          % (len(before_pause), expired_after, len(second['updated']), len(second['deleted']),
             time.monotonic() - resumed_at, result['msg']))


@pytest.mark.slow
def test_repeated_process_deaths_then_repair(ansible, etcd, tmp_path):
    instance = 'inst-deaths'
    ids = range(60000)
    src = write_src(tmp_path / 'apis-60k.json', ids)
    kills = 0
    for attempt in range(3):
        rev0 = etcd.revision()
        job = Background(ansible, [sync_task('sync', instance, src=src, etcd_endpoints=etcd.endpoints,
                                             max_txn_ops=16, lock_timeout=60)], name='killed-%d' % attempt)
        if wait_for(lambda: (revision_of(etcd.endpoints) or 0) >= rev0 + 5 + attempt * 200 or not job.alive, 120):
            pids = module_pids(ansible.workdir)
            if job.alive and pids:
                os.kill(pids[0], signal.SIGKILL)
                kills += 1
        job.join(300)
    assert kills >= 2
    repair = ansible.run_tasks([sync_task('sync', instance, src=src, etcd_endpoints=etcd.endpoints)],
                               name='repair').assert_success().task('sync')
    assert repair['updated'] == [] and repair['deleted'] == []
    assert etcd.dump('%s/%s/' % (PREFIX, instance)) == expected_state(instance, ids)
    print('%d process deaths, then one repair creating %d of 60000 routes' % (kills, len(repair['created'])))


# -- management API faults ------------------------------------------------------------------

PROJECT = '7f7f0000000000000000000000000001'
TOKEN = 'MIIreliability-token-4d2c'
FAULTY = [  # instance, faults, expected (failed, status, error_code, attempts) with retries=3
    ('f-ok', None, (False, 200, None, 1)),
    ('f-3500-storm', {'always': {'status': 500, 'error_code': 'APIG.3500',
                                 'error_msg': 'Failed to synchronize data to etcd.'}}, (True, 500, 'APIG.3500', 4)),
    ('f-429-burst', {'sequence': [{'status': 429, 'retry_after': 1, 'count': 2}]}, (False, 200, None, 3)),
    ('f-slow-once', {'sequence': [{'delay': 2}]}, (False, 200, None, 2)),
    ('f-slow-always', {'always': {'delay': 2}}, (True, -1, None, 4)),
    ('f-reset-twice', {'sequence': [{'reset': True, 'count': 2}]}, (False, 200, None, 3)),
    ('f-reset-always', {'always': {'reset': True}}, (True, -1, None, 4)),
    ('f-mixed', {'sequence': [{'status': 500, 'error_code': 'APIG.3500'}, {'status': 429, 'retry_after': 1},
                              {'reset': True}]}, (False, 200, None, 4)),
    ('f-503-always', {'always': {'status': 503}}, (True, 503, 'APIG.9999', 4)),
    ('f-not-there', None, (True, 404, 'APIG.3030', 1)),
]
SIM_CONFIG = {
    'projects': [{'id': PROJECT, 'instances': [{'id': name, 'generate': {'count': 3, 'seed': i}}
                                               for i, (name, _f, _e) in enumerate(FAULTY) if name != 'f-not-there']}],
    'credentials': {'tokens': [{'name': 'ci', 'token': TOKEN, 'roles': ['op_svc_apig']}]},
}
FAULT_OPTIONS = dict(project_id=PROJECT, auth_token=TOKEN, retries=3, retry_delay=0.01, timeout=0.5)


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    with Simulator(SIM_CONFIG, workdir=tmp_path_factory.mktemp('sim-faults')) as simulator:
        yield simulator


def _arm(sim):
    deadline = time.monotonic() + 15  # requests given up on by the client may still be in flight
    while sim.stats()['in_flight'] and time.monotonic() < deadline:
        time.sleep(0.05)
    sim.reset(faults='clear')
    for name, faults, _expected in FAULTY:
        if faults:
            sim.set_faults(name, **faults)


def _puts_by_instance(sim):
    deadline = time.monotonic() + 15
    while sim.stats()['in_flight'] and time.monotonic() < deadline:
        time.sleep(0.05)
    out = {}
    for entry in sim.requests():
        if entry['method'] == 'PUT':
            out.setdefault(entry['instance_id'], []).append(entry)
    return out


def _check_fault_results(results, sim):
    by_id = dict((r['instance_id'], r) for r in results)
    assert [r['instance_id'] for r in results] == [name for name, _f, _e in FAULTY]
    sent = _puts_by_instance(sim)
    for name, _faults, (failed, status, code, attempts) in FAULTY:
        r = by_id[name]
        assert (r['failed'], r['status'], r['error_code'], r['attempts']) == (failed, status, code, attempts), r
        assert r['changed'] is (not failed) and r['msg']
        assert 'Traceback' not in r['msg']
        # what the simulator saw: exactly `attempts` PUTs, never more than 1 + retries
        assert len(sent.get(name, [])) == attempts <= 1 + FAULT_OPTIONS['retries'], (name, sent.get(name))
    burst = sent['f-429-burst']
    for earlier, later in zip(burst, burst[1:]):
        assert _when(later) - _when(earlier) >= 0.95, 'Retry-After not honoured'
    return by_id


def _when(entry):
    moment = datetime.datetime.strptime(entry['time'], '%Y-%m-%dT%H:%M:%S.%fZ')
    return moment.replace(tzinfo=datetime.timezone.utc).timestamp()


def test_management_api_faults_per_instance_in_a_fleet(ansible, sim):
    _arm(sim)
    run = ansible.run_tasks([dict({'name': 'fleet', REFRESH: dict(
        FAULT_OPTIONS, endpoint=sim.url, instances=[{'instance_id': name} for name, _f, _e in FAULTY],
        concurrency=16)}, ignore_errors=True)], name='fleet-faults')
    result = run.task('fleet')
    assert result.failed
    assert_clean(result)
    _check_fault_results(result['results'], sim)
    failed = [name for name, _f, expected in FAULTY if expected[0]]
    assert result['summary'] == {'total': len(FAULTY), 'changed': len(FAULTY) - len(failed), 'unchanged': 0,
                                 'failed': len(failed)}
    for name in failed:
        assert name in result['msg']
    print('fleet under faults: %d instances, %d failed as expected, %d PUTs, %.1fs'
          % (len(FAULTY), len(failed), sum(r['attempts'] for r in result['results']), run.duration))


def test_management_api_faults_through_the_role(ansible, sim, tmp_path):
    _arm(sim)
    report = tmp_path / 'report'
    run = ansible.run_tasks([{'name': 'fleet', 'ansible.builtin.include_role': {'name': 'apigw.router.fleet_refresh'},
                              'vars': {'fleet_refresh_instances': [{'instance_id': n} for n, _f, _e in FAULTY],
                                       'fleet_refresh_batch_size': 4, 'fleet_refresh_max_fail_percentage': 100,
                                       'fleet_refresh_report_dir': str(report),
                                       'fleet_refresh_options': dict(FAULT_OPTIONS, endpoint=sim.url)}}],
                            name='role-faults').assert_success()
    with open(str(report / 'fleet_refresh.json'), encoding='utf-8') as f:
        written = json.load(f)
    _check_fault_results(written['results'], sim)
    failed = [name for name, _f, expected in FAULTY if expected[0]]
    summary = written['summary']
    assert (int(summary['total']), int(summary['changed']), int(summary['unchanged']), int(summary['failed'])) == \
        (len(FAULTY), len(FAULTY) - len(failed), 0, len(failed))
    assert summary['failed_instances'] == failed
    batches = [r for r in run.results if r.action == REFRESH or r.resolved_action == REFRESH]
    assert len(batches) == 3  # 10 instances in batches of 4


# -- the gateway's own etcd going away ------------------------------------------------------

GW_CONFIG = {
    'projects': [{'id': PROJECT, 'instances': [{'id': 'gw-a', 'generate': {'count': 8, 'seed': 1}},
                                               {'id': 'gw-b', 'generate': {'count': 8, 'seed': 2}}]}],
    'credentials': {'tokens': [{'name': 'ci', 'token': TOKEN, 'roles': ['op_svc_apig']}]},
}


def _python_with_args(tmp_path, *extra):
    """A stand-in for the Python the simulator harness runs, appending simulator options."""
    wrapper = tmp_path / 'python-with-args'
    wrapper.write_text('#!/bin/sh\nexec %s "$@" %s\n' % (sys.executable, ' '.join(extra)))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return str(wrapper)


def test_gateway_etcd_going_away_and_coming_back(ansible, tmp_path):
    with etcd_single(new_dir(tmp_path / 'gw-etcd')) as gw_etcd:
        python = _python_with_args(tmp_path, '--etcd-timeout', '1')
        with Simulator(GW_CONFIG, workdir=tmp_path / 'sim', etcd_endpoints=gw_etcd.endpoints, python=python) as sim:
            task = {'name': 'fleet', REFRESH: dict(project_id=PROJECT, auth_token=TOKEN, endpoint=sim.url,
                                                   instances=[{'instance_id': 'gw-a'}, {'instance_id': 'gw-b'}],
                                                   retries=1, retry_delay=0.2)}
            up = ansible.run_tasks([task], name='etcd-up').assert_success().task('fleet')
            assert [(r['status'], r['attempts']) for r in up['results']] == [(200, 1), (200, 1)]
            routes = gw_etcd.dump('/apig/router/')
            assert routes and all(k.split('/')[3] in ('gw-a', 'gw-b') for k in routes)

            member = gw_etcd.members[0]
            member.kill()
            sim.reset()
            down = ansible.run_tasks([dict(task, ignore_errors=True)], name='etcd-down').task('fleet')
            assert down.failed
            assert_clean(down)
            assert [(r['failed'], r['status'], r['error_code'], r['attempts']) for r in down['results']] == [
                (True, 500, 'APIG.3500', 2), (True, 500, 'APIG.3500', 2)]
            assert down['summary'] == {'total': 2, 'changed': 0, 'unchanged': 0, 'failed': 2}
            assert sorted((e['instance_id'], e['status'], e['error_code']) for e in sim.requests()) == [
                ('gw-a', 500, 'APIG.3500')] * 2 + [('gw-b', 500, 'APIG.3500')] * 2

            member.start()
            gw_etcd.wait_healthy()
            sim.reset()
            back = ansible.run_tasks([dict(task, **{REFRESH: dict(task[REFRESH], retries=3, retry_delay=1)})],
                                     name='etcd-back').assert_success().task('fleet')
            assert all(r['status'] == 200 and r['attempts'] <= 4 for r in back['results'])
            assert back['summary']['failed'] == 0
            assert gw_etcd.dump('/apig/router/') == routes
