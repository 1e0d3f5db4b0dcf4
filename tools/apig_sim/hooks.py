# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a refresh does beyond answering 200.

With an etcd (``--etcd-endpoints``), a refresh of ``apis`` writes the instance's published
APIs into it in the documented etcd layout, as the real gateway writes its router data;
the writer (``etcd_writer``) is the simulator's own, written from the documentation, so
comparing it with the module's etcd mode checks the module against the layout. When etcd
cannot be written, the PUT answers 500 APIG.3500 ("Failed to synchronize data to etcd."),
the gateway's own failure. The other resources have no etcd layout in
this collection: they are only recorded.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import threading

from apig_sim.data import is_published
from apig_sim.etcd_writer import EtcdWriter, WriteFailed


class SyncFailed(Exception):
    """The refresh could not write the router data; answered as APIG.3500."""


class _Etcd(object):
    """The simulator's etcd connection, configured once at start-up."""

    def __init__(self):
        self.endpoints = None
        self.key_prefix = "/apig/router"
        self.timeout = 5.0
        self._writer = None
        self._lock = threading.Lock()
        self.write_lock = threading.Lock()  # one refresh writes at a time, as one gateway does

    def writer(self):
        with self._lock:
            if self._writer is None:
                self._writer = EtcdWriter(self.endpoints, key_prefix=self.key_prefix, timeout=self.timeout)
            return self._writer


ETCD = _Etcd()


def configure(etcd_endpoints=None, key_prefix="/apig/router", etcd_timeout=5.0):
    ETCD.endpoints = etcd_endpoints or None
    ETCD.key_prefix = key_prefix
    ETCD.timeout = etcd_timeout


def on_refresh(project_id, instance_id, resource, apis):
    """Called once per accepted refresh PUT, before the 200 goes out (synchronously,
    so a test can check the effect as soon as the PUT returns).

    ``resource`` is one of apis, acls, vpcs, throttles, tenants, signatures, certs;
    ``apis`` is the instance's full API list in ListApisV2 item shape (published and
    not: the writer picks the routes, as the module does from a real ListApisV2).
    Returns a dict of details for the refresh record.
    """
    if resource != "apis":
        return {}
    details = {"apis": len(apis), "published": sum(1 for api in apis if is_published(api))}
    if ETCD.endpoints:
        details["etcd"] = _write_routes(instance_id, apis)
    return details


def _write_routes(instance_id, apis):
    # The gateway owns its router data: an empty API list empties the router.
    try:
        with ETCD.write_lock:
            return ETCD.writer().write(instance_id, apis)
    except WriteFailed as exc:
        raise SyncFailed(str(exc))
