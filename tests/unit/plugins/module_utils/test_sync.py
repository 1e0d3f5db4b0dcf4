# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for etcd/_sync: the order of a plan's writes and how they are cut into transactions."""

from __future__ import annotations

import pytest

from ansible_collections.apigw.router.plugins.module_utils.etcd._planner import Plan
from ansible_collections.apigw.router.plugins.module_utils.etcd._sync import _ops_for, batches

P = b"/p/i/apis/"


def create(name, joined=False, value=b"v"):
    return ("create", P + name, value, joined)


def test_writes_go_in_key_order_creates_joined_only_when_no_key_was_read_between_them():
    current = {P + b"c": (b"old", 5), P + b"f": (b"old", 6)}
    plan = Plan(creates={P + b"e": b"v", P + b"a": b"v", P + b"b": b"v", P + b"d": b"v", P + b"g": b"v"},
                updates={P + b"c": (b"new", 5)}, deletes={P + b"f": 6}, unchanged=0)
    manifest = ("update", b"/p/i/manifest", b"{}", 9)
    assert _ops_for(plan, manifest, current, [("create", b"/p/i/groups/x", b"{}")]) == [
        create(b"a"), create(b"b", joined=True),
        ("update", P + b"c", b"new", 5),
        create(b"d"), create(b"e", joined=True),  # c lies before d, none between d and e
        create(b"g"),  # f (still there when g is written) lies between e and g
        ("delete", P + b"f", 6),
        ("create", b"/p/i/groups/x", b"{}"),
        manifest]


def test_updates_alone_go_in_key_order_and_nothing_is_written_without_a_plan():
    plan = Plan(creates={}, updates={P + b"b": (b"2", 8), P + b"a": (b"1", 7)}, deletes={}, unchanged=3)
    assert _ops_for(plan, None, {}) == [("update", P + b"a", b"1", 7), ("update", P + b"b", b"2", 8)]
    assert _ops_for(Plan({}, {}, {}, 3), None, {}) == []


def test_a_run_of_joined_creates_shares_one_guard_but_still_counts_its_operations():
    ops = [create(b"a")] + [create(b"%02d" % i, joined=True) for i in range(6)]
    # max_ops 4: at most 4 operations and 3 guards (the lock's compare is the fourth) per list
    assert batches(ops, 4) == [ops[:4], ops[4:]]


def test_guards_are_counted_with_the_locks_own_compare():
    ops = [("update", P + b"%d" % i, b"v", 1) for i in range(5)]
    assert batches(ops, 3) == [ops[:2], ops[2:4], ops[4:]]
    assert batches(ops, 1) == [[op] for op in ops]


@pytest.mark.parametrize("kind", ["str", "bytes"])
def test_the_byte_budget_counts_each_key_three_times_the_value_once_and_a_delete_no_value(kind):
    key = (lambda name: (P + name).decode("utf-8")) if kind == "str" else (lambda name: P + name)
    # a key of 11 bytes costs 3 * 11 + 64 = 97 bytes; the value of a create or an update adds its length
    ops = [("create", key(b"a"), b"x" * 103), ("update", key(b"b"), b"x" * 103, 4), ("delete", key(b"c"), 5),
           ("delete", key(b"d"), 6)]
    assert batches(ops, 128, budget=400) == [ops[:2], ops[2:]]  # 200 + 200, then 97 + 97
    assert batches(ops, 128, budget=399) == [ops[:1], ops[1:]]  # 200, then 200 + 97 + 97
    assert batches(ops, 128, budget=390) == [ops[:1], ops[1:3], ops[3:]]  # 200, 200 + 97, 97
    assert batches(ops, 128, budget=100) == [[op] for op in ops]  # an operation over the budget goes alone
