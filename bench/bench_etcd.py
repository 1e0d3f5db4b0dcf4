#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The etcd engine alone (``etcd/_client`` + ``etcd/_sync``), against a raw client, printed.

    .venv/bin/python bench/bench_etcd.py [--sizes 10000,50000] [--libraries pyetcd,etcd3]
                                         [--old-ref 9e1e37f] [--fleet 50x2000] [--rounds 2]

One etcd member with fsync (a benchmark claims durable writes). Every figure comes from a
fresh worker process per library (the two libraries cannot share one) and per case, best of
``--rounds``, the rounds of the raw client and of each engine interleaved:

- ``cold``: a sync of N routes into an empty prefix; ``no-op``: the same sync again;
- ``raw``: the library's own client writing the same keys and values in transactions of
  128 unconditional puts (the floor for any engine);
- ``fleet``: I instances x R routes from one source, concurrency 16, as the module's fleet
  form runs them (``_fleet.run_all``), cold then no-op; ``raw`` writes the same I x R keys;
- peak RSS (``ru_maxrss``) of each worker process (route records built before the clock starts).

``--old-ref`` also measures the engine of a git ref (installed by ``common.collection_at``),
for a before/after at engine level. This measures the engine only: the
playbook-level figures (Ansible's floor, the module's start-up) are bench/'s other scripts'.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = '/bench'


def apis(count, tag='a'):
    """Published API resources whose route records are about 300 bytes."""
    return [{'id': 'a%08d%s' % (i, tag), 'name': 'items-%d-%s' % (i, 'x' * 100), 'group_id': 'g%d' % (i % 20),
             'req_protocol': 'HTTPS', 'req_method': 'GET', 'req_uri': '/v1/items/%d' % i, 'auth_type': 'APP',
             'backend_type': 'MOCK', 'run_env_id': 'DEFAULT_ENVIRONMENT_RELEASE_ID', 'run_env_name': 'RELEASE',
             'publish_id': 'p%08d' % i, 'match_mode': 'NORMAL', 'register_time': '2024-01-01T00:00:00Z'}
            for i in range(count)]


# -- worker (one process per measurement) ---------------------------------------------------------

def _worker(args):
    sys.path.insert(0, args.tree)
    from common import import_module_utils
    routes = import_module_utils('sources._routes', '_routes')
    out = {}
    source = apis(args.routes)
    instances = ['%s-%d' % (args.case, n) for n in range(args.instances)]
    # Route records are built before the clock starts: this measures etcd work (the records
    # builder has its own benchmark).
    if hasattr(routes, 'build_records'):
        records = routes.build_records(source)
        desired = dict((name, dict((routes.routes_prefix(PREFIX, name) + api_id, value)
                                   for api_id, value in records.items())) for name in instances)
    else:  # 0.1.0
        desired = dict((name, routes.desired_routes(source, PREFIX, name)) for name in instances)
    start = time.perf_counter()
    if args.case.startswith('raw'):
        if args.library == 'etcd3':
            os.environ.setdefault('PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION', 'python')
            import etcd3 as lib
        else:
            import pyetcd as lib
        host, port = args.endpoint.split('//')[1].rsplit(':', 1)
        client = lib.client(host, int(port), timeout=30)
        pairs = [(k, v) for name in instances for k, v in desired[name].items()]
        t = client.transactions
        for i in range(0, len(pairs), 128):
            client.transaction([], [t.put(k, v) for k, v in pairs[i:i + 128]], [])
        out['write_s'] = time.perf_counter() - start
    else:
        EtcdClient = import_module_utils('etcd._client', '_etcd_client').EtcdClient
        sync = import_module_utils('etcd._sync', '_etcd_sync').sync
        run_all = import_module_utils('common._fleet', '_fleet').run_all
        client = EtcdClient([args.endpoint], library=args.library, timeout=30)

        def run():
            results = run_all([{'instance_id': name} for name in instances], lambda target: sync(
                client, target['instance_id'], desired[target['instance_id']], key_prefix=PREFIX), 16)
            assert not any(r['failed'] for r in results), [r['msg'] for r in results if r['failed']][:3]
            return results
        results = run()
        out['cold_s'] = time.perf_counter() - start
        assert all(r['changed'] for r in results)
        start = time.perf_counter()
        results = run()
        out['noop_s'] = time.perf_counter() - start
        assert not any(r['changed'] for r in results)
    out['rss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps(out))


# -- driver -------------------------------------------------------------------------------------

def _measure_once(tree, endpoint, library, case, routes, instances):
    cmd = [sys.executable, os.path.abspath(__file__), '--worker', '--tree', tree, '--endpoint', endpoint,
           '--library', library, '--case', case, '--routes', str(routes), '--instances', str(instances)]
    line = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    return json.loads(line.splitlines()[-1])


def _best(a, b):
    key = 'write_s' if 'write_s' in b else 'cold_s'
    return b if a is None or b[key] < a[key] else a


def _measure(trees, endpoint, library, case, routes, instances, rounds):
    """The best round of the raw client and of each tree's engine. The rounds are interleaved (the
    order turning from round to round), so that a machine that drifts, or an etcd that holds more
    keys with every case, weighs on every tree alike: measured one after the other, two runs of
    the same engine differed by a quarter here."""
    tree_of = dict(trees, raw=trees[-1][1])  # the raw client runs from the current tree
    names = ['raw'] + [name for name, _tree in trees]
    best = dict((name, None) for name in names)
    for n in range(rounds):
        shift = n % len(names)
        for name in names[shift:] + names[:shift]:
            tree = tree_of[name]
            label = 'raw' if name == 'raw' else 'c%s-%s' % (name, case)
            best[name] = _best(best[name], _measure_once(tree, endpoint, library, '%s-%d-%d-r%d'
                                                         % (label, instances, routes, n), routes, instances))
    return best


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--sizes', default='10000,50000')
    p.add_argument('--libraries', default='pyetcd,etcd3')
    p.add_argument('--old-ref', default=None, help='also measure the engine of this git ref (e.g. 9e1e37f)')
    p.add_argument('--fleet', default='50x2000', help="instances x routes, or '' to skip")
    p.add_argument('--rounds', type=int, default=2)
    p.add_argument('--worker', action='store_true', help=argparse.SUPPRESS)
    for name in ('tree', 'endpoint', 'library', 'case'):
        p.add_argument('--' + name, help=argparse.SUPPRESS)
    p.add_argument('--routes', type=int, help=argparse.SUPPRESS)
    p.add_argument('--instances', type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        return _worker(args)
    from common import collection_at  # first: it puts tests/support on sys.path
    from apigw_support.etcd import etcd_single
    trees = [('now', os.path.join(REPO, 'build', 'dev'))]
    tmp = tempfile.mkdtemp(prefix='bench-etcd-')
    if args.old_ref:
        trees.insert(0, (args.old_ref, str(collection_at(args.old_ref)[1])))
    cases = [(1, int(n)) for n in args.sizes.split(',') if n]
    if args.fleet:
        count, routes = args.fleet.split('x')
        cases.append((int(count), int(routes)))
    print('etcd engine vs raw client (fsync on, best of %d; seconds, peak RSS MiB)' % args.rounds)
    print('%-8s %-9s %-8s %8s %8s %8s %9s %9s %9s' % ('library', 'engine', 'keys', 'cold', 'no-op', 'raw',
                                                      'cold/raw', 'RSS', 'raw RSS'))
    with etcd_single(tmp, fsync=True, extra_args=['--quota-backend-bytes', str(8 * 1024 ** 3)]) as server:
        endpoint = server.endpoints[0]
        for library in args.libraries.split(','):
            for instances, routes in cases:
                best = _measure(trees, endpoint, library, library, routes, instances, args.rounds)
                raw = best['raw']
                for name, _tree in trees:
                    eng = best[name]
                    label = '%d' % routes if instances == 1 else '%dx%d' % (instances, routes)
                    ratio = eng['cold_s'] / raw['write_s']
                    # The etcd-mode fleet target (cold within 1.5x of the raw client), judged here on
                    # the engine alone: the playbook adds the ping floor to both sides.
                    note = ('  fleet target cold/raw <= 1.5x: %s' % ('met' if ratio <= 1.5 else 'NOT met')
                            if instances > 1 and name == 'now' else '')
                    print('%-8s %-9s %-8s %8.2f %8.2f %8.2f %8.2fx %9.0f %9.0f%s' % (
                        library, name, label, eng['cold_s'], eng['noop_s'], raw['write_s'],
                        ratio, eng['rss_mib'], raw['rss_mib'], note))
                    sys.stdout.flush()


SECTION = 'engine'
HELP = 'etcd-mode fleet (50 x 2,000 routes) through the engine alone vs the raw client, current vs --baseline'
DEFAULT = False
ORDER = 35
QUICK = {'engine_fleet': '5x200'}


def add_arguments(parser):
    parser.add_argument('--engine-fleet', default='50x2000', metavar='IxR',
                        help="section engine: instances x routes of the etcd-mode fleet case ('' to skip)")
    parser.add_argument('--engine-sizes', default='', metavar='N,N',
                        help='section engine: also single-instance syncs of these sizes (the etcd and baseline '
                             'sections measure them through ansible-playbook)')
    parser.add_argument('--engine-libraries', default='pyetcd', help='section engine: client libraries')


def run(ctx):
    """As a section of bench/run.py: its own --engine-* options, the shared --repeat and --baseline."""
    args = ctx.args
    argv = ['--sizes', args.engine_sizes, '--libraries', args.engine_libraries,
            '--fleet', args.engine_fleet, '--rounds', str(args.repeat)]
    if getattr(args, 'baseline', None):
        argv += ['--old-ref', args.baseline]
    print('\n== Section engine: the etcd engine without Ansible, current tree vs %s' % args.baseline)
    main(argv)


if __name__ == '__main__':
    main()
