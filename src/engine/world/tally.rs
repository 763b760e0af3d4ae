//! What the lock-step kernel's contacts count of each update in a staged round, kept per slot
//! until the round ends: messages carrying it, duplicates, deliveries and the deepest hop.
//! Counting a bit into the update's report (`UpdateReport`, 208 bytes, reached through the
//! slot's update index) costs a scattered read-modify-write per bit; the storefront benchmark
//! counts some 1.4 billion such bits in 150 rounds. Per slot the counts are dense and small,
//! and every delivery of a round happens at the round's one time, so the report gets them in
//! one addition per slot at the end of the round ([`Metrics::add_update_counts`], as the
//! batched kernel does): the same sums and maxima, in another order.
//!
//! A contact that moves many bits of one row word counts them a word at a time
//! ([`RoundTally::carried_word`] and its kin): into bit-sliced counters, where plane `k` of a
//! row word holds bit `k` of its 64 slots' counts, so adding a word of bits is a carry
//! rippling through a few planes instead of a read-modify-write per bit; and the deepest hop
//! as sixteen four-bit fields per lane. The end of the round adds them to the per-slot counts.

use crate::time::Time;

use super::super::metrics::Metrics;
use super::super::metrics::hops::field_max;
use super::super::rows::for_each_bit;
use super::NONE;

/// Planes of a bit-sliced counter: a slot's count in one round reaches 2^16 only when that
/// many messages carry it, and the carry out of the top plane is counted per slot.
const PLANES: usize = 16;

/// Bit-sliced counts of every row word's 64 slots (see the module's comment).
#[derive(Default)]
struct SlicedCounts {
    /// `PLANES` words per row word.
    planes: Vec<[u64; PLANES]>,
}

impl SlicedCounts {
    /// Adds one to the count of every slot of row word `w` in `bits`; `spill` takes the slots
    /// whose count passed the top plane (each now owes 2^PLANES).
    #[inline(always)]
    fn add(&mut self, w: usize, bits: u64, spill: impl FnOnce(u64)) {
        // Words past the slots in use (rows grow ahead of them) carry nothing.
        if bits == 0 {
            return;
        }
        let planes = &mut self.planes[w];
        let mut carry = bits;
        for plane in planes.iter_mut() {
            let next = *plane & carry;
            *plane ^= carry;
            carry = next;
            if carry == 0 {
                return;
            }
        }
        spill(carry);
    }

    /// Calls `f(slot, count)` for every slot with a count, and zeroes them.
    fn drain(&mut self, mut f: impl FnMut(usize, u64)) {
        for (w, planes) in self.planes.iter_mut().enumerate() {
            for (k, plane) in planes.iter_mut().enumerate() {
                for_each_bit(std::mem::take(plane), |b| f(w * 64 + b, 1 << k));
            }
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Counts {
    carried: u64,
    duplicates: u64,
    deliveries: u64,
    max_hop: u16,
}

#[derive(Default)]
pub(super) struct RoundTally {
    counts: Vec<Counts>,
    /// Counted a word at a time: messages carrying each slot, duplicates, and learnings by
    /// nodes other than the slot's origin (deliveries).
    carried: SlicedCounts,
    duplicates: SlicedCounts,
    learnt: SlicedCounts,
    /// Per row word, the deepest hop delivered of each of its 64 slots learnt a word at a time
    /// that fits four bits: four lanes of sixteen fields (see `Hops::learn_word`).
    deepest: Vec<[u64; 4]>,
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
        let words = slot / 64 + 1;
        if self.deepest.len() < words {
            self.deepest.resize(words, [0; 4]);
            for sliced in [&mut self.carried, &mut self.duplicates, &mut self.learnt] {
                sliced.planes.resize(words, [0; PLANES]);
            }
        }
    }

    /// A message carried the slots of row word `w` in `bits`.
    #[inline(always)]
    pub(super) fn carried_word(&mut self, w: usize, bits: u64) {
        let counts = &mut self.counts;
        self.carried.add(w, bits, |spill| {
            for_each_bit(spill, |b| counts[w * 64 + b].carried += 1 << PLANES);
        });
        self.pending = true;
    }

    /// The slots of row word `w` in `bits` were delivered to nodes that held them already.
    #[inline(always)]
    pub(super) fn duplicate_word(&mut self, w: usize, bits: u64) {
        let counts = &mut self.counts;
        self.duplicates.add(w, bits, |spill| {
            for_each_bit(spill, |b| counts[w * 64 + b].duplicates += 1 << PLANES);
        });
        self.pending = true;
    }

    /// A node other than their origins learnt the slots of row word `w` in `bits`, at the time
    /// of [`RoundTally::delivering_at`], at the hop counts `hops` holds for them (four-bit
    /// fields, lane `j` field `i` for slot `64 w + 16 j + i`; zero where the caller counts the
    /// deepest hop itself, with [`RoundTally::deepest_hop`]).
    #[inline(always)]
    pub(super) fn delivered_word(&mut self, w: usize, bits: u64, hops: &[u64; 4]) {
        let counts = &mut self.counts;
        self.learnt.add(w, bits, |spill| {
            for_each_bit(spill, |b| counts[w * 64 + b].deliveries += 1 << PLANES);
        });
        let deepest = &mut self.deepest[w];
        for (deepest, &hops) in deepest.iter_mut().zip(hops) {
            *deepest = field_max(*deepest, hops);
        }
        self.pending = true;
    }

    /// A delivery of `slot` at hop count `hop` counted by [`RoundTally::delivered_word`],
    /// whose hop did not fit its fields.
    #[inline(always)]
    pub(super) fn deepest_hop(&mut self, slot: usize, hop: u16) {
        let counts = &mut self.counts[slot];
        counts.max_hop = counts.max_hop.max(hop);
    }

    /// A delivery at the time of [`RoundTally::delivering_at`].
    #[inline(always)]
    pub(super) fn delivered(&mut self, slot: usize, hop: u16) {
        let counts = &mut self.counts[slot];
        counts.deliveries += 1;
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

    /// Adds every count to its update's report and starts afresh. `update`: each slot's
    /// update (its slot still holds it: slots retire only after the round's end);
    /// `informed`: each slot's holders, live and all, to which the deliveries counted a word at
    /// a time are added (those counted one at a time were added as they were learnt).
    pub(super) fn flush(
        &mut self,
        update: &[u32],
        informed: [&mut [u64]; 2],
        metrics: &mut Metrics,
    ) {
        if !self.pending {
            return;
        }
        let at = self.at.unwrap_or_default();
        let counts = &mut self.counts;
        self.carried.drain(|slot, n| counts[slot].carried += n);
        self.duplicates
            .drain(|slot, n| counts[slot].duplicates += n);
        let [live, all] = informed;
        self.learnt.drain(|slot, n| {
            counts[slot].deliveries += n;
            live[slot] += n;
            all[slot] += n;
        });
        for (w, deepest) in self.deepest.iter_mut().enumerate() {
            for (j, lane) in deepest.iter_mut().enumerate() {
                let mut lane = std::mem::take(lane);
                while lane != 0 {
                    let i = lane.trailing_zeros() as usize / 4;
                    let counts = &mut counts[w * 64 + j * 16 + i];
                    counts.max_hop = counts.max_hop.max(((lane >> (4 * i)) & 0xf) as u16);
                    lane &= !(0xf << (4 * i));
                }
            }
        }
        for (slot, counts) in self.counts.iter_mut().enumerate() {
            let c = std::mem::take(counts);
            if c.carried + c.duplicates + c.deliveries > 0 {
                debug_assert_ne!(update[slot], NONE, "a count of a free slot");
                metrics.add_update_counts(
                    update[slot] as usize,
                    c.carried,
                    c.duplicates,
                    c.deliveries,
                    c.max_hop,
                    at,
                );
            }
        }
        self.pending = false;
        self.at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words of bits added to bit-sliced counters against a plain count per slot, with one
    /// slot counted past the top plane (2^16) so that its carry spills.
    #[test]
    fn sliced_counts_match_plain_counts_past_the_top_plane() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let words = 3;
        let mut sliced = SlicedCounts {
            planes: vec![[0; PLANES]; words],
        };
        let mut plain = vec![0u64; words * 64];
        let mut spilt = vec![0u64; words * 64];
        for i in 0..150_000 {
            let w = rng.random_range(0..words);
            // Slot 5 of word 1 in every other addition: it passes 2^16 within the loop.
            let bits = if i % 2 == 0 {
                1 << 5
            } else {
                rng.random::<u64>() & rng.random::<u64>()
            };
            let w = if i % 2 == 0 { 1 } else { w };
            for b in 0..64 {
                plain[w * 64 + b] += bits >> b & 1;
            }
            sliced.add(w, bits, |spill| {
                for_each_bit(spill, |b| spilt[w * 64 + b] += 1 << PLANES)
            });
        }
        assert!(plain[64 + 5] > 1 << PLANES);
        assert_eq!(spilt[64 + 5], 1 << PLANES);
        sliced.drain(|slot, n| spilt[slot] += n);
        assert_eq!(spilt, plain);
        assert!(sliced.planes.iter().flatten().all(|&p| p == 0), "drained");
    }
}
