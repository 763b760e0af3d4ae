//! The simulation engine: runs one trial of a resolved scenario.

use std::sync::atomic::AtomicU64;

use crate::report::TrialReport;
use crate::scenario::{Catalog, Scenario};

/// Runs trial `trial` of `scenario`. Adds one to `progress` per simulated round (gossip period).
/// Deterministic: the result depends only on the scenario and the trial index.
pub fn run_trial(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
) -> TrialReport {
    let _ = (scenario, catalog, trial, progress);
    unimplemented!("engine under construction")
}

/// Bytes the engine will allocate for one trial of `scenario` (per worker thread), so the
/// memory guard can refuse a run before it starts.
pub fn estimate_memory(scenario: &Scenario) -> u64 {
    let _ = scenario;
    unimplemented!("engine under construction")
}
