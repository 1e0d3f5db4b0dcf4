#!/usr/bin/env bash
# Everything CI runs: bootstrap, sanity, unit tests, the ansible-test integration targets, the
# system suites (pytest: real etcd, the simulator, ansible-playbook), changelog lint, the
# ecosystem's judges (ansible-lint production, galaxy-importer; ansible-builder is a system
# test), the docs site (make docs) and the oldest cell of the tested matrix (the newest is the
# main suite): ansible-core 2.16 with the modules on RHEL 9's Python and packages (nox -s
# host-rhel9), and the etcd suites against the second etcd server version (etcd 3.4).
#
# Two lanes run side by side after bootstrap: the system suites (pytest-xdist workers, most of
# their time spent waiting on servers and ansible-playbook start-up) and every other stage, one
# after the other. They share nothing they write: each lane has its own build/ directories,
# pytest gives each process its own temporary directory, servers take free ports.
# Every stage runs even when an earlier one failed (except bootstrap, which they all need);
# each stage's output goes to build/ci-logs/<stage>.log and is printed whole when the stage
# ends. Last come the summary with durations and, at the very end, what failed: the failed
# tests (pytest's FAILED/ERROR lines) or the tail of a failed stage's log, because CI shows
# only the last lines. The exit code is non-zero if any stage failed.
# pytest's exit code 5 ("no tests collected") is a failure like any other.
#
# SYSTEM_WORKERS: pytest-xdist workers for the system suites (default below).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
PY=.venv/bin/python
LOGS=build/ci-logs
SYSTEM_WORKERS=${SYSTEM_WORKERS:-3}

rm -rf "$LOGS"
mkdir -p "$LOGS"
: >"$LOGS/.print.lock"
STAGES=()  # in the order of the summary

# stage NAME COMMAND...: run COMMAND with its output in $LOGS/NAME.log, then print that log in one
# piece (the lanes take turns through a lock) and record "rc seconds" in $LOGS/NAME.result.
stage() {
  local name=$1 start rc took
  shift
  echo "=== $name: started ($*)"
  start=$(date +%s)
  "$@" >"$LOGS/$name.log" 2>&1 </dev/null
  rc=$?
  took=$(($(date +%s) - start))
  echo "$rc $took $*" >"$LOGS/$name.result"
  (
    flock 9
    echo
    echo "=== $name: $* (rc=$rc, ${took}s)"
    cat "$LOGS/$name.log"
  ) 9>"$LOGS/.print.lock"
  return "$rc"
}

summary_line() {
  local name=$1 rc took cmd note=''
  if [ ! -f "$LOGS/$name.result" ]; then
    printf '  %-13s SKIP\n' "$name"
    return 1
  fi
  read -r rc took cmd <"$LOGS/$name.result"
  if [ "$rc" -eq 0 ]; then
    printf '  %-13s PASS  %4ss\n' "$name" "$took"
    return 0
  fi
  if [ "$rc" -eq 5 ] && [[ "$cmd" == *pytest* ]]; then note=' (no tests collected)'; fi
  printf '  %-13s FAIL  %4ss  rc=%s%s\n' "$name" "$took" "$rc" "$note"
  return 1
}

# What failed, for the end of the output: pytest's FAILED/ERROR lines of the stage, or else
# the last lines of its log.
failure_report() {
  local name=$1 tests
  tests=$(grep -aE '^(FAILED|ERROR) ' "$LOGS/$name.log" | cut -c1-220 | sort -u)
  if [ -n "$tests" ]; then
    echo "--- $name: failed tests"
    printf '%s\n' "$tests"
  else
    echo "--- $name: last lines of $LOGS/$name.log"
    tail -n 15 "$LOGS/$name.log"
  fi
}

finish() {
  local failed=0 name
  echo
  echo "=== summary"
  for name in "${STAGES[@]}"; do
    summary_line "$name" || failed=1
  done
  printf '  %-13s       %4ss\n' total "$SECONDS"
  if [ "$failed" -eq 0 ]; then
    echo "=== all stages passed"
    exit 0
  fi
  echo "=== FAILED (logs in $LOGS/)"
  for name in "${STAGES[@]}"; do
    if [ -f "$LOGS/$name.result" ] && [ "$(cut -d' ' -f1 "$LOGS/$name.result")" != 0 ]; then
      failure_report "$name"
    fi
  done
  exit 1
}

STAGES=(bootstrap)
# The docs packages too, so that the two lanes never install into .venv at the same time
# (make docs and the system suite's docs build both need them).
if ! stage bootstrap bash -c 'bash hack/bootstrap.sh && bash hack/docs.sh deps'; then
  finish
fi

system_lane() {
  stage system "$PY" -m pytest -n "$SYSTEM_WORKERS" --dist loadgroup --durations=25 tests/support/tests tests/system \
    -m "not slow"
}

other_lane() {
  stage sanity bash hack/sanity.sh
  stage units "$PY" -m pytest tests/unit
  stage integration bash hack/integration.sh
  stage changelog .venv/bin/antsibull-changelog lint
  stage lint bash hack/judges.sh lint
  stage galaxy bash hack/judges.sh galaxy
  stage docs-lint bash hack/docs.sh lint
  stage docs make docs
  # The oldest cell: ansible-core 2.16 with the modules on RHEL 9's Python and packages.
  stage matrix-rhel9 .venv/bin/nox -f noxfile.py -s host-rhel9 -- -n 2
  # The second etcd server version (Debian's etcd 3.4; the stages above run etcd 3.5.1):
  # etcd34-setup unpacks Debian's etcd-server/etcd-client into build/etcd34 (apt-get download, no
  # root, nothing installed on the system); etcd-3.4 runs the engine and the fault suite against it.
  if stage etcd34-setup bash hack/etcd-server.sh; then
    stage etcd-3.4 .venv/bin/nox -f noxfile.py -s etcd-3.4-ci -- -n 2 --dist loadgroup
  fi
}

STAGES+=(sanity units integration system changelog lint galaxy docs-lint docs matrix-rhel9 etcd34-setup etcd-3.4)
system_lane &
system_pid=$!
other_lane
wait "$system_pid"
finish
