//! The resolved scenario: every value checked, every default filled, every time in [`Time`].
//!
//! The engine trusts this type completely; `validate` is the only way to build one from a file.

use crate::time::Time;

/// A node's index, `0..nodes`.
pub type NodeId = u32;

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub seed: u64,
    pub nodes: u32,
    pub trials: u32,
    /// The run ends at `max_rounds * period` at the latest.
    pub max_rounds: u32,
    pub protocol: Protocol,
    /// Who may talk to whom: full membership unless an `[overlay]` table says otherwise.
    pub overlay: Overlay,
    pub timing: Timing,
    /// The gossip period; in `rounds` timing, the length of one round.
    pub period: Time,
    pub network: Network,
    pub crashes: Vec<CrashPlan>,
    pub churn: Option<Churn>,
    pub workload: Workload,
    pub sizes: SizeModel,
    pub output: OutputOptions,
    /// Named regions, their latency matrix and region-aware partner choice, when configured.
    pub regions: Option<Regions>,
}

/// Which protocol a scenario runs: one of the kinds this process knows, the built-ins first,
/// then those its binary registered (see `protocol::Registry`). Made only from a known name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProtocolKind(u16);

impl ProtocolKind {
    /// The kind `protocol.kind = name` selects, if this process knows one.
    pub fn lookup(name: &str) -> Option<ProtocolKind> {
        crate::protocol::registry::lookup(name)
    }

    /// The kind named `name`; panics if there is none (for scenarios built in code).
    pub fn named(name: &str) -> ProtocolKind {
        ProtocolKind::lookup(name).unwrap_or_else(|| panic!("no protocol named {name:?}"))
    }

    pub fn as_str(self) -> &'static str {
        crate::protocol::registry::name_of(self)
    }

    pub(crate) fn from_index(index: u16) -> ProtocolKind {
        ProtocolKind(index)
    }

    pub(crate) fn index(self) -> u16 {
        self.0
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Protocol {
    pub kind: ProtocolKind,
    pub fanout: u32,
    /// The protocol's own keys of the `[protocol]` table, every default filled in (see
    /// `protocol::Kind::resolve`).
    pub config: toml::Table,
}

impl Protocol {
    /// Protocol `kind` with one partner and its defaults.
    pub fn named(kind: &str) -> Protocol {
        Protocol {
            kind: ProtocolKind::named(kind),
            fanout: 1,
            config: toml::Table::new(),
        }
    }

    /// Sets one of the protocol's own keys (for scenarios built in code).
    pub fn with(mut self, key: &str, value: impl Into<toml::Value>) -> Protocol {
        self.config.insert(key.to_string(), value.into());
        self
    }
}

/// HyParView's parameters (the paper's names in brackets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HyParViewParams {
    /// Capacity of the active view (the symmetric links used for gossip).
    pub active_size: u32,
    /// Capacity of the passive view (backup nodes).
    pub passive_size: u32,
    /// Active random walk length \[ARWL\]: hops a FORWARD_JOIN travels.
    pub arwl: u32,
    /// Passive random walk length \[PRWL\]: the hop at which a FORWARD_JOIN also leaves the new
    /// node in a passive view.
    pub prwl: u32,
    /// A shuffle every this many rounds.
    pub shuffle_every: u32,
    /// Active-view entries in a shuffle \[ka\].
    pub shuffle_active: u32,
    /// Passive-view entries in a shuffle \[kp\].
    pub shuffle_passive: u32,
    /// Rounds of shuffling after the sequential joins, before the trial's time 0.
    pub warmup_rounds: u32,
}

impl Default for HyParViewParams {
    /// The paper's configuration for 10,000 nodes (section 5): active 5, passive 30, ARWL 6,
    /// PRWL 3, shuffles of 3 active and 4 passive entries.
    fn default() -> Self {
        HyParViewParams {
            active_size: 5,
            passive_size: 30,
            arwl: 6,
            prwl: 3,
            shuffle_every: 10,
            shuffle_active: 3,
            shuffle_passive: 4,
            warmup_rounds: 50,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timing {
    /// Lock-step rounds: the model of the analytic literature.
    Rounds,
    /// Every node on its own timer with a random initial phase; messages take a sampled latency.
    Async {
        /// Each timer interval is `period + U[-jitter, +jitter]`.
        jitter: Time,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// Probability that one message is lost, independently of every other.
    pub loss: f64,
    /// Message latency; only `async` timing uses it.
    pub latency: Latency,
    /// The most bytes one message may have, header included (an MTU: memberlist's UDP budget is
    /// 1,400): protocols cut what they send to fit, and the engine counts any message over it.
    pub max_message_bytes: Option<u64>,
    /// The most bytes a node may send per gossip period (a round in `rounds` timing): the
    /// engine charges every message to its sender, and protocols fit what they send to what
    /// is left.
    pub budget_bytes_per_period: Option<u64>,
}

impl Network {
    /// Whether a message size limit or a send budget applies.
    pub fn bounded(&self) -> bool {
        self.max_message_bytes.is_some() || self.budget_bytes_per_period.is_some()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Latency {
    Constant {
        ms: f64,
    },
    Uniform {
        min_ms: f64,
        max_ms: f64,
    },
    Exponential {
        mean_ms: f64,
    },
    /// ln(latency_ms) ~ Normal(ln(median_ms), sigma).
    LogNormal {
        median_ms: f64,
        sigma: f64,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum CrashTarget {
    /// These nodes, each a valid id, no duplicates, sorted.
    Nodes(Vec<NodeId>),
    /// A uniformly random fraction of the nodes that are up at that moment.
    Fraction(f64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct CrashPlan {
    pub at: Time,
    pub target: CrashTarget,
    /// `None` is crash-stop.
    pub recover_after: Option<Time>,
    /// Whether a recovering node still holds its price table.
    pub keep_state: bool,
}

/// Continuous churn: crashes arrive as a Poisson process, downtimes are exponential.
#[derive(Clone, Debug, PartialEq)]
pub struct Churn {
    /// Expected crashes per node per gossip period.
    pub crash_rate: f64,
    /// Mean downtime.
    pub mean_downtime: Time,
    pub keep_state: bool,
    /// What a node that comes back with its table does first.
    pub rejoin: Rejoin,
    pub start: Time,
    /// No new churn crash after this time.
    pub stop: Time,
}

/// `churn.rejoin`: how a node that churn took down comes back.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Rejoin {
    /// With its own table, as it left it, catching up by gossip. An update stays in flight
    /// until every node that keeps a table holds it, down ones included: the exact default.
    #[default]
    OwnTable,
    /// With its own table merged with a snapshot of a random up node's (a bootstrap over a
    /// reliable stream: a pull request with its digest and a reply with what it lacks, whole
    /// catalog included when it missed a retired version). Updates then retire once every up
    /// node holds them, without waiting for nodes that are down: with much churn, far fewer
    /// are in flight.
    Snapshot,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ExplicitUpdate {
    pub product: String,
    pub price: f64,
    pub origin: NodeId,
    pub at: Time,
}

#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedUpdates {
    /// How many updates to generate.
    pub count: u32,
    /// First injection time.
    pub start: Time,
    /// Mean updates per gossip period; injections form a Poisson process. `None`: all at `start`.
    pub per_round: Option<f64>,
    /// Zipf exponent of product popularity over the catalog (0 = uniform).
    pub zipf_exponent: f64,
    /// Inclusive price range.
    pub min_price: f64,
    pub max_price: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// Catalog size. Product `i` of the catalog is named `P{i+1:06}`, unless an explicit update
    /// names it otherwise; explicit names are added to the catalog.
    pub products: u32,
    pub explicit: Vec<ExplicitUpdate>,
    pub generated: Option<GeneratedUpdates>,
}

/// Bytes on the wire, for the `bytes` column. Documented in the README.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeModel {
    /// Every message: addressing, type, checksum.
    pub header: u64,
    /// One price entry: product id, price, version.
    pub entry: u64,
    /// One digest entry: product id, version.
    pub digest_entry: u64,
}

impl Default for SizeModel {
    fn default() -> Self {
        SizeModel {
            header: 32,
            entry: 24,
            digest_entry: 16,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct OutputOptions {
    /// Write coverage.csv (one row per trial, update and round).
    pub coverage: bool,
    /// Write tables.csv: every node's final price of every product that changed.
    pub tables: bool,
}

/// The membership overlay: whom a node may pick as a partner. Static graphs are built once per
/// trial from the trial's overlay stream and never repaired: a crashed neighbour stays a
/// neighbour. HyParView's views change as nodes crash, recover and shuffle.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Overlay {
    /// Every node knows every other: partners are uniform over the other `n - 1` nodes (the
    /// model of the analytic literature).
    Full,
    /// A uniformly random simple `degree`-regular undirected graph.
    KRegular { degree: u32 },
    /// Every node picks `degree` distinct random out-neighbours; partners are drawn from them
    /// (a directed graph).
    KOut { degree: u32 },
    /// G(n, p): every pair of nodes is an undirected edge with probability p.
    ErdosRenyi(EdgeChance),
    /// HyParView partial views (Leitão, Pereira, Rodrigues, DSN 2007): partners come from the
    /// node's active view. Rounds timing only.
    HyParView(HyParViewParams),
}

impl Overlay {
    pub fn as_str(self) -> &'static str {
        match self {
            Overlay::Full => "full",
            Overlay::KRegular { .. } => "k-regular",
            Overlay::KOut { .. } => "k-out",
            Overlay::ErdosRenyi(_) => "erdos-renyi",
            Overlay::HyParView(_) => "hyparview",
        }
    }
}

/// The edge probability of an Erdős–Rényi overlay, as the user wrote it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum EdgeChance {
    /// Expected degree c: p = c / (n - 1).
    MeanDegree(f64),
    Probability(f64),
}

impl EdgeChance {
    /// The edge probability over `nodes` nodes.
    pub fn p(self, nodes: u32) -> f64 {
        match self {
            EdgeChance::MeanDegree(c) => (c / f64::from(nodes.max(2) - 1)).min(1.0),
            EdgeChance::Probability(p) => p,
        }
    }
}

/// Nodes grouped into named regions: region `i` holds the next `regions[i].nodes` node ids, in
/// id order.
#[derive(Clone, Debug, PartialEq)]
pub struct Regions {
    pub regions: Vec<Region>,
    /// Latency between two regions (async timing), for the pairs the file names. Each pair is
    /// `(a, b)` with `a <= b` (region indices), sorted; other pairs use `network.latency`.
    pub latency: Vec<RegionLatency>,
    /// Probability that a partner is drawn from the node's own region (full membership only).
    pub local_bias: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Region {
    pub name: String,
    pub nodes: u32,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RegionLatency {
    pub a: u32,
    pub b: u32,
    pub latency: Latency,
}

impl Regions {
    /// The first node id of each region, and `nodes` at the end.
    pub fn starts(&self) -> Vec<u32> {
        let mut starts = Vec::with_capacity(self.regions.len() + 1);
        let mut next = 0;
        for region in &self.regions {
            starts.push(next);
            next += region.nodes;
        }
        starts.push(next);
        starts
    }
}
