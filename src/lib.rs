//! gossip-sim: a deterministic discrete-event simulator of gossip protocols spreading price
//! updates.

pub mod cli;
pub mod engine;
pub mod export;
mod human;
pub mod output;
pub mod plot;
mod progress;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod seed;
pub mod store;
pub mod time;
