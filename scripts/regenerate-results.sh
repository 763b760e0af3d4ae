#!/usr/bin/env bash
# Regenerates results/ from every shipped scenario (one run each, default seeds), in release,
# and draws every folder's charts and index.html. A test (tests/integration/shipped.rs) reruns some of them
# and compares bytes. Takes a few minutes on two cores.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for scenario in scenarios/*.toml; do
    name=$(basename "$scenario" .toml)
    echo "== $name"
    mkdir -p "results/$name"
    ./target/release/gossip-sim run "$scenario" --quiet --force --out "results/$name" > "results/$name/stdout.txt"
    # Every results folder gets its charts and index.html (plot always finds one: completion).
    ./target/release/gossip-sim plot "results/$name" > /dev/null
done
