//! The median-counter algorithm (Karp, Schindelhauer, Shenker, Vöcking: "Randomized Rumor
//! Spreading", FOCS 2000, section 4): push-pull in O(log n) rounds with O(n log log n)
//! transmissions, in lock-step rounds.
//!
//! Every round every live node calls one uniformly random partner; in each such connection a
//! node in state B or C transmits the update to the other side (push and pull at once). States,
//! per node and update:
//! - A: does not hold it.
//! - B-m (m = 1..ctr_max): holds it and transmits. At the end of a round in which it
//!   communicated with more nodes in state B-m' (m' >= m), C or D than with nodes in state A or
//!   B-m'' (m'' < m), its counter goes up; reaching past `ctr_max` it moves to C.
//! - C: transmits for `ctr_max` more rounds, then moves to D.
//! - D: holds it and stays silent.
//!
//! A node in state A that receives the update becomes B-1, or C if any sender was in C. The
//! origin starts in B-1. Control information (a node's state) rides on the connection and is not
//! counted as an update transmission; the connection's two messages are.

use crate::report::MessageKind;
use crate::scenario::NodeId;
use crate::time::Time;

use super::network::Transport;
use super::peers::PeerSampler;
use super::rows::for_each_bit;
use super::world::World;

/// State codes in `Spreaders::counter`.
pub const STARTING_STATE: u8 = 1; // B-1
const C_BASE: u8 = 128; // C with r rounds left is C_BASE + r
const D: u8 = 255;
/// Flag in `Spreaders::lt` of a node in state A: a sender in state C reached it this round.
const FROM_C: u8 = 1;

pub struct MedianCounter {
    ctr_max: u8,
}

impl MedianCounter {
    pub fn new(ctr_max: u32) -> MedianCounter {
        MedianCounter {
            ctr_max: ctr_max.min(120) as u8,
        }
    }

    /// `node` calls one random partner; both sides transmit if they are in state B or C.
    pub fn contact(
        &mut self,
        world: &mut World,
        peers: &mut PeerSampler,
        transport: &mut Transport,
        node: NodeId,
        at: Time,
    ) {
        let Some(partner) = peers.one(node) else {
            return; // An overlay node with no (live) neighbour calls nobody.
        };
        let words = world.words();
        let (a, b) = (node, partner);
        let entries = |world: &World, n: NodeId| -> u64 {
            (0..words)
                .map(|w| u64::from(world.spreading_word(n, w).count_ones()))
                .sum()
        };
        let ea = entries(world, a);
        world.send(MessageKind::ExchangeOpen, ea, 0);
        for w in 0..words {
            let bits = world.spreading_word(a, w);
            world.count_carried_word(w, bits);
        }
        if !world.arrives(b, transport.lost()) {
            return;
        }
        let eb = entries(world, b);
        world.send(MessageKind::ExchangeReply, eb, 0);
        for w in 0..words {
            let bits = world.spreading_word(b, w);
            world.count_carried_word(w, bits);
        }
        let reply_arrived = world.arrives(a, transport.lost());
        for w in 0..words {
            let involved = world.held_word(a, w) | world.held_word(b, w);
            for_each_bit(involved, |bit| {
                let slot = w * 64 + bit;
                let state_a = state(world, a, slot);
                let state_b = state(world, b, slot);
                // b heard from a (the open arrived); a heard from b only if the reply did.
                self.tally(world, b, slot, state_b, state_a);
                if reply_arrived {
                    self.tally(world, a, slot, state_a, state_b);
                }
            });
            let from_a = world.spreading_word(a, w);
            let from_b = world.spreading_word(b, w);
            world.deliver_word(b, a, w, from_a, at);
            if reply_arrived {
                world.deliver_word(a, b, w, from_b, at);
            }
        }
    }

    /// `node` (in `own` state) communicated with a node in state `other` about `slot`.
    fn tally(&self, world: &mut World, node: NodeId, slot: usize, own: u8, other: u8) {
        let spreaders = world.spreaders.as_mut().expect("median-counter spreaders");
        let i = node as usize;
        if own == 0 {
            // State A: remember whether a C node is among this round's senders.
            if other >= C_BASE && other != D {
                spreaders.lt[slot][i] |= FROM_C;
            }
            return;
        }
        if own > self.ctr_max {
            return; // C or D: no counter.
        }
        let older_or_equal = other >= own; // B-m' with m' >= m, C (>= 128) and D (255).
        if spreaders.ge[slot][i] == 0 && spreaders.lt[slot][i] == 0 {
            spreaders.touched.push((node, slot as u32));
        }
        let cell = if older_or_equal {
            &mut spreaders.ge[slot][i]
        } else {
            &mut spreaders.lt[slot][i]
        };
        *cell = cell.saturating_add(1);
    }

    /// End of round: B counters advance by the median rule, C counts down, learners enter B-1 or
    /// C. Runs after the world's round has ended (`now` is the new state).
    pub fn end_round(&mut self, world: &mut World) {
        let ctr_max = self.ctr_max;
        let nodes = world.nodes;
        let words = world.words();
        let spreaders = world.spreaders.as_mut().expect("median-counter spreaders");
        // Learners first get state A so the sweep below skips them; their flag says where from.
        let mut learnt = std::mem::take(&mut spreaders.learnt);
        for entry in &mut learnt {
            let (node, slot) = (entry.0 as usize, entry.1 as usize);
            let from_c = spreaders.lt[slot][node] & FROM_C != 0;
            spreaders.lt[slot][node] = 0;
            spreaders.counter[slot][node] = 0;
            if from_c {
                entry.1 |= 1 << 31;
            }
        }
        for node in 0..nodes {
            for w in 0..words {
                let bits = spreaders.now.word(node, w);
                for_each_bit(bits, |b| {
                    let slot = w * 64 + b;
                    let i = node as usize;
                    let code = spreaders.counter[slot][i];
                    if code == 0 {
                        return; // Learnt this round.
                    }
                    if code <= ctr_max {
                        if spreaders.ge[slot][i] > spreaders.lt[slot][i] {
                            spreaders.counter[slot][i] = if code == ctr_max {
                                C_BASE + ctr_max
                            } else {
                                code + 1
                            };
                        }
                    } else if code > C_BASE && code != D {
                        let left = code - C_BASE - 1;
                        spreaders.counter[slot][i] = if left == 0 { D } else { C_BASE + left };
                    }
                    if spreaders.counter[slot][i] == D {
                        spreaders.now.clear_bits(node, w, 1 << b);
                    }
                });
            }
        }
        for (node, slot) in spreaders.touched.drain(..) {
            spreaders.ge[slot as usize][node as usize] = 0;
            spreaders.lt[slot as usize][node as usize] = 0;
        }
        for &(node, tagged) in &learnt {
            let slot = (tagged & !(1 << 31)) as usize;
            spreaders.counter[slot][node as usize] = if tagged >> 31 == 1 {
                C_BASE + ctr_max
            } else {
                STARTING_STATE
            };
        }
        learnt.clear();
        spreaders.learnt = learnt;
    }
}

/// `node`'s state for `slot` at the start of the round: 0 for A.
fn state(world: &World, node: NodeId, slot: usize) -> u8 {
    if !world.held(node, slot) {
        return 0;
    }
    let spreaders = world.spreaders.as_ref().expect("median-counter spreaders");
    spreaders.counter[slot][node as usize]
}
