#!/usr/bin/env bash
# Everything CI runs: bootstrap, sanity, unit tests, integration tests, changelog lint, the
# ecosystem's judges (ansible-lint production, galaxy-importer; ansible-builder is an integration
# test), the docs site (make docs) and the oldest cell of the tested matrix (the newest is the main
# suite): ansible-core 2.16 with the modules on RHEL 9's Python and packages (nox -s host-rhel9),
# and the etcd suites against the second etcd server version (etcd 3.4).
# Every stage runs even when an earlier one failed (except bootstrap, which they all need);
# a summary with durations comes last and the exit code is non-zero if any stage failed.
# pytest's exit code 5 ("no tests collected") is a failure like any other.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
PY=.venv/bin/python

declare -a summary=()
failed=0

stage() {
  local name=$1 start rc note=''
  shift
  echo
  echo "=== $name: $*"
  start=$(date +%s)
  "$@"
  rc=$?
  local took=$(($(date +%s) - start))
  if [ "$rc" -eq 0 ]; then
    summary+=("$(printf '  %-12s PASS  %4ss' "$name" "$took")")
  else
    failed=1
    if [ "$rc" -eq 5 ] && [[ "$*" == *pytest* ]]; then note=' (no tests collected)'; fi
    summary+=("$(printf '  %-12s FAIL  %4ss  rc=%s%s' "$name" "$took" "$rc" "$note")")
  fi
  return "$rc"
}

print_summary() {
  echo
  echo "=== summary"
  printf '%s\n' "${summary[@]}"
  printf '  %-12s       %4ss\n' total "$SECONDS"
  if [ "$failed" -ne 0 ]; then echo "=== FAILED"; else echo "=== all stages passed"; fi
}

if ! stage bootstrap bash hack/bootstrap.sh; then
  print_summary
  exit 1
fi
stage sanity bash hack/sanity.sh
stage units "$PY" -m pytest tests/unit
stage integration "$PY" -m pytest tests/support/tests tests/system -m "not slow"
stage changelog .venv/bin/antsibull-changelog lint
stage lint bash hack/judges.sh lint
stage galaxy bash hack/judges.sh galaxy
stage docs-lint bash hack/docs.sh lint
# make docs as users run it, offline here: ~35 s (plus ~10 s the first time, for requirements-docs.txt).
stage docs make docs
# The oldest cell: ansible-core 2.16 with the modules on RHEL 9's Python and packages.
stage matrix-rhel9 .venv/bin/nox -f noxfile.py -s host-rhel9

# -- the second etcd server version (Debian's etcd 3.4; the stages above run etcd 3.5.1) ----
# etcd34-setup unpacks Debian's etcd-server/etcd-client into build/etcd34 (apt-get download, no
# root, nothing installed on the system); etcd-3.4 runs the engine and the fault suite against it.
if stage etcd34-setup bash hack/etcd-server.sh; then
  stage etcd-3.4 .venv/bin/nox -f noxfile.py -s etcd-3.4-ci
fi

print_summary
exit "$failed"
