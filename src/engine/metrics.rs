//! The metrics tracker: every figure the reports are made of, counted as the trial happens.
//!
//! The world tells it what happened - a message sent and its fate, a node learning an update
//! (with its hop count and delay), a duplicate, a crash or recovery, the end of a period - and
//! the tracker counts: per update (milestones, messages, duplicates, deliveries, hops), per run
//! (messages and bytes by kind, fates, staleness), per region, and the coverage samples. Nothing
//! the simulation does depends on it: who holds what, and when an update retires, is the
//! world's. So a metric can change without a run changing, and the other way round.

use crate::report::{CoverageSample, MessageKind, RunReport, UpdateReport};
use crate::scenario::{NodeId, Scenario, SizeModel};
use crate::time::Time;

use super::regions::RegionTally;
use super::workload::PlannedUpdate;

mod hops;
pub(super) use hops::Hops;

pub struct Metrics {
    /// Bytes of a message: a header plus so much per entry.
    sizes: SizeModel,
    keep_coverage: bool,
    /// Per planned update (injected or not), by update index.
    pub updates: Vec<UpdateReport>,
    /// The run's message count when each update was injected, for `messages_to_all`.
    messages_at_injection: Vec<u64>,
    pub run: RunReport,
    pub coverage: Vec<CoverageSample>,
    /// How many messages each update took to reach each node holding it.
    pub(super) hops: Hops,
    /// Live holders and completion per region, when the scenario has regions.
    pub(super) regions: Option<Box<RegionTally>>,
}

impl Metrics {
    pub fn new(scenario: &Scenario, planned: &[PlannedUpdate]) -> Metrics {
        let updates = planned
            .iter()
            .enumerate()
            .map(|(i, p)| UpdateReport {
                update: i as u32,
                product: p.product,
                version: p.version,
                price: p.price,
                origin: p.origin.unwrap_or(0),
                injected_at: p.at,
                injected: false,
                reached_50: None,
                reached_90: None,
                reached_99: None,
                reached_all: None,
                final_informed: 0,
                final_alive: 0,
                update_messages: 0,
                messages_to_all: None,
                duplicates: 0,
                deliveries: 0,
                delivery_delay_sum: 0,
                last_delivery: None,
                max_hops: 0,
                stale_node_rounds: 0,
            })
            .collect();
        Metrics {
            sizes: scenario.sizes,
            keep_coverage: scenario.output.coverage,
            updates,
            messages_at_injection: vec![0; planned.len()],
            run: RunReport {
                nodes: scenario.nodes,
                ..RunReport::default()
            },
            coverage: Vec::new(),
            hops: Hops::default(),
            regions: scenario
                .regions
                .as_ref()
                .map(|regions| Box::new(RegionTally::new(regions, planned.len()))),
        }
    }

    /// Whether coverage is sampled at the end of every round or period.
    pub fn keeps_coverage(&self) -> bool {
        self.keep_coverage
    }

    // ---- updates and slots -------------------------------------------------------------------

    /// Update `update` is injected at `origin` at `at`; `entered`: the origin was up, so the
    /// update entered the system (its report says where and when either way).
    pub fn injection(&mut self, update: usize, origin: NodeId, at: Time, entered: bool) {
        let report = &mut self.updates[update];
        report.origin = origin;
        report.injected_at = at;
        report.injected |= entered;
        self.messages_at_injection[update] = self.run.messages;
    }

    /// A new update takes slot `slot`: room for its hop counts, and no region holds it yet.
    pub fn slot_born(&mut self, nodes: usize, slot: usize) {
        self.hops.make_room(nodes, slot + 1);
        if let Some(regions) = &mut self.regions {
            regions.add_slot(slot);
            regions.reset_slot(slot);
        }
    }

    /// Live `node` learns `slot` (update `update`) at `at`, `hop` messages from its origin.
    #[inline(always)]
    pub fn learnt(&mut self, node: NodeId, slot: usize, update: usize, hop: u16, at: Time) {
        if let Some(regions) = &mut self.regions {
            regions.gained(node, slot);
        }
        self.hops.set(node, slot, hop);
        let report = &mut self.updates[update];
        if node != report.origin {
            report.deliveries += 1;
            report.delivery_delay_sum += u128::from((at - report.injected_at).0);
            report.last_delivery = Some(report.last_delivery.map_or(at, |t| t.max(at)));
            report.max_hops = report.max_hops.max(u32::from(hop));
        }
    }

    /// The hop count of `node`'s copy of `slot` (valid while it holds it).
    #[inline(always)]
    pub fn hop(&self, node: NodeId, slot: usize) -> u16 {
        self.hops.get(node, slot)
    }

    /// A message brought update `update` to a node that held it already.
    #[inline(always)]
    pub fn duplicate(&mut self, update: usize) {
        self.updates[update].duplicates += 1;
    }

    /// A message carried update `update`.
    #[inline(always)]
    pub fn carried(&mut self, update: usize) {
        self.updates[update].update_messages += 1;
    }

    /// Counts in bulk what [`Metrics::learnt`], [`Metrics::duplicate`] and
    /// [`Metrics::carried`] count one at a time, for update `update` at `at`: the lock-step
    /// kernel keeps these in registers through a round.
    #[inline(always)]
    pub fn add_update_counts(
        &mut self,
        update: usize,
        carried: u64,
        duplicates: u64,
        deliveries: u64,
        max_hops: u16,
        at: Time,
    ) {
        let report = &mut self.updates[update];
        report.update_messages += carried;
        report.duplicates += duplicates;
        if deliveries > 0 {
            report.deliveries += deliveries;
            report.delivery_delay_sum +=
                u128::from(deliveries) * u128::from((at - report.injected_at).0);
            report.last_delivery = Some(report.last_delivery.map_or(at, |t| t.max(at)));
            report.max_hops = report.max_hops.max(u32::from(max_hops));
        }
    }

    // ---- messages ----------------------------------------------------------------------------

    /// Counts a message of `size` sent (see [`Size`]).
    #[inline(always)]
    pub fn send_sized(&mut self, kind: MessageKind, size: crate::engine::context::Size) {
        self.send(kind, size.entries, size.digest_entries);
        self.run.bytes += size.other_bytes;
    }

    /// Counts a message sent: `entries` price entries and `digest_entries` digest entries.
    #[inline(always)]
    pub fn send(&mut self, kind: MessageKind, entries: u64, digest_entries: u64) {
        self.run.messages += 1;
        self.run.messages_by_kind[kind as usize] += 1;
        self.run.bytes += self.sizes.header
            + entries * self.sizes.entry
            + digest_entries * self.sizes.digest_entry;
    }

    /// Counts in bulk what [`Metrics::send`] and the fates count one message at a time: `by_kind`
    /// messages with `entries` and `digest_entries` in all.
    #[inline(always)]
    pub fn add_message_counts(
        &mut self,
        by_kind: &[u64; MessageKind::COUNT],
        entries: u64,
        digest_entries: u64,
        fates: Fates,
    ) {
        let messages: u64 = by_kind.iter().sum();
        self.run.messages += messages;
        for (total, count) in self.run.messages_by_kind.iter_mut().zip(by_kind) {
            *total += count;
        }
        self.run.bytes += messages * self.sizes.header
            + entries * self.sizes.entry
            + digest_entries * self.sizes.digest_entry;
        self.run.delivered += fates.delivered;
        self.run.lost += fates.lost;
        self.run.dropped_at_crashed += fates.dropped;
    }

    /// Counts `count` HyParView membership messages of `header` bytes each (their node lists
    /// are not modelled in `bytes`).
    pub fn count_membership(&mut self, count: u64) {
        self.run.messages += count;
        self.run.messages_by_kind[MessageKind::Membership as usize] += count;
        self.run.bytes += count * self.sizes.header;
    }

    /// A protocol left `entries` price entries out of a message to fit the bounds.
    pub fn deferred(&mut self, entries: u64) {
        self.run.deferred_entries += entries;
    }

    /// A message was over the size limit, or its sender's budget was spent.
    pub fn over_bounds(&mut self, oversize: bool, over_budget: bool) {
        self.run.oversize_messages += u64::from(oversize);
        self.run.over_budget_messages += u64::from(over_budget);
    }

    /// A message was lost by the network.
    #[inline(always)]
    pub fn lost(&mut self) {
        self.run.lost += 1;
    }

    /// A message was dropped: its recipient is down.
    #[inline(always)]
    pub fn dropped(&mut self) {
        self.run.dropped_at_crashed += 1;
    }

    #[inline(always)]
    pub fn delivered(&mut self) {
        self.run.delivered += 1;
    }

    /// The engine handled one more event (for events/s in benchmarks).
    #[inline(always)]
    pub fn event(&mut self) {
        self.run.events += 1;
    }

    // ---- faults ------------------------------------------------------------------------------

    /// `node` crashed.
    pub fn crashed(&mut self, node: NodeId) {
        self.run.crashes += 1;
        if let Some(regions) = &mut self.regions {
            regions.crashed(node);
        }
    }

    /// `node` recovered.
    pub fn recovered(&mut self, node: NodeId) {
        self.run.recoveries += 1;
        if let Some(regions) = &mut self.regions {
            regions.recovered(node);
        }
    }

    /// `node`, a holder of `slot`, is no longer a live holder (it crashed).
    pub fn holder_lost(&mut self, node: NodeId, slot: usize) {
        if let Some(regions) = &mut self.regions {
            regions.lost(node, slot);
        }
    }

    /// `node`, a holder of `slot`, is a live holder again (it recovered with its table).
    pub fn holder_back(&mut self, node: NodeId, slot: usize) {
        if let Some(regions) = &mut self.regions {
            regions.gained(node, slot);
        }
    }

    // ---- milestones, coverage, staleness -----------------------------------------------------

    /// Records the milestones `slot` (update `update`) has reached at `at`, with `informed` of
    /// the `alive` live nodes holding it.
    pub fn milestones(&mut self, slot: usize, update: usize, informed: u64, alive: u64, at: Time) {
        if alive == 0 {
            return;
        }
        if let Some(regions) = &mut self.regions {
            regions.check(slot, update, at);
        }
        let report = &mut self.updates[update];
        if report.reached_all.is_some() {
            return;
        }
        for (pct, field) in [
            (50, &mut report.reached_50),
            (90, &mut report.reached_90),
            (99, &mut report.reached_99),
        ] {
            if field.is_none() && informed * 100 >= pct * alive {
                *field = Some(at);
            }
        }
        if informed >= alive {
            report.reached_all = Some(at);
            report.messages_to_all = Some(self.run.messages - self.messages_at_injection[update]);
        }
    }

    /// A coverage sample of update `update` at `at`.
    pub fn sample(&mut self, update: u32, informed: u64, alive: u64, at: Time) {
        self.coverage.push(CoverageSample {
            update,
            at,
            informed,
            alive,
        });
    }

    /// `lacking` live nodes lacked update `update` (in flight) this round (period).
    pub fn update_stale(&mut self, update: usize, lacking: u64) {
        self.updates[update].stale_node_rounds += lacking;
    }

    /// `stale` live nodes served an outdated price this round (period).
    pub fn stale(&mut self, stale: u64) {
        self.run.stale_node_rounds += stale;
    }

    // ---- the end -----------------------------------------------------------------------------

    /// Update `update` ends held by `informed` of the `alive` live nodes.
    pub fn final_coverage(&mut self, update: usize, informed: u64, alive: u64) {
        self.updates[update].final_informed = informed;
        self.updates[update].final_alive = alive;
    }

    /// The reports of a trial that ended at `end` with `alive` live nodes.
    pub fn finish(
        mut self,
        end: Time,
        alive: u64,
    ) -> (Vec<UpdateReport>, RunReport, Vec<CoverageSample>) {
        self.run.end = end;
        self.run.alive_at_end = alive;
        self.run.never_sent_entries = self
            .updates
            .iter()
            .filter(|u| u.injected && u.update_messages == 0 && u.final_informed < u.final_alive)
            .count() as u64;
        // Samples are taken slot by slot; in the report they go by update, then time (as in
        // coverage.csv), so that no report depends on which slot an update was given.
        self.coverage
            .sort_by_key(|sample| (sample.update, sample.at));
        (self.updates, self.run, self.coverage)
    }
}

/// What became of messages counted in bulk (see [`Metrics::add_message_counts`]).
#[derive(Clone, Copy, Default)]
pub struct Fates {
    pub delivered: u64,
    pub lost: u64,
    pub dropped: u64,
}
