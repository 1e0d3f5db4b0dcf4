# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark of the record builder: _routes.build_records + manifest, without Ansible.

Prints, for each size, the best of N runs of building the canonical records of a
generated list of API resources (bench/datagen.py) and of computing the manifest of one
instance's routes. With ``--ref REF`` (repeatable) it also times the collection as it was
at that git ref (installed by ``common.collection_at``), so before and after appear side by
side in one run. Each run is a fresh worker process with one version on ``sys.path``; the
versions take turns within each round, so that a busy machine slows them alike. Every
version must produce the same bytes: the run stops if they differ.

    python bench/bench_records.py [--sizes 10000,50000] [--repeat 5] [--ref main] [--ref HEAD~3]
"""

from __future__ import absolute_import, division, print_function

import argparse
import gc
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "/apig/router"
INSTANCE = "bench-1"


def _worker(tree, size):
    """Time one build + manifest of ``size`` APIs with the collection in ``tree``; print JSON."""
    sys.path.insert(0, tree)
    import datagen  # bench/datagen.py: the bench's API resources
    from common import import_module_utils
    routes = import_module_utils("sources._routes", "_routes")
    apis = datagen.generate(size)

    def build():
        if not hasattr(routes, "build_records"):  # 0.1.0
            return routes.desired_routes(apis, PREFIX, INSTANCE)
        prefix = routes.routes_prefix(PREFIX, INSTANCE)
        return dict((prefix + api_id, value) for api_id, value in routes.build_records(apis).items())

    gc.collect()
    figures = {}
    wall, cpu = time.perf_counter(), time.process_time()
    desired = build()
    figures["build"], figures["build_cpu"] = time.perf_counter() - wall, time.process_time() - cpu
    wall, cpu = time.perf_counter(), time.process_time()
    manifest = routes.manifest(desired)
    figures["manifest"], figures["manifest_cpu"] = time.perf_counter() - wall, time.process_time() - cpu
    figures["sha256"] = manifest["sha256"]  # the digest of every key and record: equal bytes, equal digest
    print(json.dumps(figures))


def _measure(tree, size):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", tree, str(size)],
                         check=True, stdout=subprocess.PIPE, universal_newlines=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10000,50000", help="comma-separated API counts")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure; the best is printed")
    parser.add_argument("--ref", action="append", default=[], help="also time the collection at this git ref")
    parser.add_argument("--worker", nargs=2, metavar=("TREE", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker[0], int(args.worker[1]))

    from common import collection_at
    versions = [("working tree", os.path.join(ROOT, "build", "dev"))]
    versions += [("at %s" % ref, str(collection_at(ref)[1])) for ref in args.ref]
    print("build_records + manifest of one instance, best of %d rounds (Python %s); seconds, wall clock"
          " and CPU time of the worker process" % (args.repeat, sys.version.split()[0]))
    print("%-8s %-18s %9s %9s %9s %9s %9s %9s" % ("APIs", "implementation", "build", "manifest", "total",
                                                  "build cpu", "man. cpu", "total cpu"))
    keys = ("build", "manifest", "build_cpu", "manifest_cpu")
    for size in [int(s) for s in args.sizes.split(",")]:
        best = dict((label, dict.fromkeys(keys, float("inf"))) for label, dummy in versions)
        digests = set()
        for dummy in range(args.repeat):
            for label, tree in versions:
                figures = _measure(tree, size)
                digests.add(figures["sha256"])
                if len(digests) > 1:
                    sys.exit("%s builds other bytes than the working tree: not comparable" % label)
                for key in keys:
                    best[label][key] = min(best[label][key], figures[key])
        for label, dummy in versions:
            b = best[label]
            print("%-8d %-18s %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f" % (
                size, label[:18], b["build"], b["manifest"], b["build"] + b["manifest"],
                b["build_cpu"], b["manifest_cpu"], b["build_cpu"] + b["manifest_cpu"]))
        sys.stdout.flush()
    return 0


SECTION = "records"
HELP = "record builder (build_records + manifest) without Ansible, current vs --baseline REF"
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
