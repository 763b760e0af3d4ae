//! The memory guard's estimate of what one trial allocates.

use crate::scenario::{Overlay, ProtocolKind, Scenario, Timing};

use super::{bitset, overlay, rows};

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
