# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The etcd part of an etcd run's targets: each one's connection and key prefix, and no two
targets on one etcd cluster whose key spaces nest."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError, ValidationError
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import etcd_credentials
from ansible_collections.apigw.router.plugins.module_utils.common._validation import check_key_prefix, check_range
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import parse_endpoint
from ansible_collections.apigw.router.plugins.module_utils.common._etcd_endpoints import resolve as resolve_endpoints
from ansible_collections.apigw.router.plugins.module_utils.runs._targets import ETCD_ITEM_OPTIONS, item_value, named, resolve_targets
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import routes_prefix
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import check_scope


def resolve_etcd_targets(params, needs_project):
    """resolve_targets() for an etcd run: each target also has ``key_prefix``, ``routes_prefix``,
    ``etcd`` (its connection options) and ``etcd_endpoints_from``."""
    check_range("etcd_timeout", params.get("etcd_timeout"), 0.001)
    fleet, targets = resolve_targets(params, needs_project, etcd_side=_etcd_target)
    check_disjoint_key_spaces(targets)
    return fleet, targets


def _etcd_target(target, where, item, params):
    """Adds ``key_prefix``, ``routes_prefix``, ``scope`` (a Scope or None) and ``etcd`` (the
    connection options) to ``target``."""
    etcd = dict((option, item_value(item, params, option)) for option in ETCD_ITEM_OPTIONS)
    # etcdctl's user:password form (ETCDCTL_USER), split as etcdctl does.
    etcd["etcd_user"], etcd["etcd_password"] = etcd_credentials(item, params)
    etcd["etcd_endpoints"], target["etcd_endpoints_from"] = resolve_endpoints(etcd["etcd_endpoints"])
    if not etcd["etcd_endpoints"]:
        raise ValidationError("%setcd_endpoints must list at least one endpoint" % where)
    target["key_prefix"] = named(where, "key_prefix", check_key_prefix, etcd.pop("key_prefix"))
    target["routes_prefix"] = routes_prefix(target["key_prefix"], target["instance_id"])
    target["etcd"] = etcd
    target["scope"] = named(where, "scope", check_scope, item_value(item, params, "scope"))


def _cluster_members(etcd):
    """The endpoints of a target's etcd cluster, normalized (``h:p`` is ``http://h:p``)."""
    endpoints = etcd["etcd_endpoints"]
    if isinstance(endpoints, str):
        endpoints = endpoints.split(",")
    tls = bool(etcd["etcd_ca_cert"] or etcd["etcd_client_cert"])
    members = set()
    for endpoint in endpoints:
        try:
            members.add(parse_endpoint(endpoint, tls)[0])
        except EtcdError:  # refused with the item's name when its client is made
            members.add(endpoint)
    return members


def check_disjoint_key_spaces(targets):
    """Refuse two targets on one etcd cluster whose key spaces nest.

    An instance owns every key under ``<key_prefix>/<instance_id>/`` and its sync prunes
    its ``apis/`` part: when one target's space holds another's (``/r`` + ``X`` and
    ``/r/X/apis`` + ``Y``), syncing the first deletes the second's routes and lock. Two
    targets are on one cluster when they list an endpoint in common. Each space is compared
    with the next in sorted order only: a space that holds others sorts right before them.
    """
    by_member = {}
    for index, target in enumerate(targets):
        space = "%s/%s/" % (target["key_prefix"], target["instance_id"])
        for member in _cluster_members(target["etcd"]):
            by_member.setdefault(member, []).append((space, index))
    for member in sorted(by_member):
        spaces = sorted(by_member[member])
        for (outer, i), (inner, j) in zip(spaces, spaces[1:]):
            if inner.startswith(outer):
                first, second = sorted((i, j))
                raise ValidationError(
                    "instances[%d] (instance %s) and instances[%d] (instance %s) have nested etcd key spaces on the "
                    "same etcd cluster (both use %s): %s holds %s, so instance %s's sync could delete instance %s's keys. "
                    "Give them key_prefix values under which neither <key_prefix>/<instance_id>/ starts with the "
                    "other's, for example the same key_prefix for both"
                    % (first, targets[first]["instance_id"], second, targets[second]["instance_id"], member,
                       outer, inner, targets[i]["instance_id"], targets[j]["instance_id"]))
