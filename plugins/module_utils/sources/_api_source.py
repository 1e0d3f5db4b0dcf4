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
        routes = keyed(target["routes_prefix"], build_records(api.list_apis(target["instance_id"])))
        # ListApisV2 lists the whole instance: with a scope, its other groups' APIs are simply not
        # this sync's (the listing is filtered once complete, never refused).
        scope = target.get("scope")
        return routes if scope is None else in_scope(routes, scope)

    def save(self):
        """Nothing to keep: the APIs are read afresh every run."""
