//! `async` timing: every node gossips on its own timer; every message takes a sampled latency;
//! what a node learns it can forward at once.
//!
//! Each node's first timer fires at a uniform random phase in `[0, period)`, then every
//! `period ± jitter`. Every `period` a tick samples coverage, counts stale nodes and retires
//! updates that everyone holds. Messages in flight live in a table whose payload buffers are
//! reused, so steady-state gossip allocates nothing.
//!
//! Flooding has no timers: the origin sends at the injection and every node forwards on first
//! receipt (see `flood`); a flooding run ends when no message is left on the wire.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::report::MessageKind;
use crate::scenario::{ExchangeMode, NodeId, ProtocolKind, Timing};
use crate::seed::{self, Purpose};
use crate::time::Time;

use super::queue::Event;
use super::trial::Trial;
use super::words::Words;

/// A message on the wire: one cache line (a test checks), since at 10^7 nodes reading it is a
/// cache miss per event.
#[repr(align(64))]
struct InFlight {
    kind: MessageKind,
    from: NodeId,
    to: NodeId,
    /// Event sequence number at sending: bits of slots born later are not really carried.
    sent_seq: u64,
    /// The world's slot epoch at sending: unchanged at delivery, no bit needs masking.
    sent_epoch: u64,
    /// Newest versions carried.
    payload: Words,
    /// The sender's digest (pull requests, exchange opens and replies).
    digest: Words,
    carries_baseline: bool,
    sender_has_baseline: bool,
}

#[derive(Default)]
struct Wire {
    messages: Vec<InFlight>,
    free: Vec<u32>,
    in_flight: u64,
}

impl Wire {
    fn allocate(
        &mut self,
        kind: MessageKind,
        from: NodeId,
        to: NodeId,
        sent_seq: u64,
        sent_epoch: u64,
    ) -> u32 {
        self.in_flight += 1;
        if let Some(i) = self.free.pop() {
            let m = &mut self.messages[i as usize];
            m.kind = kind;
            m.from = from;
            m.to = to;
            m.sent_seq = sent_seq;
            m.sent_epoch = sent_epoch;
            m.carries_baseline = false;
            m.sender_has_baseline = false;
            m.payload.clear();
            m.digest.clear();
            return i;
        }
        super::memory::push(
            &mut self.messages,
            InFlight {
                kind,
                from,
                to,
                sent_seq,
                sent_epoch,
                payload: Words::default(),
                digest: Words::default(),
                carries_baseline: false,
                sender_has_baseline: false,
            },
        );
        (self.messages.len() - 1) as u32
    }

    fn release(&mut self, i: u32) {
        self.in_flight -= 1;
        self.free.push(i);
    }
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
    /// `(phase, seq, node)` of every node's first timer.
    fn new(mut first: Vec<(u64, u64, NodeId)>, period: u64) -> TimerRing {
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

struct Driver<'t, 's> {
    trial: &'t mut Trial<'s>,
    wire: Wire,
    timers: ChaCha8Rng,
    jitter: u64,
    full_table: bool,
    /// Scratch buffers for building messages.
    buf: Words,
    digest: Words,
    partners: Vec<NodeId>,
}

/// Runs events until nothing is left to happen or `max_rounds` periods. Returns the end time.
pub fn run(trial: &mut Trial, progress: &AtomicU64) -> Time {
    let scenario = trial.scenario;
    let period = scenario.period;
    let jitter = match scenario.timing {
        Timing::Async { jitter } => jitter.0,
        Timing::Rounds => 0,
    };
    let horizon = trial.horizon();
    let mut timers = seed::stream(trial.trial_seed, Purpose::Timers);
    let flood = scenario.protocol.kind == ProtocolKind::Flood;
    let mut ring = None;
    if !flood && jitter == 0 && scenario.nodes > 0 && trial.fast_paths {
        let first = (0..scenario.nodes)
            .map(|node| {
                let phase = timers.random_range(0..period.0);
                (phase, trial.queue.reserve_seq(), node)
            })
            .collect();
        ring = Some(TimerRing::new(first, period.0));
    } else if !flood {
        for node in 0..scenario.nodes {
            let phase = timers.random_range(0..period.0);
            trial.queue.push(Time(phase), Event::Timer(node));
        }
    }
    trial.queue.push(period, Event::Tick);
    let mut driver = Driver {
        trial,
        wire: Wire::default(),
        timers,
        jitter,
        full_table: scenario.protocol.exchange == ExchangeMode::FullTable,
        buf: Words::default(),
        digest: Words::default(),
        partners: Vec::new(),
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
            Event::Deliver(m) => driver.deliver(m, at),
            Event::Tick => {
                driver.trial.world.close_period(at);
                progress.fetch_add(1, Ordering::Relaxed);
                let world = &driver.trial.world;
                // A flood with nothing on the wire is over, whoever it missed.
                let spent = flood && driver.wire.in_flight == 0;
                let done =
                    driver.trial.pending == 0 && (world.quiescent() || world.alive == 0 || spent);
                if done || at >= horizon {
                    end = at;
                    break;
                }
                driver.trial.queue.push(at + period, Event::Tick);
            }
            Event::Inject(update) if flood => {
                driver.trial.handle_scheduled(event, at);
                driver.flood_injected(update as usize, at);
            }
            other => {
                driver.trial.handle_scheduled(other, at);
            }
        }
    }
    driver.trial.world.run.in_flight_at_end = driver.wire.in_flight;
    end
}

/// Events ahead whose message is prefetched, and whose node's state is (the message being in
/// the cache by then). Within a sorted bucket the next events are known, and at a million nodes
/// each of them is a cache miss on the message table and on the node's rows otherwise.
const MESSAGE_AHEAD: usize = 16;
const NODE_AHEAD: usize = 8;
/// Timers ahead (in the timer ring) whose node's state is prefetched.
const TIMER_AHEAD: usize = 8;

impl Driver<'_, '_> {
    /// Prefetches what upcoming events will read (a hint: results do not depend on it).
    #[inline(always)]
    fn prefetch_ahead(&self) {
        let queue = &self.trial.queue;
        if let Some(Event::Deliver(m)) = queue.upcoming(MESSAGE_AHEAD)
            && let Some(message) = self.wire.messages.get(m as usize)
        {
            super::memory::prefetch(message as *const InFlight);
        }
        match queue.upcoming(NODE_AHEAD) {
            Some(Event::Deliver(m)) => {
                if let Some(message) = self.wire.messages.get(m as usize) {
                    self.trial.world.prefetch_node(message.to);
                    self.trial.world.prefetch_node(message.from);
                }
            }
            Some(Event::Timer(node)) => self.trial.world.prefetch_node(node),
            _ => {}
        }
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
    fn act(&mut self, node: NodeId, at: Time) {
        if !self.trial.world.is_up(node) {
            return;
        }
        let kind = self.trial.scenario.protocol.kind;
        match kind {
            ProtocolKind::Rumor(_)
            | ProtocolKind::MedianCounter { .. }
            | ProtocolKind::Plumtree { .. } => {
                unreachable!(
                    "validation keeps rumor mongering, median-counter and plumtree in rounds timing"
                )
            }
            ProtocolKind::Flood => unreachable!("flooding schedules no timers"),
            ProtocolKind::Push => {
                if !self.trial.world.holds_any(node) {
                    return;
                }
                let entries = self.trial.world.top(node, |_| 0, &mut self.buf);
                if entries == 0 {
                    return;
                }
                self.choose_partners(node);
                for i in 0..self.partners.len() {
                    let partner = self.partners[i];
                    let m = self.open(MessageKind::Push, node, partner);
                    self.wire.messages[m as usize].payload.copy_from(&self.buf);
                    self.trial.world.send(MessageKind::Push, entries, 0);
                    self.trial.world.count_carried(&self.buf);
                    self.transmit(m, at);
                }
            }
            ProtocolKind::Pull | ProtocolKind::PushPull => {
                let opening = if kind == ProtocolKind::Pull {
                    MessageKind::PullRequest
                } else {
                    MessageKind::ExchangeOpen
                };
                let full = self.full_table && kind == ProtocolKind::PushPull;
                let world = &self.trial.world;
                let table = world.table_entries(node);
                let has_baseline = world.has_baseline(node);
                world.digest(node, &mut self.digest);
                if full {
                    world.top(node, |_| 0, &mut self.buf);
                }
                self.choose_partners(node);
                for i in 0..self.partners.len() {
                    let partner = self.partners[i];
                    let m = self.open(opening, node, partner);
                    let msg = &mut self.wire.messages[m as usize];
                    msg.digest.copy_from(&self.digest);
                    msg.sender_has_baseline = has_baseline;
                    if full {
                        msg.payload.copy_from(&self.buf);
                        msg.carries_baseline = has_baseline;
                        self.trial.world.send(opening, table, 0);
                        self.trial.world.count_carried(&self.buf);
                    } else {
                        self.trial.world.send(opening, 0, table);
                    }
                    self.transmit(m, at);
                }
            }
        }
    }

    /// The origin of update `update` floods it, if it was injected.
    fn flood_injected(&mut self, update: usize, at: Time) {
        let world = &self.trial.world;
        let report = &world.updates[update];
        let Some(slot) = world.slot_of(update).filter(|_| report.injected) else {
            return;
        };
        let origin = report.origin;
        let mut payload = Words::default();
        payload.resize(world.words());
        payload.set(slot / 64, 1 << (slot % 64));
        self.flood_from(origin, None, &payload, at);
    }

    /// `node` sends `payload` to each of its neighbours but `except`.
    fn flood_from(&mut self, node: NodeId, except: Option<NodeId>, payload: &Words, at: Time) {
        let entries: u64 = payload
            .iter()
            .map(|(_, bits)| u64::from(bits.count_ones()))
            .sum();
        self.partners.clear();
        match self.trial.peers.neighbours(node) {
            Some(neighbours) => self.partners.extend_from_slice(neighbours),
            None => self
                .partners
                .extend((0..self.trial.world.nodes).filter(|&to| to != node)),
        }
        for i in 0..self.partners.len() {
            let to = self.partners[i];
            if Some(to) == except {
                continue;
            }
            let m = self.open(MessageKind::Push, node, to);
            self.wire.messages[m as usize].payload.copy_from(payload);
            self.trial.world.send(MessageKind::Push, entries, 0);
            self.trial.world.count_carried(payload);
            self.transmit(m, at);
        }
    }

    fn choose_partners(&mut self, node: NodeId) {
        self.partners.clear();
        self.partners
            .extend_from_slice(self.trial.peers.choose(node));
    }

    fn open(&mut self, kind: MessageKind, from: NodeId, to: NodeId) -> u32 {
        let seq = self.trial.queue.next_seq();
        let epoch = self.trial.world.slot_epoch();
        self.wire.allocate(kind, from, to, seq, epoch)
    }

    /// Puts message `m` on the wire: lost at once, or delivered after a latency.
    fn transmit(&mut self, m: u32, at: Time) {
        if self.trial.transport.lost() {
            self.trial.world.run.lost += 1;
            self.wire.release(m);
        } else {
            let (from, to) = {
                let msg = &self.wire.messages[m as usize];
                (msg.from, msg.to)
            };
            let latency = self.trial.transport.latency_between(from, to);
            self.trial.queue.push(at + latency, Event::Deliver(m));
        }
    }

    fn deliver(&mut self, m: u32, at: Time) {
        let (kind, from, to, sent_seq, sent_epoch) = {
            let msg = &self.wire.messages[m as usize];
            (msg.kind, msg.from, msg.to, msg.sent_seq, msg.sent_epoch)
        };
        if !self.trial.world.arrives(to, false) {
            self.wire.release(m);
            return;
        }
        let world = &mut self.trial.world;
        let mut payload = std::mem::take(&mut self.wire.messages[m as usize].payload);
        let mut digest = std::mem::take(&mut self.wire.messages[m as usize].digest);
        world.mask_stale(&mut payload, sent_seq, sent_epoch);
        let carries_baseline = self.wire.messages[m as usize].carries_baseline;
        let sender_has_baseline = self.wire.messages[m as usize].sender_has_baseline;
        if carries_baseline {
            world.grant_baseline(to);
        }
        match kind {
            MessageKind::Push if self.trial.scenario.protocol.kind == ProtocolKind::Flood => {
                // What `to` did not hold before this copy it forwards now, to all but `from`.
                let words = world.words();
                self.buf.clear();
                self.buf.resize(words);
                for w in 0..words {
                    self.buf.set(w, payload.get(w) & !world.held_word(to, w));
                }
                world.deliver(to, from, &payload, at);
                if self.buf.iter().any(|(_, bits)| bits != 0) {
                    let fresh = std::mem::take(&mut self.buf);
                    self.flood_from(to, Some(from), &fresh, at);
                    self.buf = fresh;
                }
            }
            MessageKind::Push | MessageKind::PullReply | MessageKind::ExchangeClose => {
                world.deliver(to, from, &payload, at);
            }
            MessageKind::PullRequest | MessageKind::ExchangeOpen => {
                world.mask_stale(&mut digest, sent_seq, sent_epoch);
                let full = kind == MessageKind::ExchangeOpen && self.full_table;
                if full {
                    world.deliver(to, from, &payload, at);
                }
                let reply_kind = if kind == MessageKind::PullRequest {
                    MessageKind::PullReply
                } else {
                    MessageKind::ExchangeReply
                };
                let r = self.open(reply_kind, to, from);
                let world = &mut self.trial.world;
                let reply = &mut self.wire.messages[r as usize];
                let table = world.table_entries(to);
                let has_baseline = world.has_baseline(to);
                reply.sender_has_baseline = has_baseline;
                if full {
                    world.top(to, |_| 0, &mut reply.payload);
                    reply.carries_baseline = has_baseline;
                    world.send(reply_kind, table, 0);
                } else {
                    let mut entries = world.top(to, |w| digest.get(w), &mut reply.payload);
                    reply.carries_baseline = has_baseline && !sender_has_baseline;
                    if reply.carries_baseline {
                        entries += world.catalog_len();
                    }
                    let digest_entries = if reply_kind == MessageKind::ExchangeReply {
                        world.digest(to, &mut reply.digest);
                        table
                    } else {
                        0
                    };
                    world.send(reply_kind, entries, digest_entries);
                }
                world.count_carried(&reply.payload);
                self.transmit(r, at);
            }
            MessageKind::Gossip
            | MessageKind::IHave
            | MessageKind::Graft
            | MessageKind::Prune
            | MessageKind::Membership => {
                unreachable!("Plumtree and HyParView run in rounds timing only")
            }
            MessageKind::ExchangeReply => {
                world.deliver(to, from, &payload, at);
                if !self.full_table {
                    world.mask_stale(&mut digest, sent_seq, sent_epoch);
                    let has_baseline = world.has_baseline(to);
                    let mut entries = world.top(to, |w| digest.get(w), &mut self.buf);
                    let baseline = has_baseline && !sender_has_baseline;
                    if baseline {
                        entries += world.catalog_len();
                    }
                    if entries > 0 {
                        let c = self.open(MessageKind::ExchangeClose, to, from);
                        let world = &mut self.trial.world;
                        let close = &mut self.wire.messages[c as usize];
                        close.payload.copy_from(&self.buf);
                        close.carries_baseline = baseline;
                        world.send(MessageKind::ExchangeClose, entries, 0);
                        world.count_carried(&self.buf);
                        self.transmit(c, at);
                    }
                }
            }
        }
        let msg = &mut self.wire.messages[m as usize];
        msg.payload = payload;
        msg.digest = digest;
        self.wire.release(m);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_message_in_flight_is_one_cache_line() {
        assert_eq!(std::mem::size_of::<super::InFlight>(), 64);
        assert_eq!(std::mem::align_of::<super::InFlight>(), 64);
    }
}
