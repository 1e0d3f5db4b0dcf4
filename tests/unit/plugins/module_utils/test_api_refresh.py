# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.apigw.router.plugins.module_utils.apig._api_refresh import refresh_instance
from ansible_collections.apigw.router.plugins.module_utils.common._errors import ApiError


class Answer(object):
    def __init__(self, status=200, attempts=1, request_id="r"):
        self.status, self.attempts, self.request_id = status, attempts, request_id


class FakeRouterApi(object):
    def __init__(self, refreshes=None, states=None):
        self.refreshes = dict(refreshes or {})
        self.states = list(states or [])
        self.calls = []

    def refresh(self, instance_id, resource):
        self.calls.append(("PUT", resource))
        outcome = self.refreshes.get(resource, Answer())
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def state(self, instance_id):
        self.calls.append(("GET", "state"))
        outcome = self.states.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class Clock(object):
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_check_mode_sends_nothing():
    api = FakeRouterApi()
    result = refresh_instance(api, "i1", ["apis", "acls"], check_mode=True)
    assert api.calls == []
    assert result["changed"] and not result["failed"] and result["status"] == -1 and result["attempts"] == 0


def test_refreshes_each_resource_and_counts_attempts():
    api = FakeRouterApi({"acls": Answer(204, attempts=3, request_id="last")})
    result = refresh_instance(api, "i1", ["apis", "acls"])
    assert api.calls == [("PUT", "apis"), ("PUT", "acls")]
    assert (result["changed"], result["failed"], result["status"], result["attempts"], result["request_id"]) == \
        (True, False, 204, 4, "last")
    assert result["resources"] == ["apis", "acls"]


def test_failure_stops_and_reports_what_ran():
    error = ApiError("refresh of acls on instance i1: forbidden", status=403, error_code="APIG.1005",
                     error_msg="No permissions", request_id="rid", attempts=1)
    api = FakeRouterApi({"acls": error})
    result = refresh_instance(api, "i1", ["apis", "acls", "vpcs"])
    assert api.calls == [("PUT", "apis"), ("PUT", "acls")]
    assert result["failed"] and result["changed"]  # apis did refresh
    assert (result["status"], result["error_code"], result["request_id"], result["attempts"]) == (403, "APIG.1005", "rid", 2)
    assert result["resources"] == ["apis"]


def test_wait_polls_until_not_working():
    clock = Clock()
    api = FakeRouterApi(states=[{"status": "working"}, {"status": "working"}, {"status": "finished", "finished": ["API"]}])
    result = refresh_instance(api, "i1", ["apis"], wait=True, wait_timeout=60, wait_sleep=2, clock=clock,
                              sleep=clock.sleep)
    assert [c for c in api.calls if c[0] == "GET"] == [("GET", "state")] * 3
    assert result["state"]["status"] == "finished" and not result["failed"] and clock.now == 4


def test_wait_times_out():
    clock = Clock()
    api = FakeRouterApi(states=[{"status": "working", "processing": "Starting"}] * 100)
    result = refresh_instance(api, "i1", ["apis"], wait=True, wait_timeout=5, wait_sleep=2, clock=clock,
                              sleep=clock.sleep)
    assert result["failed"] and "still working after 5s" in result["msg"]
    assert clock.now <= 5


def test_wait_state_error_fails():
    api = FakeRouterApi(states=[ApiError("router state: server error", status=500, attempts=4)])
    result = refresh_instance(api, "i1", ["apis"], wait=True)
    assert result["failed"] and result["status"] == 500
