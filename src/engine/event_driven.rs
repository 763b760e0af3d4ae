//! `async` timing: every node gossips on its own timer; every message takes a sampled latency;
//! what a node learns it can forward at once.
//!
//! Each node's first timer fires at a uniform random phase in `[0, period)`, then every
//! `period ± jitter`. Every `period` a tick ends the protocol's period ([`Protocol::end_round`]),
//! samples coverage, counts stale nodes and retires updates that everyone holds. Messages in
//! flight live in a table whose payload buffers are reused, so steady-state gossip allocates
//! nothing.
//!
//! A protocol without timers ([`Protocol::has_timers`], flooding) acts only on injections and
//! receipts; a run ends when the protocol is settled (for flooding: nothing left on the wire).

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::protocol::Protocol;
use crate::scenario::{NodeId, Timing};
use crate::seed::{self, Purpose};
use crate::time::Time;

use super::context::{AsyncParts, Context, InFlight, Mode, Outbox, Status, Wakeups, Wire};
use super::queue::Event;
use super::trial::Trial;

/// Timers without jitter, kept outside the event queue. Node `v`'s timer fires at `phase_v +
/// k * period`, so the order in which timers fire - by phase, then by insertion counter - is the
/// same every period: one array in that order, walked round and round, replaces half of all
/// queue pushes and pops. Each entry keeps the insertion counter its firing would have had in
/// the queue (taken with `EventQueue::reserve_seq` where the queue took it), and the driver
/// merges the ring with the queue by `(time, seq)`: events come out in exactly the queue's order.
pub(super) struct TimerRing {
    /// In firing order: phase, then insertion counter.
    phases: Vec<u64>,
    nodes: Vec<NodeId>,
    seqs: Vec<u64>,
    /// The next entry to fire, and the start of the period it fires in.
    pos: usize,
    /// `TIMER_AHEAD`, less than the entries (for prefetching).
    ahead: usize,
    base: u64,
    period: u64,
}

impl TimerRing {
    /// `(phase, seq, node)` of every node's first timer.
    pub(super) fn new(mut first: Vec<(u64, u64, NodeId)>, period: u64) -> TimerRing {
        first.sort_unstable();
        TimerRing {
            phases: first.iter().map(|t| t.0).collect(),
            seqs: first.iter().map(|t| t.1).collect(),
            nodes: first.iter().map(|t| t.2).collect(),
            pos: 0,
            ahead: TIMER_AHEAD % first.len().max(1),
            base: 0,
            period,
        }
    }

    /// `(time, seq)` of the next timer.
    #[inline(always)]
    pub(super) fn head(&self) -> (u64, u64) {
        (self.base + self.phases[self.pos], self.seqs[self.pos])
    }

    /// The node `TIMER_AHEAD` timers from now (for prefetching).
    #[inline(always)]
    pub(super) fn upcoming(&self) -> NodeId {
        // A subtraction, not `%`: this runs on every timer.
        let i = self.pos + self.ahead;
        self.nodes[if i < self.nodes.len() {
            i
        } else {
            i - self.nodes.len()
        }]
    }

    /// Fires the next timer: it comes back one period later holding insertion counter `seq`.
    /// Returns its node.
    #[inline(always)]
    pub(super) fn fire(&mut self, seq: u64) -> NodeId {
        let node = self.nodes[self.pos];
        self.seqs[self.pos] = seq;
        self.pos += 1;
        if self.pos == self.nodes.len() {
            self.pos = 0;
            self.base += self.period;
        }
        node
    }
}

struct Driver<'t, 's, P: Protocol> {
    trial: &'t mut Trial<'s>,
    protocol: &'t mut P,
    wire: Wire<P::Body>,
    wakeups: Wakeups,
    outbox: Outbox<P::Body>,
    rng: ChaCha8Rng,
    timers: ChaCha8Rng,
    jitter: u64,
}

/// Runs events until nothing is left to happen or `max_rounds` periods. Returns the end time.
pub fn run<P: Protocol>(trial: &mut Trial, protocol: &mut P, progress: &AtomicU64) -> Time {
    if trial.fast_paths
        && let Some(kernel) = protocol.kernel()
    {
        return super::async_kernel::run(trial, kernel, progress);
    }
    let scenario = trial.scenario;
    let period = scenario.period;
    let jitter = match scenario.timing {
        Timing::Async { jitter } => jitter.0,
        Timing::Rounds => 0,
    };
    let horizon = trial.horizon();
    let mut timers = seed::stream(trial.trial_seed, Purpose::Timers);
    let ticking = protocol.has_timers();
    let mut ring = None;
    if ticking && jitter == 0 && scenario.nodes > 0 && trial.fast_paths {
        let first = (0..scenario.nodes)
            .map(|node| {
                let phase = timers.random_range(0..period.0);
                (phase, trial.queue.reserve_seq(), node)
            })
            .collect();
        ring = Some(TimerRing::new(first, period.0));
    } else if ticking {
        for node in 0..scenario.nodes {
            let phase = timers.random_range(0..period.0);
            trial.queue.push(Time(phase), Event::Timer(node));
        }
    }
    trial.queue.push(period, Event::Tick);
    let mut driver = Driver {
        rng: trial.protocol_stream(),
        trial,
        protocol,
        wire: Wire::default(),
        wakeups: Wakeups::default(),
        outbox: Outbox::default(),
        timers,
        jitter,
    };
    let mut end = horizon;
    loop {
        if let Some(ring) = &mut ring {
            let timer = ring.head();
            let queued = driver.trial.queue.peek_key_before(timer.0);
            if queued.is_none_or(|key| key > timer) {
                driver.trial.world.run.events += 1;
                driver.trial.world.prefetch_node(ring.upcoming());
                driver.prefetch_ahead();
                let node = ring.fire(driver.trial.queue.reserve_seq());
                driver.act(node, Time(timer.0));
                continue;
            }
        }
        let Some((at, event)) = driver.trial.queue.pop() else {
            break;
        };
        driver.trial.world.run.events += 1;
        driver.prefetch_ahead();
        match event {
            Event::Timer(node) => driver.timer(node, at),
            Event::Deliver(m) => driver.with_context(at, |protocol, cx| cx.arrive(protocol, m)),
            Event::Wake(i) => {
                let (node, tag) = driver.wakeups.take(i);
                if driver.trial.world.is_up(node) {
                    driver.with_context(at, |protocol, cx| {
                        protocol.on_timer(node, tag, cx);
                        cx.flush(protocol);
                    });
                }
            }
            Event::Tick => {
                driver.with_context(at, |protocol, cx| {
                    protocol.end_round(cx);
                    cx.flush(protocol);
                });
                maintain_overlay(driver.trial, at);
                driver.trial.world.close_period(at);
                progress.fetch_add(1, Ordering::Relaxed);
                let world = &driver.trial.world;
                let status = Status {
                    quiescent: world.quiescent(),
                    spreading: world.spreading(),
                    in_flight: driver.wire.in_flight,
                    carrying: driver.wire.carrying,
                };
                let done = driver.trial.pending == 0
                    && (driver.protocol.settled(&status) || world.alive == 0);
                if done || at >= horizon {
                    end = at;
                    break;
                }
                driver.trial.queue.push(at + period, Event::Tick);
            }
            other => {
                if let Some((origin, slot)) = driver.trial.handle_scheduled(other, at) {
                    driver.with_context(at, |protocol, cx| {
                        protocol.on_inject(origin, slot, cx);
                        cx.flush(protocol);
                    });
                }
            }
        }
    }
    driver.trial.world.run.in_flight_at_end = driver.wire.in_flight;
    end
}

/// HyParView's periodic link check, fill-up and shuffle, every `shuffle_every` periods, and
/// its messages counted.
pub(super) fn maintain_overlay(trial: &mut Trial, at: Time) {
    let period = trial.scenario.period.0.max(1);
    if let Some(overlay) = trial.peers.hyparview() {
        let every = u64::from(overlay.params().shuffle_every);
        if (at.0 / period).is_multiple_of(every) {
            overlay.maintain_all();
        }
        let messages = overlay.take_messages();
        trial.world.count_membership(messages);
    }
}

/// Events ahead whose message is prefetched, and whose node's state is (the message being in
/// the cache by then). Within a sorted bucket the next events are known, and at a million nodes
/// each of them is a cache miss on the message table and on the node's rows otherwise.
pub(super) const MESSAGE_AHEAD: usize = 16;
pub(super) const NODE_AHEAD: usize = 8;
/// Timers ahead (in the timer ring) whose node's state is prefetched.
const TIMER_AHEAD: usize = 8;

impl<P: Protocol> Driver<'_, '_, P> {
    /// Prefetches what upcoming events will read (a hint: results do not depend on it).
    #[inline(always)]
    fn prefetch_ahead(&self) {
        let queue = &self.trial.queue;
        if let Some(Event::Deliver(m)) = queue.upcoming(MESSAGE_AHEAD)
            && let Some(message) = self.wire.messages.get(m as usize)
        {
            super::memory::prefetch(message as *const InFlight<P::Body>);
        }
        match queue.upcoming(NODE_AHEAD) {
            Some(Event::Deliver(m)) => {
                if let Some(message) = self.wire.messages.get(m as usize) {
                    self.trial.world.prefetch_node(message.message.to);
                    self.trial.world.prefetch_node(message.message.from);
                }
            }
            Some(Event::Timer(node)) => self.trial.world.prefetch_node(node),
            _ => {}
        }
    }

    /// Runs `f` with the protocol and a context at `at`.
    #[inline(always)]
    fn with_context(&mut self, at: Time, f: impl FnOnce(&mut P, &mut Context<'_, P::Body>)) {
        let trial = &mut *self.trial;
        let period = trial.scenario.period;
        let mut cx = Context::new(
            &mut trial.world,
            &mut trial.peers,
            &mut trial.transport,
            &mut self.rng,
            &mut self.outbox,
            at,
            0, // `Context::round` divides on demand in async timing
            period,
            Mode::Async(AsyncParts {
                queue: &mut trial.queue,
                wire: &mut self.wire,
                wakeups: &mut self.wakeups,
            }),
        );
        f(self.protocol, &mut cx);
    }

    fn next_timer(&mut self, at: Time) -> Time {
        let period = self.trial.scenario.period.0;
        let interval = if self.jitter == 0 {
            period
        } else {
            period - self.jitter + self.timers.random_range(0..=2 * self.jitter)
        };
        at + Time(interval.max(1))
    }

    fn timer(&mut self, node: NodeId, at: Time) {
        let next = self.next_timer(at);
        self.trial.queue.push(next, Event::Timer(node));
        self.act(node, at);
    }

    /// `node`'s timer fires at `at` (its next firing is scheduled already).
    #[inline(always)]
    fn act(&mut self, node: NodeId, at: Time) {
        if !self.trial.world.is_up(node) {
            return;
        }
        self.with_context(at, |protocol, cx| {
            protocol.on_tick(node, cx);
            cx.flush(protocol);
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_in_flight_is_one_cache_line() {
        use super::InFlight;
        assert_eq!(std::mem::size_of::<InFlight<()>>(), 64);
        assert_eq!(std::mem::align_of::<InFlight<()>>(), 64);
    }
}
