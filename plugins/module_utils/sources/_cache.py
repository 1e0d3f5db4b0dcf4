# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file is private to this collection: its API may change without notice.

"""The manifests a ``src`` file gives, remembered between runs on the host that runs the module.

Why: a re-sync of an unchanged source onto an unchanged etcd is proven a no-op with three
small reads, but those need the manifest the source gives (count and digest of every
route), and computing it means parsing the file, validating every API and building every
record: for a large source that is most of the run. Hashing the file costs a small fraction of it.

The key is SHA-256 over the file's bytes and over what turns them into records: the source
text of the modules that parse, validate and build them, the Python version, and the YAML
library for a file that may be read as YAML. A change to any of them is a miss. An entry
holds, per routes prefix (``<key_prefix>/<instance_id>/apis/``), the manifest the source
gives there; it is written only for a file that was parsed and validated in full.

A hit supplies nothing but the *expected* manifest: the sync still stops only when etcd
holds exactly that manifest and no key under the prefix changed after it was written, and
otherwise builds the records and compares values as without a cache. An entry that cannot
be read or does not have the expected shape is a miss; a cache that cannot be written is
skipped. Nothing secret goes into it (ids of instances appear in the prefixes).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import json
import os
import re
import sys
import tempfile

FORMAT = 1
# Bounds: entries (one per distinct source file content) and routes prefixes per entry.
MAX_ENTRIES = 64
MAX_PREFIXES = 10000
MAX_ENTRY_BYTES = 4 * 1024 * 1024

_HEX64 = re.compile(r"^[0-9a-f]{64}\Z")


def default_directory():
    """``$XDG_CACHE_HOME/apigw.router/sources``, else ``~/.cache/apigw.router/sources``; None without a home."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base or not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not home or home == "~" or not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "apigw.router", "sources")


def code_fingerprint(modules, extra=()):
    """SHA-256 over the source text of ``modules`` and ``extra`` strings; None when a source
    cannot be read (then nothing is cached: an entry must never outlive the code that made it)."""
    digest = hashlib.sha256()
    digest.update(("%d.%d\n" % sys.version_info[:2]).encode("ascii"))
    for text in extra:
        digest.update(text.encode("utf-8") + b"\n")
    for module in modules:
        # The loader's source text, as inspect.getsource would read it (without importing
        # inspect, which is slow to import); from a file, or from the zip Ansible runs the module from.
        loader = getattr(module, "__loader__", None)
        try:
            text = loader.get_source(module.__name__) if loader is not None else None
        except (ImportError, OSError):
            text = None
        if not text:
            return None
        if not isinstance(text, bytes):  # Ansible's own collection loader gives bytes
            text = text.encode("utf-8")
        digest.update(module.__name__.encode("utf-8") + b"\n" + text + b"\n")
    return digest.hexdigest()


def _valid_manifest(value):
    ints = [value.get(k) for k in ("schema", "count")] if isinstance(value, dict) else []
    return (isinstance(value, dict) and set(value) == {"schema", "count", "sha256"}
            and all(isinstance(v, int) and not isinstance(v, bool) for v in ints) and value["count"] >= 0
            and isinstance(value["sha256"], str) and _HEX64.match(value["sha256"]) is not None)


class SourceCache(object):
    """Entries under ``directory``, one file per key, each ``{"format": 1, "manifests": {prefix: manifest}}``."""

    def __init__(self, directory, code):
        self.directory = directory
        self._code = code

    def key(self, data):
        """The key of a file's bytes under this code."""
        digest = hashlib.sha256(self._code.encode("ascii") + b"\n")
        digest.update(data)
        return digest.hexdigest()

    def _path(self, key):
        return os.path.join(self.directory, key + ".json")

    def load(self, key):
        """{routes prefix: manifest} of the entry; {} when there is none or it is not valid."""
        try:
            with open(self._path(key), "rb") as f:
                raw = f.read(MAX_ENTRY_BYTES + 1)
            doc = json.loads(raw.decode("utf-8"))
        except (OSError, ValueError):
            return {}
        if (len(raw) > MAX_ENTRY_BYTES or not isinstance(doc, dict) or doc.get("format") != FORMAT
                or not isinstance(doc.get("manifests"), dict)):
            return {}
        manifests = doc["manifests"]
        if not all(isinstance(prefix, str) and _valid_manifest(m) for prefix, m in manifests.items()):
            return {}
        return manifests

    def save(self, key, manifests):
        """Adds ``manifests`` to the entry (written whole, atomically); failures are ignored."""
        try:
            self._save(key, manifests)
        except (OSError, ValueError):
            pass  # a cache that cannot be written only costs the next run its fast path

    def _save(self, key, manifests):
        merged = self.load(key)
        if all(merged.get(prefix) == m for prefix, m in manifests.items()):
            return
        merged.update(manifests)
        if len(merged) > MAX_PREFIXES:
            merged = dict(manifests) if len(manifests) <= MAX_PREFIXES else {}
        if not merged:
            return
        data = json.dumps({"format": FORMAT, "manifests": merged}, sort_keys=True, separators=(",", ":"))
        if len(data) > MAX_ENTRY_BYTES:
            return
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.directory)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(data)
            os.replace(tmp, self._path(key))
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self._trim(key)

    def _trim(self, keep):
        """Removes the least recently written entries beyond MAX_ENTRIES (never ``keep``)."""
        entries = []
        for name in os.listdir(self.directory):
            path = os.path.join(self.directory, name)
            if name.endswith(".json") and _HEX64.match(name[:-5]) and name[:-5] != keep:
                try:
                    entries.append((os.stat(path).st_mtime, path))
                except OSError:
                    pass
        entries.sort()
        for _mtime, path in entries[:max(0, len(entries) + 1 - MAX_ENTRIES)]:
            try:
                os.unlink(path)
            except OSError:
                pass
