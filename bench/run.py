# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmarks of apigw.router: runs the chosen sections and prints their tables.

Run it through ``hack/bench.sh`` (or ``make bench``), which bootstraps the venv first:

    hack/bench.sh                                   # the default sections, 3 repetitions
    hack/bench.sh --list                            # every section and what it measures
    hack/bench.sh --quick                           # smoke run
    hack/bench.sh --sections etcd --sizes 1000,10000 --json build/bench.json
    hack/bench.sh --sections baseline --baseline main     # the same scenarios, two versions

Tables go to stdout, progress to stderr; the exit status is 0 when the benchmark ran,
whether or not the targets are met (they are reported, not enforced). See docs/BENCHMARK.md.

A section is a module ``bench/bench_<topic>.py`` that defines ``SECTION``, found by itself;
bench/README.md says what a section defines and what its ``ctx`` (``common.Context``) offers.
"""

from __future__ import absolute_import, division, print_function

import argparse
import importlib
import json
import os
import signal
import sys
import time
from pathlib import Path

from common import (BENCH_DIR, LAST_RELEASE_REF, LIBRARIES, REPO, STAT, BenchError, Context, int_list, jsonable, render,
                    settled_text, verdict)

SHARED_QUICK = {'sizes': [1000], 'repeat': 1, 'concurrency': [16]}
# --report: the before/after tables of the performance targets, in one run (best of 2), against the
# last release (the baseline section's default, and the role's baseline here).
REPORT_SECTIONS = 'etcd,fleet,role,baseline,engine,inventory,records'
REPORT = {'sizes': [10000, 50000], 'repeat': 2, 'stat': 'best', 'concurrency': [16],
          'per_key_max': 0, 'per_key_subset': 500, 'no_profile': True, 'uri_instances': 50,
          'host_instances': 50, 'forks': [16], 'role_baseline': LAST_RELEASE_REF}
REPORT_FILE = REPO / 'build' / 'bench' / 'report.md'


class Tee(object):
    """stdout that also goes to the report file."""

    def __init__(self, stream, handle):
        self.stream, self.handle = stream, handle

    def write(self, text):
        self.handle.write(text)
        return self.stream.write(text)

    def flush(self):
        self.handle.flush()
        self.stream.flush()


def discover():
    """{section name: module} of every bench/bench_*.py that defines SECTION, in run order."""
    found = {}
    for path in sorted(BENCH_DIR.glob('bench_*.py')):
        module = importlib.import_module(path.stem)
        name = getattr(module, 'SECTION', None)
        if not name:
            continue
        if name in found:
            raise BenchError('section %r is defined twice: %s and %s' % (name, found[name].__file__, path))
        if not callable(getattr(module, 'run', None)):
            raise BenchError('%s defines SECTION %r but no run(ctx)' % (path, name))
        found[name] = module
    return dict(sorted(found.items(), key=lambda item: (getattr(item[1], 'ORDER', 50), item[0])))


def parse_args(argv, sections):
    defaults = [name for name, module in sections.items() if getattr(module, 'DEFAULT', True)]
    p = argparse.ArgumentParser(description='Benchmarks of apigw.router.',
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--sections', default=','.join(defaults),
                   help='comma-separated, from: %s (--list says what each measures)' % ', '.join(sections))
    p.add_argument('--list', action='store_true', help='list the sections and exit')
    p.add_argument('--sizes', type=int_list, default=[1000, 10000, 50000], help='routes per etcd sync')
    p.add_argument('--libraries', default='pyetcd,etcd3', help='etcd client libraries')
    p.add_argument('--repeat', type=int, default=3, help='repetitions of every timed measurement')
    p.add_argument('--stat', choices=('best', 'median'), default='best',
                   help='headline statistic of the repetitions (targets are judged on it; both are printed)')
    p.add_argument('--rss-repeat', type=int, default=1,
                   help='instrumented runs (wrapper interpreter) for peak RSS and module process time')
    p.add_argument('--no-fsync', action='store_true', help='run etcd with --unsafe-no-fsync (not the headline figures)')
    p.add_argument('--fleet-instances', type=int, default=1000, help='simulated instances of the fleet scenarios')
    p.add_argument('--latency-ms', type=int, default=20, help='simulator latency of every request')
    p.add_argument('--concurrency', type=int_list, default=[16, 64], help='fleet form concurrency values')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: 1,000 routes, one repetition, concurrency 16, small loops, no profiles')
    p.add_argument('--report', nargs='?', const=str(REPORT_FILE), metavar='FILE',
                   help='the report of the performance targets, before (--baseline) and after: sections %s, '
                        'sizes 10000,50000, best of 2 (unless given); stdout also written to FILE '
                        '(default build/bench/report.md)' % REPORT_SECTIONS)
    p.add_argument('--json', metavar='FILE', help='also write every sample and summary as JSON')
    p.add_argument('--workdir', default=str(REPO / 'build' / 'bench'), help='where run directories are made')
    p.add_argument('--keep', action='store_true', help='keep the run directory (playbooks, logs, data)')
    p.add_argument('--timeout', type=float, default=900.0, help='seconds per ansible-playbook or client run')
    for module in sections.values():
        if hasattr(module, 'add_arguments'):
            module.add_arguments(p)
    args = p.parse_args(argv)
    given = set(a.split('=')[0][2:].replace('-', '_') for a in argv if a.startswith('--'))
    if args.report:
        if 'sections' not in given:
            args.sections = REPORT_SECTIONS
        for dest, value in REPORT.items():
            if dest not in given and (not args.quick or dest not in ('sizes', 'repeat')):
                setattr(args, dest, value)
    if args.quick:
        quick = dict(SHARED_QUICK)
        for module in sections.values():
            quick.update(getattr(module, 'QUICK', {}))
        for dest, value in quick.items():
            if dest not in given:
                setattr(args, dest, value)
    args.sections = [s.strip() for s in args.sections.split(',') if s.strip()]
    args.libraries = [s.strip() for s in args.libraries.split(',') if s.strip()]
    bad = [s for s in args.sections if s not in sections]
    if bad:
        p.error('unknown section(s) %s; choose from %s' % (', '.join(bad), ', '.join(sections)))
    bad = [s for s in args.libraries if s not in LIBRARIES]
    if bad:
        p.error('unknown library %s; choose from %s' % (', '.join(bad), ', '.join(LIBRARIES)))
    if args.repeat < 1 or args.rss_repeat < 0 or any(n < 1 for n in args.sizes) or args.fleet_instances < 1:
        p.error('repetitions and sizes must be positive')
    if not args.concurrency or any(not 1 <= c <= 256 for c in args.concurrency):
        p.error('--concurrency values must be between 1 and 256')
    for module in sections.values():
        problem = module.check_arguments(args) if hasattr(module, 'check_arguments') else None
        if problem:
            p.error(problem)
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    sections = discover()
    args = parse_args(argv, sections)
    if args.list:
        print(render(['section', 'default', 'measures'],
                     [[name, 'yes' if getattr(m, 'DEFAULT', True) else 'no', getattr(m, 'HELP', '')]
                      for name, m in sections.items()], left=(0, 1, 2)))
        return 0
    STAT['name'] = args.stat
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    if args.report:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        with open(args.report, 'w') as handle:
            handle.write('```\n')
            sys.stdout = Tee(sys.stdout, handle)
            try:
                return measure(args, argv, sections)
            finally:
                sys.stdout = sys.stdout.stream
                handle.write('```\n')
                print('report written to %s' % args.report)
    return measure(args, argv, sections)


def measure(args, argv, sections):
    ctx = Context(args)
    started = time.monotonic()
    failed = True
    try:
        env = ctx.environment()
        ctx.report['environment'] = env
        ctx.report['command'] = 'hack/bench.sh ' + ' '.join(argv)
        print('apigw.router benchmark: hack/bench.sh %s' % ' '.join(argv))
        print(render(['environment', ''], [[k, str(v)] for k, v in env.items()], left=(0, 1)))
        for name, module in sections.items():
            if name in args.sections or (hasattr(module, 'wanted') and module.wanted(ctx)):
                module.run(ctx)
        env['load average at end'] = '%.2f %.2f %.2f' % os.getloadavg()
        env['duration'] = '%.0f s' % (time.monotonic() - started)
        print('\nload average at end: %s; benchmark took %s' % (env['load average at end'], env['duration']))
        evaluated = [t for t in ctx.report.get('targets', []) if t['met'] is not None]
        if evaluated:
            # Whether each verdict holds in every round, and whether the rounds were enough: a
            # figure whose spread is not smaller than its gap to the target is not settled.
            print()
            print(render(['section', 'target', 'verdict', 'rounds meeting it; spread of the rounds vs gap of their median'],
                         [[t['section'], target_name(t), verdict(t['met']), settled_text(t)] for t in evaluated],
                         title='Targets, round by round', left=(0, 1, 3)))
            missed = [t for t in evaluated if not t['met']]
            not_met = '; '.join(target_name(t) for t in missed)
            settled = sum(1 for t in evaluated if (t.get('rounds') or {}).get('settled'))
            print('targets: %d of %d met%s; %d of %d settled (spread of the rounds smaller than their gap to the target)'
                  % (len(evaluated) - len(missed), len(evaluated), '; NOT met: ' + not_met if missed else '',
                     settled, len(evaluated)))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            with open(args.json, 'w') as handle:
                json.dump(jsonable(ctx.report), handle, indent=2)
            print('JSON written to %s' % args.json)
        failed = False
    finally:
        ctx.close(failed)
    return 0


def target_name(entry):
    """'pyetcd: 10000 routes: ...', the target of an entry of Context.target with its library, if any."""
    return '%s%s' % (entry.get('library', '') and entry['library'] + ': ', entry['target'])


def stop_on_sigterm(signum, frame):
    # SystemExit unwinds through the finally blocks, which stop etcd and the simulator.
    raise SystemExit(128 + signum)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    try:
        sys.exit(main())
    except BenchError as exc:
        sys.stderr.write('bench: %s\n' % exc)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write('bench: interrupted\n')
        sys.exit(130)
