# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Security: no secret in any output, TLS verified by default, least privilege in etcd.

- Every secret a representative set of runs uses (IAM token, secret keys, security token,
  IAM passwords, the etcd password, wrong ones too) is searched for in everything those runs
  wrote at ``-vvv`` (stdout, stderr, every task result, diffs), in the role's report files
  and in the simulator's request log and output: zero hits. Secrets are passed as variables,
  the way users keep them in a vault (Ansible itself quotes playbook source lines around a
  failing task, so a literal secret in a task would be shown by Ansible, not by us).
- Malformed secrets (a token with a line break, a security token ending in CRLF) are
  refused without being echoed.
- The management API over HTTPS with a certificate from a private CA: refused by default,
  accepted with ``ca_path`` or ``validate_certs: false``; a certificate for another name is
  refused even with the right CA. The simulator serves HTTPS with ``--tls-cert``/``--tls-key``.
- etcd over TLS with client certificates *and* auth with a user whose role grants only the
  router prefix: enough for a sync; anything outside the prefix is denied; without the CA the
  server is not trusted. (TLS alone and auth alone: test_etcd_mode.py.)
- The simulator listens on loopback only by default. Its refusals of unsigned, mis-signed,
  replayed (clock skew) and role-less requests with the documented codes are proven with
  Huawei's SDK in test_simulator.py (test_error_answers, test_sdk_signed_refresh_accepted_and_
  missigned_refused, test_skewed_sdk_date_refused, test_roleless_key_may_list_but_not_refresh,
  test_request_log_never_holds_secrets).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import ssl
import stat
import subprocess
import sys
from urllib.error import HTTPError, URLError
from urllib.request import HTTPSHandler, ProxyHandler, Request, build_opener

import psutil
import pytest

from apigw_support.etcd import USER, USER_PASSWORD, etcd_single, make_certs
from apigw_support.simulator import Simulator, SimulatorError

REFRESH = 'apigw.router.apigw_router_refresh'
INFO = 'apigw.router.apigw_router_info'
ROLE = 'apigw.router.fleet_refresh'
PROJECT = '5ec0000000000000000000000000cafe'
NO_TRACEBACK = '(traceback unavailable)'

# Each secret is distinctive, so that a hit can only be a leak.
SECRETS = {
    'token': 'MIIsec-token-Zq81-leakcheck',
    'secret_key': 'sec-SK-Hv27-leakcheck',
    'tmp_secret_key': 'sec-tmpSK-Pw93-leakcheck',
    'security_token': 'sec-STS-Lm45-leakcheck',
    'norole_secret_key': 'sec-noroleSK-Qa16-leakcheck',
    'iam_password': 'sec-IAM-pw-Tr58-leakcheck',
    'wrong_secret_key': 'sec-wrongSK-Yx02-leakcheck',
    'wrong_iam_password': 'sec-wrongIAM-Bn77-leakcheck',
    'etcd_password': USER_PASSWORD,
    'wrong_etcd_password': 'sec-wrongETCD-Kd39-leakcheck',
    # etcdctl's user:password form of etcd_user (ETCDCTL_USER), and a password in a URL's userinfo
    'etcd_user_form': '%s:%s' % (USER, USER_PASSWORD),
    'url_password': 'sec-URLpw-Jc64-leakcheck',
}
URL_USERINFO = 'ops:{{ url_password }}@'
AK, TMP_AK, NOROLE_AK = 'SECAK000000000000001', 'SECTMPAK000000000002', 'SECNOROLEAK000000003'
IAM_USER, IAM_DOMAIN = 'sec-admin', 'sec-domain'

SIM_CONFIG = {
    'settings': {'refresh': {'working_polls': 1, 'working_seconds': 0}},
    'projects': [{'id': PROJECT, 'instances': [
        {'id': 'sec-a', 'generate': {'count': 6, 'seed': 3}},
        {'id': 'sec-b', 'generate': {'count': 4, 'seed': 4}},
    ]}],
    'credentials': {
        'users': [{'name': IAM_USER, 'password': SECRETS['iam_password'], 'domain': IAM_DOMAIN,
                   'roles': ['op_svc_apig']}],
        'tokens': [{'name': 'sec-ci', 'token': SECRETS['token'], 'roles': ['op_svc_apig']}],
        'keys': [{'ak': AK, 'sk': SECRETS['secret_key'], 'roles': ['op_svc_apig']},
                 {'ak': TMP_AK, 'sk': SECRETS['tmp_secret_key'], 'security_token': SECRETS['security_token'],
                  'roles': ['op_svc_apig']},
                 {'ak': NOROLE_AK, 'sk': SECRETS['norole_secret_key'], 'roles': []}],
    },
}


def var(name):
    return '{{ %s }}' % name


def assert_clean_failure(result, *fragments):
    assert result.failed, result.result
    msg = result.get('msg', '')
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)
    # 'unexpected ...': the fleet runner's catch-all; 'Task failed: Module failed': ansible-core
    # 2.19's message for an exception that escaped the module
    assert 'Traceback' not in msg and not msg.startswith(('MODULE FAILURE', 'unexpected ', 'Task failed')), msg
    assert 'module_stderr' not in result, result.get('module_stderr')
    assert result.get('exception', NO_TRACEBACK) == NO_TRACEBACK, result.get('exception')


@pytest.fixture(scope='module')
def sim(tmp_path_factory):
    with Simulator(SIM_CONFIG, workdir=tmp_path_factory.mktemp('sim-security')) as simulator:
        yield simulator


@pytest.fixture(scope='module')
def etcd_tls_auth(tmp_path_factory):
    """TLS with client certificates, and etcd auth: the router user may use /apig/router/ only."""
    with etcd_single(tmp_path_factory.mktemp('etcd-tls-auth'), tls=True, auth=True) as cluster:
        yield cluster


def etcd_options(cluster, password='etcd_password'):
    return dict(etcd_endpoints=cluster.endpoints, etcd_ca_cert=cluster.certs['ca'],
                etcd_client_cert=cluster.certs['client_cert'], etcd_client_key=cluster.certs['client_key'],
                etcd_user=USER, etcd_password=var(password))


# -- secrets in output --------------------------------------------------------------------------

def _representative_tasks(sim, etcd, report_dir):
    api = dict(project_id=PROJECT, endpoint=sim.url, retry_delay=0.01)
    token = dict(api, auth_token=var('token'))
    aksk = dict(api, access_key=AK, secret_key=var('secret_key'))
    temp = dict(api, access_key=TMP_AK, secret_key=var('tmp_secret_key'), security_token=var('security_token'))
    iam = dict(api, iam_user=IAM_USER, iam_password=var('iam_password'), iam_domain=IAM_DOMAIN,
               iam_endpoint=sim.url)
    conn = etcd_options(etcd)

    def task(name, module, options, fails=False):
        return dict({'name': name, module: options}, **({'ignore_errors': True} if fails else {}))

    ok = [
        task('token, wait', REFRESH, dict(token, instance_id='sec-a', wait=True, wait_sleep=0)),
        task('AK/SK, two resources', REFRESH, dict(aksk, instance_id='sec-a', resources=['apis', 'acls'])),
        task('temporary AK/SK', REFRESH, dict(temp, instance_id='sec-b')),
        task('IAM password', REFRESH, dict(iam, instance_id='sec-b')),
        task('fleet, AK/SK', REFRESH, dict(aksk, instances=[{'instance_id': 'sec-a'}, {'instance_id': 'sec-b'}])),
        task('etcd from ListApisV2, token', REFRESH, dict(token, mode='etcd', instance_id='sec-a', **conn)),
        task('etcd from ListApisV2, IAM', REFRESH, dict(iam, mode='etcd', instance_id='sec-b', **conn)),
        task('etcd, user:password form', REFRESH, dict(
            conn, mode='etcd', instance_id='sec-form', etcd_user=var('etcd_user_form'), etcd_password=None,
            apis=[{'id': 'form-1', 'req_method': 'GET', 'req_uri': '/form', 'run_env_id': 'RELEASE_ID'}])),
        task('info compare, temporary AK/SK', INFO,
             dict(temp, instance_id='sec-a', compare=True, records=True, **conn)),
        {'name': 'role, api mode', 'ansible.builtin.include_role': {'name': ROLE}, 'vars': {
            'fleet_refresh_instances': [{'instance_id': 'sec-a'}, {'instance_id': 'sec-b'}],
            'fleet_refresh_report_dir': str(report_dir / 'api'), 'fleet_refresh_options': temp}},
        {'name': 'role, etcd mode', 'ansible.builtin.include_role': {'name': ROLE}, 'vars': {
            'fleet_refresh_instances': [{'instance_id': 'sec-a'}], 'fleet_refresh_mode': 'etcd',
            'fleet_refresh_report_dir': str(report_dir / 'etcd'), 'fleet_refresh_options': dict(token, **conn)}},
    ]
    failing = [
        task('wrong secret key', REFRESH, dict(aksk, instance_id='sec-a', secret_key=var('wrong_secret_key')), True),
        task('wrong IAM password', REFRESH, dict(iam, instance_id='sec-a', iam_password=var('wrong_iam_password')),
             True),
        task('IAM unreachable', REFRESH, dict(iam, instance_id='sec-a', iam_endpoint='http://127.0.0.1:9',
                                              retries=0), True),
        task('role-less key', REFRESH, dict(api, instance_id='sec-a', access_key=NOROLE_AK,
                                            secret_key=var('norole_secret_key')), True),
        task('every secret at once', REFRESH, dict(token, instance_id='sec-a', secret_key=var('secret_key'),
                                                   access_key=AK, security_token=var('security_token'),
                                                   iam_password=var('iam_password')), True),
        task('fleet with an unknown instance', REFRESH, dict(temp, instances=[
            {'instance_id': 'sec-a'}, {'instance_id': 'sec-missing'}]), True),
        task('wrong etcd password', REFRESH, dict(token, mode='etcd', instance_id='sec-a',
                                                  **etcd_options(etcd, 'wrong_etcd_password')), True),
        task('etcd outside the role', REFRESH, dict(token, mode='etcd', instance_id='sec-a',
                                                    **dict(conn, key_prefix='/outside')), True),
        task('credentials in endpoint', REFRESH, dict(token, instance_id='sec-a',
                                                      endpoint='http://%s127.0.0.1:bad' % URL_USERINFO), True),
        task('credentials in iam_endpoint', REFRESH, dict(iam, instance_id='sec-a',
                                                          iam_endpoint='https://%s127.0.0.1:1' % URL_USERINFO), True),
        task('credentials in an etcd endpoint', REFRESH, dict(token, mode='etcd', instance_id='sec-a', **dict(
            conn, etcd_endpoints=['https://%s127.0.0.1:bad' % URL_USERINFO])), True),
        task('credentials in an item etcd endpoint', INFO, dict(conn, instances=[
            {'instance_id': 'sec-a', 'etcd_endpoints': ['%s127.0.0.1:2379' % URL_USERINFO]}]), True),
    ]
    return ok, failing


def test_no_secret_in_any_output_at_vvv(ansible, sim, etcd_tls_auth, tmp_path):
    ansible.extra_vars.update(SECRETS)
    sim.reset(faults='clear')
    report_dir = tmp_path / 'reports'
    ok, failing = _representative_tasks(sim, etcd_tls_auth, report_dir)
    # Check mode sends nothing in mode api; it still reads ListApisV2 and etcd, and shows diffs.
    in_check = [t for t in ok + failing if REFRESH not in t or t[REFRESH].get('mode') == 'etcd'
                or t['name'] == 'every secret at once']
    runs = [ansible.run_tasks(ok + failing, verbosity=3, diff=True, name='apply'),
            ansible.run_tasks(in_check, verbosity=3, diff=True, check=True, name='check')]
    # not vacuous: the runs did what they were meant to
    for run, tasks in zip(runs, (ok + failing, in_check)):
        assert run.rc == 0 and not run.failed_tasks, run.describe()
        for task in tasks:
            if task in failing:
                assert_clean_failure(run.task(task['name']))
            elif 'ansible.builtin.include_role' not in task:
                assert not run.task(task['name']).failed, run.task(task['name']).result
    apply = runs[0]
    assert 'authentication failed' in apply.task('wrong secret key')['msg']
    assert 'authentication failed' in apply.task('wrong etcd password')['msg']
    assert 'permission denied' in apply.task('etcd outside the role')['msg']
    assert apply.task('etcd from ListApisV2, token')['created']
    assert any(e['auth'] == 'password' for e in sim.requests())
    # etcdctl's user:password form is split into the user and its password
    assert len(apply.task('etcd, user:password form')['created']) == 1
    assert '/apig/router/sec-form/apis/form-1' in etcd_tls_auth.dump('/apig/router/sec-form/')
    for name, shown in (('credentials in endpoint', "endpoint 'http://***@127.0.0.1:bad'"),
                        ('credentials in iam_endpoint', "iam_endpoint 'https://***@127.0.0.1:1'"),
                        ('credentials in an etcd endpoint', "etcd endpoint 'https://***@127.0.0.1:bad'"),
                        ('credentials in an item etcd endpoint', "instances[0]: etcd endpoint '***@127.0.0.1:2379'")):
        assert_clean_failure(apply.task(name), shown, 'must not carry credentials')
    # passwords over http:// to loopback (the simulator, etcd here) give no warning
    assert not [w for r in apply.results for w in (r.get('warnings') or []) if 'plain http' in w]

    texts = dict((str(p), p.read_text(encoding='utf-8', errors='replace')) for p in ansible.captured_files())
    for root, _dirs, files in os.walk(str(report_dir)):
        for name in files:
            path = os.path.join(root, name)
            texts[path] = open(path, encoding='utf-8', errors='replace').read()
    texts['simulator request log'] = sim.log_text()
    texts['simulator API answers'] = json.dumps([sim.requests(), sim.stats(), sim.refreshes()])
    texts['simulator stderr'] = sim.stderr_text()
    assert len(texts) >= 10 and sum(len(t) for t in texts.values()) > 100000
    hits = [(name, where) for name, secret in SECRETS.items() for where, text in texts.items() if secret in text]
    assert hits == [], hits
    # the censored form shows where secrets were given
    assert 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' in apply.stdout
    print('secrets: %d secrets searched in %d files (%d bytes) from %d runs at -vvv: 0 found'
          % (len(SECRETS), len(texts), sum(len(t) for t in texts.values()), len(runs)))


MALFORMED = {
    # value given, what must never show (the distinctive part, as any escaping would keep it)
    'auth_token': ('sec-token-Nl61-leakcheck\nX-Injected: 1', 'sec-token-Nl61-leakcheck'),
    'security_token': ('sec-STS-Cr92-leakcheck\r\n', 'sec-STS-Cr92-leakcheck'),
    'secret_key': ('sec-SK-Sp33-leakcheck \n', 'sec-SK-Sp33-leakcheck'),
    'iam_password': ('sec-IAM-Lf24-leakcheck\n', 'sec-IAM-Lf24-leakcheck'),
}


def test_malformed_secrets_are_refused_without_being_echoed(ansible, sim):
    """A secret with a line break or other bytes that cannot travel in an HTTP header must fail
    cleanly, before any request, naming the option and never the value."""
    ansible.extra_vars.update(dict(('bad_' + k, v[0]) for k, v in MALFORMED.items()))
    sim.reset(faults='clear')
    api = dict(project_id=PROJECT, endpoint=sim.url, instance_id='sec-a', retries=0)
    cases = {
        'auth_token': dict(api, auth_token=var('bad_auth_token')),
        'security_token': dict(api, access_key=TMP_AK, secret_key=var('tmp_secret_key'),
                               security_token=var('bad_security_token')),
        'secret_key': dict(api, access_key=AK, secret_key=var('bad_secret_key')),
        'iam_password': dict(api, iam_user=IAM_USER, iam_password=var('bad_iam_password'), iam_domain=IAM_DOMAIN,
                             iam_endpoint=sim.url),
    }
    ansible.extra_vars.update(SECRETS)
    run = ansible.run_tasks([{'name': name, REFRESH: options, 'ignore_errors': True} for name, options in
                             cases.items()], verbosity=3, name='malformed')
    problems = []
    for name, (_value, distinctive) in MALFORMED.items():
        result = run.task(name)
        leaked = ansible.find_in_captures(distinctive) + (['simulator log'] if distinctive in sim.log_text() else [])
        if leaked:
            where = [str(p) for p in leaked]
            problems.append('%s: its value shows in %s (msg: %r)' % (name, where, result.get('msg')))
        if name in ('auth_token', 'security_token'):  # cannot be sent in a header at all
            try:
                assert_clean_failure(result, name)
            except AssertionError as exc:
                problems.append('%s: not refused cleanly, naming the option: %s' % (name, exc))
    header_requests = [e for e in sim.requests() if e['method'] == 'PUT' and e['auth'] == 'none']
    if header_requests:
        problems.append('requests sent without valid credentials: %s' % header_requests)
    assert not problems, '\n'.join(problems)


# -- TLS: the management API ---------------------------------------------------------------------

def _python_with_args(tmp_path, *extra):
    wrapper = tmp_path / 'python-with-tls'
    wrapper.write_text('#!/bin/sh\nexec %s "$@" %s\n' % (sys.executable, ' '.join(extra)))
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    return str(wrapper)


class HttpsSimulator(Simulator):
    """The simulator serving HTTPS (``--tls-cert``/``--tls-key``); the harness's admin calls
    go over HTTPS too, trusting ``ca``."""

    def __init__(self, config, workdir, cert, key, ca):
        workdir.mkdir(parents=True, exist_ok=True)
        super(HttpsSimulator, self).__init__(config, workdir=workdir, python=_python_with_args(
            workdir, '--tls-cert', cert, '--tls-key', key))
        context = ssl.create_default_context(cafile=ca)
        context.check_hostname = False  # the admin side only; the module's checks are the test
        self._opener = build_opener(ProxyHandler({}), HTTPSHandler(context=context))

    def _admin(self, method, path, payload=None, timeout=None):
        if self.port is None:
            raise SimulatorError('not started')
        self.url = 'https://127.0.0.1:%d' % self.port
        body = json.dumps(payload).encode('utf-8') if payload is not None else None
        request = Request(self.url + path, data=body, method=method, headers={'Content-Type': 'application/json'})
        try:
            with self._opener.open(request, timeout=timeout or self.admin_timeout) as answer:
                return json.loads(answer.read().decode('utf-8'))
        except HTTPError as exc:
            raise SimulatorError('%s %s -> %s' % (method, path, exc.code))
        except URLError as exc:
            raise SimulatorError('%s %s failed: %s' % (method, path, exc.reason))


def server_cert_for(certs, name):
    """A server certificate for DNS name ``name`` only, signed by the CA of ``certs``."""
    directory = os.path.dirname(certs['ca'])
    key, csr, crt, ext = (os.path.join(directory, '%s.%s' % (name, s)) for s in ('key', 'csr', 'crt', 'cnf'))
    with open(ext, 'w') as f:
        f.write('subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n' % name)
    for args in (['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=%s' % name, '-keyout', key, '-out', csr],
                 ['x509', '-req', '-in', csr, '-CA', certs['ca'], '-CAkey', os.path.join(directory, 'ca.key'),
                  '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', crt]):
        subprocess.run(['openssl'] + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    return crt, key


def test_management_api_tls_is_verified_by_default(ansible, tmp_path):
    certs = make_certs(str(tmp_path / 'ca'))
    other = make_certs(str(tmp_path / 'other-ca'))
    other_name_cert, other_name_key = server_cert_for(certs, 'apig.other.example')
    ansible.extra_vars.update(SECRETS)
    with HttpsSimulator(SIM_CONFIG, tmp_path / 'sim', certs['server_cert'], certs['server_key'], certs['ca']) as sim, \
            HttpsSimulator(SIM_CONFIG, tmp_path / 'sim-wrong-name', other_name_cert, other_name_key,
                           certs['ca']) as wrong_name:
        assert sim.url.startswith('https://127.0.0.1:')
        base = dict(project_id=PROJECT, endpoint=sim.url, instance_id='sec-a', auth_token=var('token'), retries=2,
                    retry_delay=0.01)
        iam = dict(base, auth_token=None, iam_user=IAM_USER, iam_password=var('iam_password'),
                   iam_domain=IAM_DOMAIN, iam_endpoint=sim.url)
        del iam['auth_token']
        cases = [
            ('default: refused', base, False),
            ('ca_path: accepted', dict(base, ca_path=certs['ca']), True),
            ('localhost with ca_path: accepted', dict(base, ca_path=certs['ca'],
                                                      endpoint=sim.url.replace('127.0.0.1', 'localhost')), True),
            ('validate_certs false: accepted', dict(base, validate_certs=False), True),
            ('another CA: refused', dict(base, ca_path=other['ca']), False),
            ('certificate for another name: refused', dict(base, ca_path=certs['ca'], endpoint=wrong_name.url),
             False),
            ('IAM over HTTPS, default: refused', iam, False),
            ('IAM over HTTPS, ca_path: accepted', dict(iam, ca_path=certs['ca']), True),
            ('ListApisV2 over HTTPS, default: refused', dict(base, mode='etcd', etcd_endpoints=['http://127.0.0.1:9'],
                                                             etcd_timeout=1), False),
        ]
        run = ansible.run_tasks([{'name': name, REFRESH: options, 'ignore_errors': True}
                                 for name, options, _ok in cases], name='tls')
        for name, _options, accepted in cases:
            result = run.task(name)
            if accepted:
                assert not result.failed and result['status'] == 200, (name, result.result)
            else:
                assert_clean_failure(result, 'TLS verification failed')
                # a certificate problem does not fix itself: no retry
                assert result.get('attempts', 1) == 1 and result.get('status', -1) == -1, (name, result.result)
        # refused handshakes never became requests: the log holds only the accepted ones
        logged = sim.requests()
        assert sorted(e['method'] for e in logged) == ['POST', 'PUT', 'PUT', 'PUT', 'PUT']
        assert wrong_name.requests() == []
        for secret in SECRETS.values():
            assert ansible.find_in_captures(secret) == [] and secret not in sim.log_text()
        print('TLS: %d management API cases, %d refused without a request, %d accepted'
              % (len(cases), sum(1 for c in cases if not c[2]), sum(1 for c in cases if c[2])))


# -- TLS and least privilege: etcd ------------------------------------------------------------------

def test_etcd_tls_client_certs_and_a_user_limited_to_the_router_prefix(ansible, etcd_tls_auth, tmp_path):
    ansible.extra_vars.update(SECRETS)
    cluster = etcd_tls_auth
    apis = [{'id': 'api-%d' % i, 'req_method': 'GET', 'req_uri': '/v1/%d' % i, 'run_env_id': 'RELEASE_ID'}
            for i in range(50)]
    conn = etcd_options(cluster)
    no_ca = dict(conn)
    del no_ca['etcd_ca_cert']
    no_cert = dict((k, v) for k, v in conn.items() if k not in ('etcd_client_cert', 'etcd_client_key'))
    rev0 = cluster.revision()
    run = ansible.run_tasks([
        {'name': 'sync', REFRESH: dict(conn, mode='etcd', instance_id='sec-tls', apis=apis)},
        {'name': 'again', REFRESH: dict(conn, mode='etcd', instance_id='sec-tls', apis=apis)},
        {'name': 'info', INFO: dict(conn, instance_id='sec-tls', compare=True, apis=apis)},
        {'name': 'outside the prefix', REFRESH: dict(conn, mode='etcd', instance_id='sec-tls', apis=apis,
                                                     key_prefix='/elsewhere'), 'ignore_errors': True},
        {'name': 'server not trusted without the CA', REFRESH: dict(no_ca, mode='etcd', instance_id='sec-tls',
                                                                    apis=apis, etcd_timeout=2),
         'ignore_errors': True},
        {'name': 'no client certificate', REFRESH: dict(no_cert, mode='etcd', instance_id='sec-tls', apis=apis,
                                                        etcd_timeout=2), 'ignore_errors': True},
    ], verbosity=3, name='etcd-tls-auth')
    first = run.task('sync')
    assert not first.failed and len(first['created']) == 50, first.result
    assert run.task('again').changed is False and run.task('info')['in_sync'] is True
    assert_clean_failure(run.task('outside the prefix'), 'permission denied', USER)
    assert_clean_failure(run.task('server not trusted without the CA'), 'TLS failure')
    assert_clean_failure(run.task('no client certificate'), cluster.endpoints[0])
    state = cluster.dump('/apig/router/sec-tls/')
    assert len([k for k in state if '/apis/' in k]) == 50 and '/apig/router/sec-tls/manifest' in state
    assert cluster.dump('/elsewhere') == {}
    assert cluster.revision() == first['revision'] + 1  # the lock's release; the refused ones wrote nothing
    assert rev0 < first['revision']
    assert ansible.find_in_captures(USER_PASSWORD) == []


# -- etcdctl's user:password, passwords over plain http -------------------------------------------

def test_etcdctl_user_password_form_is_split_and_never_shown(ansible, tmp_path):
    """ETCDCTL_USER=user:password (etcdctl's form, documented as a fallback) logs in as the user
    with that password, per item too; an explicit password wins; the password shows nowhere."""
    wrong = 'sec-embedded-Wq51-leakcheck'
    ansible.extra_vars.update(SECRETS)
    ansible.extra_vars['wrong_form'] = '%s:%s' % (USER, wrong)
    apis = [{'id': 'api-%d' % i, 'req_method': 'GET', 'req_uri': '/v1/%d' % i, 'run_env_id': 'RELEASE_ID'}
            for i in range(5)]
    (tmp_path / 'etcd-auth').mkdir()
    with etcd_single(str(tmp_path / 'etcd-auth'), auth=True) as cluster:
        endpoints = ','.join(cluster.endpoints)
        from_env = ansible.run_tasks([
            {'name': 'user:password from ETCDCTL_USER', REFRESH: dict(mode='etcd', instance_id='sec-env', apis=apis)},
            {'name': 'per item', INFO: dict(instances=[{'instance_id': 'sec-env'},
                                                       {'instance_id': 'sec-item', 'etcd_user': var('wrong_form'),
                                                        'etcd_password': var('etcd_password')}])},
        ], verbosity=3, name='etcdctl-user-env',
            env={'ETCDCTL_USER': SECRETS['etcd_user_form'], 'ETCDCTL_ENDPOINTS': endpoints})
        explicit = ansible.run_tasks([
            {'name': 'ETCDCTL_PASSWORD wins', REFRESH: dict(mode='etcd', instance_id='sec-explicit', apis=apis)},
            {'name': 'an item gives user:password', REFRESH: dict(
                mode='etcd', apis=apis, etcd_user=None, etcd_password=None,
                instances=[{'instance_id': 'sec-item', 'etcd_user': var('etcd_user_form')}])},
        ], verbosity=3, name='etcdctl-user-explicit', env={'ETCDCTL_USER': '%s:%s' % (USER, wrong),
                                                           'ETCDCTL_PASSWORD': USER_PASSWORD,
                                                           'ETCDCTL_ENDPOINTS': endpoints})
        state = cluster.dump('/apig/router/')
    assert from_env.rc == 0 and explicit.rc == 0, from_env.describe() + explicit.describe()
    assert len(from_env.task('user:password from ETCDCTL_USER')['created']) == 5
    assert [r['count'] for r in from_env.task('per item')['results']] == [5, 0]
    assert len(explicit.task('ETCDCTL_PASSWORD wins')['created']) == 5
    assert len(explicit.task('an item gives user:password')['results'][0]['created']) == 5
    for instance_id in ('sec-env', 'sec-explicit', 'sec-item'):  # out of band, with etcdctl
        assert len([k for k in state if k.startswith('/apig/router/%s/apis/' % instance_id)]) == 5, sorted(state)
    # loopback over http://: no warning
    assert not [w for run in (from_env, explicit) for r in run.results for w in (r.get('warnings') or [])
                if 'plain http' in w]
    for secret in (USER_PASSWORD, wrong):
        assert ansible.find_in_captures(secret) == [], secret
    assert 'etcd_user' in from_env.stdout and '%s:********' % USER in from_env.stdout  # masked, not dropped


def test_a_password_over_plain_http_to_another_host_warns(ansible):
    """iam_password to an http:// iam_endpoint, an etcd password to an http:// endpoint, not loopback:
    a warning naming the option (the run then fails: 192.0.2.1 is TEST-NET-1, nothing answers)."""
    ansible.extra_vars.update(SECRETS)
    remote = 'http://192.0.2.1:9'
    run = ansible.run_tasks([
        {'name': 'iam', REFRESH: dict(instance_id='sec-a', project_id=PROJECT, endpoint=remote, iam_endpoint=remote,
                                      iam_user=IAM_USER, iam_password=var('iam_password'), iam_domain=IAM_DOMAIN,
                                      retries=0, timeout=1), 'ignore_errors': True},
        {'name': 'etcd', INFO: dict(instance_id='sec-a', etcd_endpoints=[remote], etcd_user=USER,
                                    etcd_password=var('etcd_password'), etcd_timeout=1), 'ignore_errors': True},
        {'name': 'etcd item', INFO: dict(etcd_endpoints=['http://127.0.0.1:9'], etcd_timeout=1, instances=[
            {'instance_id': 'sec-a', 'etcd_user': var('etcd_user_form'), 'etcd_endpoints': [remote]}]),
         'ignore_errors': True},
    ], verbosity=3, name='plain-http', timeout=300)
    expected = {'iam': 'iam_password is sent over plain http:// to iam_endpoint http://192.0.2.1:9',
                'etcd': 'etcd_password is sent over plain http:// to etcd endpoint http://192.0.2.1:9',
                'etcd item': 'the password in instances[0].etcd_user (user:password) is sent over plain http:// to '
                             'etcd endpoint http://192.0.2.1:9'}
    for name, warning in expected.items():
        result = run.task(name)
        assert result.failed and any(w.startswith(warning) for w in result.get('warnings') or []), result.result
        assert warning in ' '.join(run.stderr.split())  # Ansible's [WARNING] lines
    for secret in (SECRETS['iam_password'], USER_PASSWORD):
        assert ansible.find_in_captures(secret) == [], secret


# -- the simulator ---------------------------------------------------------------------------------

def test_simulator_listens_on_loopback_only_by_default(sim):
    from apig_sim.__main__ import parse_args
    assert parse_args(['--config', 'x.yml']).host == '127.0.0.1'
    listening = [c for c in psutil.Process(sim.proc.pid).net_connections(kind='inet')
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(c.laddr.ip == '127.0.0.1' for c in listening), listening
