# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The modules' DOCUMENTATION and RETURN are the option reference: check them against the code.

For every module of the installed collection (found by listing plugins/modules, so a new
module is covered the day it lands):

- its argument_spec, captured by running the module's ``main()`` with ``AnsibleModule``
  stopped at construction, matches what ``ansible-doc --json`` shows (fragments merged):
  the same options and suboptions, with the same type, elements, default, choices,
  required and aliases; every environment fallback is named with E(...) in the option's
  description; every ``no_log`` option is among the secrets a note of the module names,
  and only those;
- every key it returns in a representative set of real runs (each mode, single and
  fleet, success and failure; see RUNS) is documented in RETURN, and so is every key of
  the per-instance items of RV(results). A module without a representative run fails
  the test, so that the set grows with the modules;
- the other way round, every key that RETURN says is returned on failure is returned by
  one of the failing runs: each failure that carries its own keys (a refused source, an
  empty source that would delete routes, a lock held by someone else, writes that keep
  conflicting, a failed ListApisV2 or IAM login) is produced for real.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest

from apigw_support.ansible import INSTALLED_COLLECTION, INSTALLED_COLLECTIONS
from apigw_support.etcd import etcd_single
from apigw_support.etcd_proxy import ContestingProxy
from apigw_support.simulator import Simulator

NAMESPACE = 'apigw.router'
MODULES = sorted(os.path.splitext(name)[0] for name in os.listdir(str(INSTALLED_COLLECTION / 'plugins' / 'modules'))
                 if name.endswith('.py') and not name.startswith('_'))

# Run in a separate interpreter on the installed collection: main() builds the AnsibleModule,
# which is stopped there with the keyword arguments it was given.
CAPTURE_ARGSPEC = r'''
import importlib, json, sys
from ansible.module_utils import basic

class Captured(Exception):
    pass

def capture(self, *args, **kwargs):
    raise Captured(kwargs.get('argument_spec', args[0] if args else None))

def plain(spec):
    out = {}
    for name, option in spec.items():
        option = dict(option)
        fallback = option.pop('fallback', None)
        if fallback:
            option['fallback_env'] = list(fallback[1]) if len(fallback) > 1 and fallback[1] else []
        if 'options' in option and option['options'] is not None:
            option['options'] = plain(option['options'])
        if not isinstance(option.get('type', 'str'), str):
            option['type'] = getattr(option['type'], '__name__', repr(option['type']))
        out[name] = option
    return out

basic.AnsibleModule.__init__ = capture
specs = {}
for name in sys.argv[1:]:
    module = importlib.import_module('ansible_collections.apigw.router.plugins.modules.' + name)
    try:
        module.main()
    except Captured as exc:
        specs[name] = plain(exc.args[0])
    else:
        raise SystemExit('%s: main() did not build an AnsibleModule' % name)
print(json.dumps(specs))
'''


def python_env():
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(PYTHONPATH=str(INSTALLED_COLLECTIONS), ANSIBLE_COLLECTIONS_PATH=str(INSTALLED_COLLECTIONS),
               ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False', ANSIBLE_NOCOLOR='1')
    if 'utf-8' not in (env.get('LC_ALL') or env.get('LANG') or '').lower().replace('utf8', 'utf-8'):
        env['LC_ALL'] = 'C.UTF-8'
    return env


@pytest.fixture(scope='module')
def argspecs(installed_collection):
    out = subprocess.run([sys.executable, '-c', CAPTURE_ARGSPEC] + MODULES, env=python_env(), cwd='/',
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope='module')
def docs(installed_collection):
    ansible_doc = os.path.join(os.path.dirname(sys.executable), 'ansible-doc')
    out = subprocess.run([ansible_doc, '--json', '-t', 'module'] + ['%s.%s' % (NAMESPACE, m) for m in MODULES],
                         env=python_env(), cwd='/', capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# ------------------------------------------------------------------------------- options

def _same(a, b):
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b  # False is not a default of 0
    return a == b  # 30 documented for 30.0 is the same


def option_problems(spec, doc, where=''):
    """Differences between argspec options and documented options, one line each."""
    problems = []
    for name in sorted(set(spec) | set(doc)):
        here = where + name
        if name not in doc:
            problems.append('%s: in the argspec but not documented' % here)
            continue
        if name not in spec:
            problems.append('%s: documented but not in the argspec' % here)
            continue
        s, d = spec[name], doc[name]
        for attr, missing in (('type', 'str'), ('elements', None), ('required', False), ('default', None)):
            sv, dv = s.get(attr, missing), d.get(attr, missing)
            if sv is None:
                sv = missing
            if dv is None:
                dv = missing
            if not _same(sv, dv):
                problems.append('%s: %s is %r in the argspec, %r in the docs' % (here, attr, sv, dv))
        for attr in ('choices', 'aliases'):
            sv, dv = sorted(s.get(attr) or []), sorted(d.get(attr) or [])
            if sv != dv:
                problems.append('%s: %s are %r in the argspec, %r in the docs' % (here, attr, sv, dv))
        description = ' '.join(d.get('description') or [])
        for variable in s.get('fallback_env') or []:
            if 'E(%s)' % variable not in description:
                problems.append('%s: falls back to $%s, which its description does not name as E(%s)'
                                % (here, variable, variable))
        if s.get('options') or d.get('suboptions'):
            problems += option_problems(s.get('options') or {}, d.get('suboptions') or {}, here + '.')
    return problems


SECRETS_NOTE = re.compile(r'^Secrets \(((?:O\([a-z0-9_.]+\)|[^()])*)\)')


def no_log_problems(spec, doc):
    """The no_log options must be exactly the secrets that a note of the module names."""
    secret = set(n for n, o in spec.items() if o.get('no_log'))
    named = set()
    for note in doc.get('notes') or []:
        found = SECRETS_NOTE.match(note)
        if found:
            named |= set(re.findall(r'O\(([a-z0-9_]+)\)', found.group(1)))
    problems = []
    if secret - named:
        problems.append('no_log options that no "Secrets (...)" note names: %s' % ', '.join(sorted(secret - named)))
    if named - secret:
        problems.append('named as secrets but not no_log: %s' % ', '.join(sorted(named - secret)))
    return problems


@pytest.mark.parametrize('module', MODULES)
def test_documented_options_match_the_argspec(argspecs, docs, module):
    spec = argspecs[module]
    doc = docs['%s.%s' % (NAMESPACE, module)]['doc']
    problems = option_problems(spec, doc.get('options') or {}) + no_log_problems(spec, doc)
    assert not problems, '%s:\n  %s' % (module, '\n  '.join(problems))


def test_the_comparison_catches_each_kind_of_gap():
    # The checker itself, on made-up input: every difference is reported.
    spec = {'a': {'type': 'int', 'default': 3}, 'b': {'type': 'list', 'elements': 'str', 'choices': ['x', 'y']},
            'c': {}, 'd': {'type': 'bool', 'default': False, 'fallback_env': ['D_ENV']},
            'f': {'type': 'list', 'elements': 'dict', 'options': {'g': {'required': True}, 'h': {}}}}
    doc = {'a': {'type': 'int', 'default': 4}, 'b': {'type': 'list', 'elements': 'str', 'choices': ['x']},
           'd': {'type': 'bool', 'default': 0, 'description': ['Uses D_ENV.']}, 'e': {},
           'f': {'type': 'list', 'elements': 'dict', 'suboptions': {'g': {}}}}
    assert option_problems(spec, doc) == [
        'a: default is 3 in the argspec, 4 in the docs',
        "b: choices are ['x', 'y'] in the argspec, ['x'] in the docs",
        'c: in the argspec but not documented',
        'd: default is False in the argspec, 0 in the docs',
        'd: falls back to $D_ENV, which its description does not name as E(D_ENV)',
        'e: documented but not in the argspec',
        'f.g: required is True in the argspec, False in the docs',
        'f.h: in the argspec but not documented',
    ]
    assert no_log_problems({'p': {'no_log': True}, 'q': {}}, {'notes': ['Secrets (O(q)) never appear.']}) == [
        'no_log options that no "Secrets (...)" note names: p', 'named as secrets but not no_log: q']


# ------------------------------------------------------------------------------ returns

PROJECT = '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e'
TOKEN = 'MIItest-docs-token-0d0c5'


def _published(api_id, group_id):
    return {'id': api_id, 'group_id': group_id, 'group_name': 'name-' + group_id, 'req_uri': '/' + api_id,
            'envs': [{'id': 'DEFAULT_ENVIRONMENT_RELEASE_ID', 'name': 'RELEASE'}]}


SIM_CONFIG = {
    'settings': {'refresh': {'working_polls': 1, 'working_seconds': 0}},
    'projects': [{'id': PROJECT, 'name': 'cn-test-1', 'instances': [
        {'id': 'inst-a', 'generate': {'count': 3, 'seed': 1}},
        {'id': 'inst-b', 'generate': {'count': 3, 'seed': 2}},
        {'id': 'inst-cut', 'generate': {'count': 3, 'seed': 3}},
        # Ordered so that then_regroup moves the first of each (see REGROUPED and MOVING).
        {'id': 'inst-regroup', 'apis': [_published('rb1', 'gb'), _published('ra1', 'ga'), _published('rb2', 'gb')]},
        {'id': 'inst-moving', 'apis': [_published('m1', 'ga'), _published('m2', 'gb')]},
    ]}],
    'credentials': {'tokens': [{'name': 'ci-token', 'token': TOKEN, 'roles': ['op_svc_apig']}],
                    'users': [{'name': 'docs-user', 'password': 'Docs-Passw0rd!', 'domain': 'docs-domain',
                               'roles': ['op_svc_apig']}]},
}
# Keys every module result may have that Ansible itself adds or defines.
ANSIBLE_KEYS = {'changed', 'failed', 'msg', 'invocation', 'diff', 'warnings', 'deprecations', 'exception', 'skipped'}
# Keys every item of RV(results) has besides its mode's keys (RETURN says so).
ITEM_KEYS = {'instance_id', 'changed', 'failed', 'msg', 'diff'}


BAD_API = {'id': 'bad-1', 'req_method': 'FETCH', 'req_uri': 'no-slash', 'run_env_id': 'e1'}
GOOD_API = {'id': 'good-1', 'req_method': 'GET', 'req_uri': '/good', 'run_env_id': 'e1'}
# An instance shared by two API groups, for scope, backup and dest.
SHARED = 'inst-shared'
G1_API = dict(GOOD_API, id='g1-api', group_id='g1', group_name='one')
G2_API = dict(GOOD_API, id='g2-api', group_id='g2', group_name='two')
# The lock of this instance is held by someone else for the whole run.
LOCKED = 'inst-locked'
# Every transaction that writes one of the last CONTESTED routes of this instance meets them
# just rewritten by another writer (ContestingProxy), so each attempt of the sync conflicts,
# and so does each re-plan, until it gives up: on a machine of any speed.
CONFLICTED, CONFLICT_ROUTES, CONTESTED = 'inst-conflict', 12, 4
# Every ListApisV2 listing of this instance ends short of its total: never used as a source.
TRUNCATED = 'inst-cut'
# rb1 moves from group gb into ga just after ga was listed: the scoped sync plans to prune its
# route, asks ListApisV2 for it by id and finds it in the scope (missed).
REGROUPED = 'inst-regroup'
# m1 moves into gb after each listing of ga and back before the next one: listed twice every round.
MOVING = 'inst-moving'


CONFLICT_APIS = [dict(GOOD_API, id='c%04d' % i, req_uri='/c/%d' % i) for i in range(CONFLICT_ROUTES)]


def representative_tasks(sim, etcd, contesting_proxy, files):
    """(module, task) pairs: each mode, single and fleet, with and without options that add keys."""
    api = dict(project_id=PROJECT, endpoint=sim.url, auth_token=TOKEN, retries=0)
    store = dict(etcd_endpoints=etcd.endpoints, key_prefix='/t/docs')
    refresh, info, login = 'apigw_router_refresh', 'apigw_router_info', 'apigw_iam_token'
    password = dict(iam_endpoint=sim.url, iam_user='docs-user', iam_password='Docs-Passw0rd!',
                    iam_domain='docs-domain', retries=0)
    fleet = [{'instance_id': 'inst-a'}, {'instance_id': 'inst-b'}]
    tasks = [
        (refresh, dict(instance_id='inst-a', **api)),
        (refresh, dict(instance_id='inst-a', resources=['apis', 'acls'], wait=True, wait_sleep=0, **api)),
        (refresh, dict(instance_id='no-such-instance', **api)),
        (refresh, dict(instances=fleet + [{'instance_id': 'no-such-instance'}], **api)),
        (refresh, dict(mode='etcd', instance_id='inst-a', **dict(api, **store))),
        (refresh, dict(mode='etcd', instances=fleet, apis=[], allow_empty=True, **store)),
        (refresh, dict(mode='etcd', instances=fleet, **dict(api, **store))),
        (info, dict(instance_id='inst-a', records=True, **store)),
        (info, dict(instance_id='inst-a', compare=True, **dict(api, **store))),
        (info, dict(instance_id='inst-b', compare=True, fail_on_drift=True, apis=[], **store)),
        (info, dict(instances=fleet, compare=True, records=True, **dict(api, **store))),
        (login, dict(project_id=PROJECT, **password)),
        (login, dict(project_id=PROJECT, **dict(password, iam_password='wrong'))),
        # Failures with keys of their own.
        (refresh, dict(mode='etcd', instance_id='inst-a', apis=[BAD_API, BAD_API], **store)),
        (info, dict(instance_id='inst-a', compare=True, apis=[BAD_API], **store)),
        (info, dict(instance_id='no-such-instance', compare=True, **dict(api, **store))),
        (refresh, dict(mode='etcd', instance_id='inst-a', apis=[], **store)),
        (refresh, dict(mode='etcd', instance_id=LOCKED, apis=[GOOD_API], lock_timeout=0.5, **store)),
        # Through the proxy that always gets between (see CONFLICTED).
        (refresh, dict(mode='etcd', instance_id=CONFLICTED, apis=CONFLICT_APIS,
                       **dict(store, etcd_endpoints=[contesting_proxy.endpoint]))),
        (refresh, dict(mode='etcd', instance_id=TRUNCATED, **dict(api, **store))),
        (info, dict(instance_id=TRUNCATED, compare=True, **dict(api, **store))),
        (refresh, dict(mode='etcd', instance_id=REGROUPED,
                       apis=[dict(GOOD_API, id='rb1', group_id='gb', group_name='name-gb')], **store)),
        (refresh, dict(mode='etcd', instance_id=REGROUPED, scope={'groups': ['ga', 'gb']}, **dict(api, **store))),
        (refresh, dict(mode='etcd', instance_id=MOVING, scope={'groups': ['ga', 'gb']}, **dict(api, **store))),
        # A shared instance: a scoped sync with a backup, an export, and the scope's refusals.
        (refresh, dict(mode='etcd', instance_id=SHARED, apis=[G1_API, G2_API], **store)),
        (refresh, dict(mode='etcd', instance_id=SHARED, apis=[dict(G1_API, req_uri='/moved')], scope={'groups': ['g1']},
                       backup=True, backup_dir=files, **store)),
        (info, dict(instance_id=SHARED, scope={'groups': ['one']}, dest=files + '/one.json', **store)),
        (refresh, dict(mode='etcd', instance_id=SHARED, apis=[G2_API], scope={'groups': ['g1']}, **store)),
        (refresh, dict(mode='etcd', instance_id=SHARED, apis=[dict(G1_API, id='g2-api')], scope={'groups': ['g1']},
                       **store)),
        (info, dict(instance_id=SHARED, compare=True, apis=[G2_API], scope={'groups': ['g1']}, **store)),
        (info, dict(instance_id=SHARED, compare=True, apis=[dict(G1_API, id='g2-api')], scope={'groups': ['g1']},
                    **store)),
    ]
    return [(module, {'name': '%s %d' % (module, i), '%s.%s' % (NAMESPACE, module): args, 'ignore_errors': True})
            for i, (module, args) in enumerate(tasks)]


def test_every_returned_key_is_documented(ansible, docs, tmp_path):
    (tmp_path / 'etcd').mkdir()
    (tmp_path / 'sim').mkdir()
    with etcd_single(tmp_path / 'etcd') as etcd, Simulator(SIM_CONFIG, workdir=tmp_path / 'sim') as sim:
        etcd.put('/t/docs/%s/lock' % LOCKED, 'another-sync-0001')
        sim.set_faults(TRUNCATED, always={'truncate': 1})
        sim.set_faults(REGROUPED, sequence=[{'then_regroup': 'ga'}])
        sim.set_faults(MOVING, sequence=[{'then_regroup': 'gb'}, {'then_regroup': 'ga'}] * 3)
        contested = ['/t/docs/%s/apis/c%04d' % (CONFLICTED, i)
                     for i in range(CONFLICT_ROUTES - CONTESTED, CONFLICT_ROUTES)]
        with ContestingProxy(etcd.endpoints[0], contested) as proxy:
            pairs = representative_tasks(sim, etcd, proxy, str(tmp_path))
            run = ansible.run_tasks([task for _module, task in pairs], diff=True, name='returns')
        # The first attempt and each of the 5 re-plans (max_conflict_retries' default) met the other writer.
        assert proxy.interventions >= 6, (proxy.interventions, run.describe())
        assert etcd.etcdctl(['get', contested[0], '--print-value-only']).startswith('someone else')
    assert run.rc in (0, 2), run.describe()
    without_runs = sorted(set(MODULES) - set(module for module, _task in pairs))
    assert not without_runs, 'no representative run for: %s (add one to representative_tasks)' % without_runs

    problems = []
    for module, task in pairs:
        result = run.task(task['name']).result
        documented = set((docs['%s.%s' % (NAMESPACE, module)].get('return') or {}))
        for key in sorted(set(result) - documented - ANSIBLE_KEYS):
            if not key.startswith('_ansible'):
                problems.append('%s: returns %s, which RETURN does not document' % (task['name'], key))
        for index, item in enumerate(result.get('results') or []):
            for key in sorted(set(item) - documented - ITEM_KEYS):
                problems.append('%s: results[%d] has %s, which RETURN does not document'
                                % (task['name'], index, key))
    assert not problems, '\n'.join(problems)

    # Every key RETURN documents as returned on failure came with a failure above.
    for module in MODULES:
        on_failure = set(key for key, doc in (docs['%s.%s' % (NAMESPACE, module)].get('return') or {}).items()
                         if str(doc.get('returned', '')).startswith('failure'))
        seen = set()
        for name, task in pairs:
            outcome = run.task(task['name'])
            result = outcome.result
            if name == module and outcome.failed:
                seen |= set(result)
                for item in result.get('results') or []:
                    seen |= set(item) if item.get('failed') else set()
        assert on_failure <= seen, '%s: RETURN documents %s on failure, which no failing run returned' % (
            module, sorted(on_failure - seen))
