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
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$want" >"$stamp"
fi

# A dev view of the source tree for Python imports (unit tests, simulator): the
# ansible_collections.apigw.router package pointing at this checkout.
mkdir -p build/dev/ansible_collections/apigw
ln -sfn "$ROOT" build/dev/ansible_collections/apigw/router

# The collection as users get it: built with ansible-galaxy and installed.
rm -rf build/collections build/dist
mkdir -p build/dist build/collections
"$VENV/bin/ansible-galaxy" collection build --force --output-path build/dist . >/dev/null
"$VENV/bin/ansible-galaxy" collection install --force -p build/collections build/dist/apigw-router-*.tar.gz >/dev/null
echo "bootstrap: collection installed in build/collections"
