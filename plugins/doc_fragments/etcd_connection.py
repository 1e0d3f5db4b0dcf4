# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # Connection options for the gateway's etcd cluster, and where the routes live in it.
    DOCUMENTATION = r'''
options:
  etcd_endpoints:
    description:
      - Endpoints of one etcd cluster, as C(http://host:port) or C(https://host:port). When one is unreachable, the
        operation is retried on the next one.
      - An endpoint with credentials (C(http://user:password@host:port)) is refused, showing it as
        C(http://***@host:port); give them as O(etcd_user) and O(etcd_password).
      - A password sent over plain C(http://) to a host other than loopback (C(localhost), C(127.0.0.0/8), C(::1))
        gives a warning; use C(https://) endpoints and O(etcd_ca_cert).
      - If not set, the environment variable E(ETCDCTL_ENDPOINTS) (comma-separated) is used, and without it
        V(http://127.0.0.1:2379).
      - The results say which endpoints were used and where they came from (RV(etcd_endpoints),
        RV(etcd_endpoints_from)), and so do the headers of the diff, so that a sync into the cluster of a
        forgotten E(ETCDCTL_ENDPOINTS) does not go unnoticed.
    type: list
    elements: str
  etcd_ca_cert:
    description:
      - CA certificate that verifies the etcd servers of C(https://) endpoints.
      - If not set, the environment variable E(ETCDCTL_CACERT) is used.
    type: path
  etcd_client_cert:
    description:
      - Client certificate for etcd servers that require one.
      - If not set, the environment variable E(ETCDCTL_CERT) is used.
    type: path
  etcd_client_key:
    description:
      - Private key of O(etcd_client_cert).
      - If not set, the environment variable E(ETCDCTL_KEY) is used.
    type: path
  etcd_user:
    description:
      - User name for etcd authentication.
      - Also in etcdctl's C(user:password) form, split on the first colon as etcdctl does (so a user name cannot
        contain a colon). O(etcd_password), when given, wins over the part after the colon. That part is a secret;
        it is masked in every result, message and warning.
      - If not set, the environment variable E(ETCDCTL_USER) is used.
    type: str
  etcd_password:
    description:
      - Password of O(etcd_user).
      - If not set, the environment variable E(ETCDCTL_PASSWORD) is used.
    type: str
  etcd_timeout:
    description:
      - Seconds to wait for each etcd request, per endpoint.
    type: float
    default: 10
  etcd_library:
    description:
      - The Python etcd client to use.
      - V(auto) prefers C(etcd-sdk-python) (imported as C(pyetcd)), the maintained fork of python-etcd3, and falls
        back to C(etcd3).
      - With C(etcd3) and protobuf 4 or newer, the module selects protobuf's pure-Python implementation before
        importing it (C(PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python)), which is slower but works without pinning
        protobuf.
      - If not set, the environment variable E(APIGW_ROUTER_ETCD_LIBRARY) is used.
    type: str
    choices: [auto, pyetcd, etcd3]
    default: auto
  key_prefix:
    description:
      - Prefix of the router's keys. Routes live under C(<key_prefix>/<instance_id>/apis/), the manifest at
        C(<key_prefix>/<instance_id>/manifest).
      - Must start with C(/) and contain neither C(//) nor C(..).
      - An instance owns every key under C(<key_prefix>/<instance_id>/), and a sync deletes keys under its C(apis/)
        that the source lacks. On one etcd cluster the key spaces of two instances must therefore not nest, as with
        C(/nest) for instance C(X) and C(/nest/X/apis) for instance C(Y); use one O(key_prefix) for every instance
        of a cluster. Two O(instances) items that list an etcd endpoint in common and whose key spaces nest are
        refused before anything is written.
    type: str
    default: /apig/router
'''
