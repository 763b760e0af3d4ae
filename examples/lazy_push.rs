//! A protocol of your own, written only against gossip-sim's public API: *lazy push*. At its
//! turn (a round, or its timer in async timing) a node that holds updates pushes the newest
//! versions it holds to `fanout` random partners - but only with probability `p`.
//!
//! With p = 1 it is the built-in push. With p < 1 the spreading slows: the informed set grows
//! by a factor 1 + p per round at first, and an uninformed node is missed by every push with
//! probability about e^-p per round at the end, so everyone has it after about
//! log_{1+p} n + ln n / p rounds (at p = 1, Frieze & Grimmett's log2 n + ln n).
//!
//! Build and run it like the main binary, with every command and flag:
//!
//! ```sh
//! cargo run --release --example lazy_push -- run examples/lazy-push.toml
//! ```

use std::process::ExitCode;

use gossip_sim::protocol::{
    ConfigError, Context, Kind, Message, MessageKind, NodeId, Protocol, Registry, Size, Words,
};
use gossip_sim::scenario::Timing;
use gossip_sim::{Scenario, Setup};
use rand::Rng;
use serde::{Deserialize, Serialize};

/// The protocol's own keys of the `[protocol]` table.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// Probability that a node pushes at its turn.
    p: f64,
}

struct LazyPush {
    p: f64,
    /// The message being built, reused.
    payload: Words,
}

impl Protocol for LazyPush {
    type Body = ();

    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, ()>) {
        if !cx.holds_any(node) || !cx.rng().random_bool(self.p) {
            return;
        }
        let entries = cx.top(node, |_| 0, &mut self.payload);
        cx.for_each_partner(node, |cx, partner| {
            let out = cx.send(MessageKind::Push, node, partner, Size::entries(entries));
            out.payload.copy_from(&self.payload);
        });
    }

    fn on_message(&mut self, m: &Message<()>, cx: &mut Context<'_, ()>) {
        cx.deliver(m.to, m.from, &m.payload);
    }
}

/// What `protocol.kind = "lazy-push"` means: its keys, their checks, the protocol they make.
impl Kind for LazyPush {
    type Config = Config;
    type Protocol = LazyPush;

    fn resolve(config: Config, _scenario: &Scenario) -> Result<Config, ConfigError> {
        if config.p > 0.0 && config.p <= 1.0 {
            Ok(config)
        } else {
            Err(ConfigError::new(
                "p",
                config.p,
                "must be more than 0 and at most 1",
            ))
        }
    }

    fn new(config: &Config, _setup: &Setup) -> LazyPush {
        LazyPush {
            p: config.p,
            payload: Words::default(),
        }
    }

    /// The leading terms above, for summary.csv's `theory` column: lock-step rounds, one
    /// partner, no loss, no crashes.
    fn theory(config: &Config, scenario: &Scenario, metric: &str) -> Option<f64> {
        let ideal = scenario.timing == Timing::Rounds
            && scenario.protocol.fanout == 1
            && scenario.network.loss == 0.0
            && scenario.crashes.is_empty()
            && scenario.churn.is_none();
        let n = f64::from(scenario.nodes);
        (ideal && metric == "rounds_to_all")
            .then(|| n.ln() / (1.0 + config.p).ln() + n.ln() / config.p)
    }
}

fn main() -> ExitCode {
    gossip_sim::cli::main_with(Registry::new().protocol::<LazyPush>("lazy-push"))
}
