//! Integration tests: one binary, a module per topic.

mod cli;
mod literature;
mod overlays;
mod rumor;
mod support;
