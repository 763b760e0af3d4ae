//! Integration tests: one binary, a module per topic.

mod cli;
mod determinism;
mod literature;
mod overlays;
mod rumor;
mod shipped;
mod support;
