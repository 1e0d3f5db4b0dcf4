# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Unit tests for _planner: plan tables, properties, diff rendering and summary."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.etcd._planner import (
    MAX_DIFF_VALUE_CHARS,
    Plan,
    plan,
    render_diff,
    summary,
)

PROPS = settings(max_examples=200, derandomize=True, deadline=None)

P = "/apig/router/i1/apis/"


def k(api_id):
    """A route key as etcd returns it (bytes)."""
    return (P + api_id).encode("utf-8")


def t(api_id):
    """A route key as the diff shows it (text)."""
    return P + api_id


def v(text):
    return json.dumps({"id": text}, separators=(",", ":"), sort_keys=True).encode()


PLAN_TABLE = [
    # (desired, current, prune, expected creates, updates, deletes, unchanged)
    ("empty", {}, {}, True, {}, {}, {}, 0),
    ("create", {k("a"): v("a")}, {}, True, {k("a"): v("a")}, {}, {}, 0),
    ("unchanged", {k("a"): v("a")}, {k("a"): (v("a"), 7)}, True, {}, {}, {}, 1),
    ("update", {k("a"): v("A")}, {k("a"): (v("a"), 7)}, True, {}, {k("a"): (v("A"), 7)}, {}, 0),
    ("delete", {}, {k("a"): (v("a"), 7)}, True, {}, {}, {k("a"): 7}, 0),
    ("no prune keeps", {}, {k("a"): (v("a"), 7)}, False, {}, {}, {}, 0),
    ("mixed",
     {k("a"): v("a"), k("b"): v("B"), k("c"): v("c")},
     {k("b"): (v("b"), 3), k("c"): (v("c"), 4), k("d"): (v("d"), 5)},
     True, {k("a"): v("a")}, {k("b"): (v("B"), 3)}, {k("d"): 5}, 1),
    ("mixed no prune",
     {k("a"): v("a"), k("b"): v("B"), k("c"): v("c")},
     {k("b"): (v("b"), 3), k("c"): (v("c"), 4), k("d"): (v("d"), 5)},
     False, {k("a"): v("a")}, {k("b"): (v("B"), 3)}, {}, 1),
]


@pytest.mark.parametrize("name, desired, current, prune, creates, updates, deletes, unchanged", PLAN_TABLE,
                         ids=[row[0] for row in PLAN_TABLE])
def test_plan_table(name, desired, current, prune, creates, updates, deletes, unchanged):
    result = plan(desired, current, prune=prune, prefix=P)
    assert result == Plan(creates, updates, deletes, unchanged)
    assert result.changed == bool(creates or updates or deletes)


def test_prune_defaults_to_true():
    assert plan({}, {k("a"): (v("a"), 1)}, prefix=P).deletes == {k("a"): 1}


@pytest.mark.parametrize("current, desired, message", [
    ({"/apig/router/i1/manifest": (b"{}", 1)}, {}, "etcd returned 1 key(s) outside /apig/router/i1/apis/"),
    ({"/apig/router/i2/apis/a": (b"{}", 1)}, {}, "first: /apig/router/i2/apis/a"),
    ({"/apig/router/i1/apisx/a": (b"{}", 1)}, {}, "outside"),
    ({}, {"/apig/router/i2/apis/a": b"{}"}, "the desired routes have 1 key(s) outside"),
])
@pytest.mark.parametrize("prune", [True, False])
def test_keys_outside_prefix_refused(current, desired, message, prune):
    with pytest.raises(ValidationError) as exc:
        plan(desired, current, prune=prune, prefix=P)
    assert message in exc.value.msg


def test_there_is_no_plan_without_a_prefix():
    # the prefix is the guard that keeps a sync's deletes inside the instance's routes
    with pytest.raises(TypeError):
        plan({}, {k("a"): (v("a"), 1)})  # pylint: disable=missing-kwoa


def test_prefix_must_end_with_slash():
    with pytest.raises(ValidationError):
        plan({}, {}, prefix=P.rstrip("/"))


def test_summary_uses_sorted_api_ids():
    result = plan({k("b"): v("b"), k("a"): v("a"), k("c"): v("C")},
                  {k("c"): (v("c"), 1), k("z"): (v("z"), 2), k("y"): (v("y"), 3)}, prefix=P)
    assert summary(result) == {"created": ["a", "b"], "updated": ["c"], "deleted": ["y", "z"], "unchanged": 0}


def test_summary_of_nothing():
    assert summary(plan({k("a"): v("a")}, {k("a"): (v("a"), 1)}, prefix=P)) == {
        "created": [], "updated": [], "deleted": [], "unchanged": 1}


def test_render_diff_small():
    desired = {k("a"): v("a"), k("b"): v("B")}
    current = {k("b"): (v("b"), 3), k("d"): (v("d"), 5)}
    diff = render_diff(plan(desired, current, prefix=P), current, desired)
    assert diff == {
        "before": {t("b"): {"id": "b"}, t("d"): {"id": "d"}},
        "after": {t("a"): {"id": "a"}, t("b"): {"id": "B"}},
    }


def test_render_diff_of_no_change_is_empty():
    desired = {k("a"): v("a")}
    current = {k("a"): (v("a"), 1)}
    assert render_diff(plan(desired, current, prefix=P), current, desired) == {"before": {}, "after": {}}


def test_render_diff_is_bounded():
    desired = dict((k("c%03d" % i), v("c%d" % i)) for i in range(300))
    current = dict((k("d%03d" % i), (v("d%d" % i), i)) for i in range(120))
    diff = render_diff(plan(desired, current, prefix=P), current, desired, max_items=10)
    note = {"created routes": 290, "deleted routes": 110}
    assert diff["before"]["(not shown)"] == note and diff["after"]["(not shown)"] == note
    assert len(diff["before"]) == 11 and len(diff["after"]) == 11
    # the first keys in order are the ones shown
    assert t("c000") in diff["after"] and t("c010") not in diff["after"]


def test_render_diff_shows_garbage_values_as_bounded_text():
    current = {k("a"): (b"\xff\xfenot json", 1), k("b"): (b"x" * (MAX_DIFF_VALUE_CHARS * 3), 2)}
    diff = render_diff(plan({}, current, prefix=P), current, {})
    assert isinstance(diff["before"][t("a")], str) and "not json" in diff["before"][t("a")]
    shown = diff["before"][t("b")]
    assert len(shown) < MAX_DIFF_VALUE_CHARS + 40 and shown.endswith("...(%d bytes)" % (MAX_DIFF_VALUE_CHARS * 3))
    json.dumps(diff)  # serialisable, as Ansible needs


# --- properties --------------------------------------------------------------

api_ids = st.sampled_from(["a", "b", "c", "d", "e", "f", "g", "h"])
contents = st.sampled_from([b"1", b"2", b"3"])
desired_maps = st.dictionaries(api_ids.map(k), contents, max_size=8)
current_maps = st.dictionaries(api_ids.map(k), st.tuples(contents, st.integers(1, 10 ** 6)), max_size=8)


def apply(result, current):
    """What etcd would hold after the plan, checking every guard as etcd would."""
    state = dict((key, value) for key, (value, dummy) in current.items())
    revisions = dict((key, rev) for key, (dummy, rev) in current.items())
    for key, value in result.creates.items():
        assert key not in state
        state[key] = value
    for key, (value, rev) in result.updates.items():
        assert revisions[key] == rev
        state[key] = value
    for key, rev in result.deletes.items():
        assert revisions[key] == rev
        del state[key]
    return state


@PROPS
@given(desired=desired_maps, current=current_maps)
def test_applying_plan_with_prune_yields_desired(desired, current):
    result = plan(desired, current, prune=True, prefix=P)
    assert apply(result, current) == desired
    assert result.unchanged + len(result.creates) + len(result.updates) == len(desired)


@PROPS
@given(desired=desired_maps)
def test_planning_against_itself_does_nothing(desired):
    current = dict((key, (value, 1)) for key, value in desired.items())
    result = plan(desired, current, prefix=P)
    assert not result.changed and not (result.creates or result.updates or result.deletes) and result.unchanged == len(desired)


@PROPS
@given(desired=desired_maps, current=current_maps)
def test_without_prune_nothing_is_deleted(desired, current):
    result = plan(desired, current, prune=False, prefix=P)
    assert result.deletes == {}
    state = apply(result, current)
    for key, value in desired.items():
        assert state[key] == value
    assert set(state) == set(desired) | set(current)


@PROPS
@given(desired=desired_maps, current=current_maps,
       stray=st.lists(st.sampled_from(["/apig/router/i1/manifest", "/apig/router/i2/apis/a", "/apig/x",
                                       "/apig/router/i1/apis", "/apig/router/i1/apis-old/a"]), max_size=2))
def test_deletes_never_leave_the_prefix(desired, current, stray):
    current = dict(current)
    for key in stray:
        current[key.encode("utf-8")] = (b"x", 1)
    try:
        result = plan(desired, current, prune=True, prefix=P)
    except ValidationError:
        assert stray
        return
    assert not stray
    assert all(key.startswith(P.encode("utf-8")) for key in result.deletes)


@PROPS
@given(desired=desired_maps, current=current_maps, max_items=st.integers(0, 4))
def test_diff_and_summary_agree_with_plan(desired, current, max_items):
    result = plan(desired, current, prefix=P)
    report = summary(result)
    assert len(report["created"]) == len(result.creates)
    assert len(report["updated"]) == len(result.updates)
    assert len(report["deleted"]) == len(result.deletes)
    diff = render_diff(result, current, desired, max_items=max_items)
    shown_before = [key for key in diff["before"] if key != "(not shown)"]
    assert len(shown_before) <= 2 * max_items


def test_a_key_that_is_not_utf8_is_planned_reported_and_shown_escaped():
    stray = P.encode("utf-8") + b"\xff\xfe-x"
    current = {k("a"): (v("a"), 1), stray: (b"\xff", 2)}
    result = plan({t("a"): v("a")}, current, prefix=P)  # a str desired key is UTF-8
    assert result.deletes == {stray: 2} and result.unchanged == 1
    assert summary(result)["deleted"] == [P + "\\xff\\xfe-x"]
    diff = render_diff(result, current, {t("a"): v("a")})
    assert diff == {"before": {P + "\\xff\\xfe-x": "\ufffd"}, "after": {}}
    json.dumps(diff)
    assert plan({t("a"): v("a")}, current, prune=False, prefix=P).deletes == {}


def test_a_key_outside_the_prefix_that_is_not_utf8_is_named_escaped():
    with pytest.raises(ValidationError) as exc:
        plan({}, {b"/apig/router/i2/apis/\xff": (b"{}", 1)}, prefix=P)
    assert "first: /apig/router/i2/apis/\\xff" in exc.value.msg
    assert exc.value.details["keys_outside"] == ["/apig/router/i2/apis/\\xff"]
