//! Integration tests: one binary, a module per topic.

mod cli;
mod literature;
mod resume;
mod shard;
mod support;
mod sweep;
