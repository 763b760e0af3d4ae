#!/usr/bin/env bash
# Huge-page diagnostic (issue 14, item 3): runs one scenario with a gossip-sim binary and samples
# /proc/PID/smaps_rollup every second while it runs: resident memory, how much of it is on
# transparent huge pages, and the process's page faults. Changes nothing; not a test.
#
#   scripts/thp-check.sh [BINARY] [SCENARIO]    (defaults: target/dist/gossip-sim, async-1e6)
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/dist/gossip-sim}"
scenario="${2:-scenarios/bench/async-1e6.toml}"
echo "THP mode: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null || echo unknown)"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
"$bin" run "$scenario" --out "$out/run" --jobs 1 --quiet &
pid=$!
printf '%6s %12s %18s %12s\n' second 'Rss MiB' 'AnonHugePages MiB' 'faults'
t=0
while kill -0 "$pid" 2>/dev/null; do
    sleep 1; t=$((t + 1))
    rollup=$(cat "/proc/$pid/smaps_rollup" 2>/dev/null) || break
    rss=$(awk '/^Rss:/ {print int($2 / 1024)}' <<<"$rollup")
    huge=$(awk '/^AnonHugePages:/ {print int($2 / 1024)}' <<<"$rollup")
    faults=$(awk '{print $10 + $12}' "/proc/$pid/stat" 2>/dev/null || echo '?')
    printf '%6s %12s %18s %12s\n' "$t" "$rss" "$huge" "$faults"
done
wait "$pid"
