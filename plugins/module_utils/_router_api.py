# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The APIG calls this collection makes: the router refresh family and ListApisV2."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils._errors import ApiError

INSTANCE_NOT_FOUND = "the instance does not exist"
LIST_APIS_PAGE = 500  # ListApisV2's largest page


class RouterApi(object):
    """Calls on one project's dedicated instances through an ApigClient."""

    def __init__(self, client, project_id):
        self.client = client
        self.project_id = project_id

    def _router(self, instance_id, resource):
        return ("v1", self.project_id, "apigw", "instances", instance_id, "op-operations", "router", resource)

    def refresh(self, instance_id, resource):
        """PUT …/op-operations/router/<resource>: the gateway rewrites that resource in its ETCD."""
        return self.client.call("PUT", self._router(instance_id, resource),
                                "refresh of %s on instance %s" % (resource, instance_id), self.project_id,
                                not_found=INSTANCE_NOT_FOUND)

    def state(self, instance_id):
        """GET …/op-operations/router/state: progress of the gateway's refresh."""
        what = "router state of instance %s" % instance_id
        answer = self.client.call("GET", self._router(instance_id, "state"), what, self.project_id,
                                  not_found=INSTANCE_NOT_FOUND)
        state = answer.json(what)
        if not isinstance(state, dict):
            raise ApiError("%s: expected a JSON object" % what, status=answer.status,
                           request_id=answer.request_id, attempts=answer.attempts)
        return state

    def iter_apis(self, instance_id, page_size=LIST_APIS_PAGE):
        """Every API of the instance, paging ListApisV2 until offset reaches total or a page is empty."""
        path = ("v2", self.project_id, "apigw", "instances", instance_id, "apis")
        offset = 0
        while True:
            what = "ListApisV2 of instance %s at offset %d" % (instance_id, offset)
            page = self.client.call("GET", path, what, self.project_id,
                                    query={"offset": offset, "limit": page_size},
                                    not_found=INSTANCE_NOT_FOUND).json(what)
            if not isinstance(page, dict) or not isinstance(page.get("apis"), list):
                raise ApiError("%s: the answer has no 'apis' list" % what)
            apis = page["apis"]
            yield from apis
            size = page.get("size", len(apis))
            total = page.get("total", 0)
            if not isinstance(size, int) or not isinstance(total, int):
                raise ApiError("%s: 'size' and 'total' must be integers" % what)
            offset += size
            if size <= 0 or offset >= total:
                return
