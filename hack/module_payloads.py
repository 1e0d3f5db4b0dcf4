#!/usr/bin/env python
"""Each module's AnsiballZ payload and the import time of the module_utils it ships.

Usage: python hack/module_payloads.py COLLECTIONS_ROOT [--repeat N]
COLLECTIONS_ROOT holds ansible_collections/apigw/router (an installed or a checked-out tree).
The payload is built by ansible-core's own recursive_finder (what AnsiballZ zips, deflated as
ansible's default module_compression does). The import time (CPU time, less disturbed by a busy
machine than wall time) is the best of N fresh
interpreters importing, from that zip as AnsiballZ does (zipimport: compiled from source every
time, no bytecode cache), what the module imports when it runs (see ROWS), after
ansible.module_utils.basic (which every module imports, not counted).
"""

from __future__ import annotations

import argparse
import ast
import datetime
import io
import os
import subprocess
import shutil
import sys
import tempfile
import zipfile

PREFIX = "ansible_collections/apigw/router/plugins/module_utils/"


def payload(root, name, keep=None):
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
    if keep:
        with open(keep, "wb") as f:
            f.write(out.getvalue())
    return len(out.getvalue()), ours, ours_bytes


IMPORT = r'''
import sys, time
sys.path.insert(0, sys.argv[1])
sys.dont_write_bytecode = True
import ansible.module_utils.basic  # every module's, ours or not: not counted
t = time.process_time()
for name in sys.argv[2:]:
    __import__(name)
print(time.process_time() - t)
'''

# What a module imports when it runs: its file's top-level module_utils imports, and for
# the refresh module the run of the chosen mode (imported in main()).
ROWS = [("apigw_iam_token", None), ("apigw_router_info", None),
        ("apigw_router_refresh", "mode api: runs._api_mode"), ("apigw_router_refresh", "mode etcd: runs._etcd_mode")]


def imported(root, name, run):
    path = os.path.join(root, "ansible_collections/apigw/router/plugins/modules/%s.py" % name)
    with open(path) as f:
        tree = ast.parse(f.read())
    names = [node.module for node in tree.body
             if isinstance(node, ast.ImportFrom) and node.module and "module_utils" in node.module]
    if run:
        module = PREFIX.replace("/", ".") + run.split(": ")[1]
        if os.path.exists(os.path.join(root, module.replace(".", "/") + ".py")):
            names.append(module)
    return names


def import_time(names, zip_path, repeat):
    env = dict((k, v) for k, v in os.environ.items() if k != "PYTHONPATH")
    return min(float(subprocess.check_output([sys.executable, "-I", "-c", IMPORT, zip_path] + names, env=env))
               for repeat_index in range(repeat))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
    _AnsibleCollectionFinder(paths=[root])._install()
    print("| module | payload zip (bytes) | collection module_utils: files, bytes | import time (ms CPU) |")
    print("|---|---|---|---|")
    workdir = tempfile.mkdtemp(prefix="module_payloads.")
    for name, run in ROWS:
        zip_path = os.path.join(workdir, name + ".zip")
        size, ours, ours_bytes = payload(root, name, keep=zip_path)
        ms = import_time(imported(root, name, run), zip_path, args.repeat) * 1000
        print("| %s | %d | %d, %d | %.1f |" % (name + (" (%s)" % run if run else ""), size, len(ours), ours_bytes, ms))
        print("%s: %s" % (name, " ".join(ours)), file=sys.stderr)
    shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
