# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Desired routes vs what etcd holds -> a Plan. Pure: no I/O, nothing applied here.

Check mode is ``plan()`` without applying it; diff mode is ``render_diff()``; the
result's created/updated/deleted lists are ``summary()``.

Keys are bytes, as etcd's own are: a stray key under the prefix need not be UTF-8, and
etcd orders keys by their bytes (the writer's range guards rely on that order). Keys are
text only where they are shown: ``key_text()``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
from collections import namedtuple

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import api_id_of
from ansible_collections.apigw.router.plugins.module_utils.sources._scope import group_of, show_group

# A value shown in a diff is cut to this many characters (a stray etcd value may be 1.5 MiB).
MAX_DIFF_VALUE_CHARS = 4096
DEFAULT_DIFF_ITEMS = 50


def key_text(key):
    """A key as results, messages and diffs show it: bytes that are not UTF-8 escaped with
    Python's ``backslashreplace`` (``b"/p/i/apis/\\xff"`` is shown as ``/p/i/apis/\\xff``)."""
    return key.decode("utf-8", "backslashreplace") if isinstance(key, bytes) else key


def as_bytes_keys(routes):
    """``routes`` with bytes keys (a str key is UTF-8); the same dict when they all are."""
    if all(isinstance(key, bytes) for key in routes):
        return routes
    return dict((key if isinstance(key, bytes) else key.encode("utf-8"), value) for key, value in routes.items())


class Plan(namedtuple("Plan", ["creates", "updates", "deletes", "unchanged"])):
    """What a sync must write.

    ``creates`` {key: value bytes} (guard: key absent), ``updates`` {key: (value bytes,
    mod_revision read)}, ``deletes`` {key: mod_revision read}, ``unchanged`` int; keys are bytes.
    """

    __slots__ = ()

    @property
    def changed(self):
        return bool(self.creates or self.updates or self.deletes)


def _check_under(prefix, keys, what):
    outside = [key_text(k) for k in sorted(k for k in keys if not k.startswith(prefix))]
    if outside:
        raise ValidationError(
            "%s %d key(s) outside %s (first: %s): refusing to plan a sync that could touch them"
            % (what, len(outside), key_text(prefix), outside[0]), keys_outside=outside[:20])


def plan(desired, current, prune=True, *, prefix):
    """The Plan turning ``current`` ({key: (bytes, mod_revision)}) into ``desired`` ({key: bytes}).

    Keys in ``current`` but not in ``desired`` are deleted only when ``prune``. Any key
    outside ``prefix`` (the instance's ``.../apis/``, ending in '/') in ``desired`` or
    ``current`` raises ValidationError: a sync never deletes outside it, so there is no
    plan without a prefix. Keys may be given as str (UTF-8); the Plan's are bytes.
    """
    desired, current = as_bytes_keys(desired), as_bytes_keys(current)
    prefix = prefix if isinstance(prefix, bytes) else prefix.encode("utf-8")
    if not prefix.endswith(b"/"):
        raise ValidationError("the routes prefix %r must end with '/'" % prefix)
    _check_under(prefix, current, "etcd returned")
    _check_under(prefix, desired, "the desired routes have")
    creates, updates, deletes = {}, {}, {}
    unchanged = 0
    for key, value in desired.items():
        if key not in current:
            creates[key] = value
        elif current[key][0] != value:
            updates[key] = (value, current[key][1])
        else:
            unchanged += 1
    if prune:
        for key, (dummy, mod_revision) in current.items():
            if key not in desired:
                deletes[key] = mod_revision
    return Plan(creates, updates, deletes, unchanged)


def split_by_scope(current, desired, scope):
    """``(inside, outside, groups)``: the routes of ``current`` ({key: (bytes, mod_revision)}) that
    ``scope`` holds and the others, and each current key's (group_id, group_name).

    A key that ``desired`` has and etcd holds under a group outside the scope raises
    ValidationError naming both groups: the scope does not own it, so neither overwriting
    it nor leaving it is right (moving an API between groups needs both in the scope).
    """
    desired, current = as_bytes_keys(desired), as_bytes_keys(current)
    inside, outside, groups, conflicts = {}, {}, {}, []
    for key, held in current.items():
        group = groups[key] = group_of(held[0])
        if scope.holds(group):
            inside[key] = held
        else:
            outside[key] = held
            if key in desired:
                conflicts.append((key, group_of(desired[key]), group))
    if conflicts:
        conflicts.sort()
        shown = "; ".join("API %s: the source has it in %s, etcd holds it in %s" % (
            item_id(key), show_group(wanted), show_group(held)) for key, wanted, held in conflicts[:5])
        raise ValidationError(
            "%d route id(s) of the source exist in etcd under a group outside the scope (groups: %s): %s%s. "
            "Nothing was written: moving an API between groups needs both groups in the scope"
            % (len(conflicts), ", ".join(scope.groups), shown,
               "" if len(conflicts) <= 5 else " and %d more" % (len(conflicts) - 5)),
            conflicts=[item_id(key) for key, dummy, dummy2 in conflicts[:20]])
    return inside, outside, groups


def item_id(key):
    """The API id of a route key; a stray key that holds no valid id stands for itself, as text."""
    try:
        return api_id_of(key)
    except ValueError:  # includes UnicodeDecodeError
        return key_text(key)


def summary(plan):
    """Sorted API ids per kind, as the module returns them."""
    return {
        "created": sorted(item_id(k) for k in plan.creates),
        "updated": sorted(item_id(k) for k in plan.updates),
        "deleted": sorted(item_id(k) for k in plan.deletes),
        "unchanged": plan.unchanged,
    }


def _shown(value):
    """A stored value as a diff shows it: the decoded record, or bounded text when it is not one."""
    if len(value) <= MAX_DIFF_VALUE_CHARS:
        try:
            return json.loads(value.decode("utf-8"))
        except ValueError:  # includes UnicodeDecodeError and JSONDecodeError
            pass
    text = value.decode("utf-8", "replace")
    if len(text) > MAX_DIFF_VALUE_CHARS:
        text = text[:MAX_DIFF_VALUE_CHARS] + "...(%d bytes)" % len(value)
    return text


def render_diff(plan, current, desired, max_items=DEFAULT_DIFF_ITEMS):
    """``{"before": {...}, "after": {...}}`` for Ansible's diff mode, keyed by route key (as text).

    At most ``max_items`` routes of each kind (created, updated, deleted, by key order)
    are shown; when any is left out both sides carry the same ``"(not shown)"`` counts.
    """
    current, desired = as_bytes_keys(current), as_bytes_keys(desired)
    before, after = {}, {}
    hidden = {}
    for kind, keys in (("created", plan.creates), ("updated", plan.updates), ("deleted", plan.deletes)):
        ordered = sorted(keys)
        if len(ordered) > max_items:
            hidden[kind] = len(ordered) - max_items
        for key in ordered[:max_items]:
            if kind != "created":
                before[key_text(key)] = _shown(current[key][0])
            if kind != "deleted":
                after[key_text(key)] = _shown(desired[key])
    if hidden:
        note = dict(("%s routes" % kind, count) for kind, count in hidden.items())
        before["(not shown)"] = note
        after["(not shown)"] = dict(note)
    return {"before": before, "after": after}
