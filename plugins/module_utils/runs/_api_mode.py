# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The refresh module in mode api: ask each gateway to reload what it has (nothing of etcd).

Options and targets are checked first, then the connection is made, then each instance is
refreshed in its project (its own, else its region's, looked up once per region).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.apig._api_refresh import refresh_instance
from ansible_collections.apigw.router.plugins.module_utils.apig._projects import ProjectLookup
from ansible_collections.apigw.router.plugins.module_utils.apig._router_api import RouterApi
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.common._fleet import counted, run_all, shaped
from ansible_collections.apigw.router.plugins.module_utils.common._validation import check_range, check_resources
from ansible_collections.apigw.router.plugins.module_utils.runs._management_api import management_api
from ansible_collections.apigw.router.plugins.module_utils.runs._targets import ETCD_ITEM_OPTIONS, resolve_targets


def run_api_refresh(params, check_mode, diff, warn):  # pylint: disable=unused-argument
    for index, item in enumerate(params.get("instances") or []):
        given = [option for option in ETCD_ITEM_OPTIONS if item.get(option) is not None]
        if given:
            raise ValidationError("instances[%d].%s is an etcd connection option: mode api does not use etcd"
                                  % (index, given[0]))
        if item.get("scope") is not None:
            raise ValidationError("instances[%d].scope applies to mode etcd; mode api refreshes the whole instance"
                                  % index)
    fleet, targets = resolve_targets(params, needs_project=True)
    for name in ("apis", "src"):
        if params.get(name) is not None:
            raise ValidationError("%s is a source for mode etcd; mode api refreshes what the gateway has" % name)
    for name in ("scope", "backup"):
        if params.get(name):
            raise ValidationError("%s applies to mode etcd; mode api refreshes the whole instance" % name)
    resources = check_resources(params["resources"])
    check_range("wait_timeout", params.get("wait_timeout"), 0)
    check_range("wait_sleep", params.get("wait_sleep"), 0)
    pool = management_api(params, params["concurrency"])
    projects = ProjectLookup(pool.transport, pool.auth)

    def work(target):
        target = projects.of(target)
        api = RouterApi(pool.get(target["base_url"]), target["project_id"])
        return refresh_instance(api, target["instance_id"], resources, wait=params["wait"],
                                wait_timeout=params["wait_timeout"], wait_sleep=params["wait_sleep"],
                                check_mode=check_mode)

    return shaped(fleet, run_all(targets, work, params["concurrency"]), counted("refreshed"))
