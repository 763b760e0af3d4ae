//! Which protocol a scenario names: the built-ins, and the protocols a user's own binary
//! registers by name (see `examples/lazy_push.rs`). Both are [`Kind`]s, listed the same way.
//!
//! Dispatch happens once per trial: an entry's `run` is the engine monomorphised for its
//! protocol, so no handler call goes through a pointer.

use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

use serde::Deserialize as _;
use toml::de::ValueDeserializer;

use crate::engine;
use crate::report::TrialReport;
use crate::scenario::{Catalog, ProtocolKind, Scenario};

use super::anti_entropy::{Pull, Push, PushPull};
use super::kind::{ConfigError, Estimate, Kind, declared_keys};
use super::{Flood, MedianCounter, Merkle, Piggyback, Plumtree, Rumor, Scuttlebutt, Sketch};

/// Every built-in protocol, by the name `protocol.kind` gives it. A new built-in is one line
/// here and its own file.
static BUILT_INS: [Entry; 11] = [
    Entry::of::<Push>("push"),
    Entry::of::<Pull>("pull"),
    Entry::of::<PushPull>("push-pull"),
    Entry::of::<Rumor>("rumor"),
    Entry::of::<MedianCounter>("median-counter"),
    Entry::of::<Flood>("flood"),
    Entry::of::<Plumtree>("plumtree"),
    Entry::of::<Scuttlebutt>("scuttlebutt"),
    Entry::of::<Piggyback>("piggyback"),
    Entry::of::<Merkle>("merkle"),
    Entry::of::<Sketch>("sketch"),
];

type KeysFn = fn() -> Option<&'static [&'static str]>;
type ResolveFn = fn(ValueDeserializer<'_>, &Scenario) -> Result<toml::Table, Refusal>;
type RunFn = fn(&Scenario, &Catalog, u32, &AtomicU64, bool) -> TrialReport;
type TheoryFn = fn(&Scenario, &str) -> Option<f64>;
type EstimateFn = fn(&Scenario) -> Estimate;

/// One protocol kind, its functions monomorphised for its type.
struct Entry {
    name: &'static str,
    keys: KeysFn,
    resolve: ResolveFn,
    run: RunFn,
    theory: TheoryFn,
    estimate: EstimateFn,
}

impl Entry {
    const fn of<K: Kind>(name: &'static str) -> Entry {
        Entry {
            name,
            keys: declared_keys::<K::Config>,
            resolve: resolve::<K>,
            run: run::<K>,
            theory: theory_of::<K>,
            estimate: estimate_of::<K>,
        }
    }
}

/// Why a protocol refused its keys: a type error serde found (with its position in the file),
/// or the protocol's own check.
pub(crate) enum Refusal {
    Serde(toml::de::Error),
    Config(ConfigError),
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

    /// Registers `K` as `protocol.kind = name`. Panics if `name` is a built-in's or taken: that
    /// is a programming error in the binary, not bad input.
    pub fn protocol<K: Kind>(mut self, name: &str) -> Registry {
        assert!(
            BUILT_INS.iter().all(|e| e.name != name),
            "protocol name {name:?} is a built-in protocol's"
        );
        assert!(
            self.entries.iter().all(|e| e.name != name),
            "protocol name {name:?} registered twice"
        );
        // Registered once per process, and read for as long as it runs.
        let name: &'static str = Box::leak(name.to_string().into_boxed_str());
        self.entries.push(Entry::of::<K>(name));
        self
    }

    /// Makes this registry the one scenarios are resolved against (once per process).
    pub fn install(self) {
        if INSTALLED.set(self).is_err() {
            panic!("a protocol registry is installed already");
        }
    }
}

/// Every protocol kind this process knows: the built-ins, then the installed registry's.
fn entries() -> impl Iterator<Item = &'static Entry> {
    let installed = INSTALLED.get().map_or(&[][..], |r| &r.entries[..]);
    BUILT_INS.iter().chain(installed)
}

fn entry(kind: ProtocolKind) -> &'static Entry {
    entries()
        .nth(usize::from(kind.index()))
        .expect("a protocol kind is made only from a known name")
}

/// The kind named `name`, if this process knows one.
pub(crate) fn lookup(name: &str) -> Option<ProtocolKind> {
    let index = entries().position(|e| e.name == name)?;
    Some(ProtocolKind::from_index(index as u16))
}

/// Every protocol name, built-ins first (for the error that lists them).
pub(crate) fn names() -> Vec<&'static str> {
    entries().map(|e| e.name).collect()
}

pub(crate) fn name_of(kind: ProtocolKind) -> &'static str {
    entry(kind).name
}

/// The keys `kind` takes, beside the engine's; `None` when its configuration is not a plain
/// struct (then its deserializing alone judges the keys).
pub(crate) fn keys_of(kind: ProtocolKind) -> Option<&'static [&'static str]> {
    (entry(kind).keys)()
}

/// The kinds that take `key`, by name.
pub(crate) fn kinds_taking(key: &str) -> Vec<&'static str> {
    entries()
        .filter(|e| (e.keys)().is_some_and(|keys| keys.contains(&key)))
        .map(|e| e.name)
        .collect()
}

/// Deserializes and checks `kind`'s own keys, every default filled: the table a scenario
/// keeps in `protocol.config`.
pub(crate) fn resolve_config(
    kind: ProtocolKind,
    keys: ValueDeserializer<'_>,
    scenario: &Scenario,
) -> Result<toml::Table, Refusal> {
    (entry(kind).resolve)(keys, scenario)
}

fn resolve<K: Kind>(
    keys: ValueDeserializer<'_>,
    scenario: &Scenario,
) -> Result<toml::Table, Refusal> {
    let config = K::Config::deserialize(keys).map_err(Refusal::Serde)?;
    let config = K::resolve(config, scenario).map_err(Refusal::Config)?;
    Ok(toml::Table::try_from(&config).expect("a protocol configuration serializes as a table"))
}

/// `scenario`'s protocol configuration as `K` reads it. A scenario built in code rather than
/// loaded may leave keys out; resolving again fills their defaults (and changes nothing in a
/// loaded one).
fn config_of<K: Kind>(scenario: &Scenario) -> K::Config {
    let table = toml::Value::Table(scenario.protocol.config.clone());
    let config = K::Config::deserialize(table).unwrap_or_else(|e| {
        panic!(
            "protocol.{}: keys not checked ({})",
            scenario.protocol.kind.as_str(),
            e.message()
        )
    });
    K::resolve(config, scenario).unwrap_or_else(|e| panic!("keys not checked: {e}"))
}

fn theory_of<K: Kind>(scenario: &Scenario, metric: &str) -> Option<f64> {
    K::theory(&config_of::<K>(scenario), scenario, metric)
}

fn estimate_of<K: Kind>(scenario: &Scenario) -> Estimate {
    K::estimate(&config_of::<K>(scenario), scenario)
}

fn run<K: Kind>(
    scenario: &Scenario,
    catalog: &Catalog,
    trial: u32,
    progress: &AtomicU64,
    fast_paths: bool,
) -> TrialReport {
    let config = config_of::<K>(scenario);
    engine::run_protocol(scenario, catalog, trial, progress, fast_paths, |setup| {
        K::new(&config, setup)
    })
}

/// The analytic prediction of summary metric `metric` for `scenario`, by its protocol.
pub fn theory(scenario: &Scenario, metric: &str) -> Option<f64> {
    (entry(scenario.protocol.kind).theory)(scenario, metric)
}

/// What `scenario`'s protocol says of its run in advance (see [`Kind::estimate`]).
pub fn estimate(scenario: &Scenario) -> Estimate {
    (entry(scenario.protocol.kind).estimate)(scenario)
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
    (entry(scenario.protocol.kind).run)(scenario, catalog, trial, progress, fast_paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_is_found_by_its_name() {
        for (index, e) in BUILT_INS.iter().enumerate() {
            let kind = lookup(e.name).unwrap();
            assert_eq!(usize::from(kind.index()), index);
            assert_eq!(name_of(kind), e.name);
        }
        assert_eq!(lookup("gossip"), None);
    }

    /// Each built-in's keys are its own `Config`'s fields; the README's scenario reference must
    /// list every one of them, under the kinds that take it.
    #[test]
    fn the_readme_lists_every_key_of_every_built_in() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README.md");
        let reference = readme
            .split("## Scenario reference")
            .nth(1)
            .and_then(|rest| rest.split("[network]").next())
            .expect("the [protocol] block of the scenario reference");
        for e in &BUILT_INS {
            assert!(reference.contains(e.name), "kind {} missing", e.name);
            for key in (e.keys)().expect("a built-in's keys are a plain struct") {
                let listed = reference.lines().any(|line| {
                    line.trim_start_matches("# ")
                        .starts_with(&format!("{key} ="))
                });
                assert!(
                    listed,
                    "protocol.{key} (kind {}) is not in the README",
                    e.name
                );
            }
        }
    }

    #[test]
    fn keys_say_which_kinds_take_them() {
        assert_eq!(kinds_taking("ctr_max"), ["median-counter"]);
        assert_eq!(
            kinds_taking("anti_entropy_every"),
            ["rumor", "median-counter"]
        );
        assert_eq!(
            kinds_taking("exchange"),
            ["push-pull", "rumor", "median-counter"]
        );
        assert_eq!(keys_of(lookup("push").unwrap()), Some(&["priority"][..]));
        assert_eq!(kinds_taking("priority")[..3], ["push", "pull", "push-pull"]);
    }
}
