#!/usr/bin/env bash
# Regenerates results/ from every shipped scenario (one run each, default seeds), in release.
# A test (tests/integration/shipped.rs) reruns one of them and compares bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
for scenario in scenarios/*.toml; do
    name=$(basename "$scenario" .toml)
    echo "== $name"
    ./target/release/gossip-sim run "$scenario" --quiet --force --out "results/$name" > "results/$name/stdout.txt"
    cat "results/$name/stdout.txt"
done
