//! The event loop of `async` timing, shared by the generic driver (`event_driven`) and the
//! built-in anti-entropy's kernel (`kernel::event_driven`): the node timers - in a ring when
//! they have no jitter - merged with the event queue by `(time, seq)`, the period's tick, and
//! what a driver does with each event (its [`Handlers`]).
//!
//! Each node's first timer fires at a uniform random phase in `[0, period)` (from the timers'
//! stream, in node order), then every `period ± jitter`. Every `period` a tick ends the
//! period: the driver's own end of period, HyParView's maintenance, then the world's
//! bookkeeping (milestones, coverage, staleness, retirement); the run ends at the first tick
//! with nothing left to happen and the protocol settled, or at the horizon.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::{NodeId, Timing};
use crate::seed::{self, Purpose};
use crate::time::Time;

use super::memory;
use super::queue::Event;
use super::trial::Trial;

/// What a driver of `async` timing does with the events [`run`] hands it.
pub(super) trait Handlers<'s> {
    fn trial(&mut self) -> &mut Trial<'s>;

    fn trial_ref(&self) -> &Trial<'s>;

    /// Asks the processor for message `m` on the wire (a hint, for an upcoming delivery).
    fn prefetch_message(&self, m: u32);

    /// The sender and recipient of message `m` on the wire, if it is there.
    fn message_ends(&self, m: u32) -> Option<(NodeId, NodeId)>;

    /// `node`'s timer fires at `at` (its next firing is scheduled already).
    fn act(&mut self, node: NodeId, at: Time);

    /// Any other event but a tick: a delivery, a protocol's wake-up, a scheduled happening.
    fn handle(&mut self, event: Event, at: Time);

    /// The period ends at `at`: what the driver does before the engine's bookkeeping.
    fn end_period(&mut self, at: Time);

    /// Whether the protocol has nothing left to do (asked after the period's bookkeeping).
    fn settled(&self) -> bool;

    /// Messages on the wire.
    fn in_flight(&self) -> u64;
}

/// Runs events until nothing is left to happen or `max_rounds` periods. Returns the end time.
/// `ticking`: the protocol has node timers (flooding has none: it acts only on injections and
/// receipts).
#[inline(always)]
pub(super) fn run<'s, H: Handlers<'s>>(h: &mut H, ticking: bool, progress: &AtomicU64) -> Time {
    let trial = h.trial();
    let period = trial.scenario.period;
    let horizon = trial.horizon();
    let mut timers = NodeTimers::start(trial, ticking);
    trial.queue.push(period, Event::Tick);
    let mut end = horizon;
    loop {
        let (at, event) = match &mut timers.ring {
            Some(ring) => {
                let timer = ring.head();
                match h.trial().queue.pop_before(timer) {
                    Some(next) => next,
                    None => {
                        let trial = h.trial();
                        trial.world.metrics.event();
                        trial.world.prefetch_node(ring.upcoming());
                        prefetch_ahead(h);
                        let node = ring.fire(h.trial().queue.reserve_seq());
                        h.act(node, Time(timer.0));
                        continue;
                    }
                }
            }
            None => match h.trial().queue.pop() {
                Some(next) => next,
                None => break,
            },
        };
        h.trial().world.metrics.event();
        prefetch_ahead(h);
        match event {
            Event::Timer(node) => {
                let next = timers.next_after(at);
                h.trial().queue.push(next, Event::Timer(node));
                h.act(node, at);
            }
            Event::Tick => {
                h.end_period(at);
                let trial = h.trial();
                maintain_overlay(trial, at);
                trial.world.close_period(at);
                progress.fetch_add(1, Ordering::Relaxed);
                let trial = h.trial_ref();
                let done = trial.pending == 0 && (h.settled() || trial.world.alive == 0);
                if done || at >= horizon {
                    end = at;
                    break;
                }
                h.trial().queue.push(at + period, Event::Tick);
            }
            other => h.handle(other, at),
        }
    }
    let in_flight = h.in_flight();
    h.trial().world.metrics.run.in_flight_at_end = in_flight;
    end
}

/// HyParView's periodic link check, fill-up and shuffle, every `shuffle_every` periods, and
/// its messages counted.
fn maintain_overlay(trial: &mut Trial, at: Time) {
    let period = trial.scenario.period.0.max(1);
    if let Some(overlay) = trial.peers.hyparview() {
        let every = u64::from(overlay.params().shuffle_every);
        if (at.0 / period).is_multiple_of(every) {
            overlay.maintain_all();
        }
        let messages = overlay.take_messages();
        trial.world.metrics.count_membership(messages);
    }
}

/// Events ahead whose message is prefetched, and whose node's state is (the message being in
/// the cache by then). Within a sorted bucket the next events are known, and at a million nodes
/// each of them is a cache miss on the message table and on the node's rows otherwise.
const MESSAGE_AHEAD: usize = 16;
const NODE_AHEAD: usize = 8;
/// Timers ahead (in the timer ring) whose node's state is prefetched.
const TIMER_AHEAD: usize = 8;

/// Prefetches what upcoming events will read (a hint: results do not depend on it).
#[inline(always)]
fn prefetch_ahead<'s, H: Handlers<'s>>(h: &H) {
    let trial = h.trial_ref();
    let queue = &trial.queue;
    if let Some(Event::Deliver(m)) = queue.upcoming(MESSAGE_AHEAD) {
        h.prefetch_message(m);
    }
    match queue.upcoming(NODE_AHEAD) {
        Some(Event::Deliver(m)) => {
            if let Some((from, to)) = h.message_ends(m) {
                trial.world.prefetch_node(to);
                trial.world.prefetch_node(from);
            }
        }
        Some(Event::Timer(node)) => trial.world.prefetch_node(node),
        _ => {}
    }
}

/// Every node's gossip timer: in the [`TimerRing`] when the timers have no jitter (and the
/// engine may take its fast paths), else in the event queue.
struct NodeTimers {
    ring: Option<TimerRing>,
    /// The timers' random stream: first phases, then jitter.
    rng: ChaCha8Rng,
    jitter: u64,
    period: u64,
}

impl NodeTimers {
    /// Every node's first timer, from the timers' stream in node order.
    fn start(trial: &mut Trial, ticking: bool) -> NodeTimers {
        let scenario = trial.scenario;
        let period = scenario.period;
        let jitter = match scenario.timing {
            Timing::Async { jitter } => jitter.0,
            Timing::Rounds => 0,
        };
        let mut rng = seed::stream(trial.trial_seed, Purpose::Timers);
        let mut ring = None;
        if ticking && jitter == 0 && scenario.nodes > 0 && trial.fast_paths {
            let first_seq = trial.queue.next_seq();
            let phases: Vec<u64> = memory::collected(
                scenario.nodes as usize,
                (0..scenario.nodes).map(|_| {
                    trial.queue.reserve_seq();
                    rng.random_range(0..period.0)
                }),
            );
            ring = Some(TimerRing::new(&phases, first_seq, period.0));
        } else if ticking {
            for node in 0..scenario.nodes {
                let phase = rng.random_range(0..period.0);
                trial.queue.push(Time(phase), Event::Timer(node));
            }
        }
        NodeTimers {
            ring,
            rng,
            jitter,
            period: period.0,
        }
    }

    /// When a timer in the queue that fired at `at` fires next: a period later, `± jitter`.
    fn next_after(&mut self, at: Time) -> Time {
        let interval = if self.jitter == 0 {
            self.period
        } else {
            self.period - self.jitter + self.rng.random_range(0..=2 * self.jitter)
        };
        at + Time(interval.max(1))
    }
}

/// The nodes in the order their first timers fire: by phase (each below `period`), then by
/// node, which is the order of their insertion counters - the queue's `(time, seq)` order.
/// A counting sort on the phase's top bits (about one counter per node), stable, then an
/// insertion pass within each counter's few nodes: what sorting `(phase, seq, node)` triples
/// gives (a test compares), in a few linear passes instead of `n log n` comparisons of a
/// million triples.
fn firing_order(phases: &[u64], period: u64) -> Vec<NodeId> {
    let n = phases.len();
    let span_log2 = 64 - period.saturating_sub(1).leading_zeros();
    let n_log2 = usize::BITS - 1 - n.max(1).leading_zeros();
    let shift = span_log2.saturating_sub(n_log2);
    let keys = ((period.saturating_sub(1)) >> shift) as usize + 1;
    let mut counts = vec![0u32; keys + 1];
    for &phase in phases {
        counts[(phase >> shift) as usize + 1] += 1;
    }
    for k in 1..=keys {
        counts[k] += counts[k - 1];
    }
    let mut order = memory::filled(n, 0 as NodeId);
    for (node, &phase) in phases.iter().enumerate() {
        let slot = &mut counts[(phase >> shift) as usize];
        order[*slot as usize] = node as NodeId;
        *slot += 1;
    }
    if shift > 0 {
        // Nodes sharing a counter are in node order; a stable insertion by phase finishes.
        let mut start = 0;
        for &end in &counts[..keys] {
            let group = &mut order[start..end as usize];
            for i in 1..group.len() {
                let node = group[i];
                let mut j = i;
                while j > 0 && phases[group[j - 1] as usize] > phases[node as usize] {
                    group[j] = group[j - 1];
                    j -= 1;
                }
                group[j] = node;
            }
            start = end as usize;
        }
    }
    order
}

/// Timers without jitter, kept outside the event queue. Node `v`'s timer fires at `phase_v +
/// k * period`, so the order in which timers fire - by phase, then by insertion counter - is the
/// same every period: one array in that order, walked round and round, replaces half of all
/// queue pushes and pops. Each entry keeps the insertion counter its firing would have had in
/// the queue (taken with `EventQueue::reserve_seq` where the queue took it), and the driver
/// merges the ring with the queue by `(time, seq)`: events come out in exactly the queue's order.
struct TimerRing {
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
    /// Every node's first timer: node `v` fires first at `phases[v]`, holding insertion counter
    /// `first_seq + v` (the timers take their counters in node order).
    fn new(phases: &[u64], first_seq: u64, period: u64) -> TimerRing {
        let order = firing_order(phases, period);
        TimerRing {
            phases: memory::collected(order.len(), order.iter().map(|&v| phases[v as usize])),
            seqs: memory::collected(order.len(), order.iter().map(|&v| first_seq + u64::from(v))),
            nodes: order,
            pos: 0,
            ahead: TIMER_AHEAD % phases.len().max(1),
            base: 0,
            period,
        }
    }

    /// `(time, seq)` of the next timer.
    #[inline(always)]
    fn head(&self) -> (u64, u64) {
        (self.base + self.phases[self.pos], self.seqs[self.pos])
    }

    /// The node `TIMER_AHEAD` timers from now (for prefetching).
    #[inline(always)]
    fn upcoming(&self) -> NodeId {
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
    fn fire(&mut self, seq: u64) -> NodeId {
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// The counting sort of the first timers gives the order of sorting `(phase, seq, node)`
    /// triples (the queue's `(time, seq)` order), ties at equal phases included: with phases
    /// from a narrow range (many ties), a wide one (groups sharing a counter), and a period of
    /// one.
    #[test]
    fn first_timers_fire_in_queue_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (n, period) in [
            (1, 1),
            (5, 1),
            (1000, 7),
            (1000, 1_000_000),
            (4096, 1 << 40),
            (3000, 3001),
        ] {
            let phases: Vec<u64> = (0..n).map(|_| rng.random_range(0..period)).collect();
            let mut triples: Vec<(u64, u64, NodeId)> = phases
                .iter()
                .enumerate()
                .map(|(v, &phase)| (phase, 10 + v as u64, v as NodeId))
                .collect();
            triples.sort_unstable();
            let ring = TimerRing::new(&phases, 10, period);
            let got: Vec<(u64, u64, NodeId)> = (0..n)
                .map(|i| (ring.phases[i], ring.seqs[i], ring.nodes[i]))
                .collect();
            assert_eq!(got, triples, "{n} nodes, period {period}");
        }
    }
}
