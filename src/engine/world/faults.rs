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
        self.crash_rejoining(node, at, recovers, keep_state, false)
    }

    /// [`World::crash`]; `by_snapshot`: it keeps its table and will rejoin by snapshot
    /// ([`World::rejoin_by_snapshot`]), so retirement stops waiting for it.
    pub fn crash_rejoining(
        &mut self,
        node: NodeId,
        at: Time,
        recovers: bool,
        keep_state: bool,
        by_snapshot: bool,
    ) -> bool {
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
        let rejoins = keeps_table && by_snapshot;
        let words = self.rows.words_per_row();
        for w in 0..words {
            let bits = self.rows.word(node, w) & self.slots.active[w];
            for_each_bit(bits, |b| {
                let slot = w * 64 + b;
                self.slots.informed_live[slot] -= 1;
                self.metrics.holder_lost(node, slot);
                if !keeps_table || rejoins {
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
        if !keeps_table && self.staged {
            self.emptied_rows.push(node);
        }
        if let Some(spreaders) = &mut self.spreaders {
            spreaders.stop_all(node);
        }
        if rejoins {
            self.returns_with_state.insert(node);
            self.rejoining.push(node);
            self.tables -= 1;
        } else if keeps_table {
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
            let rejoins = match self.rejoining.iter().position(|&v| v == node) {
                Some(i) => {
                    self.rejoining.swap_remove(i);
                    self.tables += 1;
                    true
                }
                None => false,
            };
            for w in 0..self.rows.words_per_row() {
                let bits = self.rows.word(node, w) & self.slots.active[w];
                for_each_bit(bits, |b| {
                    self.slots.informed_live[w * 64 + b] += 1;
                    if rejoins {
                        self.slots.informed_all[w * 64 + b] += 1;
                    }
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

impl World {
    /// `node`, just back with its table, takes a snapshot of up node `peer`'s over a reliable
    /// stream at `at`: a pull request with its digest, and a reply with the newest versions
    /// `peer` holds that `node` lacks, plus the whole catalog when `node` missed a version
    /// that retired while it was down. Counted as the messages they are; what `node` learns
    /// is learnt as from any message (hop counts, deliveries, duplicates).
    pub fn rejoin_by_snapshot(&mut self, node: NodeId, peer: NodeId, at: Time) {
        debug_assert!(!self.in_round, "between rounds");
        debug_assert!(self.is_up(node) && self.is_up(peer) && node != peer);
        let digest = self.table_entries(node);
        self.metrics
            .send(crate::report::MessageKind::PullRequest, 0, digest);
        self.arrives(peer, false);
        let mut payload = std::mem::take(&mut self.scratch_payload);
        let mut entries = self.top(peer, |w| self.rows.word(node, w), &mut payload);
        let baseline = !self.has_baseline(node) && self.has_baseline(peer);
        if baseline {
            entries += self.catalog_len;
        }
        self.metrics
            .send(crate::report::MessageKind::PullReply, entries, 0);
        self.count_carried(&payload);
        self.arrives(node, false);
        if baseline {
            self.grant_baseline(node);
        }
        self.deliver(node, peer, &payload, at);
        self.scratch_payload = payload;
    }
}
