//! Integration tests: one binary, a module per topic.

mod cli;
mod literature;
mod rumor;
mod support;
