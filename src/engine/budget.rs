//! Bandwidth bounds (issue 15): the scenario's message size limit (`network.max_message_bytes`,
//! an MTU) and per-node send budget (`network.budget_bytes_per_period`).
//!
//! The engine never drops or trims a message to fit: protocols read the bounds through their
//! [`super::context::Context`] and decide what goes and what waits (their priority policy).
//! The engine charges every message sent to its sender's budget for the current period, and
//! counts a message over the limit, or sent with the budget spent, as a protocol's bug
//! (`oversize_messages`, `over_budget_messages`).

use crate::scenario::{Network, SizeModel};

pub(crate) struct Budget {
    sizes: SizeModel,
    max_message_bytes: Option<u64>,
    per_period: Option<u64>,
    /// Per node: bytes sent in period `period[node]` (empty without a budget).
    spent: Vec<u64>,
    period: Vec<u64>,
}

impl Budget {
    pub fn new(network: &Network, sizes: SizeModel, nodes: usize) -> Budget {
        let per_node = if network.budget_bytes_per_period.is_some() {
            nodes
        } else {
            0
        };
        Budget {
            sizes,
            max_message_bytes: network.max_message_bytes,
            per_period: network.budget_bytes_per_period,
            spent: vec![0; per_node],
            period: vec![0; per_node],
        }
    }

    /// Whether any bound applies.
    #[inline(always)]
    pub fn bounded(&self) -> bool {
        self.max_message_bytes.is_some() || self.per_period.is_some()
    }

    pub fn max_message_bytes(&self) -> Option<u64> {
        self.max_message_bytes
    }

    pub fn sizes(&self) -> SizeModel {
        self.sizes
    }

    /// Bytes of a message of `entries` price entries and `digest_entries` digest entries.
    pub fn bytes(&self, entries: u64, digest_entries: u64) -> u64 {
        self.sizes.header + entries * self.sizes.entry + digest_entries * self.sizes.digest_entry
    }

    /// Bytes `node` may still send in period `period`, or `None` without a budget.
    pub fn left(&self, node: u32, period: u64) -> Option<u64> {
        let budget = self.per_period?;
        let node = node as usize;
        let spent = if self.period[node] == period {
            self.spent[node]
        } else {
            0
        };
        Some(budget.saturating_sub(spent))
    }

    /// The most bytes `node`'s next message may have in period `period`: the message limit and
    /// what is left of its budget, whichever is smaller; `u64::MAX` when unbounded.
    pub fn room(&self, node: u32, period: u64) -> u64 {
        let mtu = self.max_message_bytes.unwrap_or(u64::MAX);
        self.left(node, period).map_or(mtu, |left| left.min(mtu))
    }

    /// Charges a message of `bytes` to `node` in period `period`; returns (over the message
    /// limit, over what was left of the budget).
    pub fn charge(&mut self, node: u32, period: u64, bytes: u64) -> (bool, bool) {
        let oversize = self.max_message_bytes.is_some_and(|mtu| bytes > mtu);
        let mut over_budget = false;
        if let Some(left) = self.left(node, period) {
            over_budget = bytes > left;
            let node = node as usize;
            if self.period[node] != period {
                self.period[node] = period;
                self.spent[node] = 0;
            }
            self.spent[node] += bytes;
        }
        (oversize, over_budget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Latency;

    fn network(mtu: Option<u64>, budget: Option<u64>) -> Network {
        Network {
            loss: 0.0,
            latency: Latency::Constant { ms: 0.0 },
            max_message_bytes: mtu,
            budget_bytes_per_period: budget,
        }
    }

    #[test]
    fn the_budget_is_per_node_and_per_period() {
        let mut b = Budget::new(&network(Some(100), Some(150)), SizeModel::default(), 2);
        assert_eq!(b.room(0, 0), 100);
        assert_eq!(b.charge(0, 0, 80), (false, false));
        assert_eq!(b.left(0, 0), Some(70));
        assert_eq!(b.room(0, 0), 70);
        assert_eq!(b.left(1, 0), Some(150));
        // A new period starts afresh.
        assert_eq!(b.left(0, 1), Some(150));
        assert_eq!(b.charge(0, 0, 80), (false, true));
        assert_eq!(b.charge(1, 3, 101), (true, false));
        assert_eq!(b.left(0, 0), Some(0));
    }

    #[test]
    fn without_bounds_there_is_room_for_anything() {
        let mut b = Budget::new(&network(None, None), SizeModel::default(), 2);
        assert!(!b.bounded());
        assert_eq!(b.room(1, 7), u64::MAX);
        assert_eq!(b.charge(1, 7, 1 << 40), (false, false));
        assert_eq!(b.bytes(2, 3), 32 + 48 + 48);
    }
}
