//! The protocol interface: what a gossip protocol is to the engine.
//!
//! A protocol holds its own per-node state (flat arrays indexed by node) and reacts to three
//! things: its node's turn to gossip ([`Protocol::on_tick`]: a round in `rounds` timing, a
//! timer firing in `async` timing), a message arriving ([`Protocol::on_message`]) and an update
//! being injected at its origin ([`Protocol::on_inject`]). A handler reads what nodes hold and
//! asks for partners through its [`Context`], and *sends* by filling in the message that
//! [`Context::send`] hands out. It never touches the event queue or the network:
//! - the engine alone schedules (rounds, timers, deliveries);
//! - the transport alone decides loss and latency of what a handler sends;
//! - the engine's metrics alone count messages, bytes, coverage, milestones, duplicates and
//!   staleness, from the message's declared kind, size and the updates it carries.
//!
//! The engine is generic over the protocol, so every handler call is monomorphised: no dynamic
//! dispatch or allocation per event. Both timings run every protocol:
//! - `rounds`: nodes act in id order on the state they held at the start of the round; a
//!   message is delivered within the round it is sent in (depth first: a reply is delivered
//!   before the sender's next message goes out) and what a node learns is visible from the next
//!   round on. [`Protocol::end_round`] runs after every node has acted.
//! - `async`: each node acts on its own timer, every message takes a sampled latency and what a
//!   node learns is visible at once. [`Protocol::end_round`] runs at every period boundary
//!   (the engine's tick), over what nodes did during the period.
//!
//! The built-in protocols live beside this file, one file each, and are written against this
//! interface only; so is `examples/lazy_push.rs`, which registers a protocol of its own.

pub(crate) mod anti_entropy;
pub mod budget;
mod difference;
mod flood;
mod kind;
mod median;
mod merkle;
mod piggyback;
mod plumtree;
pub(crate) mod registry;
mod rumor;
mod scuttlebutt;
mod sketch;

pub use crate::engine::Setup;
pub use crate::engine::context::{Context, Message, Size, Status};
pub use anti_entropy::{
    AntiEntropy, BoundedConfig, Exchange, ExchangeMode, Pull, Push, PushPull, PushPullConfig,
};
pub use budget::{Priority, Selector};
pub use flood::Flood;
pub use kind::{ConfigError, Estimate, Kind, NoKeys};
pub use median::{MedianCounter, MedianCounterConfig, default_ctr_max};
pub use merkle::{Cost, Merkle, MerkleBody, MerkleConfig, MerkleTree, Shape, Step};
pub use piggyback::{DEFAULT_RETRANSMIT_MULT, Piggyback, PiggybackConfig, retransmit_limit};
pub use plumtree::{Plumtree, PlumtreeConfig};
#[doc(hidden)]
pub use registry::run_trial_with_fast_paths;
pub use registry::{Registry, estimate, run_trial, theory};
pub use rumor::{Removal, Rumor, RumorConfig, RumorMode, RumorRules, Termination};
pub use scuttlebutt::{Ordering, Scuttlebutt, ScuttlebuttConfig};
pub use sketch::{
    Fallback, Sketch, SketchCode, SketchConfig, SketchModel, SketchReconciliation, SketchStep,
    iblt_decodes,
};

pub use crate::engine::words::Words;
pub use crate::report::MessageKind;
pub use crate::scenario::NodeId;
pub use crate::time::Time;

/// A gossip protocol, as the engine drives it (see the module documentation).
pub trait Protocol: Sized {
    /// What a message carries besides the updates, digest and baseline flag the engine
    /// understands: a protocol's own control fields (zero-sized for most protocols).
    type Body: Copy + Default;

    /// The per-(node, update) spreading state the engine keeps for this protocol, if its nodes
    /// stop spreading by themselves (rumor mongering, median-counter, flooding in rounds
    /// timing): `Some(code)` gives every node that learns an update between rounds (its
    /// origin) that starting state code. See [`Context::spreading_word`].
    fn spreading_state(&self, _rounds: bool) -> Option<u8> {
        None
    }

    /// Whether nodes have gossip timers in `async` timing (flooding has none: it forwards on
    /// receipt only).
    fn has_timers(&self) -> bool {
        true
    }

    /// `node`'s turn to gossip: once per round in `rounds` timing, at every timer in `async`
    /// timing. Only called for nodes that are up.
    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, Self::Body>);

    /// `message` has arrived at `message.to` (which is up).
    fn on_message(&mut self, message: &Message<Self::Body>, cx: &mut Context<'_, Self::Body>);

    /// Update `slot` was injected at `origin` (which is up and now holds it).
    fn on_inject(&mut self, _origin: NodeId, _slot: usize, _cx: &mut Context<'_, Self::Body>) {}

    /// A timer this protocol set with [`Context::set_timer`] fired at `node`.
    fn on_timer(&mut self, _node: NodeId, _tag: u64, _cx: &mut Context<'_, Self::Body>) {}

    /// One whole round in `rounds` timing. The default gives every up node its turn in id
    /// order; a protocol whose round has another shape (Plumtree's timers and pushes) replaces
    /// it.
    fn round(&mut self, cx: &mut Context<'_, Self::Body>) {
        for node in 0..cx.nodes() {
            if cx.is_up(node) {
                self.on_tick(node, cx);
                cx.flush(self);
            }
        }
    }

    /// End of a round (after every node's turn), or of a period in `async` timing.
    fn end_round(&mut self, _cx: &mut Context<'_, Self::Body>) {}

    /// Whether the run may end: nothing is left to spread. The default waits until every update
    /// in flight has reached every node that keeps a table ([`Status::quiescent`]); protocols
    /// whose nodes stop by themselves end when they do, leaving residue.
    fn settled(&self, status: &Status) -> bool {
        status.quiescent()
    }

    /// The engine's specialised contacts that compute exactly what this protocol's handlers
    /// do, for the built-in anti-entropy in `rounds` timing (the tests compare the two).
    #[doc(hidden)]
    fn kernel(&self) -> Option<crate::engine::Kernel> {
        None
    }
}
