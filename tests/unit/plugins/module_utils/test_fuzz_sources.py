# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Fuzz: random sources never crash the module and never write when refused.

test_source.py and test_routes.py fuzz the parsers and the validator one at a time. Here
random ``apis`` values, ``src`` files, instance ids and key prefixes go through the whole
etcd-mode path as the module runs it, ``ApigwRouterModule(...).execute(run_etcd_sync)``, against an
in-memory etcd that applies guarded transactions as etcd does. The properties:

- the module always ends in ``exit_json`` or ``fail_json``: no other exception escapes;
- a failure has a message that is not a traceback nor the fleet runner's catch-all
  ("unexpected ..."), and nothing was written, not even the lock;
- a success writes only under ``<key_prefix>/<instance_id>/apis/`` and the manifest, leaves
  exactly the routes it reports, and check mode writes nothing at all.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import json
import re

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ansible_collections.apigw.router.plugins.module_utils.common import _module
from ansible_collections.apigw.router.plugins.module_utils.runs import _etcd_clients
from ansible_collections.apigw.router.plugins.module_utils.runs._etcd_mode import run_etcd_sync
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ConflictError

FUZZ = settings(max_examples=300, derandomize=True, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

PREFIX = '/apig/router'


def _b(key):
    return key if isinstance(key, bytes) else key.encode('utf-8')


def text(key):
    """A bytes key as str (undecodable bytes as surrogates), for comparisons with str keys."""
    return key.decode('utf-8', 'surrogateescape')


class FakeEtcd(object):
    """An in-memory etcd: bytes keys, revisions, guarded transactions (a run of joined creates
    guarded by "no key in [first, last]", in the order of the keys' bytes, as EtcdClient.txn
    asks etcd), a lock that is only counted."""

    def __init__(self, endpoints, **connection):
        self.kv = {}
        self.revision = 1
        self.txns = []
        self.locks = 0
        self.seed_keys = False

    def read_prefix(self, prefix, page_size=1000):
        return self.revision, dict((k, v) for k, v in self.kv.items() if k.startswith(_b(prefix)))

    def get(self, key, revision=0):
        return self.kv.get(_b(key))

    def count(self, prefix, min_mod_revision=0, revision=0):
        return len([k for k, v in self.kv.items()
                    if k.startswith(_b(prefix)) and v[1] >= min_mod_revision]), self.revision

    @contextlib.contextmanager
    def lock(self, key, ttl=15, timeout=30):
        self.locks += 1

        class Held(object):
            lost = False
        yield Held()

    def _range_taken(self, run):
        return [k for k in self.kv if run[0] <= k <= run[-1]]

    def txn(self, ops, lock=None):
        ops = [(op[0], _b(op[1])) + tuple(op[2:]) for op in ops]
        failed, run = [], []
        for op in ops + [('end', None)]:
            if run and not (op[0] == 'create' and len(op) > 3 and op[3]):
                if self._range_taken(run):
                    failed.extend([k for k in run if k in self.kv] or run)
                run = []
            if op[0] == 'create':
                run.append(op[1])
            elif op[0] != 'end':
                current = self.kv.get(op[1])
                if current is None or current[1] != op[2 if op[0] == 'delete' else 3]:
                    failed.append(op[1])
        if failed:
            raise ConflictError('conflict', failed)
        self.revision += 1
        for op in ops:
            if op[0] == 'delete':
                del self.kv[op[1]]
            else:
                self.kv[op[1]] = (op[2], self.revision)
        self.txns.append(list(ops))
        return self.revision

    def close(self):
        pass


class Exited(Exception):
    pass


class Failed(Exception):
    pass


class FakeModule(object):
    """Stands for AnsibleModule under the module shell: the next one made is ``given``."""
    given = None

    @classmethod
    def made(cls, argument_spec, **kwargs):
        return cls.given

    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = True
        self.no_log_values = set()  # as AnsibleModule's: execute() adds secrets that are not options

    def warn(self, msg):
        pass

    def exit_json(self, **result):
        raise Exited(result)

    def fail_json(self, **result):
        raise Failed(result)


class Made(list):
    """The fake etcd clients the module built; each starts with the keys in ``seed``."""
    seed = {}


@pytest.fixture
def etcd(monkeypatch):
    made = Made()

    def build(endpoints, **connection):
        store = FakeEtcd(endpoints, **connection)
        store.kv.update((_b(k), v) for k, v in made.seed.items())
        store.seed_keys = bool(made.seed)
        made.append(store)
        return store
    monkeypatch.setattr(_etcd_clients, 'EtcdClient', build)
    monkeypatch.setattr(_module, 'AnsibleModule', FakeModule.made)
    return made


def params(**changes):
    base = dict(mode='etcd', instance_id='inst-1', instances=None, project_id=None, concurrency=16,
                endpoint=None, region=None, auth_token=None, access_key=None, secret_key=None, security_token=None,
                iam_endpoint=None, iam_user=None, iam_password=None, iam_domain=None, validate_certs=True,
                ca_path=None, timeout=30.0, retries=3, retry_delay=1.0, resources=['apis'], wait=False,
                wait_timeout=300, wait_sleep=2, apis=None, src=None, etcd_endpoints=['http://127.0.0.1:2379'],
                etcd_ca_cert=None, etcd_client_cert=None, etcd_client_key=None, etcd_user=None, etcd_password=None,
                etcd_timeout=10.0, etcd_library='auto', key_prefix=PREFIX, prune=True, allow_empty=False,
                max_txn_ops=128, lock_timeout=30.0)
    base.update(changes)
    return base


def run_module(etcd, check_mode=False, **changes):
    """(failed, result, the fake etcd or None) of one module run, as Ansible would see it."""
    FakeModule.given = FakeModule(params(**changes), check_mode=check_mode)
    try:
        _module.ApigwRouterModule({}).execute(run_etcd_sync)
    except Exited as exc:
        return False, exc.args[0], (etcd[-1] if etcd else None)
    except Failed as exc:
        return True, exc.args[0], (etcd[-1] if etcd else None)
    raise AssertionError('execute() returned without exit_json or fail_json')


def check_outcome(failed, result, store, check_mode=False, instance='inst-1', prefix=PREFIX):
    msg = result.get('msg')
    assert isinstance(msg, str) and msg
    event('refused' if failed else 'check mode' if check_mode else 'written' if store.txns else 'nothing to do')
    if failed:
        assert 'Traceback' not in msg and not msg.startswith('unexpected '), msg
        assert store is None or (store.txns == [] and store.locks == 0), 'a refused input wrote'
        for key in ('created', 'updated', 'deleted'):
            assert not result.get(key), result
        return
    if check_mode:
        assert store.txns == [] and store.locks == 0
        return
    routes = prefix.rstrip('/') + '/' + instance + '/apis/'
    manifest = prefix.rstrip('/') + '/' + instance + '/manifest'
    for ops in store.txns:
        for op in ops:
            assert text(op[1]).startswith(routes) or text(op[1]) == manifest, op[1]
    kv = dict((text(k), v) for k, v in store.kv.items())
    held = sorted(k[len(routes):] for k in kv if k.startswith(routes))
    if not store.seed_keys:
        assert held == result['created'] and result['updated'] == result['deleted'] == []
    if held or store.txns:
        stored = json.loads(kv[manifest][0].decode('utf-8'))
        assert stored == result['manifest'] and stored['count'] == len(held)
    for key in set(result['created']) | set(result['updated']):
        record = json.loads(kv[routes + key][0].decode('utf-8'))
        assert record['id'] == key and record['schema'] == 1


# -- strategies ---------------------------------------------------------------------------------

FIELDS = ['id', 'name', 'type', 'req_protocol', 'req_method', 'req_uri', 'match_mode', 'auth_type', 'cors',
          'backend_type', 'group_id', 'group_name', 'run_env_id', 'run_env_name', 'publish_id', 'backend_api',
          'register_time', 'apis', 'total']
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(['GET', 'get', 'ANY', '/a', '/a\nb', 'a/b', '..', '%2F', 'a\x00b', 'api-1', 'api-2', 'e1|e2',
                     'e1|e1', '|', '', '-1', '1', '\ud800', u'caf\u00e9', 'x' * 70]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(FIELDS + ['x']), inner, max_size=4)), max_leaves=10)
good_api = st.builds(
    lambda i, method, uri, envs: {'id': 'api-%d' % i, 'req_method': method, 'req_uri': uri, 'run_env_id': envs},
    st.integers(0, 5), st.sampled_from(['GET', 'POST', 'ANY']), st.sampled_from(['/a', '/b/{id}', '/']),
    st.sampled_from(['e1', 'e1|e2', '', None]))
api_like = st.one_of(
    good_api,
    st.builds(lambda api, extra: dict(api, **extra), good_api,
              st.dictionaries(st.sampled_from(FIELDS), values, max_size=3)),
    st.dictionaries(st.sampled_from(FIELDS), values, max_size=6),
    values)
good_apis = st.lists(good_api, max_size=6, unique_by=lambda api: api['id'])
apis_values = st.one_of(good_apis, st.lists(api_like, max_size=6), values)


@FUZZ
@given(apis=apis_values, check_mode=st.booleans())
def test_fuzz_apis_through_the_module(etcd, apis, check_mode):
    del etcd[:]
    failed, result, store = run_module(etcd, check_mode=check_mode, apis=apis)
    check_outcome(failed, result, store, check_mode)


def _document_bytes(doc, suffix):
    if suffix in ('.yml', '.yaml'):
        return yaml.safe_dump(doc, allow_unicode=True).encode('utf-8', 'surrogatepass')
    return json.dumps(doc, ensure_ascii=False).encode('utf-8', 'surrogatepass')


@FUZZ
@given(doc=st.one_of(good_apis, st.lists(api_like, max_size=5),
                     st.builds(lambda apis, total: {'total': total, 'apis': apis}, st.lists(api_like, max_size=4),
                               st.one_of(st.none(), st.integers(-1, 6), st.text(max_size=3))),
                     values),
       suffix=st.sampled_from(['.json', '.yml', '.yaml', '.txt', '']),
       damage=st.one_of(st.none(), st.integers(0, 200)), raw=st.one_of(st.none(), st.binary(max_size=80)),
       check_mode=st.booleans())
def test_fuzz_src_files_through_the_module(etcd, tmp_path, doc, suffix, damage, raw, check_mode):
    del etcd[:]
    data = raw if raw is not None else _document_bytes(doc, suffix)
    if damage is not None:
        data = data[:damage]  # a file cut short
    path = tmp_path / ('apis' + suffix)
    path.write_bytes(data)
    failed, result, store = run_module(etcd, check_mode=check_mode, src=str(path))
    check_outcome(failed, result, store, check_mode)
    if failed:
        assert str(path) in result['msg'] or 'apis[' in result['msg'] or 'routable' in result['msg'], result['msg']


@FUZZ
@given(instance=st.one_of(st.text(max_size=70), st.from_regex(r'\A[A-Za-z0-9][A-Za-z0-9_-]{0,70}\Z')),
       prefix=st.one_of(st.text(max_size=20), st.sampled_from(['/apig/router', '/a/', '/a//b', '/a/../b', '/', '',
                                                              'apig', '/a\nb', u'/r\u00f6uter'])))
def test_fuzz_identifiers_and_prefixes_through_the_module(etcd, instance, prefix):
    del etcd[:]
    apis = [{'id': 'api-1', 'req_method': 'GET', 'req_uri': '/a', 'run_env_id': 'e1'}]
    failed, result, store = run_module(etcd, apis=apis, instance_id=instance, key_prefix=prefix)
    check_outcome(failed, result, store, instance=instance, prefix=prefix)
    if not failed:
        assert '/' not in instance and '..' not in instance and len(instance) <= 64
        assert prefix.startswith('/') and '//' not in prefix and '..' not in prefix


@FUZZ
@given(instances=st.lists(st.one_of(st.from_regex(r'\Ai[a-c]\Z'), st.text(max_size=5)), min_size=1, max_size=4),
       apis=good_apis)
def test_fuzz_fleet_form_refuses_before_any_write(etcd, instances, apis):
    del etcd[:]
    failed, result, store = run_module(etcd, apis=apis, instance_id=None,
                                       instances=[{'instance_id': i} for i in instances])
    if failed and 'results' not in result:  # refused up front: nothing written for any instance
        check_outcome(True, result, store)
        return
    # every instance was valid and distinct; the fleet ran (an instance may fail alone)
    assert len(set(instances)) == len(instances)
    assert [r['instance_id'] for r in result['results']] == instances


existing_routes = st.dictionaries(
    st.sampled_from(['api-%d' % i for i in range(6)] + ['stray', 'not an id!', 'a/b']),
    st.sampled_from([b'{}', b'not JSON', b'{"id":"api-1","schema":1}']), max_size=5)


@FUZZ
@given(apis=good_apis, existing=existing_routes, manifest=st.sampled_from([None, b'{}', b'garbage']),
       prune=st.booleans(), check_mode=st.booleans())
def test_fuzz_valid_sources_leave_exactly_their_routes(etcd, apis, existing, manifest, prune, check_mode):
    """Success path: whatever etcd held under the instance, a sync leaves the source's routes
    (plus, without prune, what it kept), writes nothing elsewhere, and reports what it wrote."""
    del etcd[:]
    routes = PREFIX + '/inst-1/apis/'
    etcd.seed = dict((routes + k, (v, 1)) for k, v in existing.items())
    etcd.seed[PREFIX + '/inst-1/notes'] = (b'not a route', 1)
    etcd.seed[PREFIX + '/inst-2/apis/api-1'] = (b'another instance', 1)
    if manifest is not None:
        etcd.seed[PREFIX + '/inst-1/manifest'] = (manifest, 1)
    failed, result, store = run_module(etcd, check_mode=check_mode, apis=apis, prune=prune, allow_empty=True)
    assert not failed, result['msg']
    check_outcome(failed, result, store, check_mode)
    if check_mode:
        return
    published = dict((a['id'], a) for a in apis if a['run_env_id'])
    kv = dict((text(k), v) for k, v in store.kv.items())
    held = dict((k[len(routes):], v) for k, v in kv.items() if k.startswith(routes))
    expected_ids = set(published) | (set() if prune else set(existing))
    assert set(held) == expected_ids
    assert kv[PREFIX + '/inst-1/notes'] == (b'not a route', 1)
    assert kv[PREFIX + '/inst-2/apis/api-1'] == (b'another instance', 1)
    for api_id in published:
        assert json.loads(held[api_id][0].decode('utf-8'))['req_uri'] == published[api_id]['req_uri']
    # claims: created = new keys, updated = changed keys, deleted = removed keys, nothing else
    assert set(result['created']) == set(published) - set(existing)
    # a stray key that holds no valid API id is reported by its full key
    named = dict((k, k if re.match(r'\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z', k) else routes + k) for k in existing)
    assert set(result['deleted']) == (set(named[k] for k in set(existing) - set(published)) if prune else set())
    assert set(result['updated']) <= set(published) & set(existing)
    written = set(named.get(text(op[1])[len(routes):], text(op[1])[len(routes):])
                  for ops in store.txns for op in ops if text(op[1]).startswith(routes))
    assert written == set(result['created']) | set(result['updated']) | set(result['deleted'])
    del etcd.seed
