# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the docs tell users to write works as written.

1. ``module_defaults`` for ``group/apigw.router.apigw``: the guide lists what belongs there
   (the APIG connection and authentication options, ``project_id``, the etcd connection
   options). Every module of the action group runs with a group that carries every one of
   them, once per authentication method, through ``ansible-playbook`` against the
   simulator and a real etcd with TLS and authentication.

2. The examples: every YAML code block of README.md, docs/docsite/rst/*.rst and the
   fleet_refresh role's README.md, and every module's EXAMPLES, is run as written against the simulator and a real etcd, in document
   order. The placeholder scheme (what the test fills in, and nothing else):

   - ``{{ variables }}`` are extra vars (``EXAMPLE_VARS``); hosts in ``apig_instances`` come
     from a static inventory with the ``apigw_*`` host variables the inventory plugin sets;
   - endpoints derived from ``region`` go to the simulator through
     ``HUAWEICLOUD_APIG_ENDPOINT`` and ``ANSIBLE_HWC_IDENTITY_ENDPOINT``; the etcd client
     certificate, user and password come from the ``ETCDCTL_*`` variables, as the CI/CD guide
     says;
   - literal etcd endpoints (``https://<host>:2379``) and the ``/etc/apig/*.pem`` files are the
     test's etcd and its certificates;
   - the files an example names (``apis.json``, ``files/apis.json``, ``apis/<id>.json``,
     ``./bin/export-apis``) are put beside the playbook.

   A block that is not a playbook or a task list is marked in the docs, just before it:
   ``.. example: fragment (why)`` in reStructuredText, ``<!-- example: fragment (why) -->`` in
   Markdown; it is only parsed. ``example: environment`` marks a task list that takes the
   project and the credentials from the environment variables, which the test then sets.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re
import subprocess
import sys

import pytest
import yaml

from apigw_support.ansible import INSTALLED_COLLECTIONS, REPO_ROOT, AnsibleRunner
from apigw_support.etcd import USER, USER_PASSWORD, etcd_single
from apigw_support.simulator import Simulator

NAMESPACE = 'apigw.router'
MODULES = ('apigw_router_refresh', 'apigw_router_info', 'apigw_iam_token')

# The ids the examples use literally, and the values of their placeholders.
P1 = '0a1b2c3d4e5f67890a1b2c3d4e5f6789'          # cn-north-4 (the refresh EXAMPLES' literal project)
P2 = '5f4e3d2c1b0a9f8e7d6c5b4a39281706'          # eu-west-101
I1, I2, I3 = '1d2a5f7b0c9e4e0f8a3b6c2d9e8f7a6b', '7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29', '5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b'
INSTANCE = 'ex-instance-01'
TOKEN = 'MIIexamples-token-8c1f'
AK, SK, ST = 'EXAMPLEAK0000000001', 'example-sk-Secret-0001', 'example-security-token-0001'
IAM_USER, IAM_PASSWORD, IAM_DOMAIN = 'example-user', 'Example-Passw0rd!', 'example-domain'

SIM_CONFIG = {
    'settings': {'refresh': {'working_polls': 1, 'working_seconds': 0}},
    'projects': [
        {'id': P1, 'name': 'cn-north-4', 'instances': [
            {'id': i, 'generate': {'count': 4, 'seed': n}} for n, i in enumerate((I1, I2, INSTANCE, 'grp-a'))]},
        {'id': P2, 'name': 'eu-west-101', 'instances': [{'id': I3, 'generate': {'count': 4, 'seed': 9}}]},
    ],
    'credentials': {
        'tokens': [{'name': 'examples', 'token': TOKEN, 'roles': ['op_svc_apig']}],
        'keys': [{'ak': AK, 'sk': SK, 'roles': ['op_svc_apig']},
                 {'ak': AK + 'T', 'sk': SK, 'security_token': ST, 'roles': ['op_svc_apig']}],
        'users': [{'name': IAM_USER, 'password': IAM_PASSWORD, 'domain': IAM_DOMAIN, 'roles': ['op_svc_apig']}],
    },
}

# One published API: every file and variable an example syncs from holds it, so that the
# examples agree with each other and a drift gate after a sync passes.
APIS = [{'id': 'ex0001', 'name': 'orders', 'group_id': 'g1', 'group_name': 'shop', 'req_method': 'GET',
         'req_uri': '/orders', 'run_env_id': 'DEFAULT_ENVIRONMENT_RELEASE_ID', 'run_env_name': 'RELEASE',
         'publish_id': 'p1'}]


@pytest.fixture(scope='module')
def servers(tmp_path_factory, installed_collection):
    base = tmp_path_factory.mktemp('docs-examples')
    with etcd_single(str(base / 'etcd'), tls=True, auth=True) as etcd, \
            Simulator(SIM_CONFIG, workdir=base / 'sim') as sim:
        yield sim, etcd


def etcd_env(etcd):
    return {'ETCDCTL_ENDPOINTS': ','.join(etcd.endpoints), 'ETCDCTL_CACERT': etcd.certs['ca'],
            'ETCDCTL_CERT': etcd.certs['client_cert'], 'ETCDCTL_KEY': etcd.certs['client_key'],
            'ETCDCTL_USER': USER, 'ETCDCTL_PASSWORD': USER_PASSWORD}


def routes_of(etcd, instance_id):
    prefix = '/apig/router/%s/apis/' % instance_id
    return sorted(key[len(prefix):] for key in etcd.dump(prefix))


# ------------------------------------------------------------------------ group defaults

def documented_group_options():
    """The options the auth guide lists for group/apigw.router.apigw, in its own words."""
    text = (REPO_ROOT / 'docs' / 'docsite' / 'rst' / 'guide_auth.rst').read_text(encoding='utf-8')
    section = text.split('What belongs there:', 1)[1].split('Every module accepts', 1)[0]
    return set(re.findall(r'``([a-z_]+)``', section))


def module_docs():
    env = {k: v for k, v in os.environ.items() if not k.startswith('ANSIBLE_')}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(INSTALLED_COLLECTIONS), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False',
               LC_ALL='C.UTF-8')
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-doc'), '--json', '-t', 'module']
                         + ['%s.%s' % (NAMESPACE, m) for m in MODULES], env=env, cwd='/', capture_output=True,
                         text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return dict((name.split('.')[-1], doc['doc']) for name, doc in json.loads(out.stdout).items())


def test_every_module_documents_every_group_option(installed_collection):
    group = documented_group_options()
    # The guide's list is the connection fragments' options and project_id, no more, no less.
    assert 'project_id' in group and 'secret_key' in group and 'etcd_password' in group and 'key_prefix' in group
    docs = module_docs()
    for module in MODULES:
        missing = sorted(group - set(docs[module]['options']))
        assert not missing, '%s does not take the group options %s' % (module, missing)
    # Every other place that writes module_defaults for the group uses only those options.
    for path in [REPO_ROOT / 'README.md', REPO_ROOT / 'roles' / 'fleet_refresh' / 'README.md'] + sorted(
            (REPO_ROOT / 'docs' / 'docsite' / 'rst').glob('*.rst')) + sorted((REPO_ROOT / 'playbooks').glob('*.yml')):
        for block in re.findall(r'group/apigw\.router\.apigw:\n((?:\s+[a-z_]+:.*\n)+)', path.read_text('utf-8')):
            indent = len(block) - len(block.lstrip(' '))
            used = set(re.findall(r'^ {%d}([a-z_]+):' % indent, block, re.M))
            assert used <= group, '%s: %s in module_defaults for the group, which the guide does not list' % (
                path.name, sorted(used - group))


def group_values(sim, etcd, method):
    values = dict(
        endpoint=sim.url, region='cn-north-4', cloud='myhuaweicloud.com', project_id=P1, iam_endpoint=sim.url,
        validate_certs=True, ca_path=etcd.certs['ca'], timeout=20, retries=1, retry_delay=0.1,
        etcd_endpoints=etcd.endpoints, etcd_ca_cert=etcd.certs['ca'], etcd_client_cert=etcd.certs['client_cert'],
        etcd_client_key=etcd.certs['client_key'], etcd_user=USER, etcd_password=USER_PASSWORD, etcd_timeout=10,
        etcd_library='auto', key_prefix='/apig/router')
    values.update({'token': dict(auth_token=TOKEN),
                   'aksk': dict(access_key=AK + 'T', secret_key=SK, security_token=ST),
                   'password': dict(iam_user=IAM_USER, iam_password=IAM_PASSWORD, iam_domain=IAM_DOMAIN)}[method])
    return values


@pytest.mark.parametrize('method', ['token', 'aksk', 'password'])
def test_every_module_runs_with_every_group_option(ansible, servers, method):
    sim, etcd = servers
    group = group_values(sim, etcd, method)
    auth_options = ('auth_token', 'access_key', 'secret_key', 'security_token', 'iam_user', 'iam_password',
                    'iam_domain')
    # The group carries every documented option, of one authentication method.
    assert set(group) | set(auth_options) == documented_group_options()
    fixed = 'grp-fixed-' + method
    login = {} if method == 'password' else dict(iam_user=IAM_USER, iam_password=IAM_PASSWORD, iam_domain=IAM_DOMAIN)
    tasks = [
        {'name': 'refresh api', 'apigw.router.apigw_router_refresh': {'instance_id': 'grp-a'}},
        {'name': 'sync from ListApisV2', 'apigw.router.apigw_router_refresh': {'instance_id': 'grp-a', 'mode': 'etcd'}},
        {'name': 'sync from apis', 'apigw.router.apigw_router_refresh': {'instance_id': fixed, 'mode': 'etcd',
                                                                         'apis': APIS}},
        {'name': 'info', 'apigw.router.apigw_router_info': {'instance_id': fixed, 'records': True}},
        {'name': 'drift from ListApisV2',
         'apigw.router.apigw_router_info': {'instance_id': 'grp-a', 'compare': True, 'fail_on_drift': True}},
        {'name': 'login', 'apigw.router.apigw_iam_token': login, 'no_log': True},
    ]
    since = sim.last_seq()
    run = ansible.run_tasks(tasks, module_defaults={'group/apigw.router.apigw': group}, name='group-' + method)
    run.assert_success()
    assert run.task('info')['count'] == 1 and run.task('drift from ListApisV2')['in_sync'] is True
    # Out of band: the simulator saw the refresh and the reads with this method, etcd holds the routes.
    log = sim.requests(since)
    puts = [e for e in log if e['method'] == 'PUT' and e['instance_id'] == 'grp-a']
    assert [(e['resource'], e['status']) for e in puts] == [('apis', 200)], log
    expected_auth = {'token': 'token', 'aksk': 'aksk', 'password': 'token'}[method]
    assert set(e['auth'] for e in log if e['instance_id'] == 'grp-a') == {expected_auth}, log
    assert [e for e in log if e['path'].startswith('/v3/auth/tokens')], 'the login task did not log in'
    assert routes_of(etcd, fixed) == ['ex0001']
    assert len(routes_of(etcd, 'grp-a')) == run.task('drift from ListApisV2')['count'] > 0
    for secret in (SK, ST, TOKEN, IAM_PASSWORD, USER_PASSWORD):
        assert not ansible.find_in_captures(secret), 'a secret of the group shows in the output'


# ------------------------------------------------------------------------------ examples

EXAMPLE_VARS = {
    'apig_project_id': P1, 'apig_instance_id': INSTANCE, 'iam_token': TOKEN, 'vault_apig_token': TOKEN,
    'vault_apig_ak': AK, 'vault_apig_sk': SK, 'vault_ak': AK, 'vault_sk': SK,
    'iam_user': IAM_USER, 'vault_iam_user': IAM_USER, 'vault_iam_password': IAM_PASSWORD,
    'iam_domain': IAM_DOMAIN, 'vault_iam_domain': IAM_DOMAIN,
    'vault_etcd_user': USER, 'vault_etcd_password': USER_PASSWORD, 'vault_payments_etcd_password': USER_PASSWORD,
    'apig_fleet': [{'instance_id': I1}, {'instance_id': I2}],
    'apig_instances': [{'instance_id': I1}, {'instance_id': I2}],
    'apis_from_git': APIS,
}
MARKER = re.compile(r'^(?:\.\. |<!-- )example: (fragment|environment)\b')
ETCD_ENDPOINT = re.compile(r'https?://[A-Za-z0-9.-]+:2379')
EXPORT_APIS = '''#!/bin/sh
# Stands for the users' own export command of the large-sources guide.
out=""
while [ $# -gt 0 ]; do [ "$1" = --out ] && out="$2"; shift; done
cat > "$out" <<'JSON'
%s
JSON
''' % json.dumps({'total': len(APIS), 'apis': APIS})


def _blocks_md(path):
    lines = path.read_text('utf-8').splitlines()
    marker, i = None, 0
    while i < len(lines):
        line = lines[i]
        if MARKER.match(line):
            marker = MARKER.match(line).group(1)
        elif line.startswith('```'):
            lang, body, start, i = line[3:].strip(), [], i + 1, i + 1
            while not lines[i].startswith('```'):
                body.append(lines[i])
                i += 1
            if lang == 'yaml':
                yield marker or 'run', '\n'.join(body) + '\n', start
            marker = None
        elif line.strip():
            marker = None
        i += 1


def _blocks_rst(path):
    lines = path.read_text('utf-8').splitlines()
    marker = None
    for i, line in enumerate(lines):
        if MARKER.match(line):
            marker = MARKER.match(line).group(1)
            continue
        found = re.match(r'^\.\. code-block:: (\S+)', line)
        if found:
            body = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and not nxt.startswith(' '):
                    break
                body.append(nxt)
            text = '\n'.join(body).strip('\n')
            indent = min(len(t) - len(t.lstrip(' ')) for t in text.splitlines() if t.strip())
            text = '\n'.join(t[indent:] for t in text.splitlines()) + '\n'
            if found.group(1) in ('yaml', 'yaml+jinja'):
                yield marker or 'run', text, i + 1
            marker = None
        elif line.strip():
            marker = None


def collect_examples():
    found = []
    role_readme = REPO_ROOT / 'roles' / 'fleet_refresh' / 'README.md'
    sources = [(path.name, path) for path in [REPO_ROOT / 'README.md'] + sorted(
        (REPO_ROOT / 'docs' / 'docsite' / 'rst').glob('*.rst'))] + [('fleet_refresh/README.md', role_readme)]
    for label, path in sources:
        blocks = _blocks_md(path) if path.suffix == '.md' else _blocks_rst(path)
        for kind, text, line in blocks:
            found.append(('%s:%d' % (label, line), kind, text))
    for module in MODULES:
        source = (REPO_ROOT / 'plugins' / 'modules' / (module + '.py')).read_text('utf-8')
        text = source.split("EXAMPLES = r'''", 1)[1].split("'''", 1)[0].lstrip('\n')
        found.append(('%s EXAMPLES' % module, 'run', text))
    return found


EXAMPLES = collect_examples()


def substituted(text, etcd):
    """The example with its literal etcd endpoints and certificate files replaced by the test's."""
    text = ETCD_ENDPOINT.sub(etcd.endpoints[0], text)
    for name, path in (('etcd-ca.pem', etcd.certs['ca']), ('etcd-client.pem', etcd.certs['client_cert']),
                       ('etcd-client-key.pem', etcd.certs['client_key'])):
        text = text.replace('/etc/apig/' + name, path)
    return text


def as_playbook(text, files_dir):
    """Plays as they are, or a task list as the tasks of a play on localhost, after a setup play
    that puts the files the examples name beside the playbook."""
    setup = [{'name': 'examples setup', 'hosts': 'localhost', 'gather_facts': False, 'tasks': [
        {'ansible.builtin.copy': {'src': str(files_dir) + '/', 'dest': '{{ playbook_dir }}/', 'mode': 'preserve'}}]}]
    parsed = yaml.safe_load(text)
    assert isinstance(parsed, list) and parsed, 'neither plays nor tasks: mark it "example: fragment"'
    head = yaml.safe_dump(setup, sort_keys=False)
    if all('hosts' in item for item in parsed):
        return head + text
    return head + '- hosts: localhost\n  gather_facts: false\n  tasks:\n' + ''.join(
        '    ' + line if line.strip() else line for line in text.splitlines(True))


@pytest.fixture(scope='module')
def example_env(servers, tmp_path_factory, installed_collection):
    sim, etcd = servers
    ansible = AnsibleRunner(tmp_path_factory.mktemp('seed'), collections_path=installed_collection.parents[2])
    files = tmp_path_factory.mktemp('example-files')
    for name in ('apis.json', 'files/apis.json', 'apis/%s.json' % INSTANCE):
        (files / name).parent.mkdir(parents=True, exist_ok=True)
        (files / name).write_text(json.dumps(APIS), encoding='utf-8')
    (files / 'bin').mkdir()
    (files / 'bin' / 'export-apis').write_text(EXPORT_APIS, encoding='utf-8')
    (files / 'bin' / 'export-apis').chmod(0o755)
    inventory = files.parent / 'example-inventory.yml'
    host = dict(ansible_connection='local', ansible_python_interpreter=sys.executable, apigw_project_id=P1,
                apigw_region='cn-north-4', apigw_endpoint=sim.url)
    inventory.write_text(json.dumps({'apig_instances': {'hosts': dict(
        (i, dict(host, apigw_instance_id=i)) for i in (I1, I2))}}), encoding='utf-8')
    env = dict(etcd_env(etcd), HUAWEICLOUD_APIG_ENDPOINT=sim.url, ANSIBLE_HWC_IDENTITY_ENDPOINT=sim.url)
    # Every example may come after any other: the instances the gates check start in sync.
    ansible.run_tasks([{'name': 'seed', 'apigw.router.apigw_router_refresh': {
        'mode': 'etcd', 'instances': [{'instance_id': i} for i in (INSTANCE, I1, I2)], 'apis': APIS}}],
        env=env, name='seed').assert_success()
    return files, inventory, env


def test_the_docs_have_examples_and_markers():
    kinds = [kind for _where, kind, _text in EXAMPLES]
    assert kinds.count('run') >= 15 and kinds.count('fragment') == 5 and kinds.count('environment') == 1


ROLE = NAMESPACE + '.fleet_refresh'


def role_uses(node):
    """The ``vars`` of every use of the fleet_refresh role in a parsed example (``roles:`` or
    ``include_role``/``import_role``)."""
    found = []
    if isinstance(node, list):
        for item in node:
            found += role_uses(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key == 'role' and value == ROLE or key.endswith(('include_role', 'import_role')) and isinstance(
                    value, dict) and value.get('name') == ROLE:
                found.append(node.get('vars') or {})
            elif isinstance(value, (list, dict)):
                found += role_uses(value)
    return found


def check_role_outcome(uses, run, sim, etcd, since):
    """What the README of the role promises, checked out of band: every instance of the fleet
    (I1 and I2, however the example lists them) refreshed with the resources named, or its
    routes written to etcd; the reports where fleet_refresh_report_dir says, with a clean summary."""
    for role_vars in uses:
        listed = role_vars.get('fleet_refresh_instances') or role_vars.get('fleet_refresh_hosts')
        assert listed in ('{{ apig_fleet }}', '{{ apig_instances }}', "{{ groups['apig_instances'] }}"), listed
        if role_vars.get('fleet_refresh_mode', 'api') == 'api':
            resources = set(role_vars.get('fleet_refresh_resources') or ['apis'])
            for instance in (I1, I2):
                puts = set((e['resource'], e['status']) for e in sim.requests(since)
                           if e['method'] == 'PUT' and e['instance_id'] == instance)
                assert puts == set((r, 200) for r in resources), (instance, puts)
        else:
            assert routes_of(etcd, I1) == routes_of(etcd, I2) == ['ex0001']
        report_dir = role_vars.get('fleet_refresh_report_dir')
        if report_dir:
            directory = run.run_dir / report_dir.replace('{{ playbook_dir }}', str(run.run_dir))
            report = json.loads((directory / 'fleet_refresh.json').read_text('utf-8'))
            assert report['summary']['total'] == 2 and report['summary']['failed'] == 0, report['summary']
            assert (directory / 'fleet_refresh.junit.xml').read_text('utf-8').count('<testcase') == 2


@pytest.mark.parametrize('where,kind,text', EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_runs_as_written(ansible, servers, example_env, where, kind, text):
    sim, etcd = servers
    files, inventory, env = example_env
    if kind == 'fragment':
        assert yaml.safe_load(text) is not None  # still valid YAML
        return
    if kind == 'environment':
        env = dict(env, HUAWEICLOUD_AUTH_TOKEN=TOKEN, HUAWEICLOUD_SDK_PROJECT_ID=P1)
    uses = role_uses(yaml.safe_load(text))
    if any(u.get('fleet_refresh_mode') == 'etcd' for u in uses):
        # The routes the seed wrote must be written again by the example itself.
        for instance in (I1, I2):
            etcd.etcdctl(['del', '--prefix', '/apig/router/%s/apis/' % instance])
    since = sim.last_seq()
    run = ansible.run(as_playbook(substituted(text, etcd), files), env=env,
                      extra_vars=dict(EXAMPLE_VARS, apig_etcd_endpoints=etcd.endpoints),
                      args=['-i', str(inventory)], name=re.sub(r'\W+', '-', where))
    run.assert_success()
    ours = [r for r in run.results if r.resolved_action.startswith(NAMESPACE + '.')
            or r.action.startswith(NAMESPACE + '.') or r.action == 'ansible.builtin.include_role']
    assert ours, 'the example ran no task of the collection\n' + run.describe()
    failed = [r.task for r in ours if r.failed]
    assert not failed, '%s failed\n%s' % (failed, run.describe())
    # Out of band: what the example asked of the management API reached it with a valid credential.
    refused = [e for e in sim.requests(since) if e['status'] in (401, 403)]
    assert not refused, refused
    check_role_outcome(uses, run, sim, etcd, since)


# ------------------------------------------------------------------- what the prose says

def cache_files(ansible):
    cache = ansible.workdir / 'cache' / 'apigw.router' / 'sources'
    return sorted(p.name for p in cache.iterdir()) if cache.is_dir() else []


def test_the_role_takes_source_cache_false_as_the_large_sources_guide_says(ansible, servers, tmp_path):
    sim, etcd = servers
    src = tmp_path / 'apis.json'
    src.write_text(json.dumps(APIS))
    role = {'hosts': 'localhost', 'gather_facts': False, 'roles': [{'role': 'apigw.router.fleet_refresh', 'vars': {
        'fleet_refresh_mode': 'etcd', 'fleet_refresh_instances': [{'instance_id': 'cache-off-1'}],
        'fleet_refresh_options': {'src': str(src), 'source_cache': False}}}]}
    ansible.run([role], env=etcd_env(etcd)).assert_success()
    assert routes_of(etcd, 'cache-off-1') == ['ex0001']
    assert cache_files(ansible) == []  # neither read nor written


def test_the_info_module_writes_the_source_cache_in_check_mode_as_documented(ansible, servers, tmp_path):
    sim, etcd = servers
    src = tmp_path / 'apis.json'
    src.write_text(json.dumps(APIS))
    revision = etcd.revision()
    ansible.run_tasks([{'name': 'gate', 'apigw.router.apigw_router_info': {
        'instance_id': 'cache-info-1', 'compare': True, 'src': str(src)}}],
        env=etcd_env(etcd), check=True).assert_success()
    assert etcd.revision() == revision  # nothing written to etcd
    assert len(cache_files(ansible)) == 1  # but the src cache, on the host that ran the module
