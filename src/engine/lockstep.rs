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
use super::rumor::Rumor;
use super::trial::Trial;

/// The per-round rules of the protocols whose nodes stop spreading by themselves.
enum Stopping {
    None,
    Rumor(Box<Rumor>),
    MedianCounter(MedianCounter),
    Flood(Flood),
}

/// Runs rounds until nothing is left to happen or `max_rounds`. Returns the end time.
pub fn run(trial: &mut Trial, progress: &AtomicU64) -> Time {
    let scenario = trial.scenario;
    let period = scenario.period;
    let kind = scenario.protocol.kind;
    let full_table = scenario.protocol.exchange == ExchangeMode::FullTable;
    let anti_entropy_every = scenario.protocol.anti_entropy_every.map(u64::from);
    let mut stopping = match kind {
        ProtocolKind::Rumor(rules) => Stopping::Rumor(Box::new(Rumor::new(
            rules,
            seed::stream(trial.trial_seed, Purpose::Protocol),
        ))),
        ProtocolKind::MedianCounter { ctr_max } => {
            Stopping::MedianCounter(MedianCounter::new(ctr_max))
        }
        ProtocolKind::Flood => Stopping::Flood(Flood::new()),
        ProtocolKind::Push | ProtocolKind::Pull | ProtocolKind::PushPull => Stopping::None,
    };
    let mut rounds = 0u64;
    for r in 0..u64::from(scenario.max_rounds) {
        let start = Time(r * period.0);
        while let Some(t) = trial.queue.peek_time() {
            if t > start {
                break;
            }
            let (t, event) = trial.queue.pop().expect("peeked");
            trial.handle_scheduled(event, t);
        }
        let at = start + period;
        let Trial {
            world,
            peers,
            transport,
            ..
        } = trial;
        world.begin_round();
        for node in 0..world.nodes {
            if !world.is_up(node) {
                continue;
            }
            match kind {
                ProtocolKind::Push => {
                    // A node with nothing in flight has nothing to push and draws no partner.
                    if world.holds_any(node) {
                        for &partner in peers.choose(node) {
                            world.push_contact(node, partner, at, &mut || transport.lost());
                        }
                    }
                }
                ProtocolKind::Pull => {
                    for &partner in peers.choose(node) {
                        world.pull_contact(node, partner, at, &mut || transport.lost());
                    }
                }
                ProtocolKind::PushPull => {
                    for &partner in peers.choose(node) {
                        let mut lost = || transport.lost();
                        world.exchange_contact(node, partner, full_table, at, &mut lost);
                    }
                }
                ProtocolKind::Rumor(_) => {
                    if let Stopping::Rumor(rumor) = &mut stopping {
                        rumor.contacts(world, peers, transport, node, at);
                    }
                }
                ProtocolKind::MedianCounter { .. } => {
                    if let Stopping::MedianCounter(median) = &mut stopping {
                        median.contact(world, peers, transport, node, at);
                    }
                }
                ProtocolKind::Flood => {
                    if let Stopping::Flood(flood) = &mut stopping {
                        flood.forward(world, peers, transport, node, at);
                    }
                }
            }
        }
        // The backing anti-entropy round (Demers et al. 1987, section 1.5): every live node
        // also runs one digest exchange with a random partner.
        if anti_entropy_every.is_some_and(|every| (r + 1) % every == 0) {
            let mut lost = || transport.lost();
            for node in 0..world.nodes {
                if world.is_up(node)
                    && let Some(partner) = peers.one(node)
                {
                    world.exchange_contact(node, partner, full_table, at, &mut lost);
                }
            }
        }
        world.end_round();
        match &mut stopping {
            Stopping::Rumor(rumor) => rumor.end_round(world),
            Stopping::MedianCounter(median) => median.end_round(world),
            Stopping::Flood(flood) => flood.end_round(world),
            Stopping::None => {}
        }
        world.close_period(at);
        rounds = r + 1;
        progress.fetch_add(1, Ordering::Relaxed);
        // Nothing left to spread (or nobody left to spread it) and nothing left to happen.
        let world = &trial.world;
        let settled = if kind.stops_spreading() {
            // Rumors may die out before everyone has the update: that residue is the result.
            !world.spreading() && (anti_entropy_every.is_none() || world.quiescent())
        } else {
            world.quiescent()
        };
        if trial.pending == 0 && (settled || world.alive == 0) {
            break;
        }
    }
    Time(rounds * period.0)
}
