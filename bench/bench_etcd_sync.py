# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Section ``etcd``: a sync through ansible-playbook against a real etcd (fsync on), cold and
as a no-op re-sync, next to Ansible's floors (empty and ping playbooks) and to the client
libraries alone (bench/raw_client.py: transactions of 128, and one put per key).
"""

from __future__ import absolute_import, division, print_function

import json
import os
import statistics
import subprocess
import time
from collections import OrderedDict

import datagen
from common import (BENCH_DIR, INSTANCE, MODULE, STAT, BenchError, Series, etcd_server, key_count, log, render,
                    verdict, wipe)

SECTION = 'etcd'
HELP = 'etcd sync (cold, no-op) vs Ansible floors and the raw client libraries'
ORDER = 10

# The targets of the issues (seconds, ratios), at TARGET_SIZES routes.
T_NOOP_PING = 0.5       # no-op re-sync within 0.5 s beyond the ping playbook, both libraries
T_RAW_RATIO = 1.5       # (cold - ping) within 1.5x of the raw batched client process (etcd-sdk-python)
T_ETCD3_RATIO = 2.5     # python-etcd3's cold (beyond ping) within 2.5x of etcd-sdk-python's, at RSS_SIZE
TARGET_SIZES = (10000, 50000)
RSS_SIZE = 50000        # peak RSS of the module no higher than the raw client's, at this size

# The figures kept per client library in the etcd section.
SERIES_NAMES = ('cold', 'noop', 'cold_minus_empty', 'noop_minus_empty', 'raw_process', 'raw_write', 'raw_rss_kb',
                'ratio_process', 'ratio_write', 'cold_minus_ping', 'ratio_beyond_ping', 'per_key_process',
                'per_key_write', 'per_key_rss_kb', 'module_rss_cold_kb', 'module_rss_noop_kb', 'module_cold_wall',
                'module_cold_cpu', 'module_noop_wall', 'module_noop_cpu')


T_FLEET_RAW_RATIO = 1.5   # etcd-mode fleet: (cold - ping) within 1.5x of the raw client writing every key
T_FLEET_NOOP_PING = 1.0   # etcd-mode fleet: no-op within 1 s beyond the ping playbook

QUICK = {'etcd_fleet': '5x200'}


def add_arguments(parser):
    parser.add_argument('--per-key-max', type=int, default=10000,
                        help='one-put-per-key is measured on all keys up to this size ...')
    parser.add_argument('--per-key-subset', type=int, default=5000,
                        help='... and on this many keys above it (extrapolated)')
    parser.add_argument('--etcd-fleet', default='50x2000', metavar='IxR',
                        help="section etcd: the fleet form through ansible-playbook, I instances sharing one src "
                             "of R APIs, pyetcd ('' to skip)")


def run(ctx):
    return EtcdSection(ctx).run()


def sync_play(lib, src, prefix, endpoint):
    """One play with one etcd-mode sync of ``src`` (task name ``sync``), for ansible-playbook."""
    return [{'name': 'sync', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
        'name': 'sync', MODULE: {
            'mode': 'etcd', 'instance_id': INSTANCE, 'src': str(src), 'key_prefix': prefix,
            'etcd_endpoints': [endpoint], 'etcd_library': lib}}]}]


class EtcdSection:
    def __init__(self, ctx):
        self.ctx = ctx
        self.args = ctx.args
        self.libs = self.args.libraries

    def sync(self, lib, src, prefix, endpoint, label, expect, n, instrument=False):
        run = self.ctx.playbook(sync_play(lib, src, prefix, endpoint), label, instrument=instrument)
        result = run.task('sync')
        if expect == 'cold':
            ok = result.changed and len(result['created']) == n and not result['updated'] and not result['deleted']
        else:
            ok = not result.changed and result['unchanged'] == n
        if not ok:
            shown = {k: (v if not isinstance(v, list) else len(v)) for k, v in result.result.items()}
            raise BenchError('%s: unexpected result: %s' % (label, shown))
        return run

    def raw(self, lib, kv_file, endpoint, prefix, mode, limit=0):
        host_port = endpoint.split('://', 1)[1]
        cmd = [self.ctx.python, str(BENCH_DIR / 'raw_client.py'), '--library', lib, '--endpoint', host_port,
               '--data', str(kv_file), '--prefix', prefix, '--mode', mode, '--batch', '128', '--limit', str(limit)]
        env = dict(os.environ)
        env.pop('PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION', None)
        t0 = time.monotonic()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                              universal_newlines=True, timeout=self.args.timeout, check=False)
        wall = time.monotonic() - t0
        if proc.returncode != 0:
            raise BenchError('raw client %s %s failed: %s' % (lib, mode, proc.stderr[-2000:]))
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        out['process_s'] = wall
        return out

    def run(self):
        args = self.args
        results = OrderedDict()
        with etcd_server(self.ctx.workdir / 'etcd', fsync=not args.no_fsync) as cluster:
            endpoint = cluster.members[0].endpoint
            log('etcd: one member at %s, fsync %s' % (endpoint, 'OFF (--unsafe-no-fsync)' if args.no_fsync else 'on'))
            for n in args.sizes:
                results[n] = self.one_size(cluster, endpoint, n)
            fleet = self.fleet(cluster, endpoint) if args.etcd_fleet else None
        self.ctx.report['etcd'] = {'fsync': not args.no_fsync, 'sizes': results, 'fleet': fleet}
        self.print_tables(results)
        if fleet:
            self.print_fleet(fleet)
        return results

    def fleet(self, cluster, endpoint):
        """The fleet form in etcd mode: I instances, one src of R APIs, cold then no-op (pyetcd),
        next to the raw client writing the same I x R keys in transactions of 128."""
        from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records
        args, ctx = self.args, self.ctx
        count, routes = (int(x) for x in args.etcd_fleet.split('x'))
        apis = datagen.generate(routes)
        src = ctx.workdir / ('fleet-apis-%d.json' % routes)
        src.write_text(json.dumps(datagen.page(apis)), encoding='utf-8')
        instances = ['fleet%03d' % i for i in range(count)]
        records = sorted(build_records(apis).items())
        kv = [['/%s/apis/%s' % (inst, api_id), value.decode('utf-8')] for inst in instances for api_id, value in records]
        kv_file = ctx.workdir / ('fleet-kv-%dx%d.json' % (count, routes))
        kv_file.write_text(json.dumps(kv), encoding='utf-8')
        del apis, records, kv
        total = count * routes
        data = OrderedDict(instances=count, routes=routes, empty=Series(), ping=Series(), cold=Series(),
                           noop=Series(), raw=Series(), cold_minus_ping=Series(), noop_minus_ping=Series(),
                           ratio=Series())
        log('etcd fleet: %d instances x %d routes from one src (%d keys), pyetcd' % (count, routes, total))
        for rep in range(args.repeat):
            prefix = '/bench/fleet-r%d' % rep
            play = [{'name': 'fleet', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
                'name': 'sync', MODULE: {
                    'mode': 'etcd', 'instances': [{'instance_id': i} for i in instances], 'src': str(src),
                    'key_prefix': prefix, 'etcd_endpoints': [endpoint], 'etcd_library': 'pyetcd'}}]}]
            empty = ctx.empty_playbook('etcd-fleet-r%d' % rep)
            ping = ctx.ping_playbook('etcd-fleet-r%d' % rep)
            cold_run = ctx.playbook(play, 'fleet-cold-r%d' % rep)
            summary = cold_run.task('sync')['summary']
            if summary != {'total': count, 'changed': count, 'unchanged': 0, 'failed': 0}:
                raise BenchError('fleet cold: unexpected summary %s' % summary)
            if key_count(cluster, prefix) != total + count:
                raise BenchError('after the fleet cold sync %s holds %d keys, expected %d routes + %d manifests'
                                 % (prefix, key_count(cluster, prefix), total, count))
            noop_run = ctx.playbook(play, 'fleet-noop-r%d' % rep)
            summary = noop_run.task('sync')['summary']
            if summary != {'total': count, 'changed': 0, 'unchanged': count, 'failed': 0}:
                raise BenchError('fleet no-op: unexpected summary %s' % summary)
            wipe(cluster, prefix)
            raw_prefix = '/bench/fleet-raw-r%d' % rep
            raw = self.raw('pyetcd', kv_file, endpoint, raw_prefix, 'txn')
            if key_count(cluster, raw_prefix) != total:
                raise BenchError('the raw client left %d keys, expected %d' % (key_count(cluster, raw_prefix), total))
            wipe(cluster, raw_prefix)
            cold, noop = cold_run.duration, noop_run.duration
            for key, value in (('empty', empty), ('ping', ping), ('cold', cold), ('noop', noop),
                               ('raw', raw['process_s']), ('cold_minus_ping', cold - ping),
                               ('noop_minus_ping', noop - ping), ('ratio', (cold - ping) / raw['process_s'])):
                data[key].append(value)
            log('  rep %d fleet empty %.2f  ping %.2f  cold %.2f  no-op %.2f  raw txn128 %.2f'
                % (rep + 1, empty, ping, cold, noop, raw['process_s']))
        data['cold_minus_ping'].value = data['cold'].head - data['ping'].head
        data['noop_minus_ping'].value = data['noop'].head - data['ping'].head
        data['ratio'].value = data['cold_minus_ping'].value / data['raw'].head
        return data

    def print_fleet(self, d):
        rows = [['empty playbook', d['empty'].fmt()], ['ping playbook', d['ping'].fmt()],
                ['fleet form, cold', d['cold'].fmt()], ['fleet form, no-op', d['noop'].fmt()],
                ['raw txn128, whole process', d['raw'].fmt()], ['cold - ping', d['cold_minus_ping'].fmt()],
                ['no-op - ping', d['noop_minus_ping'].fmt()], ['(cold - ping) / raw', d['ratio'].fmt('x')]]
        print()
        print(render(['%d instances x %d routes, one src, pyetcd' % (d['instances'], d['routes']), 'wall'], rows,
                     title='etcd-mode fleet through ansible-playbook (%s (min-max) of %d)'
                           % (STAT['name'], self.args.repeat)))
        rows = []
        for what, series, limit, fmt in (
                ('(cold - ping) / raw txn128 process <= %.1fx' % T_FLEET_RAW_RATIO, d['ratio'], T_FLEET_RAW_RATIO,
                 '%.2fx'),
                ('no-op - ping <= %.1f s' % T_FLEET_NOOP_PING, d['noop_minus_ping'], T_FLEET_NOOP_PING, '%.2f s')):
            median = series.median
            entry = self.ctx.target(SECTION, 'etcd fleet %dx%d: %s' % (d['instances'], d['routes'], what),
                                    series.head, median, series.head <= limit, samples=series, limit=limit)
            rows.append([what, fmt % series.head, fmt % median, verdict(entry['met'])])
        print()
        print(render(['target', 'measured (%s)' % STAT['name'], 'median', 'verdict'], rows,
                     title='Targets (etcd fleet, %d x %d)' % (d['instances'], d['routes']), left=(0, 3)))

    def one_size(self, cluster, endpoint, n):
        from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records
        args, ctx = self.args, self.ctx
        apis = datagen.generate(n)
        src = ctx.workdir / ('apis-%d.json' % n)
        src.write_text(json.dumps(datagen.page(apis)), encoding='utf-8')
        records = build_records(apis)
        kv = [['/%s/apis/%s' % (INSTANCE, api_id), value.decode('utf-8')] for api_id, value in sorted(records.items())]
        kv_file = ctx.workdir / ('kv-%d.json' % n)
        kv_file.write_text(json.dumps(kv), encoding='utf-8')
        record_bytes = statistics.mean(len(v) for v in records.values())
        del apis, records, kv
        per_key_n = n if n <= args.per_key_max else min(n, args.per_key_subset)
        data = OrderedDict(
            routes=n, src_bytes=src.stat().st_size, mean_record_bytes=record_bytes, per_key_measured=per_key_n,
            empty=Series(), ping=Series(), ping_minus_empty=Series(), libs=OrderedDict(
                (lib, OrderedDict((k, Series(peak=k.endswith('_kb'))) for k in SERIES_NAMES)) for lib in self.libs))
        log('etcd %d routes: src %.1f MB, records %.0f B on average; %d repetition(s)'
            % (n, data['src_bytes'] / 1e6, record_bytes, args.repeat))
        tag = 0
        for rep in range(args.repeat):
            empty = ctx.empty_playbook('etcd-%d-r%d' % (n, rep))
            data['empty'].append(empty)
            ping = ctx.ping_playbook('etcd-%d-r%d' % (n, rep))
            data['ping'].append(ping)
            data['ping_minus_empty'].append(ping - empty)
            order = self.libs if rep % 2 == 0 else self.libs[::-1]
            for lib in order:
                s = data['libs'][lib]
                tag += 1
                prefix = '/bench/n%d-%s-r%d' % (n, lib, rep)
                cold = self.sync(lib, src, prefix, endpoint, 'cold-%s-%d' % (lib, n), 'cold', n).duration
                if key_count(cluster, prefix) != n + 1:
                    raise BenchError('after the cold sync %s holds %d keys, expected %d routes + manifest'
                                     % (prefix, key_count(cluster, prefix), n))
                noop = self.sync(lib, src, prefix, endpoint, 'noop-%s-%d' % (lib, n), 'noop', n).duration
                wipe(cluster, prefix)
                s['cold'].append(cold)
                s['noop'].append(noop)
                s['cold_minus_empty'].append(cold - empty)
                s['noop_minus_empty'].append(noop - empty)

                raw_prefix = '/bench/raw-n%d-%s-r%d' % (n, lib, rep)
                raw = self.raw(lib, kv_file, endpoint, raw_prefix, 'txn')
                if key_count(cluster, raw_prefix) != n:
                    raise BenchError('the raw client left %d keys, expected %d' % (key_count(cluster, raw_prefix), n))
                wipe(cluster, raw_prefix)
                s['raw_process'].append(raw['process_s'])
                s['raw_write'].append(raw['write_s'])
                s['raw_rss_kb'].append(raw['maxrss_kb'])
                s['ratio_process'].append((cold - empty) / raw['process_s'])
                s['ratio_write'].append((cold - empty) / raw['write_s'])
                s['cold_minus_ping'].append(cold - ping)
                s['ratio_beyond_ping'].append((cold - ping) / raw['process_s'])

                put_prefix = '/bench/put-n%d-%s-r%d' % (n, lib, rep)
                put = self.raw(lib, kv_file, endpoint, put_prefix, 'put', limit=per_key_n)
                if key_count(cluster, put_prefix) != per_key_n:
                    raise BenchError('the per-key client left %d keys, expected %d'
                                     % (key_count(cluster, put_prefix), per_key_n))
                wipe(cluster, put_prefix)
                scale = float(n) / per_key_n
                s['per_key_write'].append(put['write_s'] * scale)
                s['per_key_process'].append(put['process_s'] - put['write_s'] + put['write_s'] * scale)
                s['per_key_rss_kb'].append(put['maxrss_kb'])
                log('  rep %d %-6s empty %.2f  cold %.2f  no-op %.2f  raw txn128 %.2f (writes %.2f)  per-key %.2f%s'
                    % (rep + 1, lib, empty, cold, noop, raw['process_s'], raw['write_s'],
                       s['per_key_process'][-1], '' if scale == 1 else ' (x%.0f of %d)' % (scale, per_key_n)))
        # Derived figures from the headline figures of their parts (see Series).
        empty_h, ping_h = data['empty'].head, data['ping'].head
        data['ping_minus_empty'].value = ping_h - empty_h
        for lib in self.libs:
            s = data['libs'][lib]
            cold_h, noop_h, raw_h = s['cold'].head, s['noop'].head, s['raw_process'].head
            s['cold_minus_empty'].value = cold_h - empty_h
            s['noop_minus_empty'].value = noop_h - empty_h
            s['ratio_process'].value = (cold_h - empty_h) / raw_h
            s['ratio_write'].value = (cold_h - empty_h) / s['raw_write'].head
            s['cold_minus_ping'].value = cold_h - ping_h
            s['ratio_beyond_ping'].value = (cold_h - ping_h) / raw_h
        # Peak RSS and the module process's own wall/CPU time: extra runs through the
        # wrapper interpreter (not part of the timings above: the wrapper adds a process).
        for rep in range(args.rss_repeat):
            for lib in self.libs:
                s = data['libs'][lib]
                prefix = '/bench/rss-n%d-%s-r%d' % (n, lib, rep)
                cold = self.sync(lib, src, prefix, endpoint, 'rss-cold-%s-%d' % (lib, n), 'cold', n, instrument=True)
                noop = self.sync(lib, src, prefix, endpoint, 'rss-noop-%s-%d' % (lib, n), 'noop', n, instrument=True)
                wipe(cluster, prefix)
                for run, key in ((cold, 'cold'), (noop, 'noop')):
                    proc = max(run.module_processes, key=lambda r: r['maxrss_kb'])
                    s['module_rss_%s_kb' % key].append(proc['maxrss_kb'])
                    s['module_%s_wall' % key].append(proc['wall_s'])
                    s['module_%s_cpu' % key].append(proc['user_s'] + proc['sys_s'])
                log('  rss %-6s module peak RSS cold %.0f MB / no-op %.0f MB; module process cold %.2f s '
                    '(CPU %.2f s), no-op %.2f s (CPU %.2f s)'
                    % (lib, s['module_rss_cold_kb'][-1] / 1024.0, s['module_rss_noop_kb'][-1] / 1024.0,
                       s['module_cold_wall'][-1], s['module_cold_cpu'][-1], s['module_noop_wall'][-1],
                       s['module_noop_cpu'][-1]))
        data['src'] = str(src)
        return data

    def print_tables(self, results):
        args = self.args
        fsync = 'fsync OFF (--unsafe-no-fsync)' if args.no_fsync else 'fsync on (durable, no --unsafe-no-fsync)'
        print('\n== Section etcd: one etcd member on 127.0.0.1, %s; %s (min-max) of %d repetition(s)'
              % (fsync, STAT['name'], args.repeat))
        print('derived figures (differences, ratios) are computed from the %s figures of their parts; '
              'the spread in brackets is that of the per-repetition values' % STAT['name'])
        for n, d in results.items():
            headers = ['%d routes' % n] + list(self.libs)
            rows = []
            L = d['libs']

            def row(label, key, unit='s', digits=2):
                rows.append([label] + [L[lib][key].fmt(unit, digits) for lib in self.libs])
            rows.append(['empty playbook'] + [d['empty'].fmt()] * len(self.libs))
            rows.append(['ping playbook - empty (any module task)'] + [d['ping_minus_empty'].fmt()] * len(self.libs))
            row('cold sync (ansible-playbook)', 'cold')
            row('no-op re-sync (ansible-playbook)', 'noop')
            row('cold - empty', 'cold_minus_empty')
            row('no-op - empty', 'noop_minus_empty')
            row('raw txn128, whole process', 'raw_process')
            row('raw txn128, writes only', 'raw_write')
            row('ratio (cold-empty)/raw process', 'ratio_process', 'x')
            row('ratio (cold-empty)/raw writes', 'ratio_write', 'x')
            row('cold - ping playbook', 'cold_minus_ping')
            row('ratio (cold-ping)/raw process', 'ratio_beyond_ping', 'x')
            extra = '' if d['per_key_measured'] == n else ' [%d measured, x%g]' % (
                d['per_key_measured'], n / float(d['per_key_measured']))
            row('one put per key, process' + extra, 'per_key_process')
            row('one put per key, writes' + extra, 'per_key_write')
            row('module process, cold: wall', 'module_cold_wall')
            row('module process, cold: CPU', 'module_cold_cpu')
            row('module process, no-op: wall', 'module_noop_wall')
            row('module process, no-op: CPU', 'module_noop_cpu')
            row('peak RSS module, cold', 'module_rss_cold_kb', 'MB')
            row('peak RSS module, no-op', 'module_rss_noop_kb', 'MB')
            row('peak RSS raw txn128', 'raw_rss_kb', 'MB')
            row('peak RSS one put per key', 'per_key_rss_kb', 'MB')
            print()
            print(render(headers, rows, title='src %.1f MB, route records %.0f B on average'
                         % (d['src_bytes'] / 1e6, d['mean_record_bytes'])))

        # One line per size and library (medians), the column list.
        rows = []
        for n, d in results.items():
            for lib in self.libs:
                s = d['libs'][lib]
                rows.append(['%d' % n, lib, '%.2f' % d['empty'].head, '%.2f' % s['cold'].head,
                             '%.2f' % s['noop'].head, '%.2f' % s['cold_minus_empty'].head,
                             '%.2f' % s['noop_minus_empty'].head, '%.2f' % s['raw_process'].head,
                             '%.2f' % s['ratio_process'].head, '%.2f%s' % (
                                 s['per_key_process'].head, '*' if d['per_key_measured'] != n else ''),
                             '%.0f' % (max(s['module_rss_cold_kb'].head or 0, s['module_rss_noop_kb'].head or 0) / 1024.0)])
        print()
        print(render(['routes', 'library', 'empty s', 'cold s', 'no-op s', 'cold-empty', 'no-op-empty',
                      'raw txn128 s', '(c-e)/raw', 'put/key s', 'RSS MB'], rows,
                     title='Summary (%s of %d; * = one put per key extrapolated from a subset; RSS = peak of '
                           'the module process, cold or no-op)' % (STAT['name'], args.repeat)))

        # Targets (issue 11), at every target size run: figures beyond the ping playbook (the
        # floor of any module task), judged on the headline figures; the medians are shown too.
        rows, checks = [], []
        for n in TARGET_SIZES:
            d = results.get(n)
            if not d:
                continue
            ping = d['ping']
            L = d['libs']
            for lib in self.libs:
                s = L[lib]
                # per round: the module run against the ping playbook of the same repetition
                checks.append((n, lib, 'no-op - ping <= %.1f s' % T_NOOP_PING, s['noop'].head - ping.head,
                               s['noop'].median - ping.median, T_NOOP_PING, '%.2f s',
                               [noop - p for noop, p in zip(s['noop'], ping)]))
                if lib == 'pyetcd':
                    checks.append((n, lib, '(cold - ping) / raw txn128 process <= %.1fx' % T_RAW_RATIO,
                                   s['ratio_beyond_ping'].head,
                                   (s['cold'].median - ping.median) / s['raw_process'].median, T_RAW_RATIO, '%.2fx',
                                   list(s['ratio_beyond_ping'])))
                if n == RSS_SIZE:
                    rss = max(s['module_rss_cold_kb'].head or 0, s['module_rss_noop_kb'].head or 0) / 1024.0
                    raw_rss = (s['raw_rss_kb'].head or 0) / 1024.0
                    if rss and raw_rss:
                        checks.append((n, lib, 'peak RSS module / raw txn128 client <= 1 (%.0f vs %.0f MB)'
                                       % (rss, raw_rss), rss / raw_rss, rss / raw_rss, 1.0, '%.2fx', None))
            if n == RSS_SIZE and 'pyetcd' in L and 'etcd3' in L:
                checks.append((n, 'etcd3', 'cold - ping, etcd3 / pyetcd <= %.1fx' % T_ETCD3_RATIO,
                               L['etcd3']['cold_minus_ping'].head / L['pyetcd']['cold_minus_ping'].head,
                               (L['etcd3']['cold'].median - ping.median) / (L['pyetcd']['cold'].median - ping.median),
                               T_ETCD3_RATIO, '%.2fx',
                               [(c3 - p) / (c1 - p) for c3, c1, p in zip(L['etcd3']['cold'], L['pyetcd']['cold'], ping)]))
        for n, lib, what, value, median, limit, fmt, samples in checks:
            entry = self.ctx.target(SECTION, '%d routes: %s' % (n, what), value, median, value <= limit,
                                    samples=samples, limit=limit, routes=n, library=lib)
            rows.append(['%d' % n, lib, what, fmt % value, fmt % median, verdict(entry['met'])])
        print()
        print(render(['routes', 'library', 'target', 'measured (%s)' % STAT['name'], 'median', 'verdict'], rows,
                     title='Targets (etcd)%s' % ('' if rows else ': none of %s routes in --sizes, not evaluated'
                                                 % ', '.join(str(n) for n in TARGET_SIZES)), left=(0, 1, 2, 5)))
