# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""API resources -> route records, their canonical bytes, etcd keys and the manifest.

Pure functions, no I/O. The layout is a contract with the gateway's router
(docs/docsite/rst/guide_etcd_layout.rst):

- route key   ``<key_prefix>/<instance_id>/apis/<api_id>``
- route value: the record of the API with that id, in ``build_records``'s canonical bytes
- manifest    ``<key_prefix>/<instance_id>/manifest`` = ``canonical_json(manifest(routes))``

How a ListApisV2 item becomes a record:

- An API whose ``run_env_id`` is missing, ``None`` or ``""`` is unpublished: no record.
- Copied as they are: ``id``, ``name``, ``group_id``, ``group_name``, ``req_protocol``,
  ``req_method``, ``req_uri``, ``match_mode``, ``auth_type``, ``backend_type`` (strings)
  and ``cors`` (bool). ``type`` is an int (``"1"`` and ``1.0`` become ``1``).
- A field that is missing or ``None`` is omitted from the record, never invented.
- ``envs``: ``run_env_id``, ``run_env_name`` and ``publish_id`` are split on ``|`` and
  zipped into ``[{"id", "name", "publish_id"}]``, sorted by id. ``run_env_name`` or
  ``publish_id`` that is missing, ``None`` or ``""`` is absent: its key is left out of
  every entry. When present, it must have as many parts as ``run_env_id`` (an empty
  part is kept as ``""``: the count is what proves the parts line up). Env ids must be
  identifiers and distinct.
- ``backend`` (only when ``backend_api`` is a dict): ``req_protocol``, ``req_method``,
  ``req_uri``, ``url_domain`` (strings), ``timeout`` and ``retry_count`` (ints;
  ListApisV2 sends ``retry_count`` as a string such as ``"-1"``). Missing or ``None``
  sub-fields are omitted; so is ``backend`` when nothing is left.
- Everything else (``register_time``, ``update_time``, ``publish_time``, ``tags``,
  ``req_params``, ...) is not part of the record.

One pass per item validates it and builds its record from the field tables
(``_API_FIELDS``, ``_BACKEND_FIELDS``) with plain check functions: every problem of every
item is collected, worded as users have always read it, before anything is returned.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The checks accept exact str/int types first and fall back to isinstance for subclasses:
# the exact test is the cheap common case, the fallback gives the same verdict and message.
# pylint: disable=unidiomatic-typecheck

import hashlib
import json
import re

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.common._validation import (
    IDENTIFIER_RE,
    REQ_METHODS,
    check_identifier,
    check_key_prefix,
    describe,
)

SCHEMA = 1

# Bounds on what one record may carry (UTF-8 bytes): a request line longer than
# 8 KiB is refused by most HTTP servers, and etcd refuses requests over 1.5 MiB.
MAX_URI_BYTES = 8 * 1024
MAX_FIELD_BYTES = 64 * 1024
# Problems quoted in full in one error message; the rest are counted.
MAX_REPORTED_PROBLEMS = 5

_INT_STR_RE = re.compile(r"^[+-]?[0-9]{1,19}\Z")
_INT_MIN = -(2 ** 63)
_INT_MAX = 2 ** 63 - 1
_CONTROL_RE = re.compile(u"[\x00-\x1f\x7f]")
_METHODS = frozenset(REQ_METHODS)
_identifier_match = IDENTIFIER_RE.match


# One encoder for every call: json.dumps with these options would build a new one each time.
# Its encode() keeps no state between calls, so it is safe to share between threads.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# The same without sorting or the cycle check, for the records _item builds only: their
# dicts are filled in sorted key order and hold nothing but fresh dicts and lists, str, int
# and bool, so the bytes are canonical_json's (the golden test pins this).
_RECORD_ENCODER = json.JSONEncoder(sort_keys=False, separators=(",", ":"), ensure_ascii=False,
                                   allow_nan=False, check_circular=False)


def canonical_json(obj):
    """The one byte form of ``obj``: sorted keys, no whitespace, UTF-8 (not \\u-escaped)."""
    return _ENCODER.encode(obj).encode("utf-8")


# ---------------------------------------------------------------------------
# messages

def _label(index, api):
    where = "apis[%s]" % index if index is not None else "api"
    api_id = api.get("id") if isinstance(api, dict) else None
    if isinstance(api_id, str) and IDENTIFIER_RE.match(api_id):
        return "%s (id %s)" % (where, api_id)
    if api_id is None:
        return "%s (no id)" % where
    return "%s (id %s)" % (where, describe(api_id))


def _raise_problems(problems, what):
    shown = problems[:MAX_REPORTED_PROBLEMS]
    more = len(problems) - len(shown)
    msg = "%s refused (%d problem%s): %s%s" % (
        what, len(problems), "" if len(problems) == 1 else "s", "; ".join(shown),
        "; and %d more" % more if more else "")
    raise ValidationError(msg, problems=problems[:50], problem_count=len(problems))


# ---------------------------------------------------------------------------
# field checks
#
# Each check is called as check(value, name, problems, obj) for a value that
# is not None; it returns what the record holds, or _OMIT after appending the problems of
# the value (or when the value adds nothing to the record).

_OMIT = object()


def _fits(value, name, problems, max_bytes):
    """True if str value is valid Unicode within max_bytes of UTF-8; else appends why."""
    if value.isascii():  # O(1) in CPython: no surrogate, one byte per character
        size = len(value)
    else:
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            problems.append("%s %s is not valid Unicode (lone surrogate)" % (name, describe(value)))
            return False
    if size > max_bytes:
        problems.append("%s is %d bytes long: at most %d are allowed" % (name, size, max_bytes))
        return False
    return True


def _string(value, name, problems, obj=None, max_bytes=MAX_FIELD_BYTES):
    if type(value) is str and len(value) <= max_bytes and value.isascii():
        return value
    if isinstance(value, str):
        return value if _fits(value, name, problems, max_bytes) else _OMIT
    problems.append("%s must be a string, got %s" % (name, describe(value)))
    return _OMIT


def _method(value, name, problems, obj=None):
    if type(value) is str and value in _METHODS:
        return value
    if _string(value, name, problems) is _OMIT:
        return _OMIT
    if value not in REQ_METHODS:
        problems.append("%s %s is not one of %s" % (name, describe(value), ", ".join(REQ_METHODS)))
        return _OMIT
    return value


def _uri(value, name, problems, obj=None):
    if (type(value) is str and value[:1] == "/" and len(value) <= MAX_URI_BYTES and value.isascii()
            and not _CONTROL_RE.search(value)):
        return value
    if _string(value, name, problems, max_bytes=MAX_URI_BYTES) is _OMIT:
        return _OMIT
    if not value.startswith("/"):
        problems.append("%s %s must start with '/'" % (name, describe(value)))
    elif _CONTROL_RE.search(value):
        problems.append("%s %s must not contain control characters" % (name, describe(value)))
    else:
        return value
    return _OMIT


def _as_int(value):
    """The int that value stands for (int, integral float, decimal string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if not value.is_integer():
            return None
        result = int(value)
    elif isinstance(value, str) and _INT_STR_RE.match(value.strip()):
        result = int(value.strip())
    else:
        return None
    return result if _INT_MIN <= result <= _INT_MAX else None


def _integer(value, name, problems, obj=None):
    if type(value) is int and _INT_MIN <= value <= _INT_MAX:
        return value
    result = _as_int(value)
    if result is None:
        problems.append("%s must be an integer, got %s" % (name, describe(value)))
        return _OMIT
    return result


def _boolean(value, name, problems, obj=None):
    if value is True or value is False:
        return value
    problems.append("%s must be true or false, got %s" % (name, describe(value)))
    return _OMIT


def _identifier(value, name, problems, obj=None):
    if isinstance(value, str) and IDENTIFIER_RE.match(value):
        return value
    problems.append("%s %s is not a valid identifier: it must match %s"
                    % (name, describe(value), IDENTIFIER_RE.pattern.replace("\\Z", "$")))
    return _OMIT


def _env_id(env):
    return env["id"]


def _envs(value, name, problems, api):
    """run_env_id, run_env_name and publish_id of a published API, zipped (module docstring)."""
    if value == "":
        return _OMIT  # unpublished: its publication fields are not looked at
    names = api.get("run_env_name")
    publish_ids = api.get("publish_id")
    # Each of the three must be a string; the first that is not is the one problem reported.
    if (_string(value, name, problems) is _OMIT
            or names is not None and _string(names, "run_env_name", problems) is _OMIT
            or publish_ids is not None and _string(publish_ids, "publish_id", problems) is _OMIT):
        return _OMIT
    # An absent (None or "") name or publish id is left out of every entry.
    names = names or None
    publish_ids = publish_ids or None
    if "|" in value or (names is not None and "|" in names) or (publish_ids is not None and "|" in publish_ids):
        return _several_envs(value.split("|"), names, publish_ids, problems)
    # one environment, the common case: nothing to split or pair, and one id cannot repeat
    if not _identifier_match(value):
        problems.append(_env_id_problem(value))
        return _OMIT
    return [_env(value, names, publish_ids)]


def _env(env_id, name, publish_id):
    """One entry of ``envs``, its keys in sorted order (see _RECORD_ENCODER)."""
    env = {"id": env_id}
    if name is not None:
        env["name"] = name
    if publish_id is not None:
        env["publish_id"] = publish_id
    return env


def _several_envs(ids, names, publish_ids, problems):
    """``envs`` of '|'-separated ids, names and publish ids (None when absent), sorted by id."""
    names = _env_parts(names, "run_env_name", len(ids), problems)
    publish_ids = _env_parts(publish_ids, "publish_id", len(ids), problems)
    paired = names is not _OMIT and publish_ids is not _OMIT
    if not _distinct_env_ids(ids, problems) or not paired:
        return _OMIT
    envs = [_env(env_id, names and names[i], publish_ids and publish_ids[i]) for i, env_id in enumerate(ids)]
    envs.sort(key=_env_id)
    return envs


def _distinct_env_ids(ids, problems):
    """True if every id is an environment id and none repeats; else appends why."""
    ok = True
    seen = set()
    for env_id in ids:
        if not _identifier_match(env_id):
            problems.append(_env_id_problem(env_id))
            ok = False
        elif env_id in seen:
            problems.append("run_env_id names environment %s twice" % env_id)
            ok = False
        seen.add(env_id)
    return ok


def _env_id_problem(env_id):
    """The problem reported for a run_env_id part that is not an environment id."""
    return "run_env_id part %s is not a valid environment id" % describe(env_id)


def _env_parts(text, source, count, problems):
    """The '|'-separated parts of ``text`` (None when it is absent), or _OMIT when they are not ``count``."""
    if text is None:
        return None
    parts = text.split("|")
    if len(parts) != count:
        problems.append("%s has %d '|'-separated parts but run_env_id has %d: they must pair up"
                        % (source, len(parts), count))
        return _OMIT
    return parts


def _backend(value, name, problems, api):
    if not isinstance(value, dict):
        problems.append("backend_api must be a dict, got %s" % describe(value))
        return _OMIT
    # every backend field is optional: whether the API is published does not matter
    before = len(problems)
    record = {}
    _fill(_BACKEND_KEYED, value, problems, False, record)
    if len(problems) != before:
        _in_table_order(_BACKEND_FIELDS, value, problems, False, before)
        return _OMIT
    return record or _OMIT


# ---------------------------------------------------------------------------
# the tables: what a record holds and how each field is checked
#
# (record key, source field, name in messages, check, required); required is 0 for an
# optional field, 1 for one a published API needs, 2 for one every API needs. Rows are in
# the order problems are reported in; the key order of a record is canonical_json's.

_OPTIONAL, _PUBLISHED, _ALWAYS = 0, 1, 2

_API_FIELDS = (
    ("id", "id", "id", _identifier, _ALWAYS),
    ("name", "name", "name", _string, _OPTIONAL),
    ("group_id", "group_id", "group_id", _string, _OPTIONAL),
    ("group_name", "group_name", "group_name", _string, _OPTIONAL),
    ("req_protocol", "req_protocol", "req_protocol", _string, _OPTIONAL),
    ("req_method", "req_method", "req_method", _method, _PUBLISHED),
    ("req_uri", "req_uri", "req_uri", _uri, _PUBLISHED),
    ("match_mode", "match_mode", "match_mode", _string, _OPTIONAL),
    ("auth_type", "auth_type", "auth_type", _string, _OPTIONAL),
    ("backend_type", "backend_type", "backend_type", _string, _OPTIONAL),
    ("type", "type", "type", _integer, _OPTIONAL),
    ("cors", "cors", "cors", _boolean, _OPTIONAL),
    ("envs", "run_env_id", "run_env_id", _envs, _OPTIONAL),
    ("backend", "backend_api", "backend_api", _backend, _OPTIONAL),
)
# backend_api's fields keep their names in the record; all are optional.
_BACKEND_FIELDS = tuple((field, field, "backend_api." + field, check, _OPTIONAL) for field, check in (
    ("req_protocol", _string), ("req_method", _method), ("req_uri", _uri), ("url_domain", _string),
    ("timeout", _integer), ("retry_count", _integer)))
_MISSING = {_PUBLISHED: " is missing (required for a published API)", _ALWAYS: " is missing"}


# The same rows in record key order, to fill records in: _RECORD_ENCODER does not sort. A
# record's constants go between them (a published API's "schema" after "req_uri").
_API_BEFORE_SCHEMA = tuple(row for row in sorted(_API_FIELDS) if row[0] < "schema")
_API_AFTER_SCHEMA = tuple(row for row in sorted(_API_FIELDS) if row[0] > "schema")
_BACKEND_KEYED = tuple(sorted(_BACKEND_FIELDS))


def _fill(rows, obj, problems, published, record):
    """Puts what ``rows`` take from dict ``obj`` into ``record``, in the order of ``rows``;
    appends the problems of ``obj``."""
    get = obj.get
    for key, source, name, check, required in rows:
        value = get(source)
        if value is None:
            if required is _ALWAYS or (required is _PUBLISHED and published):
                problems.append(name + _MISSING[required])
        else:
            value = check(value, name, problems, obj)
            if value is not _OMIT:
                record[key] = value


def _in_table_order(rows, obj, problems, published, before):
    """Replaces the problems from ``before`` on by those ``rows`` find in table order.

    Records are filled in key order; a record with problems is checked again (the checks
    are pure) so that its problems are reported in the order of the table.
    """
    del problems[before:]
    _fill(rows, obj, problems, published, {})


def _item(index, api, problems):
    """The record of one item of ``apis`` (None when unpublished); its problems, naming it, appended.

    ``index`` is its position in ``apis`` (None for a lone resource).
    """
    if not isinstance(api, dict):
        problems.append("%s must be a dict (an API resource), got %s"
                        % ("apis[%s]" % index if index is not None else "api", describe(api)))
        return None
    before = len(problems)
    published = api.get("run_env_id") not in (None, "")
    record = {}
    _fill(_API_BEFORE_SCHEMA, api, problems, published, record)
    record["schema"] = SCHEMA
    _fill(_API_AFTER_SCHEMA, api, problems, published, record)
    if len(problems) != before:
        _in_table_order(_API_FIELDS, api, problems, published, before)
        label = _label(index, api)
        problems[before:] = ["%s: %s" % (label, p) for p in problems[before:]]
        return None
    return record if published else None


# ---------------------------------------------------------------------------
# records and keys

def routes_prefix(key_prefix, instance_id):
    """``<key_prefix>/<instance_id>/apis/``: every route key of the instance, and nothing else."""
    return "%s/%s/apis/" % (check_key_prefix(key_prefix), check_identifier("instance_id", instance_id))


def manifest_key(key_prefix, instance_id):
    return "%s/%s/manifest" % (check_key_prefix(key_prefix), check_identifier("instance_id", instance_id))


def api_id_of(key):
    """The API id at the end of a route key (str or UTF-8 bytes); ValueError if it is not one."""
    if isinstance(key, bytes):
        key = key.decode("utf-8")
    head, sep, api_id = key.rpartition("/apis/")
    if not sep or not IDENTIFIER_RE.match(api_id):
        raise ValueError("%s is not a route key" % describe(key, 200))
    return api_id


def build_records(apis):
    """{API id: canonical record (bytes)} for the published APIs of ``apis``.

    Records do not depend on the instance: an instance's route keys are its
    ``routes_prefix`` plus the id. Every item is validated before anything is returned;
    all problems are collected and one ValidationError reports the first few and the count.
    """
    if not isinstance(apis, (list, tuple)):
        raise ValidationError("apis must be a list of API resources, got %s" % describe(apis))
    problems = []
    first_index = {}
    routes = {}
    encode = _RECORD_ENCODER.encode
    item = _item
    for index, api in enumerate(apis):
        before = len(problems)
        record = item(index, api, problems)
        if len(problems) > before:
            api_id = api.get("id") if isinstance(api, dict) else None
            if not (isinstance(api_id, str) and IDENTIFIER_RE.match(api_id)):
                continue
        else:
            api_id = api["id"]  # a valid item's id is an identifier
        if api_id in first_index:
            problems.append("%s: duplicate id, also at apis[%d]" % (_label(index, api), first_index[api_id]))
            continue
        first_index[api_id] = index
        if record is not None and not problems:
            routes[api_id] = encode(record).encode("utf-8")
    if problems:
        _raise_problems(problems, "the API resources were")
    return routes


def manifest(routes):
    """``{"schema": 1, "count": n, "sha256": hex}`` for ``routes`` ({key: value bytes}; a
    key is str or bytes: a stray key kept without prune need not be UTF-8).

    The digest is SHA-256 over, for each route key in ascending order of its UTF-8 bytes
    (the order etcd lists keys in; the same as code-point order)::

        key (UTF-8) + b"\\n" + value + b"\\n"

    concatenated, with nothing else (no count, no trailing separator); no routes give
    the digest of b"". Keys and canonical JSON values never contain a raw newline, so
    the layout is unambiguous. The gateway, the sync and the info module must all
    compute it this way.
    """
    digest_of_routes = hashlib.sha256()
    update = digest_of_routes.update
    for key, value in _in_byte_order(routes):
        if not isinstance(value, bytes):
            raise TypeError("route values must be bytes, got %s for %r" % (type(value).__name__, key))
        update(b"%s\n%s\n" % (key, value))
    return {"schema": SCHEMA, "count": len(routes), "sha256": digest_of_routes.hexdigest()}


def _in_byte_order(routes):
    """(key as UTF-8 bytes, value) of ``routes``, in ascending order of the keys' bytes."""
    kinds = set(map(type, routes))
    if kinds == {str}:
        # Code-point order is the order of the UTF-8 bytes: the keys are sorted as text and
        # each is encoded once, with no list of pairs to build and sort.
        return ((key.encode("utf-8"), routes[key]) for key in sorted(routes))
    if kinds <= {bytes}:
        return ((key, routes[key]) for key in sorted(routes))
    return sorted((key if isinstance(key, bytes) else key.encode("utf-8"), value) for key, value in routes.items())


class DesiredRoutes(object):
    """One instance's desired routes ({key str: value bytes}) and their manifest.

    A source may know the manifest before it has built the routes (the source cache does):
    proving a no-op needs only that, so the routes are built on the first call of
    ``routes()``. A known manifest is only ever a claim to check against etcd: what is
    written is always ``computed_manifest()``, the manifest of the routes themselves.
    """

    def __init__(self, build, known_manifest=None):
        self._build = build
        self._routes = None
        self._known = known_manifest
        self._computed = None

    @classmethod
    def of(cls, desired):
        """``desired`` as a DesiredRoutes (a dict of routes is wrapped)."""
        if isinstance(desired, cls):
            return desired
        made = cls(None)
        made._routes = desired
        return made

    def routes(self):
        if self._routes is None:
            self._routes = self._build()
        return self._routes

    @property
    def built(self):
        return self._routes is not None

    @property
    def manifest(self):
        """The known manifest, else the computed one: what a no-op is checked against."""
        return self._known if self._known is not None else self.computed_manifest()

    def computed_manifest(self):
        """The manifest of ``routes()`` (building them if needed), computed once."""
        if self._computed is None:
            self._computed = manifest(self.routes())
        return self._computed

    @property
    def manifest_at_hand(self):
        """The computed manifest if it was computed, else None (nothing is built for it)."""
        return self._computed
