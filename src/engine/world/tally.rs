//! What the lock-step kernel's contacts count of each update in a staged round, kept per slot
//! until the round ends: messages carrying it, duplicates, deliveries and the deepest hop.
//! Counting a bit into the update's report (`UpdateReport`, 208 bytes, reached through the
//! slot's update index) costs a scattered read-modify-write per bit; the storefront benchmark
//! counts some 1.4 billion such bits in 150 rounds. Per slot the counts are dense and small,
//! and every delivery of a round happens at the round's one time, so the report gets them in
//! one addition per slot at the end of the round ([`Metrics::add_update_counts`], as the
//! batched kernel does): the same sums and maxima, in another order.
//!
//! A bit that arrives is either a duplicate or learnt, so the contacts count a message's bits
//! as carried only when it does not arrive, and a duplicate or a learnt carried bit counts as
//! carried too: one count per bit where there were two, and no pass over an arriving
//! message's payload before its delivery.

use crate::time::Time;

use super::super::metrics::Metrics;
use super::{NONE, Slots};

#[derive(Clone, Copy, Default)]
struct Counts {
    /// Messages carrying the update, less the duplicates and the deliveries, which count as
    /// carried too (see the module's header): the bits of messages that did not arrive and an
    /// origin's relearning, minus the versions learnt through a newer one (delivered but not
    /// carried). Wrapping: only the sum at the flush is a count.
    carried: u64,
    duplicates: u64,
    deliveries: u64,
    max_hop: u16,
}

#[derive(Default)]
pub(super) struct RoundTally {
    counts: Vec<Counts>,
    /// The time of the deliveries counted (a staged round's contacts share one).
    at: Option<Time>,
    /// Whether anything was counted since the last flush.
    pending: bool,
}

impl RoundTally {
    /// Room for slot `slot`.
    pub(super) fn add_slot(&mut self, slot: usize) {
        if self.counts.len() <= slot {
            self.counts.resize(slot + 1, Counts::default());
        }
    }

    #[inline(always)]
    pub(super) fn carried(&mut self, slot: usize) {
        self.counts[slot].carried += 1;
        self.pending = true;
    }

    #[inline(always)]
    pub(super) fn duplicate(&mut self, slot: usize) {
        self.counts[slot].duplicates += 1;
        self.pending = true;
    }

    /// A carried bit learnt by a node other than the update's origin, at the time of
    /// [`RoundTally::delivering_at`] (carried too).
    #[inline(always)]
    pub(super) fn delivered(&mut self, slot: usize, hop: u16) {
        let counts = &mut self.counts[slot];
        counts.deliveries += 1;
        counts.max_hop = counts.max_hop.max(hop);
        self.pending = true;
    }

    /// An older version learnt through a newer one: delivered, not carried.
    #[inline(always)]
    pub(super) fn chained(&mut self, slot: usize, hop: u16) {
        let counts = &mut self.counts[slot];
        counts.deliveries += 1;
        counts.carried = counts.carried.wrapping_sub(1);
        counts.max_hop = counts.max_hop.max(hop);
        self.pending = true;
    }

    /// Whether deliveries at `at` may be counted with those counted so far (the same time,
    /// or none yet); else the caller flushes first.
    #[inline(always)]
    pub(super) fn delivering_at(&mut self, at: Time) -> bool {
        match self.at {
            Some(t) => t == at,
            None => {
                self.at = Some(at);
                true
            }
        }
    }

    /// Adds every count to its update's report, and the deliveries to the slots' holders
    /// (nobody reads those within a staged round: happenings and the round's end come
    /// after the flush), and starts afresh. Each slot still holds the update counted: slots
    /// retire only after the round's end.
    pub(super) fn flush(&mut self, slots: &mut Slots, metrics: &mut Metrics) {
        // The time goes even when nothing was counted at it (a delivery of no bits), so that
        // the next deliveries, at another time, are not counted at this one.
        let at = self.at.take().unwrap_or_default();
        if !std::mem::take(&mut self.pending) {
            return;
        }
        for (slot, counts) in self.counts.iter_mut().enumerate() {
            let c = std::mem::take(counts);
            let carried = c
                .carried
                .wrapping_add(c.duplicates)
                .wrapping_add(c.deliveries);
            if carried + c.deliveries > 0 {
                debug_assert_ne!(slots.update[slot], NONE, "a count of a free slot");
                // Every delivery made its receiver (up, keeping its table) a holder.
                slots.add_holders(slot, c.deliveries);
                metrics.add_update_counts(
                    slots.update[slot] as usize,
                    carried,
                    c.duplicates,
                    c.deliveries,
                    c.max_hop,
                    at,
                );
            }
        }
    }
}
