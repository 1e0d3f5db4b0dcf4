# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The fixed sources of etcd mode: ``apis`` or a ``src`` file (ListApisV2 is sources/_api_source.py).

A fixed source is the same for every instance: it is read, validated and turned into route
records once (``FixedSource``), before anything is sent, and an instance's routes are its key
prefix plus each API id. Only the shape of a file is
checked here (a list of dicts); the fields are checked by ``_routes.build_records``,
which names items by the same indexes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import gc
import json
import os
import stat
import sys
import threading
import traceback

from ansible_collections.apigw.router.plugins.module_utils.common._errors import (
    MissingLibraryError,
    ValidationError,
)
from ansible_collections.apigw.router.plugins.module_utils.sources import _routes
from ansible_collections.apigw.router.plugins.module_utils.common import _validation
from ansible_collections.apigw.router.plugins.module_utils.common._validation import check_dicts, check_list, describe
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import DesiredRoutes, build_records
from ansible_collections.apigw.router.plugins.module_utils.sources._cache import (
    SourceCache, code_fingerprint, default_directory)

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
    return data


def _decode(path, data):
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


def _yaml_version():
    """What may read a file that is not named .json: JSON, then this YAML library (or none)."""
    try:
        yaml = _yaml_module()
    except MissingLibraryError:
        return "json, no yaml"
    return "json, yaml %s %s" % (yaml.__version__, "C" if hasattr(yaml, "CSafeLoader") else "pure")


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


def _check_path(path):
    if not isinstance(path, (str, os.PathLike)):
        raise ValidationError("src must be a path, got %s" % describe(path))
    path = os.fspath(path)
    if not path:
        raise ValidationError("src must not be empty")
    return path


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector held off for the block (as it was after it).

    A parsed source is hundreds of thousands of dicts and lists that all live until the
    records are built, and none is in a reference cycle: the collector would walk them again
    and again and free nothing. Reference counting frees them all the same once dropped.
    Fleet threads may overlap in the block: the collector then resumes when the first leaves.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def keyed(prefix, records):
    """{route key: record}: the instance's routes prefix plus each API id."""
    return dict((prefix + api_id, record) for api_id, record in records.items())


class FixedSource(object):
    """``apis`` or ``src``: validated and built into route records once, for every instance."""

    def __init__(self, apis):
        self.records = build_records(apis)

    def routes(self, target):
        return keyed(target["routes_prefix"], self.records)

    def save(self):
        """Keeps what this run learnt for the next one (only a cached ``src`` learns anything)."""


class FileSource(FixedSource):
    """``src``, with its manifests remembered in a SourceCache (or None).

    On a miss the file is parsed, validated and built at once, before anything is sent,
    as any fixed source. On a hit it was all of that when the entry was written, so the
    records are built only if an instance needs them: one the entry does not know, or one
    whose no-op cannot be proven from etcd. Fleet instances run in threads: hence the lock.
    """

    def __init__(self, path, cache=None):  # pylint: disable=super-init-not-called
        self.path = _check_path(path)
        self._data = _read(self.path)
        self._cache = cache
        self._key = cache.key(self._data) if cache is not None else None
        self._known = cache.load(self._key) if cache is not None else {}
        self._used = {}  # routes prefix -> the DesiredRoutes given for it
        self._lock = threading.Lock()
        self._records = None
        if not self._known:
            self._build()

    def _build(self):
        with self._lock:
            if self._records is None:
                # Each form is dropped as soon as the next exists: for a large source the bytes
                # and the text are each as big as the file, and the peak is the parse.
                with collector_paused():
                    text = _decode(self.path, self._data)
                    self._data = None
                    apis = _items_of(self.path, _parse(self.path, text))
                    del text
                    self._records = build_records(apis)
                    # Freed before the collector resumes: it would otherwise walk it all once more.
                    del apis
            return self._records

    @property
    def records(self):
        return self._records if self._records is not None else self._build()

    def routes(self, target):
        prefix = target["routes_prefix"]
        known = self._known.get(prefix)
        desired = DesiredRoutes(lambda: keyed(prefix, self.records), known)
        with self._lock:
            self._used[prefix] = desired
        return desired

    def save(self):
        if self._cache is None:
            return
        learnt = {}
        for prefix, desired in self._used.items():
            if prefix not in self._known:
                if desired.manifest_at_hand is not None:  # not when the instance failed before
                    learnt[prefix] = desired.manifest_at_hand
            elif desired.manifest_at_hand is not None and desired.manifest_at_hand != self._known[prefix]:
                learnt[prefix] = desired.manifest_at_hand  # a wrong entry, corrected
        if learnt:
            self._cache.save(self._key, learnt)


def fixed_source(params):
    """The FixedSource of ``apis`` or ``src``, or None when the source is ListApisV2."""
    if params.get("apis") is not None:
        return FixedSource(apis_from_param(params["apis"]))
    if params.get("src"):
        path = _check_path(params["src"])
        directory = params.get("source_cache_dir")
        if directory and not os.path.isabs(directory):
            raise ValidationError("source_cache_dir must be an absolute path, not %s" % describe(directory))
        cache = source_cache(path, directory) if params.get("source_cache", True) else None
        return FileSource(path, cache)
    return None


def source_cache(path, directory=None):
    """The SourceCache for ``path`` in ``directory`` (``source_cache_dir``), else in the user's
    cache directory; None when it cannot be used."""
    directory = directory or default_directory()
    if directory is None:
        return None
    extra = ["json" if path.lower().endswith(JSON_SUFFIXES) else _yaml_version()]
    code = code_fingerprint([_validation, _routes, sys.modules[__name__]], extra)
    return SourceCache(directory, code) if code else None
