#!/usr/bin/env bash
# Compares two gossip-sim binaries on the benchmark scenarios, in the same run: each scenario
# runs alternately with A and B, REPEAT times each, and the best wall time of each is kept
# (interleaving keeps a busy machine's noise out of the ratio). Also checks that A and B write
# the same CSV bytes.
#
#   scripts/compare.sh OLD_BINARY NEW_BINARY [REPEAT] [SCENARIO...]
#
# Scenarios are names under scenarios/bench/ (default: rounds-1e5 rounds-1e6 async-1e5
# async-1e6 storefront-1e5:60, where :N caps max_rounds at N). Prints one line per scenario:
# best wall of A and B in seconds and B/A.
set -euo pipefail
cd "$(dirname "$0")/.."
a="$1"; b="$2"; repeat="${3:-5}"; shift 2; [ $# -gt 0 ] && shift
scenarios=("$@")
[ ${#scenarios[@]} -eq 0 ] && scenarios=(rounds-1e5 rounds-1e6 async-1e5 async-1e6 storefront-1e5:60)
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
wall_ms() { # binary scenario-file out-dir extra...
    local bin="$1" file="$2" dir="$3"; shift 3
    local start end
    start=$(date +%s%N)
    "$bin" run "$file" --out "$dir" --quiet --force --jobs 1 "$@" > /dev/null
    end=$(date +%s%N)
    echo $(( (end - start) / 1000000 ))
}
printf '%-18s %9s %9s %7s %s\n' scenario "A s" "B s" "B/A" bytes
for entry in "${scenarios[@]}"; do
    name="${entry%%:*}"; extra=()
    [ "$entry" != "$name" ] && extra=(--set "max_rounds=${entry#*:}")
    file="scenarios/bench/$name.toml"
    best_a=""; best_b=""
    for _ in $(seq "$repeat"); do
        ta=$(wall_ms "$a" "$file" "$out/a" "${extra[@]}")
        tb=$(wall_ms "$b" "$file" "$out/b" "${extra[@]}")
        if [ -z "$best_a" ] || [ "$ta" -lt "$best_a" ]; then best_a=$ta; fi
        if [ -z "$best_b" ] || [ "$tb" -lt "$best_b" ]; then best_b=$tb; fi
    done
    same=same
    for f in "$out"/a/*.csv; do cmp -s "$f" "$out/b/$(basename "$f")" || same=DIFFER; done
    awk -v n="$entry" -v a="$best_a" -v b="$best_b" -v s="$same" \
        'BEGIN { printf "%-18s %9.3f %9.3f %7.3f %s\n", n, a / 1000, b / 1000, b / a, s }'
done
