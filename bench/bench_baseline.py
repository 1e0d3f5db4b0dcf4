# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Section ``baseline``: the same playbooks against two versions of the collection, in one run.

``--baseline REF`` (a commit, tag or branch; default the last release) is installed from git by
``common.collection_at`` (once per commit: a later run reuses it). The current version is
this run's copy of ``build/collections`` (what ``hack/bootstrap.sh`` installed from the
work tree). Both run the same scenarios on the same etcd and simulator, interleaved in every
repetition (the order alternates), so the load of the machine weighs on both alike:

- an etcd sync from ``src`` of every ``--sizes`` with every ``--libraries``: cold and no-op;
- the fleet form (API mode) over ``--fleet-instances`` at ``--latency-ms``, the first
  ``--concurrency``.

Only options that 0.1.0 already had are used. Each result is checked (created/unchanged
counts, keys counted with etcdctl, one PUT per instance in the simulator's log) so that a
failing version cannot look fast.
"""

from __future__ import absolute_import, division, print_function

import json
from collections import OrderedDict

import datagen
from apigw_support.simulator import Simulator
from bench_fleet import simulator_config
from common import (INSTANCE, LAST_RELEASE, LAST_RELEASE_REF, MODULE, PROJECT, STAT, TOKEN, BenchError, Series,
                    collection_at, etcd_server, key_count, log, render, wipe)

SECTION = 'baseline'
HELP = 'the same playbooks against a baseline version (--baseline REF) and the current one, side by side'
DEFAULT = False
ORDER = 30

BASELINE_REF = LAST_RELEASE_REF


def add_arguments(parser):
    parser.add_argument('--baseline', default=BASELINE_REF, metavar='REF',
                        help='git commit, tag or branch of the baseline version (default: %s, the last release)'
                        % LAST_RELEASE)
    parser.add_argument('--baseline-scenarios', default='etcd,fleet',
                        help='comma-separated: etcd (sync cold and no-op per size and library), fleet')
    parser.add_argument('--baseline-only-build', action='store_true',
                        help='build and install the baseline collection, print where, and measure nothing')


class BaselineSection:
    def __init__(self, ctx):
        self.ctx = ctx
        self.args = ctx.args

    def versions(self):
        commit, collections = collection_at(self.args.baseline, timeout=self.args.timeout)
        log('baseline: %s (%s) installed in %s' % (self.args.baseline, commit[:12], collections))
        return OrderedDict([('baseline', (commit, collections)), ('current', (None, self.ctx.collections))])

    def sync(self, collections, label, lib, src, prefix, endpoint, expect, n):
        play = [{'name': 'sync', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
            'name': 'sync', MODULE: {
                'mode': 'etcd', 'instance_id': INSTANCE, 'src': str(src), 'key_prefix': prefix,
                'etcd_endpoints': [endpoint], 'etcd_library': lib}}]}]
        run = self.ctx.playbook(play, label, collections=collections)
        result = run.task('sync')
        if expect == 'cold':
            ok = result.changed and len(result['created']) == n
        else:
            ok = not result.changed and result['unchanged'] == n
        if not ok:
            raise BenchError('%s: unexpected result: changed %s, %s' % (
                label, result.changed, {k: len(v) if isinstance(v, list) else v for k, v in result.result.items()
                                        if k in ('created', 'updated', 'deleted', 'unchanged', 'msg')}))
        return run.duration

    def fleet(self, collections, label, sim, ids, concurrency):
        sim.reset()
        play = [{'name': 'fleet', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
            'name': 'fleet', MODULE: {
                'instances': '{{ bench_instances }}', 'concurrency': concurrency, 'endpoint': sim.url,
                'project_id': PROJECT, 'auth_token': TOKEN}}]}]
        run = self.ctx.playbook(play, label, collections=collections,
                                extra_vars={'bench_instances': [{'instance_id': i} for i in ids]})
        summary = run.task('fleet')['summary']
        puts = [e for e in sim.requests() if e['method'] == 'PUT' and e['status'] == 200]
        if summary['total'] != len(ids) or summary['failed'] or sorted(e['instance_id'] for e in puts) != sorted(ids):
            raise BenchError('%s: summary %s, %d PUTs answered 200 for %d instances'
                             % (label, summary, len(puts), len(ids)))
        return run.duration

    def run(self):
        args = self.args
        versions = self.versions()
        if args.baseline_only_build:
            print('baseline %s: %s' % (args.baseline, versions['baseline'][1]))
            return None
        rows = OrderedDict()  # scenario -> {version: Series}

        def series(scenario):
            return rows.setdefault(scenario, OrderedDict((v, Series()) for v in versions))

        names = list(versions)
        scenarios = [s.strip() for s in args.baseline_scenarios.split(',') if s.strip()]
        if 'etcd' in scenarios:
            self.etcd_scenarios(versions, names, series)
        if 'fleet' in scenarios:
            self.fleet_scenario(versions, names, series)
        self.print_table(versions, rows)
        self.ctx.report['baseline'] = OrderedDict(
            [('ref', args.baseline), ('commit', versions['baseline'][0]),
             ('scenarios', OrderedDict((k, OrderedDict(v)) for k, v in rows.items()))])
        return rows

    def etcd_scenarios(self, versions, names, series):
        args = self.args
        with etcd_server(self.ctx.workdir / 'etcd-baseline', fsync=not args.no_fsync) as cluster:
            endpoint = cluster.members[0].endpoint
            sources = OrderedDict()
            for n in args.sizes:
                src = self.ctx.workdir / ('baseline-apis-%d.json' % n)
                src.write_text(json.dumps(datagen.page(datagen.generate(n))), encoding='utf-8')
                sources[n] = src
            for rep in range(args.repeat):
                order = names if rep % 2 == 0 else names[::-1]
                # Ansible's floors: the same Ansible for both versions, so one figure each.
                empty = self.ctx.empty_playbook('baseline-r%d' % rep)
                ping = self.ctx.ping_playbook('baseline-r%d' % rep)
                for name in order:
                    series('empty playbook (Ansible floor)')[name].append(empty)
                    series('ping playbook (floor of a module task)')[name].append(ping)
                for n, src in sources.items():
                    for lib in args.libraries:
                        for name in order:
                            collections = versions[name][1]
                            prefix = '/bl/%s-%s-%d-r%d' % (name, lib, n, rep)
                            cold = self.sync(collections, 'bl-cold-%s-%s-%d' % (name, lib, n), lib, src, prefix,
                                             endpoint, 'cold', n)
                            if key_count(cluster, prefix) != n + 1:
                                raise BenchError('%s left %d keys under %s, expected %d routes + manifest'
                                                 % (name, key_count(cluster, prefix), prefix, n))
                            noop = self.sync(collections, 'bl-noop-%s-%s-%d' % (name, lib, n), lib, src, prefix,
                                             endpoint, 'noop', n)
                            wipe(cluster, prefix)
                            series('etcd %d routes, %s: cold sync' % (n, lib))[name].append(cold)
                            series('etcd %d routes, %s: no-op re-sync' % (n, lib))[name].append(noop)
                            log('  rep %d %-8s %s %d routes: cold %.2f s, no-op %.2f s'
                                % (rep + 1, name, lib, n, cold, noop))

    def fleet_scenario(self, versions, names, series):
        args = self.args
        ids = ['inst-%05d' % i for i in range(args.fleet_instances)]
        c = args.concurrency[0]
        with Simulator(simulator_config(ids, args.latency_ms), workdir=self.ctx.workdir / 'sim-baseline',
                       startup_timeout=60) as sim:
            for rep in range(args.repeat):
                for name in (names if rep % 2 == 0 else names[::-1]):
                    wall = self.fleet(versions[name][1], 'bl-fleet-%s' % name, sim, ids, c)
                    series('fleet form, %d instances at %d ms, concurrency %d'
                           % (len(ids), args.latency_ms, c))[name].append(wall)
                    log('  rep %d %-8s fleet form: %.2f s' % (rep + 1, name, wall))

    def print_table(self, versions, rows):
        args = self.args
        base_label = 'baseline %s (%s)' % (args.baseline, versions['baseline'][0][:9])
        table = []
        for scenario, by_version in rows.items():
            base, cur = by_version['baseline'], by_version['current']
            ratio = '%.2fx' % (cur.head / base.head) if base.head else '-'
            table.append([scenario, base.fmt(), cur.fmt(), ratio])
        print('\n== Section baseline: the same playbooks, %s vs the current tree (%s); '
              '%s (min-max) of %d repetition(s), interleaved'
              % (base_label, self.ctx.collection_sha, STAT['name'], args.repeat))
        print(render(['ansible-playbook wall time', base_label, 'current', 'current / baseline'], table,
                     title='fsync %s; a ratio below 1 is faster than the baseline'
                           % ('OFF (--unsafe-no-fsync)' if args.no_fsync else 'on')))


def run(ctx):
    return BaselineSection(ctx).run()
