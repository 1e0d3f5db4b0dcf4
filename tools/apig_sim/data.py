# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""API resources: deterministic generation, completion of explicit ones, ListApisV2.

Items have the fields of ListApisV2's ``apis`` (ApiInfoPerPage in the official SDK).
An API published in several environments carries ``run_env_id``, ``run_env_name``,
``publish_id`` and ``publish_time`` as ``|``-joined strings, as the real gateway does;
an unpublished one has them empty.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import datetime
import hashlib
import random

from apig_sim.errors import invalid_parameter

MAX_LIMIT = 500          # ListApisV2 refuses a larger page
DEFAULT_LIMIT = 20       # ...and uses this one for limit <= 0 or absent
RELEASE_ENV = ("DEFAULT_ENVIRONMENT_RELEASE_ID", "RELEASE")  # the built-in environment
REQ_METHODS = ("GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS", "ANY")
RETURN_MODES = ("brief", "include_group", "include_group_backend")

# Fixed epoch for generated timestamps: the same seed gives byte-identical answers.
_EPOCH = datetime.datetime(2023, 1, 1)
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def _hex_id(rng):
    # APIG ids are 32 lower-case hex digits.
    return "%032x" % rng.getrandbits(128)


def _time(rng, after=None, span_days=500):
    start = after or _EPOCH
    return start + datetime.timedelta(seconds=rng.randint(0, span_days * 86400))


def _fmt(moment):
    return moment.strftime(_TIME_FORMAT)


def _publication_fields(envs):
    """The four publication fields from a list of ``{id, name, publish_id, publish_time}``."""
    return {
        "run_env_id": "|".join(e["id"] for e in envs),
        "run_env_name": "|".join(e["name"] for e in envs),
        "publish_id": "|".join(e["publish_id"] for e in envs),
        "publish_time": "|".join(e["publish_time"] for e in envs),
    }


def generate_apis(instance_id, count, seed=0, published_ratio=0.8, multi_env_ratio=0.1,
                  groups=None):
    """``count`` APIs for one instance, the same every time for the same arguments.

    The instance id is part of the random seed, so two instances generated with the
    same seed still get distinct ids (a module that mixed instances up would show).
    Exactly round(count * published_ratio) APIs are published, of which
    round(count * multi_env_ratio) in two or three environments.
    """
    rng = random.Random("apig_sim:%s:%s" % (seed, instance_id))
    n_groups = groups or max(1, min(20, count // 100 + 1))
    group_list = []
    for g in range(n_groups):
        group_list.append({"id": _hex_id(rng), "name": "group_%02d" % g,
                           "sl_domain": "%s.apic.example.invalid" % _hex_id(rng)})
    envs = [{"id": RELEASE_ENV[0], "name": RELEASE_ENV[1]}]
    for name in ("TEST", "PREPROD", "DEV"):
        envs.append({"id": _hex_id(rng), "name": name})

    n_published = int(round(count * published_ratio))
    n_multi = min(n_published, int(round(count * multi_env_ratio)))
    order = list(range(count))
    rng.shuffle(order)
    multi = set(order[:n_multi])
    published = set(order[:n_published])

    apis = []
    for index in range(count):
        group = group_list[index % n_groups]
        method = rng.choice(("GET", "GET", "GET", "POST", "PUT", "DELETE", "PATCH", "ANY"))
        registered = _time(rng)
        updated = _time(rng, after=registered, span_days=100)
        api = {
            "id": _hex_id(rng),
            "name": "api_%s_%05d" % (group["name"], index),
            "type": rng.choice((1, 1, 1, 2)),
            "version": "V1.0.%d" % rng.randint(0, 9),
            "req_protocol": rng.choice(("HTTPS", "HTTPS", "HTTP", "BOTH")),
            "req_method": method,
            "req_uri": "/%s/v1/resource%05d%s" % (group["name"].replace("_", "-"), index,
                                                  rng.choice(("", "", "/{id}"))),
            "match_mode": rng.choice(("NORMAL", "NORMAL", "NORMAL", "SWA")),
            "auth_type": rng.choice(("IAM", "APP", "APP", "NONE")),
            "auth_opt": {"app_code_auth_type": "DISABLE"},
            "cors": rng.random() < 0.2,
            "backend_type": rng.choice(("HTTP",) * 8 + ("MOCK", "FUNCTION")),
            "group_id": group["id"],
            "group_name": group["name"],
            "group_version": "V1",
            "status": 1,
            "register_time": _fmt(registered),
            "update_time": _fmt(updated),
            "authorizer_id": "",
            "tags": sorted(rng.sample(("inventory", "orders", "billing", "users", "v1"),
                                      rng.randint(0, 2))),
            "remark": "generated API %d of instance %s" % (index, instance_id),
            "content_type": "application/json" if method in ("POST", "PUT", "PATCH") else "",
            "response_id": "",
            "req_params": [],
        }
        if rng.random() < 0.5:
            api["req_params"].append({
                "id": _hex_id(rng), "name": "page", "type": "NUMBER", "location": "QUERY",
                "required": 2, "valid_enable": 2, "default_value": "", "sample_value": "1",
                "remark": "", "pass_through": 1})
        if "{id}" in api["req_uri"]:
            api["req_params"].append({
                "id": _hex_id(rng), "name": "id", "type": "STRING", "location": "PATH",
                "required": 1, "valid_enable": 2, "default_value": "", "sample_value": "42",
                "remark": "", "pass_through": 1})
        if rng.random() < 0.1:
            api["domain_name"] = "api%d.example.invalid" % index
        if api["backend_type"] == "HTTP":
            vpc = rng.random() < 0.3
            api["backend_api"] = {
                "id": _hex_id(rng),
                "req_protocol": rng.choice(("HTTP", "HTTPS")),
                "req_method": method if method != "ANY" else "GET",
                "req_uri": "/backend/resource%05d" % index,
                "url_domain": "" if vpc else "10.%d.%d.%d:%d" % (
                    rng.randint(0, 255), rng.randint(0, 255), rng.randint(1, 254),
                    rng.choice((80, 443, 8080))),
                "timeout": rng.choice((5000, 10000, 30000, 60000)),
                "retry_count": str(rng.choice((-1, 0, 1, 3))),
                "enable_client_ssl": False,
                "vpc_channel_status": 1 if vpc else 2,
                "status": 1,
                "version": "",
                "remark": "",
                "authorizer_id": "",
                "register_time": api["register_time"],
                "update_time": api["update_time"],
            }
            if vpc:
                api["backend_api"]["vpc_channel_info"] = {
                    "vpc_channel_id": _hex_id(rng), "vpc_channel_proxy_host": "",
                    "vpc_channel_port": 0, "cascade_flag": False}
        if index in published:
            chosen = rng.sample(envs, rng.choice((2, 3))) if index in multi else [rng.choice(envs)]
            chosen.sort(key=lambda e: e["name"])
            api.update(_publication_fields([
                {"id": e["id"], "name": e["name"], "publish_id": _hex_id(rng),
                 "publish_time": _fmt(_time(rng, after=updated, span_days=30))}
                for e in chosen]))
        else:
            api.update(_publication_fields([]))
        api["_group"] = group
        apis.append(api)
    return apis


def complete_api(item, index, instance_id):
    """An explicit API from the config, with the documented fields it lacks filled in.

    ``envs: [{id, name, publish_id?, publish_time?}]`` is a shorthand for the four
    ``|``-joined publication fields; given fields are kept exactly as written, so a
    test can also feed odd shapes on purpose.
    """
    rng = random.Random("apig_sim:explicit:%s:%s:%s" % (instance_id, index, item.get("id")))
    api = copy.deepcopy(item)
    envs = api.pop("envs", None)
    api.setdefault("id", _hex_id(rng))
    api.setdefault("name", "api_%d" % index)
    api.setdefault("type", 1)
    api.setdefault("version", "V1")
    api.setdefault("req_protocol", "HTTPS")
    api.setdefault("req_method", "GET")
    api.setdefault("req_uri", "/api%d" % index)
    api.setdefault("match_mode", "NORMAL")
    api.setdefault("auth_type", "NONE")
    api.setdefault("auth_opt", {"app_code_auth_type": "DISABLE"})
    api.setdefault("cors", False)
    api.setdefault("backend_type", "HTTP")
    # hashlib, not hash(): str hashes change between processes.
    api.setdefault("group_id", hashlib.md5(instance_id.encode("utf-8")).hexdigest())
    api.setdefault("group_name", "default_group")
    api.setdefault("group_version", "V1")
    api.setdefault("status", 1)
    api.setdefault("register_time", _fmt(_EPOCH))
    api.setdefault("update_time", _fmt(_EPOCH))
    api.setdefault("authorizer_id", "")
    api.setdefault("tags", [])
    api.setdefault("remark", "")
    api.setdefault("req_params", [])
    if envs is not None:
        api.update(_publication_fields([
            {"id": str(e["id"]), "name": str(e.get("name", e["id"])),
             "publish_id": str(e.get("publish_id") or _hex_id(rng)),
             "publish_time": str(e.get("publish_time") or _fmt(_EPOCH))}
            for e in envs]))
    for field in ("run_env_id", "run_env_name", "publish_id", "publish_time"):
        api.setdefault(field, "")
    return api


def is_published(api):
    return bool(api.get("run_env_id"))


def public_view(api, mode=None):
    """The item as ListApisV2 sends it for ``return_data_mode`` (absent: all but the group).

    ``brief`` leaves out the backend and the parameters; the ``include_group`` modes
    add ``api_group_info``. Private keys (``_group``) never leave the simulator.
    """
    item = dict((k, v) for k, v in api.items() if not k.startswith("_"))
    if mode == "brief":
        item.pop("backend_api", None)
        item.pop("req_params", None)
    if mode in ("include_group", "include_group_backend"):
        group = api.get("_group") or {"id": api.get("group_id"), "name": api.get("group_name")}
        item["api_group_info"] = {
            "id": group["id"], "name": group["name"], "status": 1,
            "sl_domain": group.get("sl_domain", ""), "register_time": api.get("register_time"),
            "update_time": api.get("update_time"), "on_sell_status": 2, "url_domains": [],
            "sl_domain_access_enabled": True}
    return item


def int_param(query, name, default):
    """An integer query parameter (paging), or APIG's invalid-parameter answer."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid_parameter(name)


def list_apis(apis, query):
    """One ListApisV2 page: ``{"total", "size", "apis"}``.

    ``query`` maps parameter names to their (first) decoded value. ``name`` and
    ``req_uri`` match as substrings unless named in ``precise_search``, like the
    real API; the other filters match exactly; ``env_id`` keeps APIs published in
    that environment (among others).
    """
    offset = max(0, int_param(query, "offset", 0))   # a negative offset counts as 0
    limit = int_param(query, "limit", DEFAULT_LIMIT)
    if limit > MAX_LIMIT:
        raise invalid_parameter("limit")
    if limit <= 0:
        limit = DEFAULT_LIMIT
    if query.get("type") not in (None, "", "1", "2"):
        raise invalid_parameter("type")
    if query.get("req_method") and query["req_method"].upper() not in REQ_METHODS:
        raise invalid_parameter("req_method")
    mode = query.get("return_data_mode") or None
    if mode is not None and mode not in RETURN_MODES:
        raise invalid_parameter("return_data_mode")
    precise = set(filter(None, (query.get("precise_search") or "").split(",")))

    def keep(api):
        for field in ("id", "group_id", "req_protocol", "auth_type"):
            if query.get(field) and str(api.get(field)) != query[field]:
                return False
        if query.get("req_method") and api.get("req_method") != query["req_method"].upper():
            return False
        if query.get("type") and str(api.get("type")) != query["type"]:
            return False
        for field in ("name", "req_uri"):
            wanted = query.get(field)
            if wanted:
                value = str(api.get(field, ""))
                if (value != wanted) if field in precise else (wanted not in value):
                    return False
        if query.get("env_id"):
            if query["env_id"] not in (api.get("run_env_id") or "").split("|"):
                return False
        return True

    matched = [api for api in apis if keep(api)]
    page = [public_view(api, mode) for api in matched[offset:offset + limit]]
    return {"total": len(matched), "size": len(page), "apis": page}


def added_api(instance_id, serial):
    """A new published API (RELEASE) for the ``then_add`` and ``then_append`` faults: its id depends on ``serial``
    only, so a run that adds the same number of APIs adds the same ids."""
    api_id = hashlib.md5(("apig_sim:added:%s:%d" % (instance_id, serial)).encode("utf-8")).hexdigest()
    return complete_api({"id": api_id, "name": "added_%d" % serial, "req_uri": "/added/%d" % serial,
                         "envs": [{"id": RELEASE_ENV[0], "name": RELEASE_ENV[1]}]}, serial, instance_id)


def list_apis_faulty(apis, query, fault, instance_id="", serial=0):
    """One ListApisV2 page under a listing fault (see faults.py), and the APIs after it.

    Returns ``(answer, apis_after)``: ``apis_after`` is ``apis`` itself unless the fault
    deletes or adds APIs once this page is cut, as a busy instance does between two pages.
    ``serial`` numbers the APIs that ``then_add`` and ``then_append`` add.
    """
    answer = list_apis(apis, query)
    if "truncate" in fault:
        # The page as if the listing ended after ``truncate`` APIs; the total stays the real one.
        answer = dict(list_apis(apis[:fault["truncate"]], query), total=answer["total"])
    offset = max(0, int_param(query, "offset", 0))
    if fault.get("duplicate") and offset and answer["apis"]:
        # Offset paging over an order that moved by one: the previous page's last item again.
        before = list_apis(apis, dict(query, offset=str(offset - 1), limit="1"))["apis"]
        if before:
            answer["apis"][0] = before[0]
    after = apis
    if fault.get("then_delete"):
        after = after[fault["then_delete"]:]
    if fault.get("then_add"):
        after = [added_api(instance_id, serial + n) for n in range(fault["then_add"])] + after
    if fault.get("then_append"):
        first = serial + fault.get("then_add", 0)
        after = after + [added_api(instance_id, first + n) for n in range(fault["then_append"])]
    if fault.get("then_regroup"):
        after = regrouped(after, fault["then_regroup"])
    return answer, after


def regrouped(apis, group_id):
    """``apis`` with the first API of another group moved into group ``group_id`` (named as that
    group's APIs are, else by its id); the others are the same objects."""
    name = next((api.get("group_name") for api in apis if api.get("group_id") == group_id), group_id)
    for index, api in enumerate(apis):
        if api.get("group_id") != group_id:
            moved = copy.deepcopy(api)
            moved.update(group_id=group_id, group_name=name)
            moved.pop("_group", None)
            return apis[:index] + [moved] + apis[index + 1:]
    return apis
