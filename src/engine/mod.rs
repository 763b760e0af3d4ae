//! The simulation engine: runs one trial of a resolved scenario.
//!
//! `rounds` timing is driven by [`lockstep`], `async` timing by [`event_driven`]; both share the
//! [`world`] (who holds what, every counter) and the scheduled happenings of [`trial`].

#[doc(hidden)]
pub mod bench;
mod bitset;
mod event_driven;
mod hyparview;
mod lockstep;
mod median;
mod network;
mod peers;
mod plumtree;
pub mod queue;
mod rows;
mod rumor;
mod spreaders;
mod trial;
mod words;
mod workload;
mod world;

use std::sync::atomic::AtomicU64;

use crate::report::TrialReport;
use crate::scenario::{Catalog, Scenario, Timing};
use crate::seed;

pub use workload::{PlannedUpdate, plan};

/// Runs trial `trial` of `scenario`. Adds one to `progress` per simulated round (gossip period).
/// Deterministic: the result depends only on the scenario and the trial index.
pub fn run_trial(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
) -> TrialReport {
    let trial_seed = seed::trial_seed(scenario.seed, trial);
    let mut state = trial::Trial::new(scenario, catalog, trial_seed);
    let end = match scenario.timing {
        Timing::Rounds => lockstep::run(&mut state, progress),
        Timing::Async { .. } => event_driven::run(&mut state, progress),
    };
    let tables = if scenario.output.tables {
        state.world.final_tables()
    } else {
        Vec::new()
    };
    let (updates, run, coverage) = state.world.finish(end);
    TrialReport {
        trial,
        seed: trial_seed,
        updates,
        run,
        coverage,
        tables,
    }
}

/// The HyParView active views trial `trial` of `scenario` starts with (after its warm-up), or
/// `None` without a HyParView overlay. For tests that need the overlay's links.
#[doc(hidden)]
pub fn initial_active_views(scenario: &Scenario, trial: u32) -> Option<Vec<Vec<u32>>> {
    let crate::scenario::Overlay::HyParView(params) = scenario.overlay else {
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

/// Bytes the engine will allocate for one trial of `scenario` (per worker thread), so the
/// memory guard can refuse a run before it starts. An estimate from the data layout: the row
/// matrices (twice in rounds timing), node flags, hop counts, and in async timing the timers and
/// messages in flight.
pub fn estimate_memory(scenario: &Scenario) -> u64 {
    let n = scenario.nodes as usize;
    let explicit = scenario.workload.explicit.len() as u64;
    let generated = scenario
        .workload
        .generated
        .as_ref()
        .map_or(0, |g| u64::from(g.count));
    let updates = explicit + generated;
    // Updates in flight at once: all of them, at worst, but usually far fewer; assume up to 64
    // (one word per node) plus what a steady generated stream keeps in flight.
    let in_flight = updates.clamp(1, 64) as usize;
    let matrices = if scenario.timing == Timing::Rounds {
        2
    } else {
        1
    };
    let rows = matrices * rows::RowMatrix::bytes_for(n, in_flight);
    let flags = 3 * bitset::NodeSet::bytes(n);
    let hops = 2 * n as u64 * in_flight as u64;
    let per_update = 256 * updates;
    let catalog = 4 * u64::from(scenario.workload.products);
    let event_driven = match scenario.timing {
        Timing::Rounds => 0,
        // A timer per node and, per node, a few messages in flight with their buffers.
        Timing::Async { .. } => n as u64 * (24 + u64::from(scenario.protocol.fanout) * 3 * 96),
    };
    rows + flags + hops + per_update + catalog + event_driven
}

#[cfg(test)]
mod tests;
