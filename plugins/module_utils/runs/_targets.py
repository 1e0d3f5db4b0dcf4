# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Step 1 of every run: from the options to one target dict per instance, validated, nothing sent.

Everything is validated before the first request or write, for every instance of a
fleet, so that bad input never leaves a half-done job behind.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.common._errors import EtcdError, ValidationError
from ansible_collections.apigw.router.plugins.module_utils.common._fleet import MAX_CONCURRENCY
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import etcd_credentials
from ansible_collections.apigw.router.plugins.module_utils.common._validation import check_identifier, check_key_prefix, check_range
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import parse_endpoint
from ansible_collections.apigw.router.plugins.module_utils.etcd._endpoints import resolve as resolve_endpoints
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import routes_prefix


# Options an ``instances`` item may give for itself; what it leaves out comes from the
# module's option of the same name.
APIG_ITEM_OPTIONS = ("project_id", "endpoint", "region", "cloud")
ETCD_ITEM_OPTIONS = ("etcd_endpoints", "etcd_ca_cert", "etcd_client_cert", "etcd_client_key", "etcd_user",
                     "etcd_password", "key_prefix")


def _item_value(item, params, option):
    value = item.get(option)
    return params.get(option) if value is None else value


def _named(where, option, check, *args):
    """``check(*args)``, its ValidationError naming ``instances[i].<option>`` in the fleet form."""
    try:
        return check(*args)
    except ValidationError as exc:
        if not where:
            raise
        raise ValidationError("%s%s: %s" % (where, option, exc.msg), **exc.details)


def _apig_target(target, where, params):
    """Adds ``base_url`` and ``iam_endpoint`` (for a project lookup) to ``target``, validated."""
    # Imported here: an etcd-mode run from apis or src has no use for the management API's
    # client, which AnsiballZ would compile on every run (it ships it all the same).
    from ansible_collections.apigw.router.plugins.module_utils.apig._endpoints import apig_endpoint, check_region, cloud_of, iam_endpoint
    from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import base_url, check_http_url
    region, cloud = target["region"], target["cloud"]
    if region:
        _named(where, "region", check_region, region)
    if cloud:
        _named(where, "cloud", cloud_of, region, cloud)
    if target["project_id"]:
        check_identifier(where + "project_id", target["project_id"])
    elif not region:
        raise ValidationError("%sproject_id is required to call the APIG management API without a region to "
                              "look it up in (or set HUAWEICLOUD_SDK_PROJECT_ID)" % where)
    else:
        # Looked up at run time, once per region: the project named after the region.
        target["iam_endpoint"] = _named(where, "iam_endpoint", check_http_url, "iam_endpoint",
                                        params.get("iam_endpoint") or iam_endpoint(region, cloud))
    endpoint = target["endpoint"]
    if not endpoint and region:
        endpoint = apig_endpoint(region, cloud)
    target["base_url"] = _named(where, "endpoint", base_url, endpoint)


def _etcd_target(target, where, item, params):
    """Adds ``key_prefix``, ``routes_prefix`` and ``etcd`` (the connection options) to ``target``."""
    etcd = dict((option, _item_value(item, params, option)) for option in ETCD_ITEM_OPTIONS)
    # etcdctl's user:password form (ETCDCTL_USER), split as etcdctl does.
    etcd["etcd_user"], etcd["etcd_password"] = etcd_credentials(item, params)
    etcd["etcd_endpoints"], target["etcd_endpoints_from"] = resolve_endpoints(etcd["etcd_endpoints"])
    if not etcd["etcd_endpoints"]:
        raise ValidationError("%setcd_endpoints must list at least one endpoint" % where)
    target["key_prefix"] = _named(where, "key_prefix", check_key_prefix, etcd.pop("key_prefix"))
    target["routes_prefix"] = routes_prefix(target["key_prefix"], target["instance_id"])
    target["etcd"] = etcd


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


def resolve_targets(params, needs_project, etcd=False):
    """(fleet, targets): one dict per instance, validated, nothing sent.

    Each target has ``instance_id`` and the APIG options (``project_id``, ``endpoint``,
    ``region``, ``cloud``: the item's, else the module's). With ``needs_project`` also
    ``base_url``, and ``iam_endpoint`` when its project is to be looked up from its region;
    with ``etcd`` also ``key_prefix``, ``routes_prefix`` and ``etcd`` (connection options),
    and no two targets on one etcd cluster with nested key spaces (``etcd_timeout`` checked too).
    """
    if etcd:
        check_range("etcd_timeout", params.get("etcd_timeout"), 0.001)
    fleet = params.get("instances") is not None
    items = params["instances"] if fleet else [{"instance_id": params.get("instance_id")}]
    if fleet and not items:
        raise ValidationError("instances is empty: list at least one instance")
    concurrency = params.get("concurrency", 16)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValidationError("concurrency must be between 1 and %d, not %d" % (MAX_CONCURRENCY, concurrency))
    targets, seen = [], {}
    for index, item in enumerate(items):
        where = "instances[%d]." % index if fleet else ""
        instance_id = check_identifier(where + "instance_id", item.get("instance_id"))
        if instance_id in seen:
            raise ValidationError("instances[%d] and instances[%d] are both instance %s: list each instance once"
                                  % (seen[instance_id], index, instance_id))
        seen[instance_id] = index
        target = dict(instance_id=instance_id)
        for option in APIG_ITEM_OPTIONS:
            target[option] = _item_value(item, params, option) or None
        if needs_project:
            _apig_target(target, where, params)
        if etcd:
            _etcd_target(target, where, item, params)
        targets.append(target)
    if etcd:
        check_disjoint_key_spaces(targets)
    return fleet, targets
