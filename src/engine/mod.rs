//! The simulation engine: runs one trial of a resolved scenario.
//!
//! `rounds` timing is driven by [`lockstep`], `async` timing by [`event_driven`]; both share the
//! [`world`] (who holds what, every counter) and the scheduled happenings of [`trial`].

mod async_kernel;
#[doc(hidden)]
pub mod bench;
mod bitset;
pub(crate) mod context;
mod event_driven;
mod hyparview;
mod lockstep;
mod memory;
mod network;
pub mod overlay;
mod peers;
pub mod queue;
mod regions;
mod rows;
pub(crate) mod spreaders;
mod trial;
pub(crate) mod words;
mod workload;
mod world;

use std::sync::atomic::AtomicU64;

use crate::protocol::Protocol;
use crate::report::TrialReport;
use crate::scenario::{Catalog, Overlay, ProtocolKind, Scenario, Timing};
use crate::seed;

pub(crate) use hyparview::HyParView;
pub(crate) use rows::for_each_bit;
pub use trial::Setup;
pub use workload::{PlannedUpdate, plan};

/// The engine's own specialised contacts of the built-in anti-entropy in `rounds` timing (the
/// staged and batched contacts of `world`), selected by [`Protocol::kernel`]. They compute
/// exactly what the protocol's handlers compute; the tests compare whole reports.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Push,
    Pull,
    PushPull { full_table: bool },
}

/// Runs trial `trial` of `scenario` with the protocol `make` builds. Adds one to `progress`
/// per simulated round (gossip period). Deterministic: the result depends only on the scenario,
/// the protocol and the trial index. `fast_paths`: whether the engine may take its
/// specialisations (always, but for the tests that compare them with the plain paths).
pub fn run_protocol<P: Protocol>(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
    fast_paths: bool,
    make: impl FnOnce(&Setup) -> P,
) -> TrialReport {
    let trial_seed = seed::trial_seed(scenario.seed, trial);
    let (mut state, mut protocol) = trial::Trial::new(scenario, catalog, trial_seed, make);
    state.fast_paths = fast_paths;
    let end = match scenario.timing {
        Timing::Rounds => lockstep::run(&mut state, &mut protocol, progress),
        Timing::Async { .. } => event_driven::run(&mut state, &mut protocol, progress),
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

/// Bytes the engine will allocate for one trial of `scenario` (per worker thread), so the
/// memory guard can refuse a run before it starts. An estimate from the data layout: the row
/// matrices (twice in rounds timing), node flags, hop counts, in async timing the timers and
/// messages in flight, the overlay (graph or HyParView views), Plumtree's announcements, and
/// the spreading state of flooding in rounds timing.
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
    // One byte per node per slot (counts of 255 and more live in a map that is almost always
    // empty).
    let hops = n as u64 * in_flight as u64;
    let per_update = 256 * updates;
    let catalog = 4 * u64::from(scenario.workload.products);
    let event_driven = match scenario.timing {
        Timing::Rounds => 0,
        // A timer per node and, per node, a few messages in flight with their buffers.
        Timing::Async { .. } => n as u64 * (24 + u64::from(scenario.protocol.fanout) * 3 * 96),
    };
    let overlay = match scenario.overlay {
        // Active view with its eager/lazy marks, passive view, view lengths and liveness.
        Overlay::HyParView(p) => {
            n as u64 * (5 * u64::from(p.active_size) + 4 * u64::from(p.passive_size) + 4)
        }
        static_or_full => overlay::Graph::bytes_estimate(static_or_full, scenario.nodes),
    };
    let plumtree = match scenario.protocol.kind {
        // The announcements a node keeps of updates it misses.
        ProtocolKind::Plumtree { .. } => n as u64 * (8 * 64 + 1) + updates,
        _ => 0,
    };
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
    rows + flags + hops + per_update + catalog + event_driven + overlay + plumtree + flood + regions
}

#[cfg(test)]
mod tests;
