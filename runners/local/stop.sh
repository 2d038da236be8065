#!/usr/bin/env bash
# Stop what start.sh started, by process group — never `ray stop`, which ends every Ray on the host.
tmp=${RAY_TMPDIR:-/tmp/faspec-ray-local}
[ -f "$tmp/pids" ] || { echo "nothing recorded in $tmp/pids"; exit 0; }
while read -r pid; do kill -TERM -- "-$pid" 2>/dev/null || true; done < "$tmp/pids"
sleep 2
while read -r pid; do kill -KILL -- "-$pid" 2>/dev/null || true; done < "$tmp/pids"
rm -f "$tmp/pids"
