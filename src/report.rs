//! What one trial produces: raw measurements in simulated time, before any formatting.
//!
//! Writers in `output` turn these into CSV rows; times become rounds by dividing by the period.

use crate::scenario::NodeId;
use crate::time::Time;

/// Kinds of message, in the fixed order of the `runs.csv` columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageKind {
    /// Push: the sender's fresh entries.
    #[default]
    Push = 0,
    /// Pull request: the requester's digest.
    PullRequest = 1,
    /// Pull reply: the entries the requester lacks.
    PullReply = 2,
    /// Anti-entropy opening: the initiator's digest (or its whole table).
    ExchangeOpen = 3,
    /// Anti-entropy reply: the entries the initiator lacks and, in digest mode, the responder's
    /// digest (or, in full-table mode, the responder's whole table).
    ExchangeReply = 4,
    /// Anti-entropy close: the entries the responder lacks (digest mode only).
    ExchangeClose = 5,
    /// Plumtree GOSSIP: the update's payload, eager-pushed or sent in answer to a GRAFT.
    Gossip = 6,
    /// Plumtree IHAVE: a lazy announcement (one update id, no payload).
    IHave = 7,
    /// Plumtree GRAFT: a request for a missing update that also turns the link eager.
    Graft = 8,
    /// Plumtree PRUNE: turns the link lazy.
    Prune = 9,
    /// HyParView membership after the warm-up: JOIN, FORWARD_JOIN, DISCONNECT, NEIGHBOR and its
    /// reply, SHUFFLE and SHUFFLE_REPLY (one hop of a random walk is one message).
    Membership = 10,
}

impl MessageKind {
    pub const COUNT: usize = 11;
    pub const ALL: [MessageKind; MessageKind::COUNT] = [
        MessageKind::Push,
        MessageKind::PullRequest,
        MessageKind::PullReply,
        MessageKind::ExchangeOpen,
        MessageKind::ExchangeReply,
        MessageKind::ExchangeClose,
        MessageKind::Gossip,
        MessageKind::IHave,
        MessageKind::Graft,
        MessageKind::Prune,
        MessageKind::Membership,
    ];
    /// The kinds whose columns follow `messages` in `runs.csv`; the later kinds' columns come
    /// at the end of the row (they were added later, and columns are only ever appended).
    pub const FIRST_COLUMNS: usize = 6;

    pub fn column(self) -> &'static str {
        match self {
            MessageKind::Push => "push_messages",
            MessageKind::PullRequest => "pull_requests",
            MessageKind::PullReply => "pull_replies",
            MessageKind::ExchangeOpen => "exchange_opens",
            MessageKind::ExchangeReply => "exchange_replies",
            MessageKind::ExchangeClose => "exchange_closes",
            MessageKind::Gossip => "gossip_messages",
            MessageKind::IHave => "ihave_messages",
            MessageKind::Graft => "graft_messages",
            MessageKind::Prune => "prune_messages",
            MessageKind::Membership => "membership_messages",
        }
    }
}

/// The fate of one price update in one trial.
#[derive(Clone, Debug, PartialEq)]
pub struct UpdateReport {
    /// Index in the trial's injection order (time, then scenario order).
    pub update: u32,
    pub product: u32,
    pub version: u32,
    pub price: f64,
    pub origin: NodeId,
    pub injected_at: Time,
    /// False when the origin was down at injection: the update never entered the system.
    pub injected: bool,
    /// First times at which at least 50%, 90%, 99% and all live nodes held it.
    pub reached_50: Option<Time>,
    pub reached_90: Option<Time>,
    pub reached_99: Option<Time>,
    pub reached_all: Option<Time>,
    /// Live nodes holding it, and live nodes, at the end of the trial.
    pub final_informed: u64,
    pub final_alive: u64,
    /// Messages that carried this update.
    pub update_messages: u64,
    /// All messages sent from injection until `reached_all`.
    pub messages_to_all: Option<u64>,
    /// Deliveries of this update to nodes that already held it (or a newer version).
    pub duplicates: u64,
    /// Nodes other than the origin that received it, and the sum of their delays after injection.
    pub deliveries: u64,
    pub delivery_delay_sum: u128,
    pub last_delivery: Option<Time>,
    pub max_hops: u32,
    /// Summed over rounds (periods) while it was in flight: live nodes that lacked it (serving
    /// an older version of its product).
    pub stale_node_rounds: u64,
}

/// One trial's totals.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RunReport {
    pub nodes: u32,
    /// When the trial ended: everything spread and nothing left to happen, or the time limit.
    pub end: Time,
    pub messages: u64,
    pub messages_by_kind: [u64; MessageKind::COUNT],
    pub bytes: u64,
    pub delivered: u64,
    pub lost: u64,
    pub dropped_at_crashed: u64,
    pub in_flight_at_end: u64,
    pub crashes: u64,
    pub recoveries: u64,
    /// Summed over rounds (periods): live nodes holding an outdated price for some product.
    pub stale_node_rounds: u64,
    /// Live nodes at the end.
    pub alive_at_end: u64,
    /// Events the engine processed (for events/s in benchmarks; not written to CSV).
    pub events: u64,
    /// HyParView messages of the warm-up before time 0 (joins and shuffles), counted apart:
    /// they are not in `messages`, `bytes` or any update's figures.
    pub warmup_messages: u64,
    /// Price entries protocols left out of a message to fit the message size limit or the
    /// sender's budget (each time one is left out: an entry deferred twice counts twice).
    pub deferred_entries: u64,
    /// Updates injected that no message ever carried and that did not reach every live node,
    /// counted at the end of the trial.
    pub never_sent_entries: u64,
    /// Messages over `network.max_message_bytes`, and messages sent with the sender's budget
    /// spent: a protocol that does not fit what it sends to the bounds (0 for the built-ins
    /// that honour them).
    pub oversize_messages: u64,
    pub over_budget_messages: u64,
}

impl RunReport {
    /// Bytes sent per delivery of an update to a node that lacked it (`None` before any).
    pub fn bytes_per_delivery(&self, updates: &[UpdateReport]) -> Option<f64> {
        let deliveries: u64 = updates.iter().map(|u| u.deliveries).sum();
        (deliveries > 0).then(|| self.bytes as f64 / deliveries as f64)
    }
}

/// Coverage of one update at the end of one round (or one period in async timing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CoverageSample {
    pub update: u32,
    /// End of the round, as a time.
    pub at: Time,
    pub informed: u64,
    pub alive: u64,
}

/// What one node holds for one product at the end of a trial (products that never changed are
/// left out: every node holds their initial price, version 0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TableEntry {
    pub node: NodeId,
    pub up: bool,
    pub product: u32,
    /// `None`: the node lost its table and has not learnt this product again.
    pub version: Option<u32>,
    /// `None` for version 0 (the initial catalog price, which the simulator does not model).
    pub price: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TrialReport {
    pub trial: u32,
    pub seed: u64,
    pub updates: Vec<UpdateReport>,
    pub run: RunReport,
    pub coverage: Vec<CoverageSample>,
    /// Every node's final price table, when the scenario asks for it (`output.tables`).
    pub tables: Vec<TableEntry>,
    /// Completion of every update in every region, when the scenario has regions.
    pub regions: Vec<RegionReport>,
}

/// The fate of one update in one region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionReport {
    pub update: u32,
    /// Index into the scenario's regions.
    pub region: u32,
    /// First time at which every live node of the region held it.
    pub reached_all: Option<Time>,
    /// Live nodes of the region holding it, and live nodes of the region, at the end.
    pub final_informed: u64,
    pub final_alive: u64,
}
