//! Integration tests: one binary, a module per topic.

mod async_timing;
mod bad_input;
mod bench_pins;
mod budgets;
mod cli;
mod determinism;
mod fuzz;
mod interrupted;
mod invariants;
mod literature;
mod overlays;
mod piggyback;
mod plumtree;
mod reconcile;
mod reliability;
mod report;
mod resume;
mod rumor;
mod scuttlebutt;
mod shard;
mod shipped;
mod specs;
mod support;
mod sweep;
mod termination;
mod user_protocol;
