# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Sharing one instance between pipelines: ``scope``, ``backup`` and the info module's ``dest``.

Real ansible-playbook on the installed collection, a real etcd; every outcome is read back
with etcdctl and compared with records, manifests and per-group manifests written out here
from the layout guide, not computed by the collection.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import threading
from urllib.parse import quote

import pytest
import requests

from apigw_support.etcd import etcd_single
from apigw_support.simulator import Simulator

REFRESH = 'apigw.router.apigw_router_refresh'
INFO = 'apigw.router.apigw_router_info'
ENV = 'DEFAULT_ENVIRONMENT_RELEASE_ID'
GROUPS = {'a': ('grp-a', 'team-a'), 'b': ('grp-b', 'team/b'), 'c': ('grp-c', 'team-c')}


def api(team, number, uri_suffix=''):
    group_id, group_name = GROUPS[team]
    return {'id': 'api-%s-%03d' % (team, number), 'name': 'n%d' % number, 'group_id': group_id,
            'group_name': group_name, 'req_method': 'GET', 'req_uri': '/%s/%d%s' % (team, number, uri_suffix),
            'run_env_id': ENV, 'run_env_name': 'RELEASE', 'publish_id': 'pub-%s-%d' % (team, number),
            'register_time': '2026-12-01T00:00:00Z'}


def record(item):
    """The route record of ``item``, written out from the layout (keys sorted, no volatile fields)."""
    return ('{"envs":[{"id":"%s","name":"RELEASE","publish_id":"%s"}],"group_id":"%s","group_name":"%s",'
            '"id":"%s","name":"%s","req_method":"GET","req_uri":"%s","schema":1}'
            % (ENV, item['publish_id'], item['group_id'], item['group_name'], item['id'], item['name'],
               item['req_uri'])).encode('utf-8')


def routes(prefix, instance, items):
    return dict(('%s/%s/apis/%s' % (prefix, instance, item['id']), record(item)) for item in items)


def digest(routes_):
    sha = hashlib.sha256()
    for key in sorted(routes_, key=lambda k: k.encode('utf-8')):
        sha.update(key.encode('utf-8') + b'\n' + routes_[key] + b'\n')
    return sha.hexdigest()


def manifest_bytes(routes_):
    return ('{"count":%d,"schema":1,"sha256":"%s"}' % (len(routes_), digest(routes_))).encode()


def group_manifest_bytes(all_routes, entry):
    """The per-group manifest of the layout guide, from etcdctl's view of every route."""
    mine = dict((k, v) for k, v in all_routes.items()
                if entry in (json.loads(v)['group_id'], json.loads(v)['group_name']))
    return ('{"count":%d,"instance_sha256":"%s","schema":1,"sha256":"%s"}'
            % (len(mine), digest(all_routes), digest(mine))).encode()


def write_source(tmp_path, name, items):
    path = tmp_path / name
    path.write_text(json.dumps({'total': len(items), 'apis': items}), encoding='utf-8')
    return str(path)


@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-shared')) as cluster:
        yield cluster


class Instance(object):
    """One instance's keys in etcd, read with etcdctl."""

    def __init__(self, etcd, prefix, instance):
        self.etcd, self.prefix, self.instance = etcd, prefix, instance

    def dump(self):
        return self.etcd.dump('%s/%s/' % (self.prefix, self.instance))

    def routes(self):
        return self.etcd.dump('%s/%s/apis/' % (self.prefix, self.instance))

    def manifest(self):
        return self.dump().get('%s/%s/manifest' % (self.prefix, self.instance))

    def group_manifest(self, entry):
        return self.dump().get('%s/%s/groups/%s/manifest' % (self.prefix, self.instance, quote(entry, safe='')))

    def assert_consistent(self, *entries):
        """The instance manifest covers every route; each entry's group manifest is right."""
        current = self.routes()
        assert self.manifest() == manifest_bytes(current)
        for entry in entries:
            assert self.group_manifest(entry) == group_manifest_bytes(current, entry), entry


def sync(ansible, etcd, prefix, instance, name, src, scope=None, check=False, **options):
    task = {'name': name, 'ignore_errors': True,
            REFRESH: dict(mode='etcd', instance_id=instance, key_prefix=prefix, src=src,
                          etcd_endpoints=etcd.endpoints, **options)}
    if scope is not None:
        task[REFRESH]['scope'] = {'groups': scope}
    return ansible.run_tasks([task], check=check, name=name.replace(' ', '-')).task(name)


A1 = [api('a', i) for i in range(1, 6)]
B1 = [api('b', i) for i in range(1, 5)]
C1 = [api('c', i) for i in range(1, 3)]


def test_disjoint_scopes_share_an_instance(ansible, etcd, tmp_path):
    prefix, instance = '/t/shared', 'inst-shared'
    keys = Instance(etcd, prefix, instance)
    # Team A names its group by id, team B by name (with a '/').
    a = sync(ansible, etcd, prefix, instance, 'a first', write_source(tmp_path, 'a.json', A1), ['grp-a'])
    assert not a.failed and a.changed and a['created'] == sorted(x['id'] for x in A1), a.result
    b = sync(ansible, etcd, prefix, instance, 'b first', write_source(tmp_path, 'b.json', B1), ['team/b'])
    assert not b.failed and b.changed and b['created'] == sorted(x['id'] for x in B1) and b['deleted'] == []
    assert keys.routes() == routes(prefix, instance, A1 + B1)
    keys.assert_consistent('grp-a', 'team/b')

    # A changes, adds and removes its own: B's routes are neither in its diff nor pruned.
    a2 = [api('a', 1, '/v2')] + A1[1:4] + [api('a', 9)]
    rev = etcd.revision()
    a_src = write_source(tmp_path, 'a2.json', a2)
    result = sync(ansible, etcd, prefix, instance, 'a check', a_src, ['grp-a'], check=True)
    assert result.changed and result['deleted'] == ['api-a-005'] and etcd.revision() == rev
    result = sync(ansible, etcd, prefix, instance, 'a second', a_src, ['grp-a'])
    assert (result['created'], result['updated'], result['deleted']) == (['api-a-009'], ['api-a-001'],
                                                                         ['api-a-005'])
    assert result['unchanged'] == 3
    assert keys.routes() == routes(prefix, instance, a2 + B1)
    keys.assert_consistent('grp-a', 'team/b')

    # Both re-runs are no-ops that write nothing, B's too (A kept B's group manifest right).
    rev = etcd.revision()
    for name, src, scope in (('a again', a_src, ['grp-a']), ('b again', os.path.join(str(tmp_path), 'b.json'),
                                                             ['team/b'])):
        result = sync(ansible, etcd, prefix, instance, name, src, scope)
        assert not result.failed and result.changed is False, result.result
    assert etcd.revision() == rev

    # Racing: both change at once; both end correct, neither prunes the other.
    a3, b3 = a2 + [api('a', 10)], B1[:3] + [api('b', 7)]
    a3_src, b3_src = write_source(tmp_path, 'a3.json', a3), write_source(tmp_path, 'b3.json', b3)
    outcomes = {}

    def run(name, src, scope):
        outcomes[name] = sync(ansible, etcd, prefix, instance, name, src, scope)

    threads = [threading.Thread(target=run, args=('race a', a3_src, ['grp-a'])),
               threading.Thread(target=run, args=('race b', b3_src, ['team/b']))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not outcomes['race a'].failed and not outcomes['race b'].failed, outcomes
    assert outcomes['race a']['created'] == ['api-a-010'] and outcomes['race a']['deleted'] == []
    assert outcomes['race b']['created'] == ['api-b-007'] and outcomes['race b']['deleted'] == ['api-b-004']
    assert keys.routes() == routes(prefix, instance, a3 + b3)
    keys.assert_consistent('grp-a', 'team/b')

    # A whole-instance sync still prunes everything not in its source, and keeps the group
    # manifests right for the next scoped run.
    result = sync(ansible, etcd, prefix, instance, 'all', write_source(tmp_path, 'all.json', a3 + C1))
    assert result['deleted'] == sorted(x['id'] for x in b3)
    assert keys.routes() == routes(prefix, instance, a3 + C1)
    keys.assert_consistent('grp-a', 'team/b')
    result = sync(ansible, etcd, prefix, instance, 'a after all', a3_src, ['grp-a'])
    assert result.changed is False, result.result


def test_out_of_scope_item_and_cross_group_conflict_are_refused(ansible, etcd, tmp_path):
    prefix, instance = '/t/refused', 'inst-refused'
    keys = Instance(etcd, prefix, instance)
    assert not sync(ansible, etcd, prefix, instance, 'setup', write_source(tmp_path, 's.json', A1 + B1)).failed
    before, rev = keys.dump(), etcd.revision()

    stray = sync(ansible, etcd, prefix, instance, 'stray', write_source(tmp_path, 'x.json', A1 + [B1[0]]),
                 ['grp-a'])
    assert stray.failed
    assert 'outside the scope' in stray['msg'] and 'api-b-001 (group grp-b (team/b))' in stray['msg'], stray['msg']

    # The same id under group a in the source, under group b in etcd.
    moved = dict(api('a', 1), id='api-b-002')
    conflict = sync(ansible, etcd, prefix, instance, 'conflict', write_source(tmp_path, 'y.json', A1 + [moved]),
                    ['grp-a'])
    assert conflict.failed
    assert ('API api-b-002: the source has it in group grp-a (team-a), etcd holds it in group grp-b (team/b)'
            in conflict['msg']), conflict['msg']
    assert keys.dump() == before and etcd.revision() == rev

    # Both groups in scope: the move is allowed.
    both = sync(ansible, etcd, prefix, instance, 'move', write_source(tmp_path, 'z.json', A1 + [moved] + B1[2:]),
                ['grp-a', 'grp-b'])
    assert not both.failed and both['updated'] == ['api-b-002'] and both['deleted'] == ['api-b-001']
    keys.assert_consistent('grp-a', 'grp-b')


@pytest.mark.parametrize('scope', [None, ['grp-a']], ids=['whole', 'scoped'])
def test_backup_restores_byte_for_byte_and_export_is_a_noop(ansible, etcd, tmp_path, scope):
    prefix, instance = '/t/backup-%s' % ('whole' if scope is None else 'scoped'), 'inst-backup'
    keys = Instance(etcd, prefix, instance)
    full = A1 + B1
    assert not sync(ansible, etcd, prefix, instance, 'setup', write_source(tmp_path, 's.json', full)).failed
    if scope:  # the scope's group manifest exists, as after any scoped run
        assert not sync(ansible, etcd, prefix, instance, 'setup scoped', write_source(tmp_path, 'a.json', A1),
                        scope).failed
    before = keys.dump()
    backups = tmp_path / 'backups'

    changed_items = [api('a', 1, '/changed')] + A1[2:] + ([] if scope else B1)
    src = write_source(tmp_path, 'change.json', changed_items)
    check = sync(ansible, etcd, prefix, instance, 'check', src, scope, check=True, backup=True,
                 backup_dir=str(backups))
    assert check.changed and 'backup_file' not in check and 'would be written to %s' % backups in check['msg']
    assert not backups.exists()

    result = sync(ansible, etcd, prefix, instance, 'change', src, scope, backup=True, backup_dir=str(backups))
    assert result.changed and result['deleted'] == ['api-a-002'], result.result
    backup_file = result['backup_file']
    assert os.path.dirname(backup_file) == str(backups)
    saved = json.loads(open(backup_file, encoding='utf-8').read())
    expected_ids = [x['id'] for x in (A1 if scope else full)]
    assert sorted(x['id'] for x in saved['apis']) == sorted(expected_ids) and saved['total'] == len(expected_ids)

    restore = sync(ansible, etcd, prefix, instance, 'restore', backup_file, scope)
    assert not restore.failed and restore.changed
    assert keys.dump() == before  # routes, manifest and group manifests, byte for byte

    # Export: a sync from it is a no-op; into an empty instance it reproduces the routes.
    dest = str(tmp_path / 'export.json')
    task = {'name': 'export', INFO: dict(instance_id=instance, key_prefix=prefix, etcd_endpoints=etcd.endpoints,
                                         dest=dest)}
    if scope:
        task[INFO]['scope'] = {'groups': scope}
    exported = ansible.run_tasks([task], name='export').assert_success().task('export')
    assert exported['dest'] == dest and exported['count'] == len(expected_ids)
    rev = etcd.revision()
    noop = sync(ansible, etcd, prefix, instance, 'from export', dest, scope)
    assert not noop.failed and noop.changed is False and etcd.revision() == rev
    fresh = sync(ansible, etcd, prefix, 'inst-copy', 'into empty', dest)
    assert not fresh.failed
    assert Instance(etcd, prefix, 'inst-copy').routes() == routes(prefix, 'inst-copy', A1 if scope else full)


def test_fleet_items_take_their_own_scope_and_info_check_mode_writes_no_dest(ansible, etcd, tmp_path):
    prefix = '/t/fleet'
    src = write_source(tmp_path, 'ab.json', A1 + B1)
    fleet = [{'instance_id': 'inst-x', 'scope': {'groups': ['grp-a', 'grp-b']}}, {'instance_id': 'inst-y'}]
    task = {'name': 'fleet', 'ignore_errors': True, REFRESH: dict(
        mode='etcd', instances=fleet, key_prefix=prefix, src=src, etcd_endpoints=etcd.endpoints,
        scope={'groups': ['grp-a']})}
    # inst-y takes the call's scope, which B1 is outside of: the whole call is refused, naming the item.
    refused = ansible.run_tasks([task], name='fleet-refused').task('fleet')
    assert refused.failed and refused['msg'].startswith('instances[1] (instance inst-y): the source has 4 API(s) '
                                                        'outside the scope (groups: grp-a)'), refused['msg']
    assert etcd.dump(prefix + '/') == {}

    task[REFRESH]['src'] = write_source(tmp_path, 'a.json', A1)
    task[REFRESH]['instances'] = [{'instance_id': 'inst-x', 'scope': {'groups': ['grp-a', 'grp-b']}},
                                  {'instance_id': 'inst-y'}]
    done = ansible.run_tasks([task], name='fleet').task('fleet')
    assert not done.failed and done['summary'] == {'total': 2, 'changed': 2, 'unchanged': 0, 'failed': 0}
    for instance in ('inst-x', 'inst-y'):
        Instance(etcd, prefix, instance).assert_consistent('grp-a')
    assert Instance(etcd, prefix, 'inst-x').group_manifest('grp-b') == group_manifest_bytes(
        Instance(etcd, prefix, 'inst-x').routes(), 'grp-b')

    dest = tmp_path / 'x.json'
    export = {'name': 'export', INFO: dict(instance_id='inst-x', key_prefix=prefix, etcd_endpoints=etcd.endpoints,
                                           dest=str(dest), scope={'groups': ['team-a']})}
    checked = ansible.run_tasks([export], check=True, name='export-check').assert_success().task('export')
    assert checked.changed and 'would be exported to %s' % dest in checked['msg'] and not dest.exists()
    first = ansible.run_tasks([export], name='export').assert_success().task('export')
    again = ansible.run_tasks([export], name='export-again').assert_success().task('export')
    assert first.changed and not again.changed and dest.exists()


def test_the_role_passes_scope_and_backup_through(ansible, etcd, tmp_path):
    prefix = '/t/role'
    # Team B's routes are on both instances first; the role then syncs team A's group only.
    setup = sync(ansible, etcd, prefix, 'inst-r1', 'setup r1', write_source(tmp_path, 'b.json', B1))
    assert not setup.failed
    assert not sync(ansible, etcd, prefix, 'inst-r2', 'setup r2', write_source(tmp_path, 'b.json', B1)).failed
    backups = tmp_path / 'role-backups'
    play = {'name': 'role', 'hosts': 'localhost', 'gather_facts': False, 'roles': ['apigw.router.fleet_refresh'],
            'vars': {'fleet_refresh_mode': 'etcd',
                     # inst-r2 names the group by name, replacing the call's scope for itself
                     'fleet_refresh_instances': [{'instance_id': 'inst-r1'},
                                                 {'instance_id': 'inst-r2', 'scope': {'groups': ['team-a']}}],
                     'fleet_refresh_options': {'src': write_source(tmp_path, 'a.json', A1), 'key_prefix': prefix,
                                               'etcd_endpoints': etcd.endpoints, 'scope': {'groups': ['grp-a']},
                                               'backup': True, 'backup_dir': str(backups)}}}
    ansible.run([play], name='role-scope').assert_success()
    for instance, entry in (('inst-r1', 'grp-a'), ('inst-r2', 'team-a')):
        keys = Instance(etcd, prefix, instance)
        assert keys.routes() == routes(prefix, instance, A1 + B1), instance  # B's routes kept: not in scope
        keys.assert_consistent(entry)  # each instance's scope as it named it
    # A backup before each change (the scope's routes: none yet), in the directory given.
    saved = sorted(os.listdir(str(backups)))
    assert [name.split('.')[0] for name in saved] == ['inst-r1', 'inst-r2'], saved
    for name in saved:
        backup = json.loads((backups / name).read_text(encoding='utf-8'))
        assert (backup['total'], backup['apis']) == (0, []), backup


SIM_PROJECT, SIM_TOKEN, SIM_INSTANCE = '5e5e0000000000000000000000000018', 'MIIshared-instance-token-18', 'inst-sim'


def test_listapisv2_source_is_filtered_to_the_scope(ansible, etcd, tmp_path):
    config = {'projects': [{'id': SIM_PROJECT, 'instances': [
        {'id': SIM_INSTANCE, 'generate': {'count': 300, 'seed': 18, 'published_ratio': 1.0}}]}],
        'credentials': {'tokens': [{'name': 'ci', 'token': SIM_TOKEN, 'roles': ['op_svc_apig']}]}}
    prefix = '/t/listing'
    with Simulator(config, workdir=str(tmp_path / 'sim'), etcd_endpoints=etcd.endpoints,
                   etcd_key_prefix='/t/sim-own') as sim:
        # What the management API lists, read here with plain HTTP.
        listed = requests.get('%s/v2/%s/apigw/instances/%s/apis?limit=500' % (sim.url, SIM_PROJECT, SIM_INSTANCE),
                              headers={'X-Auth-Token': SIM_TOKEN}, timeout=60,
                              proxies={'http': None, 'https': None}).json()['apis']
        assert len(listed) == 300 and len(set(a['group_name'] for a in listed)) > 1
        mine = sorted(a['id'] for a in listed if a['group_name'] == 'group_01')
        foreign_key = '%s/%s/apis/foreign-api' % (prefix, SIM_INSTANCE)
        foreign = b'{"group_id":"other","group_name":"other","id":"foreign-api","schema":1}'
        etcd.put(foreign_key, foreign)
        task = {'name': 'scoped', REFRESH: dict(
            mode='etcd', instance_id=SIM_INSTANCE, project_id=SIM_PROJECT, endpoint=sim.url, auth_token=SIM_TOKEN,
            etcd_endpoints=etcd.endpoints, key_prefix=prefix, scope={'groups': ['group_01']})}
        result = ansible.run_tasks([task], name='listing-scoped').assert_success().task('scoped')
    assert result['created'] == mine and result['deleted'] == []
    held = Instance(etcd, prefix, SIM_INSTANCE).routes()
    assert held.pop(foreign_key) == foreign
    assert sorted(json.loads(v)['id'] for v in held.values()) == mine
    Instance(etcd, prefix, SIM_INSTANCE).assert_consistent('group_01')


def _listing_queries(sim, since):
    return [e['query'] for e in sim.requests(since) if e['resource'] == 'list_apis']


def test_listapisv2_lists_only_the_scopes_groups_and_never_prunes_a_live_api(ansible, etcd, tmp_path):
    """Each group of the scope is listed with ListApisV2's group_id filter; a route the plan would
    prune is asked for by id first, so an API that moved between groups is never pruned."""
    prefix = '/t/regroup'
    # Ordered so that the instance's first API outside group a is one of group b (then_regroup).
    items = [api('b', 1), api('a', 1), api('a', 2), api('b', 2), api('c', 1)]
    config = {'projects': [{'id': SIM_PROJECT, 'instances': [{'id': SIM_INSTANCE, 'apis': items}]}],
              'credentials': {'tokens': [{'name': 'ci', 'token': SIM_TOKEN, 'roles': ['op_svc_apig']}]}}
    keys = Instance(etcd, prefix, SIM_INSTANCE)

    def group_in_etcd(api_id):
        return json.loads(keys.routes()['%s/%s/apis/%s' % (prefix, SIM_INSTANCE, api_id)])['group_id']

    with Simulator(config, workdir=str(tmp_path / 'sim'), etcd_endpoints=etcd.endpoints,
                   etcd_key_prefix='/t/sim-regroup') as sim:
        def run(name, groups):
            task = {'name': name, 'ignore_errors': True, REFRESH: dict(
                mode='etcd', instance_id=SIM_INSTANCE, project_id=SIM_PROJECT, endpoint=sim.url,
                auth_token=SIM_TOKEN, etcd_endpoints=etcd.endpoints, key_prefix=prefix, scope={'groups': groups})}
            since = sim.last_seq()
            return ansible.run_tasks([task], name=name).task(name), _listing_queries(sim, since)

        first, queries = run('first', ['grp-a', 'grp-b'])
        assert not first.failed and first['created'] == ['api-a-001', 'api-a-002', 'api-b-001', 'api-b-002']
        # The scope's groups by ListApisV2's filter, never the whole instance (group c is not read).
        assert queries == ['group_id=grp-a&limit=500&offset=0', 'group_id=grp-b&limit=500&offset=0'], queries
        keys.assert_consistent('grp-a', 'grp-b')
        before = keys.dump()

        # api-b-001 moves into group a just after group a was listed: neither listing has it.
        sim.set_faults(SIM_INSTANCE, sequence=[{'then_regroup': 'grp-a'}])
        missed, queries = run('missed', ['grp-a', 'grp-b'])
        assert missed.failed and 'did not list 1 published API' in missed['msg'], missed.result
        assert missed['missed'] == ['api-b-001']
        assert 'API api-b-001: etcd holds it in group grp-b (team/b), ListApisV2 lists it in group grp-a' \
            in missed['msg'], missed['msg']
        assert queries[-1] == 'id=api-b-001&limit=500&offset=0', queries
        assert keys.dump() == before  # nothing written, the route of the live API kept

        again, dummy = run('again', ['grp-a', 'grp-b'])  # the move has settled
        assert not again.failed and again['updated'] == ['api-b-001'] and again['deleted'] == [], again.result
        assert group_in_etcd('api-b-001') == 'grp-a'

        # api-a-001 moves to group c, outside the scope: its route is group c's now, not pruned.
        regrouped = {'api-a-001': GROUPS['c'], 'api-b-001': GROUPS['a']}
        moved = [dict(item, group_id=regrouped[item['id']][0], group_name=regrouped[item['id']][1])
                 if item['id'] in regrouped else item for item in items]
        sim.set_apis(SIM_INSTANCE, moved)
        before = keys.dump()
        out, dummy = run('moved-out', ['grp-a', 'grp-b'])
        assert out.failed and out['conflicts'] == ['api-a-001'], out.result
        assert 'ListApisV2 lists it in group grp-c (team-c)' in out['msg'] and \
            'moving an API between groups needs both groups in the scope' in out['msg'], out['msg']
        assert keys.dump() == before
        # By group names, the whole instance is listed once: the same refusal, from that listing.
        by_name, queries = run('moved-out-by-name', ['team-a', 'team/b'])
        assert by_name.failed and by_name['conflicts'] == ['api-a-001'] and keys.dump() == before
        assert queries[-1] == 'limit=500&offset=0', queries
        both, dummy = run('both-groups', ['grp-a', 'grp-c'])
        assert not both.failed and both['updated'] == ['api-a-001'] and both['deleted'] == [], both.result
        assert both['created'] == ['api-c-001']
        assert group_in_etcd('api-a-001') == 'grp-c'

        # An API really deleted is pruned once ListApisV2, asked by id, has no such API.
        sim.set_apis(SIM_INSTANCE, [item for item in moved if item['id'] != 'api-a-002'])
        pruned, queries = run('pruned', ['grp-a', 'grp-b'])
        assert not pruned.failed and pruned['deleted'] == ['api-a-002'], pruned.result
        assert 'id=api-a-002&limit=500&offset=0' in queries and 'limit=500&offset=0' not in queries, queries
    assert sorted(k.rsplit('/', 1)[1] for k in keys.routes()) == ['api-a-001', 'api-b-001', 'api-b-002', 'api-c-001']
    keys.assert_consistent('grp-a', 'grp-b', 'grp-c')


@pytest.mark.slow
@pytest.mark.parametrize('scope', [None, ['grp-a']], ids=['whole', 'scoped'])
def test_backup_of_10000_routes_restores_byte_for_byte(ansible, etcd, tmp_path, scope):
    prefix, instance = '/t/big-%s' % ('whole' if scope is None else 'scoped'), 'inst-big'
    keys = Instance(etcd, prefix, instance)
    team_a, team_b = [api('a', i) for i in range(5000)], [api('b', i) for i in range(5000)]
    assert not sync(ansible, etcd, prefix, instance, 'setup', write_source(tmp_path, 's.json', team_a + team_b),
                    max_txn_ops=128).failed
    if scope:
        assert not sync(ansible, etcd, prefix, instance, 'setup scoped', write_source(tmp_path, 'a.json', team_a),
                        scope).failed
    before = keys.dump()
    assert len(keys.routes()) == 10000

    # Every route of team a changes, a tenth of them go away.
    changed = [api('a', i, '/v2') for i in range(500, 5000)] + ([] if scope else team_b)
    result = sync(ansible, etcd, prefix, instance, 'change', write_source(tmp_path, 'c.json', changed), scope,
                  backup=True, backup_dir=str(tmp_path / 'backups'))
    assert not result.failed and len(result['deleted']) == 500 and len(result['updated']) == 4500, result['msg']
    saved = json.loads(open(result['backup_file'], encoding='utf-8').read())
    assert saved['total'] == (5000 if scope else 10000)

    restore = sync(ansible, etcd, prefix, instance, 'restore', result['backup_file'], scope)
    assert not restore.failed and len(restore['created']) == 500 and len(restore['updated']) == 4500
    assert keys.dump() == before
