//! Which protocol a scenario names: the built-ins, and the protocols a user's own binary
//! registers by name (see `examples/lazy_push.rs`).
//!
//! Dispatch happens once per trial: `run_trial` picks the protocol type and the engine runs
//! a copy of itself monomorphised for it.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

use serde::de::DeserializeOwned;

use crate::engine::{self, Setup};
use crate::report::TrialReport;
use crate::scenario::{Catalog, ExchangeMode, ProtocolKind, Scenario};

use super::anti_entropy::{AntiEntropy, Backing, Exchange};
use super::{Flood, MedianCounter, Plumtree, Protocol, Rumor};

/// A protocol written outside this crate, registered by name with [`Registry::protocol`].
pub trait UserProtocol: Protocol + 'static {
    /// Its keys of the `[protocol]` table (beside the engine's own: `kind`, `fanout`, `timing`,
    /// `period_ms`, `jitter_ms`), deserialized with serde: use `#[serde(deny_unknown_fields)]`
    /// so a misspelt key is an error naming it.
    type Config: DeserializeOwned;

    /// Checks a configuration beyond its types; the error names the key and the value, e.g.
    /// `"p = 1.5: must be between 0 and 1"`.
    fn check(_config: &Self::Config) -> Result<(), String> {
        Ok(())
    }

    /// The protocol for one trial.
    fn new(config: &Self::Config, setup: &Setup) -> Self;

    /// The analytic prediction of summary metric `metric` (e.g. `"rounds_to_all"`) for
    /// `scenario`, where one is known: it fills summary.csv's `theory` column.
    fn theory(_config: &Self::Config, _scenario: &Scenario, _metric: &str) -> Option<f64> {
        None
    }
}

type RunFn = fn(&Scenario, &Catalog, u32, &AtomicU64, bool) -> TrialReport;
type CheckFn = fn(&toml::Table) -> Result<(), String>;

type TheoryFn = fn(&Scenario, &str) -> Option<f64>;

struct Entry {
    name: String,
    check: CheckFn,
    run: RunFn,
    theory: TheoryFn,
}

/// The protocols a binary knows besides the built-ins. Build it, then hand it to
/// [`crate::cli::main_with`], which installs it and runs the whole command line.
#[derive(Default)]
pub struct Registry {
    entries: Vec<Entry>,
}

static INSTALLED: OnceLock<Registry> = OnceLock::new();

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `P` as `protocol.kind = name`. Panics if `name` is a built-in's or taken: that
    /// is a programming error in the binary, not bad input.
    pub fn protocol<P: UserProtocol>(mut self, name: &str) -> Registry {
        assert!(
            !crate::scenario::BUILT_IN_PROTOCOLS.contains(&name),
            "protocol name {name:?} is a built-in protocol's"
        );
        assert!(
            self.entries.iter().all(|e| e.name != name),
            "protocol name {name:?} registered twice"
        );
        self.entries.push(Entry {
            name: name.to_string(),
            check: check_config::<P>,
            run: run_user::<P>,
            theory: theory_user::<P>,
        });
        self
    }

    /// Makes this registry the one scenarios are resolved against (once per process).
    pub fn install(self) {
        if INSTALLED.set(self).is_err() {
            panic!("a protocol registry is installed already");
        }
    }

    fn installed() -> Option<&'static Registry> {
        INSTALLED.get()
    }
}

/// The index of the registered protocol `name`, if any.
pub(crate) fn lookup(name: &str) -> Option<u16> {
    let registry = Registry::installed()?;
    registry
        .entries
        .iter()
        .position(|e| e.name == name)
        .map(|i| i as u16)
}

/// The name of registered protocol `id`.
pub(crate) fn name_of(id: u16) -> &'static str {
    &Registry::installed().expect("a registry").entries[id as usize].name
}

/// Checks the keys of registered protocol `id`.
pub(crate) fn check(id: u16, config: &toml::Table) -> Result<(), String> {
    let entry = &Registry::installed().expect("a registry").entries[id as usize];
    (entry.check)(config)
}

fn check_config<P: UserProtocol>(table: &toml::Table) -> Result<(), String> {
    let config = parse::<P>(table)?;
    P::check(&config)
}

fn parse<P: UserProtocol>(table: &toml::Table) -> Result<P::Config, String> {
    P::Config::deserialize(toml::Value::Table(table.clone())).map_err(|e| e.message().to_string())
}

use serde::Deserialize as _;

fn theory_user<P: UserProtocol>(scenario: &Scenario, metric: &str) -> Option<f64> {
    let config = parse::<P>(&scenario.protocol.custom).ok()?;
    P::theory(&config, scenario, metric)
}

/// The analytic prediction of summary metric `metric` for `scenario`, by its protocol.
pub fn theory(scenario: &Scenario, metric: &str) -> Option<f64> {
    let full_table = scenario.protocol.exchange == ExchangeMode::FullTable;
    match scenario.protocol.kind {
        ProtocolKind::Push => super::anti_entropy::theory(Exchange::Push, scenario, metric),
        ProtocolKind::Pull => super::anti_entropy::theory(Exchange::Pull, scenario, metric),
        ProtocolKind::PushPull => {
            super::anti_entropy::theory(Exchange::PushPull { full_table }, scenario, metric)
        }
        ProtocolKind::Custom(id) => {
            let entry = &Registry::installed()?.entries[id as usize];
            (entry.theory)(scenario, metric)
        }
        ProtocolKind::Rumor(_)
        | ProtocolKind::MedianCounter { .. }
        | ProtocolKind::Flood
        | ProtocolKind::Plumtree { .. } => None,
    }
}

fn run_user<P: UserProtocol>(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
    fast_paths: bool,
) -> TrialReport {
    let table = &scenario.protocol.custom;
    let config = parse::<P>(table).expect("validated when the scenario was loaded");
    engine::run_protocol(scenario, catalog, trial, progress, fast_paths, |setup| {
        P::new(&config, setup)
    })
}

/// Runs trial `trial` of `scenario`. Adds one to `progress` per simulated round (gossip period).
/// Deterministic: the result depends only on the scenario and the trial index.
pub fn run_trial(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
) -> TrialReport {
    run_trial_with_fast_paths(scenario, catalog, trial, progress, true)
}

/// [`run_trial`], with or without the engine's fast paths (the tests compare the two).
#[doc(hidden)]
pub fn run_trial_with_fast_paths(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
    fast_paths: bool,
) -> TrialReport {
    let p = &scenario.protocol;
    let full_table = p.exchange == ExchangeMode::FullTable;
    let backing = || {
        p.anti_entropy_every
            .map(|every| Backing::new(every, full_table))
    };
    let (s, c, t, pr, f) = (scenario, catalog, trial, progress, fast_paths);
    match p.kind {
        ProtocolKind::Push => {
            engine::run_protocol(s, c, t, pr, f, |_| AntiEntropy::new(Exchange::Push))
        }
        ProtocolKind::Pull => {
            engine::run_protocol(s, c, t, pr, f, |_| AntiEntropy::new(Exchange::Pull))
        }
        ProtocolKind::PushPull => engine::run_protocol(s, c, t, pr, f, |_| {
            AntiEntropy::new(Exchange::PushPull { full_table })
        }),
        ProtocolKind::Rumor(rules) => {
            engine::run_protocol(s, c, t, pr, f, |_| Rumor::new(rules, backing()))
        }
        ProtocolKind::MedianCounter { ctr_max } => {
            engine::run_protocol(s, c, t, pr, f, |_| MedianCounter::new(ctr_max, backing()))
        }
        ProtocolKind::Flood => engine::run_protocol(s, c, t, pr, f, |_| Flood::new()),
        ProtocolKind::Plumtree { ihave_timeout } => engine::run_protocol(s, c, t, pr, f, |setup| {
            Plumtree::new(ihave_timeout, setup.nodes(), setup.updates)
        }),
        ProtocolKind::Custom(id) => {
            let entry = &Registry::installed().expect("validated").entries[id as usize];
            (entry.run)(s, c, t, pr, f)
        }
    }
}
