# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""From module options to a result dict: target resolution, validation, single or fleet.

Everything is validated before the first request or write, for every instance of a
fleet, so that bad input never leaves a half-done job behind. The order is always:
options and targets, the source (a fixed one is built into records here, once), the
connections (HTTP session, etcd clients), then the per-instance work.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys
import traceback

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.common.warnings import warn

from ansible_collections.apigw.router.plugins.module_utils.apig._api_refresh import refresh_instance
from ansible_collections.apigw.router.plugins.module_utils.apig._endpoints import (
    apig_endpoint, check_region, cloud_of, iam_endpoint)
from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    ApigwRouterError, EtcdError, MissingLibraryError, ValidationError)
from ansible_collections.apigw.router.plugins.module_utils.etcd._client import EtcdClient, parse_endpoint
from ansible_collections.apigw.router.plugins.module_utils.etcd._endpoints import (
    header as endpoints_header, resolve as resolve_endpoints, shown as shown_endpoints)
from ansible_collections.apigw.router.plugins.module_utils.etcd._sync import inspect, sync
from ansible_collections.apigw.router.plugins.module_utils.common._fleet import (
    MAX_CONCURRENCY, fleet_message, run_all, summarize)
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import (
    ClientPool, HttpTransport, base_url, check_http_url)
from ansible_collections.apigw.router.plugins.module_utils.apig._projects import ProjectLookup
from ansible_collections.apigw.router.plugins.module_utils.common._retry import RetryPolicy
from ansible_collections.apigw.router.plugins.module_utils.apig._router_api import RouterApi
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import routes_prefix
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import (
    etcd_credentials, hidden_values, plaintext_password_warnings)
from ansible_collections.apigw.router.plugins.module_utils.sources._source import ManagementApiSource, fixed_source
from ansible_collections.apigw.router.plugins.module_utils.common._validation import (
    HTTP_SETTING_RANGES, check_identifier, check_key_prefix, check_range, check_resources)


# ---------------------------------------------------------------------------- entry point

def unexpected_failure(exc_info=None):
    """msg and exception (the traceback) for an exception the collection did not expect.

    The traceback keeps its frames and the exception's type but not its text: a library's
    exception text may quote a request header, i.e. a credential that is not an option
    (an IAM token obtained with a password), so no scrubbing of option values would catch it.
    """
    exc_type, exc, tb = exc_info or sys.exc_info()
    frames = traceback.extract_tb(tb)
    where = ""
    if frames:
        last = frames[-1]
        where = " at %s line %d (%s)" % (last.filename.rsplit("/", 1)[-1], last.lineno, last.name)
    text = "Traceback (most recent call last):\n%s%s (message withheld: it may quote a credential)\n" % (
        "".join(traceback.format_list(frames)), exc_type.__name__)
    return dict(msg="unexpected %s%s: a bug in apigw.router or a library it uses; please report it with "
                    "the exception text of this result" % (exc_type.__name__, where),
                exception=text)


def execute(module, runner):
    """Run ``runner(params, check_mode, diff)`` and exit the module: the one place where
    exceptions become failures."""
    # Ansible masks no_log options only: also the password of etcd_user's user:password form and
    # of a URL's userinfo (refused, but quoted in the invocation), wherever they would show.
    module.no_log_values.update(hidden_values(module.params))
    for warning in plaintext_password_warnings(module.params, etcd=module.params.get("mode") in (None, "etcd")):
        module.warn(warning)
    try:
        result = runner(module.params, module.check_mode, module._diff)
    except MissingLibraryError as exc:
        module.fail_json(msg=missing_required_lib(exc.library, reason=exc.reason), exception=exc.exception_text)
    except ApigwRouterError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except Exception:  # pylint: disable=broad-except
        module.fail_json(changed=False, **unexpected_failure())
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


def _guarded(work):
    """``work`` whose unexpected exceptions become that instance's failed result, traceback kept."""
    def run(target):
        try:
            return work(target)
        except ApigwRouterError:
            raise  # the fleet runner reports it with its details
        except Exception:  # pylint: disable=broad-except
            return dict(changed=False, failed=True, **unexpected_failure())
    return run


# ------------------------------------------------------------------------------ targets

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
    and no two targets on one etcd cluster with nested key spaces.
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
            target[option] = _item_value(item, params, option) or None
        if needs_project:
            _apig_target(target, where, params)
        if etcd:
            _etcd_target(target, where, item, params)
        targets.append(target)
    if etcd:
        check_disjoint_key_spaces(targets)
    return fleet, targets


class _Projects(object):
    """Each target's project id: its own, or the one of its region, looked up once per region."""

    def __init__(self, pool):
        self._lookup = ProjectLookup(pool.transport, pool.auth)

    def of(self, target):
        if target["project_id"]:
            return target
        return dict(target, project_id=self._lookup.project_id(target["region"], target["iam_endpoint"]))


def _check_range(params, name, low, high=None):
    check_range(name, params.get(name), low, high)


def _management_api(params, pool_size):
    """ClientPool sharing one session and one auth method (validated offline first)."""
    # Imported here: the auth classes (signer, IAM login) cost every etcd-mode run from a
    # file about 30 ms of imports it never uses.
    from ansible_collections.apigw.router.plugins.module_utils.apig._auth import selected_method
    method = selected_method(params)
    for name, low, high in HTTP_SETTING_RANGES:
        _check_range(params, name, low, high)
    transport = HttpTransport(validate_certs=params["validate_certs"], ca_path=params.get("ca_path"),
                              timeout=params["timeout"], pool_size=pool_size,
                              retry_policy=RetryPolicy(params["retries"], params["retry_delay"]))
    return ClientPool(transport, method.from_params(params, transport))


def _shape(fleet, results, message):
    """The single result, or the fleet's: ``results``, ``summary`` and ``message(results, summary)``."""
    if not fleet:
        return results[0]
    summary = summarize(results)
    shaped = dict(changed=any(r.get("changed") for r in results), failed=summary["failed"] > 0,
                  msg=message(results, summary), results=results, summary=summary)
    diffs = [r["diff"] for r in results if r.get("diff")]
    if diffs:
        shaped["diff"] = diffs
    return shaped


def _written(verb):
    def message(results, summary):
        return fleet_message(results, summary, verb)
    return message


# ----------------------------------------------------------------------------- mode: api

def run_api_refresh(params, check_mode=False, diff=False):
    for index, item in enumerate(params.get("instances") or []):
        given = [option for option in ETCD_ITEM_OPTIONS if item.get(option) is not None]
        if given:
            raise ValidationError("instances[%d].%s is an etcd connection option: mode api does not use etcd"
                                  % (index, given[0]))
    fleet, targets = resolve_targets(params, needs_project=True)
    for name in ("apis", "src"):
        if params.get(name) is not None:
            raise ValidationError("%s is a source for mode etcd; mode api refreshes what the gateway has" % name)
    resources = check_resources(params["resources"])
    _check_range(params, "wait_timeout", 0)
    _check_range(params, "wait_sleep", 0)
    pool = _management_api(params, params["concurrency"])
    projects = _Projects(pool)

    def work(target):
        target = projects.of(target)
        api = RouterApi(pool.get(target["base_url"]), target["project_id"])
        return refresh_instance(api, target["instance_id"], resources, wait=params["wait"],
                                wait_timeout=params["wait_timeout"], wait_sleep=params["wait_sleep"],
                                check_mode=check_mode)

    return _shape(fleet, run_all(targets, _guarded(work), params["concurrency"]), _written("refreshed"))


# ---------------------------------------------------------------------------- mode: etcd

def _etcd_targets(params, source_from_api):
    """(fleet, targets) for an etcd-mode run, with the etcd options validated."""
    _check_range(params, "etcd_timeout", 0.001)
    return resolve_targets(params, needs_project=source_from_api, etcd=True)


def _saying_endpoints(work):
    """``work`` whose result, failed or not, names the etcd endpoints it used and where they came
    from (option, ETCDCTL_ENDPOINTS or the default), in the result and in the diff's headers."""
    def run(target):
        endpoints, origin = target["etcd"]["etcd_endpoints"], target["etcd_endpoints_from"]
        said = dict(etcd_endpoints=shown_endpoints(endpoints), etcd_endpoints_from=origin)
        try:
            result = work(target)
        except ApigwRouterError as exc:
            exc.details.update(said)
            raise
        result.update(said)
        if isinstance(result.get("diff"), dict):
            title = endpoints_header(endpoints, origin, target["routes_prefix"])
            result["diff"].update(before_header=title, after_header=title)
        return result
    return run


def _connection_key(etcd):
    """One etcd client per distinct cluster and identity: endpoints, TLS files, user, password."""
    return tuple((option, tuple(value) if isinstance(value, list) else value)
                 for option, value in sorted(etcd.items()))


class _EtcdClients(object):
    """The etcd clients of a run, one per distinct connection, shared by the targets using it.

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


def _source(params, fixed):
    """The fixed source, else each instance's ListApisV2 (with its project looked up as needed)."""
    if fixed is not None:
        return fixed, lambda target: target
    pool = _management_api(params, params["concurrency"])
    return ManagementApiSource(pool), _Projects(pool).of


def run_etcd_sync(params, check_mode=False, diff=False):
    _check_range(params, "max_txn_ops", 1, 100000)
    _check_range(params, "lock_timeout", 0)
    fixed = fixed_source(params)
    fleet, targets = _etcd_targets(params, source_from_api=fixed is None)
    source, with_project = _source(params, fixed)
    clients = _EtcdClients(params, targets, fleet)

    def work(target):
        target = with_project(target)
        return sync(target["etcd_client"], target["instance_id"], source.routes(target),
                    key_prefix=target["key_prefix"], prune=params["prune"], allow_empty=params["allow_empty"],
                    max_txn_ops=params["max_txn_ops"], lock_timeout=params["lock_timeout"],
                    check_mode=check_mode, diff=diff)

    try:
        return _shape(fleet, run_all(targets, _saying_endpoints(_guarded(work)), params["concurrency"]),
                      _written("changed"))
    finally:
        clients.close()
        source.save()


def run_refresh(params, check_mode=False, diff=False):
    if params.get("mode", "api") == "etcd":
        return run_etcd_sync(params, check_mode, diff)
    return run_api_refresh(params, check_mode, diff)


# ------------------------------------------------------------------------- info (read-only)

def _info_message(compare):
    """The info module's fleet message: what was read, and with ``compare`` what drifts."""
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


def _drift_message(instance_id, drift):
    return ("drift on instance %s: a sync would create %d, update %d and delete %d route(s)"
            % (instance_id, len(drift["create"]), len(drift["update"]), len(drift["delete"])))


def run_info(params, check_mode=False, diff=False):
    compare = params.get("compare")
    if params.get("fail_on_drift") and not compare:
        raise ValidationError("fail_on_drift needs compare: true")
    ignored = [name for name in ("apis", "src") if params.get(name) is not None]
    if ignored and not compare:
        warn("%s is ignored without compare: true (only a drift check reads a source)" % " and ".join(ignored))
    fixed = fixed_source(params) if compare else None
    fleet, targets = _etcd_targets(params, source_from_api=bool(compare and fixed is None))
    source, with_project = _source(params, fixed) if compare else (None, None)
    clients = _EtcdClients(params, targets, fleet)

    def work(target):
        desired = None
        if source is not None:
            target = with_project(target)
            desired = source.routes(target)
        result = inspect(target["etcd_client"], target["instance_id"], target["key_prefix"], desired=desired,
                         prune=params.get("prune", True), records=params["records"])
        result["changed"] = False
        if params.get("fail_on_drift") and not result.get("in_sync", True):
            result["failed"] = True
            result["msg"] = _drift_message(target["instance_id"], result["drift"])
        result.setdefault("msg", "instance %s: %d route(s)%s" % (
            target["instance_id"], result.get("count", 0),
            "" if desired is None else (", in sync" if result.get("in_sync") else ", drift")))
        return result

    try:
        return _shape(fleet, run_all(targets, _saying_endpoints(_guarded(work)), params["concurrency"]),
                      _info_message(compare))
    finally:
        clients.close()
        if source is not None:
            source.save()
