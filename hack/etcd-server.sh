#!/usr/bin/env bash
# The second etcd server version of the tests: Debian's etcd 3.4 (`etcd-server`, `etcd-client`),
# for the etcd-3.4 cells of noxfile.py. Installs the packages when they are missing (as root,
# with apt-get), never leaves the packaged service running, and prints the binaries' version.
# ETCD34_BIN_DIR (default /usr/bin) may point at other etcd 3.4 binaries; then nothing is installed.
set -euo pipefail

dir=${ETCD34_BIN_DIR:-/usr/bin}

version() {  # "3.4.23", or nothing
  "$dir/etcd" --version 2>/dev/null | sed -n 's/^etcd Version: //p'
}

if [ -x "$dir/etcd" ] && [ -x "$dir/etcdctl" ] && [[ "$(version)" == 3.4.* ]]; then
  echo "etcd-server: etcd $(version) already in $dir"
  exit 0
fi
if [ "$dir" != /usr/bin ]; then
  echo "etcd-server: no etcd 3.4 (etcd and etcdctl) in ETCD34_BIN_DIR=$dir" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "etcd-server: etcd 3.4 is missing; on Debian 12 run as root: apt-get install etcd-server etcd-client" >&2
  echo "  (or set ETCD34_BIN_DIR to a directory with etcd 3.4's etcd and etcdctl)" >&2
  exit 1
fi

# The package's postinst starts its service (etcd on localhost:2379 as user etcd): forbid
# that during the install with a policy-rc.d, unless the host already has one.
policy=/usr/sbin/policy-rc.d
own_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends etcd-server etcd-client; }
if ! install; then
  apt-get update -q  # a fresh host may not have the package lists yet
  install
fi

# Under systemd the unit is enabled: stop and disable it (it would start at boot).
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl disable --now etcd.service || true
elif [ -x /etc/init.d/etcd ]; then
  /etc/init.d/etcd stop || true
fi
if pgrep -u etcd -x etcd >/dev/null 2>&1; then
  echo "etcd-server: the packaged etcd service still runs (user etcd); stop it: systemctl disable --now etcd" >&2
  exit 1
fi
if [[ "$(version)" != 3.4.* ]]; then
  echo "etcd-server: $dir/etcd is etcd '$(version)', not 3.4" >&2
  exit 1
fi
echo "etcd-server: installed etcd $(version) in $dir; its service is not running"
