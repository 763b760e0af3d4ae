//! A fixed-size set of node ids, one bit each: cache-friendly for ten million nodes.

#[derive(Clone, Debug)]
pub struct NodeSet {
    words: Vec<u64>,
}

impl NodeSet {
    pub fn new(nodes: usize, full: bool) -> NodeSet {
        let mut set = NodeSet {
            words: super::memory::filled(nodes.div_ceil(64), if full { u64::MAX } else { 0 }),
        };
        if full && !nodes.is_multiple_of(64) {
            let last = set.words.len() - 1;
            set.words[last] = (1u64 << (nodes % 64)) - 1;
        }
        set
    }

    #[inline(always)]
    pub fn contains(&self, node: u32) -> bool {
        self.words[node as usize >> 6] >> (node & 63) & 1 == 1
    }

    #[inline(always)]
    pub fn insert(&mut self, node: u32) {
        self.words[node as usize >> 6] |= 1u64 << (node & 63);
    }

    #[inline(always)]
    pub fn remove(&mut self, node: u32) {
        self.words[node as usize >> 6] &= !(1u64 << (node & 63));
    }

    /// Asks the processor for `node`'s word (a hint).
    #[inline(always)]
    pub fn prefetch(&self, node: u32) {
        super::memory::prefetch(self.words.as_ptr().wrapping_add(node as usize >> 6));
    }

    pub fn bytes(nodes: usize) -> u64 {
        nodes.div_ceil(64) as u64 * 8
    }
}
