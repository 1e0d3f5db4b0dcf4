#!/usr/bin/env bash
# The second etcd server version of the tests: Debian's etcd 3.4 (packages `etcd-server` and
# `etcd-client`), for the etcd-3.4 cells of noxfile.py. The packages are downloaded with
# `apt-get download` and unpacked into build/etcd34 with dpkg-deb: nothing is installed on the
# system, no service is started, and no root is needed (apt's package lists are; as root, a
# host without them gets `apt-get update` first). Prints the directory of etcd and etcdctl.
# ETCD34_BIN_DIR may point at other etcd 3.4 binaries instead; then nothing is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."

version() {  # "3.4.23", or nothing
  "$1/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p'
}

if [ -n "${ETCD34_BIN_DIR:-}" ]; then
  if [[ "$(version "$ETCD34_BIN_DIR")" == 3.4.* ]] && [ -x "$ETCD34_BIN_DIR/etcdctl" ]; then
    echo "$ETCD34_BIN_DIR"
    exit 0
  fi
  echo "etcd-server: no etcd 3.4 (etcd and etcdctl) in ETCD34_BIN_DIR=$ETCD34_BIN_DIR" >&2
  exit 1
fi

root=$PWD/build/etcd34
dir=$root/usr/bin
if [[ "$(version "$dir")" == 3.4.* ]] && [ -x "$dir/etcdctl" ]; then
  echo "$dir"
  exit 0
fi
if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
  echo "etcd-server: etcd 3.4 comes from Debian's etcd-server/etcd-client packages (apt-get, dpkg-deb);" \
       "on another system set ETCD34_BIN_DIR to a directory with etcd 3.4's etcd and etcdctl" >&2
  exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/etcd34.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# As root apt downloads as its sandbox user _apt, which may not write to our temporary folder.
sandbox=()
if [ "$(id -u)" -eq 0 ]; then sandbox=(-o APT::Sandbox::User=root); fi
download() { (cd "$tmp" && apt-get download -q "${sandbox[@]}" etcd-server etcd-client >&2); }
if ! download; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "etcd-server: apt-get download failed; the package lists may be missing (as root: apt-get update)" >&2
    exit 1
  fi
  apt-get update -q >&2  # a fresh host may not have the package lists yet
  download
fi
rm -rf "$root.new"
mkdir -p "$root.new"
for deb in "$tmp"/*.deb; do
  dpkg-deb -x "$deb" "$root.new"
done
if [[ "$(version "$root.new/usr/bin")" != 3.4.* ]]; then
  echo "etcd-server: the packages hold etcd '$(version "$root.new/usr/bin")', not 3.4" >&2
  exit 1
fi
rm -rf "$root"
mv "$root.new" "$root"
echo "etcd-server: etcd $(version "$dir") unpacked in $dir" >&2
echo "$dir"
