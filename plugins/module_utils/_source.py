# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Where the API resources of etcd mode come from: ``apis``, a ``src`` file, or ListApisV2.

A fixed source (``apis`` or ``src``) is the same for every instance: it is read, validated
and turned into route records once (``FixedSource``), before anything is sent, and an
instance's routes are its key prefix plus each API id. Without one, each instance's own
APIs are read from ListApisV2 (``ManagementApiSource``). Only the shape of a file is
checked here (a list of dicts); the fields are checked by ``_routes.build_records``,
which names items by the same indexes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import stat
import traceback

from ansible_collections.apigw.router.plugins.module_utils._errors import (
    MissingLibraryError,
    ValidationError,
)
from ansible_collections.apigw.router.plugins.module_utils._validation import check_dicts, check_list, describe
from ansible_collections.apigw.router.plugins.module_utils._router_api import RouterApi
from ansible_collections.apigw.router.plugins.module_utils._routes import build_records

MAX_SRC_BYTES = 256 * 1024 * 1024
JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yml", ".yaml")


def apis_from_param(value):
    """The ``apis`` option checked to be a list of dicts."""
    return check_dicts(check_list("apis must be a list of API resources", value), "apis")


def _read(path):
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ValidationError("src %s does not exist" % path)
    except OSError as e:
        raise ValidationError("src %s cannot be read: %s" % (path, e.strerror or e))
    if stat.S_ISDIR(st.st_mode):
        raise ValidationError("src %s is a directory, not a file" % path)
    if not stat.S_ISREG(st.st_mode):
        raise ValidationError("src %s is not a regular file" % path)
    if st.st_size > MAX_SRC_BYTES:
        raise ValidationError("src %s is %d bytes: at most %d are accepted" % (path, st.st_size, MAX_SRC_BYTES))
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SRC_BYTES + 1)
    except OSError as e:
        raise ValidationError("src %s cannot be read: %s" % (path, e.strerror or e))
    if len(data) > MAX_SRC_BYTES:
        raise ValidationError("src %s is over %d bytes: refused" % (path, MAX_SRC_BYTES))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        offset = e.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise ValidationError("src %s is not valid UTF-8: byte offset %d (line %d)" % (path, offset, line))


def _parse_json(path, text):
    try:
        return json.loads(text)
    except ValueError as e:  # json.JSONDecodeError
        if hasattr(e, "lineno"):
            raise ValidationError("src %s is not valid JSON: line %d, column %d: %s"
                                  % (path, e.lineno, e.colno, e.msg), line=e.lineno, column=e.colno)
        raise ValidationError("src %s is not valid JSON: %s" % (path, e))
    except RecursionError:
        raise ValidationError("src %s is nested too deeply" % path)


def _yaml_module():
    try:
        import yaml
    except ImportError:
        raise MissingLibraryError("PyYAML", traceback.format_exc(), reason="to read a YAML src")
    return yaml


def _parse_yaml(path, text):
    yaml = _yaml_module()
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = " ".join(p for p in (getattr(e, "context", None), getattr(e, "problem", None)) if p)
        if mark is not None:
            raise ValidationError("src %s is not valid YAML: line %d, column %d: %s"
                                  % (path, mark.line + 1, mark.column + 1, problem or e),
                                  line=mark.line + 1, column=mark.column + 1)
        raise ValidationError("src %s is not valid YAML: %s" % (path, problem or e))
    except RecursionError:
        raise ValidationError("src %s is nested too deeply" % path)
    except MemoryError:
        raise
    except Exception as e:
        # PyYAML's constructors fail on some tagged or odd scalars with plain exceptions
        # (ValueError for the date 2020-13-45, AttributeError for '!!timestamp x').
        raise ValidationError("src %s is not valid YAML: a value cannot be built (%s: %s)"
                              % (path, type(e).__name__, str(e)[:200]))


def _looks_like_json(text):
    stripped = text.lstrip()
    return stripped[:1] in ("[", "{")


def _parse(path, text):
    lower = path.lower()
    if lower.endswith(JSON_SUFFIXES):
        return _parse_json(path, text)
    if lower.endswith(YAML_SUFFIXES):
        return _parse_yaml(path, text)
    # Unknown suffix: JSON first (no library needed), then YAML (a superset, mostly).
    try:
        return _parse_json(path, text)
    except ValidationError as json_error:
        try:
            return _parse_yaml(path, text)
        except MissingLibraryError:
            if _looks_like_json(text):
                raise json_error
            raise
        except ValidationError:
            if _looks_like_json(text):
                raise json_error
            raise


def _items_of(path, doc):
    if isinstance(doc, list):
        return check_dicts(doc, "src %s: apis" % path)
    if isinstance(doc, dict) and "apis" in doc:
        apis = check_list("src %s: 'apis' must be a list" % path, doc["apis"])
        total = doc.get("total")
        if total is not None:
            if isinstance(total, bool) or not isinstance(total, int):
                raise ValidationError("src %s: 'total' must be an integer, got %s" % (path, describe(total)))
            # A saved first page of many would make a pruning sync delete the rest.
            if total > len(apis):
                raise ValidationError(
                    "src %s is one ListApisV2 page of several: total is %d but it holds %d APIs; "
                    "merge all pages into one list" % (path, total, len(apis)))
        return check_dicts(apis, "src %s: apis" % path)
    if doc is None:
        raise ValidationError("src %s is empty: expected a list of API resources or a ListApisV2 page" % path)
    raise ValidationError("src %s holds %s: expected a list of API resources or a ListApisV2 page "
                          "({\"total\": ..., \"apis\": [...]})" % (path, describe(doc)))


def load_src(path):
    """The API resources in a JSON or YAML file: a list, or a ListApisV2 page.

    ``.json`` is read as JSON, ``.yml``/``.yaml`` as YAML (PyYAML), anything else as
    JSON, then YAML. Every failure is a ValidationError naming the path (and the line
    and column of a parse error).
    """
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError("src must be a path, got %s" % describe(path))
    path = os.fspath(path)
    if not path:
        raise ValidationError("src must not be empty")
    return _items_of(path, _parse(path, _read(path)))


def keyed(prefix, records):
    """{route key: record}: the instance's routes prefix plus each API id."""
    return dict((prefix + api_id, record) for api_id, record in records.items())


class FixedSource(object):
    """``apis`` or ``src``: validated and built into route records once, for every instance."""

    from_api = False

    def __init__(self, apis):
        self.records = build_records(apis)

    def routes(self, target):
        return keyed(target["routes_prefix"], self.records)


class ManagementApiSource(object):
    """Each instance's own APIs, read from ListApisV2 through a ClientPool."""

    from_api = True

    def __init__(self, pool):
        self.pool = pool

    def routes(self, target):
        api = RouterApi(self.pool.get(target["base_url"]), target["project_id"])
        return keyed(target["routes_prefix"], build_records(list(api.iter_apis(target["instance_id"]))))


def fixed_source(params):
    """The FixedSource of ``apis`` or ``src``, or None when the source is ListApisV2."""
    if params.get("apis") is not None:
        return FixedSource(apis_from_param(params["apis"]))
    if params.get("src"):
        return FixedSource(load_src(params["src"]))
    return None
