#!/usr/bin/env bash
# Regenerates results/ from every shipped scenario (one run each, default seeds), in release:
# the CSV files, run.toml and scenario.resolved.toml, the run's stdout (stdout.txt, as a user
# sees it: one line per sweep point), and every chart with index.html. A test
# (tests/integration/shipped.rs) reruns some of them and compares bytes. Takes 10 to 20 minutes
# on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for scenario in scenarios/*.toml; do
    name=$(basename "$scenario" .toml)
    echo "== $name"
    mkdir -p "results/$name"
    # Not --quiet: that would leave stdout.txt empty. No progress bar reaches the file (it is
    # drawn on stderr, and only on a terminal).
    ./target/release/gossip-sim run "$scenario" --force --out "results/$name" > "results/$name/stdout.txt"
    # Charts of an earlier version may have other names: draw them all afresh. Every results
    # folder gets its charts and index.html (plot always finds one: completion).
    rm -f "results/$name"/*.svg "results/$name/index.html"
    ./target/release/gossip-sim plot "results/$name" > /dev/null
done
