//! gossip-sim: a deterministic discrete-event simulator of gossip protocols spreading price
//! updates.

pub mod cli;
pub mod engine;
mod memory_limit;
pub mod output;
pub mod plot;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod seed;
pub mod store;
pub mod time;
