//! Flooding, the baseline of Leitão, Pereira & Rodrigues 2007 ("Epidemic Broadcast Trees"): on
//! first receipt of an update a node forwards it once to every neighbour except the one it got
//! it from; the origin sends it to all its neighbours. Later copies are duplicates and are not
//! forwarded. Over a d-regular overlay with no failures every reached node but the origin sends
//! d - 1 copies, so m = d + (n - 1)(d - 1) and RMR = m / (n - 1) - 1 = d - 2 + d / (n - 1), in
//! either timing.
//!
//! In `rounds` timing a node that learns an update in round r forwards it in round r + 1 (the
//! origin in the round of the injection); copies that reach it in the same round are
//! "simultaneous", and the first one in processing order is the one it got it from. In `async`
//! timing a node forwards on receipt, so its copies leave after one message latency, and nodes
//! have no timers. A forward is one push message per neighbour carrying every update the
//! node forwards to that neighbour. Over full membership every node is everyone's neighbour:
//! n - 1 messages per node and update. Over HyParView a node forwards along its active view as
//! it is when it forwards (a crashed neighbour still listed gets a copy that is dropped).

use crate::engine::{Setup, for_each_bit};
use crate::scenario::Scenario;

use super::kind::{Estimate, Kind, NoKeys, n_and_fanout};
use super::{Context, Message, MessageKind, NodeId, Protocol, Size, Status, Words};

/// `protocol.kind = "flood"`: no keys of its own (it runs over `[overlay]`).
impl Kind for Flood {
    type Config = NoKeys;
    type Protocol = Flood;

    fn new(_: &NoKeys, _: &Setup) -> Flood {
        Flood::new()
    }

    /// An update travels the overlay's diameter: about log2 n for the random graphs, plus two.
    fn estimate(_: &NoKeys, scenario: &Scenario) -> Estimate {
        let (n, _) = n_and_fanout(scenario);
        Estimate {
            spreading_state: true,
            ..Estimate::rounds(n.log2() + 2.0)
        }
    }
}

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
    /// The acting node's forwarded updates and the slots it must not send back to their
    /// sender: (sender, slot).
    forwarding: Words,
    exceptions: Vec<(NodeId, u32)>,
    payload: Words,
}

impl Flood {
    pub fn new() -> Flood {
        Flood::default()
    }

    /// `node` sends `self.forwarding` to each neighbour, minus what each sent it (`exceptions`).
    fn forward(&mut self, node: NodeId, cx: &mut Context<'_, ()>) {
        cx.for_each_neighbour(node, |cx, to| {
            self.payload.copy_from(&self.forwarding);
            for &(sender, slot) in &self.exceptions {
                if sender == to {
                    let slot = slot as usize;
                    let w = slot / 64;
                    self.payload
                        .set(w, self.payload.get(w) & !(1u64 << (slot % 64)));
                }
            }
            let entries: u64 = self
                .payload
                .iter()
                .map(|(_, bits)| u64::from(bits.count_ones()))
                .sum();
            if entries > 0 {
                cx.send(MessageKind::Push, node, to, Size::entries(entries))
                    .payload
                    .copy_from(&self.payload);
            }
        });
    }
}

impl Protocol for Flood {
    type Body = ();

    /// In rounds timing a node forwards in the round after it learns: until then it counts as
    /// spreading. In async timing it forwards at once.
    fn spreading_state(&self, rounds: bool) -> Option<u8> {
        rounds.then_some(0)
    }

    fn has_timers(&self) -> bool {
        false
    }

    /// `node`'s turn in a round: forward what it learnt last round (or was injected with).
    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, ()>) {
        let words = cx.words();
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
        let Some(spreaders) = cx.spreaders_opt() else {
            return; // async timing: nodes forward on receipt
        };
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
        // Only the newest version of a product travels (it implies the older ones).
        self.forwarding.clear();
        self.forwarding.resize(words);
        for w in 0..words {
            self.forwarding.set(w, cx.spreading_word(node, w));
        }
        if self.forwarding.iter().all(|(_, bits)| bits == 0) {
            return;
        }
        self.forward(node, cx);
    }

    fn on_message(&mut self, m: &Message<()>, cx: &mut Context<'_, ()>) {
        let (to, from) = (m.to, m.from);
        if cx.rounds_timing() {
            for (w, bits) in m.payload.iter() {
                // Not held at the start of the round: `from` may be the one `to` got it from.
                for_each_bit(bits & !cx.held_word(to, w), |b| {
                    self.arrivals.push((to, (w * 64 + b) as u32, from));
                });
                cx.deliver_word(to, from, w, bits);
            }
            return;
        }
        // What `to` did not hold before this copy it forwards now, to all but `from`.
        let words = cx.words();
        self.forwarding.clear();
        self.forwarding.resize(words);
        for w in 0..words {
            self.forwarding
                .set(w, m.payload.get(w) & !cx.held_word(to, w));
        }
        cx.deliver(to, from, &m.payload);
        if self.forwarding.iter().any(|(_, bits)| bits != 0) {
            self.exceptions.clear();
            for (w, bits) in self.forwarding.iter() {
                for_each_bit(bits, |b| self.exceptions.push((from, (w * 64 + b) as u32)));
            }
            self.forward(to, cx);
        }
    }

    /// The origin floods a new update at once (async timing; in rounds timing it forwards in
    /// its turn of the round, as a node that learnt it).
    fn on_inject(&mut self, origin: NodeId, slot: usize, cx: &mut Context<'_, ()>) {
        if cx.rounds_timing() {
            return;
        }
        self.forwarding.clear();
        self.forwarding.resize(cx.words());
        self.forwarding.set(slot / 64, 1 << (slot % 64));
        self.exceptions.clear();
        self.forward(origin, cx);
    }

    /// This round's first arrivals become next round's exceptions.
    fn end_round(&mut self, cx: &mut Context<'_, ()>) {
        // Stable: of several copies of a slot reaching a node, the first sent stays first.
        self.arrivals.sort_by_key(|&(to, slot, _)| (to, slot));
        self.arrivals.dedup_by_key(|&mut (to, slot, _)| (to, slot));
        std::mem::swap(&mut self.parents, &mut self.arrivals);
        self.arrivals.clear();
        self.cursor = 0;
        if let Some(spreaders) = cx.spreaders_opt() {
            // Flooding has no per-node counters to reset.
            spreaders.learnt.clear();
        }
    }

    /// Over when nothing is left on the wire (async) or nobody forwards any more (rounds).
    fn settled(&self, status: &Status) -> bool {
        status.quiescent() || (!status.spreading() && status.in_flight() == 0)
    }
}
