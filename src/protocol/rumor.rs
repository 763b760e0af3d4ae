//! Rumor mongering (Demers, Greene, Hauser, Irish, Larson, Shenker, Sturgis, Swinehart, Terry:
//! "Epidemic Algorithms for Replicated Database Maintenance", PODC 1987, section 1.4).
//!
//! A node that learns an update treats it as a hot rumor and spreads it; it loses interest by
//! one of four rules:
//! - feedback + counter: the counter counts *unnecessary* contacts in a row (the recipient
//!   already held the update); a necessary contact resets it; at `k` the node stops.
//! - feedback + coin: after each unnecessary contact the node stops with probability 1/k.
//! - blind + counter: every contact counts; the node stops after `k` of them.
//! - blind + coin: after every contact the node stops with probability 1/k.
//!
//! In push and push-pull a contact is one exchange with one partner. In pull a node's
//! transmissions are the replies it gives to whoever pulled from it; its counter goes up once per
//! round in which all of its transmissions (that got feedback) were unnecessary, and is reset by
//! a round with a necessary one. A node that loses interest stops at the end of the round.
//! A contact whose message was lost gives no feedback: it counts only for the blind rules, which
//! count when the message is sent; feedback is free control information that reaches the sender
//! when the message arrives (the recipient's answer "I knew it" in the paper).
//! Traffic is update transmissions: requests and empty replies carry no update.
//!
//! In `async` timing a node's contacts happen at its timer, feedback arrives with the message
//! (one latency later), and "end of round" is the end of each period: pull's per-round rule
//! and the stopping of nodes that lost interest apply then. Theory: with feedback + counter
//! push, the residue s and traffic m (updates sent per node) satisfy s = e^-m (Demers et al.,
//! section 1.4), in either timing.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::engine::Setup;
use crate::engine::spreaders::Spreaders;
use crate::scenario::Scenario;

use super::anti_entropy::{Backing, Channel, ExchangeMode, backing_of};
use super::kind::{ConfigError, Estimate, Kind};
use super::{Context, Message, MessageKind, NodeId, Protocol, Size, Status, Words};

/// Direction of rumor-mongering contacts: `protocol.mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RumorMode {
    Push,
    Pull,
    PushPull,
}

/// What counts towards losing interest: `protocol.termination`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Termination {
    /// Only unnecessary contacts (the recipient already knew).
    Feedback,
    /// Every contact.
    Blind,
}

/// How a node loses interest: `protocol.removal`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Removal {
    /// After `k` counted contacts (with feedback, `k` unnecessary ones in a row: a necessary
    /// one resets the counter).
    Counter,
    /// With probability 1/k at each counted contact.
    Coin,
}

/// The keys of `protocol.kind = "rumor"`, as written; [`Kind::resolve`] fills the defaults.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RumorConfig {
    /// Default `"push"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<RumorMode>,
    /// Default `"feedback"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub termination: Option<Termination>,
    /// Default `"counter"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removal: Option<Removal>,
    /// Default 1; at most 250, since the counter is a byte per node and update.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<i64>,
    /// A backing push-pull anti-entropy round every this many rounds (section 1.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anti_entropy_every: Option<i64>,
    /// The backing round's exchange, default `"digest"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exchange: Option<ExchangeMode>,
}

/// When a node loses interest in a rumor (Demers et al. 1987, section 1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RumorRules {
    pub mode: RumorMode,
    /// `feedback`: only unnecessary contacts count; `blind`: every contact counts.
    pub feedback: bool,
    /// `counter`: lose interest after `k` counted contacts; `coin`: with probability 1/k at
    /// each counted contact.
    pub counter: bool,
    pub k: u32,
}

impl Kind for Rumor {
    type Config = RumorConfig;
    type Protocol = Rumor;

    fn resolve(config: RumorConfig, _: &Scenario) -> Result<RumorConfig, ConfigError> {
        let k = config.k.unwrap_or(1);
        if !(1..=250).contains(&k) {
            return Err(ConfigError::new("k", k, "must be between 1 and 250"));
        }
        let every = anti_entropy_every(config.anti_entropy_every)?;
        backing_of(every, config.exchange)?;
        Ok(RumorConfig {
            mode: Some(config.mode.unwrap_or(RumorMode::Push)),
            termination: Some(config.termination.unwrap_or(Termination::Feedback)),
            removal: Some(config.removal.unwrap_or(Removal::Counter)),
            k: Some(k),
            anti_entropy_every: config.anti_entropy_every,
            exchange: every.map(|_| config.exchange.unwrap_or_default()),
        })
    }

    fn new(config: &RumorConfig, _: &Setup) -> Rumor {
        let rules = RumorRules {
            mode: config.mode.unwrap_or(RumorMode::Push),
            feedback: config.termination != Some(Termination::Blind),
            counter: config.removal != Some(Removal::Coin),
            k: config.k.unwrap_or(1) as u32,
        };
        let every = anti_entropy_every(config.anti_entropy_every).expect("resolved");
        Rumor::new(rules, backing_of(every, config.exchange).expect("resolved"))
    }

    /// Push's rounds, as the rumor's first phase spreads like push; its residue (Demers et al.
    /// 1987: s = e^-m) keeps updates in flight to the end unless a backing round repairs it.
    fn estimate(config: &RumorConfig, scenario: &Scenario) -> Estimate {
        Estimate {
            spreading_state: true,
            leaves_residue: true,
            repair_every: config.anti_entropy_every.map(|every| every as u32),
            ..Estimate::push(scenario)
        }
    }
}

/// `anti_entropy_every` of rumor mongering and median-counter, checked.
pub(crate) fn anti_entropy_every(every: Option<i64>) -> Result<Option<u32>, ConfigError> {
    match every {
        None => Ok(None),
        Some(e) if (1..=i64::from(u32::MAX)).contains(&e) => Ok(Some(e as u32)),
        Some(e) => Err(ConfigError::new(
            "anti_entropy_every",
            e,
            format!("must be between 1 and {}", u32::MAX),
        )),
    }
}

/// Counter value meaning "lost interest" (the coin came up).
const LOST_INTEREST: u8 = u8::MAX;
/// Per-round flags of pull mode, in `Spreaders::ge`.
const TRANSMITTED: u8 = 1;
const FEEDBACK: u8 = 1 << 1;
const NECESSARY: u8 = 1 << 2;

pub struct Rumor {
    rules: RumorRules,
    backing: Option<Backing>,
    payload: Words,
}

impl Rumor {
    pub fn new(rules: RumorRules, backing: Option<Backing>) -> Rumor {
        Rumor {
            rules,
            backing,
            payload: Words::default(),
        }
    }

    /// `from` sends its hot rumors to `to` in a message of `kind`, which is sent even when it
    /// carries none. The blind rules count the contact now; pull's replies (`per_round`) are
    /// only marked as transmitted.
    fn transmit(
        &mut self,
        cx: &mut Context<'_, Channel>,
        kind: MessageKind,
        from: NodeId,
        to: NodeId,
        per_round: bool,
    ) {
        let entries = cx.spreading(from, &mut self.payload);
        let out = cx.send(kind, from, to, Size::entries(entries));
        out.payload.copy_from(&self.payload);
        out.body = Channel::Main;
        let rules = self.rules;
        let (spreaders, coins) = cx.spreaders_and_rng();
        for (w, bits) in self.payload.iter() {
            crate::engine::for_each_bit(bits, |b| {
                let slot = w * 64 + b;
                if per_round {
                    spreaders.touch(from, slot, TRANSMITTED);
                } else {
                    if !rules.feedback {
                        lose_interest_step(rules, spreaders, coins, from, slot);
                    }
                    spreaders.touch(from, slot, 0);
                }
            });
        }
    }

    /// Feedback to the sender of `m`, which just reached its recipient, then the delivery.
    fn arrive(&mut self, m: &Message<Channel>, cx: &mut Context<'_, Channel>) {
        let rules = self.rules;
        let per_round = m.kind == MessageKind::PullReply;
        for (w, bits) in m.payload.iter() {
            if per_round || rules.feedback {
                let held = cx.held_word(m.to, w);
                let (spreaders, coins) = cx.spreaders_and_rng();
                crate::engine::for_each_bit(bits, |b| {
                    let slot = w * 64 + b;
                    let necessary = held >> b & 1 == 0;
                    if per_round {
                        // Counted in the round (period) its feedback arrives in: in async
                        // timing a reply may arrive in the period after it was sent.
                        let flags = TRANSMITTED | FEEDBACK | if necessary { NECESSARY } else { 0 };
                        spreaders.touch(m.from, slot, flags);
                    } else if necessary {
                        if rules.counter {
                            spreaders.counter[slot][m.from as usize] = 0;
                        }
                    } else {
                        lose_interest_step(rules, spreaders, coins, m.from, slot);
                    }
                });
            }
            cx.deliver_word(m.to, m.from, w, bits);
        }
    }
}

/// One counted contact (or round): the counter goes up, or the coin is tossed.
fn lose_interest_step(
    rules: RumorRules,
    spreaders: &mut Spreaders,
    coins: &mut ChaCha8Rng,
    node: NodeId,
    slot: usize,
) {
    let counter = &mut spreaders.counter[slot][node as usize];
    if rules.counter {
        *counter = counter.saturating_add(1);
    } else if coins.random_range(0..rules.k) == 0 {
        *counter = LOST_INTEREST;
    }
}

impl Protocol for Rumor {
    type Body = Channel;

    fn spreading_state(&self, _rounds: bool) -> Option<u8> {
        Some(0)
    }

    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, Channel>) {
        match self.rules.mode {
            RumorMode::Push => {
                // A node with no hot rumor has nothing to push and draws no partner.
                if cx.spreads_any(node) {
                    cx.for_each_partner(node, |cx, partner| {
                        self.transmit(cx, MessageKind::Push, node, partner, false);
                        cx.flush(&mut *self);
                    });
                }
            }
            RumorMode::Pull => cx.for_each_partner(node, |cx, partner| {
                cx.send(MessageKind::PullRequest, node, partner, Size::HEADER)
                    .body = Channel::Main;
                cx.flush(&mut *self);
            }),
            RumorMode::PushPull => cx.for_each_partner(node, |cx, partner| {
                self.transmit(cx, MessageKind::ExchangeOpen, node, partner, false);
                cx.flush(&mut *self);
            }),
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
            MessageKind::PullRequest => {
                // Only a node with hot rumors replies.
                if cx.spreads_any(m.to) {
                    self.transmit(cx, MessageKind::PullReply, m.to, m.from, true);
                }
            }
            MessageKind::ExchangeOpen => {
                self.arrive(m, cx);
                self.transmit(cx, MessageKind::ExchangeReply, m.to, m.from, false);
            }
            _ => self.arrive(m, cx),
        }
    }

    fn round(&mut self, cx: &mut Context<'_, Channel>) {
        Backing::round(self, cx, |p| p.backing.as_mut());
    }

    /// Pull's per-round rule, then every node that lost interest stops; nodes that learnt an
    /// update this round start with a fresh counter.
    fn end_round(&mut self, cx: &mut Context<'_, Channel>) {
        let rules = self.rules;
        let k = rules.k;
        let stops = |counter: u8, counting: bool| {
            if counting {
                u32::from(counter) >= k
            } else {
                counter == LOST_INTEREST
            }
        };
        let (spreaders, coins) = cx.spreaders_and_rng();
        let mut touched = std::mem::take(&mut spreaders.touched);
        for &(node, slot) in &touched {
            let (node_i, slot) = (node as usize, slot as usize);
            let flags = std::mem::take(&mut spreaders.ge[slot][node_i]);
            if rules.mode == RumorMode::Pull && flags & TRANSMITTED != 0 {
                let counts = if rules.feedback {
                    if flags & NECESSARY != 0 {
                        if rules.counter {
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
                    lose_interest_step(rules, spreaders, coins, node, slot);
                }
            }
            if stops(spreaders.counter[slot][node_i], rules.counter) {
                spreaders.now.clear_bits(node, slot / 64, 1 << (slot % 64));
            }
        }
        touched.clear();
        spreaders.touched = touched;
        for (node, slot) in spreaders.learnt.drain(..) {
            spreaders.counter[slot as usize][node as usize] = 0;
        }
    }

    /// Rumors may die out before everyone has the update: that residue is the result.
    fn settled(&self, status: &Status) -> bool {
        !status.spreading()
            && status.carrying() == 0
            && (self.backing.is_none() || status.quiescent())
    }
}
