# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""From module options to a result dict: target resolution, validation, single or fleet.

Everything is validated before the first request or write, for every instance of a
fleet, so that bad input never leaves a half-done job behind.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils._api_refresh import refresh_instance
from ansible_collections.apigw.router.plugins.module_utils._auth import selected_method
from ansible_collections.apigw.router.plugins.module_utils._errors import (
    ApigwRouterError, MissingLibraryError, ValidationError)
from ansible_collections.apigw.router.plugins.module_utils._fleet import (
    MAX_CONCURRENCY, fleet_message, run_all, summarize)
from ansible_collections.apigw.router.plugins.module_utils._http_client import (
    ClientPool, HttpTransport, base_url)
from ansible_collections.apigw.router.plugins.module_utils._retry import RetryPolicy
from ansible_collections.apigw.router.plugins.module_utils._router_api import RouterApi
from ansible_collections.apigw.router.plugins.module_utils._validation import (
    check_identifier, check_key_prefix, check_resources)


# ---------------------------------------------------------------------------- entry point

def execute(module, runner):
    """Run ``runner(params, check_mode, diff)`` and exit the module: the one place where the
    collection's exceptions become failures."""
    try:
        result = runner(module.params, module.check_mode, module._diff)
    except MissingLibraryError as exc:
        from ansible.module_utils.basic import missing_required_lib
        module.fail_json(msg=missing_required_lib(exc.library, reason=exc.reason), exception=exc.exception_text)
    except ApigwRouterError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


# ------------------------------------------------------------------------------ targets

def resolve_targets(params, needs_project):
    """(fleet, targets): one dict per instance with its project and base URL, validated."""
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
        target = dict(instance_id=instance_id,
                      project_id=item.get("project_id") or params.get("project_id"),
                      endpoint=item.get("endpoint") or params.get("endpoint"),
                      region=item.get("region") or params.get("region"))
        if needs_project:
            if not target["project_id"]:
                raise ValidationError("%sproject_id is required to call the APIG management API "
                                      "(or set HUAWEICLOUD_SDK_PROJECT_ID)" % where)
            check_identifier(where + "project_id", target["project_id"])
            target["base_url"] = base_url(target["endpoint"], target["region"])
        targets.append(target)
    return fleet, targets


def _check_range(params, name, low, high=None):
    value = params.get(name)
    if value is None:
        return
    if value < low or (high is not None and value > high):
        bound = "at least %s" % low if high is None else "between %s and %s" % (low, high)
        raise ValidationError("%s must be %s, not %s" % (name, bound, value))


def _management_api(params, pool_size):
    """ClientPool sharing one session and one auth method (validated offline first)."""
    method = selected_method(params)
    for name, low, high in (("timeout", 0.001, None), ("retries", 0, 100), ("retry_delay", 0, 3600)):
        _check_range(params, name, low, high)
    transport = HttpTransport(validate_certs=params["validate_certs"], ca_path=params.get("ca_path"),
                              timeout=params["timeout"], pool_size=pool_size,
                              retry_policy=RetryPolicy(params["retries"], params["retry_delay"]))
    return ClientPool(transport, method.from_params(params, transport))


def _shape(fleet, results, verb):
    if not fleet:
        return results[0]
    summary = summarize(results)
    shaped = dict(changed=any(r.get("changed") for r in results), failed=summary["failed"] > 0,
                  msg=fleet_message(results, summary, verb), results=results, summary=summary)
    diffs = [r["diff"] for r in results if r.get("diff")]
    if diffs:
        shaped["diff"] = diffs
    return shaped


# ----------------------------------------------------------------------------- mode: api

def run_api_refresh(params, check_mode=False, diff=False):
    fleet, targets = resolve_targets(params, needs_project=True)
    for name in ("apis", "src"):
        if params.get(name) is not None:
            raise ValidationError("%s is a source for mode etcd; mode api refreshes what the gateway has" % name)
    resources = check_resources(params["resources"])
    _check_range(params, "wait_timeout", 0)
    _check_range(params, "wait_sleep", 0)
    pool = _management_api(params, params["concurrency"])

    def work(target):
        api = RouterApi(pool.get(target["base_url"]), target["project_id"])
        return refresh_instance(api, target["instance_id"], resources, wait=params["wait"],
                                wait_timeout=params["wait_timeout"], wait_sleep=params["wait_sleep"],
                                check_mode=check_mode)

    return _shape(fleet, run_all(targets, work, params["concurrency"]), "refreshed")


# ---------------------------------------------------------------------------- mode: etcd

def _etcd_settings(params):
    key_prefix = check_key_prefix(params["key_prefix"])
    _check_range(params, "etcd_timeout", 0.001)
    if not params.get("etcd_endpoints"):
        raise ValidationError("etcd_endpoints must list at least one endpoint")
    return key_prefix


def _etcd_client(params):
    from ansible_collections.apigw.router.plugins.module_utils._etcd_client import EtcdClient
    return EtcdClient(params["etcd_endpoints"], ca_cert=params.get("etcd_ca_cert"),
                      client_cert=params.get("etcd_client_cert"), client_key=params.get("etcd_client_key"),
                      user=params.get("etcd_user"), password=params.get("etcd_password"),
                      timeout=params["etcd_timeout"], library=params.get("etcd_library") or "auto")


class _Source(object):
    """The API resources of a sync or a drift check: a fixed list (``apis`` / ``src``),
    validated and turned into route records once for the whole fleet, or each instance's
    own from ListApisV2."""

    def __init__(self, params):
        from ansible_collections.apigw.router.plugins.module_utils._source import apis_from_param, load_src
        self.fixed = None
        if params.get("apis") is not None:
            self.fixed = apis_from_param(params["apis"])
        elif params.get("src"):
            self.fixed = load_src(params["src"])
        self.pool = None
        self._records = None  # {api id: canonical bytes} of the fixed source

    @property
    def from_api(self):
        return self.fixed is None

    def connect(self, params, concurrency):
        if self.from_api:
            self.pool = _management_api(params, concurrency)

    def desired(self, target, key_prefix):
        from ansible_collections.apigw.router.plugins.module_utils._routes import desired_routes, routes_prefix
        instance_id = target["instance_id"]
        if self.fixed is None:
            apis = list(RouterApi(self.pool.get(target["base_url"]), target["project_id"]).iter_apis(instance_id))
            return desired_routes(apis, key_prefix, instance_id)
        if self._records is None:
            # Records do not depend on the instance: validate and encode them once.
            prefix = routes_prefix(key_prefix, instance_id)
            self._records = dict((key[len(prefix):], value)
                                 for key, value in desired_routes(self.fixed, key_prefix, instance_id).items())
        prefix = routes_prefix(key_prefix, instance_id)
        return dict((prefix + api_id, value) for api_id, value in self._records.items())


def run_etcd_sync(params, check_mode=False, diff=False):
    from ansible_collections.apigw.router.plugins.module_utils._etcd_sync import sync
    key_prefix = _etcd_settings(params)
    _check_range(params, "max_txn_ops", 1, 100000)
    _check_range(params, "lock_timeout", 0)
    source = _Source(params)
    fleet, targets = resolve_targets(params, needs_project=source.from_api)
    if not source.from_api:
        # A fixed source is validated (once, for the whole fleet) before anything is written.
        source.desired(targets[0], key_prefix)
    source.connect(params, params["concurrency"])
    client = _etcd_client(params)

    def work(target):
        desired = source.desired(target, key_prefix)
        return sync(client, target["instance_id"], desired, key_prefix=key_prefix, prune=params["prune"],
                    allow_empty=params["allow_empty"], max_txn_ops=params["max_txn_ops"],
                    lock_timeout=params["lock_timeout"], check_mode=check_mode, diff=diff)

    try:
        return _shape(fleet, run_all(targets, work, params["concurrency"]), "changed")
    finally:
        client.close()


def run_refresh(params, check_mode=False, diff=False):
    if params.get("mode", "api") == "etcd":
        return run_etcd_sync(params, check_mode, diff)
    return run_api_refresh(params, check_mode, diff)


# ------------------------------------------------------------------------- info (read-only)

def run_info(params, check_mode=False, diff=False):
    from ansible_collections.apigw.router.plugins.module_utils._etcd_sync import inspect
    key_prefix = _etcd_settings(params)
    compare = params.get("compare")
    if params.get("fail_on_drift") and not compare:
        raise ValidationError("fail_on_drift needs compare: true")
    source = _Source(params) if compare else None
    fleet, targets = resolve_targets(params, needs_project=bool(source and source.from_api))
    if source is not None:
        if not source.from_api:
            source.desired(targets[0], key_prefix)  # validate before any instance is read
        source.connect(params, params["concurrency"])
    client = _etcd_client(params)

    def work(target):
        desired = None
        if source is not None:
            desired = source.desired(target, key_prefix)
        result = inspect(client, target["instance_id"], key_prefix, desired=desired,
                         prune=params.get("prune", True), records=params["records"])
        result["changed"] = False
        if params.get("fail_on_drift") and not result.get("in_sync", True):
            drift = result["drift"]
            result["failed"] = True
            result["msg"] = ("drift on instance %s: a sync would create %d, update %d and delete %d route(s)"
                             % (target["instance_id"], len(drift["create"]), len(drift["update"]),
                                len(drift["delete"])))
        result.setdefault("msg", "instance %s: %d route(s)%s" % (
            target["instance_id"], result.get("count", 0),
            "" if desired is None else (", in sync" if result.get("in_sync") else ", drift")))
        return result

    try:
        shaped = _shape(fleet, run_all(targets, work, params["concurrency"]), "changed")
    finally:
        client.close()
    shaped["changed"] = False
    return shaped
