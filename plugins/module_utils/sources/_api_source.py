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
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError
from ansible_collections.apigw.router.plugins.module_utils.apig._router_api import RouterApi
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import build_records
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import in_scope
from ansible_collections.apigw.router.plugins.module_utils.sources._source import keyed


class ManagementApiSource(object):
    """Each instance's own APIs, read from ListApisV2 through a ClientPool, in the instance's
    project: its own, else its region's (looked up once per region)."""

    def __init__(self, pool):
        self.pool = pool
        self._projects = ProjectLookup(pool.transport, pool.auth)

    def routes(self, target):
        target = self._projects.of(target)
        api = RouterApi(self.pool.get(target["base_url"]), target["project_id"])
        # list_apis returns only a listing shown complete: an incomplete one fails before any
        # record is built, so it can never prune the routes it missed.
        scope = target.get("scope")
        apis = api.list_apis(target["instance_id"]) if scope is None else scope_apis(api, target["instance_id"], scope)
        routes = keyed(target["routes_prefix"], build_records(apis))
        return routes if scope is None else in_scope(routes, scope)

    def save(self):
        """Nothing to keep: the APIs are read afresh every run."""


def scope_apis(api, instance_id, scope):
    """The APIs of the scope's groups: ListApisV2 is asked for each group by id (its own
    filter), so a scope of one group in a large instance reads that group only. A scope entry
    may also be a group name, which ListApisV2 cannot filter by: an entry whose listing by id
    is empty (a name, or a group without APIs) is looked for in one listing of the whole
    instance. Each listing is shown complete (see RouterApi.list_apis)."""
    apis, seen, unresolved = [], set(), []
    for entry in scope.groups:
        try:
            listed = api.list_apis(instance_id, group_id=entry)
        except ApiError as exc:
            if exc.status != 400:  # a name may be refused as an id: looked for below; anything else fails
                raise
            listed = []
        if not listed:
            unresolved.append(entry)
        for item in listed:
            item_id = item.get("id") if isinstance(item, dict) else None
            if item_id is None or item_id not in seen:  # (an item without an id is refused later, named)
                seen.add(item_id)
                apis.append(item)
    if unresolved:
        by_name = frozenset(unresolved)
        for item in api.list_apis(instance_id):
            if isinstance(item, dict) and item.get("id") not in seen and (
                    item.get("group_name") in by_name or item.get("group_id") in by_name):
                apis.append(item)
    return apis
