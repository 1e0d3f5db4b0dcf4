# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The etcd side of a run: one client per distinct connection, and results that name their endpoints."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import EtcdClient
from ansible_collections.apigw.router.plugins.module_utils.common._etcd_endpoints import ORIGIN_NAMES
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import redact_endpoint


def shown_endpoints(endpoints):
    """The endpoints as results and diff headers show them: without any userinfo (credentials,
    should anyone put them there)."""
    return [redact_endpoint(endpoint, mask=None) for endpoint in endpoints]


def endpoints_header(endpoints, origin, where):
    """A diff header: ``etcd http://a:2379, http://b:2379 (from ETCDCTL_ENDPOINTS): <where>``."""
    return "etcd %s (from %s): %s" % (", ".join(shown_endpoints(endpoints)), ORIGIN_NAMES[origin], where)


def _connection_key(etcd):
    """One etcd client per distinct cluster and identity: endpoints, TLS files, user, password."""
    return tuple((option, tuple(value) if isinstance(value, list) else value)
                 for option, value in sorted(etcd.items()))


class EtcdClients(object):
    """The etcd clients of a run, one per distinct connection, shared by the targets using it
    (as ``target["etcd_client"]``).

    All of them are made (certificate files read, options checked) before any instance is
    processed, so that a bad item fails the run before anything is written.
    """

    def __init__(self, params, targets, fleet):
        self._clients = {}
        try:
            for index, target in enumerate(targets):
                key = _connection_key(target["etcd"])
                if key not in self._clients:
                    self._clients[key] = self._client(params, target["etcd"], "instances[%d]" % index if fleet
                                                      else None)
                target["etcd_client"] = self._clients[key]
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _client(params, etcd, where):
        try:
            return EtcdClient(etcd["etcd_endpoints"], ca_cert=etcd["etcd_ca_cert"],
                              client_cert=etcd["etcd_client_cert"], client_key=etcd["etcd_client_key"],
                              user=etcd["etcd_user"], password=etcd["etcd_password"],
                              timeout=params["etcd_timeout"], library=params.get("etcd_library") or "auto")
        except EtcdError as exc:
            if where is None:
                raise
            raise EtcdError("%s: %s" % (where, exc.msg), **exc.details)

    def __len__(self):
        return len(self._clients)

    def close(self):
        for client in self._clients.values():
            client.close()


def saying_endpoints(targets, results):
    """``results`` (one per target, failed or not) naming the etcd endpoints each used and where
    they came from (option, ETCDCTL_ENDPOINTS or the default), in the result and in the diff's headers."""
    for target, result in zip(targets, results):
        endpoints, origin = target["etcd"]["etcd_endpoints"], target["etcd_endpoints_from"]
        result.update(etcd_endpoints=shown_endpoints(endpoints), etcd_endpoints_from=origin)
        if isinstance(result.get("diff"), dict):
            title = endpoints_header(endpoints, origin, target["routes_prefix"])
            result["diff"].update(before_header=title, after_header=title)
    return results
