//! Flooding, the baseline of Leitão, Pereira & Rodrigues 2007 ("Epidemic Broadcast Trees"): on
//! first receipt of an update a node forwards it once to every neighbour except the one it got
//! it from; the origin sends it to all its neighbours. Later copies are duplicates and are not
//! forwarded. Over a d-regular overlay with no failures every reached node but the origin sends
//! d - 1 copies, so m = d + (n - 1)(d - 1) and RMR = m / (n - 1) - 1 = d - 2 + d / (n - 1).
//!
//! In `rounds` timing a node that learns an update in round r forwards it in round r + 1 (the
//! origin in the round of the injection); copies that reach it in the same round are
//! "simultaneous", and the first one in processing order is the one it got it from. In `async`
//! timing a node forwards on receipt, so its copies leave after one message latency (see
//! `event_driven`). A forward is one push message per neighbour carrying every update the
//! node forwards to that neighbour. Over full membership every node is everyone's neighbour:
//! n - 1 messages per node and update. Over HyParView a node forwards along its active view as
//! it is when it forwards (a crashed neighbour still listed gets a copy that is dropped).

use crate::report::MessageKind;
use crate::scenario::NodeId;
use crate::time::Time;

use super::network::Transport;
use super::peers::PeerSampler;
use super::rows::for_each_bit;
use super::world::World;

/// First senders: (recipient, slot, sender).
type Arrival = (NodeId, u32, NodeId);

#[derive(Default)]
pub struct Flood {
    /// Copies that reached a node that did not hold the update at the start of this round.
    arrivals: Vec<Arrival>,
    /// Last round's first arrivals, one per (node, slot), sorted: read with a cursor, since
    /// nodes act in id order.
    parents: Vec<Arrival>,
    cursor: usize,
    /// The acting node's forwarded updates (one word per row word) and the slots it must not
    /// send back to their sender: (sender, slot).
    forwarding: Vec<u64>,
    exceptions: Vec<(NodeId, u32)>,
    payload: Vec<u64>,
}

impl Flood {
    pub fn new() -> Flood {
        Flood::default()
    }

    /// `node`'s turn in a round: forward what it learnt last round (or was injected with).
    pub fn forward(
        &mut self,
        world: &mut World,
        peers: &PeerSampler,
        transport: &mut Transport,
        node: NodeId,
        at: Time,
    ) {
        let words = world.words();
        self.exceptions.clear();
        while self.cursor < self.parents.len() && self.parents[self.cursor].0 <= node {
            let (to, slot, from) = self.parents[self.cursor];
            if to == node {
                self.exceptions.push((from, slot));
            }
            self.cursor += 1;
        }
        // Forward once: what the node spreads now it will not spread next round (what it
        // learns during this round it will).
        let spreaders = world.spreaders.as_mut().expect("flood spreaders");
        let mut any = false;
        for w in 0..words {
            let now = spreaders.now.word(node, w);
            if now != 0 {
                spreaders.next.clear_bits(node, w, now);
                any = true;
            }
        }
        if !any {
            return;
        }
        self.forwarding.clear();
        // Only the newest version of a product travels (it implies the older ones).
        self.forwarding
            .extend((0..words).map(|w| world.spreading_word(node, w)));
        if self.forwarding.iter().all(|&w| w == 0) {
            return;
        }
        match peers.neighbours(node) {
            Some(neighbours) => {
                for &to in neighbours {
                    self.send(world, transport, node, to, at);
                }
            }
            None => {
                for to in (0..world.nodes).filter(|&to| to != node) {
                    self.send(world, transport, node, to, at);
                }
            }
        }
    }

    /// One push from `from` to `to`: the forwarded updates, minus those `to` sent `from`.
    fn send(
        &mut self,
        world: &mut World,
        transport: &mut Transport,
        from: NodeId,
        to: NodeId,
        at: Time,
    ) {
        self.payload.clone_from(&self.forwarding);
        for &(sender, slot) in &self.exceptions {
            if sender == to {
                let slot = slot as usize;
                self.payload[slot / 64] &= !(1u64 << (slot % 64));
            }
        }
        let entries: u64 = self.payload.iter().map(|w| u64::from(w.count_ones())).sum();
        if entries == 0 {
            return;
        }
        world.send(MessageKind::Push, entries, 0);
        for (w, &bits) in self.payload.iter().enumerate() {
            world.count_carried_word(w, bits);
        }
        if !world.arrives(to, transport.lost()) {
            return;
        }
        for (w, &bits) in self.payload.iter().enumerate() {
            // Not held at the start of the round: `from` may be the one `to` got it from.
            for_each_bit(bits & !world.held_word(to, w), |b| {
                self.arrivals.push((to, (w * 64 + b) as u32, from));
            });
            world.deliver_word(to, from, w, bits, at);
        }
    }

    /// End of round (after the world's): this round's first arrivals become next round's
    /// exceptions.
    pub fn end_round(&mut self, world: &mut World) {
        // Stable: of several copies of a slot reaching a node, the first sent stays first.
        self.arrivals.sort_by_key(|&(to, slot, _)| (to, slot));
        self.arrivals.dedup_by_key(|&mut (to, slot, _)| (to, slot));
        std::mem::swap(&mut self.parents, &mut self.arrivals);
        self.arrivals.clear();
        self.cursor = 0;
        if let Some(spreaders) = world.spreaders.as_mut() {
            // Flooding has no per-node counters to reset.
            spreaders.learnt.clear();
        }
    }
}
