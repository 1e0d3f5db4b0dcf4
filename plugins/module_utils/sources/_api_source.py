# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The source of etcd mode without ``apis`` or ``src``: each instance's own APIs, from ListApisV2.

Apart from sources/_source.py so that a run from a fixed source never loads the management
API client.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.apig._projects import ProjectLookup
from ansible_collections.apigw.router.plugins.module_utils.apig._router_api import LISTINGS, RouterApi
from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    ApiError,
    IncompleteListingError,
    ValidationError,
)
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import group_of, in_scope, show_group
from ansible_collections.apigw.router.plugins.module_utils.sources._source import keyed

MAX_ASKED_BY_ID = 20  # APIs a scoped prune asks ListApisV2 about one by one; past that, one listing of them all
MAX_NAMED = 5
GROUP_NOT_FOUND = "APIG.3001"


class ListedRoutes(dict):
    """The routes ({route key: record bytes}) of one instance (or scope) from ListApisV2, and
    ``vouch``: for a scope, the check that the sync calls before pruning (see DeleteCheck)."""

    vouch = None


class ManagementApiSource(object):
    """Each instance's own APIs, read from ListApisV2 through a ClientPool, in the instance's
    project: its own, else its region's (looked up once per region)."""

    def __init__(self, pool):
        self.pool = pool
        self._projects = ProjectLookup(pool.transport, pool.auth)

    def routes(self, target):
        target = self._projects.of(target)
        api = RouterApi(self.pool.get(target["base_url"]), target["project_id"])
        instance_id, scope = target["instance_id"], target.get("scope")
        # list_apis returns only a listing shown complete: an incomplete one fails before any
        # record is built, so it can never prune the routes it missed.
        if scope is None:
            return ListedRoutes(keyed(target["routes_prefix"], build_records(api.list_apis(instance_id))))
        apis = _scope_apis(api, instance_id, scope)
        if apis is None:
            # A scope entry ListApisV2 cannot filter by (a group name, or a group without APIs):
            # one listing of the whole instance, which also says where every other API is.
            records = build_records(api.list_apis(instance_id))
            routes = ListedRoutes(in_scope(keyed(target["routes_prefix"], records), scope))
            routes.vouch = DeleteCheck(api, instance_id, scope, listed=records)
        else:
            routes = ListedRoutes(in_scope(keyed(target["routes_prefix"], build_records(apis)), scope))
            routes.vouch = DeleteCheck(api, instance_id, scope)
        return routes

    def save(self):
        """Nothing to keep: the APIs are read afresh every run."""


def _groups_of(records):
    return dict((api_id, group_of(record)) for api_id, record in records.items())


def _scope_apis(api, instance_id, scope):
    """The APIs of the scope's groups, each group listed with ListApisV2's ``group_id`` filter, so
    that a scope of one group in a large instance reads that group only; None when an entry's
    listing is empty or refused (a group name, which ListApisV2 cannot filter by, or a group
    without APIs): the caller then lists the whole instance.

    Groups are listed one after the other, so an API moved between two of them meanwhile can be
    listed twice (that round is taken again) or not at all: the sync then plans to delete its
    route, and DeleteCheck, asking for it by id, finds it and stops the sync."""
    rounds = []
    for _round in range(LISTINGS):
        apis, seen, twice = [], {}, []
        for entry in scope.groups:
            try:
                listed = api.list_apis(instance_id, group_id=entry)
            except ApiError as exc:
                # A name may be refused as an id, or answered as an unknown group (APIG.3001);
                # anything else fails the instance.
                if exc.status != 400 and not (exc.status == 404 and exc.error_code == GROUP_NOT_FOUND):
                    raise
                return None
            # A server that ignores the filter lists every group: only this one's APIs count.
            listed = [item for item in listed if not isinstance(item, dict) or item.get("group_id") == entry]
            if not listed:
                return None
            for item in listed:
                item_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(item_id, str) and item_id in seen:
                    twice.append("%s (group_id=%s and group_id=%s)" % (item_id, seen[item_id], entry))
                    continue
                seen[item_id] = entry
                apis.append(item)
        if not twice:
            return apis
        rounds.append(twice)
    raise IncompleteListingError(
        "ListApisV2 of instance %s listed API(s) in two groups of the scope in each of %d round(s) of listings "
        "(APIs moved between groups meanwhile), so it is not used as a source and nothing was written: %s"
        % (instance_id, len(rounds), "; ".join("round %d: %s" % (n, ", ".join(twice[:MAX_NAMED]))
                                               for n, twice in enumerate(rounds, 1))),
        listed_twice=sorted(set(entry.split(" ", 1)[0] for twice in rounds for entry in twice))[:100])


class DeleteCheck(object):
    """Called by a scoped sync with the routes its plan would delete ({API id: (group_id,
    group_name) that etcd holds it under}); raises when ListApisV2 still has a published API of
    one of them, so that a route of a live API is never pruned:

    - in a group of the scope: the listing missed it (an API moved between two of the scope's
      groups while they were listed); IncompleteListingError, nothing is written;
    - in a group outside the scope: the API moved out of the scope, and its route is now that
      group's; ValidationError naming both groups (moving an API needs both in the scope).

    ``listed`` ({API id: record} of every published API, from a whole listing) answers at once;
    without it each id is asked for with ListApisV2's ``id`` filter, or more than
    MAX_ASKED_BY_ID of them in one listing of the whole instance. Answers are kept for the
    sync's next plans."""

    def __init__(self, api, instance_id, scope, listed=None):
        self.api, self.instance_id, self.scope = api, instance_id, scope
        self.listed = listed
        self.located = None  # {API id: group} of a whole listing, made when first needed
        self.asked = {}      # API id -> its group, or None when ListApisV2 has no published API of that id

    def __call__(self, deletes):
        where = self._locate(sorted(deletes))
        missed, moved_out = [], []
        for api_id in sorted(deletes):
            group = where.get(api_id)
            if group is None:
                continue
            (missed if self.scope.holds(group) else moved_out).append((api_id, deletes[api_id], group))
        by_name_only = [found for found in missed if found[2][0] not in self.scope.groups and self.listed is None]
        if by_name_only:
            # Listed by group_id, yet in the scope by its group's name: an entry is one group's id
            # and another group's name, and the listing by id cannot see the second group.
            api_id, dummy, group = by_name_only[0]
            raise ValidationError(
                "instance %s: scope entry %s is the id of one API group and the name of another (%s, of API %s): "
                "ListApisV2 lists a scope by group id, so name both groups by id in the scope; nothing was written"
                % (self.instance_id, group[1], show_group(group), api_id),
                missed=[found[0] for found in by_name_only[:100]])
        if missed:
            raise IncompleteListingError(
                "ListApisV2 of instance %s did not list %d published API(s) of the scope (groups: %s) that it has, "
                "so the listing is not used and nothing was written (APIs moved between groups while they were "
                "listed?): %s" % (self.instance_id, len(missed), ", ".join(self.scope.groups), _shown(missed)),
                missed=[api_id for api_id, dummy, dummy2 in missed[:100]])
        if moved_out:
            raise ValidationError(
                "instance %s: %d route(s) of the scope (groups: %s) belong to API(s) that ListApisV2 lists in a group "
                "outside it: %s. Nothing was written: the routes are not the scope's to delete, and moving an API "
                "between groups needs both groups in the scope"
                % (self.instance_id, len(moved_out), ", ".join(self.scope.groups), _shown(moved_out)),
                conflicts=[api_id for api_id, dummy, dummy2 in moved_out[:20]])

    def _locate(self, ids):
        if self.located is not None:
            return self.located
        unknown = [api_id for api_id in ids if api_id not in self.asked]
        if self.listed is not None or len(unknown) > MAX_ASKED_BY_ID:
            listed = self.listed if self.listed is not None else build_records(self.api.list_apis(self.instance_id))
            self.located = _groups_of(listed)
            return self.located
        for api_id in unknown:
            records = build_records(self.api.list_apis(self.instance_id, api_id=api_id))
            self.asked[api_id] = group_of(records[api_id]) if api_id in records else None
        return self.asked


def _shown(found):
    shown = "; ".join("API %s: etcd holds it in %s, ListApisV2 lists it in %s" % (
        api_id, show_group(held), show_group(listed)) for api_id, held, listed in found[:MAX_NAMED])
    return shown + ("" if len(found) <= MAX_NAMED else " and %d more" % (len(found) - MAX_NAMED))
