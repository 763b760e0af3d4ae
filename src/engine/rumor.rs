//! Rumor mongering (Demers, Greene, Hauser, Irish, Larson, Shenker, Sturgis, Swinehart, Terry:
//! "Epidemic Algorithms for Replicated Database Maintenance", PODC 1987, section 1.4), in
//! lock-step rounds.
//!
//! A node that learns an update treats it as a hot rumor and spreads it; it loses interest by
//! one of four rules:
//! - feedback + counter: the counter counts *unnecessary* contacts in a row (the recipient
//!   already held the update at the start of the round); a necessary contact resets it; at `k`
//!   the node stops.
//! - feedback + coin: after each unnecessary contact the node stops with probability 1/k.
//! - blind + counter: every contact counts; the node stops after `k` of them.
//! - blind + coin: after every contact the node stops with probability 1/k.
//!
//! In push and push-pull a contact is one exchange with one partner. In pull a node's
//! transmissions are the replies it gives to whoever pulled from it; its counter goes up once per
//! round in which all of its transmissions (that got feedback) were unnecessary, and is reset by
//! a round with a necessary one. A node that loses interest stops at the end of the round.
//! A contact whose message was lost gives no feedback: it counts only for the blind rules.
//! Traffic is update transmissions: requests and empty replies carry no update.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::report::MessageKind;
use crate::scenario::{NodeId, RumorMode, RumorRules};
use crate::time::Time;

use super::network::Transport;
use super::peers::PeerSampler;
use super::rows::for_each_bit;
use super::spreaders::Spreaders;
use super::world::World;

/// Counter value meaning "lost interest" (the coin came up).
const LOST_INTEREST: u8 = u8::MAX;
/// Per-round flags of pull mode, in `Spreaders::ge`.
const TRANSMITTED: u8 = 1;
const FEEDBACK: u8 = 1 << 1;
const NECESSARY: u8 = 1 << 2;

pub struct Rumor {
    rules: RumorRules,
    coins: ChaCha8Rng,
}

impl Rumor {
    pub fn new(rules: RumorRules, coins: ChaCha8Rng) -> Rumor {
        Rumor { rules, coins }
    }

    /// `node`'s contacts of one round.
    pub fn contacts(
        &mut self,
        world: &mut World,
        peers: &mut PeerSampler,
        transport: &mut Transport,
        node: NodeId,
        at: Time,
    ) {
        match self.rules.mode {
            RumorMode::Push => {
                // A node with no hot rumor has nothing to push and draws no partner.
                if (0..world.words()).all(|w| world.spreading_word(node, w) == 0) {
                    return;
                }
                for &partner in peers.choose(node) {
                    self.push(world, transport, node, partner, at);
                }
            }
            RumorMode::Pull => {
                for &partner in peers.choose(node) {
                    self.pull(world, transport, node, partner, at);
                }
            }
            RumorMode::PushPull => {
                for &partner in peers.choose(node) {
                    self.exchange(world, transport, node, partner, at);
                }
            }
        }
    }

    /// `from` sends its hot rumors to `to` in a message of `kind`, which is sent even when it
    /// carries none. Applies the per-contact rules to the sender unless `per_round`. Returns
    /// whether the message arrived.
    #[allow(clippy::too_many_arguments)] // One contact's whole context; a struct would only rename it.
    fn transmit(
        &mut self,
        world: &mut World,
        transport: &mut Transport,
        kind: MessageKind,
        from: NodeId,
        to: NodeId,
        at: Time,
        per_round: bool,
    ) -> bool {
        let words = world.words();
        let entries: u64 = (0..words)
            .map(|w| u64::from(world.spreading_word(from, w).count_ones()))
            .sum();
        world.send(kind, entries, 0);
        for w in 0..words {
            let bits = world.spreading_word(from, w);
            world.count_carried_word(w, bits);
        }
        let arrived = world.arrives(to, transport.lost());
        for w in 0..words {
            let bits = world.spreading_word(from, w);
            for_each_bit(bits, |b| {
                let slot = w * 64 + b;
                let necessary = arrived.then(|| !world.held(to, slot));
                let spreaders = world.spreaders.as_mut().expect("rumor spreaders");
                if per_round {
                    let mut flags = TRANSMITTED;
                    if let Some(necessary) = necessary {
                        flags |= FEEDBACK;
                        if necessary {
                            flags |= NECESSARY;
                        }
                    }
                    spreaders.touch(from, slot, flags);
                } else {
                    self.count_contact(spreaders, from, slot, necessary);
                }
            });
            if arrived {
                world.deliver_word(to, from, w, bits, at);
            }
        }
        arrived
    }

    fn push(
        &mut self,
        world: &mut World,
        transport: &mut Transport,
        from: NodeId,
        to: NodeId,
        at: Time,
    ) {
        self.transmit(world, transport, MessageKind::Push, from, to, at, false);
    }

    /// `from` asks `to` for its hot rumors; `to` replies only if it has any.
    fn pull(
        &mut self,
        world: &mut World,
        transport: &mut Transport,
        from: NodeId,
        to: NodeId,
        at: Time,
    ) {
        world.send(MessageKind::PullRequest, 0, 0);
        if !world.arrives(to, transport.lost()) {
            return;
        }
        if (0..world.words()).all(|w| world.spreading_word(to, w) == 0) {
            return;
        }
        self.transmit(world, transport, MessageKind::PullReply, to, from, at, true);
    }

    /// Both directions in one contact: `from` opens with its hot rumors, `to` replies with its.
    fn exchange(
        &mut self,
        world: &mut World,
        transport: &mut Transport,
        from: NodeId,
        to: NodeId,
        at: Time,
    ) {
        if self.transmit(
            world,
            transport,
            MessageKind::ExchangeOpen,
            from,
            to,
            at,
            false,
        ) {
            self.transmit(
                world,
                transport,
                MessageKind::ExchangeReply,
                to,
                from,
                at,
                false,
            );
        }
    }

    /// Per-contact rules (push, push-pull). `necessary`: `None` when the message was lost.
    fn count_contact(
        &mut self,
        spreaders: &mut Spreaders,
        node: NodeId,
        slot: usize,
        necessary: Option<bool>,
    ) {
        let counts = if self.rules.feedback {
            match necessary {
                Some(true) => {
                    if self.rules.counter {
                        spreaders.counter[slot][node as usize] = 0;
                    }
                    false
                }
                Some(false) => true,
                None => false,
            }
        } else {
            true
        };
        if counts {
            self.lose_interest_step(spreaders, node, slot);
        }
        spreaders.touch(node, slot, 0);
    }

    /// One counted contact (or round): the counter goes up, or the coin is tossed.
    fn lose_interest_step(&mut self, spreaders: &mut Spreaders, node: NodeId, slot: usize) {
        let counter = &mut spreaders.counter[slot][node as usize];
        if self.rules.counter {
            *counter = counter.saturating_add(1);
        } else if self.coins.random_range(0..self.rules.k) == 0 {
            *counter = LOST_INTEREST;
        }
    }

    /// End of round: pull's per-round rule, then every node that lost interest stops; nodes that
    /// learnt an update this round start with a fresh counter.
    pub fn end_round(&mut self, world: &mut World) {
        let k = self.rules.k;
        let stops = |counter: u8, counting: bool| {
            if counting {
                u32::from(counter) >= k
            } else {
                counter == LOST_INTEREST
            }
        };
        let spreaders = world.spreaders.as_mut().expect("rumor spreaders");
        let mut touched = std::mem::take(&mut spreaders.touched);
        for &(node, slot) in &touched {
            let (node_i, slot) = (node as usize, slot as usize);
            let flags = std::mem::take(&mut spreaders.ge[slot][node_i]);
            if self.rules.mode == RumorMode::Pull && flags & TRANSMITTED != 0 {
                let counts = if self.rules.feedback {
                    if flags & NECESSARY != 0 {
                        if self.rules.counter {
                            spreaders.counter[slot][node_i] = 0;
                        }
                        false
                    } else {
                        flags & FEEDBACK != 0
                    }
                } else {
                    true
                };
                if counts {
                    self.lose_interest_step(spreaders, node, slot);
                }
            }
            if stops(spreaders.counter[slot][node_i], self.rules.counter) {
                spreaders.now.clear_bits(node, slot / 64, 1 << (slot % 64));
            }
        }
        touched.clear();
        spreaders.touched = touched;
        for (node, slot) in spreaders.learnt.drain(..) {
            spreaders.counter[slot as usize][node as usize] = 0;
        }
    }
}
