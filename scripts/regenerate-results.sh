#!/usr/bin/env bash
# Regenerates results/ from every shipped scenario (one run each, default seeds), in release,
# and draws the charts of the sweeps. A test (tests/integration/shipped.rs) reruns some of them
# and compares bytes. Takes a few minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for scenario in scenarios/*.toml; do
    name=$(basename "$scenario" .toml)
    echo "== $name"
    mkdir -p "results/$name"
    ./target/release/gossip-sim run "$scenario" --quiet --force --out "results/$name" > "results/$name/stdout.txt"
    if grep -q '^\[sweep\]' "$scenario"; then
        # A sweep no chart fits (say, over protocol.anti_entropy_every) keeps its numbers in
        # summary.csv; any other plot error stops the script.
        if ! ./target/release/gossip-sim plot "results/$name" 2> "results/$name/plot.err"; then
            if grep -q '^error: no chart applies' "results/$name/plot.err"; then
                echo "   no chart for $name: see results/$name/summary.csv"
            else
                cat "results/$name/plot.err" >&2
                rm -f "results/$name/plot.err"
                exit 1
            fi
        fi
        rm -f "results/$name/plot.err"
    fi
done
