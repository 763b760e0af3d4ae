//! Integration tests: one binary, a module per topic.

mod bench_pins;
mod cli;
mod determinism;
mod literature;
mod rumor;
mod shipped;
mod support;
