# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""A sync's ``scope``: the API groups (ids or names) that one pipeline owns on a shared instance.

Pure: which routes a scope holds, a fixed source checked against it, and the per-group
manifests (``<key_prefix>/<instance_id>/groups/<group>/manifest``) that let a scoped
no-op prove itself in a few small reads. docs/docsite/rst/etcd_layout.rst describes them
for readers.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.common._validation import (
    check_identifier,
    check_key_prefix,
    describe,
)
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import SCHEMA, canonical_json

from urllib.parse import quote, unquote

MAX_NAMED_ITEMS = 5


class Scope(object):
    """The API groups a scoped sync owns: a route is in scope when its record's ``group_id`` or
    ``group_name`` is one of ``groups``."""

    def __init__(self, groups):
        self.groups = tuple(sorted(set(groups)))
        self._set = frozenset(self.groups)

    def holds(self, group):
        """Whether a route of ``group`` ((group_id, group_name), either None) is in scope."""
        return group[0] in self._set or group[1] in self._set

    def entries_of(self, group):
        """The scope's groups that name ``group`` (by id, by name, or both)."""
        return [entry for entry in group if entry is not None and entry in self._set]

    def __repr__(self):
        return "Scope(%r)" % (list(self.groups),)


def check_scope(value):
    """The ``scope`` option as a Scope, or None when unset. ValidationError names what is wrong."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValidationError("scope must be a dict with groups (a list of API group ids or names), got %s"
                              % describe(value))
    unknown = sorted(set(value) - {"groups"})
    if unknown:
        raise ValidationError("scope has unknown key(s) %s: only groups is supported" % ", ".join(unknown))
    groups = value.get("groups")
    if not isinstance(groups, (list, tuple)) or not groups:
        raise ValidationError("scope.groups must list at least one API group id or name, got %s" % describe(groups))
    for index, group in enumerate(groups):
        if not isinstance(group, str) or not group.strip() or group != group.strip():
            raise ValidationError("scope.groups[%d] must be a non-empty group id or name without surrounding "
                                  "spaces, got %s" % (index, describe(group)))
    return Scope(groups)


def group_of(value):
    """``(group_id, group_name)`` of a stored or built route record (bytes), None for either that it
    lacks; ``(None, None)`` for a value that is not a record (such a key is in no scope)."""
    try:
        record = json.loads(value.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError
        return (None, None)
    if not isinstance(record, dict):
        return (None, None)
    group_id, group_name = record.get("group_id"), record.get("group_name")
    return (group_id if isinstance(group_id, str) else None, group_name if isinstance(group_name, str) else None)


def show_group(group):
    """A group as messages show it: ``id (name)``, or what is known of it."""
    group_id, group_name = group
    if group_id is None and group_name is None:
        return "no group"
    if group_name is None:
        return "group %s" % group_id
    if group_id is None:
        return "group named %s" % group_name
    return "group %s (%s)" % (group_id, group_name)


def check_records_in_scope(records, scope, where=""):
    """Refuses a fixed source ({API id: record bytes}) with any API outside ``scope``, naming them:
    a file that claims another team's API is a mistake, never a reason to write it."""
    outside = sorted((api_id, group_of(value)) for api_id, value in records.items()
                     if not scope.holds(group_of(value)))
    if outside:
        named = ", ".join("%s (%s)" % (api_id, show_group(group)) for api_id, group in outside[:MAX_NAMED_ITEMS])
        more = "" if len(outside) <= MAX_NAMED_ITEMS else " and %d more" % (len(outside) - MAX_NAMED_ITEMS)
        raise ValidationError(
            "%sthe source has %d API(s) outside the scope (groups: %s): %s%s; nothing was written"
            % (where, len(outside), ", ".join(scope.groups), named, more),
            outside_scope=[api_id for api_id, dummy in outside[:20]])


def check_source_in_scopes(source, targets, fleet):
    """check_records_in_scope() of a fixed source for every target with a scope, before anything
    is sent: an item outside one instance's scope fails the run, not that instance after
    others were written. An error names the item of ``instances``."""
    for index, target in enumerate(targets):
        if target["scope"] is not None:
            where = "instances[%d] (instance %s): " % (index, target["instance_id"]) if fleet else ""
            check_records_in_scope(source.records, target["scope"], where)


def in_scope(routes, scope):
    """The routes ({key: record bytes}) of ``routes`` that ``scope`` holds."""
    return dict((key, value) for key, value in routes.items() if scope.holds(group_of(value)))


# ---------------------------------------------------------------------------
# per-group manifests: the proof of a scoped no-op

def groups_prefix(key_prefix, instance_id):
    """``<key_prefix>/<instance_id>/groups/``: the per-group manifests, beside ``apis/``."""
    return "%s/%s/groups/" % (check_key_prefix(key_prefix), check_identifier("instance_id", instance_id))


def group_manifest_key(prefix, entry):
    """The key under ``prefix`` (groups_prefix()) of the manifest of the routes whose group id or
    name is ``entry``, percent-encoded as a URL path segment (a group name may hold '/')."""
    return "%s%s/manifest" % (prefix, quote(entry, safe=""))


def entry_of_key(key, prefix):
    """The group id or name of a group manifest key (bytes) under ``prefix`` (str); None for another key."""
    text = key.decode("utf-8", "replace")
    if not text.startswith(prefix) or not text.endswith("/manifest"):
        return None
    segment = text[len(prefix):-len("/manifest")]
    return unquote(segment) if segment and "/" not in segment else None


def group_manifest(routes, groups, entry, instance_sha256):
    """The manifest of the routes ({key bytes: value bytes}) whose group (``groups``: {key: (id, name)}) has
    id or name ``entry``, computed as the instance manifest is, plus the instance manifest's
    ``instance_sha256``: it describes that group only while the instance still holds the routes
    it was computed from."""
    digest = hashlib.sha256()
    count = 0
    for key in sorted(k for k in routes if entry in groups[k]):
        digest.update(key + b"\n" + routes[key] + b"\n")
        count += 1
    return {"schema": SCHEMA, "count": count, "sha256": digest.hexdigest(), "instance_sha256": instance_sha256}


def group_manifest_bytes(routes, groups, entry, instance_sha256):
    return canonical_json(group_manifest(routes, groups, entry, instance_sha256))
