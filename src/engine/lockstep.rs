//! `rounds` timing: lock-step rounds, the model of the analytic literature.
//!
//! In round `r` every live node acts on the state it held at the start of the round; what it
//! learns during round `r` is applied at the end of the round and first used in round `r + 1`.
//! Happenings (injections, crashes, recoveries) take effect at the start of a round, before any
//! node acts. Nodes act in id order (see [`Protocol::round`]); each draws its partners from the
//! peer-choice stream, and every message is delivered within the round it is sent in.
//!
//! The built-in anti-entropy has engine specialisations ([`Kernel`]): the staged and batched
//! contacts of `kernel::lockstep` and `kernel::batch`, which compute exactly what the
//! protocol's own handlers compute (the tests compare whole reports with and without them).

use std::sync::atomic::{AtomicU64, Ordering};

use rand_chacha::ChaCha8Rng;

use crate::protocol::Protocol;
use crate::time::Time;

use super::context::{Context, Mode, Outbox, RoundTimers, Status};
use super::network::Transport;
use super::peers::PeerSampler;
use super::trial::Trial;
use super::world::World;

/// What a rounds run keeps between rounds besides the trial and the protocol.
pub(crate) struct Rounds<B> {
    outbox: Outbox<B>,
    rng: ChaCha8Rng,
    timers: RoundTimers,
    /// Updates injected at the start of this round: (origin, slot).
    injected: Vec<(u32, usize)>,
}

impl<B: Copy + Default> Rounds<B> {
    pub(crate) fn new(trial: &Trial) -> Rounds<B> {
        Rounds {
            outbox: Outbox::default(),
            rng: trial.protocol_stream(),
            timers: Vec::new(),
            injected: Vec::new(),
        }
    }

    /// A handler's context in round `r`, which ends at `at`.
    fn context<'a>(
        &'a mut self,
        world: &'a mut World,
        peers: &'a mut PeerSampler,
        transport: &'a mut Transport,
        at: Time,
        r: u64,
        period: Time,
    ) -> Context<'a, B> {
        let mode = Mode::Rounds {
            timers: &mut self.timers,
        };
        Context::new(
            world,
            peers,
            transport,
            &mut self.rng,
            &mut self.outbox,
            at,
            r,
            period,
            mode,
        )
    }
}

/// Runs rounds until nothing is left to happen or `max_rounds`. Returns the end time.
pub fn run<P: Protocol>(trial: &mut Trial, protocol: &mut P, progress: &AtomicU64) -> Time {
    let period = trial.scenario.period;
    let mut state = Rounds::new(trial);
    let mut rounds = 0u64;
    for r in 0..u64::from(trial.scenario.max_rounds) {
        round(trial, protocol, &mut state, r);
        rounds = r + 1;
        progress.fetch_add(1, Ordering::Relaxed);
        // Nothing left to spread (or nobody left to spread it) and nothing left to happen.
        let world = &trial.world;
        let status = Status {
            quiescent: world.quiescent(),
            spreading: world.spreading(),
            in_flight: 0,
            carrying: 0,
        };
        if trial.pending == 0 && (protocol.settled(&status) || world.alive == 0) {
            break;
        }
    }
    Time(rounds * period.0)
}

/// Round `r`: the happenings due at its start, every live node's contacts, then the
/// end-of-round bookkeeping.
pub(crate) fn round<P: Protocol>(
    trial: &mut Trial,
    protocol: &mut P,
    state: &mut Rounds<P::Body>,
    r: u64,
) {
    let scenario = trial.scenario;
    let period = scenario.period;
    let start = Time(r * period.0);
    state.injected.clear();
    while let Some(t) = trial.queue.peek_time() {
        if t > start {
            break;
        }
        let (t, event) = trial.queue.pop().expect("peeked");
        if let Some(injected) = trial.handle_scheduled(event, t) {
            state.injected.push(injected);
        }
    }
    // HyParView's periodic link check, fill-up and shuffle (its warm-up ran before round 0).
    if let Some(overlay) = trial.peers.hyparview() {
        let every = u64::from(overlay.params().shuffle_every);
        if r > 0 && r.is_multiple_of(every) {
            overlay.maintain_all();
        }
    }
    let at = start + period;
    let kernel = protocol.kernel().filter(|_| trial.fast_paths);
    let Trial {
        world,
        peers,
        transport,
        contacts,
        ..
    } = trial;
    world.begin_round();
    // Out of `state` while its context borrows it; its buffer comes back for the next round.
    let injected = std::mem::take(&mut state.injected);
    {
        let mut cx = state.context(world, peers, transport, at, r, period);
        for &(origin, slot) in &injected {
            protocol.on_inject(origin, slot, &mut cx);
            cx.flush(protocol);
        }
        fire_timers(protocol, &mut cx, r);
        match kernel {
            Some(kernel) => {
                let Context {
                    world,
                    peers,
                    transport,
                    ..
                } = cx;
                contacts.round(world, peers, transport, kernel, at);
            }
            None => protocol.round(&mut cx),
        }
    }
    state.injected = injected;
    world.end_round();
    {
        let mut cx = state.context(world, peers, transport, at, r, period);
        protocol.end_round(&mut cx);
        cx.flush(protocol);
    }
    if let Some(overlay) = peers.hyparview() {
        world.metrics.count_membership(overlay.take_messages());
    }
    world.close_period(at);
}

/// The protocol timers due in round `r`, in the order they are due (then set).
fn fire_timers<P: Protocol>(protocol: &mut P, cx: &mut Context<'_, P::Body>, r: u64) {
    loop {
        let Mode::Rounds { timers } = cx.mode_mut() else {
            unreachable!("rounds timing")
        };
        let Some(next) = timers
            .iter()
            .enumerate()
            .filter(|(_, t)| t.0 <= r)
            .min_by_key(|(_, t)| (t.0, t.1))
            .map(|(i, _)| i)
        else {
            return;
        };
        let (_, _, node, tag) = timers.swap_remove(next);
        if cx.is_up(node) {
            protocol.on_timer(node, tag, cx);
            cx.flush(protocol);
        }
    }
}
