//! Hop counts: how many messages an update took to reach each node that holds it.
//!
//! One byte per node per slot, valid where the node's bit is set, node-major: a node's counts
//! of every slot lie together, so a delivery of updates spread over a wide row reads the
//! sender's counts from adjacent cache lines (which the hardware prefetcher streams) rather than
//! one random line per row word. (Slot-major vectors cost a cache miss per learnt bit: over half
//! of the storefront benchmark's time; blocks of 64 slots, a random line per word.) The row
//! stride is the slots rounded to a power of two up to 64 and doubles beyond, so one update in
//! flight costs a byte per node and widening copies the counts a few times per run.
//!
//! Hop counts are 16-bit (saturating) like the reports' arithmetic on them, but almost never
//! reach 255: a count of 255 or more is kept in an overflow map and its byte says so. Exact
//! either way; a byte instead of two halves the memory and the cache lines of the biggest
//! per-node structure of a many-updates run.

use std::collections::BTreeMap;

use crate::scenario::NodeId;

/// The byte of a hop count kept in the overflow map.
const OVERFLOW: u8 = u8::MAX;

#[derive(Default)]
pub(super) struct Hops {
    /// Slots per node row.
    stride: usize,
    data: Vec<u8>,
    /// Hop counts from `OVERFLOW` up, by (node, slot).
    overflow: BTreeMap<(NodeId, usize), u16>,
}

impl Hops {
    /// Room for slots `0..slots` of `nodes` nodes, keeping every value.
    pub(super) fn make_room(&mut self, nodes: usize, slots: usize) {
        if slots <= self.stride {
            return;
        }
        let stride = if slots <= 64 {
            slots.next_power_of_two()
        } else {
            slots.div_ceil(64).max(self.stride.div_ceil(64) * 2) * 64
        };
        let mut wider = super::super::huge::filled(nodes * stride, 0u8);
        if self.stride > 0 {
            for (node, row) in self.data.chunks_exact(self.stride).enumerate() {
                wider[node * stride..node * stride + self.stride].copy_from_slice(row);
            }
        }
        // The overflow map is keyed by slot, which did not move.
        self.data = wider;
        self.stride = stride;
    }

    #[inline(always)]
    fn index(&self, node: NodeId, slot: usize) -> usize {
        node as usize * self.stride + slot
    }

    /// Asks the processor for the cache line of `node`'s hop count of `slot` (a hint).
    #[inline(always)]
    pub(super) fn prefetch(&self, node: NodeId, slot: usize) {
        super::super::rows::prefetch(self.data.as_ptr().wrapping_add(self.index(node, slot)));
    }

    #[inline(always)]
    pub(super) fn get(&self, node: NodeId, slot: usize) -> u16 {
        match self.data[self.index(node, slot)] {
            OVERFLOW => self.overflow_of(node, slot),
            hop => u16::from(hop),
        }
    }

    #[cold]
    fn overflow_of(&self, node: NodeId, slot: usize) -> u16 {
        let hop = self.overflow.get(&(node, slot)).copied();
        debug_assert!(hop.is_some(), "an overflow byte without its entry");
        hop.unwrap_or(u16::from(OVERFLOW))
    }

    #[inline(always)]
    pub(super) fn set(&mut self, node: NodeId, slot: usize, hop: u16) {
        let i = self.index(node, slot);
        if hop < u16::from(OVERFLOW) {
            self.data[i] = hop as u8;
            if !self.overflow.is_empty() {
                // A reused slot may have left an entry behind.
                self.overflow.remove(&(node, slot));
            }
        } else {
            self.data[i] = OVERFLOW;
            self.overflow.insert((node, slot), hop);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_any_size_come_back_exactly() {
        let mut hops = Hops::default();
        hops.make_room(10, 3);
        for (node, hop) in [(0, 0), (1, 254), (2, 255), (3, 256), (4, u16::MAX)] {
            hops.set(node, 2, hop);
        }
        hops.make_room(10, 70); // widens every row twice over
        hops.set(9, 69, 300);
        for (node, hop) in [(0, 0), (1, 254), (2, 255), (3, 256), (4, u16::MAX)] {
            assert_eq!(hops.get(node, 2), hop, "node {node}");
        }
        assert_eq!(hops.get(9, 69), 300);
        // Overwriting an overflowed count with a small one drops its entry.
        hops.set(3, 2, 7);
        assert_eq!(hops.get(3, 2), 7);
        assert_eq!(hops.overflow.len(), 3);
    }
}
