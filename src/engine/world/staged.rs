//! What the engine's kernels (`kernel::lockstep`, `kernel::batch`) read and write of a staged
//! round beyond the world's public face: raw row words, the slot masks, the rows themselves
//! (taken out so that their geometry can live in registers), and learning in bulk. The
//! kernels compute what the world's own `learn` and `deliver` compute; the tests compare.

use crate::scenario::NodeId;

use super::super::rows::{RowMatrix, for_each_bit};
use super::World;

impl World {
    /// Inside a staged round (between `begin_round` and `end_round`).
    #[inline(always)]
    pub(in crate::engine) fn in_round(&self) -> bool {
        self.in_round
    }

    /// Whether every up node holds the baseline (no contact has a baseline to grant).
    #[inline(always)]
    pub(in crate::engine) fn baseline_everywhere(&self) -> bool {
        self.up_without_baseline == 0
    }

    /// Word `w` of `node`'s row, as of the start of the round when staged.
    #[inline(always)]
    pub(in crate::engine) fn row_word(&self, node: NodeId, w: usize) -> u64 {
        self.rows.word(node, w)
    }

    /// Word `w` of the slots in flight.
    #[inline(always)]
    pub(in crate::engine) fn active_word(&self, w: usize) -> u64 {
        self.slots.active[w]
    }

    /// Word `w` of the slots whose product has a newer version in flight.
    #[inline(always)]
    pub(in crate::engine) fn chained_word(&self, w: usize) -> u64 {
        self.slots.chained[w]
    }

    /// The slot of the next newer version of `slot`'s product (valid for a chained slot).
    #[inline(always)]
    pub(in crate::engine) fn newer_slot(&self, slot: usize) -> usize {
        self.slots.newer[slot] as usize
    }

    /// Takes the start-of-round rows out of a staged round, so that a kernel can keep their
    /// geometry in registers while it changes the world; [`World::restore_rows`] puts them
    /// back. Nothing reads them through the world meanwhile: contacts read start-of-round rows
    /// from what was taken and write `next`.
    pub(in crate::engine) fn take_rows(&mut self) -> RowMatrix {
        debug_assert!(self.in_round);
        std::mem::replace(&mut self.rows, RowMatrix::new(0, 1))
    }

    pub(in crate::engine) fn restore_rows(&mut self, rows: RowMatrix) {
        self.rows = rows;
    }

    /// Asks the processor for `node`'s row of the round's write target (a hint).
    #[inline(always)]
    pub(in crate::engine) fn prefetch_next_row(&self, node: NodeId) {
        self.next.prefetch(node);
    }

    /// Asks the processor for every line of `node`'s rows, at the start of the round and in
    /// the write target (a hint, for a wide-row contact a few contacts ahead).
    #[inline(always)]
    pub(in crate::engine) fn prefetch_whole_rows(&self, node: NodeId) {
        self.rows.prefetch_row(node);
        self.next.prefetch_row(node);
    }

    /// The row words in which `node` lacked a slot in flight at the start of the round, one
    /// bit per word (see `period::copy_noting_lacks`): a payload of what another node holds
    /// minus what `node` held at the start of the round is empty in every other word.
    #[inline(always)]
    pub(in crate::engine) fn lacking_words(&self, node: NodeId) -> &[u64] {
        debug_assert!(self.in_round && self.noted_words > 0);
        let start = node as usize * self.lack_words;
        &self.lacking[start..start + self.lack_words]
    }

    /// Whether `node` lacked a slot in flight of row word `w` (below `noted_words`) at the
    /// start of the round.
    #[inline(always)]
    pub(super) fn lacked(&self, node: NodeId, w: usize) -> bool {
        self.lacking_words(node)[w / 64] >> (w % 64) & 1 == 1
    }

    /// Whether `node` held every slot in flight of row word `w` at the start of the round,
    /// as far as its lacking words tell (false when they were not noted: rows of one word).
    /// It then holds them now: nothing is unlearnt within a round. A node learning a version
    /// learns the older ones it lacks (`World::learn`); this answers "it has them" from a
    /// word in cache instead of a row word at another place of its row.
    #[inline(always)]
    pub(in crate::engine) fn held_word_whole(&self, node: NodeId, w: usize) -> bool {
        w < self.noted_words && !self.lacked(node, w)
    }

    /// Asks the processor for `node`'s lacking words (a hint, a few contacts ahead).
    #[inline(always)]
    pub(in crate::engine) fn prefetch_lacking(&self, node: NodeId) {
        let start = node as usize * self.lack_words;
        super::super::memory::prefetch(self.lacking.as_ptr().wrapping_add(start));
    }

    /// Asks the processor for the row lines a digest contact between `a` and `b` reads and
    /// writes: both start-of-round rows at the words either lacks, and each one's write target
    /// at the words it lacks (a hint).
    #[inline(always)]
    pub(in crate::engine) fn prefetch_rows_between(&self, a: NodeId, b: NodeId) {
        self.for_each_word_lacked(a, b, |w, a_lacks, b_lacks| {
            self.rows.prefetch_word(a, w);
            self.rows.prefetch_word(b, w);
            if a_lacks {
                self.next.prefetch_word(a, w);
            }
            if b_lacks {
                self.next.prefetch_word(b, w);
            }
        });
    }

    /// Asks the processor for the hop-count lines a contact between `a` and `b` may touch:
    /// for every row word either lacks where their start-of-round rows differ in a slot in
    /// flight, the line of both nodes' hop counts for its 64 slots (a hint; a slot's count
    /// lives at `64 * word + bit` of a node's block, so one line per word).
    #[inline(always)]
    pub(in crate::engine) fn prefetch_hops_between(&self, a: NodeId, b: NodeId) {
        self.for_each_word_lacked(a, b, |w, _, _| {
            let differ = (self.rows.word(a, w) ^ self.rows.word(b, w)) & self.slots.active[w];
            if differ != 0 {
                let slot = w * 64 + differ.trailing_zeros() as usize;
                self.metrics.hops.prefetch(a, slot);
                self.metrics.hops.prefetch(b, slot);
            }
        });
    }

    /// Calls `f(w, a lacked w, b lacked w)` for every row word `a` or `b` lacked a slot of at
    /// the start of the round, ascending.
    #[inline(always)]
    fn for_each_word_lacked(&self, a: NodeId, b: NodeId, mut f: impl FnMut(usize, bool, bool)) {
        let (lacks_a, lacks_b) = (self.lacking_words(a), self.lacking_words(b));
        for (i, (&la, &lb)) in lacks_a.iter().zip(lacks_b).enumerate() {
            for_each_bit(la | lb, |bit| {
                f(i * 64 + bit, la >> bit & 1 == 1, lb >> bit & 1 == 1)
            });
        }
    }

    /// Rows of one bit in a staged round: `node` learns slot 0 unless it holds it already;
    /// returns whether it learnt. What [`World::learn`] counts besides the bit - holders, hop
    /// count, the update's report - the caller adds itself ([`World::add_holders`]).
    #[inline(always)]
    pub(in crate::engine) fn learn_one_bit(&mut self, node: NodeId) -> bool {
        if self.next.bit(node) {
            return false;
        }
        self.next.set_bit(node);
        true
    }

    /// `count` more nodes hold `slot`, all of them up and keeping their table.
    pub(in crate::engine) fn add_holders(&mut self, slot: usize, count: u64) {
        self.slots.add_holders(slot, count);
    }
}
