//! The median-counter algorithm (Karp, Schindelhauer, Shenker, Vöcking: "Randomized Rumor
//! Spreading", FOCS 2000, section 4): push-pull in O(log n) rounds with O(n log log n)
//! transmissions.
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
//!
//! In `async` timing a node calls its partner at its timer and the partner replies at once; the
//! states a connection compares are those when each side handles its message, a node in A that
//! receives from a C node enters C at once, and the counters move at the end of every period
//! (the engine's tick) by the tallies of that period.

use serde::{Deserialize, Serialize};

use crate::engine::{Setup, for_each_bit};
use crate::scenario::Scenario;

use super::anti_entropy::{Backing, Channel, ExchangeMode, backing_of, push_pull_rounds};
use super::kind::{ConfigError, Estimate, Kind};
use super::rumor::anti_entropy_every;
use super::{Context, Message, MessageKind, NodeId, Protocol, Size, Status, Words};

/// The keys of `protocol.kind = "median-counter"`, as written; [`Kind::resolve`] fills the
/// defaults.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MedianCounterConfig {
    /// Rounds of the counter phase, and of the final phase (`ctr_max` in the paper); default
    /// [`default_ctr_max`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctr_max: Option<i64>,
    /// A backing push-pull anti-entropy round every this many rounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anti_entropy_every: Option<i64>,
    /// The backing round's exchange, default `"digest"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<ExchangeMode>,
}

/// Karp et al. (2000) take ctr_max = O(log log n); we use ceil(log2(ln n)), at least 1.
pub fn default_ctr_max(nodes: u32) -> u32 {
    let ln = f64::from(nodes.max(2)).ln();
    (ln.log2().ceil() as u32).max(1)
}

impl Kind for MedianCounter {
    type Config = MedianCounterConfig;
    type Protocol = MedianCounter;

    fn resolve(
        config: MedianCounterConfig,
        scenario: &Scenario,
    ) -> Result<MedianCounterConfig, ConfigError> {
        let ctr_max = config
            .ctr_max
            .unwrap_or_else(|| i64::from(default_ctr_max(scenario.nodes)));
        // The states are a byte per node and update: B-1..B-ctr_max below C_BASE.
        if !(1..=120).contains(&ctr_max) {
            return Err(ConfigError::new(
                "ctr_max",
                ctr_max,
                "must be between 1 and 120",
            ));
        }
        let every = anti_entropy_every(config.anti_entropy_every)?;
        backing_of(every, config.exchange)?;
        Ok(MedianCounterConfig {
            ctr_max: Some(ctr_max),
            anti_entropy_every: config.anti_entropy_every,
            exchange: every.map(|_| config.exchange.unwrap_or_default()),
        })
    }

    fn new(config: &MedianCounterConfig, setup: &Setup) -> MedianCounter {
        let ctr_max = config
            .ctr_max
            .map_or_else(|| default_ctr_max(setup.nodes()), |c| c as u32);
        let every = anti_entropy_every(config.anti_entropy_every).expect("resolved");
        MedianCounter::new(
            ctr_max,
            backing_of(every, config.exchange).expect("resolved"),
        )
    }

    fn estimate(config: &MedianCounterConfig, scenario: &Scenario) -> Estimate {
        Estimate {
            spreading_state: true,
            repair_every: config.anti_entropy_every.map(|every| every as u32),
            ..Estimate::rounds(push_pull_rounds(scenario))
        }
    }
}

/// State codes in `Spreaders::counter`.
pub const STARTING_STATE: u8 = 1; // B-1
const C_BASE: u8 = 128; // C with r rounds left is C_BASE + r
const D: u8 = 255;
/// Flag in `Spreaders::lt` of a node in state A: a sender in state C reached it this round.
const FROM_C: u8 = 1;

pub struct MedianCounter {
    ctr_max: u8,
    backing: Option<Backing>,
    payload: Words,
}

impl MedianCounter {
    pub fn new(ctr_max: u32, backing: Option<Backing>) -> MedianCounter {
        MedianCounter {
            ctr_max: ctr_max.min(120) as u8,
            backing,
            payload: Words::default(),
        }
    }

    /// `from`'s half of a connection: its message carries what it spreads.
    fn transmit(
        &mut self,
        cx: &mut Context<'_, Channel>,
        kind: MessageKind,
        from: NodeId,
        to: NodeId,
    ) {
        let entries = cx.spreading(from, &mut self.payload);
        let out = cx.send(kind, from, to, Size::entries(entries));
        out.payload.copy_from(&self.payload);
        out.body = Channel::Main;
    }

    /// `m.to` heard from `m.from`: it tallies the sender's state for every update either side
    /// holds, then receives what the sender spreads.
    fn hear(&mut self, m: &Message<Channel>, cx: &mut Context<'_, Channel>) {
        let (node, sender) = (m.to, m.from);
        let rounds = cx.rounds_timing();
        for w in 0..cx.words() {
            let involved = cx.held_word(node, w) | cx.held_word(sender, w);
            let held_before = cx.held_word(node, w);
            let mut from_c = 0u64;
            for_each_bit(involved, |bit| {
                let slot = w * 64 + bit;
                let own = state(cx, node, slot);
                let other = state(cx, sender, slot);
                if own == 0 && in_c(other) {
                    from_c |= 1 << bit;
                }
                self.tally(cx, node, slot, own, other);
            });
            cx.deliver_word(node, sender, w, m.payload.get(w));
            if !rounds {
                // Learnt from a C node: C at once (in rounds timing, at the end of the round).
                let learnt = m.payload.get(w) & !held_before & from_c;
                let ctr_max = self.ctr_max;
                let spreaders = cx.spreaders();
                for_each_bit(learnt, |bit| {
                    spreaders.counter[w * 64 + bit][node as usize] = C_BASE + ctr_max;
                });
            }
        }
    }

    /// `node` (in `own` state) communicated with a node in state `other` about `slot`.
    fn tally(&self, cx: &mut Context<'_, Channel>, node: NodeId, slot: usize, own: u8, other: u8) {
        let rounds = cx.rounds_timing();
        let spreaders = cx.spreaders();
        let i = node as usize;
        if own == 0 {
            // State A: remember whether a C node is among this round's senders.
            if rounds && in_c(other) {
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
}

fn in_c(state: u8) -> bool {
    (C_BASE..D).contains(&state)
}

/// `node`'s state for `slot` (at the start of the round in rounds timing): 0 for A.
fn state(cx: &mut Context<'_, Channel>, node: NodeId, slot: usize) -> u8 {
    if !cx.holds(node, slot) {
        return 0;
    }
    cx.spreaders().counter[slot][node as usize]
}

impl Protocol for MedianCounter {
    type Body = Channel;

    fn spreading_state(&self, _rounds: bool) -> Option<u8> {
        Some(STARTING_STATE)
    }

    /// `node` calls one random partner; both sides transmit if they are in state B or C.
    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, Channel>) {
        // An overlay node with no (live) neighbour calls nobody.
        if let Some(partner) = cx.one_partner(node) {
            self.transmit(cx, MessageKind::ExchangeOpen, node, partner);
            cx.flush(self);
        }
        if !cx.rounds_timing()
            && let Some(backing) = &mut self.backing
            && backing.due(cx.round())
        {
            backing.contact(node, cx);
        }
    }

    fn on_message(&mut self, m: &Message<Channel>, cx: &mut Context<'_, Channel>) {
        if m.body == Channel::Backing {
            self.backing
                .as_mut()
                .expect("backing messages come from the backing round")
                .receive(m, cx);
            return;
        }
        match m.kind {
            MessageKind::ExchangeOpen => {
                // The reply goes back (and is handled) first: both sides then compare the
                // states they had when the connection opened.
                self.transmit(cx, MessageKind::ExchangeReply, m.to, m.from);
                cx.flush(self);
                self.hear(m, cx);
            }
            _ => self.hear(m, cx),
        }
    }

    fn round(&mut self, cx: &mut Context<'_, Channel>) {
        Backing::round(self, cx, |p| p.backing.as_mut());
    }

    /// B counters advance by the median rule, C counts down, learners enter B-1 or C. In
    /// rounds timing this runs after the world's round has ended (`now` is the new state).
    fn end_round(&mut self, cx: &mut Context<'_, Channel>) {
        let ctr_max = self.ctr_max;
        let nodes = cx.nodes();
        let words = cx.words();
        let spreaders = cx.spreaders();
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

    fn settled(&self, status: &Status) -> bool {
        !status.spreading()
            && status.carrying() == 0
            && (self.backing.is_none() || status.quiescent())
    }
}
