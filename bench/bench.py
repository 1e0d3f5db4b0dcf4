# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmarks of apigw.router: etcd sync (section ``etcd``) and fleet refresh (section ``fleet``).

Run it through ``hack/bench.sh`` (or ``make bench``), which bootstraps the venv first:

    hack/bench.sh                                   # everything, 3 repetitions
    hack/bench.sh --quick                           # smoke run, under about a minute
    hack/bench.sh --sections etcd --sizes 1000,10000 --json build/bench.json

Every server (one etcd member, the APIG simulator) listens on 127.0.0.1 on ports picked
here and is stopped in ``finally``. Each measurement is repeated (``--repeat``, default 3),
the alternatives interleaved inside every repetition, and reported as the best (``--stat
median``: the median) with the spread (min-max) of the repetitions; derived figures
(``cold - empty``, ratios) are computed from the headline figures of their parts. See
docs/BENCHMARK.md for the method.
"""

from __future__ import absolute_import, division, print_function

import argparse
import datetime
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(REPO / 'tests' / 'support'))
sys.path.insert(0, str(BENCH_DIR))

import datagen  # noqa: E402
from apigw_support.ansible import INSTALLED_COLLECTIONS, AnsibleRunner  # noqa: E402
from apigw_support.etcd import binary as etcd_binary, etcd_single  # noqa: E402
from apigw_support.simulator import Simulator  # noqa: E402

MODULE = 'apigw.router.apigw_router_refresh'
INSTANCE = 'bench'
PROJECT = '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e'
TOKEN = 'bench-static-token-0123456789'  # a made-up simulator token, not a secret
LIBRARIES = ('pyetcd', 'etcd3')
SECTIONS = ('etcd', 'fleet', 'profile')

# The targets of the issues (seconds, bytes, ratios).
T_COLD = 3.0            # 10k routes: cold sync within 3 s beyond the empty playbook
T_NOOP = 1.0            # 10k routes: no-op re-sync within 1 s beyond the empty playbook
T_RAW_RATIO = 1.5       # 10k routes: (cold - empty) within 1.5x of the raw batched client
T_RSS_MB = 150.0        # 10k routes: peak RSS of the module process
TARGET_SIZE = 10000
T_FLEET_S = 4.0         # 1,000 instances at 20 ms within 4 s of ansible-playbook wall time
T_FLEET_VS_URI = 150.0  # ... at least 150x faster than an ansible.builtin.uri loop
T_FLEET_VS_IDEAL = 2.0  # ... and within 2x of the ideal


# The figures kept per client library in the etcd section.
SERIES_NAMES = ('cold', 'noop', 'cold_minus_empty', 'noop_minus_empty', 'raw_process', 'raw_write', 'raw_rss_kb',
                'ratio_process', 'ratio_write', 'cold_minus_ping', 'ratio_beyond_ping', 'per_key_process',
                'per_key_write', 'per_key_rss_kb', 'module_rss_cold_kb', 'module_rss_noop_kb', 'module_cold_wall',
                'module_cold_cpu', 'module_noop_wall', 'module_noop_cpu')


class BenchError(RuntimeError):
    pass


def log(msg):
    sys.stderr.write(msg + '\n')
    sys.stderr.flush()


# ----------------------------------------------------------------------------- statistics

# The headline statistic of repeated timings: 'best' (the minimum, default: on a shared machine
# other processes only ever add time) or 'median'. Set from --stat.
STAT = {'name': 'best'}


class Series(list):
    """Repeated measurements of one quantity.

    ``head`` is the headline figure: the best or the median of the samples (``peak``
    series, such as RSS, take the maximum), or ``value`` when it is set explicitly
    (derived figures are computed from the headline figures of their parts, and keep
    their per-repetition values for the spread).
    """

    def __init__(self, values=(), peak=False):
        list.__init__(self, values)
        self.peak = peak
        self.value = None

    @property
    def median(self):
        return statistics.median(self) if self else None

    @property
    def head(self):
        if self.value is not None:
            return self.value
        if not self:
            return None
        if self.peak:
            return max(self)
        return min(self) if STAT['name'] == 'best' else statistics.median(self)

    def fmt(self, unit='s', digits=2):
        if self.head is None:
            return '-'
        scale = 1024.0 if unit == 'MB' else 1.0  # ru_maxrss is in KiB
        if unit == 'MB':
            digits = 0
        text = '%.*f' % (digits, self.head / scale)
        if len(self) > 1:
            text += ' (%.*f-%.*f)' % (digits, min(self) / scale, digits, max(self) / scale)
        return text + ('' if unit in ('x', '') else ' ' + unit)

    def summary(self):
        return {'head': self.head, 'stat': 'max' if self.peak else ('derived' if self.value is not None else STAT['name']),
                'median': self.median, 'min': min(self) if self else None,
                'max': max(self) if self else None, 'samples': list(self)}


def render(headers, rows, title=None, left=(0,)):
    """Aligned plain-text table: the ``left`` columns left-aligned, the others right-aligned."""
    rows = [[str(c) for c in r] for r in rows]
    widths = [max(len(str(h)), *(len(r[i]) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(headers)]
    out = []
    if title:
        out.append(title)

    def line(cells):
        parts = [c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))]
        return '  '.join(parts).rstrip()

    out.append(line([str(h) for h in headers]))
    out.append('  '.join('-' * w for w in widths))
    out.extend(line(r) for r in rows)
    return '\n'.join(out)


def verdict(ok):
    if ok is None:
        return 'n/a'
    return 'MET' if ok else 'NOT MET'


# ----------------------------------------------------------------------------- the bench

WRAPPER = r'''#!{python} -S
# Written by bench/bench.py: runs the real interpreter as a child and records the child's
# peak RSS (ru_maxrss from wait4, KiB) and CPU/wall time. Used as ansible_python_interpreter.
import json, os, sys, time
real = {python!r}
t0 = time.monotonic()
pid = os.posix_spawn(real, [real] + sys.argv[1:], dict(os.environ))
_pid, status, ru = os.wait4(pid, 0)
wall = time.monotonic() - t0
with open({out!r}, 'a') as handle:
    handle.write(json.dumps({{'argv': sys.argv[1:], 'maxrss_kb': ru.ru_maxrss, 'user_s': ru.ru_utime,
                             'sys_s': ru.ru_stime, 'wall_s': wall}}) + '\n')
sys.exit(os.waitstatus_to_exitcode(status))
'''


class Bench:
    def __init__(self, args):
        self.args = args
        self.python = sys.executable
        self.workdir = Path(tempfile.mkdtemp(prefix='run-', dir=str(args.workdir)))
        self.report = OrderedDict()
        self.missed = []  # (section, what) of targets not met
        # A private copy of the installed collection: other shells may rebuild
        # build/collections while the benchmark runs; every run here uses the same code.
        src = INSTALLED_COLLECTIONS / 'ansible_collections'
        if not (src / 'apigw' / 'router' / 'MANIFEST.json').is_file():
            raise BenchError('%s is missing: run hack/bootstrap.sh first' % src)
        self.collections = self.workdir / 'collections'
        shutil.copytree(str(src), str(self.collections / 'ansible_collections'), symlinks=True)
        sha = INSTALLED_COLLECTIONS / '.content.sha256'
        self.collection_sha = sha.read_text().strip()[:12] if sha.exists() else '?'
        sys.path.insert(0, str(self.collections))
        self.runner = AnsibleRunner(self.workdir / 'ansible', collections_path=self.collections,
                                    python=self.python, timeout=args.timeout, quiet=True)
        self.wrapper = self.workdir / 'rss-python'
        self.rss_log = self.workdir / 'rss.jsonl'
        self.wrapper.write_text(WRAPPER.format(python=self.python, out=str(self.rss_log)))
        self.wrapper.chmod(0o755)

    def close(self, failed=False):
        if self.args.keep or failed:
            log('kept the work directory %s%s' % (self.workdir, ' (the run failed)' if failed else ''))
        else:
            shutil.rmtree(str(self.workdir), ignore_errors=True)

    # -- environment -------------------------------------------------------------------------

    def environment(self):
        def cmd(*c):
            try:
                return subprocess.run(c, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=str(REPO),
                                      universal_newlines=True, timeout=30, check=False).stdout.strip()
            except (OSError, subprocess.SubprocessError):
                return '?'
        import ansible
        etcd_version = cmd(etcd_binary('etcd'), '--version').splitlines()
        env = OrderedDict([
            ('date', datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')),
            ('git', cmd('git', 'rev-parse', '--short', 'HEAD') + (' (dirty tree)' if cmd('git', 'status', '--porcelain') else '')),
            ('collection content sha256', self.collection_sha),
            ('python', platform.python_version()),
            ('ansible-core', ansible.__version__),
            ('etcd', etcd_version[0] if etcd_version else '?'),
            ('cpus', os.cpu_count()),
            ('load average at start', '%.2f %.2f %.2f' % os.getloadavg()),
        ])
        return env

    # -- ansible-playbook --------------------------------------------------------------------

    def playbook(self, plays, name, extra_vars=None, args=(), instrument=False):
        """Run plays with ansible-playbook; return the PlaybookRun (rc 0 required)."""
        extra = dict(extra_vars or {})
        if instrument:
            extra['ansible_python_interpreter'] = str(self.wrapper)
            if self.rss_log.exists():
                self.rss_log.unlink()
        run = self.runner.run(plays, extra_vars=extra, name=name, args=args)
        if run.rc != 0:
            raise BenchError('%s failed:\n%s' % (name, run.describe()))
        if instrument:
            records = []
            if self.rss_log.exists():
                records = [json.loads(line) for line in self.rss_log.read_text().splitlines() if line.strip()]
            run.module_processes = [r for r in records if any('AnsiballZ_' in a for a in r['argv'])]
            if not run.module_processes:
                raise BenchError('%s: the wrapper interpreter recorded no module process' % name)
        return run

    def empty_playbook(self, label):
        """One play on localhost with one debug task: Ansible's start-up, no module run."""
        play = {'name': 'empty', 'hosts': 'localhost', 'gather_facts': False,
                'tasks': [{'name': 'empty', 'ansible.builtin.debug': {'msg': 'nothing'}}]}
        return self.playbook([play], 'empty-' + label).duration

    def ping_playbook(self, label):
        """The same with one ansible.builtin.ping task: the floor of any task that runs a module."""
        play = {'name': 'ping', 'hosts': 'localhost', 'gather_facts': False,
                'tasks': [{'name': 'ping', 'ansible.builtin.ping': {}}]}
        return self.playbook([play], 'ping-' + label).duration

    # -- cProfile of a direct module call ----------------------------------------------------

    def profile_module(self, label, module_args, before=None, top=16, cpu=False):
        """Run the module file directly (no Ansible controller), once plain and once under
        cProfile; print the top functions. ``before()`` runs before each of the two."""
        module = self.collections / 'ansible_collections' / 'apigw' / 'router' / 'plugins' / 'modules' / 'apigw_router_refresh.py'
        args_file = self.workdir / ('profile-%s.json' % label)
        args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': module_args}))
        out = self.workdir / ('profile-%s.pstats' % label)
        env = dict(os.environ, PYTHONPATH=str(self.collections))
        env.pop('PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION', None)
        if before:
            before()
        t0 = time.monotonic()
        plain = subprocess.run([self.python, str(module), str(args_file)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=self.args.timeout, check=False)
        plain_wall = time.monotonic() - t0
        if plain.returncode != 0:
            raise BenchError('profile %s: the module failed (rc %s): %s' % (
                label, plain.returncode, plain.stdout.decode('utf-8', 'replace')[-2000:]))
        if before:
            before()
        t0 = time.monotonic()
        proc = subprocess.run([self.python, str(BENCH_DIR / 'profile_module.py')] + (['--cpu'] if cpu else []) +
                              [str(out), str(module), str(args_file)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=self.args.timeout, check=False)
        prof_wall = time.monotonic() - t0
        try:
            result = json.loads(proc.stdout.decode('utf-8', 'replace'))
        except ValueError:
            raise BenchError('profile %s: the module printed no JSON (rc %s): %s'
                             % (label, proc.returncode, proc.stderr.decode('utf-8', 'replace')[-2000:]))
        if result.get('failed'):
            raise BenchError('profile %s: the module failed: %s' % (label, result.get('msg')))
        text = io.StringIO()
        stats = pstats.Stats(str(out), stream=text)
        stats.strip_dirs()
        phases = profile_phases(stats)
        stats.sort_stats('cumulative').print_stats(top)
        stats.sort_stats('tottime').print_stats(top)
        body = '\n'.join(l for l in text.getvalue().splitlines()
                         if l.strip() and 'Ordered by' not in l and 'List reduced' not in l and '.pstats' not in l)
        print('\n--- profile %s: module process %.2f s without the profiler, %.2f s with it; %s'
              % (label, plain_wall, prof_wall, result.get('msg', '')[:150]))
        print('(%s)' % ('CPU time of every thread, summed (time.thread_time): waiting counts nothing' if cpu else
                        'wall time of the main thread, where a single-instance sync runs'))
        print(render(['phase (cumulative under the profiler)', 'seconds', 'of main thread'],
                     [[name, '%.3f' % sec, '%.0f%%' % (100.0 * sec / phases[0][1]) if sec <= phases[0][1] else '']
                      for name, sec in phases]))
        print(body)
        return {'label': label, 'wall_s': plain_wall, 'profiled_wall_s': prof_wall,
                'phases': phases, 'top': body}


# Where a module run spends its time: (label, [(file, function), ...]) summed by cumulative time.
PHASES = (
    ('load the src file', [('_source.py', 'load_src')]),
    ('validate + build records', [('_routes.py', 'desired_routes')]),
    ('etcd: read the prefix', [('_etcd_client.py', 'read_prefix')]),
    ('etcd: read + plan (read_and_plan)', [('_etcd_sync.py', 'read_and_plan')]),
    ('plan (diff)', [('_planner.py', 'plan')]),
    ('etcd: transactions', [('_etcd_client.py', 'txn')]),
    ('etcd: lock + release', [('_etcd_client.py', 'acquire'), ('_etcd_client.py', 'release')]),
    ('fleet: run_all (all instances)', [('_fleet.py', 'run_all')]),
    ('http: Session.request, summed over threads', [('sessions.py', 'request')]),
    ('http: reading the answer, summed over threads', [('client.py', 'getresponse')]),
    ('http: requests merge_environment_settings (proxies, netrc)', [('sessions.py', 'merge_environment_settings')]),
    ('module: AnsibleModule() (argspec)', [('basic.py', '__init__')]),
    ('module: exit_json', [('basic.py', 'exit_json')]),
)


def profile_phases(stats):
    """[(phase, cumulative seconds)], first the whole process and the imports before main()."""
    by_name = {}
    total = main = 0.0
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        by_name[(filename, func)] = max(by_name.get((filename, func), 0.0), ct)
        if func == 'run_path' and filename in ('runpy.py', '<frozen runpy>'):
            total = max(total, ct)
        if func == 'main' and filename == 'apigw_router_refresh.py':
            main = ct
    total = total or stats.total_tt
    out = [('whole module, main thread', total), ('imports before main()', total - main)]
    for name, keys in PHASES:
        sec = sum(by_name.get(k, 0.0) for k in keys)
        if sec > 0:
            out.append((name, sec))
    return out


# ----------------------------------------------------------------------------- section etcd

def etcd_server(base_dir, fsync=True):
    """One etcd member on free loopback ports, with fsync unless ``fsync`` is false; always stopped."""
    base_dir.mkdir(parents=True, exist_ok=True)
    return etcd_single(str(base_dir), fsync=fsync)


def key_count(cluster, prefix):
    out = cluster.etcdctl(['get', prefix + '/', '--prefix', '--count-only', '-w', 'fields'])
    for line in out.splitlines():
        if line.startswith('"Count"'):
            return int(line.split(':', 1)[1])
    raise BenchError('etcdctl printed no count for %s: %r' % (prefix, out[-500:]))


def wipe(cluster, prefix):
    """Delete every key under ``prefix`` and compact, so each run starts from the same etcd state."""
    cluster.etcdctl(['del', prefix + '/', '--prefix'], timeout=120, command_timeout='60s')
    cluster.etcdctl(['compact', str(cluster.revision())], timeout=120, command_timeout='60s')


class EtcdSection:
    def __init__(self, bench):
        self.b = bench
        self.args = bench.args
        self.libs = self.args.libraries

    def sync_play(self, lib, src, prefix, endpoint):
        return [{'name': 'sync', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [{
            'name': 'sync', MODULE: {
                'mode': 'etcd', 'instance_id': INSTANCE, 'src': str(src), 'key_prefix': prefix,
                'etcd_endpoints': [endpoint], 'etcd_library': lib}}]}]

    def sync(self, lib, src, prefix, endpoint, label, expect, n, instrument=False):
        run = self.b.playbook(self.sync_play(lib, src, prefix, endpoint), label, instrument=instrument)
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
        cmd = [self.b.python, str(BENCH_DIR / 'raw_client.py'), '--library', lib, '--endpoint', host_port,
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
        with etcd_server(self.b.workdir / 'etcd', fsync=not args.no_fsync) as cluster:
            endpoint = cluster.members[0].endpoint
            log('etcd: one member at %s, fsync %s' % (endpoint, 'OFF (--unsafe-no-fsync)' if args.no_fsync else 'on'))
            for n in args.sizes:
                results[n] = self.one_size(cluster, endpoint, n)
        self.b.report['etcd'] = {'fsync': not args.no_fsync, 'sizes': results}
        self.print_tables(results)
        return results

    def one_size(self, cluster, endpoint, n):
        from ansible_collections.apigw.router.plugins.module_utils._routes import desired_routes
        args, b = self.args, self.b
        apis = datagen.generate(n)
        src = b.workdir / ('apis-%d.json' % n)
        src.write_text(json.dumps(datagen.page(apis)), encoding='utf-8')
        desired = desired_routes(apis, '/p', INSTANCE)
        kv = [[key[len('/p'):], value.decode('utf-8')] for key, value in sorted(desired.items())]
        kv_file = b.workdir / ('kv-%d.json' % n)
        kv_file.write_text(json.dumps(kv), encoding='utf-8')
        record_bytes = statistics.mean(len(v) for v in desired.values())
        del apis, desired, kv
        per_key_n = n if n <= args.per_key_max else min(n, args.per_key_subset)
        data = OrderedDict(
            routes=n, src_bytes=src.stat().st_size, mean_record_bytes=record_bytes, per_key_measured=per_key_n,
            empty=Series(), ping=Series(), ping_minus_empty=Series(), libs=OrderedDict(
                (lib, OrderedDict((k, Series(peak=k.endswith('_kb'))) for k in SERIES_NAMES)) for lib in self.libs))
        log('etcd %d routes: src %.1f MB, records %.0f B on average; %d repetition(s)'
            % (n, data['src_bytes'] / 1e6, record_bytes, args.repeat))
        tag = 0
        for rep in range(args.repeat):
            empty = b.empty_playbook('etcd-%d-r%d' % (n, rep))
            data['empty'].append(empty)
            ping = b.ping_playbook('etcd-%d-r%d' % (n, rep))
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

        # Targets, at 10,000 routes.
        rows = []
        d = results.get(TARGET_SIZE)
        checks = []
        for lib in self.libs:
            s = d['libs'][lib] if d else None
            if s:
                e = d['empty']
                med = {  # the same figures from medians, shown next to the headline ones
                    'cme': s['cold'].median - e.median, 'nme': s['noop'].median - e.median,
                    'ratio': (s['cold'].median - e.median) / s['raw_process'].median}
                rss = max(s['module_rss_cold_kb'].head or 0, s['module_rss_noop_kb'].head or 0) / 1024.0 or None
            checks += [
                (lib, 'cold - empty <= %.0f s' % T_COLD, s and s['cold_minus_empty'].head, s and med['cme'],
                 T_COLD, '%.2f s'),
                (lib, 'no-op - empty <= %.0f s' % T_NOOP, s and s['noop_minus_empty'].head, s and med['nme'],
                 T_NOOP, '%.2f s'),
                (lib, '(cold - empty) / raw txn128 process <= %.1fx' % T_RAW_RATIO,
                 s and s['ratio_process'].head, s and med['ratio'], T_RAW_RATIO, '%.2fx'),
                (lib, 'peak RSS of the module < %.0f MB' % T_RSS_MB, s and rss, s and rss, T_RSS_MB, '%.0f MB'),
            ]
        targets = []
        for lib, what, value, median, limit, fmt in checks:
            ok = None if value is None else value <= limit
            rows.append([lib, what, '-' if value is None else fmt % value, '-' if median is None else fmt % median,
                         verdict(ok)])
            targets.append({'library': lib, 'target': what, 'value': value, 'median': median, 'limit': limit,
                            'met': ok, 'stat': STAT['name']})
            if ok is False:
                self.b.missed.append(('etcd', lib, what))
        print()
        print(render(['library', 'target at %d routes' % TARGET_SIZE, 'measured (%s)' % STAT['name'],
                      'median', 'verdict'], rows,
                     title='Targets (etcd)%s' % ('' if d else ': %d routes not in --sizes, not evaluated'
                                                 % TARGET_SIZE), left=(0, 1, 4)))
        self.b.report.setdefault('targets', []).extend(dict(t, section='etcd') for t in targets)


# ----------------------------------------------------------------------------- section fleet

class FleetSection:
    def __init__(self, bench):
        self.b = bench
        self.args = bench.args

    def config(self, ids):
        return {
            'projects': [{'id': PROJECT, 'name': 'cn-north-4', 'instances': [
                {'id': i, 'latency_ms': self.args.latency_ms, 'generate': {'count': 3, 'seed': k}}
                for k, i in enumerate(ids)]}],
            'credentials': {'tokens': [{'token': TOKEN, 'name': 'bench', 'roles': ['op_svc_apig'],
                                        'projects': [PROJECT]}]},
        }

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
        run = self.b.playbook([play], label, instrument=instrument,
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
        run = self.b.playbook([play], 'uri-%d' % len(ids), extra_vars={'bench_ids': list(ids)})
        self.verify(sim, 'uri loop', ids)
        return run

    def hosts_run(self, sim, ids, forks):
        sim.reset()
        inventory = self.b.workdir / ('hosts-%d.json' % len(ids))
        if not inventory.exists():
            inventory.write_text(json.dumps({'apig': {'hosts': dict(
                (i, {'ansible_connection': 'local', 'ansible_python_interpreter': self.b.python}) for i in ids)}}))
        play = {'name': 'hosts', 'hosts': 'apig', 'gather_facts': False, 'tasks': [{
            'name': 'refresh', MODULE: {
                'instance_id': '{{ inventory_hostname }}', 'endpoint': sim.url, 'project_id': PROJECT,
                'auth_token': TOKEN}}]}
        run = self.b.playbook([play], 'hosts-%d-f%d' % (len(ids), forks),
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
        with Simulator(self.config(ids), workdir=self.b.workdir / 'sim', startup_timeout=60) as sim:
            for rep in range(args.repeat):
                empty = self.b.empty_playbook('fleet-r%d' % rep)
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
        self.b.report['fleet'] = d
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

        rows, targets = [], []
        for c, f in d['fleet'].items():
            wall, wall_med = f['wall'].head, f['wall'].median
            ideal = n * lat / c + empty.head
            ideal_med = n * lat / c + empty.median
            checks = [('fleet form c=%d: wall <= %.0f s' % (c, T_FLEET_S), wall, wall_med, wall <= T_FLEET_S, '%.2f s')]
            if d['uri_1000']:
                speedup = d['uri_1000'].head / wall
                uri_med = empty.median + (d['uri'].median - empty.median) / d['uri_instances'] * n
                checks.append(('fleet form c=%d: uri loop / fleet >= %.0fx' % (c, T_FLEET_VS_URI), speedup,
                               uri_med / wall_med, speedup >= T_FLEET_VS_URI, '%.0fx'))
            checks.append(('fleet form c=%d: fleet / ideal <= %.0fx' % (c, T_FLEET_VS_IDEAL), wall / ideal,
                           wall_med / ideal_med, wall / ideal <= T_FLEET_VS_IDEAL, '%.2fx'))
            for what, value, median, ok, fmt in checks:
                rows.append([what, fmt % value, fmt % median, verdict(ok)])
                targets.append({'section': 'fleet', 'target': what, 'value': value, 'median': median, 'met': ok,
                                'concurrency': c, 'stat': STAT['name']})
                if not ok and n == 1000:
                    self.b.missed.append(('fleet', c, what))
        print()
        print(render(['target (%d instances)' % n, 'measured (%s)' % STAT['name'], 'median', 'verdict'], rows,
                     title='Targets (fleet)%s' % ('' if n == 1000 else ': the targets are for 1,000 instances'),
                     left=(0, 3)))
        self.b.report.setdefault('targets', []).extend(targets)


# ----------------------------------------------------------------------------- section profile

def profile_section(bench, sections_run):
    """cProfile of direct module calls (no controller), for the parts whose targets were missed
    (or all of them with ``--sections profile``)."""
    args = bench.args
    out = []
    want_etcd = 'etcd' in args.sections and ('profile' in args.sections or any(m[0] == 'etcd' for m in bench.missed))
    want_fleet = 'fleet' in args.sections and ('profile' in args.sections or any(m[0] == 'fleet' for m in bench.missed))
    if 'profile' in args.sections and not ({'etcd', 'fleet'} & set(args.sections)):
        want_etcd = want_fleet = True
    if not (want_etcd or want_fleet):
        return out
    print('\n== Profiles (cProfile of the module run directly, without ansible-playbook)')
    if want_etcd:
        n = args.profile_size
        apis = datagen.generate(n)
        src = bench.workdir / ('profile-apis-%d.json' % n)
        src.write_text(json.dumps(datagen.page(apis)), encoding='utf-8')
        with etcd_server(bench.workdir / 'etcd-profile', fsync=not args.no_fsync) as cluster:
            endpoint = cluster.members[0].endpoint
            for lib in args.libraries:
                prefix = '/prof/%s' % lib
                params = {'mode': 'etcd', 'instance_id': INSTANCE, 'src': str(src), 'key_prefix': prefix,
                          'etcd_endpoints': [endpoint], 'etcd_library': lib}
                # Cold: the prefix is emptied before the plain and the profiled run; the
                # profiled cold run leaves it full for the two no-op runs.
                out.append(bench.profile_module('etcd-cold-%s-%d' % (lib, n), params,
                                                before=lambda p=prefix: wipe(cluster, p)))
                out.append(bench.profile_module('etcd-noop-%s-%d' % (lib, n), params))
    if want_fleet:
        n = args.fleet_instances
        ids = ['inst-%05d' % i for i in range(n)]
        with Simulator(FleetSection(bench).config(ids), workdir=bench.workdir / 'sim-profile', startup_timeout=60) as sim:
            params = {'instances': [{'instance_id': i} for i in ids], 'concurrency': args.concurrency[0],
                      'endpoint': sim.url, 'project_id': PROJECT, 'auth_token': TOKEN}
            out.append(bench.profile_module('fleet-%d-c%d' % (n, args.concurrency[0]), params, cpu=True))
    bench.report['profiles'] = [dict(p.items()) for p in out]
    return out


# ----------------------------------------------------------------------------- main

def int_list(text):
    return [int(x) for x in text.split(',') if x.strip()]


def parse_args(argv):
    p = argparse.ArgumentParser(description='Benchmarks of apigw.router (etcd sync and fleet refresh).',
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--sections', default='etcd,fleet',
                   help='comma-separated: etcd, fleet, profile (profile also runs by itself for a section '
                        'whose targets are missed, unless --no-profile)')
    p.add_argument('--sizes', type=int_list, default=[1000, 10000, 50000], help='routes per etcd sync')
    p.add_argument('--libraries', default='pyetcd,etcd3', help='etcd client libraries')
    p.add_argument('--repeat', type=int, default=3, help='repetitions of every timed measurement')
    p.add_argument('--stat', choices=('best', 'median'), default='best',
                   help='headline statistic of the repetitions (targets are judged on it; both are printed)')
    p.add_argument('--rss-repeat', type=int, default=1,
                   help='instrumented runs (wrapper interpreter) for peak RSS and module process time')
    p.add_argument('--per-key-max', type=int, default=10000,
                   help='one-put-per-key is measured on all keys up to this size ...')
    p.add_argument('--per-key-subset', type=int, default=5000, help='... and on this many keys above it (extrapolated)')
    p.add_argument('--no-fsync', action='store_true', help='run etcd with --unsafe-no-fsync (not the headline figures)')
    p.add_argument('--fleet-instances', type=int, default=1000, help='simulated instances of the fleet section')
    p.add_argument('--latency-ms', type=int, default=20, help='simulator latency of every request')
    p.add_argument('--concurrency', type=int_list, default=[16, 64], help='fleet form concurrency values')
    p.add_argument('--uri-instances', type=int, default=100, help='instances of the ansible.builtin.uri loop')
    p.add_argument('--host-instances', type=int, default=100, help='inventory hosts of the inventory-host form')
    p.add_argument('--forks', type=int_list, default=[16, 50], help='forks of the inventory-host form')
    p.add_argument('--profile-size', type=int, default=10000, help='routes of the etcd profile')
    p.add_argument('--no-profile', action='store_true', help='do not profile automatically when a target is missed')
    p.add_argument('--quick', action='store_true',
                   help='smoke run (about 30 s): 1,000 routes, one repetition, fleet form at concurrency 16, uri '
                        'loop and inventory hosts on 10 instances, no profiles')
    p.add_argument('--json', metavar='FILE', help='also write every sample and summary as JSON')
    p.add_argument('--workdir', default=str(REPO / 'build' / 'bench'), help='where run directories are made')
    p.add_argument('--keep', action='store_true', help='keep the run directory (playbooks, logs, data)')
    p.add_argument('--timeout', type=float, default=900.0, help='seconds per ansible-playbook or client run')
    args = p.parse_args(argv)
    given = set(a.split('=')[0] for a in argv if a.startswith('--'))
    if args.quick:
        for name, value in (('--sizes', [1000]), ('--repeat', 1), ('--uri-instances', 10), ('--host-instances', 10),
                            ('--forks', [16]), ('--concurrency', [16]), ('--profile-size', 1000),
                            ('--no-profile', True)):
            if name not in given:
                setattr(args, name[2:].replace('-', '_'), value)
    args.sections = [s.strip() for s in args.sections.split(',') if s.strip()]
    args.libraries = [s.strip() for s in args.libraries.split(',') if s.strip()]
    bad = [s for s in args.sections if s not in SECTIONS]
    if bad:
        p.error('unknown section(s) %s; choose from %s' % (', '.join(bad), ', '.join(SECTIONS)))
    bad = [s for s in args.libraries if s not in LIBRARIES]
    if bad:
        p.error('unknown library %s; choose from %s' % (', '.join(bad), ', '.join(LIBRARIES)))
    if args.repeat < 1 or args.rss_repeat < 0 or any(n < 1 for n in args.sizes) or args.fleet_instances < 1:
        p.error('repetitions and sizes must be positive')
    if args.uri_instances > args.fleet_instances or args.host_instances > args.fleet_instances:
        p.error('--uri-instances and --host-instances cannot exceed --fleet-instances')
    if not args.concurrency or any(not 1 <= c <= 256 for c in args.concurrency):
        p.error('--concurrency values must be between 1 and 256')
    return args


def jsonable(obj):
    if isinstance(obj, Series):
        return obj.summary()
    if isinstance(obj, dict):
        return OrderedDict((str(k), jsonable(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    return obj


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    STAT['name'] = args.stat
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    started = time.monotonic()
    failed = True
    try:
        env = bench.environment()
        bench.report['environment'] = env
        bench.report['command'] = 'hack/bench.sh ' + ' '.join(argv)
        print('apigw.router benchmark: hack/bench.sh %s' % ' '.join(argv))
        print(render(['environment', ''], [[k, str(v)] for k, v in env.items()], left=(0, 1)))
        if 'etcd' in args.sections:
            EtcdSection(bench).run()
        if 'fleet' in args.sections:
            FleetSection(bench).run()
        if not args.no_profile or 'profile' in args.sections:
            profile_section(bench, args.sections)
        env['load average at end'] = '%.2f %.2f %.2f' % os.getloadavg()
        env['duration'] = '%.0f s' % (time.monotonic() - started)
        print('\nload average at end: %s; benchmark took %s' % (env['load average at end'], env['duration']))
        targets = bench.report.get('targets', [])
        evaluated = [t for t in targets if t['met'] is not None]
        if evaluated:
            missed = [t for t in evaluated if not t['met']]
            not_met = '; '.join('%s%s' % (t.get('library', '') and t['library'] + ': ', t['target']) for t in missed)
            print('targets: %d of %d met%s'
                  % (len(evaluated) - len(missed), len(evaluated), '; NOT met: ' + not_met if missed else ''))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            with open(args.json, 'w') as handle:
                json.dump(jsonable(bench.report), handle, indent=2)
            print('JSON written to %s' % args.json)
        failed = False
    finally:
        bench.close(failed)
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.stderr.write('bench: %s\n' % exc)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write('bench: interrupted\n')
        sys.exit(130)
