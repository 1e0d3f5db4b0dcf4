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

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.common._fleet import MAX_CONCURRENCY
from ansible_collections.apigw.router.plugins.module_utils.common._validation import check_identifier


# Options an ``instances`` item may give for itself; what it leaves out comes from the
# module's option of the same name.
APIG_ITEM_OPTIONS = ("project_id", "endpoint", "region", "cloud")
ETCD_ITEM_OPTIONS = ("etcd_endpoints", "etcd_ca_cert", "etcd_client_cert", "etcd_client_key", "etcd_user",
                     "etcd_password", "key_prefix")


def item_value(item, params, option):
    value = item.get(option)
    return params.get(option) if value is None else value


def named(where, option, check, *args):
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
        named(where, "region", check_region, region)
    if cloud:
        named(where, "cloud", cloud_of, region, cloud)
    if target["project_id"]:
        check_identifier(where + "project_id", target["project_id"])
    elif not region:
        raise ValidationError("%sproject_id is required to call the APIG management API without a region to "
                              "look it up in (or set HUAWEICLOUD_SDK_PROJECT_ID)" % where)
    else:
        # Looked up at run time, once per region: the project named after the region.
        target["iam_endpoint"] = named(where, "iam_endpoint", check_http_url, "iam_endpoint",
                                       params.get("iam_endpoint") or iam_endpoint(region, cloud))
    endpoint = target["endpoint"]
    if not endpoint and region:
        endpoint = apig_endpoint(region, cloud)
    target["base_url"] = named(where, "endpoint", base_url, endpoint)


def resolve_targets(params, needs_project, etcd_side=None):
    """(fleet, targets): one dict per instance, validated, nothing sent.

    Each target has ``instance_id`` and the APIG options (``project_id``, ``endpoint``,
    ``region``, ``cloud``: the item's, else the module's). With ``needs_project`` also
    ``base_url``, and ``iam_endpoint`` when its project is to be looked up from its region.
    ``etcd_side(target, where, item, params)`` adds an etcd run's part (runs/_etcd_targets.py),
    item by item, so that the first bad item is the one named.
    """
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
            target[option] = item_value(item, params, option) or None
        if needs_project:
            _apig_target(target, where, params)
        if etcd_side is not None:
            etcd_side(target, where, item, params)
        targets.append(target)
    return fleet, targets
