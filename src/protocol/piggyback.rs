//! Piggybacked dissemination as memberlist (Consul, Serf) runs it: hashicorp/memberlist's
//! `TransmitLimitedQueue` (queue.go). Every node keeps a queue of the updates it has learnt;
//! each gossip period it sends one message to each of `fanout` random partners, packed with
//! queued updates within `network.max_message_bytes`, fewest transmissions first (ties: the
//! newest first, as memberlist's tree orders equal-sized broadcasts by their id). Each update
//! rides on at most `retransmit_mult * ceil(log10(n + 1))` of a node's messages
//! (memberlist's `retransmitLimit`, util.go; `RetransmitMult` defaults to 4), then leaves the
//! queue. A node that learns an update queues it with no transmissions; a newer price of a
//! product replaces the older in the queue (memberlist's named broadcasts invalidate).
//!
//! Nodes stop by themselves, so some may never hear of an update: the residue. For one update
//! and no limit on the message it is blind-counter rumor mongering with L = the retransmit
//! limit (Demers et al. 1987): every informed node sends L copies, m = L (1 - s) messages per
//! node, and the residue s solves s = e^-m (the theory column of `residue`).

use serde::{Deserialize, Serialize};

use super::kind::{ConfigError, Estimate, Kind};
use super::{Context, Message, MessageKind, NodeId, Protocol, Size, Status, Words};
use crate::engine::{Setup, for_each_bit};
use crate::scenario::{Scenario, Timing};

/// memberlist's `DefaultLANConfig().RetransmitMult`.
pub const DEFAULT_RETRANSMIT_MULT: u32 = 4;

/// The keys of `protocol.kind = "piggyback"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PiggybackConfig {
    /// Each update rides on at most retransmit_mult * ceil(log10(n + 1)) messages per node.
    pub retransmit_mult: Option<u32>,
}

/// memberlist's `retransmitLimit(mult, n)`: mult * ceil(log10(n + 1)).
pub fn retransmit_limit(mult: u32, nodes: u32) -> u32 {
    mult * (f64::from(nodes) + 1.0).log10().ceil() as u32
}

impl Kind for Piggyback {
    type Config = PiggybackConfig;
    type Protocol = Piggyback;

    fn resolve(
        config: PiggybackConfig,
        scenario: &Scenario,
    ) -> Result<PiggybackConfig, ConfigError> {
        let mult = config.retransmit_mult.unwrap_or(DEFAULT_RETRANSMIT_MULT);
        // Transmission counts are kept in a byte per (node, update).
        if mult == 0 || retransmit_limit(mult, scenario.nodes) > 250 {
            return Err(ConfigError::new(
                "retransmit_mult",
                i64::from(mult),
                format!(
                    "must be at least 1, and the limit mult x ceil(log10(nodes + 1)) at most 250 \
                     (it is {})",
                    retransmit_limit(mult, scenario.nodes)
                ),
            ));
        }
        Ok(PiggybackConfig {
            retransmit_mult: Some(mult),
        })
    }

    fn new(config: &PiggybackConfig, setup: &Setup) -> Piggyback {
        let mult = config.retransmit_mult.unwrap_or(DEFAULT_RETRANSMIT_MULT);
        Piggyback {
            limit: retransmit_limit(mult, setup.nodes()) as u8,
            payload: Words::default(),
            queued: Vec::new(),
            exhausted: Vec::new(),
        }
    }

    /// Residue of one update, unbounded, lock-step, no loss or failures: s = e^-(L (1 - s))
    /// (Demers et al. 1987, blind counter), solved by iteration.
    fn theory(config: &PiggybackConfig, scenario: &Scenario, metric: &str) -> Option<f64> {
        let ideal = scenario.timing == Timing::Rounds
            && scenario.crashes.is_empty()
            && scenario.churn.is_none()
            && scenario.network.loss == 0.0
            && !scenario.network.bounded();
        if !ideal || metric != "residue" {
            return None;
        }
        let mult = config.retransmit_mult.unwrap_or(DEFAULT_RETRANSMIT_MULT);
        let limit = f64::from(retransmit_limit(mult, scenario.nodes));
        let mut s = 0.5;
        for _ in 0..200 {
            s = (-limit * (1.0 - s)).exp();
        }
        Some(s)
    }

    /// Push-like spread, a byte of transmission count per (node, update), and residue.
    fn estimate(_: &PiggybackConfig, scenario: &Scenario) -> Estimate {
        Estimate {
            spreading_state: true,
            leaves_residue: true,
            ..Estimate::push(scenario)
        }
    }
}

pub struct Piggyback {
    /// Transmissions per update and node.
    limit: u8,
    payload: Words,
    /// (transmissions, newest first, slot) of one node's queue, reused.
    queued: Vec<(u8, u32, u32)>,
    /// (node, slot) that reached the limit this round: they leave the queue at its end.
    exhausted: Vec<(NodeId, u32)>,
}

impl Piggyback {
    /// `node` sends `to` its queue's first entries that fit, and counts their transmissions.
    fn gossip(&mut self, node: NodeId, to: NodeId, cx: &mut Context<'_, ()>) {
        let limit = self.limit;
        self.queued.clear();
        let words = cx.words();
        for w in 0..words {
            let bits = cx.spreading_word(node, w);
            let spreaders = cx.spreaders();
            // A queued price superseded by a newer one the node holds leaves the queue.
            let superseded = spreaders.now.word(node, w) & !bits;
            for_each_bit(superseded, |b| {
                self.exhausted.push((node, (w * 64 + b) as u32))
            });
            for_each_bit(bits, |b| {
                let slot = w * 64 + b;
                let sent = spreaders.counter[slot][node as usize];
                if sent < limit {
                    self.queued.push((sent, 0, slot as u32));
                }
            });
        }
        // Ties go to the newest (the update index is read outside the borrow of the spreaders).
        for entry in &mut self.queued {
            entry.1 = u32::MAX - cx.slot_update(entry.2 as usize);
        }
        if self.queued.is_empty() {
            return;
        }
        let fit = cx.entries_fit(node, Size::HEADER);
        if fit == 0 {
            cx.defer(self.queued.len() as u64);
            return;
        }
        self.queued.sort_unstable();
        let kept = (self.queued.len() as u64).min(fit) as usize;
        cx.defer((self.queued.len() - kept) as u64);
        self.payload.clear();
        self.payload.resize(words);
        for &(_, _, slot) in &self.queued[..kept] {
            let (w, bit) = (slot as usize / 64, 1u64 << (slot % 64));
            self.payload.set(w, self.payload.get(w) | bit);
        }
        cx.send(MessageKind::Push, node, to, Size::entries(kept as u64))
            .payload
            .copy_from(&self.payload);
        let spreaders = cx.spreaders();
        for &(_, _, slot) in &self.queued[..kept] {
            let sent = &mut spreaders.counter[slot as usize][node as usize];
            *sent += 1;
            if *sent >= limit {
                self.exhausted.push((node, slot));
            }
        }
    }
}

impl Protocol for Piggyback {
    type Body = ();

    /// The transmissions of each (node, update), from 0 when the node learns it.
    fn spreading_state(&self, _rounds: bool) -> Option<u8> {
        Some(0)
    }

    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, ()>) {
        // memberlist's gossip(): nothing queued, no message (and no partner drawn).
        if !cx.spreads_any(node) {
            return;
        }
        cx.for_each_partner(node, |cx, partner| {
            self.gossip(node, partner, cx);
            cx.flush(&mut *self);
        });
    }

    fn on_message(&mut self, m: &Message<()>, cx: &mut Context<'_, ()>) {
        // What is new joins the recipient's queue (the engine starts its spreading state).
        cx.deliver(m.to, m.from, &m.payload);
    }

    /// Updates sent the limit number of times leave their node's queue; updates learnt this
    /// round start at no transmissions.
    fn end_round(&mut self, cx: &mut Context<'_, ()>) {
        let spreaders = cx.spreaders();
        for (node, slot) in self.exhausted.drain(..) {
            spreaders
                .now
                .clear_bits(node, slot as usize / 64, 1 << (slot % 64));
        }
        for (node, slot) in spreaders.learnt.drain(..) {
            spreaders.counter[slot as usize][node as usize] = 0;
        }
    }

    /// Queues empty out by themselves: the run ends when nobody has anything left to send.
    fn settled(&self, status: &Status) -> bool {
        !status.spreading() && status.carrying() == 0
    }
}
