# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Discovery of dedicated APIG instances: ListInstancesV2, ShowDetailsOfInstanceV2 and the
host variables the inventory plugin makes of them.

Kept free of Ansible so that it is testable alone; the plugin adds options, the cache and
the inventory. Requests go through the collection's one HTTP client and auth methods.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import fnmatch
import re

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.apigw.router.plugins.module_utils.apig._endpoints import (
    apig_endpoint, check_region, iam_endpoint)
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError, ValidationError
from ansible_collections.apigw.router.plugins.module_utils.apig._http_client import ApigClient, check_http_url
from ansible_collections.apigw.router.plugins.module_utils.apig._projects import ProjectLookup
from ansible_collections.apigw.router.plugins.module_utils.common._secrets import is_loopback
from ansible_collections.apigw.router.plugins.module_utils.common._validation import check_identifier, describe

# ListInstancesV2's documented ``status`` values; the Resize* ones appear in answers only.
QUERY_STATUSES = (
    "Creating", "CreateSuccess", "CreateFail", "Initing", "Registering", "Running", "InitingFailed",
    "RegisterFailed", "Installing", "InstallFailed", "Updating", "UpdateFailed", "Rollbacking",
    "RollbackSuccess", "RollbackFailed", "Deleting", "DeleteFailed", "Unregistering", "UnRegisterFailed",
    "CreateTimeout", "InitTimeout", "RegisterTimeout", "InstallTimeout", "UpdateTimeout", "RollbackTimeout",
    "DeleteTimeout", "UnregisterTimeout", "Starting", "Freezing", "Frozen", "Restarting", "RestartFail",
    "Unhealthy", "RestartTimeout")
STATUSES = QUERY_STATUSES + ("Resizing", "ResizeFailed", "ResizeTimeout")
PAGE_SIZE = 500          # ListInstancesV2's largest page
MAX_PAGES = 10000        # a server that never reaches ``total`` must not loop forever
REGION_KEYS = ("name", "endpoint", "iam_endpoint", "project_id")
HOSTNAME_CHOICES = ("id", "instance_name")
PREFIX = "apigw_"
# hostvar (without prefix) -> field of ListInstancesV2's instance
BASE_VARS = (("instance_id", "id"), ("instance_name", "instance_name"), ("status", "status"),
             ("spec", "spec"), ("eip_address", "eip_address"),
             ("enterprise_project_id", "enterprise_project_id"),
             ("loadbalancer_provider", "loadbalancer_provider"))
DETAIL_VARS = ("ingress_ip", "vpc_id", "subnet_id", "instance_version")


def check_statuses(statuses):
    """The set of statuses to keep, or None for every status (``[all]``)."""
    if not isinstance(statuses, list) or not statuses:
        raise ValidationError("statuses must be a non-empty list of instance statuses (or [all]), not %s"
                              % describe(statuses))
    if "all" in statuses:
        if len(statuses) > 1:
            raise ValidationError("statuses: 'all' cannot be combined with other statuses (%s)"
                                  % ", ".join(str(s) for s in statuses if s != "all"))
        return None
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise ValidationError("statuses: %s %s not an APIG instance status (e.g. Running, Frozen, Unhealthy; "
                              "or all)" % (", ".join(describe(u) for u in unknown),
                                           "is" if len(unknown) == 1 else "are"))
    return set(statuses)


def check_hostnames(hostnames):
    if not isinstance(hostnames, list) or not hostnames or \
            any(h not in HOSTNAME_CHOICES for h in hostnames):
        raise ValidationError("hostnames must be a list of %s, not %s"
                              % (" or ".join(HOSTNAME_CHOICES), describe(hostnames, 80)))
    return hostnames


def resolve_regions(regions, cloud=None, default_iam_endpoint=None):
    """Each ``regions`` item as ``{name, endpoint, iam_endpoint, project_id}``, validated offline."""
    if not isinstance(regions, list) or not regions:
        raise ValidationError("regions must be a non-empty list of region names or "
                              "{name, endpoint, iam_endpoint, project_id} dicts")
    out, seen = [], {}
    for index, item in enumerate(regions):
        where = "regions[%d]" % index
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            raise ValidationError("%s must be a region name or a dict with %s, not %s"
                                  % (where, ", ".join(REGION_KEYS), describe(item)))
        unknown = sorted(str(k) for k in item if k not in REGION_KEYS)
        if unknown:
            raise ValidationError("%s: unknown keys %s (known: %s)" % (where, ", ".join(unknown), ", ".join(REGION_KEYS)))
        name = item.get("name")
        if not name:
            raise ValidationError("%s: name is required (the region id, e.g. cn-north-4)" % where)
        try:
            check_region(name)
            endpoint = (check_http_url("%s.endpoint" % where, item["endpoint"]) if item.get("endpoint")
                        else apig_endpoint(name, cloud))
            iam = (check_http_url("%s.iam_endpoint" % where, item["iam_endpoint"]) if item.get("iam_endpoint")
                   else check_http_url("iam_endpoint", default_iam_endpoint) if default_iam_endpoint
                   else iam_endpoint(name, cloud))
        except ValidationError as exc:
            raise ValidationError("%s: %s" % (where, exc.msg))
        project_id = item.get("project_id")
        if project_id is not None:
            check_identifier("%s.project_id" % where, project_id)
        key = (name, endpoint, project_id)
        if key in seen:
            raise ValidationError("%s repeats regions[%d] (region %s): list each region once" % (where, seen[key], name))
        seen[key] = index
        out.append({"name": name, "endpoint": endpoint, "iam_endpoint": iam, "project_id": project_id})
    return out


def zone_ids(text):
    """ShowDetailsOfInstanceV2 gives ``available_zone_ids`` as a string like "[a, b]": a list of it."""
    if isinstance(text, list):
        return [str(z) for z in text]
    text = (text or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [z.strip().strip("'\"") for z in text.split(",") if z.strip().strip("'\"")]


def iso_time(epoch_ms):
    """ListInstancesV2's ``create_time`` (epoch milliseconds) as ISO 8601 UTC; other shapes as given."""
    if isinstance(epoch_ms, bool) or not isinstance(epoch_ms, (int, float)):
        return epoch_ms
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000.0, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def hostvars(record):
    """The ``apigw_*`` host variables of one discovered record."""
    instance = record["instance"]
    out = dict((PREFIX + var, instance.get(field)) for var, field in BASE_VARS)
    out.update({PREFIX + "project_id": record["project_id"], PREFIX + "region": record["region"],
                PREFIX + "endpoint": record["endpoint"],
                PREFIX + "create_time": iso_time(instance.get("create_time"))})
    details = record.get("details")
    if details is not None:
        for var in DETAIL_VARS:
            out[PREFIX + var] = details.get(var)
        out[PREFIX + "available_zone_ids"] = zone_ids(details.get("available_zone_ids"))
    return out


def host_name(record, hostnames):
    """The first of ``hostnames`` that the instance has a value for."""
    instance = record["instance"]
    for choice in hostnames:
        value = instance.get(choice)
        if value:
            return str(value)
    return str(instance["id"])


# What Ansible treats as its implicit localhost (C.LOCALHOST), and more loopback names.
LOCAL_HOST_NAMES = ("localhost", "127.0.0.1", "::1")
# A letter, digit or _ (any script), then those, dots and hyphens: nothing that is whitespace,
# a control character, or a host pattern's syntax (, : ! & * ? [ ] ~ ...).
HOST_NAME_RE = re.compile(r"^\w[\w.-]{0,254}\Z", re.UNICODE)


def host_name_problem(name, taken=()):
    """Why ``name`` cannot name a discovered host, or None: not a plain host name, Ansible's
    localhost (or another loopback name), or a host or group the inventory already has."""
    if not isinstance(name, str) or not HOST_NAME_RE.match(name):
        return "is not a valid inventory host name (letters, digits, _, . and - only)"
    if name.lower() in LOCAL_HOST_NAMES or is_loopback(name):
        return "is Ansible's localhost (the controller)"
    if name in taken:
        return "is already a host or group of the inventory"
    return None


def checked_host_name(record, hostnames, taken=()):
    """``(name, warning)`` of a discovered instance: :func:`host_name`, or its instance id when
    that name is refused by :func:`host_name_problem` (with a warning naming the instance);
    ``(None, warning)`` when the id cannot be used either, and the instance is left out."""
    name = host_name(record, hostnames)
    problem = host_name_problem(name, taken)
    if problem is None:
        return name, None
    instance_id = str(record["instance"]["id"])
    what = "instance %s (region %s): host name %s %s" % (instance_id, record["region"], ascii(name), problem)
    if name != instance_id and host_name_problem(instance_id, taken) is None:
        return instance_id, ("%s; named by its instance id instead (rename the instance, or put id first in "
                             "hostnames)" % what)
    return None, ("%s; left out of the inventory (rename the host or group of the other inventory source)"
                  % (what if name == instance_id else "%s, and so is its instance id" % what))


class HostFilter(object):
    """``include_filters`` / ``exclude_filters``: lists of {hostvar: pattern(s)} dicts.

    A dict matches when every key matches one of its shell-style patterns (fnmatch, case
    sensitive); names may leave out the ``apigw_`` prefix. A host is kept when no include
    filter is given or one matches, and no exclude filter matches.
    """

    def __init__(self, include=None, exclude=None):
        self.include = self._compile("include_filters", include)
        self.exclude = self._compile("exclude_filters", exclude)

    @staticmethod
    def _compile(option, filters):
        if filters is None:
            return []
        if not isinstance(filters, list):
            raise ValidationError("%s must be a list of dicts like {instance_name: 'prod-*'}" % option)
        out = []
        for index, item in enumerate(filters):
            if not isinstance(item, dict) or not item:
                raise ValidationError("%s[%d] must be a non-empty dict of host variable -> pattern(s), not %s"
                                      % (option, index, describe(item)))
            compiled = {}
            for name, patterns in item.items():
                if not isinstance(name, str) or not name:
                    raise ValidationError("%s[%d]: %s is not a host variable name" % (option, index, describe(name)))
                patterns = patterns if isinstance(patterns, list) else [patterns]
                if not patterns or any(isinstance(p, (dict, list)) for p in patterns):
                    raise ValidationError("%s[%d].%s must be a pattern or a list of patterns" % (option, index, name))
                compiled[name if name.startswith(PREFIX) else PREFIX + name] = [
                    "" if p is None else str(p) for p in patterns]
            out.append(compiled)
        return out

    @staticmethod
    def _matches(compiled, variables):
        for name, patterns in compiled.items():
            value = variables.get(name)
            text = "" if value is None else str(value)
            if not any(fnmatch.fnmatchcase(text, p) for p in patterns):
                return False
        return True

    def keep(self, variables):
        if self.include and not any(self._matches(f, variables) for f in self.include):
            return False
        return not any(self._matches(f, variables) for f in self.exclude)


class InstancesApi(object):
    """ListInstancesV2 and ShowDetailsOfInstanceV2 of one project in one region."""

    def __init__(self, client, project_id, region):
        self.client = client
        self.project_id = project_id
        self.region = region

    def list_instances(self, status=None, page_size=PAGE_SIZE):
        """Every instance (of ``status`` if given), paged until ``total``."""
        found, offset = [], 0
        for page in range(MAX_PAGES):
            query = {"offset": offset, "limit": page_size}
            if status:
                query["status"] = status
            what = "ListInstancesV2 in region %s (project %s, offset %d)" % (self.region, self.project_id, offset)
            answer = self.client.call("GET", ["v2", self.project_id, "apigw", "instances"], what,
                                      self.project_id, query=query)
            data = answer.json(what)
            items = data.get("instances") if isinstance(data, dict) else None
            total = data.get("total") if isinstance(data, dict) else None
            if not isinstance(items, list) or isinstance(total, bool) or not isinstance(total, int):
                raise ApiError("%s: the answer has no instances list and total" % what, status=answer.status,
                               request_id=answer.request_id, attempts=answer.attempts)
            for item in items:
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise ApiError("%s: an instance without an id in the answer" % what, status=answer.status,
                                   request_id=answer.request_id, attempts=answer.attempts)
                check_identifier("instance id from %s" % what, item["id"])
            found.extend(items)
            offset += len(items)
            if not items or offset >= total:
                return found
        raise ApiError("ListInstancesV2 in region %s: still no end after %d pages" % (self.region, MAX_PAGES))

    def show_details(self, instance_id):
        what = "ShowDetailsOfInstanceV2 of instance %s in region %s" % (instance_id, self.region)
        answer = self.client.call("GET", ["v2", self.project_id, "apigw", "instances", instance_id], what,
                                  self.project_id, not_found="instance not found (deleted since it was listed?)")
        data = answer.json(what)
        if not isinstance(data, dict):
            raise ApiError("%s: the answer is not an object" % what, status=answer.status,
                           request_id=answer.request_id, attempts=answer.attempts)
        return data


class Discovery(object):
    """Finds the instances of every region: project ids looked up once per region, pages
    of 500, details (opt-in) with bounded concurrency.

    ``warn`` receives messages for the user (an empty region).
    """

    def __init__(self, transport, auth, regions, statuses=None, include_details=False, concurrency=8,
                 warn=None):
        self.transport = transport
        self.auth = auth
        self.regions = regions
        self.statuses = statuses          # a set, or None for every status
        self.include_details = include_details
        self.concurrency = concurrency
        self.warn = warn or (lambda msg: None)
        self.projects = ProjectLookup(transport, auth)

    def run(self):
        records = []
        for region in self.regions:
            records.extend(self._region(region))
        if self.include_details and records:
            self._add_details(records)
        return records

    def _region(self, region):
        name = region["name"]
        project_id = region["project_id"] or self.projects.project_id(name, region["iam_endpoint"])
        api = InstancesApi(ApigClient(self.transport, region["endpoint"], self.auth), project_id, name)
        # The API filters by one status; several are filtered here.
        single = next(iter(self.statuses)) if self.statuses is not None and len(self.statuses) == 1 else None
        instances = api.list_instances(status=single)
        if not instances:
            self.warn("region %s (project %s): ListInstancesV2 returned no instances%s. Note that credentials "
                      "without the apig:instance:list permission also get an empty list (the API does not "
                      "answer 403 for it)" % (name, project_id,
                                              " with status %s" % single if single else ""))
        kept = [i for i in instances if self.statuses is None or i.get("status") in self.statuses]
        return [{"region": name, "endpoint": region["endpoint"], "project_id": project_id,
                 "instance": instance, "details": None, "_api": api} for instance in kept]

    def _add_details(self, records):
        def fetch(record):
            record["details"] = record["_api"].show_details(record["instance"]["id"])
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(records))) as pool:
            # list() re-raises the first failure, after the running calls have finished.
            list(pool.map(fetch, records))


def strip_internal(records):
    """Records without the objects used while discovering: what the cache stores."""
    return [dict((k, v) for k, v in r.items() if not k.startswith("_")) for r in records]
