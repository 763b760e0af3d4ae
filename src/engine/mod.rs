//! The simulation engine: runs one trial of a resolved scenario.
//!
//! `rounds` timing is driven by [`lockstep`], `async` timing by [`event_driven`]; both share the
//! [`world`] (who holds what, every counter) and the scheduled happenings of [`trial`].

#[doc(hidden)]
pub mod bench;
mod bitset;
mod event_driven;
mod flood;
mod lockstep;
mod median;
mod network;
pub mod overlay;
mod peers;
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
use crate::scenario::{Catalog, ProtocolKind, Scenario, Timing};
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

/// Bytes the engine will allocate for one trial of `scenario` (per worker thread), so the
/// memory guard can refuse a run before it starts. An estimate from the data layout: the row
/// matrices (twice in rounds timing), node flags, hop counts, in async timing the timers and
/// messages in flight, the overlay graph, and the spreading state of flooding in rounds timing.
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
    let overlay = overlay::Graph::bytes_estimate(scenario.overlay, scenario.nodes);
    let flood = match (scenario.protocol.kind, scenario.timing) {
        // Two spreading matrices and three bytes of counters per node and slot.
        (ProtocolKind::Flood, Timing::Rounds) => {
            2 * rows::RowMatrix::bytes_for(n, in_flight) + 3 * n as u64 * in_flight as u64
        }
        _ => 0,
    };
    let regions = scenario.regions.as_ref().map_or(0, |r| {
        let count = r.regions.len() as u64;
        // Completion times per update and region, live holders per slot and region.
        count * (16 * updates + 8 * in_flight as u64)
    });
    rows + flags + hops + per_update + catalog + event_driven + overlay + flood + regions
}

#[cfg(test)]
mod tests;
