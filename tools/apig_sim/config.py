# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The simulator's YAML config: projects -> instances -> APIs, credentials, settings.

Loading validates everything up front and names the offending item, so a typo in a
test's config fails at start-up instead of as a puzzling 401 or 404 later.
README.md documents the format; example.yml is a complete example.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import yaml

from apig_sim import data, fleet
from apig_sim.auth import import_collection_module
from apig_sim.faults import FaultError, IAM_TARGET, normalise_plan

REFRESH_RESOURCES = ("apis", "acls", "vpcs", "throttles", "tenants", "signatures", "certs")
# The rule the collection enforces (ids end up in paths and etcd keys), taken from the collection
# itself so that the two cannot drift apart.
ID_RE = import_collection_module("common._validation").IDENTIFIER_RE

DEFAULT_SETTINGS = {
    "token_ttl": 86400,          # IAM tokens live 24 hours
    "max_clock_skew": 900,       # the gateway refuses an X-Sdk-Date more than 15 min off
    "admin_role": "op_svc_apig",  # the role the op-operations paths need
    "forbidden_status": 403,     # status of APIG.1005 (the code table says 401; see errors.py)
    "refresh": {"working_polls": 1, "working_seconds": 0.0, "final_status": "finished"},
}


class ConfigError(ValueError):
    """The config cannot be used; the message names the item."""


class RefreshPolicy:
    """How long the router state stays 'working' after a refresh PUT: at least
    ``working_polls`` state polls and ``working_seconds`` seconds, whichever lasts longer."""

    def __init__(self, working_polls, working_seconds, final_status):
        self.working_polls = working_polls
        self.working_seconds = working_seconds
        self.final_status = final_status


class Instance:
    def __init__(self, instance_id, project_id, name, apis, faults, refresh, region=None, fields=None):
        self.id = instance_id
        self.project_id = project_id
        self.name = name
        self.apis = apis          # list of API dicts in ListApisV2 item shape
        self.faults = faults      # normalised fault plan (faults.normalise_plan)
        self.refresh = refresh    # RefreshPolicy
        self.region = region
        # status, spec, ... as ListInstancesV2 / ShowDetailsOfInstanceV2 give them (fleet.py)
        self.fields = fleet.complete(instance_id, region or "", fields or {})


class Credential:
    """A user, a static token or an access key, and what it may do.

    ``projects`` None means every project; ``secret`` is the password, the token or
    the SK (never logged); ``label`` is what the request log shows instead.
    """

    def __init__(self, kind, label, secret, roles, projects, domain=None,
                 security_token=None, expires_at=None, can_list_instances=True):
        self.kind = kind
        self.label = label
        self.secret = secret
        self.roles = roles
        self.projects = projects
        self.domain = domain
        self.security_token = security_token
        self.expires_at = expires_at
        # False: ListInstancesV2 answers an empty list, as the real API does for a
        # credential without apig:instance:list (it never answers 403 for it).
        self.can_list_instances = can_list_instances

    def __repr__(self):
        # A repr that never shows a secret, in case one ends up in a traceback.
        return "<Credential %s %s>" % (self.kind, self.label)


class SimConfig:
    def __init__(self):
        self.settings = {}
        self.projects = {}        # project id -> {"name": str, "region": str, "instances": [ids]}
        self.instances = {}       # instance id -> Instance (ids are unique, as in the cloud)
        self.users = []
        self.tokens = []
        self.keys = []
        self.iam_faults = normalise_plan({}, "iam")
        self.project_faults = {}  # project id -> fault plan of its ListInstancesV2 calls

    def fault_plans(self):
        """The configured fault plan of every target, for faults.FaultBook.load()."""
        plans = dict((i.id, i.faults) for i in self.instances.values())
        plans.update(self.project_faults)
        plans[IAM_TARGET] = self.iam_faults
        return plans


def _require(mapping, key, where, kind=str):
    value = mapping.get(key)
    if value is None or (kind is str and value == ""):
        raise ConfigError("%s: missing %s" % (where, key))
    if not isinstance(value, kind):
        raise ConfigError("%s: %s must be a %s" % (where, key, kind.__name__))
    return value


def _string_list(value, where, default):
    if value is None:
        return default
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError("%s: must be a list of names" % where)
    return list(value)


def _number(value, where, minimum, default, kind=(int, float)):
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, kind) or value < minimum:
        raise ConfigError("%s: must be a number >= %s" % (where, minimum))
    return value


def _refresh_policy(raw, where, default):
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("%s: must be a mapping" % where)
    unknown = sorted(set(raw) - {"working_polls", "working_seconds", "final_status"})
    if unknown:
        raise ConfigError("%s: unknown keys %s" % (where, ", ".join(unknown)))
    return RefreshPolicy(
        _number(raw.get("working_polls"), where + ".working_polls", 0, default.working_polls, int),
        float(_number(raw.get("working_seconds"), where + ".working_seconds", 0,
                      default.working_seconds)),
        str(raw.get("final_status") or default.final_status))


def _faults(raw, where):
    try:
        return normalise_plan(raw, where)
    except FaultError as exc:
        raise ConfigError(str(exc))


def instance_apis(raw, instance_id, where):
    apis = []
    explicit = raw.get("apis") or []
    if not isinstance(explicit, list):
        raise ConfigError("%s.apis: must be a list" % where)
    for index, item in enumerate(explicit):
        if not isinstance(item, dict):
            raise ConfigError("%s.apis[%d]: must be a mapping" % (where, index))
        envs = item.get("envs")
        if envs is not None and (not isinstance(envs, list) or not all(
                isinstance(e, dict) and e.get("id") for e in envs)):
            raise ConfigError("%s.apis[%d].envs: must be a list of {id, name, ...}" % (where, index))
        apis.append(data.complete_api(item, index, instance_id))
    gen = raw.get("generate")
    if gen is not None:
        gwhere = where + ".generate"
        if not isinstance(gen, dict):
            raise ConfigError("%s: must be a mapping" % gwhere)
        unknown = sorted(set(gen) - {"count", "seed", "published_ratio", "multi_env_ratio", "groups"})
        if unknown:
            raise ConfigError("%s: unknown keys %s" % (gwhere, ", ".join(unknown)))
        count = _number(gen.get("count"), gwhere + ".count", 0, 0, int)
        published = _number(gen.get("published_ratio"), gwhere + ".published_ratio", 0, 0.8)
        multi = _number(gen.get("multi_env_ratio"), gwhere + ".multi_env_ratio", 0, 0.1)
        if published > 1 or multi > published:
            raise ConfigError("%s: need 0 <= multi_env_ratio <= published_ratio <= 1" % gwhere)
        apis.extend(data.generate_apis(
            instance_id, count, seed=gen.get("seed", 0), published_ratio=published,
            multi_env_ratio=multi,
            groups=_number(gen.get("groups"), gwhere + ".groups", 1, None, int)))
    seen = set()
    for api in apis:
        if api["id"] in seen:
            raise ConfigError("%s: duplicate API id %s" % (where, api["id"]))
        seen.add(api["id"])
    return apis


def _expiry(value, where):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):      # YAML may already parse it
        moment = value
    else:
        try:
            moment = datetime.datetime.strptime(str(value).replace("Z", "+0000"),
                                                "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            raise ConfigError("%s: expires_at must be like 2024-01-31T12:00:00Z" % where)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _can_list(item, where):
    value = item.get("can_list_instances", True)
    if not isinstance(value, bool):
        raise ConfigError("%s.can_list_instances: must be true or false" % where)
    return value


def _fault_shorthand(raw):
    """A fault plan from ``faults`` (a plan or a bare sequence) and a ``latency_ms`` shorthand."""
    faults = dict(raw.get("faults") or {}) if isinstance(raw.get("faults"), dict) \
        else {"sequence": raw.get("faults") or []}
    if raw.get("latency_ms") is not None:
        faults["latency_ms"] = raw["latency_ms"]
    return faults


def _credentials(cfg, raw):
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError("credentials: must be a mapping")
    seen = set()
    for i, item in enumerate(raw.get("users") or []):
        where = "credentials.users[%d]" % i
        name = _require(item, "name", where)
        domain = str(item.get("domain") or name)
        if (domain, name) in seen:
            raise ConfigError("%s: duplicate user %s in domain %s" % (where, name, domain))
        seen.add((domain, name))
        cfg.users.append(Credential(
            "password", name, str(_require(item, "password", where)),
            _string_list(item.get("roles"), where + ".roles", []),
            _string_list(item.get("projects"), where + ".projects", None), domain=domain,
            can_list_instances=_can_list(item, where)))
    for i, item in enumerate(raw.get("tokens") or []):
        where = "credentials.tokens[%d]" % i
        token = str(_require(item, "token", where))
        if token in seen:
            raise ConfigError("%s: duplicate token" % where)
        seen.add(token)
        cfg.tokens.append(Credential(
            "token", str(item.get("name") or "static-token-%d" % i), token,
            _string_list(item.get("roles"), where + ".roles", []),
            _string_list(item.get("projects"), where + ".projects", None),
            expires_at=_expiry(item.get("expires_at"), where), can_list_instances=_can_list(item, where)))
    for i, item in enumerate(raw.get("keys") or []):
        where = "credentials.keys[%d]" % i
        ak = str(_require(item, "ak", where))
        if ("ak", ak) in seen:
            raise ConfigError("%s: duplicate ak %s" % (where, ak))
        seen.add(("ak", ak))
        cfg.keys.append(Credential(
            "aksk", ak, str(_require(item, "sk", where)),
            _string_list(item.get("roles"), where + ".roles", []),
            _string_list(item.get("projects"), where + ".projects", None),
            security_token=(str(item["security_token"]) if item.get("security_token") else None),
            can_list_instances=_can_list(item, where)))


def build(raw):
    """A SimConfig from the parsed YAML document."""
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping")
    unknown = sorted(set(raw) - {"settings", "projects", "credentials", "iam"})
    if unknown:
        raise ConfigError("unknown top-level keys %s" % ", ".join(unknown))
    cfg = SimConfig()
    settings = dict(DEFAULT_SETTINGS)
    given = raw.get("settings") or {}
    unknown = sorted(set(given) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ConfigError("settings: unknown keys %s" % ", ".join(unknown))
    settings.update(given)
    settings["token_ttl"] = _number(settings["token_ttl"], "settings.token_ttl", 1, 86400)
    settings["max_clock_skew"] = _number(settings["max_clock_skew"], "settings.max_clock_skew", 0, 900)
    if settings["forbidden_status"] not in (401, 403):
        raise ConfigError("settings.forbidden_status: must be 401 or 403")
    base = DEFAULT_SETTINGS["refresh"]
    default_policy = _refresh_policy(settings["refresh"], "settings.refresh", RefreshPolicy(
        base["working_polls"], base["working_seconds"], base["final_status"]))
    settings["refresh"] = default_policy
    cfg.settings = settings

    projects = raw.get("projects") or []
    if not isinstance(projects, list):
        raise ConfigError("projects: must be a list")
    for p, project in enumerate(projects):
        where = "projects[%d]" % p
        if not isinstance(project, dict):
            raise ConfigError("%s: must be a mapping" % where)
        unknown = sorted(set(project) - {"id", "name", "region", "instances", "generate_instances",
                                         "faults", "latency_ms"})
        if unknown:
            raise ConfigError("%s: unknown keys %s" % (where, ", ".join(unknown)))
        project_id = str(_require(project, "id", where))
        if not ID_RE.match(project_id) or project_id in cfg.projects:
            raise ConfigError("%s: id %r is invalid or repeated" % (where, project_id))
        name = str(project.get("name") or project_id)
        # A region's system project is named after the region; a sub-project
        # (cn-north-4_dev) names its region explicitly.
        region = str(project.get("region") or name)
        cfg.projects[project_id] = {"name": name, "region": region, "instances": []}
        # faults/latency_ms of a project apply to its ListInstancesV2 calls.
        cfg.project_faults[project_id] = _faults(_fault_shorthand(project), where + ".faults")
        if not isinstance(project.get("instances") or [], list):
            raise ConfigError("%s.instances: must be a list" % where)
        items = list(project.get("instances") or [])
        if project.get("generate_instances") is not None:
            items.extend(dict(fields, id=iid, name=iname) for iid, iname, fields in fleet.generated(
                project_id, region, project["generate_instances"], where + ".generate_instances", ConfigError))
        for i, inst in enumerate(items):
            iwhere = "%s.instances[%d]" % (where, i)
            if not isinstance(inst, dict):
                raise ConfigError("%s: must be a mapping" % iwhere)
            unknown = sorted(set(inst) - {"id", "name", "apis", "generate", "faults",
                                          "latency_ms", "refresh"} - set(fleet.INSTANCE_FIELDS))
            if unknown:
                raise ConfigError("%s: unknown keys %s" % (iwhere, ", ".join(unknown)))
            instance_id = str(_require(inst, "id", iwhere))
            if not ID_RE.match(instance_id) or instance_id in cfg.instances:
                raise ConfigError("%s: id %r is invalid or repeated" % (iwhere, instance_id))
            fields = dict((k, inst[k]) for k in fleet.INSTANCE_FIELDS if k in inst)
            fleet.check_fields(fields, iwhere, ConfigError)
            cfg.instances[instance_id] = Instance(
                instance_id, project_id, str(inst.get("name") or instance_id),
                instance_apis(inst, instance_id, iwhere), _faults(_fault_shorthand(inst), iwhere + ".faults"),
                _refresh_policy(inst.get("refresh"), iwhere + ".refresh", default_policy),
                region=region, fields=fields)
            cfg.projects[project_id]["instances"].append(instance_id)
    clash = sorted(set(cfg.projects) & set(cfg.instances))
    if clash:
        # Both name fault targets: one id must not mean two things.
        raise ConfigError("projects: id %s is used by a project and an instance" % clash[0])

    _credentials(cfg, raw.get("credentials"))
    iam = raw.get("iam") or {}
    cfg.iam_faults = _faults(_fault_shorthand(iam), "iam.faults")
    return cfg


def load(path):
    try:
        with open(path, "r") as handle:
            raw = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError("cannot read %s: %s" % (path, exc))
    return build(raw)
