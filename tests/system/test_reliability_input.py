# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bad input, through real ansible-playbook runs: refused with a message that names the
problem, no traceback, no request sent, nothing written.

One table of refused inputs covers both modes of ``apigw_router_refresh``,
``apigw_router_info`` and the ``fleet_refresh`` role. Every case is one task with
``ignore_errors`` (role cases: a block with a rescue) in a single playbook, so the whole
table costs one ansible-playbook run. Out of band: the simulator's request log must stay
empty and etcd's revision and every key must stay as they were.

A second test feeds random documents (made from a fixed seed) to the module as ``src``:
in check mode every one either plans or is refused cleanly; every refused one is refused
again, with the same message, when applied; nothing is written.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import random

import pytest
import yaml

from apigw_support.etcd import etcd_single
from apigw_support.simulator import Simulator

REFRESH = 'apigw.router.apigw_router_refresh'
INFO = 'apigw.router.apigw_router_info'
ROLE = 'apigw.router.fleet_refresh'
PROJECT = '9a9a0000000000000000000000000001'
TOKEN = 'MIIinput-token-6e1f'
AK, SK = 'INPUTAK0000000000001', 'input-secret-key-2b2b'
PREFIX = '/in/router'
NO_TRACEBACK = '(traceback unavailable)'
# Pipelining sends each module over the connection's stdin instead of a file: one process
# per task instead of four, which matters for a table of a hundred refused inputs.
FAST = {'ANSIBLE_PIPELINING': 'True'}

SIM_CONFIG = {
    'projects': [{'id': PROJECT, 'instances': [{'id': 'inst-in', 'generate': {'count': 3, 'seed': 5}}]}],
    'credentials': {'tokens': [{'name': 'ci', 'token': TOKEN, 'roles': ['op_svc_apig']}],
                    'keys': [{'ak': AK, 'sk': SK, 'roles': ['op_svc_apig']}]},
}


def good_api(i=1, **changes):
    item = {'id': 'api-%d' % i, 'name': 'orders', 'req_method': 'GET', 'req_uri': '/v1/orders/%d' % i,
            'run_env_id': 'DEFAULT_ENVIRONMENT_RELEASE_ID', 'run_env_name': 'RELEASE', 'publish_id': 'p%d' % i,
            'type': 1, 'cors': False,
            'backend_api': {'req_protocol': 'HTTPS', 'req_method': 'GET', 'req_uri': '/orders', 'url_domain': 'b.local',
                            'timeout': 5000, 'retry_count': '-1'}}
    item.update(changes)
    return dict((k, v) for k, v in item.items() if v is not None)


GOOD_APIS = [good_api(1), good_api(2), good_api(3)]


@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-input')) as cluster:
        yield cluster


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    with Simulator(SIM_CONFIG, workdir=tmp_path_factory.mktemp('sim-input')) as simulator:
        yield simulator


def assert_refused(result, fragments, name):
    """Failed, with a message holding every fragment, and no traceback anywhere in the result."""
    assert result.failed, '%s: not refused: %s' % (name, result.result)
    msg = result.get('msg', '')
    for fragment in fragments:
        assert fragment in msg, '%s: %r not in %r' % (name, fragment, msg)
    assert 'Traceback' not in msg and not msg.startswith('MODULE FAILURE'), (name, msg)
    # the fleet runner's catch-all for exceptions that are not the collection's own, and
    # ansible-core 2.19's message for an exception that escaped the module (traceback hidden)
    assert not msg.startswith(('unexpected ', 'Task failed: Module failed')), \
        '%s: an exception escaped validation: %s' % (name, msg)
    for key in ('module_stderr', 'module_stdout'):
        assert key not in result, '%s: %s: %s' % (name, key, result.get(key))
    # ansible-core 2.19 puts this placeholder in every failed result unless tracebacks are
    # enabled; anything else is a real traceback.
    assert result.get('exception', NO_TRACEBACK) == NO_TRACEBACK, (name, result.get('exception'))
    assert not result.changed, name
    for key in ('created', 'updated', 'deleted'):
        assert not result.get(key), (name, key, result.get(key))


# -- the table --------------------------------------------------------------------------------

def refused_cases(sim, etcd, tmp_path):
    """(name, module, options, fragments of the message) for every refused input."""
    api_base = dict(instance_id='inst-in', project_id=PROJECT, endpoint=sim.url, auth_token=TOKEN, retry_delay=0.01)
    etcd_base = dict(mode='etcd', instance_id='inst-in', apis=GOOD_APIS, key_prefix=PREFIX,
                     etcd_endpoints=etcd.endpoints, etcd_timeout=2)
    info_base = dict(instance_id='inst-in', key_prefix=PREFIX, etcd_endpoints=etcd.endpoints, etcd_timeout=2)

    def api_mode(**changes):
        return dict((k, v) for k, v in dict(api_base, **changes).items() if v is not None)

    def etcd_mode(**changes):
        return dict((k, v) for k, v in dict(etcd_base, **changes).items() if v is not None)

    def with_api(index, **changes):
        apis = [dict(a) for a in GOOD_APIS]
        apis[index] = good_api(index + 1, **changes)
        return etcd_mode(apis=apis)

    def src(name, content):
        path = tmp_path / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding='utf-8')
        return str(path)

    deep = 20000
    # nine levels of nine aliases: a billion leaves if expanded
    bomb = '\n'.join(['a0: &a0 [x, x, x, x, x, x, x, x, x]'] + [
        'a%d: &a%d [%s]' % (i, i, ', '.join(['*a%d' % (i - 1)] * 9)) for i in range(1, 9)])
    ident = 'is not a valid identifier'
    return [
        # identifiers, in both modes and in the fleet form
        ('api: instance with /', REFRESH, api_mode(instance_id='a/b'), ["instance_id 'a/b'", ident]),
        ('api: instance ..', REFRESH, api_mode(instance_id='..'), ["instance_id '..'", ident]),
        ('api: instance ../x', REFRESH, api_mode(instance_id='../inst-in'), ["instance_id '../inst-in'", ident]),
        ('api: instance %2F', REFRESH, api_mode(instance_id='inst%2Fin'), ["instance_id 'inst%2Fin'", ident]),
        ('api: instance with NUL', REFRESH, api_mode(instance_id='inst\x00in'), ["instance_id 'inst\\x00in'", ident]),
        ('api: instance with newline', REFRESH, api_mode(instance_id='inst\nin'), ["instance_id 'inst\\nin'", ident]),
        ('api: instance over-long', REFRESH, api_mode(instance_id='i' * 65), ['instance_id', ident]),
        ('api: instance huge', REFRESH, api_mode(instance_id='i' * 100000), ['instance_id', ident, '100000 chars']),
        ('api: instance non-ASCII', REFRESH, api_mode(instance_id=u'ïnst'), ['instance_id', ident]),
        ('api: project with /', REFRESH, api_mode(project_id='p/1'), ["project_id 'p/1'", ident]),
        ('api: fleet item with ..', REFRESH, api_mode(instance_id=None, instances=[
            {'instance_id': 'inst-in'}, {'instance_id': '..'}]), ["instances[1].instance_id '..'", ident]),
        ('api: fleet duplicate', REFRESH, api_mode(instance_id=None, instances=[
            {'instance_id': 'inst-in'}, {'instance_id': 'inst-in'}]), ['instances[0] and instances[1]', 'inst-in']),
        # ansible-core's own argument check: its message does not name the option
        ('api: fleet item not a dict', REFRESH, api_mode(instance_id=None, instances=['inst-in', 7]),
         ['dictionary requested']),
        ('api: fleet item without id', REFRESH, api_mode(instance_id=None, instances=[{'project_id': PROJECT}]),
         ['instance_id']),
        ('api: fleet empty', REFRESH, api_mode(instance_id=None, instances=[]), ['instances is empty']),
        ('api: instance and instances', REFRESH, api_mode(instances=[{'instance_id': 'inst-in'}]),
         ['mutually exclusive', 'instance_id', 'instances']),
        ('api: concurrency 0', REFRESH, api_mode(concurrency=0), ['concurrency must be between 1 and 256']),
        # resources and mode
        ('api: unknown resource', REFRESH, api_mode(resources=['apis', 'routes']), ['resources', 'routes']),
        ('api: no resource', REFRESH, api_mode(resources=[]), ['resources must name at least one']),
        ('api: unknown mode', REFRESH, api_mode(mode='rest'), ['mode', 'rest']),
        ('api: apis in mode api', REFRESH, api_mode(apis=GOOD_APIS), ['apis is a source for mode etcd']),
        ('api: src in mode api', REFRESH, api_mode(src='/etc/hostname'), ['src is a source for mode etcd']),
        # endpoints and URLs
        ('api: endpoint ftp', REFRESH, api_mode(endpoint='ftp://127.0.0.1/'), ['endpoint', 'http://']),
        ('api: endpoint without scheme', REFRESH, api_mode(endpoint='127.0.0.1:8080'), ['endpoint', 'http://']),
        ('api: endpoint with credentials', REFRESH, api_mode(endpoint='https://user:pw@127.0.0.1/'),
         ['endpoint', 'credentials']),
        ('api: endpoint with query', REFRESH, api_mode(endpoint=sim.url + '/?x=1'), ['endpoint', 'query']),
        ('api: endpoint bad port', REFRESH, api_mode(endpoint='http://127.0.0.1:99999'), ['endpoint', 'port']),
        ('api: endpoint broken IPv6', REFRESH, api_mode(endpoint='http://[::1/'), ['endpoint']),
        ('api: fleet endpoint broken IPv6', REFRESH, api_mode(instance_id=None, instances=[
            {'instance_id': 'inst-in', 'endpoint': 'https://[::1'}]), ['endpoint']),
        ('api: bad region', REFRESH, api_mode(endpoint=None, region='CN NORTH/4'), ['region', 'not a valid region']),
        ('api: no endpoint', REFRESH, api_mode(endpoint=None), ['endpoint or region is required']),
        ('api: IAM endpoint without scheme', REFRESH, api_mode(
            auth_token=None, iam_user='u', iam_password='Input-pw-1', iam_domain='d', iam_endpoint='iam.example.com'),
         ['iam_endpoint']),
        ('api: timeout 0', REFRESH, api_mode(timeout=0), ['timeout must be at least']),
        ('api: retries -1', REFRESH, api_mode(retries=-1), ['retries must be between 0 and 100']),
        ('api: wait_timeout -1', REFRESH, api_mode(wait_timeout=-1), ['wait_timeout must be at least 0']),
        # contradictory or incomplete auth
        ('api: no auth', REFRESH, api_mode(auth_token=None), ['no authentication']),
        ('api: token and AK/SK', REFRESH, api_mode(access_key=AK, secret_key=SK),
         ['conflicting authentication', 'auth_token', 'access_key']),
        ('api: token and IAM', REFRESH, api_mode(iam_user='u', iam_password='Input-pw-1', iam_domain='d'),
         ['conflicting authentication']),
        ('api: AK without SK', REFRESH, api_mode(auth_token=None, access_key=AK), ['needs secret_key']),
        ('api: access key with newline', REFRESH, api_mode(auth_token=None, access_key='INPUTAK\nX-Injected: 1',
                                                           secret_key=SK), ['access_key']),
        ('api: security token alone', REFRESH, api_mode(auth_token=None, security_token='sts-only'),
         ['needs access_key, secret_key']),
        ('api: IAM without domain', REFRESH, api_mode(auth_token=None, iam_user='u', iam_password='Input-pw-1',
                                                      iam_endpoint=sim.url), ['needs iam_domain']),
        # etcd mode: the source
        ('etcd: apis a dict', REFRESH, etcd_mode(apis={'id': 'api-1'}), ['apis']),
        ('etcd: apis a string', REFRESH, etcd_mode(apis='api-1'), ['apis[0] must be a dict']),
        ('etcd: items not dicts', REFRESH, etcd_mode(apis=[GOOD_APIS[0], 'api-2', 3, None]),
         ['apis[1] must be a dict']),
        ('etcd: id missing', REFRESH, with_api(1, id=None), ['apis[1] (no id)', 'id is missing']),
        ('etcd: id with /', REFRESH, with_api(0, id='a/b'), ['apis[0]', "id 'a/b' is not a valid identifier"]),
        ('etcd: id ..', REFRESH, with_api(0, id='..'), ['apis[0]', "id '..'"]),
        ('etcd: id %2F', REFRESH, with_api(0, id='a%2Fb'), ['apis[0]', "id 'a%2Fb'"]),
        ('etcd: id with NUL', REFRESH, with_api(0, id='a\x00b'), ['apis[0]', "id 'a\\x00b'"]),
        ('etcd: id with newline', REFRESH, with_api(0, id='a\nb'), ['apis[0]', "id 'a\\nb'"]),
        ('etcd: id over-long', REFRESH, with_api(0, id='a' * 65), ['apis[0]', 'is not a valid identifier']),
        ('etcd: id not a string', REFRESH, with_api(0, id=12345), ['apis[0]', 'id 12345']),
        ('etcd: duplicate ids', REFRESH, etcd_mode(apis=GOOD_APIS + [good_api(2)]),
         ['apis[3] (id api-2)', 'duplicate id, also at apis[1]']),
        ('etcd: req_method bad', REFRESH, with_api(2, req_method='FETCH'), ['apis[2] (id api-3)', "'FETCH'"]),
        ('etcd: req_method missing', REFRESH, with_api(2, req_method=None), ['req_method is missing']),
        ('etcd: req_uri relative', REFRESH, with_api(0, req_uri='v1/x'), ["req_uri 'v1/x' must start with '/'"]),
        ('etcd: req_uri with newline', REFRESH, with_api(0, req_uri='/a\nb'), ['req_uri', 'control characters']),
        ('etcd: req_uri huge', REFRESH, with_api(0, req_uri='/' + 'u' * 9000), ['req_uri is 9001 bytes long']),
        ('etcd: name huge', REFRESH, with_api(0, name='n' * 100000), ['name is 100000 bytes long']),
        ('etcd: type malformed', REFRESH, with_api(0, type='one'), ["type must be an integer, got 'one'"]),
        ('etcd: cors a string', REFRESH, with_api(0, cors='yes'), ["cors must be true or false, got 'yes'"]),
        ('etcd: backend_api a list', REFRESH, with_api(0, backend_api=['x']), ['backend_api must be a dict']),
        ('etcd: backend timeout', REFRESH, with_api(0, backend_api={'timeout': '5s'}),
         ["backend_api.timeout must be an integer, got '5s'"]),
        ('etcd: env id with /', REFRESH, with_api(0, run_env_id='env/1', run_env_name=None, publish_id=None),
         ["run_env_id part 'env/1'"]),
        ('etcd: env parts mismatch', REFRESH, with_api(0, run_env_id='e1|e2', run_env_name='RELEASE', publish_id=None),
         ["run_env_name has 1 '|'-separated parts but run_env_id has 2"]),
        ('etcd: apis and src', REFRESH, etcd_mode(src=src('both.json', json.dumps(GOOD_APIS))),
         ['mutually exclusive', 'apis', 'src']),
        ('etcd: only unpublished, routes exist', REFRESH, etcd_mode(instance_id='inst-existing', apis=[
            good_api(1, run_env_id='')]), ['allow_empty', 'delete all 3 route(s)']),
        # etcd mode: src files
        ('src: missing', REFRESH, etcd_mode(apis=None, src=str(tmp_path / 'nope.json')), ['nope.json', 'does not exist']),
        ('src: a directory', REFRESH, etcd_mode(apis=None, src=str(tmp_path)), [str(tmp_path), 'is a directory']),
        ('src: invalid UTF-8', REFRESH, etcd_mode(apis=None, src=src('latin1.json', b'[{"id": "caf\xe9"}]')),
         ['not valid UTF-8', 'byte offset 12 (line 1)']),
        ('src: deep YAML', REFRESH, etcd_mode(apis=None, src=src('deep.yml', '[' * deep + ']' * deep)),
         ['deep.yml']),
        ('src: deep JSON', REFRESH, etcd_mode(apis=None, src=src('deep.json', '[' * deep + ']' * deep)),
         ['deep.json', 'nested too deeply']),
        ('src: YAML bomb', REFRESH, etcd_mode(apis=None, src=src('bomb.yml', bomb)), ['bomb.yml', 'holds a dict']),
        ('src: broken JSON', REFRESH, etcd_mode(apis=None, src=src('broken.json', '[\n{"id": "a"},\n{"id" "b"}\n]')),
         ['not valid JSON', 'line 3']),
        ('src: broken YAML', REFRESH, etcd_mode(apis=None, src=src('broken.yaml', '- id: a\n  x: [1\n- id: b\n')),
         ['not valid YAML', 'line']),
        ('src: empty', REFRESH, etcd_mode(apis=None, src=src('empty.json', '')), ['empty.json']),
        ('src: a scalar', REFRESH, etcd_mode(apis=None, src=src('scalar.yml', '42\n')), ['holds 42']),
        ('src: first page of many', REFRESH, etcd_mode(apis=None, src=src('page.json', json.dumps(
            {'total': 900, 'size': 3, 'apis': GOOD_APIS}))), ['total is 900 but it holds 3']),
        ('src: page apis not a list', REFRESH, etcd_mode(apis=None, src=src('page2.json', json.dumps(
            {'total': 1, 'apis': {'id': 'a'}}))), ["'apis' must be a list"]),
        # etcd mode: key_prefix
        ('prefix: relative', REFRESH, etcd_mode(key_prefix='apig'), ["key_prefix 'apig' must start with '/'"]),
        ('prefix: //', REFRESH, etcd_mode(key_prefix='/a//b'), ["key_prefix '/a//b' must not contain"]),
        ('prefix: ..', REFRESH, etcd_mode(key_prefix='/a/../b'), ["key_prefix '/a/../b' must not contain"]),
        ('prefix: newline', REFRESH, etcd_mode(key_prefix='/a\nb'), ['key_prefix', 'control characters']),
        ('prefix: / alone', REFRESH, etcd_mode(key_prefix='/'), ["key_prefix must not be '/' alone"]),
        ('prefix: empty', REFRESH, etcd_mode(key_prefix=''), ['key_prefix', "must start with '/'"]),
        # etcd mode: endpoints, TLS and auth options
        ('etcd: no endpoints', REFRESH, etcd_mode(etcd_endpoints=[]), ['etcd_endpoints must list at least one']),
        ('etcd: endpoint ftp', REFRESH, etcd_mode(etcd_endpoints=['ftp://127.0.0.1:2379']),
         ["invalid etcd endpoint 'ftp://127.0.0.1:2379'"]),
        ('etcd: endpoint bad port', REFRESH, etcd_mode(etcd_endpoints=['http://127.0.0.1:port']),
         ['invalid etcd endpoint', 'bad port']),
        ('etcd: endpoint with path', REFRESH, etcd_mode(etcd_endpoints=['http://127.0.0.1:2379/v3/kv']),
         ['invalid etcd endpoint']),
        ('etcd: endpoint broken IPv6', REFRESH, etcd_mode(etcd_endpoints=['http://[::1:2379']),
         ['invalid etcd endpoint']),
        ('etcd: endpoint bad IPv6 literal', REFRESH, etcd_mode(etcd_endpoints=['http://[zz]:2379']),
         ['invalid etcd endpoint']),
        ('etcd: client cert without key', REFRESH, etcd_mode(etcd_client_cert='/tmp/c.pem'),
         ['etcd_client_cert and etcd_client_key must be given together']),
        ('etcd: CA file missing', REFRESH,
         etcd_mode(etcd_endpoints=['https://127.0.0.1:2379'], etcd_ca_cert=str(tmp_path / 'no-ca.pem')),
         ['cannot read etcd_ca_cert', 'no-ca.pem']),
        ('etcd: password without user', REFRESH, etcd_mode(etcd_password='Input-etcd-pw'),
         ['etcd password was given without a user']),
        ('etcd: timeout 0', REFRESH, etcd_mode(etcd_timeout=0), ['etcd_timeout must be at least']),
        ('etcd: max_txn_ops 0', REFRESH, etcd_mode(max_txn_ops=0), ['max_txn_ops must be between 1 and']),
        ('etcd: lock_timeout -1', REFRESH, etcd_mode(lock_timeout=-1), ['lock_timeout must be at least 0']),
        ('etcd: unknown library', REFRESH, etcd_mode(etcd_library='etcd4'), ['etcd_library', 'etcd4']),
        ('etcd: no source, no project', REFRESH, etcd_mode(apis=None), ['project_id is required']),
        ('etcd: ListApisV2 without auth', REFRESH, etcd_mode(apis=None, project_id=PROJECT, endpoint=sim.url),
         ['no authentication']),
        # the info module
        ('info: instance with /', INFO, dict(info_base, instance_id='a/b'), ["instance_id 'a/b'", ident]),
        ('info: bad prefix', INFO, dict(info_base, key_prefix='/a/../b'), ['key_prefix', 'must not contain']),
        ('info: fail_on_drift alone', INFO, dict(info_base, fail_on_drift=True), ['fail_on_drift needs compare']),
        ('info: compare, src missing', INFO, dict(info_base, compare=True, src=str(tmp_path / 'nope.yml')),
         ['does not exist']),
        ('info: compare, bad item', INFO, dict(info_base, compare=True, apis=[good_api(1, req_uri='x')]),
         ["req_uri 'x' must start with '/'"]),
    ]


def role_cases(sim, etcd):
    """(name, role vars, fragments) for the fleet_refresh role."""
    api_options = dict(endpoint=sim.url, project_id=PROJECT, auth_token=TOKEN)
    etcd_options = dict(apis=GOOD_APIS, key_prefix=PREFIX, etcd_endpoints=etcd.endpoints)
    one = [{'instance_id': 'inst-in'}]
    return [
        ('role: no instances variable', {}, ['fleet_refresh_instances']),
        ('role: instances empty', dict(fleet_refresh_instances=[]), ['fleet_refresh_instances']),
        ('role: instances a string', dict(fleet_refresh_instances='inst-in'), ['fleet_refresh_instances']),
        ('role: item without id', dict(fleet_refresh_instances=[{'project_id': PROJECT}]), ['instance_id']),
        ('role: duplicate ids', dict(fleet_refresh_instances=one + one), ['once', 'inst-in']),
        ('role: unknown mode', dict(fleet_refresh_instances=one, fleet_refresh_mode='rest'),
         ['fleet_refresh_mode', 'rest']),
        ('role: unknown resource', dict(fleet_refresh_instances=one, fleet_refresh_resources=['routes']),
         ['fleet_refresh_resources', 'routes']),
        ('role: concurrency 0', dict(fleet_refresh_instances=one, fleet_refresh_concurrency=0),
         ['fleet_refresh_concurrency', '0']),
        ('role: batch size 0', dict(fleet_refresh_instances=one, fleet_refresh_batch_size=0),
         ['fleet_refresh_batch_size', '0']),
        ('role: fail percentage 150', dict(fleet_refresh_instances=one, fleet_refresh_max_fail_percentage=150),
         ['fleet_refresh_max_fail_percentage', '150']),
        ('role: instance with /', dict(fleet_refresh_instances=[{'instance_id': 'a/b'}],
                                       fleet_refresh_options=api_options), ['instance_id', 'a/b']),
        ('role: contradictory auth', dict(fleet_refresh_instances=one, fleet_refresh_options=dict(
            api_options, access_key=AK, secret_key=SK)), ['conflicting authentication']),
        ('role: etcd, bad prefix', dict(fleet_refresh_instances=one, fleet_refresh_mode='etcd',
                                        fleet_refresh_options=dict(etcd_options, key_prefix='/a//b')),
         ['key_prefix']),
        ('role: etcd, duplicate API ids', dict(fleet_refresh_instances=one, fleet_refresh_mode='etcd',
                                               fleet_refresh_options=dict(etcd_options, apis=GOOD_APIS * 2)),
         ['duplicate id']),
    ]


def test_refused_inputs_table(ansible, sim, etcd, tmp_path):
    # An instance with routes: an empty source must not wipe it (allow_empty).
    for i in (1, 2, 3):
        etcd.put('%s/inst-existing/apis/api-%d' % (PREFIX, i), '{}')
    cases = refused_cases(sim, etcd, tmp_path)
    roles = role_cases(sim, etcd)
    assert len(cases) + len(roles) >= 30
    tasks = [{'name': name, module: options, 'ignore_errors': True} for name, module, options, _f in cases]
    for name, role_vars, _fragments in roles:
        tasks.append({'name': name, 'block': [{'name': name + ' (include)', 'ansible.builtin.include_role': {
            'name': ROLE}, 'vars': role_vars}], 'rescue': [{'name': name + ' (rescued)', 'ansible.builtin.debug': {
                'msg': 'rescued'}}]})

    sim.reset(faults='clear')
    before = etcd.dump_kvs('/')
    rev0 = etcd.revision()
    run = ansible.run_tasks(tasks, name='refused', env=FAST)
    assert run.stats is not None, run.describe()

    problems = []  # every case is checked, and every miss reported, before the test fails
    for name, _module, _options, fragments in cases:
        try:
            assert_refused(run.task(name), fragments, name)
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    for name, _vars, fragments in roles:
        try:
            rescued = [i for i, r in enumerate(run.results) if r.task == name + ' (rescued)']
            assert len(rescued) == 1, '%s was not refused' % name
            failure = [r for r in run.results[:rescued[0]] if r.failed][-1]
            text = failure.get('msg', '')
            for fragment in fragments:
                assert fragment in text, '%s: %r not in %r' % (name, fragment, text)
            assert 'Traceback' not in text and failure.get('exception', NO_TRACEBACK) == NO_TRACEBACK, (name, text)
            assert 'module_stderr' not in failure, (name, failure.get('module_stderr'))
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    assert not problems, '%d of %d refused inputs not handled as they should:\n%s' % (
        len(problems), len(cases) + len(roles), '\n'.join(problems))
    output = run.stdout + run.stderr
    assert 'Traceback' not in output and 'MODULE FAILURE' not in output, run.describe()

    # out of band: not one request, not one write
    assert sim.requests() == []
    assert sim.stats()['requests'] == 0
    assert etcd.revision() == rev0
    assert etcd.dump_kvs('/') == before
    print('refused inputs: %d module cases and %d role cases in one playbook run of %.1fs; 0 requests, '
          'etcd revision unchanged' % (len(cases), len(roles), run.duration))


# -- random documents as src -------------------------------------------------------------------

FIELDS = ['id', 'name', 'req_method', 'req_uri', 'run_env_id', 'run_env_name', 'publish_id', 'type', 'cors',
          'backend_api', 'group_id', 'auth_type', 'apis', 'total']


def _random_value(rng, depth=0):
    kind = rng.randrange(10 if depth < 3 else 6)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, 1, -1, 2 ** 70, 3.5, float('1e308')])
    if kind == 3:
        return rng.choice(['', 'GET', 'FETCH', '/a', 'a/b', '..', '%2F', 'e1|e2', u'caf\u00e9', 'x' * 70,
                           'a\x00b', 'a\nb', '\ud7ff', '1', '-1'])
    if kind in (4, 5):
        return 'api-%d' % rng.randrange(5)
    if kind in (6, 7):
        return [_random_value(rng, depth + 1) for _i in range(rng.randrange(4))]
    return dict((rng.choice(FIELDS), _random_value(rng, depth + 1)) for _i in range(rng.randrange(5)))


def _random_document(rng, index):
    """(suffix, bytes): valid-looking API lists with random damage, random values, raw bytes."""
    shape = index % 5
    if shape == 0:  # good APIs with some fields replaced
        apis = [dict(a) for a in GOOD_APIS]
        for _i in range(rng.randrange(1, 4)):
            apis[rng.randrange(len(apis))][rng.choice(FIELDS)] = _random_value(rng)
        doc = apis if rng.random() < 0.5 else {'total': len(apis), 'apis': apis}
    elif shape in (1, 2):
        doc = _random_value(rng)
    elif shape == 3:  # text cut short
        text = json.dumps([good_api(1), good_api(2)])
        return rng.choice(['.json', '.yml', '']), text[:rng.randrange(len(text))].encode('utf-8')
    else:  # raw bytes
        return rng.choice(['.json', '.yml', '']), bytes(rng.randrange(256) for _i in range(rng.randrange(1, 60)))
    suffix = rng.choice(['.json', '.yml', ''])
    if suffix == '.yml':
        return suffix, yaml.safe_dump(doc, allow_unicode=True).encode('utf-8')
    return suffix, json.dumps(doc, ensure_ascii=False).encode('utf-8', 'surrogatepass')


def test_random_documents_never_crash_and_never_write(ansible, etcd, tmp_path):
    rng = random.Random(20240501)
    count = 24
    base = dict(mode='etcd', key_prefix=PREFIX, etcd_endpoints=etcd.endpoints)
    tasks = []
    for index in range(count):
        suffix, data = _random_document(rng, index)
        path = tmp_path / ('doc-%02d%s' % (index, suffix))
        path.write_bytes(data)
        options = dict(base, instance_id='inst-doc-%d' % index, src=str(path))
        # check mode first; the documents it refuses are then applied for real
        tasks.append({'name': 'check %d' % index, REFRESH: options, 'check_mode': True, 'ignore_errors': True,
                      'register': 'doc_%d' % index})
        tasks.append({'name': 'apply %d' % index, REFRESH: options, 'ignore_errors': True,
                      'when': 'doc_%d is failed' % index})
    before = etcd.dump_kvs('/')
    rev0 = etcd.revision()
    run = ansible.run_tasks(tasks, name='random-documents', env=FAST)
    refused = 0
    for index in range(count):
        checked, applied = run.task('check %d' % index), run.task('apply %d' % index)
        if checked.failed:
            refused += 1
            assert_refused(checked, [], 'check %d' % index)
            assert_refused(applied, [], 'apply %d' % index)
            assert applied['msg'] == checked['msg']
        else:
            assert isinstance(checked['created'], list) and checked['revision'] == rev0
            assert applied.skipped
    assert 'Traceback' not in run.stdout + run.stderr
    assert 0 < refused < count  # the generator makes both kinds
    assert etcd.revision() == rev0 and etcd.dump_kvs('/') == before
    print('random documents: %d tried, %d refused (the same in check mode and when applied), %d planned; '
          'nothing written' % (count, refused, count - refused))
