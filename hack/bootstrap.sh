#!/usr/bin/env bash
# Create .venv with everything the demo and the tests need, and install the collection
# into build/collections. Safe to re-run: it only does what is missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
VENV=$ROOT/.venv

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
stamp=$VENV/.requirements.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "bootstrap: installing Python packages"
  # pip notes every package missing from the machine's local mirrors ("Location ... is
  # ignored"): noise, dropped; anything else pip says still shows, and its exit code counts.
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 \
    | sed -u "/WARNING: Location '.*' is ignored/d"
  echo "$want" >"$stamp"
fi

# A dev view of the source tree for Python imports (unit tests, simulator): the
# ansible_collections.apigw.router package pointing at this checkout.
mkdir -p build/dev/ansible_collections/apigw
# Only when missing or wrong: `ln -sfn` removes the link before making it again, and a test
# running meanwhile in another lane of hack/test.sh would find no collection in that moment.
if [ "$(readlink build/dev/ansible_collections/apigw/router)" != "$ROOT" ]; then
  ln -sfn "$ROOT" build/dev/ansible_collections/apigw/router
fi

# The collection as users get it: built with ansible-galaxy and installed. Rebuilt only when
# a shipped file changed, and swapped in whole, so that tests running meanwhile in another
# shell never see a half-installed collection.
# (Every shipped file counts: all but what galaxy.yml's build_ignore leaves out.)
content=$( { git ls-files -co --exclude-standard -- . ':!tests' ':!tools' ':!hack' ':!bench' ':!.ci' \
             | LC_ALL=C sort | xargs -r sha256sum; } 2>/dev/null | sha256sum | cut -d' ' -f1)
installed=build/collections/ansible_collections/apigw/router
if [ "$(cat build/collections/.content.sha256 2>/dev/null)" != "$content" ] || [ ! -f "$installed/MANIFEST.json" ]; then
  tmp=$(mktemp -d "$ROOT/build/.install.XXXXXX")
  "$VENV/bin/ansible-galaxy" collection build --force --output-path "$tmp/dist" . >/dev/null
  # (ANSIBLE_COLLECTIONS_PATH only stops the warning that -p is not a configured path.)
  ANSIBLE_COLLECTIONS_PATH=$tmp/collections \
    "$VENV/bin/ansible-galaxy" collection install --force -p "$tmp/collections" "$tmp"/dist/apigw-router-*.tar.gz >/dev/null
  echo "$content" >"$tmp/collections/.content.sha256"
  mkdir -p build/dist
  cp "$tmp"/dist/apigw-router-*.tar.gz build/dist/
  old=$(mktemp -d "$ROOT/build/.old.XXXXXX")
  [ -d build/collections ] && mv build/collections "$old/"
  mv "$tmp/collections" build/collections
  rm -rf "$tmp" "$old"
  echo "bootstrap: collection built and installed in build/collections"
fi
