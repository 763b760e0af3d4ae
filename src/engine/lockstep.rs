//! `rounds` timing: lock-step rounds, the model of the analytic literature.
//!
//! In round `r` every live node acts on the state it held at the start of the round; what it
//! learns during round `r` is applied at the end of the round and first used in round `r + 1`.
//! Happenings (injections, crashes, recoveries) take effect at the start of a round, before any
//! node acts. Nodes act in id order; each draws its partners from the peer-choice stream.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::scenario::{ExchangeMode, ProtocolKind};
use crate::seed::{self, Purpose};
use crate::time::Time;

use super::flood::Flood;
use super::median::MedianCounter;
use super::peers::PeerSampler;
use super::plumtree::Plumtree;
use super::rumor::Rumor;
use super::trial::Trial;
use super::world::World;

/// The per-round rules of the protocols whose nodes stop spreading by themselves.
pub enum Stopping {
    None,
    Rumor(Box<Rumor>),
    MedianCounter(MedianCounter),
    Flood(Flood),
    Plumtree(Box<Plumtree>),
}

impl Stopping {
    pub fn new(trial: &Trial) -> Stopping {
        match trial.scenario.protocol.kind {
            ProtocolKind::Rumor(rules) => Stopping::Rumor(Box::new(Rumor::new(
                rules,
                seed::stream(trial.trial_seed, Purpose::Protocol),
            ))),
            ProtocolKind::MedianCounter { ctr_max } => {
                Stopping::MedianCounter(MedianCounter::new(ctr_max))
            }
            ProtocolKind::Flood => Stopping::Flood(Flood::new()),
            ProtocolKind::Plumtree { ihave_timeout } => {
                Stopping::Plumtree(Box::new(Plumtree::new(
                    ihave_timeout,
                    trial.scenario.nodes,
                    trial.world.updates.len(),
                )))
            }
            ProtocolKind::Push | ProtocolKind::Pull | ProtocolKind::PushPull => Stopping::None,
        }
    }

    /// Whether the protocol still has sends due or timers running.
    fn busy(&self) -> bool {
        match self {
            Stopping::Plumtree(plumtree) => plumtree.busy(),
            _ => false,
        }
    }
}

/// Runs rounds until nothing is left to happen or `max_rounds`. Returns the end time.
pub fn run(trial: &mut Trial, progress: &AtomicU64) -> Time {
    let period = trial.scenario.period;
    let stops_spreading = trial.scenario.protocol.kind.stops_spreading();
    let backed = trial.scenario.protocol.anti_entropy_every.is_some();
    let mut stopping = Stopping::new(trial);
    let mut rounds = 0u64;
    for r in 0..u64::from(trial.scenario.max_rounds) {
        round(trial, &mut stopping, r);
        rounds = r + 1;
        progress.fetch_add(1, Ordering::Relaxed);
        // Nothing left to spread (or nobody left to spread it) and nothing left to happen.
        let world = &trial.world;
        let settled = if stops_spreading {
            // Rumors may die out before everyone has the update: that residue is the result.
            !world.spreading() && !stopping.busy() && (!backed || world.quiescent())
        } else {
            world.quiescent()
        };
        if trial.pending == 0 && (settled || world.alive == 0) {
            break;
        }
    }
    Time(rounds * period.0)
}

/// Round `r`: the happenings due at its start, every live node's contacts, then the
/// end-of-round bookkeeping.
pub fn round(trial: &mut Trial, stopping: &mut Stopping, r: u64) {
    let scenario = trial.scenario;
    let period = scenario.period;
    let kind = scenario.protocol.kind;
    let full_table = scenario.protocol.exchange == ExchangeMode::FullTable;
    let start = Time(r * period.0);
    while let Some(t) = trial.queue.peek_time() {
        if t > start {
            break;
        }
        let (t, event) = trial.queue.pop().expect("peeked");
        trial.handle_scheduled(event, t);
    }
    // HyParView's periodic link check, fill-up and shuffle (its warm-up ran before round 0).
    if let Some(overlay) = trial.peers.hyparview() {
        let every = u64::from(overlay.params().shuffle_every);
        if r > 0 && r.is_multiple_of(every) {
            overlay.maintain_all();
        }
    }
    let at = start + period;
    let Trial {
        world,
        peers,
        transport,
        batch,
        fast_paths,
        ..
    } = trial;
    world.begin_round();
    match stopping {
        Stopping::None => {
            let lossy = transport.lossy();
            let mut lost = || transport.lost();
            if *fast_paths && world.batchable() && !peers.is_hyparview() {
                world.batched_contacts(batch, peers, kind, full_table, at, lossy, &mut lost);
            } else if world.one_word_rows() {
                contacts::<false>(world, peers, kind, full_table, at, &mut lost);
            } else {
                contacts::<true>(world, peers, kind, full_table, at, &mut lost);
            }
        }
        Stopping::Rumor(rumor) => {
            for node in 0..world.nodes {
                if world.is_up(node) {
                    rumor.contacts(world, peers, transport, node, at);
                }
            }
        }
        Stopping::MedianCounter(median) => {
            for node in 0..world.nodes {
                if world.is_up(node) {
                    median.contact(world, peers, transport, node, at);
                }
            }
        }
        Stopping::Flood(flood) => {
            for node in 0..world.nodes {
                if world.is_up(node) {
                    flood.forward(world, peers, transport, node, at);
                }
            }
        }
        Stopping::Plumtree(plumtree) => plumtree.round(world, peers, transport, r, at),
    }
    // The backing anti-entropy round (Demers et al. 1987, section 1.5): every live node also
    // runs one digest exchange with a random partner.
    let every = scenario.protocol.anti_entropy_every.map(u64::from);
    if every.is_some_and(|every| (r + 1).is_multiple_of(every)) {
        let mut lost = || transport.lost();
        for node in 0..world.nodes {
            if world.is_up(node)
                && let Some(partner) = peers.one(node)
            {
                if world.one_word_rows() {
                    world.exchange_contact::<false>(node, partner, full_table, at, &mut lost);
                } else {
                    world.exchange_contact::<true>(node, partner, full_table, at, &mut lost);
                }
            }
        }
    }
    world.end_round();
    match stopping {
        Stopping::Rumor(rumor) => rumor.end_round(world),
        Stopping::MedianCounter(median) => median.end_round(world),
        Stopping::Flood(flood) => flood.end_round(world),
        Stopping::Plumtree(plumtree) => plumtree.end_round(world),
        Stopping::None => {}
    }
    if let Some(overlay) = peers.hyparview() {
        world.count_membership(overlay.take_messages());
    }
    world.close_period(at);
}

/// Every live node's contacts of one round, in id order. `WIDE`: rows span more than one word
/// (more than 64 updates in flight); the one-word case is compiled separately because it is
/// the common one and its word loops disappear.
fn contacts<const WIDE: bool>(
    world: &mut World,
    peers: &mut PeerSampler,
    kind: ProtocolKind,
    full_table: bool,
    at: Time,
    lost: &mut impl FnMut() -> bool,
) {
    for node in 0..world.nodes {
        if !world.is_up(node) {
            continue;
        }
        match kind {
            ProtocolKind::Push => {
                // A node with nothing in flight has nothing to push and draws no partner.
                if world.holds_any_in::<WIDE>(node) {
                    for &partner in peers.choose(node) {
                        world.push_contact::<WIDE>(node, partner, at, lost);
                    }
                }
            }
            ProtocolKind::Pull => {
                for &partner in peers.choose(node) {
                    world.pull_contact::<WIDE>(node, partner, at, lost);
                }
            }
            ProtocolKind::PushPull => {
                for &partner in peers.choose(node) {
                    world.exchange_contact::<WIDE>(node, partner, full_table, at, lost);
                }
            }
            ProtocolKind::Rumor(_)
            | ProtocolKind::MedianCounter { .. }
            | ProtocolKind::Flood
            | ProtocolKind::Plumtree { .. } => {
                unreachable!("protocols that stop spreading have their own contacts")
            }
        }
    }
}
