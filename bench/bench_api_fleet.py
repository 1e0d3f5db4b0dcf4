# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fleet form in API mode: the module process and the whole playbook against their ideals.

    .venv/bin/python bench/bench_api_fleet.py                       # 1,000 instances at 20 ms
    .venv/bin/python bench/bench_api_fleet.py --before main         # and main's plugins, side by side
    .venv/bin/python bench/bench_api_fleet.py --concurrency 8,16,32,64 --profile

One APIG simulator (tools/apig_sim, started by the test harness on 127.0.0.1) serves every
instance with a fixed latency. Each run is one ``ansible-playbook`` with one task of the fleet
form (token auth, ``mode: api``). The module's interpreter is a small wrapper that records the
module process's wall and CPU time, so one run gives both figures:

- module process: its wall time against N x latency / concurrency (the time the requests
  take when nothing else costs anything);
- whole playbook: its wall time against that plus an empty playbook (Ansible's floor);
- an ``ansible.builtin.uri`` loop over a few instances, extrapolated to N per instance.

``--before REF`` runs the same plays against a copy of the installed collection whose
``plugins/`` come from git REF, interleaved with the current code in every repetition.
Every run is checked in the simulator's request log: exactly one 200 refresh PUT per
instance and never more requests in flight than the concurrency. Best of ``--repeat``.
"""

from __future__ import absolute_import, division, print_function

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import pstats
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / 'tests' / 'support'))

from apigw_support.ansible import INSTALLED_COLLECTIONS, AnsibleRunner  # noqa: E402
from apigw_support.simulator import Simulator  # noqa: E402

MODULE = 'apigw.router.apigw_router_refresh'
PROJECT = '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e'
TOKEN = 'bench-static-token-0123456789'  # a made-up simulator token, not a secret

# Used as ansible_python_interpreter: runs the real interpreter as a child and records its
# wall and CPU time (wait4) in a JSON line, so the module process is timed inside a real run.
WRAPPER = r'''#!{python} -S
import json, os, sys, time
real = {python!r}
t0 = time.monotonic()
pid = os.posix_spawn(real, [real] + sys.argv[1:], dict(os.environ))
_pid, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
with open({out!r}, 'a') as handle:
    handle.write(json.dumps({{'argv': sys.argv[1:], 'user_s': ru.ru_utime, 'sys_s': ru.ru_stime,
                             'wall_s': wall, 'maxrss_kb': ru.ru_maxrss}}) + '\n')
sys.exit(os.waitstatus_to_exitcode(status))
'''


class BenchError(RuntimeError):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Variant:
    """One copy of the collection (the current build, or another git ref's plugins)."""

    def __init__(self, name, workdir, python, ref=None):
        self.name = name
        self.collections = workdir / ('collections-' + name)
        src = INSTALLED_COLLECTIONS / 'ansible_collections'
        if not (src / 'apigw' / 'router' / 'MANIFEST.json').is_file():
            raise BenchError('%s is missing: run hack/bootstrap.sh first' % src)
        # A private copy: another shell may rebuild build/collections while this runs.
        shutil.copytree(str(src), str(self.collections / 'ansible_collections'), symlinks=True)
        self.root = self.collections / 'ansible_collections' / 'apigw' / 'router'
        if ref:
            shutil.rmtree(str(self.root / 'plugins'))
            archive = subprocess.run(['git', 'archive', ref, 'plugins'], cwd=str(REPO), stdout=subprocess.PIPE,
                                     check=True).stdout
            subprocess.run(['tar', '-x', '-C', str(self.root)], input=archive, check=True)
        self.runner = AnsibleRunner(workdir / ('ansible-' + name), collections_path=self.collections,
                                    python=python, timeout=600)


def best(values):
    return min(values) if values else float('nan')


class FleetBench:
    def __init__(self, args):
        self.args = args
        self.python = sys.executable
        self.workdir = Path(tempfile.mkdtemp(prefix='bench-api-fleet-'))
        self.ids = ['inst-%05d' % i for i in range(args.instances)]
        self.variants = [Variant('current', self.workdir, self.python)]
        if args.before:
            self.variants.insert(0, Variant('before-' + args.before.replace('/', '-'), self.workdir, self.python,
                                            ref=args.before))
        self.timing_log = self.workdir / 'module-times.jsonl'
        self.wrapper = self.workdir / 'timed-python'
        self.wrapper.write_text(WRAPPER.format(python=self.python, out=str(self.timing_log)))
        self.wrapper.chmod(0o755)

    def config(self):
        return {
            'projects': [{'id': PROJECT, 'name': 'cn-north-4', 'instances': [
                {'id': i, 'latency_ms': self.args.latency_ms} for i in self.ids]}],
            'credentials': {'tokens': [{'token': TOKEN, 'name': 'bench', 'roles': ['op_svc_apig'],
                                        'projects': [PROJECT]}]},
        }

    def playbook(self, variant, plays, name, extra_vars=None):
        with contextlib.redirect_stdout(io.StringIO()):  # the harness prints one line per run
            run = variant.runner.run(plays, extra_vars=extra_vars, name=name)
        if run.rc != 0:
            raise BenchError('%s failed:\n%s' % (name, run.describe()))
        return run

    def verify(self, sim, label, ids, concurrency):
        """Exactly one 200 refresh PUT per instance, nothing else, peak in flight within bounds."""
        entries = sim.requests()
        ok = [e for e in entries if e['method'] == 'PUT' and e.get('resource') == 'apis' and e['status'] == 200]
        if len(entries) != len(ids) or len(ok) != len(ids) or set(e['instance_id'] for e in ok) != set(ids):
            raise BenchError('%s: expected one 200 PUT for each of %d instances, the simulator logged %d requests '
                             '(%d such PUTs)' % (label, len(ids), len(entries), len(ok)))
        peak = sim.stats()['peak_in_flight']
        if peak > concurrency:
            raise BenchError('%s: %d requests in flight at once, above concurrency %d' % (label, peak, concurrency))
        return peak

    def empty(self, variant):
        play = {'name': 'empty', 'hosts': 'localhost', 'gather_facts': False,
                'tasks': [{'name': 'empty', 'ansible.builtin.debug': {'msg': 'nothing'}}]}
        return self.playbook(variant, [play], 'empty').duration

    def fleet(self, sim, variant, concurrency):
        sim.reset()
        if self.timing_log.exists():
            self.timing_log.unlink()
        play = {'name': 'fleet', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
            'name': 'fleet', MODULE: {
                'instances': '{{ bench_instances }}', 'concurrency': concurrency, 'endpoint': sim.url,
                'project_id': PROJECT, 'auth_token': TOKEN}}]}
        label = '%s-c%d' % (variant.name, concurrency)
        run = self.playbook(variant, [play], label, extra_vars={
            'bench_instances': [{'instance_id': i} for i in self.ids],
            'ansible_python_interpreter': str(self.wrapper)})
        summary = run.task('fleet')['summary']
        if summary['total'] != len(self.ids) or summary['failed']:
            raise BenchError('%s: summary %s' % (label, summary))
        peak = self.verify(sim, label, self.ids, concurrency)
        records = [json.loads(line) for line in self.timing_log.read_text().splitlines() if line.strip()]
        modules = [r for r in records if any('AnsiballZ_' in a for a in r['argv'])]
        if len(modules) != 1:
            raise BenchError('%s: expected one timed module process, got %d' % (label, len(modules)))
        return run.duration, modules[0], peak

    def uri(self, sim, variant, ids):
        sim.reset()
        play = {'name': 'uri', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
            'name': 'uri', 'loop': '{{ bench_ids }}', 'ansible.builtin.uri': {
                'url': '%s/v1/%s/apigw/instances/{{ item }}/op-operations/router/apis' % (sim.url, PROJECT),
                'method': 'PUT', 'headers': {'X-Auth-Token': TOKEN}, 'status_code': [200, 204]}}]}
        run = self.playbook(variant, [play], 'uri', extra_vars={'bench_ids': list(ids)})
        self.verify(sim, 'uri loop', ids, 1)
        return run.duration

    def run(self):
        args = self.args
        n, lat = args.instances, args.latency_ms / 1000.0
        empty, uri = [], []
        figures = dict(((v.name, c), dict(wall=[], module=[], cpu=[], peak=[]))
                       for v in self.variants for c in args.concurrency)
        log('simulator: %d instances at %d ms; work directory %s' % (n, args.latency_ms, self.workdir))
        with Simulator(self.config(), workdir=self.workdir / 'sim', startup_timeout=60) as sim:
            for rep in range(args.repeat):
                empty.append(self.empty(self.variants[-1]))
                order = [(v, c) for c in args.concurrency for v in self.variants]
                for variant, c in (order if rep % 2 == 0 else order[::-1]):
                    wall, module, peak = self.fleet(sim, variant, c)
                    f = figures[(variant.name, c)]
                    f['wall'].append(wall)
                    f['module'].append(module['wall_s'])
                    f['cpu'].append(module['user_s'] + module['sys_s'])
                    f['peak'].append(peak)
                    log('  rep %d %-24s c=%-3d playbook %.2f s, module %.2f s wall / %.2f s CPU, peak in flight %d'
                        % (rep + 1, variant.name, c, wall, module['wall_s'], module['user_s'] + module['sys_s'],
                           peak))
                if args.uri_instances:
                    uri.append(self.uri(sim, self.variants[-1], self.ids[:args.uri_instances]))
                    log('  rep %d uri loop over %d: %.2f s' % (rep + 1, args.uri_instances, uri[-1]))
            if args.profile:
                self.profile(sim, args.profile_concurrency)
        self.print_table(n, lat, empty, uri, figures)

    def print_table(self, n, lat, empty, uri, figures):
        args = self.args
        e = best(empty)
        print('\n== Fleet form, mode api: %d instances at %d ms, token auth; best of %d; empty playbook %.2f s'
              % (n, args.latency_ms, args.repeat, e))
        uri_per = uri_n = None
        if uri:
            uri_per = (best(uri) - e) / args.uri_instances
            uri_n = e + uri_per * n
            print('ansible.builtin.uri loop over %d: %.2f s, %.3f s per instance, %d extrapolated: %.0f s'
                  % (args.uri_instances, best(uri), uri_per, n, uri_n))
        head = ('variant', 'conc', 'module s', 'module ideal', 'module/ideal', 'CPU s', 'playbook s',
                'playbook ideal', 'playbook/ideal', 'uri loop/fleet')
        rows = [head]
        for (name, c), f in figures.items():
            ideal = n * lat / c
            wall, module = best(f['wall']), best(f['module'])
            rows.append((name, str(c), '%.2f' % module, '%.2f' % ideal, '%.2fx' % (module / ideal),
                         '%.2f' % best(f['cpu']), '%.2f' % wall, '%.2f' % (ideal + e), '%.2fx' % (wall / (ideal + e)),
                         '%.0fx' % (uri_n / wall) if uri_n else '-'))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        for r in rows:
            print('  '.join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(r, widths))))
        print('targets at the default concurrency: module/ideal <= 1.5x, playbook/ideal <= 2x, uri loop/fleet >= 150x')

    def profile(self, sim, concurrency):
        """cProfile (CPU time of every thread) of the current module run directly, no controller."""
        variant = self.variants[-1]
        module = variant.root / 'plugins' / 'modules' / 'apigw_router_refresh.py'
        args_file = self.workdir / 'profile-args.json'
        args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {
            'instances': [{'instance_id': i} for i in self.ids], 'concurrency': concurrency,
            'endpoint': sim.url, 'project_id': PROJECT, 'auth_token': TOKEN}}))
        out = self.workdir / 'profile.pstats'
        env = dict(os.environ, PYTHONPATH=str(variant.collections))
        sim.reset()
        proc = subprocess.run([self.python, str(BENCH_DIR / 'profile_module.py'), '--cpu', str(out), str(module),
                               str(args_file)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        if proc.returncode != 0:
            raise BenchError('profile: the module failed: %s' % proc.stdout.decode('utf-8', 'replace')[-1000:])
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        stats.strip_dirs().sort_stats('tottime').print_stats(args_profile_top(self.args))
        stats.sort_stats('cumulative').print_stats(args_profile_top(self.args))
        print('\n== Profile of the current module, concurrency %d (CPU seconds of every thread, summed)' % concurrency)
        print(text.getvalue())


def args_profile_top(args):
    return args.profile_top


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    p.add_argument('--instances', type=int, default=1000)
    p.add_argument('--latency-ms', type=int, default=20)
    p.add_argument('--concurrency', default='16,32,64',
                   help='comma-separated concurrencies to compare (default 16,32,64)')
    p.add_argument('--uri-instances', type=int, default=20,
                   help='instances of the ansible.builtin.uri loop, extrapolated (0 to skip)')
    p.add_argument('--repeat', type=int, default=2)
    p.add_argument('--before', metavar='REF', help='also run the plugins of this git ref (e.g. main)')
    p.add_argument('--profile', action='store_true', help='cProfile the current module process at the end')
    p.add_argument('--profile-concurrency', type=int, default=16)
    p.add_argument('--profile-top', type=int, default=30)
    p.add_argument('--keep', action='store_true', help='keep the work directory')
    args = p.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(',') if c.strip()]
    return args


def main(argv=None):
    args = parse_args(argv)
    bench = FleetBench(args)
    try:
        bench.run()
    finally:
        if args.keep:
            log('kept %s' % bench.workdir)
        else:
            shutil.rmtree(str(bench.workdir), ignore_errors=True)


if __name__ == '__main__':
    main()
