//! The scenario file exactly as written, before any check.
//!
//! Every key is an `Option`, required ones included: serde's "missing field" error carries no
//! path, so [`validate`](super::validate::validate) reports missing keys itself, with the full
//! dotted key. Integers are `i64` (the TOML integer type) so that a negative or oversized value
//! reaches `validate` and is rejected with its key and range instead of a serde type error.
//! Choice keys (`kind`, `timing`, `dist`, ...) are strings for the same reason: `validate` names
//! the accepted values. Times are whole milliseconds or whole rounds, so every resolved time is a
//! whole number of milliseconds and prints back exactly.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<String>,
    pub seed: Option<u64>,
    pub nodes: Option<i64>,
    pub trials: Option<i64>,
    pub max_rounds: Option<i64>,
    pub protocol: Option<RawProtocol>,
    pub overlay: Option<RawOverlay>,
    pub network: Option<RawNetwork>,
    #[serde(default)]
    pub crashes: Vec<RawCrash>,
    pub churn: Option<RawChurn>,
    #[serde(default)]
    pub updates: Vec<RawUpdate>,
    pub workload: Option<RawWorkload>,
    pub sizes: Option<RawSizes>,
    pub output: Option<RawOutput>,
    #[serde(default)]
    pub regions: Vec<RawRegion>,
    /// Keyed by region pair, `"eu-us"`; a map so any region names can be keys.
    pub region_latency: Option<BTreeMap<String, RawLatency>>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
/// The engine's keys of `[protocol]`; the protocol's own keys are split off before this is
/// deserialized and resolved by the protocol (see `load` and `protocol::Kind`).
pub struct RawProtocol {
    pub kind: Option<String>,
    pub fanout: Option<i64>,
    pub timing: Option<String>,
    pub period_ms: Option<i64>,
    pub jitter_ms: Option<i64>,
    pub local_bias: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub loss: Option<f64>,
    pub latency: Option<RawLatency>,
    pub max_message_bytes: Option<i64>,
    pub budget_bytes_per_period: Option<i64>,
}

/// One flat table for every distribution, rather than a serde enum tagged by `dist`: an enum
/// would buffer the table and lose the positions of errors, and a flat table lets `validate` say
/// which parameter a distribution lacks or does not take.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    pub dist: Option<String>,
    pub ms: Option<f64>,
    pub min_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    pub median_ms: Option<f64>,
    pub sigma: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCrash {
    pub at_round: Option<i64>,
    pub at_ms: Option<i64>,
    pub fraction: Option<f64>,
    pub nodes: Option<Vec<i64>>,
    pub recover_after_rounds: Option<i64>,
    pub recover_after_ms: Option<i64>,
    pub keep_state: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChurn {
    pub crash_rate: Option<f64>,
    pub mean_downtime_rounds: Option<i64>,
    pub mean_downtime_ms: Option<i64>,
    pub keep_state: Option<bool>,
    pub rejoin: Option<String>,
    pub start_round: Option<i64>,
    pub start_ms: Option<i64>,
    pub stop_round: Option<i64>,
    pub stop_ms: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpdate {
    pub product: Option<String>,
    pub price: Option<f64>,
    pub origin: Option<i64>,
    pub at_round: Option<i64>,
    pub at_ms: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub products: Option<i64>,
    pub updates: Option<i64>,
    pub start_round: Option<i64>,
    pub start_ms: Option<i64>,
    pub per_round: Option<f64>,
    pub zipf: Option<f64>,
    pub min_price: Option<f64>,
    pub max_price: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSizes {
    pub header: Option<i64>,
    pub entry: Option<i64>,
    pub digest_entry: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutput {
    pub coverage: Option<bool>,
    pub tables: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
/// `[overlay]`: one table for every kind; validation rejects a key that the chosen kind does not
/// take, naming the kinds that do.
pub struct RawOverlay {
    pub kind: Option<String>,
    // Static graphs.
    pub degree: Option<i64>,
    pub mean_degree: Option<f64>,
    pub p: Option<f64>,
    // HyParView.
    pub active_size: Option<i64>,
    pub passive_size: Option<i64>,
    pub arwl: Option<i64>,
    pub prwl: Option<i64>,
    pub shuffle_every: Option<i64>,
    pub shuffle_active: Option<i64>,
    pub shuffle_passive: Option<i64>,
    pub warmup_rounds: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRegion {
    pub name: Option<String>,
    pub nodes: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every key of the schema at once, so a key renamed in one place but not the other fails.
    const EVERY_KEY: &str = r#"
        name = "all"
        seed = 7
        nodes = 10
        trials = 2
        max_rounds = 30
        [protocol]
        kind = "push"
        fanout = 2
        timing = "async"
        period_ms = 100
        jitter_ms = 10
        local_bias = 0.8
        [network]
        loss = 0.5
        latency = { dist = "uniform", ms = 1, min_ms = 1, max_ms = 2.5, mean_ms = 3, median_ms = 4, sigma = 0.5 }
        [[crashes]]
        at_round = 1
        at_ms = 2
        fraction = 0.5
        nodes = [1, 2]
        recover_after_rounds = 3
        recover_after_ms = 4
        keep_state = false
        [churn]
        crash_rate = 0.1
        mean_downtime_rounds = 1
        mean_downtime_ms = 2
        keep_state = false
        start_round = 1
        start_ms = 2
        stop_round = 3
        stop_ms = 4
        [[updates]]
        product = "P1"
        price = 3
        origin = 1
        at_round = 1
        at_ms = 2
        [workload]
        products = 3
        updates = 4
        start_round = 1
        start_ms = 2
        per_round = 1.5
        zipf = 0.5
        min_price = 1
        max_price = 2
        [sizes]
        header = 1
        entry = 2
        digest_entry = 3
        [output]
        coverage = false
        [overlay]
        kind = "k-regular"
        degree = 4
        mean_degree = 3.5
        p = 0.5
        active_size = 5
        passive_size = 30
        arwl = 6
        prwl = 3
        shuffle_every = 10
        shuffle_active = 3
        shuffle_passive = 4
        warmup_rounds = 20
        [[regions]]
        name = "eu"
        nodes = 10
        [region_latency]
        "eu-eu" = { dist = "constant", ms = 5 }
    "#;

    #[test]
    fn every_schema_key_deserializes() {
        let raw: RawScenario = toml::from_str(EVERY_KEY).unwrap();
        assert_eq!(raw.name.as_deref(), Some("all"));
        // Integers are accepted where the schema takes any number.
        assert_eq!(raw.updates[0].price, Some(3.0));
        assert_eq!(raw.network.unwrap().latency.unwrap().ms, Some(1.0));
        assert_eq!(raw.crashes[0].nodes, Some(vec![1, 2]));
        assert_eq!(raw.output.unwrap().coverage, Some(false));
        let overlay = raw.overlay.unwrap();
        assert_eq!(overlay.degree, Some(4));
        assert_eq!(overlay.warmup_rounds, Some(20));
        assert_eq!(raw.regions[0].nodes, Some(10));
        assert_eq!(raw.region_latency.unwrap()["eu-eu"].ms, Some(5.0));
    }

    #[test]
    fn an_empty_document_is_all_none() {
        let raw: RawScenario = toml::from_str("").unwrap();
        assert_eq!(raw, RawScenario::default());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<RawScenario>("nodez = 3").is_err());
        assert!(toml::from_str::<RawScenario>("[protocol]\nfanot = 3").is_err());
        assert!(toml::from_str::<RawScenario>("[[crashes]]\nfracton = 0.1").is_err());
    }
}
