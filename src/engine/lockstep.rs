//! `rounds` timing: lock-step rounds, the model of the analytic literature.
//!
//! In round `r` every live node acts on the state it held at the start of the round; what it
//! learns during round `r` is applied at the end of the round and first used in round `r + 1`.
//! Happenings (injections, crashes, recoveries) take effect at the start of a round, before any
//! node acts. Nodes act in id order; each draws its partners from the peer-choice stream.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::scenario::{ExchangeMode, ProtocolKind};
use crate::time::Time;

use super::peers::PeerSampler;
use super::trial::Trial;
use super::world::World;

/// Runs rounds until nothing is left to happen or `max_rounds`. Returns the end time.
pub fn run(trial: &mut Trial, progress: &AtomicU64) -> Time {
    let period = trial.scenario.period;
    let mut rounds = 0u64;
    for r in 0..u64::from(trial.scenario.max_rounds) {
        round(trial, r);
        rounds = r + 1;
        progress.fetch_add(1, Ordering::Relaxed);
        // Nothing left to spread (or nobody left to spread it) and nothing left to happen.
        if trial.pending == 0 && (trial.world.quiescent() || trial.world.alive == 0) {
            break;
        }
    }
    Time(rounds * period.0)
}

/// Round `r`: the happenings due at its start, every live node's contacts, then the
/// end-of-round bookkeeping.
pub fn round(trial: &mut Trial, r: u64) {
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
    let at = start + period;
    let Trial {
        world,
        peers,
        transport,
        ..
    } = trial;
    let mut lost = || transport.lost();
    world.begin_round();
    if world.one_word_rows() {
        contacts::<false>(world, peers, kind, full_table, at, &mut lost);
    } else {
        contacts::<true>(world, peers, kind, full_table, at, &mut lost);
    }
    world.end_round();
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
        }
    }
}
