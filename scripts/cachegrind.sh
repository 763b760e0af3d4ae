#!/usr/bin/env bash
# Counts instructions and simulated cache misses of gossip-sim builds on one scenario, under
# valgrind's cachegrind: the same numbers on any machine and under any load, where wall times
# on this project's shared VMs vary by 10-30% from run to run. Each build writes its CSVs into
# its own folder, and the script checks they are the same bytes.
#
#   scripts/cachegrind.sh BINARY... [-- SCENARIO.toml [--set key=value ...]]
#
# Default scenario: the storefront benchmark scaled to fit under cachegrind (10^4 nodes, 2,000
# updates, 150 rounds, about a minute per build). The simulated last-level cache is 4 MiB (what
# this project's 2-core VMs effectively have), 16-way. Needs valgrind (apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
bins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do bins+=("$1"); shift; done
[ $# -gt 0 ] && shift
args=("$@")
if [ ${#args[@]} -eq 0 ]; then
    args=(scenarios/bench/storefront-1e5.toml --set nodes=10000 --set workload.updates=2000
        --set max_rounds=150)
fi
[ ${#bins[@]} -gt 0 ] || { echo "usage: scripts/cachegrind.sh BINARY... [-- SCENARIO [--set ...]]" >&2; exit 2; }
command -v valgrind > /dev/null || { echo "valgrind is not installed" >&2; exit 2; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
printf '%-40s %16s %14s %14s %s\n' build instructions "D1 misses" "LL misses" bytes
first=""
for i in "${!bins[@]}"; do
    bin="${bins[$i]}"
    valgrind --tool=cachegrind --cache-sim=yes --LL=4194304,16,64 \
        --cachegrind-out-file="$out/cg.$i" "$bin" run "${args[0]}" --out "$out/run.$i" \
        --quiet --force --jobs 1 "${args[@]:1}" > /dev/null 2> "$out/log.$i"
    refs=$(awk '/I *refs:/ {gsub(",", "", $4); print $4}' "$out/log.$i")
    d1=$(awk '/D1 *misses:/ {gsub(",", "", $4); print $4}' "$out/log.$i")
    ll=$(awk '/LL misses:/ {gsub(",", "", $4); print $4}' "$out/log.$i")
    same=-
    if [ -n "$first" ]; then
        same=same
        for f in "$out/run.$first"/*.csv; do
            cmp -s "$f" "$out/run.$i/$(basename "$f")" || same=DIFFER
        done
    else
        first=$i
    fi
    printf '%-40s %16s %14s %14s %s\n' "$bin" "$refs" "$d1" "$ll" "$same"
done
