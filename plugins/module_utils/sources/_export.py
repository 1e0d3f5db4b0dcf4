# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""Routes read from etcd written back as a source file: the refresh module's ``backup`` and the
info module's ``dest``.

The file is a ListApisV2 page, ``{"total": n, "apis": [...]}`` with one API resource per
line, which ``src`` reads. Each resource is turned back into exactly the record it came
from: every one is rebuilt with ``build_records`` before anything is written, so a file
that would not restore etcd byte for byte is never written (the error names the route).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import errno
import hashlib
import json
import os
import tempfile

from ansible_collections.apigw.router.plugins.module_utils.common._errors import ValidationError
from ansible_collections.apigw.router.plugins.module_utils.sources._routes import api_id_of, build_records

# The record fields that are an API resource's fields of the same name.
_SAME_NAME = ("id", "name", "group_id", "group_name", "req_protocol", "req_method", "req_uri", "match_mode",
              "auth_type", "backend_type", "type", "cors")
# Written with the routes, ignored by ``src``: where they came from.
EXPORT_KEY = "apigw_router_export"
DEFAULT_BACKUP_DIR = "~/.ansible/apigw_router_backups"
MAX_SAME_STEM = 100  # backups of one instance and scope within one microsecond


def api_resource(record):
    """The API resource (ListApisV2's item shape) that builds ``record`` (a decoded route record)."""
    api = dict((field, record[field]) for field in _SAME_NAME if field in record)
    envs = record.get("envs")
    if envs:
        api["run_env_id"] = "|".join(env["id"] for env in envs)
        for field, source in (("name", "run_env_name"), ("publish_id", "publish_id")):
            if any(field in env for env in envs):
                api[source] = "|".join(env.get(field, "") for env in envs)
    if "backend" in record:
        api["backend_api"] = dict(record["backend"])
    return api


def source_document(routes, about):
    """The bytes of a source file holding ``routes`` ({key bytes: record bytes}), sorted by API id,
    with ``about`` (a dict: instance, scope, revision) under EXPORT_KEY. ValidationError, naming
    the route, for a value that is not a record this collection writes or would not come back
    the same."""
    apis, originals = [], {}
    for key in sorted(routes):
        value = routes[key]
        try:
            api_id = api_id_of(key)
            record = json.loads(value.decode("utf-8"))
            api = api_resource(record)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise ValidationError("route %s holds a value that is not a route record: it cannot be saved in a "
                                  "form src accepts" % key.decode("utf-8", "backslashreplace"))
        apis.append(api)
        originals[api_id] = value
    try:
        rebuilt = build_records(apis)
    except ValidationError as exc:
        raise ValidationError("the routes read cannot be saved in a form src accepts: %s" % exc.msg)
    for api_id, value in originals.items():
        if rebuilt.get(api_id) != value:
            raise ValidationError("route %s would not come back byte for byte from a source file (it was not "
                                  "written by this collection's record builder): not saved" % api_id)
    encode = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    lines = [",\n".join(encode(api) for api in apis)] if apis else []
    head = '{"%s":%s,"total":%d,"apis":[\n' % (EXPORT_KEY, encode(about), len(apis))
    return (head + "".join(lines) + ("\n" if apis else "") + "]}\n").encode("utf-8")


def write_atomically(path, data, mode=0o600):
    """Write ``data`` to ``path`` through a temporary file in its directory and a rename: a reader
    never sees half a file, and an interrupted write leaves none."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".apigw_router.", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _about(instance_id, scope, revision=None):
    about = {"instance_id": instance_id, "scope": {"groups": list(scope.groups)} if scope is not None else None}
    if revision is not None:
        about["revision"] = revision
    return about


def scope_tag(scope):
    """``all``, or ``groups-`` and a short digest of the scope's groups (names may hold any character)."""
    if scope is None:
        return "all"
    return "groups-" + hashlib.sha256("\n".join(scope.groups).encode("utf-8")).hexdigest()[:12]


class Backup(object):
    """The refresh module's ``backup``: one file per sync that writes, in ``directory`` (created
    with mode 0700 when missing), named ``<instance_id>.<scope tag>.<UTC time>.json``."""

    def __init__(self, directory, instance_id, scope):
        self.where = os.path.expanduser(directory or DEFAULT_BACKUP_DIR)
        self.instance_id, self.scope = instance_id, scope

    def __call__(self, routes, path=None):
        """Writes ``routes`` to a new file, or again to ``path`` (the sync re-planned after a conflict)."""
        data = source_document(routes, _about(self.instance_id, self.scope))
        again = path is not None
        try:
            if again:
                return write_atomically(path, data)
            os.makedirs(self.where, mode=0o700, exist_ok=True)
            stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
            path = self._new_file("%s.%s.%s" % (self.instance_id, scope_tag(self.scope), stamp))
            try:
                return write_atomically(path, data)
            except BaseException:
                os.unlink(path)  # the empty file that reserved the name
                raise
        except OSError as exc:
            raise ValidationError("backup_dir %s: the backup cannot be written (%s): %s"
                                  % (self.where, exc.strerror or exc,
                                     "the sync stopped" if again else "nothing was synced"))

    def _new_file(self, stem):
        """A file name of its own (created empty, exclusively): two syncs of one instance id in the
        same microsecond (two key prefixes or clusters, one backup_dir) never overwrite each other."""
        for number in range(MAX_SAME_STEM):
            path = os.path.join(self.where, "%s%s.json" % (stem, "-%d" % number if number else ""))
            try:
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
                return path
            except FileExistsError:
                continue
        raise OSError(errno.EEXIST, "%d backups named %s.json already" % (MAX_SAME_STEM, stem))


class Export(object):
    """The info module's ``dest``: the routes read, as a source file at ``path``, written only when
    its content differs (``changed``); in ``check_mode`` never written."""

    def __init__(self, path, instance_id, scope, check_mode=False):
        self.path = os.path.expanduser(path)
        self.instance_id, self.scope, self.check_mode = instance_id, scope, check_mode
        self.changed = False

    def __call__(self, routes):
        data = source_document(routes, _about(self.instance_id, self.scope))
        try:
            with open(self.path, "rb") as handle:
                self.changed = handle.read(len(data) + 1) != data
        except OSError:
            self.changed = True
        if not self.changed or self.check_mode:
            return self.path
        try:
            return write_atomically(self.path, data, mode=0o644)
        except OSError as exc:
            raise ValidationError("dest %s cannot be written: %s" % (self.path, exc.strerror or exc))
