#!/usr/bin/env bash
# The Ansible ecosystem's own judges of a collection, as a user or Galaxy runs them:
#   hack/judges.sh lint     ansible-lint --profile production on the checkout and on the built tarball
#   hack/judges.sh galaxy   galaxy-importer (what Galaxy runs on upload) on a freshly built tarball
# Each fails on any finding: galaxy-importer on any ERROR or WARNING line. (ansible-builder, the
# third judge, is run by tests/system/test_execution_environment.py: `make ee`.)
#
# The tools are pinned in requirements-judges.txt and live in a venv of their own,
# build/venv-judges (galaxy-importer pins attrs<24, ansible-lint excludes ansible-core 2.17:
# neither may constrain .venv). The collection is judged from copies under
# build/judges/<what>/ansible_collections/apigw/router: ansible-lint must see the collection
# at such a path (with ANSIBLE_COLLECTIONS_PATH above it) to resolve its own modules and action
# group, and both tools write into the tree they judge (.ansible/), never into the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/copy-checkout.sh
source hack/copy-checkout.sh
ROOT=$PWD
VENV=$ROOT/build/venv-judges
WORK=$ROOT/build/judges
PYTHON=${PYTHON:-python3}

drop_pip_noise() { sed -u "/WARNING: Location '.*' is ignored/d"; }

# --- the judges' venv ------------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
  echo "judges: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
stamp=$VENV/.requirements.sha256
want=$(sha256sum requirements-judges.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "judges: installing requirements-judges.txt"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-judges.txt 2>&1 | drop_pip_noise
  echo "$want" >"$stamp"
fi
export PATH=$VENV/bin:$PATH  # ansible-doc, ansible-lint, ansible-galaxy for galaxy-importer

# A fresh copy of what git would ship (tracked plus untracked but not ignored files).
copy_checkout() {
  local dest=$1/ansible_collections/apigw/router
  rm -rf "$1"
  mkdir -p "$dest"
  copy_checkout_files "$dest"
  printf '%s\n' "$dest"
}

# The tarball users get: ansible-galaxy collection build of the checkout's copy.
build_tarball() {
  local dest out
  dest=$(copy_checkout "$WORK/build")
  out=$WORK/dist
  rm -rf "$out"
  mkdir -p "$out"
  ansible-galaxy collection build --force --output-path "$out" "$dest" >/dev/null
  ls "$out"/apigw-router-*.tar.gz
}

lint() {
  local where=$1
  echo "judges: ansible-lint --profile production on ${where#"$ROOT"/}"
  (cd "$where" && ANSIBLE_COLLECTIONS_PATH=$(cd ../../.. && pwd) ANSIBLE_HOME=$WORK/ansible-home \
     ansible-lint --profile production --offline --nocolor)
}

case "${1:-}" in
  lint)
    lint "$(copy_checkout "$WORK/lint")"
    # The built tarball, unpacked where ansible-lint can resolve the collection: what users install.
    tarball=$(build_tarball)
    dest=$WORK/lint-tarball/ansible_collections/apigw/router
    rm -rf "$WORK/lint-tarball"
    mkdir -p "$dest"
    tar -xzf "$tarball" -C "$dest"
    lint "$dest"
    ;;
  galaxy)
    tarball=$(build_tarball)
    echo "judges: galaxy-importer on ${tarball#"$ROOT"/}"
    log=$WORK/galaxy-importer.log
    # Defaults made explicit: ansible-doc and ansible-lint run (offline), ansible-test does not
    # (Galaxy runs it in a container).
    GALAXY_IMPORTER_RUN_ANSIBLE_DOC=true GALAXY_IMPORTER_RUN_ANSIBLE_LINT=true \
      GALAXY_IMPORTER_OFFLINE_ANSIBLE_LINT=true GALAXY_IMPORTER_RUN_ANSIBLE_TEST=false \
      GALAXY_IMPORTER_CHECK_CHANGELOG=true GALAXY_IMPORTER_TMP_ROOT_DIR="$WORK" \
      ANSIBLE_HOME=$WORK/ansible-home \
      bash -c 'cd "$1" && exec python -m galaxy_importer.main "$2"' _ "$WORK" "$tarball" 2>&1 | tee "$log"
    errors=$(grep -c -E '^ERROR' "$log" || true)
    warnings=$(grep -c -E '^WARNING' "$log" || true)
    echo "judges: galaxy-importer: $errors errors, $warnings warnings"
    [ "$errors" -eq 0 ] && [ "$warnings" -eq 0 ] && grep -q 'Collection loading complete' "$log"
    ;;
  *)
    echo "usage: $0 lint|galaxy" >&2
    exit 2
    ;;
esac
