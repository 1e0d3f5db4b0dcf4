#!/usr/bin/env python
"""Each module's AnsiballZ payload and the import time of the module_utils it ships.

Usage: python hack/module_payloads.py COLLECTIONS_ROOT [--repeat N]
COLLECTIONS_ROOT holds ansible_collections/apigw/router (an installed or a checked-out tree).
The payload is built by ansible-core's own recursive_finder (what AnsiballZ zips, deflated as
ansible's default module_compression does); the import time is the best of N fresh
interpreters importing the module file's module_utils imports, after ansible.module_utils.basic
(which every module imports).
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import subprocess
import sys
import zipfile

MODULES = ("apigw_iam_token", "apigw_router_info", "apigw_router_refresh")
PREFIX = "ansible_collections/apigw/router/plugins/module_utils/"


def payload(root, name):
    from ansible.executor import module_common
    from ansible.executor.module_common import _builder
    from ansible._internal._datatag import _tags
    path = os.path.join(root, "ansible_collections/apigw/router/plugins/modules/%s.py" % name)
    with open(path, "rb") as f:
        data = f.read()
    out = io.BytesIO()
    zf = zipfile.ZipFile(out, mode="w", compression=zipfile.ZIP_DEFLATED)
    module_common.recursive_finder(name, "ansible_collections.apigw.router.plugins.modules." + name,
                                   _tags.Origin(path=path).tag(data), zf,
                                   datetime.datetime.now(datetime.timezone.utc),
                                   _builder.ExtensionManager.create(task_vars={}))
    ours = sorted(n[len(PREFIX):] for n in zf.namelist() if n.startswith(PREFIX) and not n.endswith("__init__.py"))
    ours_bytes = sum(zf.getinfo(PREFIX + n).file_size for n in ours)
    zf.close()
    return len(out.getvalue()), ours, ours_bytes


IMPORT = r'''
import ast, sys, time
tree = ast.parse(open(sys.argv[1]).read())
import ansible.module_utils.basic  # every module's, ours or not: not counted
names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module and "module_utils" in n.module]
t = time.perf_counter()
for name in names:
    __import__(name)
print(time.perf_counter() - t)
'''


def import_time(root, name, repeat):
    path = os.path.join(root, "ansible_collections/apigw/router/plugins/modules/%s.py" % name)
    env = dict(os.environ, PYTHONPATH=root, PYTHONDONTWRITEBYTECODE="")
    best = None
    for _ in range(repeat + 1):  # the first run writes the bytecode caches
        t = float(subprocess.check_output([sys.executable, "-c", IMPORT, path], env=env))
        best = t if best is None else min(best, t)
    return best


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[root])._install()
    print("| module | payload zip (bytes) | collection module_utils: files, bytes | import time (ms) |")
    print("|---|---|---|---|")
    for name in MODULES:
        size, ours, ours_bytes = payload(root, name)
        ms = import_time(root, name, args.repeat) * 1000
        print("| %s | %d | %d, %d | %.1f |" % (name, size, len(ours), ours_bytes, ms))
        print("|   | files: %s | | |" % " ".join(ours), file=sys.stderr)


if __name__ == "__main__":
    main()
