//! Integration tests: one binary, a module per topic.

mod bench_pins;
mod cli;
mod determinism;
mod literature;
mod overlays;
mod plumtree;
mod resume;
mod rumor;
mod shard;
mod shipped;
mod support;
mod sweep;
