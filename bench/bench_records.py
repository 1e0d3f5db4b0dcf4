# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark of the record builder: _routes.build_records + manifest, in process.

Prints, for each size, the best of N runs of building the canonical records of a
generated list of API resources (bench/datagen.py) and of computing the manifest of one
instance's routes. With ``--ref REF`` (repeatable) it also times sources/_routes.py as it was
at that git ref, loaded from ``git show REF:plugins/module_utils/sources/_routes.py`` as a
module of its own beside the working tree's collection, so before and after appear
side by side in one run (a ref without ``build_records`` is timed through
``desired_routes``). Every implementation must produce the same bytes: the run stops
if they differ.

    python bench/bench_records.py [--sizes 10000,50000] [--repeat 5] [--ref main] [--ref HEAD~3]
"""

from __future__ import absolute_import, division, print_function

import argparse
import gc
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUTES_PATH = "plugins/module_utils/sources/_routes.py"
PREFIX = "/apig/router"
INSTANCE = "bench-1"


def _collection_on_path(tmp):
    """Make ``ansible_collections.apigw.router`` import from this checkout."""
    base = os.path.join(tmp, "collections")
    os.makedirs(os.path.join(base, "ansible_collections", "apigw"))
    os.symlink(ROOT, os.path.join(base, "ansible_collections", "apigw", "router"))
    sys.path.insert(0, base)


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load_ref(tmp, ref):
    """sources/_routes.py at git ``ref``, as a module importing the rest of the working tree's collection."""
    source = subprocess.check_output(["git", "-C", ROOT, "show", "%s:%s" % (ref, ROUTES_PATH)])
    path = os.path.join(tmp, "routes_at_%d.py" % abs(hash(ref)))
    with open(path, "wb") as f:
        f.write(source)
    return _load("routes_at_%d" % abs(hash(ref)), path)


def _builder(module):
    """apis -> {route key: bytes} for one instance, with whatever the module offers."""
    build = getattr(module, "build_records", None)
    if build is None:
        return lambda apis: module.desired_routes(apis, PREFIX, INSTANCE)
    prefix = module.routes_prefix(PREFIX, INSTANCE)
    return lambda apis: dict((prefix + api_id, value) for api_id, value in build(apis).items())


def _timed(func, arg):
    """(wall seconds, CPU seconds of this process, result) of one call."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = func(arg)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10000,50000", help="comma-separated API counts")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the best is printed")
    parser.add_argument("--ref", action="append", default=[], help="also time sources/_routes.py at this git ref")
    args = parser.parse_args(argv)

    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import datagen  # bench/datagen.py: the bench's API resources

    tmp = tempfile.mkdtemp(prefix="bench-records-")
    _collection_on_path(tmp)
    from ansible_collections.apigw.router.plugins.module_utils.sources import _routes

    impls = [("working tree", _routes)] + [("at %s" % ref, _load_ref(tmp, ref)) for ref in args.ref]
    print("build_records + manifest of one instance, best of %d rounds (Python %s); seconds, wall clock"
          " and CPU time of this process" % (args.repeat, sys.version.split()[0]))
    print("%-8s %-18s %9s %9s %9s %9s %9s %9s" % ("APIs", "implementation", "build", "manifest", "total",
                                                  "build cpu", "man. cpu", "total cpu"))
    for size in [int(s) for s in args.sizes.split(",")]:
        apis = datagen.generate(size)
        # Implementations take turns within each round, so that a busy machine slows them alike;
        # the best round of each is printed.
        best = dict((label, [None] * 4) for label, dummy in impls)
        reference = None
        for dummy in range(args.repeat):
            for label, module in impls:
                build_wall, build_cpu, routes = _timed(_builder(module), apis)
                manifest_wall, manifest_cpu, dummy = _timed(module.manifest, routes)
                if reference is None:
                    reference = routes
                elif routes != reference:
                    sys.exit("%s builds other bytes than the working tree: not comparable" % label)
                figures = best[label]
                for i, value in enumerate((build_wall, manifest_wall, build_cpu, manifest_cpu)):
                    figures[i] = value if figures[i] is None else min(figures[i], value)
        for label, dummy in impls:
            build_wall, manifest_wall, build_cpu, manifest_cpu = best[label]
            print("%-8d %-18s %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f" % (
                size, label[:18], build_wall, manifest_wall, build_wall + manifest_wall,
                build_cpu, manifest_cpu, build_cpu + manifest_cpu))
    return 0


SECTION = "records"
HELP = "record builder (build_records + manifest) in process, current vs --baseline REF"
DEFAULT = False
ORDER = 40


def run(ctx):
    """As a section of bench/run.py: the shared --sizes and --repeat, and the --baseline ref."""
    args = ctx.args
    argv = ["--sizes", ",".join(str(n) for n in args.sizes), "--repeat", str(max(args.repeat, 2))]
    if getattr(args, "baseline", None):
        argv += ["--ref", args.baseline]
    print("\n== Section records: the record builder alone, current tree vs %s" % args.baseline)
    main(argv)


if __name__ == "__main__":
    sys.exit(main())
