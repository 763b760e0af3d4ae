//! Hop counts: how many messages an update took to reach each node that holds it.
//!
//! One byte per node per slot, valid where the node's bit is set, in blocks of up to 512
//! slots, node-major within a block: a delivery of updates spread over a wide row reads the
//! sender's counts from adjacent cache lines (which the hardware prefetcher streams) rather than
//! one random line per row word. (Slot-major vectors cost a cache miss per learnt bit: over half
//! of the storefront benchmark's time; blocks of 64 slots, a random line per row word.) While
//! fewer than 512 slots were ever needed there is one block exactly as wide as the slots (a
//! power of two), so one update in flight costs a byte per node; beyond that, blocks of 512
//! are appended without copying.
//!
//! Hop counts are 16-bit (saturating) like the reports' arithmetic on them, but almost never
//! reach 255: a count of 255 or more is kept in an overflow map and its byte says so. Exact
//! either way; a byte instead of two halves the memory and the cache lines of the biggest
//! per-node structure of a many-updates run.

use std::collections::BTreeMap;

use crate::scenario::NodeId;

/// The byte of a hop count kept in the overflow map.
const OVERFLOW: u8 = u8::MAX;

/// Slots per block, once there is more than one.
const BLOCK: usize = 512;

#[derive(Default)]
pub(in crate::engine) struct Hops {
    /// log2 of the slots per block.
    width_log2: u32,
    blocks: Vec<Vec<u8>>,
    /// Hop counts from `OVERFLOW` up, by (node, slot).
    overflow: BTreeMap<(NodeId, usize), u16>,
}

impl Hops {
    /// Room for slots `0..slots` of `nodes` nodes, keeping every value.
    pub(in crate::engine) fn make_room(&mut self, nodes: usize, slots: usize) {
        let width = 1usize << self.width_log2;
        if slots <= width * self.blocks.len() {
            return;
        }
        if width < BLOCK {
            let new_log2 = slots.next_power_of_two().min(BLOCK).trailing_zeros();
            let new_width = 1usize << new_log2;
            let mut wider = crate::engine::memory::filled(nodes * new_width, 0u8);
            if let Some(old) = self.blocks.first() {
                for (node, row) in old.chunks_exact(width).enumerate() {
                    wider[node * new_width..node * new_width + width].copy_from_slice(row);
                }
                self.blocks[0] = wider;
            } else {
                self.blocks.push(wider);
            }
            // The overflow map is keyed by slot, which did not move.
            self.width_log2 = new_log2;
        }
        while self.blocks.len() << self.width_log2 < slots {
            self.blocks
                .push(crate::engine::memory::filled(nodes << self.width_log2, 0));
        }
    }

    #[inline(always)]
    fn index(&self, node: NodeId, slot: usize) -> (usize, usize) {
        let mask = (1usize << self.width_log2) - 1;
        (
            slot >> self.width_log2,
            ((node as usize) << self.width_log2) | (slot & mask),
        )
    }

    /// Asks the processor for the cache line of `node`'s hop count of `slot` (a hint).
    #[inline(always)]
    pub(in crate::engine) fn prefetch(&self, node: NodeId, slot: usize) {
        let (block, i) = self.index(node, slot);
        if let Some(block) = self.blocks.get(block) {
            crate::engine::memory::prefetch(block.as_ptr().wrapping_add(i));
        }
    }

    #[inline(always)]
    pub(in crate::engine) fn get(&self, node: NodeId, slot: usize) -> u16 {
        let (block, i) = self.index(node, slot);
        match self.blocks[block][i] {
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
    pub(in crate::engine) fn set(&mut self, node: NodeId, slot: usize, hop: u16) {
        let (block, i) = self.index(node, slot);
        if hop < u16::from(OVERFLOW) {
            self.blocks[block][i] = hop as u8;
            if !self.overflow.is_empty() {
                // A reused slot may have left an entry behind.
                self.overflow.remove(&(node, slot));
            }
        } else {
            self.blocks[block][i] = OVERFLOW;
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
        hops.make_room(10, 70); // widens block 0
        hops.set(9, 69, 300);
        hops.make_room(10, 1100); // appends blocks
        hops.set(8, 1099, 2);
        for (node, hop) in [(0, 0), (1, 254), (2, 255), (3, 256), (4, u16::MAX)] {
            assert_eq!(hops.get(node, 2), hop, "node {node}");
        }
        assert_eq!(hops.get(9, 69), 300);
        assert_eq!(hops.get(8, 1099), 2);
        // Overwriting an overflowed count with a small one drops its entry.
        hops.set(3, 2, 7);
        assert_eq!(hops.get(3, 2), 7);
        assert_eq!(hops.overflow.len(), 3);
    }
}
