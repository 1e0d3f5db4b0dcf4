# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Section ``role``: the role ``fleet_refresh`` next to the module's fleet form, side by side.

Every round runs, in turn (the order rotates from round to round): the empty playbook, the
module's fleet form (``instances:`` in one task), the role given ``fleet_refresh_instances``,
the role given ``fleet_refresh_hosts`` of the hosts the inventory plugin ``apig_instances``
discovers (one ansible-playbook run: discovery and refresh), ``ansible-inventory --list`` of the
same plugin source (the inventory listing alone), the role with the whole fleet in one batch, and
the module's fleet form split into one task per batch of the role's default size: each batch is
one module run, and Ansible's cost of a module run (``ping`` minus the empty playbook) is paid
once per batch, so that split is the floor of the role at its default batch size, whatever the
role does around its batches. The simulator answers at once (0 ms, where the targets are set),
so what is measured is Ansible and the collection, not the network; ``--role-latency-ms`` delays
each refresh to see the same runs against a fleet that takes time to answer. Every run is checked out
of band: exactly one answered refresh PUT per instance.

Ratios are taken per round (each run against the module run of the same round), so that the
load of the machine, which moves between rounds, cancels out; the table gives the chosen
statistic and the spread of those per-round ratios.
"""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys
import time
from collections import OrderedDict

import yaml

from apigw_support.simulator import Simulator
from common import MODULE, STAT, TOKEN, BenchError, Series, collection_at, log, render, verdict

SECTION = 'role'
HELP = 'role fleet_refresh (instances, and inventory hosts) vs the module fleet form, interleaved rounds'
DEFAULT = False
ORDER = 25
QUICK = {'role_instances': 100, 'role_rounds': 1}

ROLE = 'apigw.router.fleet_refresh'
PROJECT = 'benchrole00000000000000000000001'
REGION = 'cn-east-3'
T_ROLE_VS_MODULE = 1.5  # the role within 1.5x of the module's fleet form
DEFAULT_BATCH_SIZE = 100  # the role's fleet_refresh_batch_size
T_HOSTS_VS_MODULE = 1.5  # inventory + role within 1.5x of the module's fleet form + the inventory listing


def add_arguments(parser):
    parser.add_argument('--role-instances', type=int, default=1000, help='section role: instances of the fleet')
    parser.add_argument('--role-rounds', type=int, default=5, help='section role: interleaved rounds')
    parser.add_argument('--role-latency-ms', type=int, default=0, metavar='MS',
                        help='section role: the simulator delays each refresh by this much (the targets are at 0 ms)')
    parser.add_argument('--role-baseline', default='', metavar='REF',
                        help='section role: also run the role (fleet_refresh_instances) of this git ref in every round')


def check_arguments(args):
    if args.role_instances < 1 or args.role_rounds < 1:
        return '--role-instances and --role-rounds must be positive'
    if args.role_latency_ms < 0:
        return '--role-latency-ms must not be negative'
    return None


def simulator_config(instances, latency_ms=0):
    """One project of ``instances`` generated instances, answering at once or after ``latency_ms``."""
    return {'settings': {'refresh': {'working_polls': 0, 'working_seconds': 0}},
            'projects': [{'id': PROJECT, 'name': REGION,
                          'generate_instances': {'count': instances, 'seed': 7, 'latency_ms': latency_ms}}],
            'credentials': {'tokens': [{'name': 'bench', 'token': TOKEN, 'roles': ['op_svc_apig']}]}}


def run(ctx):
    return RoleSection(ctx).run()


def ratio(series):
    """'1.23x (1.10-1.40x)': the headline ratio and the spread of the rounds."""
    text = '%.2fx' % series.head
    return text + (' (%.2f-%.2fx)' % (min(series), max(series)) if len(series) > 1 else '')


class RoleSection:
    def __init__(self, ctx):
        self.ctx = ctx
        self.args = ctx.args

    def check_puts(self, sim, ids, label):
        """Exactly one answered refresh PUT per instance: a failing run cannot look fast."""
        puts = sorted(e['instance_id'] for e in sim.requests() if e['method'] == 'PUT' and e['status'] == 200)
        if puts != sorted(ids):
            raise BenchError('%s: %d answered refresh PUTs for %d instances' % (label, len(puts), len(ids)))

    def inventory_env(self):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
        home = self.ctx.workdir / 'role-inventory'
        home.mkdir(exist_ok=True)
        (home / 'ansible.cfg').write_text('')
        env.update({'ANSIBLE_CONFIG': str(home / 'ansible.cfg'), 'ANSIBLE_HOME': str(home / 'home'),
                    'ANSIBLE_COLLECTIONS_PATH': str(self.ctx.collections), 'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'False',
                    'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'True', 'LC_ALL': 'C.UTF-8'})
        return env

    def listing(self, source):
        """Seconds of ``ansible-inventory --list`` of the plugin source, and the instance IDs it found."""
        command = [os.path.join(os.path.dirname(sys.executable), 'ansible-inventory'), '-i', str(source), '--list']
        start = time.monotonic()
        done = subprocess.run(command, env=self.inventory_env(), capture_output=True, text=True,
                              timeout=self.args.timeout, check=False)
        elapsed = time.monotonic() - start
        if done.returncode != 0:
            raise BenchError('ansible-inventory failed:\n%s' % done.stderr[-2000:])
        hostvars = yaml.safe_load(done.stdout)['_meta']['hostvars']
        ids = []
        for host in hostvars.values():
            value = host['apigw_instance_id']
            ids.append(value.get('__ansible_unsafe') if isinstance(value, dict) else value)
        return elapsed, sorted(ids)

    def plays(self, sim, source, n):
        instances = '{{ bench_instances }}'
        connection = {'endpoint': sim.url, 'project_id': PROJECT, 'auth_token': TOKEN}
        module = [{'name': 'module', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
            {'name': 'refresh', MODULE: dict(connection, instances=instances)}]}]
        # the role's batches without the role: one module task per batch of the default size
        module_batches = [{'name': 'module batches', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
            {'name': 'refresh %d' % (start // DEFAULT_BATCH_SIZE + 1),
             MODULE: dict(connection, instances='{{ bench_instances[%d:%d] }}' % (start, start + DEFAULT_BATCH_SIZE))}
            for start in range(0, n, DEFAULT_BATCH_SIZE)]}]

        def role(role_vars):
            return [{'name': 'role', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
                {'name': 'refresh', 'ansible.builtin.include_role': {'name': ROLE}, 'vars': role_vars},
                {'name': 'summary', 'ansible.builtin.debug': {'var': 'fleet_refresh_summary'}}]}]
        return OrderedDict([
            ('module', (module, [])),
            ('module_batches', (module_batches, [])),
            ('role', (role({'fleet_refresh_instances': instances, 'fleet_refresh_options': connection}), [])),
            # the plugin sets each host's endpoint, project and region: only the token is given
            ('hosts', (role({'fleet_refresh_hosts': "{{ groups['apig_instances'] }}",
                             'fleet_refresh_options': {'auth_token': TOKEN}}), ['-i', str(source)])),
            ('one_batch', (role({'fleet_refresh_instances': instances, 'fleet_refresh_options': connection,
                                 'fleet_refresh_batch_size': n}), [])),
            # each batch a module process, as before the role ran its batches in the controller's process
            ('module_process', (role({'fleet_refresh_instances': instances, 'fleet_refresh_options': connection,
                                      'fleet_refresh_in_process': False}), [])),
            ('baseline', (role({'fleet_refresh_instances': instances, 'fleet_refresh_options': connection}), [])),
        ])

    def run(self):
        n, rounds = self.args.role_instances, self.args.role_rounds
        batches = -(-n // DEFAULT_BATCH_SIZE)
        baseline = None
        if self.args.role_baseline:
            commit, baseline = collection_at(self.args.role_baseline)
            log('role: the role of %s (%s) runs beside the current one' % (self.args.role_baseline, commit[:12]))
        d = OrderedDict(instances=n, rounds=rounds, latency_ms=self.args.role_latency_ms, baseline=self.args.role_baseline,
                        empty=Series(), ping=Series(),
                        listing=Series(),
                        wall=OrderedDict((k, Series()) for k in (
                            'module', 'module_batches', 'role', 'hosts', 'one_batch', 'module_process', 'baseline')),
                        ratio=OrderedDict((k, Series()) for k in (
                            'module_batches', 'role', 'hosts', 'hosts_budget', 'one_batch', 'beyond_batches',
                            'module_process', 'baseline')))
        log('role: simulator with %d instances at %d ms' % (n, self.args.role_latency_ms))
        with Simulator(simulator_config(n, self.args.role_latency_ms), workdir=self.ctx.workdir / 'sim-role', startup_timeout=120) as sim:
            source = self.ctx.workdir / 'role.apig_instances.yml'
            source.write_text(yaml.safe_dump({
                'plugin': 'apigw.router.apig_instances', 'auth_token': TOKEN, 'statuses': ['all'],
                'regions': [{'name': REGION, 'endpoint': sim.url, 'project_id': PROJECT}]}))
            _elapsed, ids = self.listing(source)
            if len(ids) != n:
                raise BenchError('role: the inventory plugin found %d instances, expected %d' % (len(ids), n))
            extra = {'bench_instances': [{'instance_id': i} for i in ids]}
            plays = self.plays(sim, source, n)
            if baseline is None:
                del plays['baseline']
            order = ['empty', 'ping', 'listing'] + list(plays)
            for rnd in range(rounds):
                this = {}
                shift = rnd % len(order)
                for what in order[shift:] + order[:shift]:
                    if what == 'empty':
                        this[what] = self.ctx.empty_playbook('role-r%d' % rnd)
                    elif what == 'ping':
                        this[what] = self.ctx.ping_playbook('role-r%d' % rnd)
                    elif what == 'listing':
                        this[what] = self.listing(source)[0]
                    else:
                        play, args = plays[what]
                        sim.reset()
                        done = self.ctx.playbook(play, '%s-%d-r%d' % (what, n, rnd), args=args,
                                                 extra_vars=None if what == 'hosts' else extra,
                                                 collections=baseline if what == 'baseline' else None)
                        self.check_puts(sim, ids, what)
                        if what not in ('module', 'module_batches'):
                            summary = done.task('summary')['fleet_refresh_summary']
                            if (summary['total'], summary['changed'], summary['failed']) != (n, n, 0):
                                raise BenchError('%s: summary %s' % (what, summary))
                        this[what] = done.duration
                d['empty'].append(this['empty'])
                d['ping'].append(this['ping'])
                d['listing'].append(this['listing'])
                for what in plays:
                    d['wall'][what].append(this[what])
                d['ratio']['role'].append(this['role'] / this['module'])
                d['ratio']['hosts'].append(this['hosts'] / this['module'])
                budget = T_HOSTS_VS_MODULE * this['module'] + this['listing']
                d['ratio']['hosts_budget'].append(this['hosts'] / budget)
                d['ratio']['one_batch'].append(this['one_batch'] / this['module'])
                d['ratio']['module_process'].append(this['module_process'] / this['module'])
                d['ratio']['module_batches'].append(this['module_batches'] / this['module'])
                # the role's own cost beyond the module runs of its batches
                d['ratio']['beyond_batches'].append(this['role'] / this['module_batches'])
                if baseline is not None:
                    d['wall']['baseline'].append(this['baseline'])
                    d['ratio']['baseline'].append(this['baseline'] / this['module'])
                log('  round %d: empty %.2f s, listing %.2f s, module %.2f s (in batches %.2f s), role %.2f s (%.2fx), '
                    'hosts %.2f s (%.2fx), role in one batch %.2f s (%.2fx), batches as module processes %.2f s (%.2fx)'
                    % (rnd + 1, this['empty'], this['listing'], this['module'], this['module_batches'], this['role'],
                       d['ratio']['role'][-1], this['hosts'], d['ratio']['hosts'][-1], this['one_batch'],
                       d['ratio']['one_batch'][-1], this['module_process'], d['ratio']['module_process'][-1])
                    + (', before %.2f s (%.2fx)' % (this['baseline'], d['ratio']['baseline'][-1]) if baseline else ''))
        self.ctx.report['role'] = d
        self.print_tables(d)
        return d

    def print_tables(self, d):
        n = d['instances']
        batches = -(-n // DEFAULT_BATCH_SIZE)
        print('\n== Section role: %d instances, simulator at %d ms, token auth, mode api; %d interleaved round(s); '
              '%s (min-max) per figure, ratios per round' % (n, d.get('latency_ms', 0), d['rounds'], STAT['name']))
        rows = [['empty playbook', d['empty'].fmt(), ''],
                ['ping playbook (one module run)', d['ping'].fmt(), ''],
                ['ansible-inventory --list (the plugin, %d instances)' % n, d['listing'].fmt(), ''],
                ['module fleet form, one task', d['wall']['module'].fmt(), '1.00x'],
                ['module fleet form, %d tasks of %d (the floor of the role\'s batches)' % (batches, DEFAULT_BATCH_SIZE),
                 d['wall']['module_batches'].fmt(), ratio(d['ratio']['module_batches'])],
                ['role, fleet_refresh_instances (%d batches of 100)' % batches, d['wall']['role'].fmt(),
                 ratio(d['ratio']['role'])],
                ['inventory plugin + role, fleet_refresh_hosts (%d batches)' % batches, d['wall']['hosts'].fmt(),
                 ratio(d['ratio']['hosts'])],
                ['role, fleet_refresh_instances, one batch of %d' % n, d['wall']['one_batch'].fmt(),
                 ratio(d['ratio']['one_batch'])],
                ['role, fleet_refresh_instances, fleet_refresh_in_process: false (a module process per batch)',
                 d['wall']['module_process'].fmt(), ratio(d['ratio']['module_process'])],
                ['role, fleet_refresh_instances / module fleet form in %d tasks' % batches, '',
                 ratio(d['ratio']['beyond_batches'])]]
        if d['wall']['baseline']:
            rows.append(['before: the role of %s, fleet_refresh_instances' % d['baseline'], d['wall']['baseline'].fmt(),
                         ratio(d['ratio']['baseline'])])
        print()
        print(render(['%d instances' % n, 'wall', 'vs module (per round)'], rows, left=(0,),
                     title='vs module = run / the module fleet form of the same round'))
        checks = [
            ('role (fleet_refresh_instances) / module <= %.1fx' % T_ROLE_VS_MODULE, d['ratio']['role'],
             T_ROLE_VS_MODULE),
            ('inventory + role (fleet_refresh_hosts) / (%.1f x module + listing) <= 1' % T_HOSTS_VS_MODULE,
             d['ratio']['hosts_budget'], 1.0),
        ]
        rows = []
        for what, series, bound in checks:
            ok = series.head <= bound
            rows.append([what, ratio(series), '%.2fx' % series.median, verdict(ok)])
            self.ctx.target(SECTION, what, series.head, series.median, ok if n == 1000 else None,
                            samples=series, limit=bound)
        print()
        print(render(['target (%d instances)' % n, 'measured (%s, min-max)' % STAT['name'], 'median', 'verdict'], rows,
                     title='Targets (role)%s' % ('' if n == 1000 else ': the targets are for 1,000 instances'),
                     left=(0, 3)))
