//! gossip-sim: a deterministic discrete-event simulator of gossip (epidemic) protocols
//! spreading price updates.
//!
//! With N nodes, this protocol, this fanout, this much message loss and these crashes: how many
//! rounds and messages does an update need to reach every live node, how long do nodes serve a
//! stale price, and what does it cost? The same scenario and seed give the same bytes, whatever
//! the thread count.
//!
//! The command line (`gossip-sim run SCENARIO`) is the usual way in. As a library it runs
//! scenarios, and it runs *your* protocols: write a [`Protocol`] (handlers for a node's turn and
//! for a message's arrival that return sends through a [`Context`]), register it by name, and
//! your binary gets the whole command line for it - scenario files, sweeps, progress, CSV,
//! summaries, plots, resume and shards. `examples/lazy_push.rs` is a complete one.
//!
//! ```
//! use std::sync::atomic::AtomicU64;
//!
//! use gossip_sim::{Catalog, run_trial};
//!
//! let scenario = gossip_sim::scenario::parse(
//!     r#"
//!     name = "doc"
//!     nodes = 1000
//!     [protocol]
//!     kind = "push-pull"
//!     [[updates]]
//!     product = "P1"
//!     price = 9.99
//!     origin = 0
//!     "#,
//!     "doc.toml",
//!     &[],
//! )
//! .unwrap();
//! let catalog = Catalog::new(&scenario.workload);
//! let report = run_trial(&scenario, &catalog, 0, &AtomicU64::new(0));
//! let update = &report.updates[0];
//! assert_eq!(update.final_informed, 1000);
//! // Push-pull reaches 1000 nodes in about log3(1000) + ln ln 1000 ~ 8 rounds (Karp et al. 2000).
//! let rounds = update.reached_all.unwrap().0 / scenario.period.0;
//! assert!((5..=12).contains(&rounds));
//! ```
//!
//! A protocol of your own, registered by name (see [`protocol`] for the rules of the game).
//! The built-ins are written the same way: each is a [`Kind`] in its own file of
//! `src/protocol/`, listed by one line of its registry.
//!
//! ```no_run
//! use gossip_sim::protocol::{Context, Kind, Message, MessageKind, NodeId, NoKeys, Protocol};
//! use gossip_sim::protocol::{Registry, Setup, Size, Words};
//!
//! /// Push to `fanout` random partners every round, like the built-in push.
//! struct MyPush(Words);
//!
//! impl Protocol for MyPush {
//!     type Body = ();
//!     fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, ()>) {
//!         let entries = cx.top(node, |_| 0, &mut self.0);
//!         if entries == 0 {
//!             return;
//!         }
//!         cx.for_each_partner(node, |cx, partner| {
//!             let out = cx.send(MessageKind::Push, node, partner, Size::entries(entries));
//!             out.payload.copy_from(&self.0);
//!         });
//!     }
//!     fn on_message(&mut self, m: &Message<()>, cx: &mut Context<'_, ()>) {
//!         cx.deliver(m.to, m.from, &m.payload);
//!     }
//! }
//!
//! /// `protocol.kind = "my-push"`, with no keys of its own in `[protocol]`.
//! impl Kind for MyPush {
//!     type Config = NoKeys;
//!     type Protocol = MyPush;
//!     fn new(_: &NoKeys, _: &Setup) -> MyPush {
//!         MyPush(Words::default())
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     gossip_sim::cli::main_with(Registry::new().protocol::<MyPush>("my-push"))
//! }
//! ```

pub mod cli;
mod engine;
pub mod export;
mod human;
mod memory_limit;
pub mod output;
mod plot;
mod progress;
pub mod protocol;
pub mod report;
mod runner;
pub mod scenario;
mod seed;
mod store;
pub mod time;

/// The engine's and the runner's insides, for this crate's own tests and benchmarks: no
/// stability promise, and hidden from the documentation.
#[doc(hidden)]
pub mod internals {
    pub use crate::engine::{bench, estimate_memory, initial_active_views, overlay, queue};
    pub use crate::runner::{RunOptions, merge, run_sweep};
    pub use crate::store::Shard;
}

pub use engine::Setup;
pub use protocol::{ConfigError, Context, Kind, Message, Protocol, Registry, Size, run_trial};
pub use report::{MessageKind, TrialReport, UpdateReport};
pub use scenario::{Catalog, NodeId, Scenario};
pub use time::Time;
