#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A shared instance through the etcd engine alone: scoped syncs, backup and export, printed.

    .venv/bin/python bench/bench_scope.py [--routes 50000] [--groups 20] [--rounds 3]

One etcd member with fsync. An instance of ``--routes`` routes in ``--groups`` API groups;
the engine (``etcd/_sync``) runs in this process on an EtcdClient (etcd-sdk-python), wrapped
to count its etcd requests and the route values they return. Figures (best of ``--rounds``):

- the whole-instance no-op, and the no-op of a scope of one group;
- a scoped cold sync of one group's routes (absent) beside the others';
- a sync that changes one group's routes with and without ``backup``, and the whole
  instance's backup (one route changed, every route saved);
- ``dest``: the export of the whole instance and of one group, and the peak of Python
  allocations (tracemalloc, in one more run) while the routes are read and the file made;
  the same peak for a sync of the whole instance with ``backup``;
- ListApisV2 as the source (the simulator on a loopback port, the instance generated with as
  many routes and groups): the listing of the whole instance, of a scope of one group named
  by id (ListApisV2's ``group_id`` filter) and by name (a listing of the whole instance), with
  the ListApisV2 requests each took (a listing of several pages is taken twice, see
  RouterApi.list_apis).
"""

from __future__ import absolute_import, division, print_function

import argparse
import functools
import os
import sys
import tempfile
import time
import tracemalloc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = '/bench-scope'
INSTANCE = 'shared'


def apis(count, groups, tag=''):
    """Published API resources of about 300 bytes, spread over ``groups`` groups (g0, g1, ...)."""
    return [{'id': 'a%08d' % i, 'name': 'items-%d-%s' % (i, 'x' * 100), 'group_id': 'g%d' % (i % groups),
             'group_name': 'team-%d' % (i % groups), 'req_protocol': 'HTTPS', 'req_method': 'GET',
             'req_uri': '/v1/items/%d%s' % (i, tag), 'auth_type': 'APP', 'backend_type': 'MOCK',
             'run_env_id': 'DEFAULT_ENVIRONMENT_RELEASE_ID', 'run_env_name': 'RELEASE', 'publish_id': 'p%08d' % i,
             'match_mode': 'NORMAL'} for i in range(count)]


class Counting(object):
    """An EtcdClient that counts the requests a sync makes and the route values it reads."""

    def __init__(self, client):
        self.client, self.requests, self.values = client, 0, 0

    def reset(self):
        self.requests = self.values = 0

    def read_prefix(self, prefix, page_size=1000):
        revision, found = self.client.read_prefix(prefix, page_size)
        self.requests += 1 + len(found) // page_size
        self.values += len(found)
        return revision, found

    def count(self, *args, **kwargs):
        self.requests += 1
        return self.client.count(*args, **kwargs)

    def get(self, *args, **kwargs):
        self.requests += 1
        return self.client.get(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.client, name)


def best(rounds, run, prepare=None):
    """(best seconds, the last run's result) of ``rounds`` runs of ``run``, ``prepare`` before each."""
    times, result = [], None
    for dummy in range(rounds):
        if prepare is not None:
            prepare()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--routes', type=int, default=50000)
    p.add_argument('--groups', type=int, default=20)
    p.add_argument('--rounds', type=int, default=3)
    args = p.parse_args(argv)
    sys.path.insert(0, os.path.join(REPO, 'bench'))
    sys.path.insert(0, os.path.join(REPO, 'build', 'dev'))  # this tree, as ansible_collections.apigw.router
    from common import import_module_utils  # puts tests/support on sys.path too
    from apigw_support.etcd import etcd_single
    EtcdClient = import_module_utils('etcd._client').EtcdClient
    engine = import_module_utils('etcd._sync')
    build_records = import_module_utils('sources._routes').build_records
    check_scope = import_module_utils('sources._scope').check_scope
    exports = import_module_utils('sources._export')

    tmp = tempfile.mkdtemp(prefix='bench-scope-')
    routes_prefix = '%s/%s/apis/' % (PREFIX, INSTANCE)

    def keyed(records):
        return dict((routes_prefix + api_id, value) for api_id, value in records.items())

    everything = apis(args.routes, args.groups)
    whole = keyed(build_records(everything))
    one = check_scope({'groups': ['g3']})
    group_items = [api for api in everything if api['group_id'] == 'g3']
    group = keyed(build_records(group_items))
    changed_group = keyed(build_records(apis(args.routes, args.groups, tag='/v2')[3::args.groups]))
    print('shared instance: %d routes in %d groups; one group = %d routes (fsync on, best of %d)'
          % (len(whole), args.groups, len(group), args.rounds))
    print('%-52s %9s %9s %12s' % ('case', 'seconds', 'requests', 'values read'))
    rows = []

    def row(label, seconds, client):
        rows.append((label, seconds, client.requests, client.values))
        print('%-52s %9.3f %9d %12d' % rows[-1])
        sys.stdout.flush()

    with etcd_single(tmp, fsync=True, extra_args=['--quota-backend-bytes', str(8 * 1024 ** 3)]) as server:
        client = Counting(EtcdClient(server.endpoints, timeout=60))
        try:
            engine.sync(client, INSTANCE, whole, key_prefix=PREFIX)
            engine.sync(client, INSTANCE, group, key_prefix=PREFIX, scope=one)  # its group manifest

            seconds, dummy = best(args.rounds, lambda: engine.sync(client, INSTANCE, whole, key_prefix=PREFIX),
                                  client.reset)
            row('no-op, whole instance', seconds, client)
            seconds, result = best(args.rounds, lambda: engine.sync(client, INSTANCE, group, key_prefix=PREFIX,
                                                                    scope=one), client.reset)
            assert not result['changed']
            row('no-op, scope of 1 group', seconds, client)

            def drop_group():
                engine.sync(client, INSTANCE, {}, key_prefix=PREFIX, scope=one, allow_empty=True)
                client.reset()
            seconds, result = best(args.rounds, lambda: engine.sync(client, INSTANCE, group, key_prefix=PREFIX,
                                                                    scope=one), drop_group)
            assert len(result['created']) == len(group)
            row('cold, scope of 1 group (%d beside %d)' % (len(group), len(whole) - len(group)), seconds, client)

            for backup in (None, 'backup'):
                def change():
                    result = engine.sync(
                        client, INSTANCE, changed_group, key_prefix=PREFIX, scope=one,
                        backup=exports.Backup(os.path.join(tmp, 'backups'), INSTANCE, one) if backup else None)
                    assert len(result['updated']) == len(group)
                    return result

                def restore():
                    engine.sync(client, INSTANCE, group, key_prefix=PREFIX, scope=one)
                    client.reset()
                seconds, dummy = best(args.rounds, change, restore)
                row('update 1 group, scoped%s' % (', with backup' if backup else ''), seconds, client)

            one_changed = dict(whole)
            first = sorted(one_changed)[0]
            one_changed[first] = one_changed[first].replace(b'"GET"', b'"PUT"')
            for backup in (None, 'backup'):
                seconds, dummy = best(args.rounds, lambda: engine.sync(
                    client, INSTANCE, one_changed, key_prefix=PREFIX,
                    backup=exports.Backup(os.path.join(tmp, 'backups'), INSTANCE, None) if backup else None),
                    lambda: (engine.sync(client, INSTANCE, whole, key_prefix=PREFIX), client.reset()))
                row('update 1 route, whole instance%s' % (', with backup' if backup else ''), seconds, client)

            for label, scope in (('whole instance', None), ('scope of 1 group', one)):
                dest = os.path.join(tmp, 'export.json')

                def export(scope=scope, dest=dest):
                    if os.path.exists(dest):
                        os.unlink(dest)
                    engine.inspect(client, INSTANCE, PREFIX, scope=scope,
                                   export=exports.Export(dest, INSTANCE, scope))
                seconds, dummy = best(args.rounds, export, client.reset)
                # The peak once more, apart: tracemalloc slows every allocation down.
                client.reset()
                tracemalloc.start()
                export()
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                row('export (dest), %s: %.0f MiB peak, %.1f MiB file' % (
                    label, peak / 1024.0 ** 2, os.path.getsize(dest) / 1024.0 ** 2), seconds, client)
            # The whole instance's backup once more, apart, for its peak of Python allocations.
            engine.sync(client, INSTANCE, whole, key_prefix=PREFIX)
            tracemalloc.start()
            engine.sync(client, INSTANCE, one_changed, key_prefix=PREFIX,
                        backup=exports.Backup(os.path.join(tmp, 'backups'), INSTANCE, None))
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print('  peak of Python allocations of that sync with backup (%d routes saved): %.0f MiB'
                  % (len(whole), peak / 1024.0 ** 2))
        finally:
            client.close()
    rows.extend(listing_rows(args, tmp))
    return rows


def listing_rows(args, tmp):
    """ListApisV2 as the source of a scoped sync: what the listing costs, by id and by name."""
    from apigw_support.simulator import Simulator
    from common import import_module_utils
    check_scope = import_module_utils('sources._scope').check_scope
    project, token, instance = 'b0' * 16, 'MIIbench-scope-listing', 'inst-listing'
    config = {'projects': [{'id': project, 'instances': [
        {'id': instance, 'generate': {'count': args.routes, 'groups': args.groups, 'seed': 7,
                                      'published_ratio': 1.0}}]}],
        'credentials': {'tokens': [{'name': 'bench', 'token': token, 'roles': ['op_svc_apig']}]}}
    params = dict(auth_token=token, validate_certs=True, ca_path=None, timeout=60, retries=0, retry_delay=1)
    rows = []
    print('\nListApisV2 as the source, %d APIs in %d groups (the simulator, best of %d)'
          % (args.routes, args.groups, args.rounds))
    print('%-52s %9s %9s' % ('listing', 'seconds', 'requests'))
    with Simulator(config, workdir=os.path.join(tmp, 'sim')) as sim:
        group = one_group(sim, project, token, instance)
        for label, scope in (('whole instance', None), ('scope of 1 group, by id', {'groups': [group[0]]}),
                             ('scope of 1 group, by name', {'groups': [group[1]]})):
            target = {'instance_id': instance, 'project_id': project, 'base_url': sim.url,
                      'routes_prefix': '%s/%s/apis/' % (PREFIX, instance), 'scope': check_scope(scope)}

            seconds, (found, answers) = best(args.rounds, functools.partial(listed, sim, params, target))
            rows.append(('ListApisV2, %s (%d routes)' % (label, len(found)), seconds, len(answers), None))
            print('%-52s %9.3f %9d' % rows[-1][:3])
            sys.stdout.flush()
    return rows


def listed(sim, params, target):
    """The target's routes from a new ManagementApiSource, and the ListApisV2 requests it made."""
    from common import import_module_utils
    source = import_module_utils('sources._api_source').ManagementApiSource(
        import_module_utils('runs._management_api').management_api(params, 4))
    since = sim.last_seq()
    found = source.routes(target)
    return found, [e for e in sim.requests(since) if e['resource'] == 'list_apis']


def one_group(sim, project, token, instance):
    """(id, name) of one group of the generated instance, read with plain HTTP."""
    import requests
    page = requests.get('%s/v2/%s/apigw/instances/%s/apis?limit=1&offset=3' % (sim.url, project, instance),
                        headers={'X-Auth-Token': token}, timeout=60, proxies={'http': None, 'https': None}).json()
    return page['apis'][0]['group_id'], page['apis'][0]['group_name']


SECTION = 'scope'
HELP = 'shared instance: scoped no-op and cold sync, backup and export, 50,000 routes (engine alone)'
DEFAULT = False
ORDER = 36
QUICK = {'scope_routes': 2000}


def add_arguments(parser):
    parser.add_argument('--scope-routes', type=int, default=50000, help='section scope: routes of the instance')


def run(ctx):
    print('\n== Section scope: a shared instance through the etcd engine alone')
    main(['--routes', str(ctx.args.scope_routes), '--rounds', str(ctx.args.repeat)])


if __name__ == '__main__':
    main()
