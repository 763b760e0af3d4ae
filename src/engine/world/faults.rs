//! Crashes and recoveries: a node's bits leave the live counts (and, when it loses its table,
//! every count and the baseline) and come back with it.

use crate::scenario::NodeId;
use crate::time::Time;

use super::super::rows::for_each_bit;
use super::World;

impl World {
    /// Crashes `node` at `at`. `returns_with_state`: it will recover and keep its table.
    /// Returns false if it was already down.
    pub fn crash(&mut self, node: NodeId, at: Time, recovers: bool, keep_state: bool) -> bool {
        if !self.up.contains(node) {
            return false;
        }
        self.up.remove(node);
        self.alive -= 1;
        self.metrics.crashed(node);
        if !self.has_baseline.contains(node) {
            self.up_without_baseline -= 1;
        }
        let keeps_table = recovers && keep_state;
        let words = self.rows.words_per_row();
        for w in 0..words {
            let bits = self.rows.word(node, w) & self.slots.active[w];
            for_each_bit(bits, |b| {
                let slot = w * 64 + b;
                self.slots.informed_live[slot] -= 1;
                self.metrics.holder_lost(node, slot);
                if !keeps_table {
                    self.slots.informed_all[slot] -= 1;
                }
            });
            if !keeps_table {
                self.rows.clear_bits(node, w, u64::MAX);
                if self.staged {
                    self.next.clear_bits(node, w, u64::MAX);
                }
            }
        }
        if let Some(spreaders) = &mut self.spreaders {
            spreaders.stop_all(node);
        }
        if keeps_table {
            self.returns_with_state.insert(node);
        } else {
            self.tables -= 1;
            self.has_baseline.remove(node);
        }
        // The last node lacking an update may just have crashed.
        self.check_all_milestones(at);
        true
    }

    pub fn recover(&mut self, node: NodeId) {
        if self.up.contains(node) {
            return;
        }
        self.up.insert(node);
        self.alive += 1;
        self.metrics.recovered(node);
        if self.returns_with_state.contains(node) {
            self.returns_with_state.remove(node);
            for w in 0..self.rows.words_per_row() {
                let bits = self.rows.word(node, w) & self.slots.active[w];
                for_each_bit(bits, |b| {
                    self.slots.informed_live[w * 64 + b] += 1;
                    self.metrics.holder_back(node, w * 64 + b);
                });
            }
        } else {
            // Back with an empty table.
            self.tables += 1;
        }
        if !self.has_baseline.contains(node) {
            self.up_without_baseline += 1;
        }
    }
}
