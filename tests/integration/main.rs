//! Integration tests: one binary, a module per topic.

mod cli;
mod determinism;
mod literature;
mod plumtree;
mod rumor;
mod shipped;
mod support;
