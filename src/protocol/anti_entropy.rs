//! Anti-entropy: push, pull and push-pull exchanges of price tables (Demers et al. 1987,
//! section 1.3), every node with `fanout` random partners every period, forever.
//!
//! - push: a node that holds updates in flight sends the newest versions it holds.
//! - pull: a node sends its digest; the partner replies with what the digest lacks (and the
//!   whole catalog when the requester lost its table and the partner holds it).
//! - push-pull, digest mode: open with a digest; the reply carries what the initiator lacks and
//!   the responder's digest; a close carries what the responder lacks, when anything.
//! - push-pull, full-table mode: each side ships its whole table; the receiver keeps what is
//!   newer.
//!
//! Theory (rounds timing, full membership, no loss): push reaches everyone in
//! log2 n + ln n rounds (Frieze & Grimmett 1985, Pittel 1987); pull and push-pull in
//! log3 n + O(ln ln n) (Karp et al. 2000).

use serde::{Deserialize, Serialize};

mod bounded;
pub(crate) use bounded::Bounds;

use super::budget::Priority;
use super::kind::{ConfigError, Estimate, Kind, n_and_fanout};
use super::{Context, Message, MessageKind, NodeId, Protocol, Size, Words};
use crate::engine::{Kernel, Setup};
use crate::scenario::{Scenario, Timing};

/// Which direction the exchange goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exchange {
    Push,
    Pull,
    PushPull { full_table: bool },
}

/// The anti-entropy protocol; also the backing round of rumor mongering and median-counter.
pub struct AntiEntropy {
    exchange: Exchange,
    table: Words,
    digest: Words,
    /// What goes first when a message cannot carry every entry (see [`Priority`]).
    priority: Priority,
    /// Under a message size limit or a send budget: the digest pages and priority state
    /// (allocated at the first bounded contact).
    bounds: Option<Box<Bounds>>,
    /// The scenario bounds messages: the kernels, which know no bounds, stand aside.
    bounded: bool,
}

impl AntiEntropy {
    pub fn new(exchange: Exchange) -> AntiEntropy {
        AntiEntropy {
            exchange,
            table: Words::default(),
            digest: Words::default(),
            priority: Priority::Newest,
            bounds: None,
            bounded: false,
        }
    }

    /// The protocol as a trial of `setup` runs it: under the scenario's bounds, with `priority`.
    pub fn for_trial(exchange: Exchange, priority: Option<Priority>, setup: &Setup) -> AntiEntropy {
        let mut protocol = AntiEntropy::new(exchange);
        protocol.priority = priority.unwrap_or_default();
        protocol.bounded = setup.scenario.network.bounded();
        protocol
    }

    /// `node` opens one contact with `partner`.
    pub fn open<B: Copy + Default>(
        &mut self,
        node: NodeId,
        partner: NodeId,
        cx: &mut Context<'_, B>,
    ) {
        if cx.bounded() {
            return self.open_bounded(node, partner, cx);
        }
        match self.exchange {
            Exchange::Push => {
                let entries = cx.top(node, |_| 0, &mut self.table);
                if entries > 0 {
                    cx.send(MessageKind::Push, node, partner, Size::entries(entries))
                        .payload
                        .copy_from(&self.table);
                }
            }
            Exchange::Pull | Exchange::PushPull { .. } => {
                let (kind, full) = match self.exchange {
                    Exchange::Pull => (MessageKind::PullRequest, false),
                    _ => (MessageKind::ExchangeOpen, self.full_table()),
                };
                // Read per contact: an earlier contact of this node may have given it the
                // baseline (in rounds timing its replies arrive before the next contact opens).
                let table = cx.table_entries(node);
                let has_baseline = cx.has_baseline(node);
                cx.digest(node, &mut self.digest);
                if full {
                    cx.top(node, |_| 0, &mut self.table);
                }
                let size = if full {
                    Size::entries(table)
                } else {
                    Size::digest(table)
                };
                let out = cx.send(kind, node, partner, size);
                out.digest.copy_from(&self.digest);
                out.sender_has_baseline = has_baseline;
                if full {
                    out.payload.copy_from(&self.table);
                    out.carries_baseline = has_baseline;
                }
            }
        }
    }

    fn full_table(&self) -> bool {
        self.exchange == (Exchange::PushPull { full_table: true })
    }

    /// Handles a message of an exchange this protocol opened (any kind but Plumtree's).
    pub fn receive<B: Copy + Default>(&mut self, m: &Message<B>, cx: &mut Context<'_, B>) {
        if cx.bounded() {
            return self.receive_bounded(m, cx);
        }
        let (to, from) = (m.to, m.from);
        match m.kind {
            MessageKind::Push | MessageKind::PullReply | MessageKind::ExchangeClose => {
                cx.deliver(to, from, &m.payload);
            }
            MessageKind::PullRequest | MessageKind::ExchangeOpen => {
                let full = m.kind == MessageKind::ExchangeOpen && self.full_table();
                if full {
                    cx.deliver(to, from, &m.payload);
                }
                let reply_kind = if m.kind == MessageKind::PullRequest {
                    MessageKind::PullReply
                } else {
                    MessageKind::ExchangeReply
                };
                let table = cx.table_entries(to);
                let has_baseline = cx.has_baseline(to);
                if full {
                    cx.top(to, |_| 0, &mut self.table);
                    let out = cx.send(reply_kind, to, from, Size::entries(table));
                    out.payload.copy_from(&self.table);
                    out.sender_has_baseline = has_baseline;
                    out.carries_baseline = has_baseline;
                } else {
                    let mut entries = cx.top(to, |w| m.digest.get(w), &mut self.table);
                    let carries_baseline = has_baseline && !m.sender_has_baseline;
                    if carries_baseline {
                        entries += cx.catalog_len();
                    }
                    let exchange = reply_kind == MessageKind::ExchangeReply;
                    if exchange {
                        cx.digest(to, &mut self.digest);
                    }
                    let digest_entries = if exchange { table } else { 0 };
                    let size = Size {
                        entries,
                        digest_entries,
                        other_bytes: 0,
                    };
                    let out = cx.send(reply_kind, to, from, size);
                    out.payload.copy_from(&self.table);
                    if exchange {
                        out.digest.copy_from(&self.digest);
                    }
                    out.sender_has_baseline = has_baseline;
                    out.carries_baseline = carries_baseline;
                }
            }
            MessageKind::ExchangeReply => {
                cx.deliver(to, from, &m.payload);
                if !self.full_table() {
                    let mut entries = cx.top(to, |w| m.digest.get(w), &mut self.table);
                    let carries_baseline = cx.has_baseline(to) && !m.sender_has_baseline;
                    if carries_baseline {
                        entries += cx.catalog_len();
                    }
                    if entries > 0 {
                        let size = Size::entries(entries);
                        let out = cx.send(MessageKind::ExchangeClose, to, from, size);
                        out.payload.copy_from(&self.table);
                        out.carries_baseline = carries_baseline;
                    }
                }
            }
            MessageKind::Gossip
            | MessageKind::IHave
            | MessageKind::Graft
            | MessageKind::Prune
            | MessageKind::Membership => {
                unreachable!("anti-entropy sends none of Plumtree's or HyParView's messages")
            }
        }
    }
}

/// `protocol.kind = "push"`: `priority` under bounds.
pub struct Push;

/// `protocol.kind = "pull"`: `priority` under bounds.
pub struct Pull;

/// `protocol.kind = "push-pull"`.
pub struct PushPull;

/// How a push-pull exchange ships state: `protocol.exchange`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExchangeMode {
    /// Send a digest (product -> version), then only the entries the other side lacks.
    #[default]
    Digest,
    /// Send the whole price table; the receiver keeps what is newer.
    FullTable,
}

/// The keys of push-pull.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PushPullConfig {
    /// `"digest"` (the default) or `"full-table"`.
    #[serde(default)]
    pub exchange: ExchangeMode,
    /// Under bandwidth bounds: which entries go first when not all fit (default `"newest"`).
    pub priority: Option<Priority>,
}

/// The keys of push and pull.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BoundedConfig {
    /// Under bandwidth bounds: which entries go first when not all fit (default `"newest"`).
    pub priority: Option<Priority>,
}

/// `protocol.priority`: only under bounds, where it defaults to newest first. Left out of an
/// unbounded scenario, so that its resolved file reads as before the bounds existed.
pub(crate) fn resolve_priority(
    priority: Option<Priority>,
    scenario: &Scenario,
) -> Result<Option<Priority>, ConfigError> {
    match (priority, scenario.network.bounded()) {
        (Some(p), false) => Err(ConfigError::new(
            "priority",
            p.as_str(),
            "only applies under network.max_message_bytes or network.budget_bytes_per_period",
        )),
        (p, true) => Ok(Some(p.unwrap_or_default())),
        (None, false) => Ok(None),
    }
}

impl Kind for Push {
    type Config = BoundedConfig;
    type Protocol = AntiEntropy;

    fn resolve(config: BoundedConfig, scenario: &Scenario) -> Result<BoundedConfig, ConfigError> {
        Ok(BoundedConfig {
            priority: resolve_priority(config.priority, scenario)?,
        })
    }

    fn new(config: &BoundedConfig, setup: &Setup) -> AntiEntropy {
        AntiEntropy::for_trial(Exchange::Push, config.priority, setup)
    }

    fn theory(_: &BoundedConfig, scenario: &Scenario, metric: &str) -> Option<f64> {
        theory(Exchange::Push, scenario, metric)
    }
}

impl Kind for Pull {
    type Config = BoundedConfig;
    type Protocol = AntiEntropy;

    fn resolve(config: BoundedConfig, scenario: &Scenario) -> Result<BoundedConfig, ConfigError> {
        Ok(BoundedConfig {
            priority: resolve_priority(config.priority, scenario)?,
        })
    }

    fn new(config: &BoundedConfig, setup: &Setup) -> AntiEntropy {
        AntiEntropy::for_trial(Exchange::Pull, config.priority, setup)
    }

    /// log2 n / k + ln ln n (Karp et al. 2000).
    fn estimate(_: &BoundedConfig, scenario: &Scenario) -> Estimate {
        let (n, k) = n_and_fanout(scenario);
        Estimate::rounds(n.log2() / k + ln_ln(n))
    }
}

impl Kind for PushPull {
    type Config = PushPullConfig;
    type Protocol = AntiEntropy;

    fn resolve(config: PushPullConfig, scenario: &Scenario) -> Result<PushPullConfig, ConfigError> {
        if config.exchange == ExchangeMode::FullTable && scenario.network.bounded() {
            return Err(ConfigError::new(
                "exchange",
                "full-table",
                "cannot run under network.max_message_bytes or network.budget_bytes_per_period \
                 (a whole table does not fit one message); use \"digest\"",
            ));
        }
        Ok(PushPullConfig {
            exchange: config.exchange,
            priority: resolve_priority(config.priority, scenario)?,
        })
    }

    fn new(config: &PushPullConfig, setup: &Setup) -> AntiEntropy {
        let full_table = config.exchange == ExchangeMode::FullTable;
        AntiEntropy::for_trial(Exchange::PushPull { full_table }, config.priority, setup)
    }

    fn theory(config: &PushPullConfig, scenario: &Scenario, metric: &str) -> Option<f64> {
        let full_table = config.exchange == ExchangeMode::FullTable;
        theory(Exchange::PushPull { full_table }, scenario, metric)
    }

    fn estimate(_: &PushPullConfig, scenario: &Scenario) -> Estimate {
        Estimate::rounds(push_pull_rounds(scenario))
    }
}

/// log3 n + ln ln n (Karp et al. 2000): push-pull's rounds to reach everyone.
pub(crate) fn push_pull_rounds(scenario: &Scenario) -> f64 {
    let (n, _) = n_and_fanout(scenario);
    n.ln() / 3f64.ln() + ln_ln(n)
}

fn ln_ln(n: f64) -> f64 {
    n.ln().max(1.0).ln()
}

/// The analytic prediction of `metric` for anti-entropy in `scenario`, where its assumptions
/// hold: rounds timing, no crashes or churn; the rounds-to-all formulas also need fanout 1 and
/// no loss.
/// - push, rounds to all: log2 n + ln n (Frieze & Grimmett 1985; Pittel 1987);
/// - push-pull, rounds to all: log3 n (Karp et al. 2000, leading term);
/// - push, rounds to 99%: 2 ln(99 (n + 1)) / (fanout (1 - loss)) (the logistic approximation of
///   push's spread, as Serf's convergence simulator uses it).
fn theory(exchange: Exchange, scenario: &Scenario, metric: &str) -> Option<f64> {
    let ideal = scenario.timing == Timing::Rounds
        && scenario.crashes.is_empty()
        && scenario.churn.is_none();
    if !ideal {
        return None;
    }
    let n = f64::from(scenario.nodes);
    let fanout = f64::from(scenario.protocol.fanout);
    let loss = scenario.network.loss;
    let exact = loss == 0.0 && scenario.protocol.fanout == 1;
    match (metric, exchange) {
        ("rounds_to_all", Exchange::Push) if exact => Some(n.log2() + n.ln()),
        ("rounds_to_all", Exchange::PushPull { .. }) if exact => Some(n.ln() / 3f64.ln()),
        ("rounds_to_99", Exchange::Push) if loss < 1.0 => {
            Some(2.0 * (99.0 * (n + 1.0)).ln() / (fanout * (1.0 - loss)))
        }
        _ => None,
    }
}

impl Protocol for AntiEntropy {
    type Body = ();

    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, ()>) {
        // A node with nothing in flight has nothing to push and draws no partner.
        if self.exchange == Exchange::Push
            && (!cx.holds_any(node) || cx.top(node, |_| 0, &mut self.table) == 0)
        {
            return;
        }
        cx.for_each_partner(node, |cx, partner| {
            self.open(node, partner, cx);
            // In rounds timing the contact completes before the next one opens.
            cx.flush(&mut *self);
        });
    }

    fn on_message(&mut self, m: &Message<()>, cx: &mut Context<'_, ()>) {
        self.receive(m, cx);
    }

    fn kernel(&self) -> Option<Kernel> {
        // The kernels send whole digests and deltas: under bounds only the plain path runs.
        if self.bounded {
            return None;
        }
        Some(match self.exchange {
            Exchange::Push => Kernel::Push,
            Exchange::Pull => Kernel::Pull,
            Exchange::PushPull { full_table } => Kernel::PushPull { full_table },
        })
    }
}

/// Which of two protocols sharing a run a message belongs to: the main protocol, or the
/// anti-entropy round backing it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Channel {
    /// The backing anti-entropy (the default, so that [`AntiEntropy`]'s own sends need no tag).
    #[default]
    Backing,
    Main,
}

/// A push-pull anti-entropy round every `every` rounds behind a protocol whose nodes stop
/// spreading (Demers et al. 1987, section 1.5): every live node also runs one exchange with a
/// random partner. In `async` timing a node runs it at its tick in those periods.
pub struct Backing {
    exchange: AntiEntropy,
    every: u64,
}

/// The keys of a protocol that may run behind a backing round (rumor mongering,
/// median-counter): `anti_entropy_every` (none by default) and the backing's `exchange`.
pub(crate) fn backing_of(
    every: Option<u32>,
    exchange: Option<ExchangeMode>,
) -> Result<Option<Backing>, ConfigError> {
    match (every, exchange) {
        (None, Some(mode)) => Err(ConfigError::new(
            "exchange",
            toml::Value::try_from(mode).expect("a string"),
            "only applies with anti_entropy_every (the backing round's exchange)",
        )),
        (None, None) => Ok(None),
        (Some(every), mode) => Ok(Some(Backing::new(
            every,
            mode == Some(ExchangeMode::FullTable),
        ))),
    }
}

impl Backing {
    pub fn new(every: u32, full_table: bool) -> Backing {
        Backing {
            exchange: AntiEntropy::new(Exchange::PushPull { full_table }),
            every: u64::from(every),
        }
    }

    /// Whether the backing exchange runs in this round (or period).
    pub fn due(&self, round: u64) -> bool {
        (round + 1).is_multiple_of(self.every)
    }

    /// `node` exchanges with one random partner.
    pub fn contact(&mut self, node: NodeId, cx: &mut Context<'_, Channel>) {
        if let Some(partner) = cx.one_partner(node) {
            self.exchange.open(node, partner, cx);
        }
    }

    /// A round of `protocol` behind a backing round (rounds timing): every live node's turn in
    /// id order, then, in the rounds the backing is due, every live node's backing exchange.
    pub fn round<P: Protocol<Body = Channel>>(
        protocol: &mut P,
        cx: &mut Context<'_, Channel>,
        backing: impl Fn(&mut P) -> Option<&mut Backing>,
    ) {
        for node in 0..cx.nodes() {
            if cx.is_up(node) {
                protocol.on_tick(node, cx);
                cx.flush(protocol);
            }
        }
        if !backing(protocol).is_some_and(|b| b.due(cx.round())) {
            return;
        }
        for node in 0..cx.nodes() {
            if cx.is_up(node) {
                if let Some(b) = backing(protocol) {
                    b.contact(node, cx);
                }
                cx.flush(protocol);
            }
        }
    }

    pub fn receive(&mut self, m: &Message<Channel>, cx: &mut Context<'_, Channel>) {
        self.exchange.receive(m, cx);
    }
}
