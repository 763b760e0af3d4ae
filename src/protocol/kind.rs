//! What a scenario's `protocol.kind` names: a protocol's configuration (its own keys of the
//! `[protocol]` table), how to build it for a trial, and what is known of it in advance (its
//! theory for summary.csv, the figures the memory guard and the progress bar start from).
//!
//! The built-ins implement [`Kind`] exactly as a user's protocol does (`examples/lazy_push.rs`),
//! each in its own file; `registry.rs` lists them, one line each.

use std::fmt;

use serde::Serialize;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};

use super::Protocol;
use crate::engine::Setup;
use crate::scenario::Scenario;

/// A protocol as a scenario names it, registered with [`super::Registry::protocol`].
///
/// The registered type need not be the protocol itself: push, pull and push-pull are three
/// kinds of one protocol type, [`super::AntiEntropy`].
pub trait Kind: 'static {
    /// Its keys of the `[protocol]` table, beside the engine's own (`kind`, `fanout`,
    /// `timing`, `period_ms`, `jitter_ms`, `local_bias`), deserialized with serde. Write it
    /// as a plain struct with `#[serde(deny_unknown_fields)]`, so that a misspelt key is an
    /// error naming it and its line, and a key of another kind says which kind takes it.
    /// Leave optional keys `Option`al and fill their defaults in [`Kind::resolve`].
    type Config: DeserializeOwned + Serialize;

    /// The protocol a trial runs.
    type Protocol: Protocol;

    /// Checks a configuration beyond its types and fills in every default (it may depend on
    /// the rest of the scenario, e.g. on `nodes`). What it returns is what `check` prints and
    /// the results folder's `scenario.resolved.toml` records, so a run can be repeated from it.
    fn resolve(config: Self::Config, _scenario: &Scenario) -> Result<Self::Config, ConfigError> {
        Ok(config)
    }

    /// The protocol for one trial, from the resolved configuration.
    fn new(config: &Self::Config, setup: &Setup) -> Self::Protocol;

    /// The analytic prediction of summary metric `metric` (e.g. `"rounds_to_all"`) for
    /// `scenario`, where one is known: it fills summary.csv's `theory` column.
    fn theory(_config: &Self::Config, _scenario: &Scenario, _metric: &str) -> Option<f64> {
        None
    }

    /// What is known of a run in advance, for the memory guard and the progress bar's first
    /// estimate. The default describes push gossip, the slowest of the classic baselines.
    fn estimate(_config: &Self::Config, scenario: &Scenario) -> Estimate {
        Estimate::push(scenario)
    }
}

/// A configuration value a protocol refuses: the key, its value and why, e.g.
/// `ConfigError::new("p", 1.5, "must be more than 0 and at most 1")`. The scenario loader
/// reports it as `protocol.p = 1.5: must be ...` at the key's line and column.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) problem: String,
}

impl ConfigError {
    /// `key` is the key of the `[protocol]` table (`"kind"` for a problem with the protocol
    /// as a whole); `value` is shown as TOML writes it.
    pub fn new(
        key: &str,
        value: impl Into<toml::Value>,
        problem: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            key: key.to_string(),
            value: inline_value(&value.into()),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "protocol.{} = {}: {}",
            self.key, self.value, self.problem
        )
    }
}

/// A value as it would be written after `key = ` in a file.
fn inline_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => crate::scenario::toml_string(s),
        toml::Value::Float(x) => crate::scenario::toml_float(*x),
        other => other.to_string(),
    }
}

/// What is known of a protocol's run before it starts (see [`Kind::estimate`]). Estimates
/// only: they size the memory guard and the first ETA, never a result.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimate {
    /// Rounds an update takes to reach every node without loss: the leading terms of the
    /// protocol's formula (the engine adds a tail and scales by loss).
    pub rounds_to_all: f64,
    /// Whether the protocol asks the engine for per-(node, update) spreading state
    /// ([`Protocol::spreading_state`]), which the memory guard counts.
    pub spreading_state: bool,
    /// Whether nodes may stop spreading an update before everyone has it (rumor mongering's
    /// residue): without a repair round it may stay in flight to the end of the run.
    pub leaves_residue: bool,
    /// A backing anti-entropy round every this many rounds, which repairs the residue.
    pub repair_every: Option<u32>,
    /// The protocol's own state: bytes per node, and per update planned.
    pub bytes_per_node: u64,
    pub bytes_per_update: u64,
}

impl Estimate {
    /// Push gossip with `fanout` partners: log_(k+1) n + ln n / k rounds (Frieze & Grimmett
    /// 1985, Pittel 1987, for k = 1).
    pub fn push(scenario: &Scenario) -> Estimate {
        let (n, k) = n_and_fanout(scenario);
        Estimate::rounds(n.ln() / (k + 1.0).ln() + n.ln() / k)
    }

    /// An estimate of `rounds` rounds with no state of the protocol's own.
    pub fn rounds(rounds_to_all: f64) -> Estimate {
        Estimate {
            rounds_to_all,
            spreading_state: false,
            leaves_residue: false,
            repair_every: None,
            bytes_per_node: 0,
            bytes_per_update: 0,
        }
    }
}

/// `nodes` (at least 2) and `fanout` (at least 1) of `scenario`, as floats for formulas.
pub fn n_and_fanout(scenario: &Scenario) -> (f64, f64) {
    (
        f64::from(scenario.nodes).max(2.0),
        f64::from(scenario.protocol.fanout.max(1)),
    )
}

/// The keys a configuration type declares, read off its serde `Deserialize` (which names its
/// fields when it asks for a struct); `None` for a type that is not a plain struct (a
/// `toml::Table`, say), whose keys only its own deserializing can judge.
pub(crate) fn declared_keys<C: DeserializeOwned>() -> Option<&'static [&'static str]> {
    let mut probe = KeysProbe(None);
    let _ = C::deserialize(&mut probe);
    probe.0
}

/// A deserializer that answers nothing and notes the field names a struct asks for.
struct KeysProbe(Option<&'static [&'static str]>);

#[derive(Debug)]
struct Probed;

impl fmt::Display for Probed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("probed")
    }
}

impl std::error::Error for Probed {}

impl de::Error for Probed {
    fn custom<T: fmt::Display>(_: T) -> Probed {
        Probed
    }
}

impl<'de> Deserializer<'de> for &mut KeysProbe {
    type Error = Probed;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Probed> {
        Err(Probed)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Probed> {
        self.0 = Some(fields);
        Err(Probed)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// The configuration of a kind with no keys of its own.
#[derive(Clone, Copy, Debug, Default, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NoKeys {}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Serialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        p: f64,
        mode: Option<String>,
    }

    #[test]
    fn declared_keys_are_the_struct_fields() {
        assert_eq!(declared_keys::<Example>(), Some(&["p", "mode"][..]));
        assert_eq!(declared_keys::<NoKeys>(), Some(&[][..]));
        assert_eq!(declared_keys::<toml::Table>(), None);
        assert_eq!(declared_keys::<u32>(), None);
    }

    #[test]
    fn a_config_error_reads_as_a_scenario_error() {
        let e = ConfigError::new("mode", "sideways", "must be one of \"push\", \"pull\"");
        assert_eq!(
            e.to_string(),
            "protocol.mode = \"sideways\": must be one of \"push\", \"pull\""
        );
        assert_eq!(ConfigError::new("p", 1.5, "x").value, "1.5");
        assert_eq!(ConfigError::new("k", 3, "x").value, "3");
    }
}
