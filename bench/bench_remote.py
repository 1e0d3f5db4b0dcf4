#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Section ``remote``: an etcd at the other end of a network, with its round trips counted.

The gateway's etcd is rarely on the controller: every request to it costs a round trip. Here a
gRPC proxy (``apigw_support.etcd_proxy.DelayingProxy``) stands between the client and one
local etcd member and delays every unary call by ``--remote-rtts`` milliseconds, calls in
flight side by side. For each delay, one sync of ``--remote-size`` routes (datagen's APIs):

- ``raw``: the client library alone writing the route records in transactions of 128, one
  after the other (what a plain script does);
- ``engine``: the module's etcd engine without Ansible (a worker process per run), cold into
  an empty prefix with 1, with 4 and with the module's own number of transactions in flight
  (``etcd/_sync.TXNS_IN_FLIGHT``), and as a no-op;
- ``playbook``: the module through ansible-playbook, cold and no-op, minus the ping playbook.

The proxy counts the calls of every run: the round trips a sync pays. Key counts are checked
with etcdctl after every cold run. This section measures, it has no targets.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import subprocess
import sys
import time

import datagen
from bench_etcd_sync import sync_play
from common import INSTANCE, BenchError, Series, etcd_server, int_list, key_count, log, render, wipe

SECTION = 'remote'
HELP = 'etcd behind a link with a round-trip time (a delaying proxy): syncs and their round trips'
DEFAULT = False
ORDER = 40
QUICK = {'remote_size': 1000, 'remote_rtts': [0, 5]}

PREFIX = '/bench-remote'
# Transactions in flight measured beside the module's own number (0 in the worker's --in-flight).
OTHER_IN_FLIGHT = (1, 4)


def add_arguments(parser):
    parser.add_argument('--remote-size', type=int, default=10000, help='section remote: routes of the sync')
    parser.add_argument('--remote-rtts', type=int_list, default=[0, 5, 20, 50], metavar='MS,MS',
                        help='section remote: round-trip times to put in front of etcd, in milliseconds')


# -- worker (one process per engine or raw run) ---------------------------------------------------

def _worker(argv):
    p = argparse.ArgumentParser()
    p.add_argument('--endpoint', required=True)
    p.add_argument('--src', required=True)
    p.add_argument('--what', choices=('raw', 'cold', 'noop'), required=True)
    p.add_argument('--in-flight', type=int, default=0, help="0: the module's own number")
    p.add_argument('--collections', required=True, help='the directory holding ansible_collections/')
    args = p.parse_args(argv)
    sys.path.insert(0, args.collections)
    from common import import_module_utils
    routes = import_module_utils('sources._routes')
    with open(args.src, 'rb') as handle:
        apis = json.loads(handle.read().decode('utf-8'))['apis']
    # Built before the clock starts: the round trips are what this section is about.
    records = routes.build_records(apis)
    desired = dict((routes.routes_prefix(PREFIX, INSTANCE) + api_id, value) for api_id, value in records.items())
    start = time.perf_counter()
    if args.what == 'raw':
        import pyetcd
        host, port = args.endpoint.split('//')[1].rsplit(':', 1)
        client = pyetcd.client(host, int(port), timeout=30)
        put, pairs = client.transactions.put, sorted(desired.items())
        for i in range(0, len(pairs), 128):
            ok, _responses = client.transaction([], [put(k, v) for k, v in pairs[i:i + 128]], [])
            if not ok:
                raise SystemExit('transaction failed')
        outcome = {'created': len(pairs)}
    else:
        client = import_module_utils('etcd._client').EtcdClient([args.endpoint], library='pyetcd', timeout=30)
        engine = import_module_utils('etcd._sync')
        in_flight = args.in_flight or engine.TXNS_IN_FLIGHT
        result = engine.sync(client, INSTANCE, desired, key_prefix=PREFIX, txns_in_flight=in_flight)
        outcome = {'created': len(result['created']), 'unchanged': result['unchanged'], 'in_flight': in_flight}
    outcome['seconds'] = time.perf_counter() - start
    print(json.dumps(outcome))
    return 0


# -- section ------------------------------------------------------------------------------------

def run(ctx):
    return RemoteSection(ctx).run()


class RemoteSection:
    def __init__(self, ctx):
        self.ctx = ctx
        self.size = ctx.args.remote_size
        self.src = ctx.workdir / ('remote-%d.json' % self.size)

    def worker(self, proxy, what, in_flight=0):
        cmd = [sys.executable, os.path.abspath(__file__), '--worker', '--endpoint', proxy.endpoint,
               '--src', str(self.src), '--what', what, '--in-flight', str(in_flight),
               '--collections', str(self.ctx.collections)]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=self.ctx.args.timeout, check=False)
        if proc.returncode != 0:
            raise BenchError('remote worker %s failed:\n%s' % (' '.join(cmd[2:]), proc.stderr[-2000:]))
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def playbook(self, proxy, label):
        run = self.ctx.playbook(sync_play('pyetcd', self.src, PREFIX, proxy.endpoint), label)
        result = run.task('sync')
        return run.duration, {'created': len(result['created']), 'unchanged': result['unchanged']}

    def measured(self, cluster, proxy, case, fn, cold):
        """Run one case from the state it needs; check its outcome (etcdctl after a cold run)."""
        if cold:
            wipe(cluster, PREFIX)
        before = dict(proxy.calls)
        seconds, outcome = fn()
        calls = dict((k, v - before.get(k, 0)) for k, v in proxy.calls.items() if v - before.get(k, 0))
        if cold:
            stored = key_count(cluster, PREFIX + '/' + INSTANCE + '/apis')
            if outcome['created'] != self.size or stored != self.size:
                raise BenchError('%s: %d routes reported created, %d in etcd, %d expected'
                                 % (case, outcome['created'], stored, self.size))
        elif outcome.get('unchanged') != self.size or outcome['created']:
            raise BenchError('%s: not a no-op: %r' % (case, outcome))
        return seconds, calls, outcome

    def run(self):
        from apigw_support.etcd_proxy import DelayingProxy  # after common put tests/support on sys.path
        args = self.ctx.args
        self.src.write_text(json.dumps(datagen.page(datagen.generate(self.size))), encoding='utf-8')
        print('\n== Section remote: etcd behind a delaying proxy, %d routes, pyetcd (best of %d; seconds)'
              % (self.size, args.repeat))
        rows, data, default = [], [], None
        with etcd_server(self.ctx.workdir / 'etcd-remote') as cluster:
            for rtt in args.remote_rtts:
                with DelayingProxy(cluster.endpoints[0], rtt / 1000.0) as proxy:
                    figures, calls, default = self.one_rtt(cluster, proxy, rtt)
                data.append({'rtt_ms': rtt, 'module_in_flight': default, 'calls': calls,
                             'figures': dict((k, v.summary()) for k, v in figures.items())})
                rows.append(['%d ms' % rtt] + [figures[k].fmt() for k in (
                    ['raw'] + ['cold-%d' % n for n in OTHER_IN_FLIGHT] + ['cold', 'noop', 'playbook-cold',
                                                                          'playbook-noop'])] + [
                    _calls_text(calls['raw']), _calls_text(calls['cold']), _calls_text(calls['noop'])])
        print(render(['round trip', 'raw, txns one by one'] + ['engine cold, %d in flight' % n for n in OTHER_IN_FLIGHT]
                     + ["engine cold, the module's %d" % default, 'engine no-op', 'playbook cold - ping',
                        'playbook no-op - ping', 'calls raw', 'calls cold', 'calls no-op'], rows))
        print('calls: unary calls through the proxy, each one round trip (streams are not delayed)')
        for entry in data:
            calls = entry['calls']
            for phase in ('cold', 'noop'):
                same = calls['playbook-' + phase] == calls[phase]
                print('%d ms: the playbook %s made %s' % (
                    entry['rtt_ms'], 'no-op' if phase == 'noop' else phase,
                    'the same calls as the engine' if same else _calls_text(calls['playbook-' + phase])))
        self.ctx.report[SECTION] = {'routes': self.size, 'rtts': data}

    def one_rtt(self, cluster, proxy, rtt):
        names = ['raw'] + ['cold-%d' % n for n in OTHER_IN_FLIGHT] + ['cold', 'noop', 'playbook-cold', 'playbook-noop']
        figures = dict((name, Series()) for name in names)
        calls, default = {}, None
        for rep in range(self.ctx.args.repeat):
            log('remote: %d ms, round %d' % (rtt, rep + 1))
            ping = self.ctx.ping_playbook('remote-%d-r%d' % (rtt, rep))
            cases = [('raw', True, lambda: _timed(self.worker(proxy, 'raw')))]
            cases += [('cold-%d' % n, True, lambda n=n: _timed(self.worker(proxy, 'cold', in_flight=n)))
                      for n in OTHER_IN_FLIGHT]
            cases += [
                ('cold', True, lambda: _timed(self.worker(proxy, 'cold'))),
                ('noop', False, lambda: _timed(self.worker(proxy, 'noop'))),
                ('playbook-cold', True, lambda: self.playbook(proxy, 'remote-cold-%d-r%d' % (rtt, rep))),
                ('playbook-noop', False, lambda: self.playbook(proxy, 'remote-noop-%d-r%d' % (rtt, rep))),
            ]
            for name, cold, fn in cases:
                seconds, calls[name], outcome = self.measured(cluster, proxy, name, fn, cold)
                figures[name].append(seconds - ping if name.startswith('playbook') else seconds)
                if name == 'cold':
                    default = outcome['in_flight']
        return figures, calls, default


def _timed(outcome):
    return outcome['seconds'], outcome


def _calls_text(calls):
    return '%d (%s)' % (sum(calls.values()), ', '.join('%s %d' % (k, v) for k, v in sorted(calls.items())))


if __name__ == '__main__':
    if sys.argv[1:2] == ['--worker']:
        sys.exit(_worker(sys.argv[2:]))
    sys.exit('run through bench/run.py: hack/bench.sh --sections remote')
