//! gossip-sim: a deterministic discrete-event simulator of gossip protocols spreading price
//! updates.

pub mod engine;
pub mod output;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod seed;
pub mod time;
