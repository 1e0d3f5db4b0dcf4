# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""etcd mode from ListApisV2 uses a listing only when it adds up.

An instance of 1,234 published APIs in the simulator, listed by 500 (three pages). The
simulator's listing faults (tools/apig_sim/README.md) spoil the listing the way a busy or
broken gateway does: it stops short of its ``total``, an API is deleted or added between
two pages (offset paging then skips or repeats one; with one deleted and one added, the
total even stays), or one id comes on two pages. Each is run through ``ansible-playbook``:

- standing (every listing spoilt): the task fails, naming what did not add up, and etcd is
  untouched (every key's value and ``mod_revision``, and the revision, read with etcdctl);
- transient (the first listing spoilt): the module lists again and syncs the instance as
  it now is. The oracle is the simulator's own gateway writer (tools/apig_sim/etcd_writer.py,
  written from the layout guide, sharing no code with plugins/): a refresh of ``apis``
  right after the sync must find nothing to change, and leave the same bytes;
- the info module's compare from a standing fault fails too: never "in sync", never a drift.

The routes are in the gateway's own key prefix: the simulator's refresh writes them there
first, as the gateway would, so the instance starts in sync.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest
import requests

from apigw_support.etcd import etcd_single
from apigw_support.simulator import Simulator

REFRESH = "apigw.router.apigw_router_refresh"
INFO = "apigw.router.apigw_router_info"
PROJECT = "5e5e0000000000000000000000000015"
TOKEN = "MIIlisting-complete-token-15"
INSTANCE = "inst-listing"
PREFIX = "/gw/router"
COUNT = 1234
CONFIG = {
    "projects": [{"id": PROJECT, "instances": [
        {"id": INSTANCE, "generate": {"count": COUNT, "seed": 15, "published_ratio": 1.0, "multi_env_ratio": 0.1}},
    ]}],
    "credentials": {"tokens": [{"name": "ci", "token": TOKEN, "roles": ["op_svc_apig"]}]},
}

# name: (standing fault, transient fault, what the message says, the first listing of the
# first task as (page totals, APIs collected, unique ids, duplicated ids), route changes after a re-list,
# listings a task takes under the standing fault)
FAULTS = {
    # pages 0-499, 500-599, then an empty one at offset 600
    "truncated": ({"truncate": 600}, [{"truncate": 600, "count": 3}],
                  "600 API(s) collected for a total of 1234 (the pages ended early)",
                  ([1234, 1234, 1234], 600, 600, 0), (0, 0), 3),
    # after page 0 the first API goes: page 500 reads total 1233, so the listing stops there
    "deleted-between-pages": ({"then_delete": 1}, [{"then_delete": 1}],
                              "the total changed while paging (", ([1234, 1233], 1000, 1000, 0), (0, 1), 3),
    # after page 0 an API comes in front: page 500 starts with the last API of page 0 again
    "added-between-pages": ({"then_add": 1}, [{"then_add": 1}],
                            "the total changed while paging (", ([1234, 1235], 1000, 999, 1), (1, 0), 3),
    # pages 500 and 1000 start with the last API of the page before: 2 ids twice, 2 never
    "duplicated-id": ({"duplicate": True}, [{"duplicate": True, "count": 2}],
                      "2 id(s) listed more than once", ([1234, 1234, 1234], 1234, 1232, 2), (0, 0), 3),
    # after page 0 the first API goes and a new one comes behind the others: the total stays,
    # page 500 starts one further on, and 1234 unique ids add up without the 501st API. Only
    # the next listing, which has it, shows that: each complete listing waits for one that agrees
    # (under the standing fault none does: 3 disagreements, 4 listings).
    "deleted-and-added-between-pages": ({"then_delete": 1, "then_append": 1},
                                        [{"then_delete": 1, "then_append": 1}],
                                        "complete, but the next listing had ",
                                        ([1234, 1234, 1234], 1234, 1234, 0), (1, 1), 4),
}


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    with etcd_single(str(tmp_path_factory.mktemp("etcd-listing"))) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def sim(tmp_path_factory, etcd):
    with Simulator(CONFIG, workdir=tmp_path_factory.mktemp("sim-listing"), etcd_endpoints=etcd.endpoints,
                   etcd_key_prefix=PREFIX) as simulator:
        yield simulator


def gateway_refresh(sim):
    """The simulated gateway writes the instance's routes itself; returns what it changed."""
    answer = requests.put("%s/v1/%s/apigw/instances/%s/op-operations/router/apis" % (sim.url, PROJECT, INSTANCE),
                          headers={"X-Auth-Token": TOKEN}, timeout=60, proxies={"http": None, "https": None})
    assert answer.status_code == 200, answer.text
    return sim.refreshes()[-1]["etcd"]


@pytest.fixture
def in_sync(sim, etcd):
    """The instance as configured, its routes written by the gateway, no fault armed."""
    sim.reset(faults="clear", apis="config")
    gateway_refresh(sim)
    assert len(instance_keys(etcd)) == COUNT + 1  # routes and manifest
    return sim


def instance_keys(etcd):
    return etcd.dump_kvs("%s/%s/" % (PREFIX, INSTANCE))


def options(sim, etcd):
    return dict(instance_id=INSTANCE, project_id=PROJECT, endpoint=sim.url, auth_token=TOKEN,
                etcd_endpoints=etcd.endpoints, key_prefix=PREFIX)


def listings_logged(sim):
    """How many listings the module took: its ListApisV2 requests at offset 0."""
    return sum(1 for e in sim.requests() if e["resource"] == "list_apis" and "offset=0" in e["query"])


def assert_clean(result):
    msg = result.get("msg", "")
    assert msg and "Traceback" not in msg and not msg.startswith(("MODULE FAILURE", "unexpected ")), result.result
    assert "module_stderr" not in result, result.result


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_a_listing_that_never_adds_up_fails_and_writes_nothing(ansible, etcd, in_sync, case):
    sim = in_sync
    standing, _transient, says, first, _changes, listings = FAULTS[case]
    sim.set_faults(INSTANCE, always=standing)
    before, revision = instance_keys(etcd), etcd.revision()
    run = ansible.run_tasks([
        {"name": "sync", REFRESH: dict(options(sim, etcd), mode="etcd"), "ignore_errors": True},
        {"name": "check mode", REFRESH: dict(options(sim, etcd), mode="etcd"), "ignore_errors": True,
         "check_mode": True},
    ], name="listing-" + case)
    for name in ("sync", "check mode"):
        result = run.task(name)
        assert result.failed and result["changed"] is False, result.result
        assert_clean(result)
        msg = result["msg"]
        assert msg.startswith("ListApisV2 of instance %s did not add up in 3 listing(s), so it is not used as a "
                              "source and nothing was written: listing 1: " % INSTANCE), msg
        assert says in msg and "listing 3: " in msg, msg
        assert len(result["listings"]) == 3 and all(set(listing) == {"totals", "collected", "unique", "duplicates"}
                                                    for listing in result["listings"]), result["listings"]
        for key in ("created", "updated", "deleted"):
            assert key not in result
    listing = run.task("sync")["listings"][0]
    assert (listing["totals"], listing["collected"], listing["unique"], len(listing["duplicates"])) == first
    # out of band: not a key written, and the module listed 3 (or 4) times per task, then gave up
    assert instance_keys(etcd) == before and etcd.revision() == revision
    assert listings_logged(sim) == 2 * listings
    print("%s: %s" % (case, run.task("sync")["msg"]))


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_a_transient_fault_clears_on_listing_again(ansible, etcd, in_sync, case):
    sim = in_sync
    _standing, transient, _says, _first, (created, deleted), _listings = FAULTS[case]
    sim.set_faults(INSTANCE, transient)
    run = ansible.run_tasks([{"name": "sync", REFRESH: dict(options(sim, etcd), mode="etcd")}],
                            name="relist-" + case).assert_success()
    result = run.task("sync")
    assert (len(result["created"]), len(result["updated"]), len(result["deleted"])) == (created, 0, deleted)
    assert result["changed"] is bool(created or deleted)
    # the spoilt listing, a complete one, and the one that confirms it (three pages)
    assert listings_logged(sim) == 3
    assert sim.faults()[INSTANCE]["pending"] == []  # the fault was used up by the first listing
    # out of band: the gateway, writing the instance as it now is, finds nothing to change
    written = etcd.dump("%s/%s/" % (PREFIX, INSTANCE))
    assert len(written) == COUNT + created - deleted + 1
    assert gateway_refresh(sim) == {"created": [], "updated": [], "deleted": [],
                                    "unchanged": COUNT + created - deleted}
    assert etcd.dump("%s/%s/" % (PREFIX, INSTANCE)) == written


def test_info_compare_from_a_listing_that_never_adds_up_fails(ansible, etcd, in_sync):
    sim = in_sync
    sim.set_faults(INSTANCE, always={"truncate": 600})
    revision = etcd.revision()
    run = ansible.run_tasks([
        {"name": "compare", INFO: dict(options(sim, etcd), compare=True), "ignore_errors": True},
        {"name": "gate", INFO: dict(options(sim, etcd), compare=True, fail_on_drift=True), "ignore_errors": True},
        {"name": "fleet", INFO: dict(instances=[{"instance_id": INSTANCE}], compare=True,
                                     **dict((k, v) for k, v in options(sim, etcd).items() if k != "instance_id")),
         "ignore_errors": True},
    ], name="info-listing")
    for name in ("compare", "gate"):
        result = run.task(name)
        assert result.failed, result.result
        assert_clean(result)
        assert "did not add up in 3 listing(s)" in result["msg"], result["msg"]
        assert "in_sync" not in result and "drift" not in result, result.result
    fleet = run.task("fleet")
    assert fleet.failed and fleet["summary"]["failed"] == 1
    [one] = fleet["results"]
    assert one["failed"] and "did not add up" in one["msg"] and "in_sync" not in one and "drift" not in one
    assert "0 in sync, 0 drifting, 1 failed" in fleet["msg"], fleet["msg"]
    assert etcd.revision() == revision
