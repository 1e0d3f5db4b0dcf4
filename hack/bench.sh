#!/usr/bin/env bash
# Benchmarks: etcd sync (1k/10k/50k routes through ansible-playbook against a real etcd,
# versus the raw client libraries) and fleet refresh (1,000 simulated instances).
# Bootstraps first (venv, installed collection), then runs bench/run.py (the driver: every
# bench/bench_<topic>.py that defines SECTION is a section) with the arguments given, e.g.:
#   hack/bench.sh --list   hack/bench.sh --quick   hack/bench.sh --sections etcd --sizes 10000
#   hack/bench.sh --report      # the performance targets, 0.1.0 vs now, into build/bench/report.md
# make bench ARGS="..." passes the same arguments.
# See docs/BENCHMARK.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/bootstrap.sh
exec .venv/bin/python bench/run.py "$@"
