# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The simulator's listing faults: ListApisV2 pages as a busy or broken gateway sends them.

An instance of 12 APIs with known ids is listed 5 at a time over HTTP, as a client pages;
the pages each fault must give are written out by hand below.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
import requests

from apig_sim.faults import FaultError, normalise_entry

from apigw_support.simulator import Simulator, SimulatorError

PROJECT = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
TOKEN = "MIIsim-listing-test-token-5d1e"
IDS = ["b%031d" % i for i in range(12)]
CONFIG = {
    "projects": [{"id": PROJECT, "instances": [
        {"id": "inst-list", "apis": [{"id": api_id, "envs": [{"id": "DEFAULT_ENVIRONMENT_RELEASE_ID",
                                                              "name": "RELEASE"}]} for api_id in IDS]},
    ]}],
    "credentials": {"tokens": [{"name": "ci", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("apig_sim_listing")) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _clean(sim):
    sim.reset(faults="clear", apis="config")


def page(sim, offset, limit=5):
    answer = requests.get("%s/v2/%s/apigw/instances/inst-list/apis" % (sim.url, PROJECT),
                          params={"offset": offset, "limit": limit}, headers={"X-Auth-Token": TOKEN},
                          timeout=10, proxies={"http": None, "https": None})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["size"] == len(body["apis"])
    return body["total"], [api["id"] for api in body["apis"]]


def listing(sim):
    """Three pages of 5, whatever their totals say (what a client asks for 12 APIs)."""
    return [page(sim, offset) for offset in (0, 5, 10)]


def test_baseline(sim):
    assert listing(sim) == [(12, IDS[0:5]), (12, IDS[5:10]), (12, IDS[10:12])]


def test_truncate_keeps_the_total(sim):
    sim.set_faults("inst-list", always={"truncate": 7})
    assert listing(sim) == [(12, IDS[0:5]), (12, IDS[5:7]), (12, [])]
    assert all(e["fault"] == {"truncate": 7} for e in sim.requests())


def test_duplicate_repeats_the_last_item_of_the_previous_page(sim):
    sim.set_faults("inst-list", always={"duplicate": True})
    assert listing(sim) == [(12, IDS[0:5]), (12, [IDS[4]] + IDS[6:10]), (12, [IDS[9], IDS[11]])]


def test_then_delete_shifts_the_next_pages(sim):
    sim.set_faults("inst-list", [{"then_delete": 1}])   # after the first page only
    assert listing(sim) == [(12, IDS[0:5]), (11, IDS[6:11]), (11, IDS[11:12])]
    # the instance really lost its first API: a second listing is consistent
    assert listing(sim) == [(11, IDS[1:6]), (11, IDS[6:11]), (11, IDS[11:12])]
    assert sim.requests()[0]["fault"] == {"then_delete": 1}
    assert sim.requests()[1]["fault"] is None


def test_then_delete_and_then_append_keep_the_total_and_skip_an_api(sim):
    # One deleted in front, one added behind: every page says 12 and the listing collects 12
    # unique ids, yet IDS[5] is never listed (the second page starts one further on).
    sim.set_faults("inst-list", [{"then_delete": 1, "then_append": 1}])
    first = listing(sim)
    assert [total for total, _ids in first] == [12, 12, 12]
    assert first[0][1] == IDS[0:5] and first[1][1] == IDS[6:11]
    added = first[2][1][1:]
    assert first[2][1][0] == IDS[11] and len(added) == 1 and added[0] not in IDS
    assert IDS[5] not in sum((ids for _total, ids in first), [])
    assert listing(sim) == [(12, IDS[1:6]), (12, IDS[6:11]), (12, [IDS[11]] + added)]


def test_then_add_puts_new_published_apis_in_front(sim):
    sim.set_faults("inst-list", [{"then_add": 2}])
    first = listing(sim)
    assert first[0] == (12, IDS[0:5])
    total, second = first[1]
    assert total == 14 and second == IDS[3:8]           # two new in front: 3 and 4 come again
    again = listing(sim)
    added = again[0][1][:2]
    assert len(set(added)) == 2 and not set(added) & set(IDS)
    assert again == [(14, added + IDS[0:3]), (14, IDS[3:8]), (14, IDS[8:12])]
    full = requests.get("%s/v2/%s/apigw/instances/inst-list/apis" % (sim.url, PROJECT),
                        params={"offset": 0, "limit": 2}, headers={"X-Auth-Token": TOKEN}, timeout=10,
                        proxies={"http": None, "https": None}).json()["apis"]
    assert all(api["run_env_id"] == "DEFAULT_ENVIRONMENT_RELEASE_ID" and api["req_uri"].startswith("/added/")
               for api in full)
    # the APIs come back as configured with apis: config
    sim.reset(apis="config")
    assert listing(sim)[0] == (12, IDS[0:5])


def test_then_regroup_moves_the_first_api_of_another_group(sim):
    sim.set_faults("inst-list", [{"then_regroup": "grp-new"}])
    assert page(sim, 0) == (12, IDS[0:5])  # cut before the move
    moved = requests.get("%s/v2/%s/apigw/instances/inst-list/apis" % (sim.url, PROJECT),
                         params={"group_id": "grp-new"}, headers={"X-Auth-Token": TOKEN}, timeout=10,
                         proxies={"http": None, "https": None}).json()
    assert moved["total"] == 1 and moved["apis"][0]["id"] == IDS[0]
    assert moved["apis"][0]["group_name"] == "grp-new"  # a new group: named by its id
    assert listing(sim) == [(12, IDS[0:5]), (12, IDS[5:10]), (12, IDS[10:12])]  # same order, same total


def test_count_covers_consecutive_listing_requests(sim):
    sim.set_faults("inst-list", [{"truncate": 7, "count": 3}])
    assert listing(sim) == [(12, IDS[0:5]), (12, IDS[5:7]), (12, [])]
    assert listing(sim) == [(12, IDS[0:5]), (12, IDS[5:10]), (12, IDS[10:12])]  # used up: cleared


def test_listing_faults_leave_other_requests_alone(sim):
    # a listing fault takes only ListApisV2 requests: a refresh PUT does not consume it
    sim.set_faults("inst-list", [{"truncate": 0}])
    answer = requests.put("%s/v1/%s/apigw/instances/inst-list/op-operations/router/apis" % (sim.url, PROJECT),
                          headers={"X-Auth-Token": TOKEN}, timeout=10, proxies={"http": None, "https": None})
    assert answer.status_code == 200 and sim.requests()[0]["fault"] is None
    assert sim.faults()["inst-list"]["pending"] == [{"truncate": 0, "count": 1, "resource": ["list_apis"]}]
    assert page(sim, 0) == (12, [])


@pytest.mark.parametrize("entry, message", [
    ({"truncate": 5, "status": 500}, "cannot be combined with status"),
    ({"duplicate": True, "reset": True}, "cannot be combined with status"),
    ({"then_add": 1, "resource": "apis"}, "apply to ListApisV2 only"),
    ({"then_delete": 0}, "then_delete must be 1..100000"),
    ({"truncate": -1}, "truncate must be 0..100000"),
    ({"then_add": True}, "then_add must be 1..100000"),
    ({"then_append": 0}, "then_append must be 1..100000"),
    ({"duplicate": "yes"}, "duplicate must be true or false"),
    ({"then_regroup": 1}, "then_regroup must be an API group id"),
    ({"then_regroup": ""}, "then_regroup must be an API group id"),
    ({"duplicate": False}, "give at least one of"),
])
def test_bad_listing_faults_are_refused(entry, message):
    with pytest.raises(FaultError, match=message):
        normalise_entry(entry, "faults[x].sequence[0]")


def test_bad_listing_fault_refused_by_the_admin_api(sim):
    with pytest.raises(SimulatorError, match="400.*apply to ListApisV2 only"):
        sim.set_faults("inst-list", [{"then_delete": 1, "resource": "state"}])


def test_listing_fault_accepted_with_a_delay():
    assert normalise_entry({"then_delete": 2, "delay": 0.1}, "x") == {
        "then_delete": 2, "delay": 0.1, "count": 1, "resource": ["list_apis"]}
