//! The engine's specialisation of the built-in anti-entropy in `async` timing: the same
//! exchanges as `protocol::anti_entropy`'s handlers, written out against the world and the wire
//! with nothing between them (a message is built in its wire slot, a delivery handled where it
//! is popped). It computes exactly what the generic driver computes with the protocol's
//! handlers - the tests compare whole reports with the fast paths on and off - and is what
//! `scripts/bench.sh` measures.

use std::sync::atomic::AtomicU64;

use crate::report::MessageKind;
use crate::scenario::NodeId;
use crate::time::Time;

use super::super::event_loop::{self, Handlers};
use super::super::memory;
use super::super::queue::Event;
use super::super::rows::entry_count;
use super::super::trial::Trial;
use super::super::words::Words;
use super::super::world::World;
use super::Kernel;

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
        memory::push(
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

/// The kernel's driver: events go straight to the exchanges below.
struct Driver<'t, 's> {
    trial: &'t mut Trial<'s>,
    wire: Wire,
    kernel: Kernel,
    /// Scratch buffers for building messages.
    buf: Words,
    digest: Words,
    partners: Vec<NodeId>,
}

/// Runs events until nothing is left to happen or `max_rounds` periods. Returns the end time.
pub fn run(trial: &mut Trial, kernel: Kernel, progress: &AtomicU64) -> Time {
    let mut driver = Driver {
        trial,
        wire: Wire::default(),
        kernel,
        buf: Words::default(),
        digest: Words::default(),
        partners: Vec::new(),
    };
    event_loop::run(&mut driver, true, progress)
}

impl<'s> Handlers<'s> for Driver<'_, 's> {
    #[inline(always)]
    fn trial(&mut self) -> &mut Trial<'s> {
        self.trial
    }

    #[inline(always)]
    fn trial_ref(&self) -> &Trial<'s> {
        self.trial
    }

    #[inline(always)]
    fn prefetch_message(&self, m: u32) {
        if let Some(message) = self.wire.messages.get(m as usize) {
            memory::prefetch(message as *const InFlight);
        }
    }

    #[inline(always)]
    fn message_ends(&self, m: u32) -> Option<(NodeId, NodeId)> {
        let message = self.wire.messages.get(m as usize)?;
        Some((message.from, message.to))
    }

    /// `node`'s timer fires at `at` (its next firing is scheduled already).
    #[inline(always)]
    fn act(&mut self, node: NodeId, at: Time) {
        if !self.trial.world.is_up(node) {
            return;
        }
        if self.trial.world.one_word_rows() {
            self.act_in::<false>(node, at);
        } else {
            self.act_in::<true>(node, at);
        }
    }

    /// A delivery, or a scheduled happening (the kernel sets no protocol timers).
    #[inline(always)]
    fn handle(&mut self, event: Event, at: Time) {
        match event {
            Event::Deliver(m) => {
                if self.trial.world.one_word_rows() {
                    self.deliver::<false>(m, at);
                } else {
                    self.deliver::<true>(m, at);
                }
            }
            other => {
                self.trial.handle_scheduled(other, at);
            }
        }
    }

    fn end_period(&mut self, _at: Time) {}

    fn settled(&self) -> bool {
        self.trial.world.quiescent()
    }

    fn in_flight(&self) -> u64 {
        self.wire.in_flight
    }
}

/// The world's row reads and a delivery, for rows of `row_words::<WIDE>()` words: with `WIDE`
/// false (one word, up to 64 updates in flight: the common case) plain word operations where
/// the world's general versions loop over words. Each computes exactly what its general
/// version does (the engine tests compare reports with one word and with several).
#[inline(always)]
fn top<const WIDE: bool>(
    world: &World,
    node: NodeId,
    minus: impl Fn(usize) -> u64,
    out: &mut Words,
) -> u64 {
    if WIDE {
        return world.top(node, minus, out);
    }
    let bits = world.top_word(node, 0, minus(0));
    out.resize(1);
    out.set(0, bits);
    entry_count(bits)
}

#[inline(always)]
fn digest_into<const WIDE: bool>(world: &World, node: NodeId, out: &mut Words) {
    if WIDE {
        world.digest(node, out);
    } else {
        out.resize(1);
        out.set(0, world.held_word(node, 0));
    }
}

/// [`World::deliver`]: with one-word rows only word 0 can hold a bit (a payload built while
/// the rows were wider holds none past the rows once masked, as `World::deliver` asserts).
#[inline(always)]
fn deliver_payload<const WIDE: bool>(
    world: &mut World,
    to: NodeId,
    from: NodeId,
    payload: &Words,
    at: Time,
) {
    if WIDE {
        world.deliver(to, from, payload, at);
    } else {
        world.deliver_word(to, from, 0, payload.get(0), at);
    }
}

impl Driver<'_, '_> {
    /// [`Handlers::act`] for rows of `row_words::<WIDE>()` words.
    #[inline(always)]
    fn act_in<const WIDE: bool>(&mut self, node: NodeId, at: Time) {
        match self.kernel {
            Kernel::Push => {
                if !self.trial.world.holds_any_in::<WIDE>(node) {
                    return;
                }
                let entries = top::<WIDE>(&self.trial.world, node, |_| 0, &mut self.buf);
                if entries == 0 {
                    return;
                }
                self.choose_partners(node);
                for i in 0..self.partners.len() {
                    let partner = self.partners[i];
                    let m = self.open(MessageKind::Push, node, partner);
                    self.wire.messages[m as usize].payload.copy_from(&self.buf);
                    self.trial.world.metrics.send(MessageKind::Push, entries, 0);
                    self.trial.world.count_carried(&self.buf);
                    self.transmit(m, at);
                }
            }
            Kernel::Pull | Kernel::PushPull { .. } => {
                let opening = if self.kernel == Kernel::Pull {
                    MessageKind::PullRequest
                } else {
                    MessageKind::ExchangeOpen
                };
                let full = self.full_table();
                let world = &self.trial.world;
                let table = world.table_entries_in::<WIDE>(node);
                let has_baseline = world.has_baseline(node);
                digest_into::<WIDE>(world, node, &mut self.digest);
                if full {
                    top::<WIDE>(world, node, |_| 0, &mut self.buf);
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
                        self.trial.world.metrics.send(opening, table, 0);
                        self.trial.world.count_carried(&self.buf);
                    } else {
                        self.trial.world.metrics.send(opening, 0, table);
                    }
                    self.transmit(m, at);
                }
            }
        }
    }

    fn full_table(&self) -> bool {
        self.kernel == (Kernel::PushPull { full_table: true })
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
            self.trial.world.metrics.lost();
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

    /// Delivers message `m`, for rows of `row_words::<WIDE>()` words.
    #[inline(always)]
    fn deliver<const WIDE: bool>(&mut self, m: u32, at: Time) {
        let (kind, from, to, sent_seq, sent_epoch) = {
            let msg = &self.wire.messages[m as usize];
            (msg.kind, msg.from, msg.to, msg.sent_seq, msg.sent_epoch)
        };
        if !self.trial.world.arrives(to, false) {
            self.wire.release(m);
            return;
        }
        let full_table = self.full_table();
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
            MessageKind::Push | MessageKind::PullReply | MessageKind::ExchangeClose => {
                deliver_payload::<WIDE>(world, to, from, &payload, at);
            }
            MessageKind::PullRequest | MessageKind::ExchangeOpen => {
                world.mask_stale(&mut digest, sent_seq, sent_epoch);
                let full = kind == MessageKind::ExchangeOpen && full_table;
                if full {
                    deliver_payload::<WIDE>(world, to, from, &payload, at);
                }
                let reply_kind = if kind == MessageKind::PullRequest {
                    MessageKind::PullReply
                } else {
                    MessageKind::ExchangeReply
                };
                let r = self.open(reply_kind, to, from);
                let world = &mut self.trial.world;
                let reply = &mut self.wire.messages[r as usize];
                let table = world.table_entries_in::<WIDE>(to);
                let has_baseline = world.has_baseline(to);
                reply.sender_has_baseline = has_baseline;
                if full {
                    top::<WIDE>(world, to, |_| 0, &mut reply.payload);
                    reply.carries_baseline = has_baseline;
                    world.metrics.send(reply_kind, table, 0);
                } else {
                    let mut entries = top::<WIDE>(world, to, |w| digest.get(w), &mut reply.payload);
                    reply.carries_baseline = has_baseline && !sender_has_baseline;
                    if reply.carries_baseline {
                        entries += world.catalog_len();
                    }
                    let digest_entries = if reply_kind == MessageKind::ExchangeReply {
                        digest_into::<WIDE>(world, to, &mut reply.digest);
                        table
                    } else {
                        0
                    };
                    world.metrics.send(reply_kind, entries, digest_entries);
                }
                world.count_carried(&reply.payload);
                self.transmit(r, at);
            }
            MessageKind::Gossip
            | MessageKind::IHave
            | MessageKind::Graft
            | MessageKind::Prune
            | MessageKind::Membership => {
                unreachable!("anti-entropy sends none of Plumtree's or HyParView's messages")
            }
            MessageKind::ExchangeReply => {
                deliver_payload::<WIDE>(world, to, from, &payload, at);
                if !full_table {
                    world.mask_stale(&mut digest, sent_seq, sent_epoch);
                    let has_baseline = world.has_baseline(to);
                    let mut entries = top::<WIDE>(world, to, |w| digest.get(w), &mut self.buf);
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
                        world.metrics.send(MessageKind::ExchangeClose, entries, 0);
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
