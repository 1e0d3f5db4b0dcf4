#!/usr/bin/env bash
# The user docs: the modules' and plugins' own docs plus the guides in docs/docsite/, rendered
# by antsibull-docs and Sphinx from the collection as installed in build/collections.
#
#   hack/docs.sh lint    antsibull-docs lint-collection-docs --plugin-docs (what CI runs)
#   hack/docs.sh build   the HTML site in build/docs/build/html (make docs); passes offline
#   hack/docs.sh deps    only what the other two install first
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
  deps)
    ;;
  lint)
    exec antsibull-docs lint-collection-docs --plugin-docs .
    ;;
  build)
    # sphinx-init wants a directory of its own, writable by nobody else; start from scratch
    # so that nothing of an older layout is left behind. DOCS_DEST builds elsewhere (tests).
    DEST=${DOCS_DEST:-$ROOT/build/docs}
    rm -rf "$DEST"
    mkdir -p "$DEST"
    chmod 700 "$DEST"
    antsibull-docs sphinx-init --use-current --dest-dir "$DEST" apigw.router >/dev/null
    # Links into Ansible's and Python's docs resolve through intersphinx inventories fetched
    # from their sites. hack/sphinx_offline_refs.py lets the build pass without them (empty
    # stand-in inventories, fixed URLs for exactly those external names), and every other
    # warning still fails the build, as in the generated build.sh (-W).
    cat >>"$DEST/conf.py" <<EOF

# Added by hack/docs.sh: build without the internet, see hack/sphinx_offline_refs.py.
import sys
sys.path.insert(0, '$ROOT/hack')
extensions.append('sphinx_offline_refs')
intersphinx_timeout = 15
EOF
    mkdir -p "$DEST/rst"
    chmod og-w "$DEST/rst"
    (cd "$DEST" && antsibull-docs --config-file antsibull-docs.cfg collection --cleanup everything \
       --use-current --dest-dir rst apigw.router)
    if ! (cd "$DEST" && sphinx-build -M html rst build -c . -q -W --keep-going); then
      echo "docs: FAILED, see the Sphinx warnings above" >&2
      exit 1
    fi
    echo "docs: the site is in ${DEST#"$ROOT"/}/build/html/index.html"
    ;;
  *)
    echo "usage: hack/docs.sh [lint|build|deps]" >&2
    exit 2
    ;;
esac
