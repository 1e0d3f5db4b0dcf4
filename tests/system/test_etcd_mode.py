# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``mode: etcd`` of apigw_router_refresh, and apigw_router_info, through real ansible-playbook.

The modules run as users run them (the installed collection, one ansible-playbook process
per run) against real etcd servers started here. Every outcome is checked out of band with
etcdctl (``EtcdCluster.dump`` / ``dump_kvs`` / ``revision``), never with the module under
test, and the expected route records are written out by hand below, byte for byte, so that
they do not depend on the collection's code. Each main case goes check mode -> apply ->
re-run unchanged -> verify out of band.

One plain etcd serves the module; each test uses its own key prefix so that tests do not
see each other's keys. TLS, auth and the 3-member cluster have their own servers.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os

import pytest
import yaml

from apigw_support.etcd import (
    ROOT_PASSWORD,
    USER,
    USER_PASSWORD,
    dump,
    etcd_cluster,
    etcd_single,
    free_ports,
)

REFRESH = 'apigw.router.apigw_router_refresh'
INFO = 'apigw.router.apigw_router_info'
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data')
PAGE_FILE = os.path.join(DATA, 'listapisv2_page.json')

# The source: a ListApisV2 page with a multi-environment API, an API with a backend, an
# unpublished API and a minimal one, with the volatile and extra fields the gateway sends.
with open(PAGE_FILE, encoding='utf-8') as _f:
    APIS = json.load(_f)['apis']

# The route records expected from APIS, as canonical JSON bytes written out by hand from the
# SPEC: keys sorted, no whitespace, UTF-8 (not \u-escaped), volatile fields left out, envs
# zipped from the |-joined fields and sorted by id, fields the source lacks omitted.
EXPECTED = {
    'api-multi': (
        b'{"auth_type":"APP","backend_type":"MOCK","cors":false,'
        b'"envs":[{"id":"DEFAULT_ENVIRONMENT_RELEASE_ID","name":"RELEASE","publish_id":"pub-1"},'
        b'{"id":"env-prod","name":"prod","publish_id":"pub-2"}],'
        b'"group_id":"grp-shop","group_name":"shop","id":"api-multi","match_mode":"NORMAL","name":"orders",'
        b'"req_method":"POST","req_protocol":"HTTPS","req_uri":"/v1/orders","schema":1,"type":1}'),
    'api-backend': (
        u'{"auth_type":"NONE","backend":{"req_method":"GET","req_protocol":"HTTPS","req_uri":"/items/{id}",'
        u'"retry_count":-1,"timeout":5000,"url_domain":"items.internal:8443"},"backend_type":"HTTP","cors":true,'
        u'"envs":[{"id":"DEFAULT_ENVIRONMENT_RELEASE_ID","name":"RELEASE","publish_id":"pub-3"}],'
        u'"group_id":"grp-shop","group_name":"shop","id":"api-backend","match_mode":"SWA","name":"caf\u00e9-items",'
        u'"req_method":"GET","req_protocol":"BOTH","req_uri":"/v1/items/{id}","schema":1,"type":2}').encode('utf-8'),
    'api-min': (
        b'{"envs":[{"id":"DEFAULT_ENVIRONMENT_RELEASE_ID"}],"id":"api-min","req_method":"ANY",'
        b'"req_uri":"/health","schema":1}'),
}
ROUTED = sorted(EXPECTED)  # ['api-backend', 'api-min', 'api-multi']; api-draft is unpublished
EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
LEAKS = (USER_PASSWORD, ROOT_PASSWORD)
NO_TRACEBACK = '(traceback unavailable)'


# -- expected state, computed here ------------------------------------------------------------

def route_key(prefix, instance, api_id):
    return '%s/%s/apis/%s' % (prefix, instance, api_id)


def manifest_key(prefix, instance):
    return '%s/%s/manifest' % (prefix, instance)


def manifest_of(routes):
    """The SPEC's manifest of ``routes`` ({key: bytes}): SHA-256 over key\\nvalue\\n in key order."""
    digest = hashlib.sha256()
    for key in sorted(routes, key=lambda k: k.encode('utf-8')):
        digest.update(key.encode('utf-8') + b'\n' + routes[key] + b'\n')
    return {'schema': 1, 'count': len(routes), 'sha256': digest.hexdigest()}


def manifest_bytes(manifest):
    return ('{"count":%d,"schema":1,"sha256":"%s"}' % (manifest['count'], manifest['sha256'])).encode()


def routes_of(prefix, instance, ids=ROUTED):
    return dict((route_key(prefix, instance, i), EXPECTED[i]) for i in ids)


def expected_state(prefix, instance, ids=ROUTED):
    """Everything under ``<prefix>/<instance>/`` after a sync: the routes and the manifest (no lock)."""
    state = routes_of(prefix, instance, ids)
    state[manifest_key(prefix, instance)] = manifest_bytes(manifest_of(state))
    return state


def instance_state(cluster, prefix, instance):
    return cluster.dump('%s/%s/' % (prefix, instance))


def put_state(cluster, state):
    for key, value in state.items():
        cluster.put(key, value)


# -- playbook pieces ------------------------------------------------------------------------

def conn(cluster):
    """The etcd connection options for ``cluster`` (the range-limited user when it has auth)."""
    options = {'etcd_endpoints': cluster.endpoints}
    if cluster.tls:
        options.update(etcd_ca_cert=cluster.certs['ca'], etcd_client_cert=cluster.certs['client_cert'],
                       etcd_client_key=cluster.certs['client_key'])
    if cluster.auth:
        # A variable, as users keep it in a vault: Ansible quotes playbook lines around a
        # failing task, so a literal in the playbook would show up in the output.
        options.update(etcd_user=USER, etcd_password='{{ etcd_router_password }}')
    return options


def refresh(name, **options):
    return {'name': name, REFRESH: dict(mode='etcd', **options)}


def info(name, **options):
    return {'name': name, INFO: dict(options)}


def ignoring(task):
    return dict(task, ignore_errors=True)


def assert_clean_failure(run, name, *fragments):
    """The task failed with a message naming the problem, and without a traceback."""
    result = run.task(name)
    assert result.failed, result.result
    msg = result.get('msg', '')
    for fragment in fragments:
        assert fragment in msg, 'task %r: %r not in %r' % (name, fragment, msg)
    assert not msg.startswith('MODULE FAILURE') and 'Traceback' not in msg, msg
    for key in ('module_stderr', 'module_stdout'):
        assert key not in result, 'task %r has %s: %s' % (name, key, result.get(key))
    # ansible-core 2.19 marks every failure with an error summary, shown as this placeholder
    # unless tracebacks are enabled; anything else would be a traceback.
    assert result.get('exception', NO_TRACEBACK) == NO_TRACEBACK, result['exception']
    return result


def assert_no_traceback(run):
    output = run.stdout + run.stderr
    assert 'Traceback' not in output and 'MODULE FAILURE' not in output, run.describe()


# -- servers --------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-plain')) as cluster:
        yield cluster


@pytest.fixture(scope='module')
def etcd_tls(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-tls'), tls=True) as cluster:
        yield cluster


@pytest.fixture(scope='module')
def etcd_auth(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-auth'), auth=True) as cluster:
        yield cluster


@pytest.fixture
def etcd_three(tmp_path_factory):
    with etcd_cluster(tmp_path_factory.mktemp('etcd-cluster'), size=3) as cluster:
        yield cluster


# -- first sync, check mode, no-op, both client libraries -------------------------------------

@pytest.mark.parametrize('library', ['etcd3', 'pyetcd'])
def test_first_sync_check_apply_rerun(ansible, etcd, library):
    prefix, instance = '/t/first-%s' % library, 'inst-first'
    expected = expected_state(prefix, instance)
    manifest = manifest_of(routes_of(prefix, instance))
    task = refresh('sync', instance_id=instance, apis=APIS, key_prefix=prefix, etcd_library=library, **conn(etcd))

    # check mode: the plan, and its diff, but nothing written
    rev0 = etcd.revision()
    run = ansible.run_tasks([task], check=True, diff=True, name='check').assert_success()
    result = run.task('sync')
    assert result.changed is True
    assert (result['created'], result['updated'], result['deleted'], result['unchanged']) == (ROUTED, [], [], 0)
    assert result['revision'] == rev0
    assert result['manifest'] == manifest
    assert result['diff']['before'] == {}
    after = dict((k, json.loads(v.decode('utf-8'))) for k, v in expected.items())
    assert result['diff']['after'] == after
    assert etcd.revision() == rev0
    assert etcd.dump(prefix + '/') == {}

    # apply: exactly the routes and the manifest, byte for byte
    run = ansible.run_tasks([task], diff=True, name='apply').assert_success()
    result = run.task('sync')
    assert result.changed is True
    assert (result['created'], result['updated'], result['deleted'], result['unchanged']) == (ROUTED, [], [], 0)
    assert result['manifest'] == manifest
    assert result['diff']['after'] == after and result['diff']['before'] == {}
    assert etcd.dump(prefix + '/') == expected
    # revision: that of the last write, which is the manifest's (written in the last transaction)
    kvs = etcd.dump_kvs(prefix + '/')
    assert result['revision'] == kvs[manifest_key(prefix, instance)][1] == max(m for _v, m in kvs.values())
    assert rev0 < result['revision'] <= etcd.revision()

    # re-run: nothing to do, nothing written
    rev1 = etcd.revision()
    run = ansible.run_tasks([task], name='rerun').assert_success()
    result = run.task('sync')
    assert result.changed is False
    assert (result['created'], result['updated'], result['deleted'], result['unchanged']) == ([], [], [], 3)
    assert result['revision'] == rev1 and result['manifest'] == manifest
    assert etcd.revision() == rev1
    assert etcd.dump(prefix + '/') == expected


# -- drift ----------------------------------------------------------------------------------

def test_drift_is_healed_exactly_and_foreign_keys_are_untouched(ansible, etcd):
    prefix, instance = '/t/drift', 'inst-drift'
    task = refresh('sync', instance_id=instance, apis=APIS, key_prefix=prefix, **conn(etcd))
    ansible.run_tasks([task], name='setup').assert_success()
    assert instance_state(etcd, prefix, instance) == expected_state(prefix, instance)

    tampered = b'{"id":"api-multi","req_method":"GET","req_uri":"/hijacked","schema":1}'
    multi, backend = route_key(prefix, instance, 'api-multi'), route_key(prefix, instance, 'api-backend')
    stray, nested = route_key(prefix, instance, 'api-stray'), route_key(prefix, instance, 'nested/api-x')
    etcd.put(multi, tampered)
    etcd.delete(backend)
    etcd.put(stray, b'not JSON at all')
    etcd.put(nested, b'{}')  # under apis/ but holding no API id: it stands for itself
    foreign = {
        route_key(prefix, 'inst-other', 'api-stray'): b'another instance',
        route_key(prefix, instance + '-2', 'api-stray'): b'an instance whose id extends this one',
        '%s/%s/other' % (prefix, instance): b'not a route',
        '%s/%s/apis' % (prefix, instance): b'the routes prefix without its slash',
        '%s/%s/apisX/api-stray' % (prefix, instance): b'a sibling of the routes prefix',
        route_key('/t/elsewhere', instance, 'api-stray'): b'another key prefix',
    }
    put_state(etcd, foreign)
    planned = (['api-backend'], ['api-multi'], sorted([nested, 'api-stray']), 1)

    def outside():
        mine = '%s/%s/apis/' % (prefix, instance)
        return dict((k, v) for k, v in etcd.dump_kvs('/').items()
                    if not k.startswith(mine) and k != manifest_key(prefix, instance))

    def assert_diff(diff):
        assert diff['before'] == {multi: json.loads(tampered.decode()), stray: 'not JSON at all', nested: {}}
        assert diff['after'] == {multi: json.loads(EXPECTED['api-multi'].decode()),
                                 backend: json.loads(EXPECTED['api-backend'].decode('utf-8'))}

    before_outside = outside()
    rev0 = etcd.revision()
    run = ansible.run_tasks([task], check=True, diff=True, name='check').assert_success()
    result = run.task('sync')
    assert result.changed is True
    assert (result['created'], result['updated'], result['deleted'], result['unchanged']) == planned
    assert_diff(result['diff'])
    assert etcd.revision() == rev0

    run = ansible.run_tasks([task], diff=True, name='heal').assert_success()
    result = run.task('sync')
    assert result.changed is True
    assert (result['created'], result['updated'], result['deleted'], result['unchanged']) == planned
    assert_diff(result['diff'])
    assert instance_state(etcd, prefix, instance) == dict(expected_state(prefix, instance), **{
        '%s/%s/other' % (prefix, instance): b'not a route',
        '%s/%s/apis' % (prefix, instance): b'the routes prefix without its slash',
        '%s/%s/apisX/api-stray' % (prefix, instance): b'a sibling of the routes prefix'})
    assert outside() == before_outside  # values and mod_revisions: not even rewritten

    rev1 = etcd.revision()
    run = ansible.run_tasks([task], name='rerun').assert_success()
    assert run.task('sync').changed is False and run.task('sync')['unchanged'] == 3
    assert etcd.revision() == rev1
    assert outside() == before_outside


def test_manifest_alone_is_repaired(ansible, etcd):
    prefix, instance = '/t/manifest', 'inst-manifest'
    task = refresh('sync', instance_id=instance, apis=APIS, key_prefix=prefix, **conn(etcd))
    put_state(etcd, routes_of(prefix, instance))
    etcd.put(manifest_key(prefix, instance), '{"count":99,"schema":1,"sha256":"0"}')
    rev0 = etcd.revision()
    run = ansible.run_tasks([task], check=True, name='check').assert_success()
    result = run.task('sync')
    assert result.changed is True and (result['created'], result['updated'], result['deleted']) == ([], [], [])
    assert etcd.revision() == rev0
    run = ansible.run_tasks([task, dict(task, name='again')], name='apply-rerun').assert_success()
    assert run.task('sync').changed is True and run.task('again').changed is False
    assert instance_state(etcd, prefix, instance) == expected_state(prefix, instance)


# -- prune and allow_empty ------------------------------------------------------------------

def _without(api_id, **changes):
    apis = [dict(a) for a in APIS if a['id'] != api_id]
    for a in apis:
        a.update(changes.get(a['id'], {}))
    return apis


def test_prune_false_keeps_stray_routes(ansible, etcd):
    prefix, instance = '/t/noprune', 'inst-noprune'
    ansible.run_tasks([refresh('sync', instance_id=instance, apis=APIS, key_prefix=prefix, **conn(etcd))],
                      name='setup').assert_success()
    etcd.put(route_key(prefix, instance, 'api-stray'), b'{"id":"api-stray"}')
    # the source drops api-backend and renames api-multi
    source = _without('api-backend', **{'api-multi': {'name': 'orders-v2'}})
    task = refresh('sync', instance_id=instance, apis=source, key_prefix=prefix, prune=False, **conn(etcd))

    rev0 = etcd.revision()
    run = ansible.run_tasks([task], check=True, name='check').assert_success()
    result = run.task('sync')
    assert (result.changed, result['created'], result['updated'], result['deleted']) == (True, [], ['api-multi'], [])
    assert etcd.revision() == rev0

    run = ansible.run_tasks([task], name='apply').assert_success()
    result = run.task('sync')
    assert (result.changed, result['created'], result['updated'], result['deleted']) == (True, [], ['api-multi'], [])
    state = instance_state(etcd, prefix, instance)
    assert state[route_key(prefix, instance, 'api-multi')] == EXPECTED['api-multi'].replace(
        b'"name":"orders"', b'"name":"orders-v2"')
    assert state[route_key(prefix, instance, 'api-backend')] == EXPECTED['api-backend']
    assert state[route_key(prefix, instance, 'api-stray')] == b'{"id":"api-stray"}'
    assert state[route_key(prefix, instance, 'api-min')] == EXPECTED['api-min']

    rev1 = etcd.revision()
    run = ansible.run_tasks([task], name='rerun').assert_success()
    assert run.task('sync').changed is False
    assert etcd.revision() == rev1

    # prune (the default) then removes both routes the source lacks
    run = ansible.run_tasks([refresh('sync', instance_id=instance, apis=source, key_prefix=prefix, **conn(etcd))],
                            name='prune').assert_success()
    assert run.task('sync')['deleted'] == ['api-backend', 'api-stray']
    assert sorted(k for k in instance_state(etcd, prefix, instance) if '/apis/' in k) == [
        route_key(prefix, instance, 'api-min'), route_key(prefix, instance, 'api-multi')]


def test_prune_false_manifest_describes_the_routes_in_etcd(ansible, etcd):
    """SPEC: the manifest's count and sha256 are over the route keys and values; the gateway
    checks the routes it reads against it. With prune: false the routes kept are routes."""
    prefix, instance = '/t/noprune-manifest', 'inst-npm'
    put_state(etcd, routes_of(prefix, instance))  # three routes, no manifest yet
    task = refresh('sync', instance_id=instance, apis=_without('api-backend'), key_prefix=prefix, prune=False,
                   **conn(etcd))
    run = ansible.run_tasks([task], name='apply').assert_success()
    result = run.task('sync')
    assert result['deleted'] == []
    state = instance_state(etcd, prefix, instance)
    routes = dict((k, v) for k, v in state.items() if '/apis/' in k)
    assert sorted(routes) == sorted(routes_of(prefix, instance))
    assert json.loads(state[manifest_key(prefix, instance)].decode()) == manifest_of(routes)
    assert result['manifest'] == manifest_of(routes)


def test_empty_source_needs_allow_empty(ansible, etcd):
    prefix, instance = '/t/empty', 'inst-empty'
    base = dict(instance_id=instance, key_prefix=prefix, **conn(etcd))
    ansible.run_tasks([refresh('sync', apis=APIS, **base)], name='setup').assert_success()
    only_draft = [a for a in APIS if a['id'] == 'api-draft']

    rev0 = etcd.revision()
    run = ansible.run_tasks([ignoring(refresh('empty list', apis=[], **base)),
                             ignoring(refresh('only unpublished', apis=only_draft, **base)),
                             ignoring(dict(refresh('empty in check mode', apis=[], **base), check_mode=True))],
                            name='refused')
    for name in ('empty list', 'only unpublished', 'empty in check mode'):
        assert_clean_failure(run, name, 'allow_empty', 'delete all 3 route(s)')
    assert_no_traceback(run)
    assert etcd.revision() == rev0
    assert instance_state(etcd, prefix, instance) == expected_state(prefix, instance)

    task = refresh('sync', apis=only_draft, allow_empty=True, **base)
    run = ansible.run_tasks([task], check=True, name='check').assert_success()
    assert run.task('sync').changed is True and run.task('sync')['deleted'] == ROUTED
    assert etcd.revision() == rev0
    run = ansible.run_tasks([task], name='apply').assert_success()
    assert run.task('sync')['deleted'] == ROUTED
    assert run.task('sync')['manifest'] == {'schema': 1, 'count': 0, 'sha256': EMPTY_SHA256}
    assert instance_state(etcd, prefix, instance) == {
        manifest_key(prefix, instance): manifest_bytes({'count': 0, 'sha256': EMPTY_SHA256})}
    rev1 = etcd.revision()
    run = ansible.run_tasks([task], name='rerun').assert_success()
    assert run.task('sync').changed is False
    assert etcd.revision() == rev1


# -- src files ------------------------------------------------------------------------------

BROKEN_JSON = u'''[
  {"id": "api-1", "req_method": "GET", "req_uri": "/a", "run_env_id": "e1"},
  {"id": "api-2", "req_method": "GET" "req_uri": "/b", "run_env_id": "e1"}
]
'''

BROKEN_YAML = u'''- id: api-1
  req_method: GET
  req_uri: /a
  run_env_id: e1
- id: api-2
  req_method: GET
    req_uri: /b
'''


def test_src_files(ansible, etcd, tmp_path):
    prefix = '/t/src'
    json_file = tmp_path / 'apis.json'
    json_file.write_text(json.dumps(APIS, indent=2, ensure_ascii=False), encoding='utf-8')
    yaml_file = tmp_path / 'apis.yml'
    yaml_file.write_text(yaml.safe_dump(APIS, allow_unicode=True), encoding='utf-8')
    sources = (('json', str(json_file)), ('yaml', str(yaml_file)), ('page', PAGE_FILE))
    tasks = [refresh(kind, instance_id='inst-%s' % kind, src=path, key_prefix=prefix, **conn(etcd))
             for kind, path in sources]

    rev0 = etcd.revision()
    run = ansible.run_tasks(tasks, check=True, name='check').assert_success()
    for kind, _path in sources:
        assert run.task(kind).changed is True and run.task(kind)['created'] == ROUTED
    assert etcd.revision() == rev0

    run = ansible.run_tasks(tasks, name='apply').assert_success()
    for kind, _path in sources:
        assert run.task(kind)['created'] == ROUTED
        assert instance_state(etcd, prefix, 'inst-%s' % kind) == expected_state(prefix, 'inst-%s' % kind)

    rev1 = etcd.revision()
    run = ansible.run_tasks(tasks, name='rerun').assert_success()
    for kind, _path in sources:
        assert run.task(kind).changed is False and run.task(kind)['unchanged'] == 3
    assert etcd.revision() == rev1

    # broken files fail naming the line, before anything is written
    bad_json = tmp_path / 'broken.json'
    bad_json.write_text(BROKEN_JSON, encoding='utf-8')
    bad_yaml = tmp_path / 'broken.yaml'
    bad_yaml.write_text(BROKEN_YAML, encoding='utf-8')
    partial = tmp_path / 'first-page.json'
    partial.write_text(json.dumps({'total': 900, 'size': 4, 'apis': APIS}), encoding='utf-8')
    not_dict = tmp_path / 'not-dict.json'
    not_dict.write_text(json.dumps([APIS[0], 'api-backend']), encoding='utf-8')
    base = dict(instance_id='inst-broken', key_prefix=prefix, **conn(etcd))
    run = ansible.run_tasks([ignoring(refresh('json', src=str(bad_json), **base)),
                             ignoring(refresh('yaml', src=str(bad_yaml), **base)),
                             ignoring(refresh('partial page', src=str(partial), **base)),
                             ignoring(refresh('not a dict', src=str(not_dict), **base)),
                             ignoring(info('info json', instance_id='inst-json', key_prefix=prefix, compare=True,
                                           src=str(bad_json), **conn(etcd)))],
                            name='broken')
    assert_clean_failure(run, 'json', str(bad_json), 'line 3')
    assert_clean_failure(run, 'yaml', str(bad_yaml), 'line 7')
    assert_clean_failure(run, 'partial page', 'total is 900')
    assert_clean_failure(run, 'not a dict', '[1] must be a dict')
    assert_clean_failure(run, 'info json', 'line 3')
    assert_no_traceback(run)
    assert etcd.revision() == rev1
    assert instance_state(etcd, prefix, 'inst-broken') == {}


# -- the src cache -----------------------------------------------------------------------------

def _cache_entries(ansible):
    """{file name: manifests} of the src cache the modules of this runner wrote."""
    directory = ansible.workdir / 'cache' / 'apigw.router' / 'sources'
    if not directory.is_dir():
        return {}
    return dict((p.name, json.loads(p.read_text(encoding='utf-8'))['manifests'])
                for p in directory.iterdir() if p.suffix == '.json')


def test_src_cache_only_supplies_the_expected_manifest(ansible, etcd, tmp_path):
    prefix, instance = '/t/cache', 'inst-cache'
    routes_prefix = '%s/%s/apis/' % (prefix, instance)
    src = tmp_path / 'apis.json'
    src.write_text(json.dumps(APIS), encoding='utf-8')
    task = refresh('sync', instance_id=instance, src=str(src), key_prefix=prefix, **conn(etcd))
    check = info('check', instance_id=instance, src=str(src), key_prefix=prefix, compare=True, **conn(etcd))
    good = manifest_of(routes_of(prefix, instance))

    # the first sync writes the cache: the manifest of this prefix, nothing else
    ansible.run_tasks([task], name='cold').assert_success()
    entries = _cache_entries(ansible)
    assert list(entries.values()) == [{routes_prefix: good}]
    entry_name = list(entries)[0]

    # a hit still finds what changed in etcd since: an edit, a delete, a stray key
    etcd.put(route_key(prefix, instance, 'api-min'), b'{"edited":true}')
    etcd.delete(route_key(prefix, instance, 'api-multi'))
    etcd.put(route_key(prefix, instance, 'api-stray'), b'{}')
    run = ansible.run_tasks([check, task], name='drift').assert_success()
    assert run.task('check')['in_sync'] is False
    assert run.task('check')['drift'] == {'create': ['api-multi'], 'update': ['api-min'], 'delete': ['api-stray']}
    result = run.task('sync')
    assert (result['created'], result['updated'], result['deleted']) == (['api-multi'], ['api-min'], ['api-stray'])
    assert instance_state(etcd, prefix, instance) == expected_state(prefix, instance)

    # a hit on an unchanged etcd: nothing written, in sync
    rev = etcd.revision()
    run = ansible.run_tasks([check, task], name='hit').assert_success()
    assert run.task('check')['in_sync'] is True and run.task('sync').changed is False
    assert run.task('sync')['unchanged'] == 3 and run.task('sync')['manifest'] == good
    assert etcd.revision() == rev

    # a wrong entry proves nothing: the values are compared, and the entry is corrected
    entry = ansible.workdir / 'cache' / 'apigw.router' / 'sources' / entry_name
    entry.write_text(json.dumps({'format': 1, 'manifests': {routes_prefix: dict(good, sha256='0' * 64)}}),
                     encoding='utf-8')
    run = ansible.run_tasks([task], name='wrong entry').assert_success()
    assert run.task('sync').changed is False and run.task('sync')['manifest'] == good
    assert etcd.revision() == rev
    assert _cache_entries(ansible) == {entry_name: {routes_prefix: good}}
    entry.write_text('not json', encoding='utf-8')
    ansible.run_tasks([task], name='unreadable entry').assert_success()
    assert _cache_entries(ansible) == {entry_name: {routes_prefix: good}}

    # another file content is another entry; source_cache false neither reads nor writes
    src.write_text(json.dumps(APIS[:1]), encoding='utf-8')
    run = ansible.run_tasks([dict(task, **{REFRESH: dict(task[REFRESH], source_cache=False)})],
                            name='off').assert_success()
    assert run.task('sync')['deleted'] == sorted(set(ROUTED) - set(_routed_ids(APIS[:1])))
    assert list(_cache_entries(ansible)) == [entry_name]
    ansible.run_tasks([task], name='new content').assert_success()
    assert len(_cache_entries(ansible)) == 2


def _entries_in(directory):
    """The src cache's entry files in ``directory`` (read directly, not through the module)."""
    return sorted(p.name for p in directory.iterdir() if p.suffix == '.json') if directory.is_dir() else []


def test_source_cache_dir_from_option_environment_and_role(ansible, etcd, tmp_path):
    prefix = '/t/cache-dir'
    src = tmp_path / 'apis.json'
    src.write_text(json.dumps(APIS), encoding='utf-8')
    default_dir = ansible.workdir / 'cache' / 'apigw.router' / 'sources'
    by_option, by_env, by_role = tmp_path / 'by-option', tmp_path / 'by-env' / 'nested', tmp_path / 'by-role'

    # the option: the entry is there, not in the user's cache; a second run hits it
    task = refresh('sync', instance_id='inst-cd1', src=str(src), key_prefix=prefix, source_cache_dir=str(by_option),
                   **conn(etcd))
    ansible.run_tasks([task], name='option').assert_success()
    assert len(_entries_in(by_option)) == 1 and _entries_in(default_dir) == []
    assert instance_state(etcd, prefix, 'inst-cd1') == expected_state(prefix, 'inst-cd1')
    assert oct(by_option.stat().st_mode & 0o777) == oct(0o700)
    rev = etcd.revision()
    run = ansible.run_tasks([task], name='option again').assert_success()
    assert run.task('sync').changed is False and etcd.revision() == rev

    # the environment variable, when the option is not given
    env = {'APIGW_ROUTER_SOURCE_CACHE_DIR': str(by_env)}
    task = refresh('sync', instance_id='inst-cd2', src=str(src), key_prefix=prefix, **conn(etcd))
    run = ansible.run_tasks([task], env=env, name='env').assert_success()
    assert len(_entries_in(by_env)) == 1 and _entries_in(default_dir) == []
    assert run.task('sync')['invocation']['module_args']['source_cache_dir'] == str(by_env)

    # passed through the role's fleet_refresh_options, which validates it
    play = {'name': 'fleet', 'hosts': 'localhost', 'gather_facts': False, 'roles': ['apigw.router.fleet_refresh'],
            'vars': {'fleet_refresh_instances': [{'instance_id': 'inst-cd3'}, {'instance_id': 'inst-cd4'}],
                     'fleet_refresh_mode': 'etcd',
                     'fleet_refresh_options': dict(src=str(src), key_prefix=prefix, source_cache_dir=str(by_role),
                                                   **conn(etcd))}}
    ansible.run([play], name='role').assert_success()
    assert len(_entries_in(by_role)) == 1 and _entries_in(default_dir) == []
    for instance in ('inst-cd3', 'inst-cd4'):
        assert instance_state(etcd, prefix, instance) == expected_state(prefix, instance)

    # a relative directory would depend on where the module happens to run: refused
    run = ansible.run_tasks([ignoring(refresh('relative', instance_id='inst-cd5', src=str(src), key_prefix=prefix,
                                              source_cache_dir='cache/here', **conn(etcd)))], name='relative')
    assert_clean_failure(run, 'relative', 'source_cache_dir must be an absolute path')
    assert instance_state(etcd, prefix, 'inst-cd5') == {}


def _routed_ids(apis):
    return [a['id'] for a in apis if a.get('run_env_id')]


# -- refused input --------------------------------------------------------------------------

def test_refused_inputs_write_nothing(ansible, etcd, tmp_path):
    prefix, instance = '/t/refused', 'inst-refused'
    base = dict(key_prefix=prefix, **conn(etcd))
    good = dict(instance_id=instance, apis=APIS, **base)

    def apis_with(index, **changes):
        apis = [dict(a) for a in APIS]
        apis[index].update(changes)
        return [dict((k, v) for k, v in a.items() if v is not None) for a in apis]

    cases = [
        ('instance ../x', dict(good, instance_id='../x'), ["instance_id '../x' is not a valid identifier"]),
        ('instance a/b', dict(good, instance_id='a/b'), ["instance_id 'a/b' is not a valid identifier"]),
        ('instance %2F', dict(good, instance_id='%2F'), ["instance_id '%2F' is not a valid identifier"]),
        ('fleet with a bad id',
         dict(good, instance_id=None, instances=[{'instance_id': instance}, {'instance_id': 'a/b'}]),
         ["instances[1].instance_id 'a/b'"]),
        ('prefix apig', dict(good, key_prefix='apig'), ["key_prefix 'apig' must start with '/'"]),
        ('prefix /a//b', dict(good, key_prefix='/a//b'), ["key_prefix '/a//b' must not contain '//'"]),
        ('prefix /a/../b', dict(good, key_prefix='/a/../b'), ["key_prefix '/a/../b' must not contain", "'..'"]),
        ('duplicate ids', dict(good, apis=APIS + [APIS[0]]), ['apis[4] (id api-multi)', 'duplicate id']),
        ('no id', dict(good, apis=apis_with(1, id=None)), ['apis[1] (no id)', 'id is missing']),
        ('bad req_method', dict(good, apis=apis_with(3, req_method='FETCH')),
         ['apis[3] (id api-min)', "req_method 'FETCH' is not one of"]),
        ('relative req_uri', dict(good, apis=apis_with(0, req_uri='v1/orders')),
         ['apis[0] (id api-multi)', "req_uri 'v1/orders' must start with '/'"]),
        ('src missing', dict(good, apis=None, src=str(tmp_path / 'nope.json')),
         [str(tmp_path / 'nope.json'), 'does not exist']),
        ('src directory', dict(good, apis=None, src=str(tmp_path)), [str(tmp_path), 'is a directory']),
        ('non-dict item', dict(good, apis=[APIS[0], 'api-backend']), ['apis[1] must be a dict']),
        ('instance id too long', dict(good, instance_id='i' * 65), ['is not a valid identifier']),
        ('apis and src', dict(good, src=PAGE_FILE), ['mutually exclusive', 'apis', 'src']),
        ('no source and no project', dict(good, apis=None), ['project_id is required']),
    ]
    tasks = []
    for name, options, _fragments in cases:
        options = dict((k, v) for k, v in options.items() if v is not None)
        tasks.append(ignoring(refresh(name, **options)))
    tasks.append(ignoring(info('info instance a/b', instance_id='a/b', **base)))
    tasks.append(ignoring(info('info prefix apig', **{**base, 'instance_id': instance, 'key_prefix': 'apig'})))
    before = etcd.dump_kvs('/')
    rev0 = etcd.revision()
    run = ansible.run_tasks(tasks, name='refused')
    for name, _options, fragments in cases:
        assert_clean_failure(run, name, *fragments)
    assert_clean_failure(run, 'info instance a/b', "instance_id 'a/b' is not a valid identifier")
    assert_clean_failure(run, 'info prefix apig', "must start with '/'")
    assert_no_traceback(run)
    assert etcd.revision() == rev0
    assert etcd.dump_kvs('/') == before


# -- apigw_router_info ----------------------------------------------------------------------

def test_info_counts_compares_and_never_writes(ansible, etcd):
    prefix, instance = '/t/info', 'inst-info'
    base = dict(key_prefix=prefix, **conn(etcd))
    state = expected_state(prefix, instance)
    put_state(etcd, state)  # written out of band: the info module must read what etcdctl wrote
    manifest = manifest_of(routes_of(prefix, instance))
    records = [json.loads(EXPECTED[i].decode('utf-8')) for i in ROUTED]

    rev0 = etcd.revision()
    run = ansible.run_tasks([
        info('count', instance_id=instance, **base),
        info('records', instance_id=instance, records=True, **base),
        info('compare', instance_id=instance, compare=True, apis=APIS, **base),
        info('gate', instance_id=instance, compare=True, fail_on_drift=True, src=PAGE_FILE, **base),
        dict(info('gate in check mode', instance_id=instance, compare=True, fail_on_drift=True, apis=APIS, **base),
             check_mode=True),
        info('absent', instance_id='inst-info-none', **base),
    ], name='in-sync').assert_success()
    count = run.task('count')
    assert (count['count'], count['manifest'], count['revision']) == (3, manifest, rev0)
    assert 'routes' not in count and 'in_sync' not in count
    assert run.task('records')['routes'] == records
    for name in ('compare', 'gate', 'gate in check mode'):
        assert run.task(name)['in_sync'] is True, name
        assert run.task(name)['drift'] == {'create': [], 'update': [], 'delete': []}
    assert (run.task('absent')['count'], run.task('absent')['manifest']) == (0, None)
    assert not run.changed_tasks
    assert etcd.revision() == rev0

    # drift by hand; and a second instance whose routes are right but whose manifest is not
    etcd.put(route_key(prefix, instance, 'api-multi'), b'{"id":"api-multi","schema":1}')
    etcd.delete(route_key(prefix, instance, 'api-min'))
    etcd.put(route_key(prefix, instance, 'api-stray'), b'{"id":"api-stray","schema":1}')
    put_state(etcd, routes_of(prefix, 'inst-info-m'))
    etcd.put(manifest_key(prefix, 'inst-info-m'), manifest_bytes(manifest_of({})))
    rev1 = etcd.revision()
    run = ansible.run_tasks([
        info('compare', instance_id=instance, compare=True, apis=APIS, **base),
        info('compare no prune', instance_id=instance, compare=True, apis=APIS, prune=False, **base),
        ignoring(info('gate', instance_id=instance, compare=True, fail_on_drift=True, apis=APIS, **base)),
        ignoring(info('gate manifest', instance_id='inst-info-m', compare=True, fail_on_drift=True, apis=APIS,
                      **base)),
        info('fleet', instances=[{'instance_id': 'inst-info-m'}, {'instance_id': instance}], compare=True,
             apis=APIS, **base),
    ], name='drift')
    compare = run.task('compare')
    assert compare['in_sync'] is False and compare['count'] == 3
    assert compare['drift'] == {'create': ['api-min'], 'update': ['api-multi'], 'delete': ['api-stray']}
    assert run.task('compare no prune')['drift'] == {'create': ['api-min'], 'update': ['api-multi'], 'delete': []}
    assert_clean_failure(run, 'gate', instance, 'drift')
    assert run.task('gate')['drift'] == compare['drift']
    gate_m = assert_clean_failure(run, 'gate manifest', 'inst-info-m')
    assert gate_m['in_sync'] is False and gate_m['drift'] == {'create': [], 'update': [], 'delete': []}
    fleet = run.task('fleet')
    assert fleet.status == 'ok' and fleet.changed is False
    assert [r['instance_id'] for r in fleet['results']] == ['inst-info-m', instance]
    assert [r['in_sync'] for r in fleet['results']] == [False, False]
    assert fleet['results'][1]['drift'] == compare['drift']
    assert fleet['summary']['total'] == 2 and fleet['summary']['failed'] == 0
    assert not run.changed_tasks
    assert_no_traceback(run)
    assert etcd.revision() == rev1


# -- fleet ----------------------------------------------------------------------------------

def test_fleet_of_three_instances(ansible, etcd):
    prefix = '/t/fleet'
    order = ['fleet-c', 'fleet-a', 'fleet-b']
    put_state(etcd, expected_state(prefix, 'fleet-a'))  # already in sync
    etcd.put(route_key(prefix, 'fleet-b', 'api-stray'), b'{}')  # one stray route
    task = refresh('fleet', instances=[{'instance_id': i} for i in order], apis=APIS, key_prefix=prefix,
                   concurrency=3, **conn(etcd))

    rev0 = etcd.revision()
    run = ansible.run_tasks([task], check=True, diff=True, name='check').assert_success()
    result = run.task('fleet')
    assert route_key(prefix, 'fleet-b', 'api-stray') in run.stdout  # the diff, as users see it
    assert result.changed is True
    assert [r['instance_id'] for r in result['results']] == order
    assert [r['changed'] for r in result['results']] == [True, False, True]
    assert [r['deleted'] for r in result['results']] == [[], [], ['api-stray']]
    assert [r['created'] for r in result['results']] == [ROUTED, [], ROUTED]
    assert all(r['failed'] is False and r['msg'] for r in result['results'])
    assert result['summary'] == {'total': 3, 'changed': 2, 'unchanged': 1, 'failed': 0}
    assert etcd.revision() == rev0

    run = ansible.run_tasks([task], name='apply').assert_success()
    result = run.task('fleet')
    assert [r['instance_id'] for r in result['results']] == order
    assert [(r['created'], r['deleted'], r['unchanged']) for r in result['results']] == [
        (ROUTED, [], 0), ([], [], 3), (ROUTED, ['api-stray'], 0)]
    assert result['summary'] == {'total': 3, 'changed': 2, 'unchanged': 1, 'failed': 0}
    for instance in order:
        assert instance_state(etcd, prefix, instance) == expected_state(prefix, instance), instance
    assert set(etcd.dump(prefix + '/')) == set(k for i in order for k in expected_state(prefix, i))

    rev1 = etcd.revision()
    run = ansible.run_tasks([task], name='rerun').assert_success()
    result = run.task('fleet')
    assert result.changed is False
    assert result['summary'] == {'total': 3, 'changed': 0, 'unchanged': 3, 'failed': 0}
    assert [r['instance_id'] for r in result['results']] == order
    assert etcd.revision() == rev1

    # one instance failing (an empty source would wipe its routes) does not stop the others;
    # the task fails and still returns every result
    empty = manifest_bytes(manifest_of({}))
    etcd.put(manifest_key(prefix, 'fleet-empty'), empty)
    run = ansible.run_tasks([ignoring(refresh('fleet', instances=[{'instance_id': i} for i in (
        'fleet-a', 'fleet-empty', 'fleet-fresh')], apis=[], key_prefix=prefix, **conn(etcd)))], name='one-fails')
    result = run.task('fleet')
    assert result.failed and 'fleet-a' in result['msg']
    assert [(r['instance_id'], r['failed'], r['changed']) for r in result['results']] == [
        ('fleet-a', True, False), ('fleet-empty', False, False), ('fleet-fresh', False, True)]
    assert 'allow_empty' in result['results'][0]['msg']
    assert result['summary'] == {'total': 3, 'changed': 1, 'unchanged': 1, 'failed': 1}
    assert_no_traceback(run)
    assert instance_state(etcd, prefix, 'fleet-a') == expected_state(prefix, 'fleet-a')
    assert instance_state(etcd, prefix, 'fleet-empty') == {manifest_key(prefix, 'fleet-empty'): empty}
    assert instance_state(etcd, prefix, 'fleet-fresh') == {manifest_key(prefix, 'fleet-fresh'): empty}


# -- connections: cluster failover, TLS, auth, environment ----------------------------------

def test_cluster_with_dead_member_listed_first(ansible, etcd_three):
    dead = etcd_three.kill_member(0)
    etcd_three.wait_healthy()
    endpoints = [dead.endpoint] + etcd_three.live_endpoints
    prefix, instance = '/t/cluster', 'inst-cluster'
    task = refresh('sync', instance_id=instance, apis=APIS, key_prefix=prefix, etcd_endpoints=endpoints,
                   etcd_timeout=5)
    rev0 = etcd_three.revision()
    run = ansible.run_tasks([task], check=True, name='check').assert_success()
    assert run.task('sync')['created'] == ROUTED
    assert etcd_three.revision() == rev0
    run = ansible.run_tasks([task], name='apply').assert_success()
    assert run.task('sync')['created'] == ROUTED
    for member in etcd_three.live_endpoints:  # each live member serves the routes
        assert dump(prefix + '/', endpoints=[member]) == expected_state(prefix, instance), member
    rev1 = etcd_three.revision()
    run = ansible.run_tasks([task], name='rerun').assert_success()
    assert run.task('sync').changed is False
    assert etcd_three.revision() == rev1


def test_tls_with_client_certificates(ansible, etcd_tls):
    prefix, instance = '/t/tls', 'inst-tls'
    assert all(e.startswith('https://') for e in etcd_tls.endpoints)
    options = dict(instance_id=instance, key_prefix=prefix, **conn(etcd_tls))
    task = refresh('sync', apis=APIS, **options)
    rev0 = etcd_tls.revision()
    run = ansible.run_tasks([task], check=True, name='check').assert_success()
    assert run.task('sync')['created'] == ROUTED
    assert etcd_tls.revision() == rev0
    run = ansible.run_tasks([task], name='apply').assert_success()
    assert run.task('sync')['created'] == ROUTED
    assert instance_state(etcd_tls, prefix, instance) == expected_state(prefix, instance)
    # the re-run takes the certificates from ETCDCTL_CACERT / ETCDCTL_CERT / ETCDCTL_KEY
    rev1 = etcd_tls.revision()
    env = {'ETCDCTL_CACERT': etcd_tls.certs['ca'], 'ETCDCTL_CERT': etcd_tls.certs['client_cert'],
           'ETCDCTL_KEY': etcd_tls.certs['client_key']}
    plain = dict(instance_id=instance, key_prefix=prefix, etcd_endpoints=etcd_tls.endpoints)
    run = ansible.run_tasks([refresh('sync', apis=APIS, **plain), info('info', compare=True, apis=APIS, **plain)],
                            env=env, name='rerun-env').assert_success()
    assert run.task('sync').changed is False
    assert run.task('info')['in_sync'] is True and run.task('info')['count'] == 3
    assert etcd_tls.revision() == rev1

    # the server requires a client certificate
    run = ansible.run_tasks([ignoring(refresh('without client cert', apis=APIS[:1], etcd_timeout=3,
                                              etcd_ca_cert=etcd_tls.certs['ca'], **plain))], name='refused')
    assert_clean_failure(run, 'without client cert', etcd_tls.endpoints[0])
    assert_no_traceback(run)
    assert etcd_tls.revision() == rev1


def test_auth_with_range_limited_user_and_no_password_in_output(ansible, etcd_auth):
    prefix, instance = '/apig/router', 'inst-auth'  # the user may read and write /apig/router/ only
    wrong = 'wrong-Pw-For-Tests'
    ansible.extra_vars.update(etcd_router_password=USER_PASSWORD, wrong_password=wrong)
    options = dict(instance_id=instance, key_prefix=prefix, **conn(etcd_auth))
    task = refresh('sync', apis=APIS, **options)
    rev0 = etcd_auth.revision()
    run = ansible.run_tasks([task], check=True, verbosity=3, name='check').assert_success()
    assert run.task('sync')['created'] == ROUTED
    assert etcd_auth.revision() == rev0
    run = ansible.run_tasks([task], verbosity=3, name='apply').assert_success()
    assert run.task('sync')['created'] == ROUTED
    assert instance_state(etcd_auth, prefix, instance) == expected_state(prefix, instance)

    # the same user and password from ETCDCTL_USER / ETCDCTL_PASSWORD
    rev1 = etcd_auth.revision()
    from_env = dict((k, v) for k, v in options.items() if k not in ('etcd_user', 'etcd_password'))
    run = ansible.run_tasks([refresh('sync', apis=APIS, **from_env), info('info', **from_env)], verbosity=3,
                            env={'ETCDCTL_USER': USER, 'ETCDCTL_PASSWORD': USER_PASSWORD},
                            name='rerun-env').assert_success()
    assert run.task('sync').changed is False and run.task('info')['count'] == 3
    assert etcd_auth.revision() == rev1

    run = ansible.run_tasks([
        ignoring(refresh('wrong password', apis=APIS, **dict(options, etcd_password='{{ wrong_password }}'))),
        ignoring(refresh('outside the role', apis=APIS, **{**options, 'key_prefix': '/outside'})),
        ignoring(refresh('no credentials', apis=APIS, **from_env)),
    ], verbosity=3, name='refused')
    assert_clean_failure(run, 'wrong password', 'authentication failed', USER)
    assert_clean_failure(run, 'outside the role', 'permission denied', '/outside/')
    assert_clean_failure(run, 'no credentials', 'not authenticated', 'etcd_user')
    assert_no_traceback(run)
    assert etcd_auth.revision() == rev1
    assert etcd_auth.dump('/outside') == {}
    for secret in LEAKS + (wrong,):
        assert ansible.find_in_captures(secret) == [], secret


def test_etcdctl_endpoints_from_the_environment(ansible, etcd):
    prefix, instance = '/t/env', 'inst-env'
    endpoints = ['http://127.0.0.1:%d' % free_ports(1)[0]] + etcd.endpoints  # a dead one first
    env = {'ETCDCTL_ENDPOINTS': ','.join(endpoints)}
    task = refresh('sync', instance_id=instance, apis=APIS, key_prefix=prefix, etcd_timeout=5)
    # Each result (and the diff's headers) says which endpoints a run used and where from.
    header = 'etcd %s (from ETCDCTL_ENDPOINTS): %s/%s/apis/' % (', '.join(endpoints), prefix, instance)
    rev0 = etcd.revision()
    run = ansible.run_tasks([task], check=True, diff=True, env=env, name='check').assert_success()
    result = run.task('sync')
    assert result['created'] == ROUTED
    assert (result['etcd_endpoints'], result['etcd_endpoints_from']) == (endpoints, 'env')
    assert result['diff']['before_header'] == result['diff']['after_header'] == header
    assert '--- before: %s' % header in run.stdout and '+++ after: %s' % header in run.stdout, run.stdout
    assert etcd.revision() == rev0
    run = ansible.run_tasks([task], env=env, name='apply').assert_success()
    assert run.task('sync')['created'] == ROUTED
    assert instance_state(etcd, prefix, instance) == expected_state(prefix, instance)
    rev1 = etcd.revision()
    run = ansible.run_tasks([
        task,
        info('info', instance_id=instance, key_prefix=prefix),
        info('fleet info', instances=[{'instance_id': instance},
                                      {'instance_id': 'inst-env-own', 'etcd_endpoints': etcd.endpoints}],
             key_prefix=prefix),
        # an explicit etcd_endpoints wins over the environment: here, only the dead endpoint
        ignoring(refresh('dead', instance_id=instance, apis=APIS, key_prefix=prefix, etcd_endpoints=endpoints[:1],
                         etcd_timeout=1)),
    ], env=env, name='rerun')
    assert run.task('sync').changed is False and run.task('info')['count'] == 3
    assert (run.task('sync')['etcd_endpoints'], run.task('sync')['etcd_endpoints_from']) == (endpoints, 'env')
    assert (run.task('info')['etcd_endpoints'], run.task('info')['etcd_endpoints_from']) == (endpoints, 'env')
    assert [(r['etcd_endpoints'], r['etcd_endpoints_from']) for r in run.task('fleet info')['results']] == [
        (endpoints, 'env'), (etcd.endpoints, 'option')]
    dead = assert_clean_failure(run, 'dead', endpoints[0])
    assert (dead['etcd_endpoints'], dead['etcd_endpoints_from']) == (endpoints[:1], 'option')
    assert_no_traceback(run)
    assert etcd.revision() == rev1

    # neither the option nor the environment: the default, said so even when it fails
    run = ansible.run_tasks([ignoring(info('info', instance_id=instance, key_prefix=prefix, etcd_timeout=1))],
                            env={'ETCDCTL_ENDPOINTS': None}, name='default')
    result = run.task('info')
    assert (result['etcd_endpoints'], result['etcd_endpoints_from']) == (['http://127.0.0.1:2379'], 'default')


def test_info_warns_that_it_ignores_a_source_without_compare(ansible, etcd, tmp_path):
    prefix, instance = '/t/info-ignored', 'inst-info-ignored'
    src = tmp_path / 'apis.json'
    src.write_text(json.dumps(APIS), encoding='utf-8')
    run = ansible.run_tasks([
        info('src', instance_id=instance, key_prefix=prefix, src=str(src), **conn(etcd)),
        info('apis', instance_id=instance, key_prefix=prefix, apis=APIS, **conn(etcd)),
        info('compare', instance_id=instance, key_prefix=prefix, apis=APIS, compare=True, **conn(etcd)),
        info('plain', instance_id=instance, key_prefix=prefix, **conn(etcd)),
    ], name='ignored').assert_success()
    output = run.stdout + run.stderr
    assert output.count('src is ignored without compare: true') == 1, output
    assert output.count('apis is ignored without compare: true') == 1, output
    assert run.task('compare')['in_sync'] is False  # with compare, the source is read
    assert 'in_sync' not in run.task('src') and 'in_sync' not in run.task('apis')
