# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``src`` found the way ``copy`` finds it, through real ansible-playbook runs.

The action plugins of apigw_router_refresh and apigw_router_info look a relative ``src`` up
on the controller (the role's ``files/``, the playbook's directory, ``files/`` beside it) and
give the module the file's path when it runs on the controller, or a copy in its remote
temporary directory when it runs elsewhere.

The project laid out below is a real playbook with a real role, imported by the harness's
playbook. Each place holds a file with a different set of APIs, so the routes that land in
etcd (read back with etcdctl) show which file the module read. The "remote" host uses a
test-only connection plugin (``plugins/connection/apigw_test_remote.py``): it runs commands
on this machine but is not the local connection, so Ansible makes a remote temporary
directory and transfers files with ``put_file``, which the plugin logs.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from apigw_support.etcd import etcd_single
from test_etcd_mode import APIS, EXPECTED, conn, expected_state, instance_state

REFRESH = 'apigw.router.apigw_router_refresh'
INFO = 'apigw.router.apigw_router_info'
CONNECTION_PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'plugins', 'connection')

# Which APIs each place's file holds: the routes in etcd tell which file was read.
BY_ID = dict((api['id'], api) for api in APIS)
IN_ROLE_FILES = ['api-min']
IN_PLAYBOOK_DIR = ['api-backend']
IN_FILES_BESIDE = ['api-multi']
ALL = sorted(EXPECTED)


@pytest.fixture(scope='module')
def etcd(tmp_path_factory):
    with etcd_single(tmp_path_factory.mktemp('etcd-src')) as cluster:
        yield cluster


def write_apis(path, ids):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([BY_ID[i] for i in ids]), encoding='utf-8')
    return str(path)


def sync(name, instance_id, src, prefix, cluster, **options):
    return {'name': name, REFRESH: dict(mode='etcd', instance_id=instance_id, src=src, key_prefix=prefix,
                                        **dict(conn(cluster), **options))}


def project(base, tasks, role_tasks=(), play_vars=None):
    """A playbook ``site.yml`` in ``base`` with ``tasks``, then a role ``sync`` with ``role_tasks``.

    The harness runs a playbook that imports it, so the playbook's directory is ``base``.
    """
    base.mkdir(parents=True, exist_ok=True)
    play = {'name': 'project', 'hosts': 'localhost', 'gather_facts': False, 'tasks': list(tasks)}
    if play_vars:
        play['vars'] = play_vars
    if role_tasks:
        tasks_dir = base / 'roles' / 'sync' / 'tasks'
        tasks_dir.mkdir(parents=True, exist_ok=True)
        (tasks_dir / 'main.yml').write_text(yaml.safe_dump(list(role_tasks), sort_keys=False), encoding='utf-8')
        play['roles'] = ['sync']
    (base / 'site.yml').write_text(yaml.safe_dump([play], sort_keys=False), encoding='utf-8')
    return '- import_playbook: %s\n' % (base / 'site.yml')


def routes_in(cluster, prefix, instance, ids):
    assert instance_state(cluster, prefix, instance) == expected_state(prefix, instance, ids)


def module_src(task):
    """The src the module itself received (AnsibleModule reports its arguments)."""
    return task['invocation']['module_args']['src']


def test_src_is_found_like_copy_on_the_controller(ansible, etcd, tmp_path):
    base = tmp_path / 'project'
    prefix = '/t/src-lookup'
    role_file = write_apis(base / 'roles' / 'sync' / 'files' / 'apis.json', IN_ROLE_FILES)
    beside_file = write_apis(base / 'files' / 'apis.json', IN_FILES_BESIDE)  # same name: the role's wins in the role
    dir_file = write_apis(base / 'in-playbook-dir.json', IN_PLAYBOOK_DIR)
    beside_only = write_apis(base / 'files' / 'beside.yaml', IN_FILES_BESIDE)
    absolute = write_apis(tmp_path / 'elsewhere' / 'all.json', ALL)
    tasks = [
        sync('playbook dir', 'inst-dir', 'in-playbook-dir.json', prefix, etcd),
        sync('files beside', 'inst-beside', 'beside.yaml', prefix, etcd),
        sync('files beside, same name as the role file', 'inst-beside-json', 'apis.json', prefix, etcd),
        sync('absolute', 'inst-abs', absolute, prefix, etcd),
        {'name': 'fleet', REFRESH: dict(mode='etcd', instances=[{'instance_id': 'inst-f1'}, {'instance_id': 'inst-f2'}],
                                        src='in-playbook-dir.json', key_prefix=prefix, **conn(etcd))},
        {'name': 'drift check', INFO: dict(instance_id='inst-dir', compare=True, src='in-playbook-dir.json',
                                           key_prefix=prefix, **conn(etcd))},
    ]
    role_tasks = [sync('role files', 'inst-role', 'apis.json', prefix, etcd)]
    playbook = project(base, tasks, role_tasks)
    instances = ['inst-dir', 'inst-beside', 'inst-beside-json', 'inst-abs', 'inst-f1', 'inst-f2', 'inst-role']

    # check mode: every file is found and read, nothing is written
    rev0 = etcd.revision()
    run = ansible.run(playbook, check=True, diff=True, name='check').assert_success()
    assert run.task('sync : role files')['created'] == IN_ROLE_FILES
    assert run.task('playbook dir')['created'] == IN_PLAYBOOK_DIR
    assert run.task('files beside')['created'] == IN_FILES_BESIDE
    assert run.task('absolute')['created'] == ALL
    assert [r['created'] for r in run.task('fleet')['results']] == [IN_PLAYBOOK_DIR] * 2
    assert run.task('sync : role files')['diff'], 'diff mode gives the routes before and after'
    assert etcd.revision() == rev0
    for instance in instances:
        assert instance_state(etcd, prefix, instance) == {}

    run = ansible.run(playbook, name='apply').assert_success()
    # The module got the controller's absolute path of the file found.
    assert module_src(run.task('sync : role files')) == role_file
    assert module_src(run.task('playbook dir')) == dir_file
    assert module_src(run.task('files beside')) == beside_only
    assert module_src(run.task('files beside, same name as the role file')) == beside_file
    assert module_src(run.task('absolute')) == absolute
    assert run.task('drift check')['in_sync'] is True
    routes_in(etcd, prefix, 'inst-role', IN_ROLE_FILES)
    routes_in(etcd, prefix, 'inst-dir', IN_PLAYBOOK_DIR)
    routes_in(etcd, prefix, 'inst-beside', IN_FILES_BESIDE)
    routes_in(etcd, prefix, 'inst-beside-json', IN_FILES_BESIDE)
    routes_in(etcd, prefix, 'inst-abs', ALL)
    routes_in(etcd, prefix, 'inst-f1', IN_PLAYBOOK_DIR)
    routes_in(etcd, prefix, 'inst-f2', IN_PLAYBOOK_DIR)

    rev1 = etcd.revision()
    run = ansible.run(playbook, name='rerun').assert_success()
    assert not run.changed_tasks
    assert etcd.revision() == rev1


def test_a_missing_src_fails_naming_where_it_looked(ansible, etcd, tmp_path):
    base = tmp_path / 'project'
    prefix = '/t/src-missing'
    write_apis(base / 'roles' / 'sync' / 'files' / 'other.json', ALL)
    tasks = [
        dict(sync('refresh', 'inst-missing', 'nowhere.json', prefix, etcd), ignore_errors=True),
        dict({'name': 'info', INFO: dict(instance_id='inst-missing', compare=True, src='nowhere.json',
                                         key_prefix=prefix, **conn(etcd))}, ignore_errors=True),
        dict(sync('absolute', 'inst-missing', str(tmp_path / 'absent.json'), prefix, etcd), ignore_errors=True),
    ]
    role_tasks = [dict(sync('in role', 'inst-missing', 'nowhere.json', prefix, etcd), ignore_errors=True)]
    rev0 = etcd.revision()
    run = ansible.run(project(base, tasks, role_tasks), name='missing').assert_success()
    for name in ('refresh', 'info'):
        msg = run.task(name)['msg']
        assert msg.startswith('src nowhere.json was not found on the controller; looked in: '), msg
        assert str(base / 'files' / 'nowhere.json') in msg and str(base / 'nowhere.json') in msg, msg
    msg = run.task('sync : in role')['msg']
    assert str(base / 'roles' / 'sync' / 'files' / 'nowhere.json') in msg, msg
    assert str(base / 'files' / 'nowhere.json') in msg, msg
    # An absolute path the controller lacks is read on the module's host, which lacks it too.
    assert run.task('absolute')['msg'] == 'src %s does not exist' % (tmp_path / 'absent.json')
    assert etcd.revision() == rev0
    assert instance_state(etcd, prefix, 'inst-missing') == {}


def test_src_is_transferred_to_a_remote_host(ansible, etcd, tmp_path):
    base = tmp_path / 'project'
    prefix = '/t/src-remote'
    controller_file = write_apis(base / 'files' / 'apis.yml', IN_FILES_BESIDE)
    transfers = tmp_path / 'transfers.jsonl'
    remote_tmp = tmp_path / 'remote-home' / 'tmp'
    tasks = [
        sync('sync', 'inst-remote', 'apis.yml', prefix, etcd),
        {'name': 'fleet', REFRESH: dict(mode='etcd', instances=[{'instance_id': 'inst-r1'}, {'instance_id': 'inst-r2'}],
                                        src='apis.yml', key_prefix=prefix, **conn(etcd))},
        {'name': 'drift check', INFO: dict(instance_id='inst-remote', compare=True, src='apis.yml',
                                           key_prefix=prefix, **conn(etcd))},
    ]
    playbook = project(base, tasks, play_vars={'ansible_connection': 'apigw_test_remote'})
    env = {'ANSIBLE_CONNECTION_PLUGINS': CONNECTION_PLUGINS, 'ANSIBLE_REMOTE_TEMP': str(remote_tmp),
           'APIGW_TEST_TRANSFER_LOG': str(transfers)}

    rev0 = etcd.revision()
    run = ansible.run(playbook, check=True, env=env, name='remote check').assert_success()
    assert run.task('sync')['created'] == IN_FILES_BESIDE
    assert etcd.revision() == rev0

    run = ansible.run(playbook, env=env, name='remote apply').assert_success()
    assert run.task('drift check')['in_sync'] is True
    routes_in(etcd, prefix, 'inst-remote', IN_FILES_BESIDE)
    routes_in(etcd, prefix, 'inst-r1', IN_FILES_BESIDE)
    routes_in(etcd, prefix, 'inst-r2', IN_FILES_BESIDE)

    # The module read a copy in its own remote temporary directory, put there by put_file ...
    logged = [json.loads(line) for line in transfers.read_text(encoding='utf-8').splitlines()]
    sources = [t for t in logged if t['in_path'] == controller_file]
    for name in ('sync', 'fleet', 'drift check'):
        got = module_src(run.task(name))
        assert got != controller_file and got.startswith(str(remote_tmp) + os.sep), got
        assert os.path.basename(got) == 'apis.yml'  # the name tells the module it is YAML
        assert got in [t['out_path'] for t in sources], (got, sources)
    # ... one transfer per task and run (check mode reads the source too) ...
    assert len(sources) == 6, sources
    # ... and every temporary directory is gone after the task.
    assert remote_tmp.is_dir() and not list(remote_tmp.iterdir()), list(remote_tmp.iterdir())


VAULT_PASSWORD = 'Vault-Pa55phrase-never-shown-4e1c'


def test_a_vault_encrypted_src_is_decrypted_on_the_controller(ansible, etcd, tmp_path):
    base = tmp_path / 'project'
    prefix = '/t/src-vault'
    src = write_apis(base / 'files' / 'apis.yml', IN_FILES_BESIDE)
    password_file = tmp_path / 'vault-password'
    password_file.write_text(VAULT_PASSWORD + '\n', encoding='utf-8')
    vault = os.path.join(os.path.dirname(sys.executable), 'ansible-vault')
    subprocess.run([vault, 'encrypt', '--vault-password-file', str(password_file), src], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, ANSIBLE_HOME=str(tmp_path)))
    with open(src, 'rb') as f:
        assert f.read(14) == b'$ANSIBLE_VAULT', 'the source file is encrypted'
    tasks = [
        sync('sync', 'inst-vault', 'apis.yml', prefix, etcd),
        {'name': 'fleet', REFRESH: dict(mode='etcd', instances=[{'instance_id': 'inst-v1'}, {'instance_id': 'inst-v2'}],
                                        src='apis.yml', key_prefix=prefix, **conn(etcd))},
        {'name': 'drift check', INFO: dict(instance_id='inst-vault', compare=True, src='apis.yml',
                                           key_prefix=prefix, **conn(etcd))},
    ]
    vault_args = ['--vault-password-file', str(password_file)]

    # without the vault secret (or with a wrong one) the task fails before the module runs: nothing written
    rev0 = etcd.revision()
    local = project(base, tasks)
    run = ansible.run(local, name='no secret')
    assert run.task('sync').failed
    assert run.task('sync')['msg'].startswith('src apis.yml could not be decrypted on the controller'), run.task('sync')['msg']
    wrong = tmp_path / 'wrong-password'
    wrong.write_text('not-the-password\n', encoding='utf-8')
    run = ansible.run(local, args=['--vault-password-file', str(wrong)], name='wrong secret')
    assert 'could not be decrypted' in run.task('sync')['msg'], run.task('sync')['msg']
    assert etcd.revision() == rev0

    # on the controller (local connection): the module reads a decrypted copy, removed after the task
    run = ansible.run(local, args=vault_args, diff=True, name='local').assert_success()
    assert run.task('sync')['created'] == IN_FILES_BESIDE
    got = module_src(run.task('sync'))
    assert got != src and os.path.basename(got) == 'apis.yml' and not os.path.exists(got), got
    assert run.task('drift check')['in_sync'] is True
    routes_in(etcd, prefix, 'inst-vault', IN_FILES_BESIDE)
    routes_in(etcd, prefix, 'inst-v1', IN_FILES_BESIDE)
    routes_in(etcd, prefix, 'inst-v2', IN_FILES_BESIDE)

    # on another host: the decrypted copy is what is transferred, under the file's own name
    transfers = tmp_path / 'transfers.jsonl'
    remote_tmp = tmp_path / 'remote-home' / 'tmp'
    env = {'ANSIBLE_CONNECTION_PLUGINS': CONNECTION_PLUGINS, 'ANSIBLE_REMOTE_TEMP': str(remote_tmp),
           'APIGW_TEST_TRANSFER_LOG': str(transfers)}
    tasks[0] = sync('sync', 'inst-vault-remote', 'apis.yml', prefix, etcd)
    remote = project(tmp_path / 'remote-project', tasks, play_vars={'ansible_connection': 'apigw_test_remote'})
    write_apis(tmp_path / 'remote-project' / 'files' / 'apis.yml', [])  # replaced by the encrypted file
    shutil.copy(src, str(tmp_path / 'remote-project' / 'files' / 'apis.yml'))
    run = ansible.run(remote, args=vault_args, env=env, name='remote').assert_success()
    routes_in(etcd, prefix, 'inst-vault-remote', IN_FILES_BESIDE)
    logged = [json.loads(line) for line in transfers.read_text(encoding='utf-8').splitlines()]
    sent = [t for t in logged if t['out_path'].endswith(os.sep + 'apis.yml')]
    assert len(sent) == 3 and not any(t['in_path'] == src for t in sent), sent
    assert remote_tmp.is_dir() and not list(remote_tmp.iterdir()), list(remote_tmp.iterdir())

    # the vault password shows nowhere: not in any output, result or diff
    assert ansible.find_in_captures(VAULT_PASSWORD) == []
