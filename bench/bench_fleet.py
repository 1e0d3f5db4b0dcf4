# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Section ``fleet``: a refresh of N simulated instances (API mode, fixed latency per request)
with the module's fleet form, next to an ``ansible.builtin.uri`` loop, one inventory host per
instance, and the ideal (N x latency / concurrency + the empty playbook).
"""

from __future__ import absolute_import, division, print_function

import json
from collections import OrderedDict

from apigw_support.simulator import Simulator
from common import MODULE, PROJECT, STAT, TOKEN, BenchError, Series, int_list, log, render, verdict

SECTION = 'fleet'
HELP = 'fleet form (API mode) vs an ansible.builtin.uri loop and one inventory host per instance'
ORDER = 20

T_FLEET_S = 4.0         # 1,000 instances at 20 ms within 4 s of ansible-playbook wall time
T_FLEET_VS_URI = 150.0  # ... at least 150x faster than an ansible.builtin.uri loop
T_FLEET_VS_IDEAL = 2.0  # ... and within 2x of the ideal
T_MODULE_VS_IDEAL = 1.5  # the module process alone within 1.5x of N x latency / concurrency


def add_arguments(parser):
    parser.add_argument('--uri-instances', type=int, default=100, help='instances of the ansible.builtin.uri loop')
    parser.add_argument('--host-instances', type=int, default=100, help='inventory hosts of the inventory-host form')
    parser.add_argument('--forks', type=int_list, default=[16, 50], help='forks of the inventory-host form')


QUICK = {'uri_instances': 10, 'host_instances': 10, 'forks': [16]}


def check_arguments(args):
    """An error message, or None."""
    if args.uri_instances > args.fleet_instances or args.host_instances > args.fleet_instances:
        return '--uri-instances and --host-instances cannot exceed --fleet-instances'
    return None


def simulator_config(ids, latency_ms):
    """A simulator with the instances ``ids`` (three APIs each), ``latency_ms`` per request."""
    return {
        'projects': [{'id': PROJECT, 'name': 'cn-north-4', 'instances': [
            {'id': i, 'latency_ms': latency_ms, 'generate': {'count': 3, 'seed': k}}
            for k, i in enumerate(ids)]}],
        'credentials': {'tokens': [{'token': TOKEN, 'name': 'bench', 'roles': ['op_svc_apig'],
                                    'projects': [PROJECT]}]},
    }


def run(ctx):
    return FleetSection(ctx).run()


class FleetSection:
    def __init__(self, ctx):
        self.ctx = ctx
        self.args = ctx.args

    def verify(self, sim, label, ids, concurrency=None):
        """Exactly one 200 refresh PUT per instance; peak in flight within the concurrency."""
        entries = sim.requests()
        puts = [e for e in entries if e['method'] == 'PUT' and e.get('resource') == 'apis']
        ok = [e for e in puts if e['status'] == 200]
        if len(puts) != len(ids) or len(ok) != len(ids) or set(e['instance_id'] for e in ok) != set(ids):
            raise BenchError('%s: expected one 200 PUT for each of %d instances, the simulator logged %d PUTs '
                             '(%d with 200) for %d instances' % (label, len(ids), len(puts), len(ok),
                                                                 len(set(e['instance_id'] for e in puts))))
        if len(entries) != len(puts):
            raise BenchError('%s: %d unexpected requests besides the PUTs' % (label, len(entries) - len(puts)))
        peak = sim.stats()['peak_in_flight']
        if concurrency is not None and peak > concurrency:
            raise BenchError('%s: %d requests in flight at once, above concurrency %d' % (label, peak, concurrency))
        return peak

    def fleet_run(self, sim, ids, concurrency, instrument=False):
        sim.reset()
        play = {'name': 'fleet', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
            'name': 'fleet', MODULE: {
                'instances': '{{ bench_instances }}', 'concurrency': concurrency, 'endpoint': sim.url,
                'project_id': PROJECT, 'auth_token': TOKEN}}]}
        label = 'fleet-%d-c%d' % (len(ids), concurrency)
        run = self.ctx.playbook([play], label, instrument=instrument,
                                extra_vars={'bench_instances': [{'instance_id': i} for i in ids]})
        summary = run.task('fleet')['summary']
        if summary['total'] != len(ids) or summary['failed']:
            raise BenchError('%s: summary %s' % (label, summary))
        return run, self.verify(sim, label, ids, concurrency)

    def uri_run(self, sim, ids):
        sim.reset()
        play = {'name': 'uri', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
            'name': 'uri', 'loop': '{{ bench_ids }}', 'ansible.builtin.uri': {
                'url': '%s/v1/%s/apigw/instances/{{ item }}/op-operations/router/apis' % (sim.url, PROJECT),
                'method': 'PUT', 'headers': {'X-Auth-Token': TOKEN}, 'status_code': [200, 204]}}]}
        run = self.ctx.playbook([play], 'uri-%d' % len(ids), extra_vars={'bench_ids': list(ids)})
        self.verify(sim, 'uri loop', ids)
        return run

    def hosts_run(self, sim, ids, forks):
        sim.reset()
        inventory = self.ctx.workdir / ('hosts-%d.json' % len(ids))
        if not inventory.exists():
            inventory.write_text(json.dumps({'apig': {'hosts': dict(
                (i, {'ansible_connection': 'local', 'ansible_python_interpreter': self.ctx.python}) for i in ids)}}))
        play = {'name': 'hosts', 'hosts': 'apig', 'gather_facts': False, 'tasks': [{
            'name': 'refresh', MODULE: {
                'instance_id': '{{ inventory_hostname }}', 'endpoint': sim.url, 'project_id': PROJECT,
                'auth_token': TOKEN}}]}
        run = self.ctx.playbook([play], 'hosts-%d-f%d' % (len(ids), forks),
                                args=['-i', str(inventory), '--forks', str(forks)])
        self.verify(sim, 'inventory hosts, forks %d' % forks, ids, forks)
        return run

    def run(self):
        args = self.args
        n = args.fleet_instances
        ids = ['inst-%05d' % i for i in range(n)]
        loop_ids = ids[:args.uri_instances]
        host_ids = ids[:args.host_instances]
        d = OrderedDict(instances=n, latency_ms=args.latency_ms, uri_instances=len(loop_ids),
                        host_instances=len(host_ids), empty=Series(),
                        fleet=OrderedDict((c, OrderedDict(wall=Series(), peak=Series(peak=True), per_instance=Series()))
                                          for c in args.concurrency),
                        uri=Series(), uri_per_instance=Series(), uri_1000=Series(),
                        hosts=OrderedDict((f, OrderedDict(wall=Series(), per_instance=Series(), extrapolated=Series()))
                                          for f in args.forks),
                        module=OrderedDict((c, OrderedDict(wall=Series(), cpu=Series(), rss_kb=Series(peak=True)))
                                           for c in args.concurrency))
        log('fleet: simulator with %d instances at %d ms' % (n, args.latency_ms))
        with Simulator(simulator_config(ids, args.latency_ms), workdir=self.ctx.workdir / 'sim', startup_timeout=60) as sim:
            for rep in range(args.repeat):
                empty = self.ctx.empty_playbook('fleet-r%d' % rep)
                d['empty'].append(empty)
                for c in (args.concurrency if rep % 2 == 0 else args.concurrency[::-1]):
                    run, peak = self.fleet_run(sim, ids, c)
                    d['fleet'][c]['wall'].append(run.duration)
                    d['fleet'][c]['peak'].append(peak)
                    d['fleet'][c]['per_instance'].append((run.duration - empty) / n)
                    log('  rep %d fleet form, concurrency %d: %.2f s, peak in flight %d' % (rep + 1, c, run.duration, peak))
                if loop_ids:
                    run = self.uri_run(sim, loop_ids)
                    per = (run.duration - empty) / len(loop_ids)
                    d['uri'].append(run.duration)
                    d['uri_per_instance'].append(per)
                    d['uri_1000'].append(empty + per * n)
                    log('  rep %d uri loop over %d: %.2f s, %.3f s per instance' % (rep + 1, len(loop_ids), run.duration, per))
                if host_ids:
                    for f in (args.forks if rep % 2 == 0 else args.forks[::-1]):
                        run = self.hosts_run(sim, host_ids, f)
                        per = (run.duration - empty) / len(host_ids)
                        h = d['hosts'][f]
                        h['wall'].append(run.duration)
                        h['per_instance'].append(per)
                        h['extrapolated'].append(empty + per * n)
                        log('  rep %d inventory hosts %d, forks %d: %.2f s, %.3f s per instance'
                            % (rep + 1, len(host_ids), f, run.duration, per))
            # The module process alone (wrapper interpreter): wall, CPU, peak RSS.
            for _rep in range(args.rss_repeat):
                for c in args.concurrency:
                    run, _peak = self.fleet_run(sim, ids, c, instrument=True)
                    proc = run.module_processes[0]
                    m = d['module'][c]
                    m['wall'].append(proc['wall_s'])
                    m['cpu'].append(proc['user_s'] + proc['sys_s'])
                    m['rss_kb'].append(proc['maxrss_kb'])
                    log('  module process (concurrency %d): %.2f s wall, %.2f s CPU, %.0f MB'
                        % (c, proc['wall_s'], proc['user_s'] + proc['sys_s'], proc['maxrss_kb'] / 1024.0))
        # Derived figures from the headline figures of their parts (see Series).
        empty_h = d['empty'].head
        for f in d['fleet'].values():
            f['per_instance'].value = (f['wall'].head - empty_h) / n
        if d['uri']:
            d['uri_per_instance'].value = (d['uri'].head - empty_h) / len(loop_ids)
            d['uri_1000'].value = empty_h + d['uri_per_instance'].value * n
        for h in d['hosts'].values():
            if h['wall']:
                h['per_instance'].value = (h['wall'].head - empty_h) / len(host_ids)
                h['extrapolated'].value = empty_h + h['per_instance'].value * n
        self.ctx.report['fleet'] = d
        self.print_tables(d)
        return d

    def print_tables(self, d):
        args = self.args
        n, lat = d['instances'], args.latency_ms / 1000.0
        empty = d['empty']
        print('\n== Section fleet: %d instances, simulator latency %d ms per request, token auth, mode api; '
              '%s (min-max) of %d repetition(s)' % (n, args.latency_ms, STAT['name'], args.repeat))
        ref_c = args.concurrency[0]
        ref = d['fleet'][ref_c]['wall'].head
        rows = [['empty playbook', empty.fmt(), '', '', '', '', '', '']]
        for c, f in d['fleet'].items():
            ideal = n * lat / c + empty.head
            rows.append(['fleet form, concurrency %d' % c, f['wall'].fmt(), f['per_instance'].fmt('s', 4), f['wall'].fmt(),
                         '%.2fx' % (f['wall'].head / ref), '%.2f s' % ideal, '%.2fx' % (f['wall'].head / ideal),
                         'peak in flight %s' % '/'.join('%d' % p for p in f['peak'])])
        if d['uri']:
            rows.append(['ansible.builtin.uri loop over %d' % d['uri_instances'], d['uri'].fmt(),
                         d['uri_per_instance'].fmt('s', 3), d['uri_1000'].fmt('s', 0),
                         '%.0fx' % (d['uri_1000'].head / ref), '', '', 'for %d: extrapolated' % n])
        for f, h in d['hosts'].items():
            if h['wall']:
                rows.append(['inventory hosts %d, forks %d' % (d['host_instances'], f), h['wall'].fmt(),
                             h['per_instance'].fmt('s', 3), h['extrapolated'].fmt('s', 0),
                             '%.0fx' % (h['extrapolated'].head / ref), '', '', 'for %d: extrapolated' % n])
        for c, m in d['module'].items():
            if m['wall']:
                rows.append(['module process alone, concurrency %d' % c, m['wall'].fmt(), '', '', '',
                             '%.2f s' % (n * lat / c), '%.2fx' % (m['wall'].head / (n * lat / c)),
                             'CPU %s, peak RSS %s' % (m['cpu'].fmt(), m['rss_kb'].fmt('MB'))])
        print()
        print(render(['%d instances at %d ms' % (n, args.latency_ms), 'wall (measured)', 'per instance',
                      'for %d' % n, 'vs fleet c=%d' % ref_c, 'ideal', 'vs ideal', 'notes'], rows, left=(0, 7),
                     title='per instance = (wall - empty) / instances; ideal = N x latency / concurrency + empty '
                           'playbook (module alone: without the empty playbook)'))

        rows = []
        for c, f in d['fleet'].items():
            wall, wall_med = f['wall'].head, f['wall'].median
            ideal = n * lat / c + empty.head
            ideal_med = n * lat / c + empty.median
            # (what, headline, median, met, format, limit, at least, the figure of every round or None)
            checks = [('fleet form c=%d: wall <= %.0f s' % (c, T_FLEET_S), wall, wall_med, wall <= T_FLEET_S, '%.2f s',
                       T_FLEET_S, False, list(f['wall']))]
            if d['uri_1000']:
                speedup = d['uri_1000'].head / wall
                uri_med = empty.median + (d['uri'].median - empty.median) / d['uri_instances'] * n
                checks.append(('fleet form c=%d: uri loop / fleet >= %.0fx' % (c, T_FLEET_VS_URI), speedup,
                               uri_med / wall_med, speedup >= T_FLEET_VS_URI, '%.0fx', T_FLEET_VS_URI, True, None))
            checks.append(('fleet form c=%d: fleet / ideal <= %.0fx' % (c, T_FLEET_VS_IDEAL), wall / ideal,
                           wall_med / ideal_med, wall / ideal <= T_FLEET_VS_IDEAL, '%.2fx', T_FLEET_VS_IDEAL, False,
                           [w / (n * lat / c + e) for w, e in zip(f['wall'], empty)]))
            m = d['module'][c]
            if m['wall']:
                alone = n * lat / c
                checks.append(('module process c=%d / its ideal (%.2f s) <= %.1fx' % (c, alone, T_MODULE_VS_IDEAL),
                               m['wall'].head / alone, m['wall'].median / alone,
                               m['wall'].head / alone <= T_MODULE_VS_IDEAL, '%.2fx', T_MODULE_VS_IDEAL, False,
                               [w / alone for w in m['wall']]))
            for what, value, median, ok, fmt, limit, at_least, samples in checks:
                rows.append([what, fmt % value, fmt % median, verdict(ok)])
                # the targets are for 1,000 instances: other sizes are shown, not judged
                self.ctx.target(SECTION, what, value, median, ok if n == 1000 else None, samples=samples, limit=limit,
                                at_least=at_least, concurrency=c)
        print()
        print(render(['target (%d instances)' % n, 'measured (%s)' % STAT['name'], 'median', 'verdict'], rows,
                     title='Targets (fleet)%s' % ('' if n == 1000 else ': the targets are for 1,000 instances'),
                     left=(0, 3)))
