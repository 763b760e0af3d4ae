//! The simulation engine: runs one trial of a resolved scenario.
//!
//! `rounds` timing is driven by `lockstep`, `async` timing by `event_driven` (over the
//! `event_loop` it shares with the async kernel); both share the `world` (who holds what),
//! its `metrics` tracker (every counter the reports need) and the scheduled happenings of
//! `trial`. The built-in anti-entropy has fast paths of its own, the `kernel`s.

#[doc(hidden)]
pub mod bench;
mod bitset;
mod budget;
pub(crate) mod context;
mod estimate;
mod event_driven;
mod event_loop;
mod hyparview;
mod kernel;
mod lockstep;
pub(crate) mod memory;
mod metrics;
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
use crate::scenario::{Catalog, Overlay, Scenario, Timing};
use crate::seed;

pub use estimate::{estimate_memory, expected_active_rounds, expected_rounds, point_bytes};
pub(crate) use hyparview::HyParView;
pub use kernel::Kernel;
pub(crate) use rows::for_each_bit;
pub use trial::Setup;

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
    state.world.narrows = fast_paths;
    state.world.skips_settled = fast_paths;
    state.world.clusters_slots = fast_paths;
    state.world.tallies &= fast_paths;
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

#[cfg(test)]
mod tests;
