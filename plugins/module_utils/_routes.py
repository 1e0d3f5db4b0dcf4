# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""API resources -> route records, their canonical bytes, etcd keys and the manifest.

Pure functions, no I/O. The layout is a contract with the gateway's router
(SPEC "ETCD layout written in etcd mode"):

- route key   ``<key_prefix>/<instance_id>/apis/<api_id>``
- route value ``canonical_json(route_record(api))``
- manifest    ``<key_prefix>/<instance_id>/manifest`` = ``canonical_json(manifest(routes))``

How a ListApisV2 item becomes a record (``route_record``):

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
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The fast path below compares exact types on purpose: a bool is an int, and str or dict
# subclasses may behave differently; all of them must take the slow path and its checks.
# pylint: disable=unidiomatic-typecheck

import hashlib
import json
import re

from ansible_collections.apigw.router.plugins.module_utils._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils._validation import (
    IDENTIFIER_RE,
    REQ_METHODS,
    check_identifier,
    check_key_prefix,
)

SCHEMA = 1

# Bounds on what one record may carry (UTF-8 bytes): a request line longer than
# 8 KiB is refused by most HTTP servers, and etcd refuses requests over 1.5 MiB.
MAX_URI_BYTES = 8 * 1024
MAX_FIELD_BYTES = 64 * 1024
# Problems quoted in full in one error message; the rest are counted.
MAX_REPORTED_PROBLEMS = 5

STRING_FIELDS = ("id", "name", "group_id", "group_name", "req_protocol", "req_method", "req_uri",
                 "match_mode", "auth_type", "backend_type")
BACKEND_STRING_FIELDS = ("req_protocol", "req_method", "req_uri", "url_domain")
BACKEND_INT_FIELDS = ("timeout", "retry_count")
ENV_PARTS = (("run_env_id", "id"), ("run_env_name", "name"), ("publish_id", "publish_id"))

_INT_STR_RE = re.compile(r"^[+-]?[0-9]{1,19}\Z")
_INT_MIN = -(2 ** 63)
_INT_MAX = 2 ** 63 - 1
_CONTROL_RE = re.compile(u"[\x00-\x1f\x7f]")


# One encoder for every call: json.dumps with these options would build a new one each time.
# Its encode() keeps no state between calls, so it is safe to share between threads.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# The same without sorting or the cycle check, for the records of _fast_record only: their
# dicts are filled in sorted key order and hold nothing but fresh dicts, lists, str, int
# and bool, so the bytes are those of _ENCODER.
_FAST_ENCODER = json.JSONEncoder(sort_keys=False, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                                 check_circular=False)


def canonical_json(obj):
    """The one byte form of ``obj``: sorted keys, no whitespace, UTF-8 (not \\u-escaped)."""
    return _ENCODER.encode(obj).encode("utf-8")


# ---------------------------------------------------------------------------
# validation

def _show(value, limit=40):
    """A bounded rendering of a bad value; containers by type only (they may be huge or cyclic)."""
    if isinstance(value, str):
        if len(value) > limit:
            return "%r...(%d chars)" % (value[:limit], len(value))
        return repr(value)
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "...(%d digits)" % len(text)
    return "a %s" % type(value).__name__


def _label(index, api):
    where = "apis[%s]" % index if index is not None else "api"
    api_id = api.get("id") if isinstance(api, dict) else None
    if isinstance(api_id, str) and IDENTIFIER_RE.match(api_id):
        return "%s (id %s)" % (where, api_id)
    if api_id is None:
        return "%s (no id)" % where
    return "%s (id %s)" % (where, _show(api_id))


def _check_string(problems, name, value, max_bytes=MAX_FIELD_BYTES):
    """Append a problem unless value is a str of valid Unicode within max_bytes; True if fine."""
    if not isinstance(value, str):
        problems.append("%s must be a string, got %s" % (name, _show(value)))
        return False
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        problems.append("%s %s is not valid Unicode (lone surrogate)" % (name, _show(value)))
        return False
    if size > max_bytes:
        problems.append("%s is %d bytes long: at most %d are allowed" % (name, size, max_bytes))
        return False
    return True


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


def _check_int(problems, name, value):
    if _as_int(value) is None:
        problems.append("%s must be an integer, got %s" % (name, _show(value)))


def _check_method(problems, name, value):
    if _check_string(problems, name, value) and value not in REQ_METHODS:
        problems.append("%s %s is not one of %s" % (name, _show(value), ", ".join(REQ_METHODS)))


def _check_uri(problems, name, value):
    if not _check_string(problems, name, value, MAX_URI_BYTES):
        return
    if not value.startswith("/"):
        problems.append("%s %s must start with '/'" % (name, _show(value)))
    elif _CONTROL_RE.search(value):
        problems.append("%s %s must not contain control characters" % (name, _show(value)))


def _is_published(api):
    return api.get("run_env_id") not in (None, "")


def _env_parts(api):
    """{record key: list of parts} for each env field present (see the module docstring)."""
    parts = {}
    for source, target in ENV_PARTS:
        value = api.get(source)
        if value not in (None, ""):
            parts[target] = value.split("|")
    return parts


def _check_envs(problems, api):
    for source, dummy in ENV_PARTS:
        value = api.get(source)
        if value is not None and not _check_string(problems, source, value):
            return
    parts = _env_parts(api)
    ids = parts["id"]
    for source, target in ENV_PARTS[1:]:
        if target in parts and len(parts[target]) != len(ids):
            problems.append("%s has %d '|'-separated parts but run_env_id has %d: they must pair up"
                            % (source, len(parts[target]), len(ids)))
    seen = set()
    for env_id in ids:
        if not IDENTIFIER_RE.match(env_id):
            problems.append("run_env_id part %s is not a valid environment id" % _show(env_id))
        elif env_id in seen:
            problems.append("run_env_id names environment %s twice" % env_id)
        seen.add(env_id)


def validate_api(index, api):
    """Every problem of one API resource, as messages naming the item; [] when it is fine.

    ``index`` is its position in ``apis`` (``None`` for a lone resource). Duplicate ids
    across items are checked by ``desired_routes``.
    """
    if not isinstance(api, dict):
        return ["%s must be a dict (an API resource), got %s"
                % ("apis[%s]" % index if index is not None else "api", _show(api))]
    label = _label(index, api)
    problems = []
    api_id = api.get("id")
    if api_id is None:
        problems.append("id is missing")
    elif not isinstance(api_id, str) or not IDENTIFIER_RE.match(api_id):
        problems.append("id %s is not a valid identifier: it must match %s"
                        % (_show(api_id), IDENTIFIER_RE.pattern.replace("\\Z", "$")))
    published = _is_published(api)
    for field in STRING_FIELDS:
        value = api.get(field)
        if field == "id":
            continue
        if field == "req_method" and (published or value is not None):
            if value is None:
                problems.append("req_method is missing (required for a published API)")
            else:
                _check_method(problems, field, value)
        elif field == "req_uri" and (published or value is not None):
            if value is None:
                problems.append("req_uri is missing (required for a published API)")
            else:
                _check_uri(problems, field, value)
        elif value is not None:
            _check_string(problems, field, value)
    if api.get("type") is not None:
        _check_int(problems, "type", api["type"])
    if api.get("cors") is not None and not isinstance(api["cors"], bool):
        problems.append("cors must be true or false, got %s" % _show(api["cors"]))
    if published:
        _check_envs(problems, api)
    backend = api.get("backend_api")
    if backend is not None:
        if not isinstance(backend, dict):
            problems.append("backend_api must be a dict, got %s" % _show(backend))
        else:
            for field in BACKEND_STRING_FIELDS:
                value = backend.get(field)
                name = "backend_api.%s" % field
                if value is None:
                    continue
                if field == "req_method":
                    _check_method(problems, name, value)
                elif field == "req_uri":
                    _check_uri(problems, name, value)
                else:
                    _check_string(problems, name, value)
            for field in BACKEND_INT_FIELDS:
                if backend.get(field) is not None:
                    _check_int(problems, "backend_api.%s" % field, backend[field])
    return ["%s: %s" % (label, p) for p in problems]


def _raise_problems(problems, what):
    shown = problems[:MAX_REPORTED_PROBLEMS]
    more = len(problems) - len(shown)
    msg = "%s refused (%d problem%s): %s%s" % (
        what, len(problems), "" if len(problems) == 1 else "s", "; ".join(shown),
        "; and %d more" % more if more else "")
    raise ValidationError(msg, problems=problems[:50], problem_count=len(problems))


# ---------------------------------------------------------------------------
# records and keys

def _build_record(api):
    """The record of an API already validated by validate_api (None when unpublished)."""
    if not _is_published(api):
        return None
    record = {"schema": SCHEMA}
    for field in STRING_FIELDS:
        if api.get(field) is not None:
            record[field] = api[field]
    if api.get("type") is not None:
        record["type"] = _as_int(api["type"])
    if api.get("cors") is not None:
        record["cors"] = api["cors"]
    parts = _env_parts(api)
    envs = []
    for i, env_id in enumerate(parts["id"]):
        env = {"id": env_id}
        for dummy, target in ENV_PARTS[1:]:
            if target in parts:
                env[target] = parts[target][i]
        envs.append(env)
    record["envs"] = sorted(envs, key=lambda e: e["id"])
    backend = api.get("backend_api")
    if isinstance(backend, dict):
        out = {}
        for field in BACKEND_STRING_FIELDS:
            if backend.get(field) is not None:
                out[field] = backend[field]
        for field in BACKEND_INT_FIELDS:
            if backend.get(field) is not None:
                out[field] = _as_int(backend[field])
        if out:
            record["backend"] = out
    return record


# ---------------------------------------------------------------------------
# the fast path: validate and build in one pass

# Returned by _fast_record when it cannot vouch for an item: validate_api and
# _build_record then decide, and word any problem.
_SLOW = object()
_METHODS = frozenset(REQ_METHODS)
_PLAIN_FIELDS = ("name", "group_id", "group_name", "req_protocol", "match_mode", "auth_type", "backend_type")
_BACKEND_PLAIN_FIELDS = ("req_protocol", "url_domain")


def _str_fits(value, max_bytes):
    """_check_string's verdict on a str, without the message."""
    if value.isascii():  # O(1) in CPython: no surrogate, one byte per character
        return len(value) <= max_bytes
    try:
        return len(value.encode("utf-8")) <= max_bytes
    except UnicodeEncodeError:
        return False


def _fast_int(value):
    if type(value) is int and _INT_MIN <= value <= _INT_MAX:
        return value
    return _as_int(value)


def _fast_parts(value, count):
    """A |-joined publication field split into ``count`` parts; None when absent or empty; else _SLOW."""
    if value is None:
        return None
    if type(value) is not str or not _str_fits(value, MAX_FIELD_BYTES):
        return _SLOW
    if not value:
        return None
    parts = value.split("|")
    return parts if len(parts) == count else _SLOW


def _fast_record(api, _id_match=IDENTIFIER_RE.match, _control=_CONTROL_RE.search):
    """``_build_record(api)`` for a dict that validate_api would find no problem in, else _SLOW.

    Makes the same checks as validate_api, but accepts only exact ``str``/``int``/``dict``
    types and returns _SLOW at the first doubt, so that every item it does not vouch for
    goes through validate_api and _build_record: the records and every error message stay
    theirs. It only has to be a sound subset of validate_api, and build the same record.

    The record's dicts are filled in sorted key order, so that _FAST_ENCODER (which does
    not sort) gives the bytes canonical_json gives.
    """
    get = api.get
    api_id = get("id")
    if type(api_id) is not str or not _id_match(api_id):
        return _SLOW
    run_env_id = get("run_env_id")
    if run_env_id is None:
        published = False
    elif type(run_env_id) is str:
        published = run_env_id != ""
    else:
        return _SLOW
    auth_type = get("auth_type")
    backend_type = get("backend_type")
    group_id = get("group_id")
    group_name = get("group_name")
    match_mode = get("match_mode")
    name = get("name")
    req_protocol = get("req_protocol")
    for value in (auth_type, backend_type, group_id, group_name, match_mode, name, req_protocol):
        if value is not None and (type(value) is not str or not (
                len(value) <= MAX_FIELD_BYTES if value.isascii() else _str_fits(value, MAX_FIELD_BYTES))):
            return _SLOW
    req_method = get("req_method")
    if req_method is not None:
        if type(req_method) is not str or req_method not in _METHODS:
            return _SLOW
    elif published:
        return _SLOW
    req_uri = get("req_uri")
    if req_uri is not None:
        if (type(req_uri) is not str or not _str_fits(req_uri, MAX_URI_BYTES) or req_uri[:1] != "/"
                or _control(req_uri)):
            return _SLOW
    elif published:
        return _SLOW
    api_type = get("type")
    if api_type is not None:
        api_type = _fast_int(api_type)
        if api_type is None:
            return _SLOW
    cors = get("cors")
    if cors is not None and cors is not True and cors is not False:
        return _SLOW
    backend = get("backend_api")
    out = None
    if backend is not None:
        if type(backend) is not dict:
            return _SLOW
        bget = backend.get
        b_method = bget("req_method")
        if b_method is not None and (type(b_method) is not str or b_method not in _METHODS):
            return _SLOW
        b_protocol = bget("req_protocol")
        if b_protocol is not None and (type(b_protocol) is not str or not _str_fits(b_protocol, MAX_FIELD_BYTES)):
            return _SLOW
        b_uri = bget("req_uri")
        if b_uri is not None and (type(b_uri) is not str or not _str_fits(b_uri, MAX_URI_BYTES)
                                  or b_uri[:1] != "/" or _control(b_uri)):
            return _SLOW
        b_retry = bget("retry_count")
        if b_retry is not None:
            b_retry = _fast_int(b_retry)
            if b_retry is None:
                return _SLOW
        b_timeout = bget("timeout")
        if b_timeout is not None:
            b_timeout = _fast_int(b_timeout)
            if b_timeout is None:
                return _SLOW
        b_domain = bget("url_domain")
        if b_domain is not None and (type(b_domain) is not str or not _str_fits(b_domain, MAX_FIELD_BYTES)):
            return _SLOW
        out = {}
        if b_method is not None:
            out["req_method"] = b_method
        if b_protocol is not None:
            out["req_protocol"] = b_protocol
        if b_uri is not None:
            out["req_uri"] = b_uri
        if b_retry is not None:
            out["retry_count"] = b_retry
        if b_timeout is not None:
            out["timeout"] = b_timeout
        if b_domain is not None:
            out["url_domain"] = b_domain
    if not published:
        return None
    # envs: the three fields must be valid strings; the present ones split into as many parts
    # as run_env_id; env ids distinct identifiers.
    if not _str_fits(run_env_id, MAX_FIELD_BYTES):
        return _SLOW
    ids = run_env_id.split("|")
    count = len(ids)
    names = _fast_parts(get("run_env_name"), count)
    publish_ids = _fast_parts(get("publish_id"), count)
    if names is _SLOW or publish_ids is _SLOW:
        return _SLOW
    envs = []
    for i in range(count):
        env_id = ids[i]
        if not _id_match(env_id):
            return _SLOW
        env = {"id": env_id}  # id, name, publish_id: sorted
        if names is not None:
            env["name"] = names[i]
        if publish_ids is not None:
            env["publish_id"] = publish_ids[i]
        envs.append(env)
    if count > 1:
        if len(set(ids)) != count:
            return _SLOW
        envs.sort(key=_env_id)
    # In sorted key order (see the docstring).
    record = {}
    if auth_type is not None:
        record["auth_type"] = auth_type
    if out:
        record["backend"] = out
    if backend_type is not None:
        record["backend_type"] = backend_type
    if cors is not None:
        record["cors"] = cors
    record["envs"] = envs
    if group_id is not None:
        record["group_id"] = group_id
    if group_name is not None:
        record["group_name"] = group_name
    record["id"] = api_id
    if match_mode is not None:
        record["match_mode"] = match_mode
    if name is not None:
        record["name"] = name
    record["req_method"] = req_method
    if req_protocol is not None:
        record["req_protocol"] = req_protocol
    record["req_uri"] = req_uri
    record["schema"] = SCHEMA
    if api_type is not None:
        record["type"] = api_type
    return record


def _env_id(env):
    return env["id"]


def route_record(api):
    """The route record of one API resource (a dict), or None when it is unpublished.

    Raises ValidationError when the resource is malformed (see validate_api).
    """
    record = _fast_record(api) if type(api) is dict else _SLOW
    if record is not _SLOW:
        return record
    problems = validate_api(None, api)
    if problems:
        _raise_problems(problems, "the API resource was")
    return _build_record(api)


def routes_prefix(key_prefix, instance_id):
    """``<key_prefix>/<instance_id>/apis/``: every route key of the instance, and nothing else."""
    return "%s/%s/apis/" % (check_key_prefix(key_prefix), check_identifier("instance_id", instance_id))


def manifest_key(key_prefix, instance_id):
    return "%s/%s/manifest" % (check_key_prefix(key_prefix), check_identifier("instance_id", instance_id))


def route_key(key_prefix, instance_id, api_id):
    return routes_prefix(key_prefix, instance_id) + check_identifier("API id", api_id)


def api_id_of(key):
    """The API id at the end of a route key (str or UTF-8 bytes); ValueError if it is not one."""
    if isinstance(key, bytes):
        key = key.decode("utf-8")
    head, sep, api_id = key.rpartition("/apis/")
    if not sep or not IDENTIFIER_RE.match(api_id):
        raise ValueError("%s is not a route key" % _show(key, 200))
    return api_id


def build_records(apis):
    """{API id: canonical record (bytes)} for the published APIs of ``apis``.

    Records do not depend on the instance: an instance's route keys are its
    ``routes_prefix`` plus the id. Every item is validated before anything is returned;
    all problems are collected and one ValidationError reports the first few and the count.
    """
    if not isinstance(apis, (list, tuple)):
        raise ValidationError("apis must be a list of API resources, got %s" % _show(apis))
    problems = []
    first_index = {}
    routes = {}
    encode = _ENCODER.encode
    fast_encode = _FAST_ENCODER.encode
    fast_record = _fast_record
    for index, api in enumerate(apis):
        record = fast_record(api) if type(api) is dict else _SLOW
        if record is not _SLOW:
            # A valid item (see _fast_record): no problem of its own, its id is an identifier.
            api_id = api["id"]
            dump = fast_encode
        else:
            item_problems = validate_api(index, api)
            problems.extend(item_problems)
            record = None if item_problems else _build_record(api)
            dump = encode
            api_id = api.get("id") if isinstance(api, dict) else None
            if not (isinstance(api_id, str) and IDENTIFIER_RE.match(api_id)):
                continue
        if api_id in first_index:
            problems.append("%s: duplicate id, also at apis[%d]" % (_label(index, api), first_index[api_id]))
            continue
        first_index[api_id] = index
        if record is not None and not problems:
            routes[api_id] = dump(record).encode("utf-8")
    if problems:
        _raise_problems(problems, "the API resources were")
    return routes


def desired_routes(apis, key_prefix, instance_id):
    """{route key (str): canonical record (bytes)}: ``build_records`` under the instance's prefix."""
    prefix = routes_prefix(key_prefix, instance_id)
    return dict((prefix + api_id, value) for api_id, value in build_records(apis).items())


def manifest(routes):
    """``{"schema": 1, "count": n, "sha256": hex}`` for ``routes`` ({key str: value bytes}).

    The digest is SHA-256 over, for each route key in ascending order of its UTF-8 bytes
    (the order etcd lists keys in; the same as code-point order)::

        key (UTF-8) + b"\\n" + value + b"\\n"

    concatenated, with nothing else (no count, no trailing separator); no routes give
    the digest of b"". Keys and canonical JSON values never contain a raw newline, so
    the layout is unambiguous. The gateway, the sync and the info module must all
    compute it this way.
    """
    digest = hashlib.sha256()
    encoded = sorted((key.encode("utf-8"), value) for key, value in routes.items())
    for key, value in encoded:
        if not isinstance(value, bytes):
            raise TypeError("route values must be bytes, got %s for %r" % (type(value).__name__, key))
        digest.update(key + b"\n" + value + b"\n")
    return {"schema": SCHEMA, "count": len(encoded), "sha256": digest.hexdigest()}
