//! The end of a round (rounds timing) or period (async timing): what was learnt becomes
//! visible, milestones and coverage are taken, stale nodes counted, and updates that every
//! table holder has retire into the baseline (see "Retirement and the baseline" in `world`).

use crate::time::Time;

use super::super::rows::for_each_bit;
use super::{NONE, World, clear_bit};

#[cfg(test)]
thread_local! {
    /// How many times rows narrowed on this thread (the tests check that the fast path ran).
    pub(in crate::engine) static NARROWINGS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Row words with slots in flight that up nodes held whole at the start of rounds on this
    /// thread (likewise).
    pub(in crate::engine) static SETTLED_WORDS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Round starts on this thread that refreshed the rows' changed words only (checked
    /// against a whole copy each time).
    pub(in crate::engine) static REFRESHES: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    /// Rows emptied by a crash that such refreshes noted whole.
    pub(in crate::engine) static EMPTIED_ROWS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl World {
    /// Makes what was learnt during the round visible (rounds timing).
    pub fn end_round(&mut self) {
        debug_assert!(self.in_round);
        self.flush_tally();
        std::mem::swap(&mut self.rows, &mut self.next);
        self.noted_words = 0;
        if let Some(spreaders) = &mut self.spreaders {
            std::mem::swap(&mut spreaders.now, &mut spreaders.next);
        }
        self.in_round = false;
    }

    /// Starts a round (rounds timing): the write target begins as the start-of-round state,
    /// and with rows of many words, each node's lacking words are noted.
    pub fn begin_round(&mut self) {
        debug_assert!(self.staged);
        if self.rows.words_per_row() > 1 {
            self.copy_noting_lacks();
        } else {
            self.next.copy_from(&self.rows);
            self.renote_all = true;
            self.emptied_rows.clear();
        }
        if let Some(spreaders) = &mut self.spreaders {
            spreaders.next.copy_from(&spreaders.now);
        }
        self.in_round = true;
    }

    /// The copy of `begin_round` for rows of many words, noting per node the words in which it
    /// lacks a slot in flight at the start of the round (`World::lacking_words`). A payload of
    /// what one node holds minus what another held at the start of the round is empty in
    /// every other word, so a digest contact reads only the words its receiver lacks. Under
    /// churn, thousands of updates wait in flight for the down nodes (the storefront
    /// benchmark: rows of 147 words) while an up node lacks only the young updates still
    /// spreading, which lie in a few words (`World::vacant_slot`), and a node back from a
    /// crash the updates of its downtime. With the fast paths off, every word is noted.
    ///
    /// Only the first round after the rows change shape copies and notes every word. Later
    /// ones refresh a node's words it lacked at the last round's start, the words slots were
    /// born in since, and the whole row of a node that lost its table: a round's contacts
    /// write only words their receiver lacked, between rounds learning writes both matrices
    /// (`World::learn`), crashes and retirement clear both, and a word held whole stays whole
    /// until a slot is born in it. A node then copies some 10 of 147 words instead of all.
    fn copy_noting_lacks(&mut self) {
        let words = self.rows.words_per_row();
        self.noted_words = words;
        self.lack_words = words.div_ceil(64);
        let lack_words = self.lack_words;
        let nodes = self.nodes as usize;
        if !self.skips_settled {
            self.next.copy_from(&self.rows);
            self.lacking.resize(nodes * lack_words, 0);
            for (i, lack) in self.lacking.iter_mut().enumerate() {
                let w = i % lack_words * 64;
                *lack = if words - w >= 64 {
                    u64::MAX
                } else {
                    (1 << (words - w)) - 1
                };
            }
        } else if self.renote_all {
            self.lacking.resize(nodes * lack_words, 0);
            let active = &self.slots.active[..words];
            self.next
                .copy_noting_lacks(&self.rows, active, &mut self.lacking);
        } else {
            let active = &self.slots.active[..words];
            self.next
                .refresh_noting_lacks(&self.rows, active, &mut self.lacking, &self.born_words);
            for &node in &self.emptied_rows {
                self.next
                    .copy_row_noting_lacks(&self.rows, node, active, &mut self.lacking);
            }
            #[cfg(test)]
            EMPTIED_ROWS.with(|n| n.set(n.get() + self.emptied_rows.len() as u64));
            #[cfg(test)]
            {
                let mut next = self.next.clone();
                let mut lacking = vec![0; self.lacking.len()];
                next.copy_noting_lacks(&self.rows, active, &mut lacking);
                assert!(
                    next.data() == self.next.data(),
                    "a row word the refresh missed"
                );
                assert!(lacking == self.lacking, "a lacking word the refresh missed");
                REFRESHES.with(|n| n.set(n.get() + 1));
            }
        }
        self.renote_all = false;
        self.born_words.clear();
        self.born_words.resize(lack_words, 0);
        self.emptied_rows.clear();
        #[cfg(test)]
        if self.skips_settled {
            let mut skipped = 0;
            for node in 0..self.nodes {
                if !self.up.contains(node) {
                    continue;
                }
                for w in 0..words {
                    skipped += u64::from(self.slots.active[w] != 0 && !self.lacked(node, w));
                }
            }
            SETTLED_WORDS.with(|n| n.set(n.get() + skipped));
        }
    }

    /// Milestones, coverage samples, stale count and retirement at the end of a round or period.
    pub fn close_period(&mut self, at: Time) {
        self.check_all_milestones(at);
        if self.metrics.keeps_coverage() {
            self.for_each_active(|world, slot| world.sample(slot, at));
        }
        let stale = self.stale_nodes();
        self.metrics.stale(stale);
        self.for_each_active(|world, slot| {
            // Live nodes lacking this version (holding neither it nor a newer one).
            let lacking = world.alive - world.slots.informed_live[slot].min(world.alive);
            let update = world.slots.update[slot] as usize;
            world.metrics.update_stale(update, lacking);
        });
        self.retire_eligible();
    }

    fn for_each_active(&mut self, mut f: impl FnMut(&mut World, usize)) {
        for w in 0..self.slots.active.len() {
            let mut bits = self.slots.active[w];
            while bits != 0 {
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                f(self, w * 64 + b);
            }
        }
    }

    pub(super) fn check_all_milestones(&mut self, at: Time) {
        self.for_each_active(|world, slot| world.check_milestones(slot, at));
    }

    pub(super) fn check_milestones(&mut self, slot: usize, at: Time) {
        let u = self.slots.update[slot] as usize;
        let informed = self.slots.informed_live[slot];
        self.metrics.milestones(slot, u, informed, self.alive, at);
    }

    pub(super) fn sample(&mut self, slot: usize, at: Time) {
        let informed = self.slots.informed_live[slot];
        self.metrics
            .sample(self.slots.update[slot], informed, self.alive, at);
    }

    /// Live nodes serving an outdated price: missing the newest version of some product in
    /// flight, or missing the baseline.
    fn stale_nodes(&mut self) -> u64 {
        let latest_count: u32 = self.slots.latest.iter().map(|w| w.count_ones()).sum();
        if latest_count == 0 {
            return self.up_without_baseline;
        }
        if latest_count == 1 && self.up_without_baseline == 0 {
            let slot = self
                .slots
                .latest
                .iter()
                .enumerate()
                .find(|(_, w)| **w != 0)
                .map(|(i, w)| i * 64 + w.trailing_zeros() as usize)
                .expect("one latest slot");
            return self.alive - self.slots.informed_live[slot];
        }
        // Only newest versions some up node lacks can make a node stale: under churn most
        // are long held by every up node (waiting for down ones), and with updates filling
        // words together the others lie in a few words. Those words are looked at first where
        // most nodes lack something, so a stale node is found stale after a word or two.
        let mut wanted = std::mem::take(&mut self.wanted);
        wanted.clear();
        let words = self.rows.words_per_row();
        for (w, &latest) in self.slots.latest.iter().enumerate().take(words) {
            let mut mask = 0;
            let mut most = 0;
            for_each_bit(latest, |b| {
                let lacking = self.alive - self.slots.informed_live[w * 64 + b].min(self.alive);
                if lacking > 0 {
                    mask |= 1 << b;
                    most = most.max(lacking);
                }
            });
            if mask != 0 {
                wanted.push((most, w, mask));
            }
        }
        wanted.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut stale = 0;
        for node in 0..self.nodes {
            if !self.up.contains(node) {
                continue;
            }
            let outdated = !self.has_baseline.contains(node)
                || wanted
                    .iter()
                    .any(|&(_, w, mask)| self.rows.word(node, w) & mask != mask);
            stale += u64::from(outdated);
        }
        self.wanted = wanted;
        stale
    }

    fn retire_eligible(&mut self) {
        if self.up_without_baseline > 0 {
            return;
        }
        // A rumor keeps spreading (and costing traffic) after everyone has it, until its
        // spreaders lose interest: retiring it earlier would cut that traffic short.
        if self.spreading() || self.hold_retirement {
            return;
        }
        let mut retiring = std::mem::take(&mut self.scratch);
        retiring.clear();
        let mut any = false;
        for (w, &active) in self.slots.active.iter().enumerate() {
            let mut word = 0;
            for_each_bit(active, |b| {
                if self.slots.informed_all[w * 64 + b] >= self.tables {
                    word |= 1 << b;
                }
            });
            any |= word != 0;
            retiring.push(word);
        }
        if !any {
            self.scratch = retiring;
            return;
        }
        self.slot_epoch += 1;
        // A node that will rejoin by snapshot and lacks a retiring version no longer holds
        // every retired one: its snapshot brings the catalog back.
        for &node in &self.rejoining {
            // Slots in flight all lie within the rows' width.
            let lacks = retiring
                .iter()
                .take(self.rows.words_per_row())
                .enumerate()
                .any(|(w, &bits)| bits & !self.rows.word(node, w) != 0);
            if lacks {
                self.has_baseline.remove(node);
            }
        }
        for (w, &bits) in retiring.iter().enumerate() {
            for_each_bit(bits, |b| self.retire(w * 64 + b));
        }
        // One pass clears every retired column, ready for reuse.
        self.rows.clear_slots(&retiring);
        if self.staged {
            self.next.clear_slots(&retiring);
        }
        if let Some(spreaders) = &mut self.spreaders {
            spreaders.now.clear_slots(&retiring);
            spreaders.next.clear_slots(&retiring);
        }
        self.scratch = retiring;
        self.narrow_rows();
    }

    /// Narrows the rows once the slots in flight fit in a quarter of their width: a burst of
    /// updates widens them (storefront: 8,192 slots, 128 words a row), and without this every
    /// later contact would walk words that hold nothing, and the one-word kernels would never
    /// come back. Slot numbers do not change, so nothing a report shows does; the quarter
    /// keeps a load that hovers near a width from copying the rows back and forth. Runs only
    /// after a retirement, which also moved the slot epoch on: a message still on the wire
    /// with a wider payload is masked (and so cut to the new width) when it arrives.
    fn narrow_rows(&mut self) {
        if !self.narrows {
            return;
        }
        let highest = self
            .slots
            .active
            .iter()
            .enumerate()
            .rev()
            .find(|&(_, &bits)| bits != 0)
            .map_or(0, |(w, &bits)| w * 64 + 63 - bits.leading_zeros() as usize);
        let needed = super::RowMatrix::capacity_for(highest + 1);
        if needed * 4 > self.rows.capacity() {
            return;
        }
        self.rows.narrow(highest + 1);
        if self.staged {
            self.next.narrow(highest + 1);
        }
        self.renote_all = true;
        #[cfg(test)]
        NARROWINGS.with(|n| n.set(n.get() + 1));
    }

    fn retire(&mut self, slot: usize) {
        let u = self.slots.update[slot] as usize;
        self.retired[u] = true;
        let s = &mut self.slots;
        clear_bit(&mut s.active, slot);
        clear_bit(&mut s.latest, slot);
        clear_bit(&mut s.chained, slot);
        let newer = s.newer[slot];
        if newer != NONE {
            s.older[newer as usize] = NONE;
        }
        // Older versions are at least as widespread, so they retire in the same batch.
        let updates = &self.metrics.updates;
        let product = updates[u].product as usize;
        if self.product_latest[product] == slot as u32 {
            self.product_latest[product] = NONE;
        }
        let baseline = &mut self.product_baseline[product];
        if *baseline == NONE || updates[*baseline as usize].version < updates[u].version {
            *baseline = u as u32;
        }
        self.slots.update[slot] = NONE;
    }
}
