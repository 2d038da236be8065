#!/usr/bin/env bash
# Start a head and N-1 worker nodes on this machine; record their process groups for stop.sh.
set -euo pipefail
nodes=${1:-2}
port=${RAY_PORT:-6399}
tmp=${RAY_TMPDIR:-/tmp/faspec-ray-local}
mkdir -p "$tmp"
: > "$tmp/pids"
setsid ray start --head --port "$port" --node-ip-address 127.0.0.1 --num-cpus "${CPUS_PER_NODE:-1}" \
  --include-dashboard false --temp-dir "$tmp" --block >"$tmp/head.log" 2>&1 &
echo $! >> "$tmp/pids"
for _ in $(seq 1 60); do ray status --address "127.0.0.1:$port" >/dev/null 2>&1 && break; sleep 1; done
for i in $(seq 2 "$nodes"); do
  setsid ray start --address "127.0.0.1:$port" --node-ip-address 127.0.0.1 --num-cpus "${CPUS_PER_NODE:-1}" \
    --block >"$tmp/worker$i.log" 2>&1 &
  echo $! >> "$tmp/pids"
done
echo "Ray at 127.0.0.1:$port ($nodes nodes); faspec verify SPEC --address 127.0.0.1:$port"
