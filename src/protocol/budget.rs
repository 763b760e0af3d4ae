//! What a protocol needs to live within the scenario's bandwidth bounds
//! (`network.max_message_bytes`, `network.budget_bytes_per_period`; see
//! [`Context::room`](super::Context::room) and [`Context::entries_fit`](super::Context::entries_fit)):
//! a priority policy for the entries that do not all fit one message, and the [`Selector`] that
//! applies it.

use serde::{Deserialize, Serialize};

use super::{Context, NodeId, Words};
use crate::engine::for_each_bit;

/// Which entries go first when a message cannot carry all it should: `protocol.priority`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Priority {
    /// The most recently injected updates first (a price change supersedes older news).
    #[default]
    Newest,
    /// The updates this node has sent least often first (memberlist's transmit queue).
    FewestTransmissions,
    /// Round-robin over the catalog: each message starts after the last product the node's
    /// previous cut message carried, so every product gets its turn.
    RoundRobin,
}

impl Priority {
    /// The name `protocol.priority` gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Newest => "newest",
            Priority::FewestTransmissions => "fewest-transmissions",
            Priority::RoundRobin => "round-robin",
        }
    }
}

/// Cuts a message's entries to what fits, by a [`Priority`], and keeps the per-node state the
/// policy needs (transmission counts, round-robin cursors). Deterministic: ties go to the lower
/// update index, or the lower product.
pub struct Selector {
    priority: Priority,
    /// Fewest-transmissions: per (node, slot), the update counted and how often `node` sent it
    /// (a slot reused by a later update starts again at 0). Grown on demand.
    sent: Vec<(u32, u32)>,
    slots: usize,
    /// Round-robin: per node, the first product of its next cut.
    cursor: Vec<u32>,
    /// (key, slot) of the candidates of one cut, reused.
    candidates: Vec<(u64, u32)>,
}

impl Selector {
    pub fn new(priority: Priority) -> Selector {
        Selector {
            priority,
            sent: Vec::new(),
            slots: 0,
            cursor: Vec::new(),
            candidates: Vec::new(),
        }
    }

    pub fn priority(&self) -> Priority {
        self.priority
    }

    /// How often `node` has sent the update now in `slot` (fewest-transmissions only; 0 else).
    pub fn transmissions<B: Copy + Default>(
        &self,
        node: NodeId,
        slot: usize,
        cx: &Context<'_, B>,
    ) -> u32 {
        let update = cx.slot_update(slot);
        match self.sent.get(node as usize * self.slots + slot) {
            Some(&(u, count)) if u == update && slot < self.slots => count,
            _ => 0,
        }
    }

    /// Keeps in `entries` (bits of slots `node` would send) at most `fit` of them, by priority;
    /// returns (kept, left out). Counts what is kept as sent by `node` (for
    /// fewest-transmissions), so call it once per message actually sent.
    pub fn cut<B: Copy + Default>(
        &mut self,
        node: NodeId,
        entries: &mut Words,
        fit: u64,
        cx: &Context<'_, B>,
    ) -> (u64, u64) {
        let total: u64 = entries.iter().map(|(_, b)| u64::from(b.count_ones())).sum();
        if total <= fit && self.priority != Priority::FewestTransmissions {
            return (total, 0);
        }
        self.candidates.clear();
        let updates = cx.updates();
        let catalog = cx.catalog_len().max(1);
        let start = u64::from(self.cursor.get(node as usize).copied().unwrap_or(0));
        for (w, bits) in entries.iter() {
            for_each_bit(bits, |b| {
                let slot = w * 64 + b;
                let update = cx.slot_update(slot);
                let key = match self.priority {
                    // Newest first: the higher the update index, the lower the key.
                    Priority::Newest => u64::from(u32::MAX - update),
                    Priority::FewestTransmissions => {
                        (u64::from(self.transmissions(node, slot, cx)) << 32)
                            | u64::from(u32::MAX - update)
                    }
                    Priority::RoundRobin => {
                        let product = u64::from(updates[update as usize].product);
                        ((product + catalog - start % catalog) % catalog) << 32 | u64::from(update)
                    }
                };
                self.candidates.push((key, slot as u32));
            });
        }
        self.candidates.sort_unstable();
        let kept = total.min(fit);
        let words = entries.iter().count();
        entries.clear();
        entries.resize(words);
        for &(_, slot) in &self.candidates[..kept as usize] {
            let (w, b) = (slot as usize / 64, slot % 64);
            entries.set(w, entries.get(w) | 1 << b);
        }
        match self.priority {
            Priority::Newest => {}
            Priority::FewestTransmissions => {
                for i in 0..kept as usize {
                    let slot = self.candidates[i].1 as usize;
                    self.count_sent(node, slot, cx);
                }
            }
            Priority::RoundRobin => {
                if kept < total
                    && let Some(&(_, last)) = self.candidates[..kept as usize].last()
                {
                    let update = cx.slot_update(last as usize) as usize;
                    let product = updates[update].product;
                    if self.cursor.len() <= node as usize {
                        self.cursor.resize(cx.nodes() as usize, 0);
                    }
                    self.cursor[node as usize] = (product + 1) % catalog as u32;
                }
            }
        }
        (kept, total - kept)
    }

    /// Counts one more transmission of `slot`'s update by `node`.
    fn count_sent<B: Copy + Default>(&mut self, node: NodeId, slot: usize, cx: &Context<'_, B>) {
        if slot >= self.slots {
            // Regrow to twice the slots (at least 64), keeping each node's counts.
            let slots = (slot + 1).max(64).max(self.slots * 2);
            let nodes = cx.nodes() as usize;
            let mut grown = vec![(u32::MAX, 0); nodes * slots];
            for n in 0..nodes.min(self.sent.len() / self.slots.max(1)) {
                grown[n * slots..n * slots + self.slots]
                    .copy_from_slice(&self.sent[n * self.slots..(n + 1) * self.slots]);
            }
            self.sent = grown;
            self.slots = slots;
        }
        let update = cx.slot_update(slot);
        let entry = &mut self.sent[node as usize * self.slots + slot];
        if entry.0 != update {
            *entry = (update, 0);
        }
        entry.1 += 1;
    }
}
