# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The info module: read each instance's routes from etcd, and with ``compare`` its drift
from a source (``apis``, ``src`` or ListApisV2). Nothing is written.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.common._fleet import fleet_message, run_all, shaped
from ansible_collections.apigw.router.plugins.module_utils.etcd._sync import inspect
from ansible_collections.apigw.router.plugins.module_utils.runs._etcd_clients import EtcdClients, saying_endpoints
from ansible_collections.apigw.router.plugins.module_utils.runs._etcd_targets import resolve_etcd_targets
from ansible_collections.apigw.router.plugins.module_utils.sources._export import Export
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import check_source_in_scopes
from ansible_collections.apigw.router.plugins.module_utils.sources._source import fixed_source


def run_info(params, check_mode, diff, warn):  # pylint: disable=unused-argument
    compare = params.get("compare")
    if params.get("fail_on_drift") and not compare:
        raise ValidationError("fail_on_drift needs compare: true")
    ignored = [name for name in ("apis", "src") if params.get(name) is not None]
    if ignored and not compare:
        warn("%s is ignored without compare: true (only a drift check reads a source)" % " and ".join(ignored))
    source = fixed_source(params) if compare else None
    fleet, targets = resolve_etcd_targets(params, needs_project=bool(compare and source is None))
    dest = params.get("dest")
    if dest and len(targets) > 1:
        raise ValidationError("dest exports one instance's routes: give instance_id, or one instances item")
    if source is not None:
        check_source_in_scopes(source, targets, fleet)
    if compare and source is None:
        # Imported here: a run from apis or src never calls the management API, and AnsiballZ
        # compiles every module it imports on every run (it ships them all the same).
        from ansible_collections.apigw.router.plugins.module_utils.runs._management_api import management_api
        from ansible_collections.apigw.router.plugins.module_utils.sources._api_source import ManagementApiSource
        source = ManagementApiSource(management_api(params, params["concurrency"]))
    clients = EtcdClients(params, targets, fleet)

    def work(target):
        desired = None if source is None else source.routes(target)
        # The info module never changes the instance: only dest, a file where the module runs.
        export = Export(dest, target["instance_id"], target["scope"], check_mode) if dest else None
        result = inspect(target["etcd_client"], target["instance_id"], target["key_prefix"], desired=desired,
                         prune=params.get("prune", True), records=params["records"], scope=target["scope"],
                         export=export, vouch=getattr(desired, "vouch", None))
        result["changed"] = export is not None and export.changed
        if export is not None and check_mode:
            result["msg"] = "check mode: instance %s: %d route(s) %s %s" % (
                target["instance_id"], result.get("count", 0),
                "would be exported to" if export.changed else "already exported in", export.path)
            del result["dest"]
        if params.get("fail_on_drift") and not result.get("in_sync", True):
            result["failed"] = True
            result["msg"] = _drift_message(target["instance_id"], result["drift"])
        result.setdefault("msg", "instance %s: %d route(s)%s%s" % (
            target["instance_id"], result.get("count", 0),
            "" if desired is None else (", in sync" if result.get("in_sync") else ", drift"),
            ", exported to %s" % result["dest"] if "dest" in result else ""))
        return result

    try:
        results = run_all(targets, work, params["concurrency"])
        return shaped(fleet, saying_endpoints(targets, results), _fleet_message(compare))
    finally:
        clients.close()
        if source is not None:
            source.save()


def _drift_message(instance_id, drift):
    return ("drift on instance %s: a sync would create %d, update %d and delete %d route(s)"
            % (instance_id, len(drift["create"]), len(drift["update"]), len(drift["delete"])))


def _fleet_message(compare):
    """What was read, and with ``compare`` what drifts."""
    def message(results, summary):
        read = [r for r in results if "count" in r]  # a drift failure was read all the same
        text = "%d instance(s) read: %d route(s)" % (len(read), sum(r.get("count", 0) for r in read))
        if compare:
            drifting = [r for r in read if not r.get("in_sync", True)]
            text += ", %d in sync, %d drifting" % (len(read) - len(drifting), len(drifting))
        text += ", %d failed" % summary["failed"]
        # The failed instances are named as in the refresh module's message.
        failures = fleet_message(results, summary, "read").partition("; failed: ")[2]
        if failures:
            text += "; failed: " + failures
        return text
    return message
