//! Integration tests: one binary, a module per topic.

mod cli;
mod literature;
mod support;
