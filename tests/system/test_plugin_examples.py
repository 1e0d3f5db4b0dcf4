# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The apig_instances inventory plugin's EXAMPLES run as written.

Each configuration of EXAMPLES (the first document, and the commented "every status"
variant, uncommented) is written to a ``*.apig_instances.yml`` file and given to a real
``ansible-inventory --list`` of the installed collection, with the AK/SK in
``HUAWEICLOUD_SDK_AK`` / ``HUAWEICLOUD_SDK_SK`` as the example says.

The examples name no endpoint: the plugin derives ``https://apig.<region>.myhuaweicloud.com``
and ``https://iam.<region>.myhuaweicloud.com``. Nothing in the configuration is replaced;
the environment routes those names to the simulator the way a user's network would reach a
gateway: ``HTTPS_PROXY`` names a proxy on 127.0.0.1 that answers every ``CONNECT`` with TLS
(a certificate for those host names, from a test CA that ``REQUESTS_CA_BUNDLE`` trusts) and
passes the decrypted requests to the simulator. The proxy's list of ``CONNECT`` targets
shows which endpoints the plugin called; the simulator's request log shows what it asked.

What each example promises is checked against the fleet written below, by hand.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import select
import socket
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from apigw_support.ansible import INSTALLED_COLLECTIONS, REPO_ROOT
from apigw_support.etcd import make_certs
from apigw_support.simulator import Simulator
from test_inventory_plugin import plain

NORTH = '2c4e6a8b0d1f3e5a7c9b1d3f5e7a9c0b'            # looked up by IAM: the example gives no id
SOUTH = '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e'            # the example's project id of ap-southeast-1
AK, SK = 'EXAMPLEINVENTORYAK01', 'example-inventory-sk-5d0e1c'
ENDPOINT_HOSTS = ('apig.cn-north-4.myhuaweicloud.com', 'iam.cn-north-4.myhuaweicloud.com',
                  'apig.ap-southeast-1.myhuaweicloud.com', 'iam.ap-southeast-1.myhuaweicloud.com')

# (region, id, name, status, spec): the oracle of what each example should list.
FLEET = [
    ('cn-north-4', 'n0000000000000000000000000000001', 'orders-north', 'Running', 'PROFESSIONAL'),
    ('cn-north-4', 'n0000000000000000000000000000002', 'billing-north', 'Running', 'BASIC'),
    ('cn-north-4', 'n0000000000000000000000000000003', 'sandbox-north', 'Running', 'BASIC'),
    ('cn-north-4', 'n0000000000000000000000000000004', 'legacy-north', 'Frozen', 'ENTERPRISE'),
    ('cn-north-4', 'n0000000000000000000000000000005', 'sandbox-broken', 'Unhealthy', 'BASIC'),
    ('ap-southeast-1', 's0000000000000000000000000000001', 'orders-south', 'Running', 'ENTERPRISE'),
    ('ap-southeast-1', 's0000000000000000000000000000002', 'sandbox-south', 'Running', 'PROFESSIONAL'),
    ('ap-southeast-1', 's0000000000000000000000000000003', 'search-south', 'Creating', 'BASIC'),
]
PROJECT_OF = {'cn-north-4': NORTH, 'ap-southeast-1': SOUTH}
SIM_CONFIG = {
    'projects': [{'id': PROJECT_OF[region], 'name': region, 'instances': [
        {'id': iid, 'name': name, 'status': status, 'spec': spec}
        for r, iid, name, status, spec in FLEET if r == region]} for region in ('cn-north-4', 'ap-southeast-1')],
    'credentials': {'keys': [{'ak': AK, 'sk': SK, 'roles': ['op_svc_apig']}]},
}


def plugin_examples():
    """The configurations of the plugin's EXAMPLES: the first document as it is, then each
    commented variant (a paragraph of ``#`` lines after a heading line ending in ``:``)
    uncommented."""
    source = (REPO_ROOT / 'plugins' / 'inventory' / 'apig_instances.py').read_text('utf-8')
    text = source.split("EXAMPLES = r'''", 1)[1].split("'''", 1)[0].strip('\n')
    paragraphs = text.split('\n\n')
    found = [paragraphs[0] + '\n']
    for paragraph in paragraphs[1:]:
        lines = paragraph.splitlines()
        assert all(line.startswith('#') for line in lines) and lines[0].endswith(':'), paragraph
        found.append(''.join(line[2:] + '\n' for line in lines[1:]))
    return found


# --------------------------------------------------------------------------- the network

def endpoint_certificate(directory):
    """A CA and a server certificate for the endpoint names the examples derive."""
    certs = make_certs(directory)
    key, csr, crt, ext = (os.path.join(directory, 'endpoints.' + s) for s in ('key', 'csr', 'crt', 'cnf'))
    with open(ext, 'w') as handle:
        handle.write('subjectAltName=%s\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n'
                     % ','.join('DNS:' + host for host in ENDPOINT_HOSTS))
    for args in (['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=' + ENDPOINT_HOSTS[0], '-keyout', key,
                  '-out', csr],
                 ['x509', '-req', '-in', csr, '-CA', certs['ca'], '-CAkey', os.path.join(directory, 'ca.key'),
                  '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', crt]):
        subprocess.run(['openssl'] + args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    return certs['ca'], crt, key


class _TerminatingHandler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        pass

    def do_CONNECT(self):
        self.server.record(self.path)
        self.send_response(200, 'Connection established')
        self.end_headers()
        self.close_connection = True
        try:
            client = self.server.tls.wrap_socket(self.connection, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that refuses the certificate
        upstream = socket.create_connection(('127.0.0.1', self.server.upstream_port), timeout=30)
        try:
            self._pump(client, upstream)
        except OSError:
            pass  # either side gone: the tunnel ends, as a real proxy's would
        finally:
            upstream.close()
            client.close()

    @staticmethod
    def _pump(client, upstream):
        while True:
            readable, _w, _x = select.select([client, upstream], [], [], 30)
            if not readable:
                return
            for sock in readable:
                other = upstream if sock is client else client
                data = sock.recv(65536)
                if not data:
                    return
                other.sendall(data)
                # TLS may hold more decrypted data than select() sees on the socket.
                while sock is client and client.pending():
                    other.sendall(client.recv(client.pending()))


class EndpointProxy(ThreadingHTTPServer):
    """An HTTPS proxy that serves every tunnel itself, with ``cert``, in front of the
    simulator at ``upstream_port``; ``seen`` holds the ``CONNECT`` targets."""
    daemon_threads = True

    def __init__(self, upstream_port, cert, key):
        ThreadingHTTPServer.__init__(self, ('127.0.0.1', 0), _TerminatingHandler)
        self.upstream_port = upstream_port
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.url = 'http://127.0.0.1:%d' % self.server_address[1]
        self.seen = []
        self._lock = threading.Lock()

    def record(self, target):
        with self._lock:
            self.seen.append(target)


@pytest.fixture(scope='module')
def network(tmp_path_factory):
    base = tmp_path_factory.mktemp('plugin-examples')
    ca, cert, key = endpoint_certificate(str(base / 'certs'))
    with Simulator(SIM_CONFIG, workdir=base / 'sim') as sim:
        proxy = EndpointProxy(sim.port, cert, key)
        thread = threading.Thread(target=proxy.serve_forever, daemon=True)
        thread.start()
        try:
            yield sim, proxy, ca
        finally:
            proxy.shutdown()
            proxy.server_close()
            thread.join(10)


def run_inventory(tmp_path, network, config_text, name, args=()):
    """``ansible-inventory --list`` on ``inventory/<name>`` holding ``config_text``, with a new
    HOME (so ``~/.cache`` is under tmp_path) and the AK/SK in the environment."""
    _sim, proxy, ca = network
    inventory = tmp_path / 'inventory'
    inventory.mkdir(exist_ok=True)
    path = inventory / name
    path.write_text(config_text, encoding='utf-8')
    home = tmp_path / 'home'
    home.mkdir(exist_ok=True)
    (tmp_path / 'ansible.cfg').write_text('# empty: configured through the environment\n')
    cleared = ('ANSIBLE_', 'HUAWEICLOUD_', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy',
               'https_proxy', 'all_proxy', 'no_proxy', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE')
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(cleared))
    env.update(HOME=str(home), ANSIBLE_CONFIG=str(tmp_path / 'ansible.cfg'),
               ANSIBLE_COLLECTIONS_PATH=str(INSTALLED_COLLECTIONS), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='False',
               ANSIBLE_NOCOLOR='1', LC_ALL='C.UTF-8', HUAWEICLOUD_SDK_AK=AK, HUAWEICLOUD_SDK_SK=SK,
               HTTPS_PROXY=proxy.url, REQUESTS_CA_BUNDLE=ca)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-inventory'), '-i', str(path), '--list']
    done = subprocess.run(command + list(args), cwd=str(tmp_path), env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert SK not in done.stdout + done.stderr
    return json.loads(done.stdout), done, home


def groups_of(listing):
    return dict((g, sorted(v.get('hosts', []))) for g, v in listing.items() if g != '_meta')


def ids(keep):
    return sorted(iid for region, iid, name, status, spec in FLEET if keep(region, name, status, spec))


# ------------------------------------------------------------------------------- tests

EXAMPLES = plugin_examples()


def test_the_examples_are_the_two_documented_configurations():
    assert len(EXAMPLES) == 2
    for text in EXAMPLES:
        assert yaml.safe_load(text)['plugin'] == 'apigw.router.apig_instances'


def test_first_example_lists_running_non_sandbox_instances_of_two_regions(tmp_path, network):
    sim, proxy, _ca = network
    sim.reset(faults='clear')
    since, seen = sim.last_seq(), len(proxy.seen)
    listing, _done, home = run_inventory(tmp_path, network, EXAMPLES[0], 'prod.apig_instances.yml')
    data, groups = plain(listing), groups_of(listing)
    hostvars = data['_meta']['hostvars']

    def kept(region, name, status, _spec):
        return status == 'Running' and not name.startswith('sandbox-')

    assert groups['apig_instances'] == ids(kept) and len(ids(kept)) == 3
    assert groups['apig_cn_north_4'] == ids(lambda r, n, st, sp: kept(r, n, st, sp) and r == 'cn-north-4')
    assert groups['apig_ap_southeast_1'] == ids(lambda r, n, st, sp: kept(r, n, st, sp) and r == 'ap-southeast-1')
    for spec in ('BASIC', 'PROFESSIONAL', 'ENTERPRISE'):
        assert groups['spec_' + spec] == ids(lambda r, n, st, sp, spec=spec: kept(r, n, st, sp) and sp == spec)
    for region, iid, _name, _status, _spec in FLEET:
        if iid in hostvars:
            host = hostvars[iid]
            assert host['apigw_etcd_endpoints'] == ['https://etcd.%s.example:2379' % region]
            assert host['apigw_project_id'] == PROJECT_OF[region]
            assert host['apigw_endpoint'] == 'https://apig.%s.myhuaweicloud.com' % region
    # Out of band: the derived endpoints were called, signed with the AK/SK; only cn-north-4's
    # project id was looked up, the example gives ap-southeast-1's.
    assert sorted(set(proxy.seen[seen:])) == ['apig.ap-southeast-1.myhuaweicloud.com:443',
                                              'apig.cn-north-4.myhuaweicloud.com:443',
                                              'iam.cn-north-4.myhuaweicloud.com:443']
    log = sim.requests(since)
    assert [(e['path'], e['query']) for e in log if e['resource'] == 'projects'] == [
        ('/v3/projects', 'name=cn-north-4')]
    listings = [e for e in log if e['resource'] == 'list_instances']
    assert sorted(e['project_id'] for e in listings) == sorted([NORTH, SOUTH])
    assert all('status=Running' in e['query'] for e in listings)  # one status: the API filters it
    assert set(e['auth'] for e in log) == {'aksk'} and all(e['status'] == 200 for e in log), log
    # The cache file is under cache_connection, ~/.cache/apig_instances of the (new) HOME.
    cached = list((home / '.cache' / 'apig_instances').iterdir())
    assert len(cached) == 1
    text = cached[0].read_text('utf-8')
    assert all(iid in text for iid in ids(kept)) and SK not in text
    # And a second run within cache_timeout answers from it, without a request.
    since = sim.last_seq()
    again, _done, _home = run_inventory(tmp_path, network, EXAMPLES[0], 'prod.apig_instances.yml')
    assert plain(again) == data and sim.requests(since) == []


def test_every_status_variant_names_hosts_by_instance_name_with_details(tmp_path, network):
    sim, proxy, _ca = network
    sim.reset(faults='clear')
    since, seen = sim.last_seq(), len(proxy.seen)
    listing, _done, home = run_inventory(tmp_path, network, EXAMPLES[1], 'every-status.apig_instances.yml')
    data, groups = plain(listing), groups_of(listing)
    north = [(iid, name, status) for region, iid, name, status, _spec in FLEET if region == 'cn-north-4']
    assert groups['apig_instances'] == groups['apig_cn_north_4'] == sorted(name for _i, name, _s in north)
    assert len({status for _i, _n, status in north}) == 3
    for iid, name, status in north:
        host = data['_meta']['hostvars'][name]
        assert host['apigw_instance_id'] == iid and host['apigw_status'] == status
        assert host['apigw_available_zone_ids'] and isinstance(host['apigw_available_zone_ids'], list)
        assert host['apigw_ingress_ip'] and host['apigw_vpc_id'] and host['apigw_instance_version']
    log = sim.requests(since)
    assert sorted(e['instance_id'] for e in log if e['resource'] == 'show_instance') == sorted(i for i, _n, _s in north)
    assert [e['query'] for e in log if e['resource'] == 'list_instances'] == ['limit=500&offset=0']
    assert set(proxy.seen[seen:]) == {'apig.cn-north-4.myhuaweicloud.com:443', 'iam.cn-north-4.myhuaweicloud.com:443'}
    assert not (home / '.cache').exists()  # no cache in this variant
