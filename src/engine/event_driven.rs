//! `async` timing: every node gossips on its own timer; every message takes a sampled latency;
//! what a node learns it can forward at once.
//!
//! This is the generic driver: each event goes to the protocol's handlers through a
//! [`Context`]. The loop itself - node timers (`period ± jitter`, in a ring without jitter),
//! the period's tick, the end of the run - is [`event_loop`]'s, shared with the built-in
//! anti-entropy's kernel. Every `period` the tick ends the protocol's period
//! ([`Protocol::end_round`]), then samples coverage, counts stale nodes and retires updates
//! that everyone holds. Messages in flight live in a table whose payload buffers are reused, so
//! steady-state gossip allocates nothing.
//!
//! A protocol without timers ([`Protocol::has_timers`], flooding) acts only on injections and
//! receipts; a run ends when the protocol is settled (for flooding: nothing left on the wire).

use std::sync::atomic::AtomicU64;

use rand_chacha::ChaCha8Rng;

use crate::protocol::Protocol;
use crate::scenario::NodeId;
use crate::time::Time;

use super::context::{AsyncParts, Context, InFlight, Mode, Outbox, Status, Wakeups, Wire};
use super::event_loop::{self, Handlers};
use super::queue::Event;
use super::trial::Trial;

/// The generic driver: every event goes to the protocol's handlers through a [`Context`].
struct Driver<'t, 's, P: Protocol> {
    trial: &'t mut Trial<'s>,
    protocol: &'t mut P,
    wire: Wire<P::Body>,
    wakeups: Wakeups,
    outbox: Outbox<P::Body>,
    /// The protocol's own random stream.
    rng: ChaCha8Rng,
}

/// Runs events until nothing is left to happen or `max_rounds` periods. Returns the end time.
pub fn run<P: Protocol>(trial: &mut Trial, protocol: &mut P, progress: &AtomicU64) -> Time {
    if trial.fast_paths
        && let Some(kernel) = protocol.kernel()
    {
        return super::kernel::event_driven::run(trial, kernel, progress);
    }
    let ticking = protocol.has_timers();
    let mut driver = Driver {
        rng: trial.protocol_stream(),
        trial,
        protocol,
        wire: Wire::default(),
        wakeups: Wakeups::default(),
        outbox: Outbox::default(),
    };
    event_loop::run(&mut driver, ticking, progress)
}

impl<'s, P: Protocol> Handlers<'s> for Driver<'_, 's, P> {
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
            super::memory::prefetch(message as *const InFlight<P::Body>);
        }
    }

    #[inline(always)]
    fn message_ends(&self, m: u32) -> Option<(NodeId, NodeId)> {
        let message = &self.wire.messages.get(m as usize)?.message;
        Some((message.from, message.to))
    }

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

    #[inline(always)]
    fn handle(&mut self, event: Event, at: Time) {
        match event {
            Event::Deliver(m) => self.with_context(at, |protocol, cx| cx.arrive(protocol, m)),
            Event::Wake(i) => {
                let (node, tag) = self.wakeups.take(i);
                if self.trial.world.is_up(node) {
                    self.with_context(at, |protocol, cx| {
                        protocol.on_timer(node, tag, cx);
                        cx.flush(protocol);
                    });
                }
            }
            other => {
                if let Some((origin, slot)) = self.trial.handle_scheduled(other, at) {
                    self.with_context(at, |protocol, cx| {
                        protocol.on_inject(origin, slot, cx);
                        cx.flush(protocol);
                    });
                }
            }
        }
    }

    fn end_period(&mut self, at: Time) {
        self.with_context(at, |protocol, cx| {
            protocol.end_round(cx);
            cx.flush(protocol);
        });
    }

    fn settled(&self) -> bool {
        let world = &self.trial.world;
        let status = Status {
            quiescent: world.quiescent(),
            spreading: world.spreading(),
            in_flight: self.wire.in_flight,
            carrying: self.wire.carrying,
        };
        self.protocol.settled(&status)
    }

    fn in_flight(&self) -> u64 {
        self.wire.in_flight
    }
}

impl<P: Protocol> Driver<'_, '_, P> {
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
