//! The engine's kernels: specialisations of the built-in anti-entropy (push, pull, push-pull),
//! selected by [`Protocol::kernel`](crate::protocol::Protocol::kernel) when the engine may take
//! its fast paths.
//!
//! Each computes exactly what `protocol::anti_entropy`'s handlers compute through the generic
//! drivers, without a context or an outbox between the exchange and the world: `lockstep` runs
//! the contacts of a staged round one at a time, `batch` runs the common case of a round as a
//! pipelined loop, and `event_driven` runs `async` timing with messages built in their wire
//! slot. The tests compare whole reports with the kernels on and off (`engine::tests`).

mod batch;
pub(super) mod event_driven;
mod lockstep;

pub use lockstep::RoundContacts;

/// The built-in anti-entropy exchange the kernels run, as the protocol names it through
/// `Protocol::kernel`: push, pull, or push-pull with digests or whole tables.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Push,
    Pull,
    PushPull { full_table: bool },
}
