#!/usr/bin/env bash
# The user docs: the modules' and plugins' own docs plus the guides in docs/docsite/, rendered
# by antsibull-docs and Sphinx from the collection as installed in build/collections.
#
#   hack/docs.sh lint    antsibull-docs lint-collection-docs --plugin-docs (what CI runs)
#   hack/docs.sh build   the HTML site in build/docs/html (make docs)
#
# Installs requirements-docs.txt into .venv the first time (after hack/bootstrap.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=$ROOT/.venv
bash hack/bootstrap.sh

stamp=$VENV/.requirements-docs.sha256
want=$(sha256sum requirements-docs.txt | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "docs: installing requirements-docs.txt"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-docs.txt 2>&1 \
    | sed -u "/WARNING: Location '.*' is ignored/d"
  echo "$want" >"$stamp"
fi
# antsibull-docs calls ansible-doc and ansible from PATH, and finds the collection through
# the collections path: the installed copy, as users get it.
export PATH=$VENV/bin:$PATH
export ANSIBLE_COLLECTIONS_PATH=$ROOT/build/collections
export ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=False

case "${1:-build}" in
  lint)
    exec antsibull-docs lint-collection-docs --plugin-docs .
    ;;
  build)
    # sphinx-init wants a directory of its own, writable by nobody else; start from scratch
    # so that nothing of an older layout is left behind.
    DEST=$ROOT/build/docs
    rm -rf "$DEST"
    mkdir -p "$DEST"
    chmod 700 "$DEST"
    antsibull-docs sphinx-init --use-current --dest-dir "$DEST" apigw.router >/dev/null
    # What the generated build.sh does, except for how warnings count: links into Ansible's
    # own docs resolve through intersphinx inventories fetched from docs.ansible.com, which a
    # machine without internet access cannot fetch. Those warnings are shown but tolerated;
    # any other warning fails the build, as -W would.
    mkdir -p "$DEST/rst"
    chmod og-w "$DEST/rst"
    (cd "$DEST" && antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything \
       --use-current --dest-dir rst apigw.router)
    (cd "$DEST" && sphinx-build -M html rst build -c . -q -w warnings.log --keep-going)
    external="undefined label: '(action_plugins|common_return_values|ansible_configuration_settings|ansible_collections\.ansible\.builtin\.[a-z0-9_.-]+)'|failed to reach any of the inventories|intersphinx inventory"
    if grep -Ev "$external" "$DEST/warnings.log" | grep -q .; then
      echo "docs: FAILED, Sphinx warnings:" >&2
      grep -Ev "$external" "$DEST/warnings.log" >&2
      exit 1
    fi
    echo "docs: the site is in ${DEST#"$ROOT"/}/build/html/index.html"
    ;;
  *)
    echo "usage: hack/docs.sh [lint|build]" >&2
    exit 2
    ;;
esac
