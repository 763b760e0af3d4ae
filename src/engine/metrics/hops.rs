//! Hop counts: how many messages an update took to reach each node that holds it.
//!
//! Four bits per node per slot, valid where the node's bit is set, in blocks of up to 512
//! slots, node-major within a block: a delivery of updates spread over a wide row reads the
//! sender's counts from adjacent cache lines (which the hardware prefetcher streams) rather than
//! one random line per row word. (Slot-major vectors cost a cache miss per learnt bit: over half
//! of the storefront benchmark's time; blocks of 64 slots, a random line per row word.) While
//! fewer than 512 slots were ever needed there is one block exactly as wide as the slots (a
//! power of two), so one update in flight costs half a byte per node; beyond that, blocks of
//! 512 are appended without copying.
//!
//! Hop counts are 16-bit (saturating) like the reports' arithmetic on them, but are mostly
//! small: gossip reaches n nodes in about log n hops (the storefront benchmark's deepest is
//! 15-20; one update over 10^7 nodes in rounds timing, 0.5% of nodes at 15 or more). A count
//! that does not fit its field is kept in an overflow map, and the field says so (all ones).
//! A block whose overflow grows past 1/128 of its entries - where the map would cost more than
//! the half byte saves, and its lookups would show - is widened to a byte per count (the
//! overflow then starts at 255), once. Exact either way: the layout is never seen outside.
//! Four bits instead of a byte halve the memory and the cache lines of the biggest per-node
//! structure of a many-updates run.

use std::collections::BTreeMap;

use crate::scenario::NodeId;

/// Slots per block, once there is more than one.
const BLOCK: usize = 512;

/// A block widens to a byte per count once more than one in this many of its counts overflow
/// (and more than [`MIN_WIDEN`]): an overflow entry costs some 40 bytes and a map lookup.
const WIDEN_EVERY: usize = 128;
const MIN_WIDEN: usize = 1024;

/// One block of counts: `nodes x width` fields, packed two to a byte (`pack` 1) until widened
/// to one per byte (`pack` 0).
struct Block {
    bytes: Vec<u8>,
    /// log2 of the fields per byte.
    pack: u32,
    /// The field's bits; all ones marks a count kept in the overflow map.
    mask: u8,
    /// Overflow entries of this block.
    overflowing: usize,
}

impl Block {
    /// A block of `entries` zero counts, four bits each.
    fn nibbles(entries: usize) -> Block {
        Block {
            bytes: crate::engine::memory::filled(entries.div_ceil(2), 0u8),
            pack: 1,
            mask: 0x0f,
            overflowing: 0,
        }
    }

    fn entries(&self) -> usize {
        self.bytes.len() << self.pack
    }

    /// The byte holding field `i`, and the field's shift within it.
    #[inline(always)]
    fn place(&self, i: usize) -> (usize, u32) {
        (i >> self.pack, ((i as u32) & self.pack) << 2)
    }

    #[inline(always)]
    fn raw(&self, i: usize) -> u8 {
        let (byte, shift) = self.place(i);
        (self.bytes[byte] >> shift) & self.mask
    }

    /// Stores `value` (at most `mask`) in field `i`; returns what it held.
    #[inline(always)]
    fn put(&mut self, i: usize, value: u8) -> u8 {
        let (byte, shift) = self.place(i);
        let byte = &mut self.bytes[byte];
        let old = (*byte >> shift) & self.mask;
        *byte = (*byte & !(self.mask << shift)) | (value << shift);
        old
    }
}

#[derive(Default)]
pub(in crate::engine) struct Hops {
    /// log2 of the slots per block.
    width_log2: u32,
    blocks: Vec<Block>,
    /// Hop counts that do not fit their field, by (node, slot).
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
            let mut wider = Block::nibbles(nodes * new_width);
            if let Some(old) = self.blocks.first() {
                if old.pack == 0 {
                    wider.bytes = crate::engine::memory::filled(nodes * new_width, 0u8);
                    wider.pack = 0;
                    wider.mask = u8::MAX;
                }
                wider.overflowing = old.overflowing;
                let row_bytes = width >> old.pack;
                if row_bytes > 0 {
                    // Whole bytes per node row: copied as they are.
                    let new_row_bytes = new_width >> old.pack;
                    for (node, row) in old.bytes.chunks_exact(row_bytes).enumerate().take(nodes) {
                        let at = node * new_row_bytes;
                        wider.bytes[at..at + row_bytes].copy_from_slice(row);
                    }
                } else {
                    // One four-bit field per node, two nodes to a byte.
                    for node in 0..nodes {
                        wider.put(node * new_width, old.raw(node));
                    }
                }
                self.blocks[0] = wider;
            } else {
                self.blocks.push(wider);
            }
            // The overflow map is keyed by slot, which did not move.
            self.width_log2 = new_log2;
        }
        while self.blocks.len() << self.width_log2 < slots {
            self.blocks.push(Block::nibbles(nodes << self.width_log2));
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
            let (byte, _) = block.place(i);
            crate::engine::memory::prefetch(block.bytes.as_ptr().wrapping_add(byte));
        }
    }

    #[inline(always)]
    pub(in crate::engine) fn get(&self, node: NodeId, slot: usize) -> u16 {
        let (block, i) = self.index(node, slot);
        let block = &self.blocks[block];
        match block.raw(i) {
            raw if raw == block.mask => self.overflow_of(node, slot, block.mask),
            hop => u16::from(hop),
        }
    }

    #[cold]
    fn overflow_of(&self, node: NodeId, slot: usize, mask: u8) -> u16 {
        let hop = self.overflow.get(&(node, slot)).copied();
        debug_assert!(hop.is_some(), "an overflow field without its entry");
        hop.unwrap_or(u16::from(mask))
    }

    #[inline(always)]
    pub(in crate::engine) fn set(&mut self, node: NodeId, slot: usize, hop: u16) {
        let (b, i) = self.index(node, slot);
        let block = &mut self.blocks[b];
        let mask = block.mask;
        let fits = hop < u16::from(mask);
        let old = block.put(i, if fits { hop as u8 } else { mask });
        if old == mask || !fits {
            self.overflowed(b, node, slot, hop, old == mask, fits);
        }
    }

    /// The overflow side of [`Hops::set`]: `was`: the field held an overflowed count (a
    /// reused slot's, or this one's); `fits`: the new count fits the field.
    #[cold]
    fn overflowed(&mut self, b: usize, node: NodeId, slot: usize, hop: u16, was: bool, fits: bool) {
        let block = &mut self.blocks[b];
        if was && fits {
            self.overflow.remove(&(node, slot));
            block.overflowing -= 1;
            return;
        }
        if self.overflow.insert((node, slot), hop).is_none() {
            block.overflowing += 1;
        }
        if block.pack == 1 && block.overflowing > MIN_WIDEN.max(block.entries() / WIDEN_EVERY) {
            self.widen(b);
        }
    }

    /// Block `b` moves to a byte per count: counts from 15 to 254 leave the overflow map.
    fn widen(&mut self, b: usize) {
        let width_log2 = self.width_log2;
        let block = &self.blocks[b];
        let entries = block.entries();
        let mut bytes = crate::engine::memory::filled(entries, 0u8);
        let mut overflowing = 0;
        for (i, byte) in bytes.iter_mut().enumerate() {
            let raw = block.raw(i);
            *byte = raw;
            if raw == block.mask {
                let key = (
                    (i >> width_log2) as NodeId,
                    (b << width_log2) | (i & ((1 << width_log2) - 1)),
                );
                let hop = self.overflow.get(&key).copied().unwrap_or(u16::from(raw));
                if hop < u16::from(u8::MAX) {
                    *byte = hop as u8;
                    self.overflow.remove(&key);
                } else {
                    *byte = u8::MAX;
                    overflowing += 1;
                }
            }
        }
        self.blocks[b] = Block {
            bytes,
            pack: 0,
            mask: u8::MAX,
            overflowing,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_of_any_size_come_back_exactly() {
        let mut hops = Hops::default();
        hops.make_room(10, 3);
        for (node, hop) in [
            (0, 0),
            (1, 254),
            (2, 255),
            (3, 256),
            (4, u16::MAX),
            (5, 14),
            (6, 15),
        ] {
            hops.set(node, 2, hop);
        }
        hops.make_room(10, 70); // widens block 0
        hops.set(9, 69, 300);
        hops.make_room(10, 1100); // appends blocks
        hops.set(8, 1099, 2);
        for (node, hop) in [
            (0, 0),
            (1, 254),
            (2, 255),
            (3, 256),
            (4, u16::MAX),
            (5, 14),
            (6, 15),
        ] {
            assert_eq!(hops.get(node, 2), hop, "node {node}");
        }
        assert_eq!(hops.get(9, 69), 300);
        assert_eq!(hops.get(8, 1099), 2);
        // Overwriting an overflowed count with a small one drops its entry.
        hops.set(3, 2, 7);
        assert_eq!(hops.get(3, 2), 7);
        assert_eq!(hops.overflow.len(), 5, "254, 255, u16::MAX, 15 and 300");
    }

    /// Random counts, deep ones common enough to widen some blocks and not others, through
    /// every growth of the layout, against a plain table.
    #[test]
    fn packed_and_widened_blocks_keep_every_count() {
        use rand::{Rng, SeedableRng};
        let nodes = 3000;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut hops = Hops::default();
        let mut plain = vec![vec![0u16; 1600]; nodes];
        let mut slots = 1;
        for round in 0..16 {
            // One slot first (two nodes to a byte), then doubling to 1,600.
            hops.make_room(nodes, slots);
            for _ in 0..60_000 {
                let node = rng.random_range(0..nodes);
                let slot = rng.random_range(0..slots);
                // Block 2's slots (1024 to 1535) are deep (a quarter of counts at 15 or more,
                // which widens the block); the others shallow; a few beyond a byte everywhere.
                let hop = match rng.random_range(0..1000) {
                    0 => rng.random_range(255..=u16::MAX),
                    r if (1024..1536).contains(&slot) && r < 250 => rng.random_range(15..255),
                    _ => rng.random_range(0..15),
                };
                hops.set(node as NodeId, slot, hop);
                plain[node][slot] = hop;
            }
            for (node, counts) in plain.iter().enumerate() {
                for (slot, &hop) in counts.iter().enumerate().take(slots) {
                    assert_eq!(hops.get(node as NodeId, slot), hop, "round {round}");
                }
            }
            slots = (slots * 2).min(1600);
        }
        let packs: Vec<u32> = hops.blocks.iter().map(|b| b.pack).collect();
        assert_eq!(
            packs,
            [1, 1, 0, 1],
            "blocks of deep counts widen, the others do not"
        );
        let entries: usize = hops.blocks.iter().map(|b| b.overflowing).sum();
        assert_eq!(entries, hops.overflow.len());
    }
}
