# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""mode: api for one instance: the refresh PUTs, then optionally wait for the router state."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError

WORKING = "working"


def refresh_instance(router_api, instance_id, resources, wait=False, wait_timeout=300, wait_sleep=2,
                     check_mode=False, clock=time.monotonic, sleep=time.sleep):
    """Refresh ``resources`` of one instance; return the result dict of API mode (RETURN of apigw_router_refresh).

    Raises nothing for an API failure: a failed refresh is a result with ``failed: true``,
    so that the fleet form can report it next to the others.
    """
    result = dict(changed=False, failed=False, status=-1, error_code=None, error_msg=None,
                  request_id=None, attempts=0, resources=[], state=None)
    if check_mode:
        result.update(changed=True, msg="check mode: would refresh %s of instance %s"
                      % (", ".join(resources), instance_id))
        return result

    for resource in resources:
        try:
            answer = router_api.refresh(instance_id, resource)
        except ApiError as exc:
            result["attempts"] += exc.attempts
            _record_failure(result, exc)
            return result
        result["attempts"] += answer.attempts
        result.update(changed=True, status=answer.status, request_id=answer.request_id)
        result["resources"].append(resource)

    result["msg"] = "refreshed %s of instance %s" % (", ".join(resources), instance_id)
    if wait:
        _wait_for_router(router_api, instance_id, result, wait_timeout, wait_sleep, clock, sleep)
    return result


def _wait_for_router(router_api, instance_id, result, wait_timeout, wait_sleep, clock, sleep):
    deadline = clock() + wait_timeout
    while True:
        try:
            state = router_api.state(instance_id)
        except ApiError as exc:
            _record_failure(result, exc)
            return
        result["state"] = state
        if state.get("status") != WORKING:
            result["msg"] += "; router state: %s" % state.get("status")
            return
        if clock() + wait_sleep > deadline:
            result.update(failed=True, msg="%s, but the router was still %s after %ss (processing: %s)"
                          % (result["msg"], WORKING, wait_timeout, state.get("processing")))
            return
        sleep(wait_sleep)


def _record_failure(result, exc):
    result.update(failed=True, msg=exc.msg, status=exc.status, error_code=exc.error_code,
                  error_msg=exc.error_msg, request_id=exc.request_id)
