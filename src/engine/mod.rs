//! The simulation engine: runs one trial of a resolved scenario.
//!
//! `rounds` timing is driven by [`lockstep`], `async` timing by [`event_driven`]; both share the
//! [`world`] (who holds what, every counter) and the scheduled happenings of [`trial`].

#[doc(hidden)]
pub mod bench;
mod bitset;
mod estimate;
mod event_driven;
mod flood;
mod hyparview;
mod lockstep;
mod median;
mod memory;
mod network;
pub mod overlay;
mod peers;
mod plumtree;
pub mod queue;
mod regions;
mod rows;
mod rumor;
mod spreaders;
mod trial;
mod words;
mod workload;
mod world;

use std::sync::atomic::AtomicU64;

use crate::report::TrialReport;
use crate::scenario::{Catalog, Overlay, Scenario, Timing};
use crate::seed;

pub use estimate::{estimate_memory, expected_active_rounds, expected_rounds, point_bytes};
pub use workload::{PlannedUpdate, plan};

/// Runs trial `trial` of `scenario`. Adds one to `progress` per simulated round (gossip period).
/// Deterministic: the result depends only on the scenario and the trial index.
pub fn run_trial(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
) -> TrialReport {
    run_trial_with_fast_paths(scenario, catalog, trial, progress, true)
}

/// [`run_trial`], with or without the engine's fast paths (the tests compare the two).
fn run_trial_with_fast_paths(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
    fast_paths: bool,
) -> TrialReport {
    let trial_seed = seed::trial_seed(scenario.seed, trial);
    let mut state = trial::Trial::new(scenario, catalog, trial_seed);
    state.fast_paths = fast_paths;
    let end = match scenario.timing {
        Timing::Rounds => lockstep::run(&mut state, progress),
        Timing::Async { .. } => event_driven::run(&mut state, progress),
    };
    let tables = if scenario.output.tables {
        state.world.final_tables()
    } else {
        Vec::new()
    };
    let regions = regions::reports(&state.world);
    let (updates, run, coverage) = state.world.finish(end);
    TrialReport {
        trial,
        seed: trial_seed,
        updates,
        run,
        coverage,
        tables,
        regions,
    }
}

/// The HyParView active views trial `trial` of `scenario` starts with (after its warm-up), or
/// `None` without a HyParView overlay. For tests that need the overlay's links.
#[doc(hidden)]
pub fn initial_active_views(scenario: &Scenario, trial: u32) -> Option<Vec<Vec<u32>>> {
    let Overlay::HyParView(params) = scenario.overlay else {
        return None;
    };
    let trial_seed = seed::trial_seed(scenario.seed, trial);
    let mut overlay = hyparview::HyParView::new(
        scenario.nodes,
        params,
        seed::stream(trial_seed, seed::Purpose::Overlay),
    );
    overlay.build();
    Some(
        (0..scenario.nodes)
            .map(|v| overlay.active(v).to_vec())
            .collect(),
    )
}

#[cfg(test)]
mod tests;
