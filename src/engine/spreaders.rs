//! Who still spreads which update, for protocols whose nodes stop by themselves (rumor
//! mongering, median-counter): a second node-major bit matrix beside "who holds what", and a
//! few bytes of protocol state per node and update.
//!
//! Like the holdings, it is staged in rounds timing: contacts read `now` (the start of the
//! round) and learning writes `next`.

use crate::scenario::NodeId;

use super::rows::RowMatrix;

pub struct Spreaders {
    /// Spreading at the start of the round.
    pub now: RowMatrix,
    /// Spreading at the end of the round (written during the round).
    pub next: RowMatrix,
    /// Per slot, per node: the protocol's counter or state code.
    pub counter: Vec<Vec<u8>>,
    /// Per slot, per node: per-round tallies or flags, cleared at the end of each round.
    pub ge: Vec<Vec<u8>>,
    pub lt: Vec<Vec<u8>>,
    /// (node, slot) pairs learnt during the current round, for the end-of-round rules.
    pub learnt: Vec<(NodeId, u32)>,
    /// (node, slot) pairs whose tallies were touched this round.
    pub touched: Vec<(NodeId, u32)>,
    /// The state a node starts in when it learns an update between rounds (at injection).
    pub initial: u8,
}

impl Spreaders {
    pub fn new(nodes: usize, initial: u8) -> Spreaders {
        let now = RowMatrix::new(nodes, 1);
        Spreaders {
            next: now.clone(),
            now,
            counter: Vec::new(),
            ge: Vec::new(),
            lt: Vec::new(),
            learnt: Vec::new(),
            touched: Vec::new(),
            initial,
        }
    }

    /// Makes room for slot `slot`.
    pub fn add_slot(&mut self, slot: usize, nodes: usize) {
        if slot + 1 > self.now.capacity() {
            self.now.grow(slot + 1);
            self.next.grow(slot + 1);
        }
        while self.counter.len() <= slot {
            self.counter.push(vec![0; nodes]);
            self.ge.push(vec![0; nodes]);
            self.lt.push(vec![0; nodes]);
        }
    }

    /// `node` starts spreading `slot`.
    pub fn start(&mut self, node: NodeId, slot: usize, in_round: bool) {
        if in_round {
            self.next.set(node, slot);
            self.learnt.push((node, slot as u32));
        } else {
            self.now.set(node, slot);
            self.next.set(node, slot);
            self.counter[slot][node as usize] = self.initial;
        }
    }

    /// A crashed node spreads nothing, now or after it recovers.
    pub fn stop_all(&mut self, node: NodeId) {
        for w in 0..self.now.words_per_row() {
            self.now.clear_bits(node, w, u64::MAX);
            self.next.clear_bits(node, w, u64::MAX);
        }
    }

    /// Marks (node, slot) as touched this round (once).
    pub fn touch(&mut self, node: NodeId, slot: usize, flags: u8) {
        let cell = &mut self.ge[slot][node as usize];
        if *cell & TOUCHED == 0 {
            self.touched.push((node, slot as u32));
        }
        *cell |= TOUCHED | flags;
    }

    /// Whether anyone still spreads anything.
    pub fn any(&self) -> bool {
        self.now.any()
    }
}

/// Flag bits in `ge` for rumor mongering's per-round bookkeeping.
pub const TOUCHED: u8 = 1 << 7;
