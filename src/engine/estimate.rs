//! Predictions from a scenario alone, before anything runs: the memory one trial allocates at
//! its peak (for the memory guard) and the rounds it simulates (for the progress bar's ETA).
//!
//! Both rest on one model of an update's life: it spreads for about the protocol's spreading
//! time ([`spread_rounds`]), then stays in flight (holding a column of every per-node matrix)
//! until every node that holds a table has it: a node that is down but comes back with its
//! table holds the update's retirement up until it returns. An update that may never reach
//! everyone (rumor mongering's residue, loss 1, a node that lost its table) stays until the end.
//! Updates in flight at once are then the injections within one lifetime of each other.

use crate::protocol;
use crate::report::{CoverageSample, RegionReport, TableEntry, TrialReport, UpdateReport};
use crate::scenario::{CrashPlan, Overlay, Scenario, Timing};

use super::{bitset, overlay, rows};

/// Slots per block of hop counts once there are more than this many slots (`metrics/hops.rs`).
const HOP_BLOCK: u64 = 512;

/// Bytes the engine allocates for one trial of `scenario` at its peak (per worker thread), so
/// the memory guard can refuse a run before it starts: the row matrices (twice in rounds timing,
/// plus the old one while a matrix grows), node flags, hop counts (half a byte or a byte per
/// node and slot), what a trial keeps per update (plan, report, coverage samples), in async
/// timing the timers and messages in flight, the overlay (graph or HyParView views),
/// Plumtree's announcements, the spreaders of protocols that stop by themselves, and the
/// spreading state of flooding.
pub fn estimate_memory(scenario: &Scenario) -> u64 {
    let n = u64::from(scenario.nodes);
    let updates = updates(scenario);
    let slots = peak_in_flight(scenario);
    let capacity = rows::RowMatrix::capacity_for(slots as usize) as u64;
    let matrix = rows::RowMatrix::bytes_for(n as usize, slots as usize);
    let matrices = match scenario.timing {
        Timing::Rounds => 2,
        Timing::Async { .. } => 1,
    };
    // A growing matrix is copied into a wider one: both are alive for a moment.
    let growing = if slots > 1 { matrix } else { 0 };
    // Rounds timing with rows of many words notes per node the words it lacks (a bit per word).
    let words = capacity.div_ceil(64);
    let lacking = if matrices == 2 && words > 1 {
        n * words.div_ceil(64) * 8
    } else {
        0
    };
    let rows = matrices * matrix + growing + lacking;
    let flags = 3 * bitset::NodeSet::bytes(n as usize);
    // A field per node and slot: one block as wide as the slots (a power of two) up to 512,
    // blocks of 512 beyond; widening the first block copies it.
    let hop_width = if slots <= HOP_BLOCK {
        slots.next_power_of_two()
    } else {
        slots.div_ceil(HOP_BLOCK) * HOP_BLOCK
    };
    // Four bits per count, unless counts of 15 and more are common enough to widen blocks to a
    // byte (`metrics/hops.rs`). In rounds timing a count is at most the rounds since its
    // update's injection, so an update that reaches everyone within about 20 rounds keeps most
    // of them under 15 (one update over 10^7 nodes: 18 rounds, 0.5% of counts at 15 or more,
    // under the 1/128 that widens a block). Async timing forwards at once and goes deeper.
    let shallow = matches!(scenario.timing, Timing::Rounds) && spread_rounds(scenario) < 20.0;
    let field_halves = if shallow { 1 } else { 2 };
    let hops = n * hop_width * field_halves / 2
        + if slots <= HOP_BLOCK {
            n * hop_width * field_halves / 4
        } else {
            0
        };
    // The plan, the report, the retired flag and message count per update, and coverage
    // samples while they spread (kept in the trial until it ends).
    let per_update = updates * (48 + std::mem::size_of::<UpdateReport>() as u64 + 16);
    let samples = if scenario.output.coverage {
        coverage_samples(scenario) * std::mem::size_of::<CoverageSample>() as u64 * 2
    } else {
        0
    };
    let catalog = 8 * u64::from(scenario.workload.products) + 4 * capacity;
    let event_driven = match scenario.timing {
        Timing::Rounds => 0,
        // A timer per node and, per node and fanout, messages in flight with their queue
        // entries. Measured on scenarios/bench/async-1e6 (fanout 1) since the queue keeps its
        // buckets in one arena of reused chunks: 45 MiB peak, 41 of them beyond the program
        // (165 to 170 bytes per node before, when every bucket kept its biggest size); 32 per
        // fanout keeps a margin.
        Timing::Async { jitter } => {
            // With jitter the timers live in the event queue (a 64-byte event each, in a heap
            // that doubles): measured on scenarios/regions-storefront.toml, about 390 bytes per
            // node in all.
            let timers = if jitter.micros() > 0 { 128 } else { 0 };
            n * (24 + timers + u64::from(scenario.protocol.fanout) * 32)
        }
    };
    let overlay = match scenario.overlay {
        // Active view with its eager/lazy marks, passive view, view lengths and liveness.
        Overlay::HyParView(p) => {
            n * (5 * u64::from(p.active_size) + 4 * u64::from(p.passive_size) + 4)
        }
        static_or_full => overlay::Graph::bytes_estimate(static_or_full, scenario.nodes),
    };
    let known = protocol::estimate(scenario);
    // The protocol's own state (Plumtree's announcements, for one).
    let own = n * known.bytes_per_node + updates * known.bytes_per_update;
    let spreaders = if known.spreading_state {
        // Two spreading matrices, three bytes of counters per node and slot, and the (node,
        // slot) pairs learnt and touched in a round (8 bytes each, in vectors that double as
        // they grow). Measured: median-counter at 10^6 nodes, 24 bytes per node.
        2 * matrix + 3 * n * capacity + 24 * n * capacity.min(4)
    } else {
        0
    };
    let regions = scenario.regions.as_ref().map_or(0, |r| {
        let count = r.regions.len() as u64;
        // Completion times per update and region, live holders per slot and region.
        count * (16 * updates + 8 * capacity) + 4 * n
    });
    rows + flags
        + hops
        + per_update
        + samples
        + catalog
        + event_driven
        + overlay
        + own
        + spreaders
        + regions
}

/// Bytes the reports of one point's trials hold from the end of their trial until the point's
/// rows are rendered, plus the rendered rows themselves (both are alive while rendering): a row
/// per update, its coverage samples, with `output.tables` every node's final table, and a row
/// per update and region.
pub fn point_bytes(scenario: &Scenario) -> u64 {
    use std::mem::size_of;
    let updates = updates(scenario);
    let samples = if scenario.output.coverage {
        coverage_samples(scenario)
    } else {
        0
    };
    let workload = &scenario.workload;
    let products = u64::from(workload.products) + workload.explicit.len() as u64;
    let table_entries = if scenario.output.tables {
        u64::from(scenario.nodes).saturating_mul(products.min(updates.max(1)))
    } else {
        0
    };
    let region_rows = scenario
        .regions
        .as_ref()
        .map_or(0, |r| updates.saturating_mul(r.regions.len() as u64));
    let reports = (size_of::<TrialReport>() as u64)
        .saturating_add(updates.saturating_mul(size_of::<UpdateReport>() as u64))
        .saturating_add(samples.saturating_mul(size_of::<CoverageSample>() as u64))
        .saturating_add(table_entries.saturating_mul(size_of::<TableEntry>() as u64))
        .saturating_add(region_rows.saturating_mul(size_of::<RegionReport>() as u64));
    // CSV text: about 200 bytes per updates.csv row, 60 per coverage or table row, 60 per region
    // row, 300 per runs.csv row; a summary of a few rows.
    let rendered = 300u64
        .saturating_add(updates.saturating_mul(200))
        .saturating_add(samples.saturating_mul(60))
        .saturating_add(table_entries.saturating_mul(60))
        .saturating_add(region_rows.saturating_mul(60));
    reports
        .saturating_add(rendered)
        .saturating_mul(u64::from(scenario.trials))
        .saturating_add(4096)
}

/// The rounds (gossip periods) one trial of `scenario` is expected to simulate: until the last
/// injection, crash plan or churn has happened and its updates had time to spread, at most
/// `max_rounds`.
pub fn expected_rounds(scenario: &Scenario) -> u64 {
    let period = scenario.period.micros().max(1) as f64;
    let rounds = |micros: u64| micros as f64 / period;
    let last_injection = last_injection_round(scenario);
    let spread = spread_rounds(scenario);
    let mut end = last_injection + lifetime_rounds(scenario).min(f64::from(scenario.max_rounds));
    for plan in &scenario.crashes {
        let back = plan.at.micros() + plan.recover_after.map_or(0, |after| after.micros());
        end = end.max(rounds(back) + spread);
    }
    if let Some(churn) = &scenario.churn {
        // Churn goes on until it stops, by default the end of the run.
        end = end.max(rounds(churn.stop.micros()));
    }
    if let Some(every) = protocol::estimate(scenario).repair_every {
        // Anti-entropy rounds repair the residue, a few of their periods after spreading stops.
        let every = f64::from(every);
        end = end.max(last_injection + spread + 3.0 * every);
    }
    end.ceil().clamp(1.0, f64::from(scenario.max_rounds)) as u64
}

/// Of [`expected_rounds`], those in which updates are injected or still spreading (the others
/// only see churn or nothing, and cost less to simulate).
pub fn expected_active_rounds(scenario: &Scenario) -> u64 {
    let spreading = last_injection_round(scenario) + spread_rounds(scenario);
    let all = expected_rounds(scenario);
    if spreading.is_finite() {
        (spreading.ceil() as u64).clamp(1, all)
    } else {
        all
    }
}

fn updates(scenario: &Scenario) -> u64 {
    let workload = &scenario.workload;
    workload.explicit.len() as u64
        + workload
            .generated
            .as_ref()
            .map_or(0, |g| u64::from(g.count))
}

/// Rounds an update takes to reach every node: the leading terms of the protocol's formula
/// (`protocol::Kind::estimate`), plus a couple of rounds for the tail, longer by 1 / (1 - loss).
pub fn spread_rounds(scenario: &Scenario) -> f64 {
    let base = protocol::estimate(scenario).rounds_to_all + 2.0;
    let loss = scenario.network.loss;
    if loss >= 1.0 {
        f64::INFINITY
    } else {
        base / (1.0 - loss)
    }
}

/// Rounds an update stays in flight after its injection; infinite when it may never retire.
fn lifetime_rounds(scenario: &Scenario) -> f64 {
    let spread = spread_rounds(scenario);
    let known = protocol::estimate(scenario);
    if known.leaves_residue && known.repair_every.is_none() {
        // Rumor mongering leaves a residue (Demers et al. 1987): such an update never retires.
        return f64::INFINITY;
    }
    let period = scenario.period.micros().max(1) as f64;
    let mut tail: f64 = 0.0;
    if let Some(churn) = &scenario.churn {
        if !churn.keep_state {
            // A node back without its table stops retirement until it has fetched one: with
            // churn there is almost always one.
            return f64::INFINITY;
        }
        // Down nodes that keep their table hold retirement up until the last of those down at
        // injection is back: the maximum of d exponential downtimes is about mean * H(d).
        // Nodes that rejoin by snapshot do not: retirement waits for up nodes only.
        if churn.rejoin == crate::scenario::Rejoin::OwnTable {
            let mean = churn.mean_downtime.micros() as f64 / period;
            let down = f64::from(scenario.nodes) * churn.crash_rate * mean;
            tail = tail.max(mean * harmonic(down));
        }
    }
    for plan in &scenario.crashes {
        if let CrashPlan {
            recover_after: Some(after),
            keep_state,
            ..
        } = plan
        {
            if !keep_state {
                return f64::INFINITY;
            }
            tail = tail.max(after.micros() as f64 / period);
        }
    }
    spread + tail
}

/// H(d) = 1 + 1/2 + ... + 1/d, about ln d + 0.577; 0 for no one down.
fn harmonic(d: f64) -> f64 {
    if d < 1.0 {
        d
    } else {
        d.ln() + 0.5772 + 1.0 / (2.0 * d)
    }
}

/// The round of the last injection.
fn last_injection_round(scenario: &Scenario) -> f64 {
    let period = scenario.period.micros().max(1) as f64;
    let explicit = scenario
        .workload
        .explicit
        .iter()
        .map(|u| u.at.micros() as f64 / period)
        .fold(0.0, f64::max);
    let generated = scenario.workload.generated.as_ref().map_or(0.0, |g| {
        let start = g.start.micros() as f64 / period;
        match g.per_round {
            Some(rate) if rate > 0.0 => start + f64::from(g.count) / rate,
            _ => start,
        }
    });
    explicit.max(generated)
}

/// The most updates in flight at once: the injections within one lifetime of each other.
fn peak_in_flight(scenario: &Scenario) -> u64 {
    let total = updates(scenario);
    if total <= 1 {
        return total.max(1);
    }
    let lifetime = lifetime_rounds(scenario);
    if !lifetime.is_finite() {
        return total;
    }
    let period = scenario.period.micros().max(1) as f64;
    let mut times: Vec<f64> = scenario
        .workload
        .explicit
        .iter()
        .map(|u| u.at.micros() as f64 / period)
        .collect();
    times.sort_by(f64::total_cmp);
    let mut explicit = 0;
    let mut first = 0;
    for last in 0..times.len() {
        while times[last] - times[first] > lifetime {
            first += 1;
        }
        explicit = explicit.max(last + 1 - first);
    }
    let generated = scenario.workload.generated.as_ref().map_or(0.0, |g| {
        let count = f64::from(g.count);
        match g.per_round {
            // A Poisson stream: the mean within a lifetime and three standard deviations.
            Some(rate) if rate > 0.0 => {
                let mean = rate * lifetime;
                (mean + 3.0 * mean.sqrt() + 1.0).min(count)
            }
            _ => count,
        }
    });
    (explicit as u64 + generated.ceil() as u64).clamp(1, total)
}

/// Coverage samples of one trial: one per period while an update spreads, after its injection
/// (and all of them while it stays in flight when it never completes).
fn coverage_samples(scenario: &Scenario) -> u64 {
    let updates = updates(scenario);
    let lifetime = if protocol::estimate(scenario).leaves_residue {
        spread_rounds(scenario)
    } else {
        lifetime_rounds(scenario)
    };
    let rounds = lifetime.min(f64::from(scenario.max_rounds)).ceil() as u64;
    updates.saturating_mul(rounds.max(1))
}
