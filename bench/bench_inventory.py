#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright: apigw.router contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark of the apig_instances inventory plugin; prints figures, asserts nothing.

1. ``ansible-inventory --list`` of a 5,000-instance fleet (10 pages of 500, every request
   delayed 20 ms by the simulator) against ``ansible-inventory --list`` of an empty
   inventory: the plugin's own cost. Target: within 2 s beyond the empty run.
2. ``include_details`` on a smaller fleet: the extra time against its ideal at the given
   concurrency, ceil(n / concurrency) x latency. Target: within 2x of the ideal.

Each figure is the median of --repeat runs. Run after hack/bootstrap.sh:
    .venv/bin/python bench/bench_inventory.py [--instances 5000] [--details-instances 400]
"""

from __future__ import absolute_import, division, print_function

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "support"))
sys.path.insert(0, str(REPO / "tools"))

from apigw_support.simulator import Simulator  # noqa: E402  (needs the path above)

TOKEN = "MIIbench-inventory-token"
PROJECT, DETAILS_PROJECT = "bench0000000000000000000000000001", "bench0000000000000000000000000002"
COLLECTIONS = REPO / "build" / "collections"


def sim_config(instances, details_instances, latency_ms):
    return {
        "projects": [
            {"id": PROJECT, "name": "cn-north-4", "latency_ms": latency_ms,
             "generate_instances": {"count": instances, "seed": 1}},
            {"id": DETAILS_PROJECT, "name": "cn-south-1", "latency_ms": latency_ms,
             "generate_instances": {"count": details_instances, "seed": 2, "latency_ms": latency_ms}},
        ],
        "credentials": {"tokens": [{"name": "bench", "token": TOKEN, "roles": ["op_svc_apig"]}]},
    }


def env(workdir):
    out = dict((k, v) for k, v in os.environ.items() if not k.startswith("ANSIBLE_"))
    cfg = workdir / "ansible.cfg"
    cfg.write_text("")
    out.update({"ANSIBLE_CONFIG": str(cfg), "ANSIBLE_HOME": str(workdir / "home"),
                "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
                "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "LC_ALL": "C.UTF-8"})
    return out


def timed_list(source, workdir):
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i", str(source), "--list"]
    start = time.monotonic()
    done = subprocess.run(command, env=env(workdir), capture_output=True, text=True, timeout=900, check=False)
    elapsed = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit("ansible-inventory failed:\n%s" % done.stderr[-2000:])
    return elapsed, done.stdout


def median_of(repeat, fn):
    return statistics.median(fn() for _run in range(repeat))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--details-instances", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    latency = args.latency_ms / 1000.0

    workdir = Path(tempfile.mkdtemp(prefix="bench_inventory_"))
    empty = workdir / "empty.yml"
    empty.write_text("all: {}\n")
    with Simulator(sim_config(args.instances, args.details_instances, args.latency_ms),
                   workdir=workdir / "sim", startup_timeout=180) as sim:
        def source(name, region, **options):
            config = {"plugin": "apigw.router.apig_instances", "auth_token": TOKEN, "statuses": ["all"],
                      "regions": [{"name": region, "endpoint": sim.url, "project_id": project_of[region]}]}
            config.update(options)
            path = workdir / name
            path.write_text(yaml.safe_dump(config))
            return path
        project_of = {"cn-north-4": PROJECT, "cn-south-1": DETAILS_PROJECT}
        fleet = source("fleet.apig_instances.yml", "cn-north-4")
        plain = source("plain.apig_instances.yml", "cn-south-1")
        details = source("details.apig_instances.yml", "cn-south-1", include_details=True,
                         details_concurrency=args.concurrency)

        timed_list(empty, workdir)                      # warm the caches of the file system
        t_empty = median_of(args.repeat, lambda: timed_list(empty, workdir)[0])
        sim.reset()
        t_fleet = median_of(args.repeat, lambda: timed_list(fleet, workdir)[0])
        pages = sum(1 for e in sim.requests() if e["resource"] == "list_instances") // args.repeat
        _elapsed, listing = timed_list(fleet, workdir)
        hosts = len(yaml.safe_load(listing)["_meta"]["hostvars"])
        t_plain = median_of(args.repeat, lambda: timed_list(plain, workdir)[0])
        t_details = median_of(args.repeat, lambda: timed_list(details, workdir)[0])

    extra = t_fleet - t_empty
    details_extra = t_details - t_plain
    ideal = math.ceil(args.details_instances / float(args.concurrency)) * latency
    rows = [
        ("ansible-inventory --list, empty inventory", "%.2f s" % t_empty, ""),
        ("ansible-inventory --list, %d instances (%d pages, %.0f ms/request)" % (hosts, pages, args.latency_ms),
         "%.2f s" % t_fleet, "+%.2f s beyond empty (target <= 2 s)" % extra),
        ("include_details: %d instances at concurrency %d" % (args.details_instances, args.concurrency),
         "+%.2f s over the list alone" % details_extra,
         "ideal %.2f s, ratio %.2fx (target <= 2x)" % (ideal, details_extra / ideal if ideal else float("nan"))),
    ]
    width = max(len(r[0]) for r in rows)
    print("bench_inventory (median of %d runs; load average %s)" % (args.repeat, " ".join(
        "%.1f" % x for x in os.getloadavg())))
    for name, figure, note in rows:
        print("  %-*s  %-28s %s" % (width, name, figure, note))


if __name__ == "__main__":
    main()
