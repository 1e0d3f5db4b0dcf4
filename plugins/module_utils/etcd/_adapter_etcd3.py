# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The adapter of python-etcd3 (``import etcd3``).

With ``_adapter_pyetcd`` the only file that reaches below a library's public API. The
fork etcd-sdk-python kept python-etcd3's client API, so this ``Connection`` is that
adapter's, with the same internals (``kvstub.Txn`` with a filled ``etcdrpc.TxnRequest``,
``call_credentials`` on plaintext: see there), and two differences of its own:

- ``range``: python-etcd3 0.12's ``get_range_response`` accepts ``revision``, ``limit``,
  ``count_only``, ``min_mod_revision`` but drops them, so the request from its private
  ``_build_get_range_request`` gets those fields and goes to ``kvstub.Range``.
- ``_connect``: ``etcd3.client()`` takes file paths for TLS and no system CAs, so an
  https:// endpoint needs ``etcd_ca_cert`` (``check_tls``).

Its generated code loads with protobuf >= 4 only under protobuf's pure-Python
implementation, chosen before protobuf is first imported (``load``).

Tested with etcd3 0.12.0 (requirements-dev.txt, noxfile) under protobuf 5 to 7.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import sys

from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError
from ansible_collections.apigw.router.plugins.module_utils.etcd import _adapter_pyetcd

MODULE = 'etcd3'
LABEL = 'etcd3'


def load():
    """The library module (ImportError, or protobuf's TypeError, when it cannot be used)."""
    # On this path only: the other library wants protobuf's fast implementation.
    os.environ.setdefault('PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION', 'python')
    import etcd3
    return etcd3


def failure_hint():
    """Words to add to an import failure's reason."""
    if 'google.protobuf' in sys.modules:
        return (' (python-etcd3 needs PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python before protobuf is '
                'first imported, or use etcd-sdk-python)')
    return ''


def check_tls(secure, ca_cert):
    """EtcdError for an https:// endpoint (``secure``) without ``ca_cert``."""
    if secure and not ca_cert:
        raise EtcdError("python-etcd3 needs etcd_ca_cert for https:// (etcd-sdk-python uses the system's CAs)")


class Connection(_adapter_pyetcd.Connection):
    """``_adapter_pyetcd.Connection`` on a python-etcd3 client."""

    def _connect(self, lib, host, port, secure, tls, auth, timeout, options):
        return lib.client(host, port, timeout=timeout, grpc_options=options, **dict(auth, **(tls if secure else {})))

    def range(self, key, end, **fields):
        c = self.client
        request = c._build_get_range_request(key, end)
        for name, value in fields.items():  # only those given: Range refuses a negative revision
            setattr(request, name, value)
        return c.kvstub.Range(request, c.timeout, credentials=c.call_credentials, metadata=c.metadata)
