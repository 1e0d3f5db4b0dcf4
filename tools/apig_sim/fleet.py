# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Dedicated instances as ListInstancesV2 and ShowDetailsOfInstanceV2 describe them,
and the projects IAM's KeystoneListProjects lists.

Fields follow the official SDK's RespInstanceBase and ShowDetailsOfInstanceV2Response;
values not given in the config are derived from the instance id, so the same config
always gives the same answers.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import random

from apig_sim.data import int_param
from apig_sim.errors import invalid_parameter

# ListInstancesV2's documented statuses, in the order of their instance_status codes
# (1..8, 10..13, 20..44); the last three appear in answers only.
_STATUS_CODES = (
    [("Creating", 1), ("CreateSuccess", 2), ("CreateFail", 3), ("Initing", 4), ("Registering", 5),
     ("Running", 6), ("InitingFailed", 7), ("RegisterFailed", 8),
     ("Installing", 10), ("InstallFailed", 11), ("Updating", 12), ("UpdateFailed", 13)]
    + list(zip(["Rollbacking", "RollbackSuccess", "RollbackFailed", "Deleting", "DeleteFailed",
                "Unregistering", "UnRegisterFailed", "CreateTimeout", "InitTimeout", "RegisterTimeout",
                "InstallTimeout", "UpdateTimeout", "RollbackTimeout", "DeleteTimeout", "UnregisterTimeout",
                "Starting", "Freezing", "Frozen", "Restarting", "RestartFail", "Unhealthy",
                "RestartTimeout", "Resizing", "ResizeFailed", "ResizeTimeout"], range(20, 45))))
STATUS_CODES = dict(_STATUS_CODES)
QUERY_STATUSES = frozenset(s for s, code in _STATUS_CODES if code < 42)
SPECS = ("BASIC", "PROFESSIONAL", "ENTERPRISE", "PLATINUM", "BASIC_IPV6", "PROFESSIONAL_IPV6")
LB_PROVIDERS = ("lvs", "elb")
MAX_LIMIT = 500
DEFAULT_LIMIT = 20

# Fields a config may give for an instance (the rest of RespInstanceBase is derived).
INSTANCE_FIELDS = ("status", "spec", "eip_address", "enterprise_project_id", "create_time",
                   "loadbalancer_provider", "charging_mode", "description", "vpc_id", "subnet_id",
                   "ingress_ip", "available_zones", "instance_version")


def _rng(*parts):
    return random.Random(hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).hexdigest())


def _hex(rng, n=32):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def complete(instance_id, region, fields):
    """Every field an instance needs, ``fields`` (from the config) winning over derived ones."""
    rng = _rng("instance", instance_id)
    octets = [rng.randint(1, 254) for _octet in range(4)]
    out = {
        "status": "Running",
        "spec": rng.choice(SPECS[:4]),
        "eip_address": "100.%d.%d.%d" % tuple(octets[:3]) if rng.random() < 0.7 else None,
        "enterprise_project_id": "0",
        # epoch milliseconds, as the API's examples show
        "create_time": 1672531200000 + rng.randint(0, 500 * 86400) * 1000,
        "loadbalancer_provider": rng.choice(LB_PROVIDERS),
        "charging_mode": rng.choice((0, 1)),
        "description": "",
        "vpc_id": _hex(rng)[:8] + "-" + _hex(rng, 4) + "-" + _hex(rng, 4) + "-" + _hex(rng, 4) + "-" + _hex(rng, 12),
        "subnet_id": _hex(rng)[:8] + "-" + _hex(rng, 4) + "-" + _hex(rng, 4) + "-" + _hex(rng, 4) + "-" + _hex(rng, 12),
        "ingress_ip": "192.168.%d.%d" % (octets[2], octets[3]),
        "available_zones": ["%s%s" % (region, z) for z in ("a", "b")],
        "instance_version": "2.%d.%d" % (rng.randint(0, 9), rng.randint(0, 30)),
    }
    out.update(dict((k, v) for k, v in fields.items() if k in INSTANCE_FIELDS))
    return out


def check_fields(fields, where, error):
    """Refuse field values the real API never gives (``error`` builds the exception)."""
    if fields.get("status") is not None and fields["status"] not in STATUS_CODES:
        raise error("%s.status: %r is not an instance status (e.g. Running, Frozen)" % (where, fields["status"]))
    if fields.get("available_zones") is not None and not (
            isinstance(fields["available_zones"], list) and all(isinstance(z, str) for z in fields["available_zones"])):
        raise error("%s.available_zones: must be a list of zone names" % where)
    if fields.get("create_time") is not None and (
            isinstance(fields["create_time"], bool) or not isinstance(fields["create_time"], int)):
        raise error("%s.create_time: must be epoch milliseconds (an integer)" % where)


def generated(project_id, region, spec, where, error):
    """Instance (id, name, fields) triples for a project's ``generate_instances``."""
    if not isinstance(spec, dict):
        raise error("%s: must be a mapping" % where)
    unknown = sorted(set(spec) - {"count", "seed", "statuses", "name_prefix", "latency_ms"})
    if unknown:
        raise error("%s: unknown keys %s" % (where, ", ".join(unknown)))
    count = spec.get("count", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise error("%s.count: must be an integer >= 0" % where)
    statuses = spec.get("statuses") or {"Running": 1}
    if isinstance(statuses, list):
        statuses = dict((s, 1) for s in statuses)
    if not isinstance(statuses, dict) or not statuses or any(
            s not in STATUS_CODES or isinstance(w, bool) or not isinstance(w, (int, float)) or w < 0
            for s, w in statuses.items()):
        raise error("%s.statuses: must map instance statuses to weights (e.g. {Running: 8, Frozen: 1})" % where)
    rng = _rng("fleet", spec.get("seed", 0), project_id)
    prefix = str(spec.get("name_prefix") or "apig-%s" % region)
    names = sorted(statuses)
    weights = [statuses[n] for n in names]
    latency = spec.get("latency_ms")
    if latency is not None and (isinstance(latency, bool) or not isinstance(latency, (int, float)) or latency < 0):
        raise error("%s.latency_ms: must be a number >= 0" % where)
    out = []
    for index in range(count):
        instance_id = _hex(rng)
        fields = {"status": rng.choices(names, weights)[0]}
        if latency:
            fields["latency_ms"] = latency      # each generated instance's own requests (details)
        out.append((instance_id, "%s-%04d" % (prefix, index), fields))
    return out


def base_view(instance):
    """One item of ListInstancesV2's ``instances`` (RespInstanceBase)."""
    f = instance.fields
    return {
        "id": instance.id,
        "project_id": instance.project_id,
        "instance_name": instance.name,
        "status": f["status"],
        "instance_status": STATUS_CODES[f["status"]],
        "type": "apig",
        "spec": f["spec"],
        "create_time": f["create_time"],
        "enterprise_project_id": f["enterprise_project_id"],
        "eip_address": f["eip_address"],
        "charging_mode": f["charging_mode"],
        "cbc_metadata": "" if f["charging_mode"] == 0 else "CS%s" % instance.id[:12].upper(),
        "loadbalancer_provider": f["loadbalancer_provider"],
        "cbc_operation_locks": [],
    }


def details_view(instance):
    """ShowDetailsOfInstanceV2's answer; ``available_zone_ids`` is a string, as the API gives it."""
    f = instance.fields
    out = base_view(instance)
    out.update({
        "description": f["description"],
        "vpc_id": f["vpc_id"],
        "subnet_id": f["subnet_id"],
        "security_group_id": "sg-" + instance.id[:12],
        "maintain_begin": "22:00:00",
        "maintain_end": "02:00:00",
        "ingress_ip": f["ingress_ip"],
        "ingress_ip_v6": None,
        "user_id": "0" * 32,
        "nat_eip_address": None,
        "bandwidth_size": 5 if f["eip_address"] else 0,
        "bandwidth_charging_mode": "bandwidth",
        "available_zone_ids": "[%s]" % ", ".join(f["available_zones"]),
        "instance_version": f["instance_version"],
        "virsubnet_id": f["subnet_id"],
        "roma_eip_address": None,
        "listeners": {},
        "supported_features": ["gateway_responses", "ratelimit", "request_body_size"],
        "endpoint_service": {"service_name": "", "created_at": ""},
        "endpoint_services": [],
        "node_ips": {"livedata": [], "shubao": []},
        "publicips": ([{"ip_address": f["eip_address"], "ipv6_address": None, "bandwidth_size": 5}]
                      if f["eip_address"] else []),
        "privateips": [{"ip_address": f["ingress_ip"], "ipv6_address": None}],
        "is_releasable": True,
    })
    return out


def list_instances(instances, query):
    """One ListInstancesV2 page ``{"total", "size", "instances"}``.

    Unlike ListApisV2 the documented limits are clamped, not refused: offset < 0 is 0,
    limit <= 0 is 20, limit > 500 is 500. ``status`` takes one status; ``instance_name``
    matches as a substring, ``instance_id`` exactly.
    """
    offset = max(0, int_param(query, "offset", 0))
    limit = int_param(query, "limit", DEFAULT_LIMIT)
    if limit <= 0:
        limit = DEFAULT_LIMIT
    limit = min(limit, MAX_LIMIT)
    status = query.get("status")
    if status and status not in QUERY_STATUSES:
        raise invalid_parameter("status")
    name = query.get("instance_name")
    wanted_id = query.get("instance_id")
    matched = [i for i in instances
               if (not status or i.fields["status"] == status)
               and (not name or name in i.name)
               and (not wanted_id or i.id == wanted_id)]
    page = [base_view(i) for i in matched[offset:offset + limit]]
    return {"total": len(matched), "size": len(page), "instances": page}


def list_projects(projects, query):
    """KeystoneListProjects: ``{"projects", "links"}``, filtered by ``name`` exactly."""
    name = query.get("name")
    items = []
    for project_id, project in projects.items():
        if name and project["name"] != name:
            continue
        items.append({"id": project_id, "name": project["name"], "domain_id": "0" * 32,
                      "parent_id": "0" * 32, "enabled": True, "is_domain": False,
                      "description": "", "links": {"self": "/v3/projects/%s" % project_id}})
    return {"projects": items, "links": {"self": "/v3/projects", "next": None, "previous": None}}
