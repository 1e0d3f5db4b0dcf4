# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Section ``profile``: cProfile of direct module calls (no Ansible controller).

Runs by itself after a section whose targets were missed (unless ``--no-profile``), or
with ``--sections profile``.
"""

from __future__ import absolute_import, division, print_function

import io
import json
import os
import pstats
import subprocess
import time

import datagen
from apigw_support.simulator import Simulator
from common import BENCH_DIR, INSTANCE, PROJECT, TOKEN, BenchError, etcd_server, render, wipe
from bench_fleet import simulator_config

SECTION = 'profile'
HELP = 'cProfile of direct module calls (also after a section whose targets are missed)'
DEFAULT = False
ORDER = 90


def add_arguments(parser):
    parser.add_argument('--profile-size', type=int, default=10000, help='routes of the etcd profile')
    parser.add_argument('--no-profile', action='store_true',
                        help='do not profile automatically when a target is missed')


QUICK = {'profile_size': 1000, 'no_profile': True}


def profile_module(ctx, label, module_args, before=None, top=16, cpu=False):
    """Run the module file directly (no Ansible controller), once plain and once under
    cProfile; print the top functions. ``before()`` runs before each of the two."""
    module = ctx.collections / 'ansible_collections' / 'apigw' / 'router' / 'plugins' / 'modules' / 'apigw_router_refresh.py'
    args_file = ctx.workdir / ('profile-%s.json' % label)
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': module_args}))
    out = ctx.workdir / ('profile-%s.pstats' % label)
    env = dict(os.environ, PYTHONPATH=str(ctx.collections))
    env.pop('PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION', None)
    if before:
        before()
    t0 = time.monotonic()
    plain = subprocess.run([ctx.python, str(module), str(args_file)], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=ctx.args.timeout, check=False)
    plain_wall = time.monotonic() - t0
    if plain.returncode != 0:
        raise BenchError('profile %s: the module failed (rc %s): %s' % (
            label, plain.returncode, plain.stdout.decode('utf-8', 'replace')[-2000:]))
    if before:
        before()
    t0 = time.monotonic()
    proc = subprocess.run([ctx.python, str(BENCH_DIR / 'profile_module.py')] + (['--cpu'] if cpu else []) +
                          [str(out), str(module), str(args_file)],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=ctx.args.timeout, check=False)
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
    phases = profile_phases(stats)  # before strip_dirs: module_utils/ has subdirectories
    stats.strip_dirs()
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


# Where a module run spends its time: (label, [(file, function), ...]) summed by cumulative time;
# a file is matched by the end of its path. The src path is what fixed_source() runs: FileSource
# reads the file, then parses it and builds the records (on a source-cache hit only if needed).
PHASES = (
    ('src: read the file', [('sources/_source.py', '_read')]),
    ('src: parse + validate + build records', [('sources/_source.py', '_build')]),
    ('validate + build records', [('sources/_routes.py', 'build_records')]),
    ('etcd: read the prefix', [('etcd/_client.py', 'read_prefix')]),
    ('etcd: read + plan (read_and_plan)', [('etcd/_sync.py', 'read_and_plan')]),
    ('plan (diff)', [('etcd/_planner.py', 'plan')]),
    ('etcd: transactions', [('etcd/_client.py', 'txn')]),
    ('etcd: lock + release', [('etcd/_lock.py', 'acquire'), ('etcd/_lock.py', 'release')]),
    ('fleet: run_all (all instances)', [('common/_fleet.py', 'run_all')]),
    ('http: one exchange, summed over threads', [('apig/_http_client.py', 'exchange')]),
    ('http: reading the answer, summed over threads', [('client.py', 'getresponse')]),
    ('http: proxies and CA bundle, once per origin', [('apig/_http_client.py', '_resolve')]),
    ('module: AnsibleModule() (argspec)', [('basic.py', '__init__')]),
    ('module: exit_json', [('basic.py', 'exit_json')]),
)


def profile_phases(stats):
    """[(phase, cumulative seconds)], first the whole process and the imports before main()."""
    by_name = {}
    total = main = 0.0
    for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():
        for name, keys in PHASES:
            for suffix, phase_func in keys:
                if func == phase_func and filename.endswith('/' + suffix):
                    by_name[(suffix, func)] = max(by_name.get((suffix, func), 0.0), ct)
        if func == 'run_path' and os.path.basename(filename) in ('runpy.py', '<frozen runpy>'):
            total = max(total, ct)
        if func == 'main' and filename.endswith('/apigw_router_refresh.py'):
            main = ct
    total = total or stats.total_tt
    out = [('whole module, main thread', total), ('imports before main()', total - main)]
    for name, keys in PHASES:
        sec = sum(by_name.get(k, 0.0) for k in keys)
        if sec > 0:
            out.append((name, sec))
    return out


def wanted(ctx):
    """Run after the chosen sections when one of them missed a target (unless --no-profile)."""
    return bool(ctx.missed) and not ctx.args.no_profile


def run(ctx):
    """Profile the sections run (or all with ``--sections profile``) whose targets were missed."""
    args = ctx.args
    out = []
    chosen = args.sections
    want_etcd = 'etcd' in chosen and ('profile' in chosen or 'etcd' in ctx.missed)
    want_fleet = 'fleet' in chosen and ('profile' in chosen or 'fleet' in ctx.missed)
    if 'profile' in chosen and not ({'etcd', 'fleet'} & set(chosen)):
        want_etcd = want_fleet = True
    if not (want_etcd or want_fleet):
        return out
    print('\n== Profiles (cProfile of the module run directly, without ansible-playbook)')
    if want_etcd:
        n = args.profile_size
        apis = datagen.generate(n)
        src = ctx.workdir / ('profile-apis-%d.json' % n)
        src.write_text(json.dumps(datagen.page(apis)), encoding='utf-8')
        with etcd_server(ctx.workdir / 'etcd-profile', fsync=not args.no_fsync) as cluster:
            endpoint = cluster.members[0].endpoint
            for lib in args.libraries:
                prefix = '/prof/%s' % lib
                params = {'mode': 'etcd', 'instance_id': INSTANCE, 'src': str(src), 'key_prefix': prefix,
                          'etcd_endpoints': [endpoint], 'etcd_library': lib}
                # Cold: the prefix is emptied before the plain and the profiled run; the
                # profiled cold run leaves it full for the two no-op runs.
                out.append(profile_module(ctx, 'etcd-cold-%s-%d' % (lib, n), params,
                                          before=lambda p=prefix: wipe(cluster, p)))
                out.append(profile_module(ctx, 'etcd-noop-%s-%d' % (lib, n), params))
    if want_fleet:
        n = args.fleet_instances
        ids = ['inst-%05d' % i for i in range(n)]
        with Simulator(simulator_config(ids, args.latency_ms), workdir=ctx.workdir / 'sim-profile',
                       startup_timeout=60) as sim:
            params = {'instances': [{'instance_id': i} for i in ids], 'concurrency': args.concurrency[0],
                      'endpoint': sim.url, 'project_id': PROJECT, 'auth_token': TOKEN}
            out.append(profile_module(ctx, 'fleet-%d-c%d' % (n, args.concurrency[0]), params, cpu=True))
    ctx.report['profiles'] = [dict(p.items()) for p in out]
    return out
