//! Prints a resolved [`Scenario`] back as a scenario file, every default filled in, so
//! `gossip-sim check` shows exactly what will run, and the text re-parses to an equal scenario.
//!
//! Times print as whole milliseconds (`at_ms`, `period_ms`, ...), whatever the file used:
//! rounds are only a way of writing a time.

use std::fmt::{self, Display, Formatter, Write as _};

use super::model::{
    CrashTarget, EdgeChance, GeneratedUpdates, Latency, Overlay, Rejoin, Scenario, Timing, Workload,
};
use crate::time::Time;

impl Display for Scenario {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "name = {}", toml_string(&self.name))?;
        writeln!(f, "seed = {}", self.seed)?;
        writeln!(f, "nodes = {}", self.nodes)?;
        writeln!(f, "trials = {}", self.trials)?;
        writeln!(f, "max_rounds = {}", self.max_rounds)?;

        writeln!(f, "\n[protocol]")?;
        writeln!(f, "kind = {}", toml_string(self.protocol.kind.as_str()))?;
        writeln!(f, "fanout = {}", self.protocol.fanout)?;
        let (timing, jitter) = match self.timing {
            Timing::Rounds => ("rounds", Time::ZERO),
            Timing::Async { jitter } => ("async", jitter),
        };
        writeln!(f, "timing = {}", toml_string(timing))?;
        writeln!(f, "period_ms = {}", Ms(self.period))?;
        writeln!(f, "jitter_ms = {}", Ms(jitter))?;
        // The protocol's own keys, every default filled in (`protocol::Kind::resolve`).
        let own = toml::to_string(&self.protocol.config).map_err(|_| fmt::Error)?;
        write!(f, "{own}")?;
        if let Some(bias) = self.regions.as_ref().and_then(|r| r.local_bias) {
            writeln!(f, "local_bias = {}", toml_float(bias))?;
        }

        writeln!(f, "\n[network]")?;
        writeln!(f, "loss = {}", toml_float(self.network.loss))?;
        let latency = inline_latency(&self.network.latency);
        writeln!(f, "latency = {{ {latency} }}")?;
        // Written only when set: a scenario without them reads back unbounded.
        if let Some(bytes) = self.network.max_message_bytes {
            writeln!(f, "max_message_bytes = {bytes}")?;
        }
        if let Some(bytes) = self.network.budget_bytes_per_period {
            writeln!(f, "budget_bytes_per_period = {bytes}")?;
        }

        writeln!(f, "\n[overlay]")?;
        writeln!(f, "kind = {}", toml_string(self.overlay.as_str()))?;
        match self.overlay {
            Overlay::Full => {}
            Overlay::KRegular { degree } | Overlay::KOut { degree } => {
                writeln!(f, "degree = {degree}")?
            }
            Overlay::ErdosRenyi(EdgeChance::MeanDegree(c)) => {
                writeln!(f, "mean_degree = {}", toml_float(c))?
            }
            Overlay::ErdosRenyi(EdgeChance::Probability(p)) => {
                writeln!(f, "p = {}", toml_float(p))?
            }
            Overlay::HyParView(p) => {
                writeln!(f, "active_size = {}", p.active_size)?;
                writeln!(f, "passive_size = {}", p.passive_size)?;
                writeln!(f, "arwl = {}", p.arwl)?;
                writeln!(f, "prwl = {}", p.prwl)?;
                writeln!(f, "shuffle_every = {}", p.shuffle_every)?;
                writeln!(f, "shuffle_active = {}", p.shuffle_active)?;
                writeln!(f, "shuffle_passive = {}", p.shuffle_passive)?;
                writeln!(f, "warmup_rounds = {}", p.warmup_rounds)?;
            }
        }

        if let Some(regions) = &self.regions {
            for region in &regions.regions {
                writeln!(f, "\n[[regions]]")?;
                writeln!(f, "name = {}", toml_string(&region.name))?;
                writeln!(f, "nodes = {}", region.nodes)?;
            }
            if !regions.latency.is_empty() {
                writeln!(f, "\n[region_latency]")?;
                for pair in &regions.latency {
                    let name = |i: u32| regions.regions[i as usize].name.as_str();
                    let key = format!("{}-{}", name(pair.a), name(pair.b));
                    writeln!(
                        f,
                        "{} = {{ {} }}",
                        toml_string(&key),
                        inline_latency(&pair.latency)
                    )?;
                }
            }
        }

        for crash in &self.crashes {
            writeln!(f, "\n[[crashes]]")?;
            writeln!(f, "at_ms = {}", Ms(crash.at))?;
            match &crash.target {
                CrashTarget::Fraction(fraction) => {
                    writeln!(f, "fraction = {}", toml_float(*fraction))?
                }
                CrashTarget::Nodes(nodes) => {
                    let ids: Vec<String> = nodes.iter().map(u32::to_string).collect();
                    writeln!(f, "nodes = [{}]", ids.join(", "))?
                }
            }
            if let Some(after) = crash.recover_after {
                writeln!(f, "recover_after_ms = {}", Ms(after))?;
            }
            writeln!(f, "keep_state = {}", crash.keep_state)?;
        }

        if let Some(churn) = &self.churn {
            writeln!(f, "\n[churn]")?;
            writeln!(f, "crash_rate = {}", toml_float(churn.crash_rate))?;
            writeln!(f, "mean_downtime_ms = {}", Ms(churn.mean_downtime))?;
            writeln!(f, "keep_state = {}", churn.keep_state)?;
            if churn.rejoin == Rejoin::Snapshot {
                writeln!(f, "rejoin = \"snapshot\"")?;
            }
            writeln!(f, "start_ms = {}", Ms(churn.start))?;
            writeln!(f, "stop_ms = {}", Ms(churn.stop))?;
        }

        for update in &self.workload.explicit {
            writeln!(f, "\n[[updates]]")?;
            writeln!(f, "product = {}", toml_string(&update.product))?;
            writeln!(f, "price = {}", toml_float(update.price))?;
            writeln!(f, "origin = {}", update.origin)?;
            writeln!(f, "at_ms = {}", Ms(update.at))?;
        }

        let Workload {
            products,
            generated,
            ..
        } = &self.workload;
        writeln!(f, "\n[workload]")?;
        writeln!(f, "products = {products}")?;
        match generated {
            // The other workload keys only describe generated updates; the resolved scenario
            // does not keep them when there are none.
            None => writeln!(f, "updates = 0")?,
            Some(GeneratedUpdates {
                count,
                start,
                per_round,
                zipf_exponent,
                min_price,
                max_price,
            }) => {
                writeln!(f, "updates = {count}")?;
                writeln!(f, "start_ms = {}", Ms(*start))?;
                if let Some(per_round) = per_round {
                    writeln!(f, "per_round = {}", toml_float(*per_round))?;
                }
                writeln!(f, "zipf = {}", toml_float(*zipf_exponent))?;
                writeln!(f, "min_price = {}", toml_float(*min_price))?;
                writeln!(f, "max_price = {}", toml_float(*max_price))?;
            }
        }

        writeln!(f, "\n[sizes]")?;
        writeln!(f, "header = {}", self.sizes.header)?;
        writeln!(f, "entry = {}", self.sizes.entry)?;
        writeln!(f, "digest_entry = {}", self.sizes.digest_entry)?;

        writeln!(f, "\n[output]")?;
        writeln!(f, "coverage = {}", self.output.coverage)?;
        writeln!(f, "tables = {}", self.output.tables)
    }
}

/// A latency distribution as the inside of an inline table.
pub(super) fn inline_latency(latency: &Latency) -> String {
    match *latency {
        Latency::Constant { ms } => format!("dist = \"constant\", ms = {}", toml_float(ms)),
        Latency::Uniform { min_ms, max_ms } => format!(
            "dist = \"uniform\", min_ms = {}, max_ms = {}",
            toml_float(min_ms),
            toml_float(max_ms)
        ),
        Latency::Exponential { mean_ms } => {
            format!("dist = \"exponential\", mean_ms = {}", toml_float(mean_ms))
        }
        Latency::LogNormal { median_ms, sigma } => format!(
            "dist = \"log-normal\", median_ms = {}, sigma = {}",
            toml_float(median_ms),
            toml_float(sigma)
        ),
    }
}

/// A time as milliseconds. Scenarios from a file always hold whole milliseconds; a hand-built
/// one that does not prints a fraction, which the parser then rejects loudly rather than
/// silently rounding.
struct Ms(Time);

impl Display for Ms {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let us = self.0.micros();
        match us % 1000 {
            0 => write!(f, "{}", us / 1000),
            fraction => write!(f, "{}.{fraction:03}", us / 1000),
        }
    }
}

/// A float as a TOML float that parses back to the same `f64`: Rust's `{:?}` is the shortest
/// text that round-trips and always has a `.` or an exponent, which TOML requires.
pub(crate) fn toml_float(value: f64) -> String {
    if value.is_nan() {
        "nan".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// A TOML basic string, always on one line, so it fits in a one-line error message too.
pub(crate) fn toml_string(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\t' => quoted.push_str("\\t"),
            '\r' => quoted.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", c as u32);
            }
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::scenario::load::EXAMPLE;
    use crate::scenario::parse;

    fn round_trip(scenario: &Scenario) {
        let printed = scenario.to_string();
        let reparsed = parse(&printed, "printed.toml", &[])
            .unwrap_or_else(|error| panic!("{error}\nin:\n{printed}"));
        assert_eq!(&reparsed, scenario, "printed as:\n{printed}");
    }

    #[test]
    fn the_example_round_trips() {
        round_trip(&parse(EXAMPLE, "example.toml", &[]).unwrap());
    }

    #[test]
    fn every_variant_round_trips() {
        let variants: &[&[&str]] = &[
            &[
                "protocol.timing=async",
                "protocol.jitter_ms=250",
                "protocol.exchange=full-table",
                "network.latency={ dist = \"log-normal\", median_ms = 12.5, sigma = 0.3 }",
                "churn.start_round=3",
                "churn.stop_ms=150000",
                "churn.keep_state=false",
                "crashes.1.recover_after_ms=7",
                "crashes.1.keep_state=false",
                "workload.products=1000",
                "workload.updates=500",
                "workload.start_ms=1234",
                "workload.per_round=0.1",
                "workload.zipf=1.2",
                "workload.min_price=0",
                "workload.max_price=1e9",
                "sizes.header=0",
                "output.coverage=false",
                "updates.1={ product = \"we\\\"ird \\\\ n\\u00e4me\", price = 1e-7, origin = 999, at_ms = 199999 }",
            ],
            &[
                "network.latency={ dist = \"constant\", ms = 0 }",
                "workload.updates=3",
            ],
            &["network.latency={ dist = \"exponential\", mean_ms = 0.001 }"],
            &[
                "network.loss=1",
                "seed=18446744073709551615",
                "protocol.kind=pull",
            ],
            &[
                "protocol.kind=plumtree",
                "protocol.ihave_timeout=3",
                "overlay.kind=hyparview",
                "overlay.active_size=7",
                "overlay.prwl=0",
                "overlay.warmup_rounds=0",
            ],
            &["protocol.kind=rumor", "overlay.kind=hyparview"],
            &[
                "protocol.kind=rumor",
                "protocol.mode=pull",
                "protocol.removal=coin",
                "protocol.k=4",
                "protocol.anti_entropy_every=3",
                "protocol.exchange=full-table",
            ],
            &[
                "protocol.kind=median-counter",
                "protocol.ctr_max=5",
                "protocol.anti_entropy_every=2",
            ],
            &["protocol.kind=flood", "overlay.kind=hyparview"],
            &[
                "protocol.kind=plumtree",
                "overlay.kind=hyparview",
                "regions.0={ name = \"eu\", nodes = 700 }",
                "regions.1={ name = \"us\", nodes = 300 }",
            ],
            &[
                "protocol.kind=flood",
                "overlay.kind=k-regular",
                "overlay.degree=6",
            ],
            &["overlay.kind=k-out", "overlay.degree=999"],
            &["overlay.kind=erdos-renyi", "overlay.mean_degree=4.25"],
            &["overlay.kind=erdos-renyi", "overlay.p=0.001"],
            &[
                "protocol.timing=async",
                "regions.0={ name = \"eu\", nodes = 600 }",
                "regions.1={ name = \"us\", nodes = 300 }",
                "regions.2={ name = \"ap_1\", nodes = 100 }",
                "protocol.local_bias=0.8",
                "region_latency.us-eu={ dist = \"uniform\", min_ms = 80, max_ms = 120 }",
                "region_latency.ap_1-ap_1={ dist = \"constant\", ms = 2 }",
                "region_latency.eu-ap_1={ dist = \"log-normal\", median_ms = 150, sigma = 0.2 }",
            ],
            &[
                "regions.0={ name = \"only\", nodes = 1000 }",
                "protocol.local_bias=0",
            ],
            &["regions.0={ name = \"only\", nodes = 1000 }"],
        ];
        for overrides in variants {
            let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
            let scenario = parse(EXAMPLE, "example.toml", &overrides)
                .unwrap_or_else(|error| panic!("{error}"));
            round_trip(&scenario);
        }
    }

    #[test]
    fn prints_every_key_with_defaults() {
        let text =
            "name = \"m\"\nnodes = 4\n[protocol]\nkind = \"push\"\n[workload]\nupdates = 2\n";
        let printed = parse(text, "m.toml", &[]).unwrap().to_string();
        assert_eq!(
            printed,
            r#"name = "m"
seed = 0
nodes = 4
trials = 1
max_rounds = 1000

[protocol]
kind = "push"
fanout = 1
timing = "rounds"
period_ms = 1000
jitter_ms = 0

[network]
loss = 0.0
latency = { dist = "constant", ms = 50.0 }

[overlay]
kind = "full"

[workload]
products = 1
updates = 2
start_ms = 0
zipf = 1.0
min_price = 1.0
max_price = 1000.0

[sizes]
header = 32
entry = 24
digest_entry = 16

[output]
coverage = true
tables = false
"#
        );
    }

    #[test]
    fn floats_print_as_toml() {
        assert_eq!(toml_float(1.0), "1.0");
        assert_eq!(toml_float(0.1), "0.1");
        assert_eq!(toml_float(1e300), "1e300");
        assert_eq!(toml_float(f64::NAN), "nan");
        assert_eq!(toml_float(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn strings_print_on_one_line() {
        assert_eq!(toml_string("a\"b\\c\nd\u{1}"), r#""a\"b\\c\nd\u0001""#);
    }

    #[test]
    fn fractional_milliseconds_are_not_rounded() {
        assert_eq!(Ms(Time::from_micros(1500)).to_string(), "1.500");
        assert_eq!(Ms(Time::from_micros(2000)).to_string(), "2");
    }

    /// Values that are valid for the keys they go with, for random valid scenarios.
    const VALID_SETS: &[&str] = &[
        "seed=7",
        "trials=3",
        "max_rounds=500",
        "protocol.fanout=5",
        "protocol.kind=pull",
        "protocol.timing=async",
        "protocol.period_ms=333",
        "network.loss=0.123456789",
        "network.loss=0.3333333333333333",
        "network.latency={ dist = \"exponential\", mean_ms = 17.25 }",
        "network.latency={ dist = \"log-normal\", median_ms = 3, sigma = 2.5 }",
        "crashes.1.recover_after_ms=12",
        "crashes.0.keep_state=false",
        "crashes.1.nodes=[999, 0, 500]",
        "churn.crash_rate=0.000001",
        "churn.mean_downtime_ms=1",
        "churn.stop_round=150",
        "workload.updates=100",
        "workload.per_round=3.7",
        "workload.zipf=0.9",
        "workload.max_price=12345.678",
        "updates.0.price=0.1",
        "updates.0.product=\"Ünïcode ✓\"",
        "sizes.entry=100",
        "output.coverage=false",
        "name=a.b_c-d",
        "protocol.kind=flood",
        "overlay={ kind = \"k-regular\", degree = 4 }",
        "overlay={ kind = \"erdos-renyi\", mean_degree = 2.5 }",
        "regions.0={ name = \"all\", nodes = 1000 }",
    ];

    proptest! {
        #[test]
        fn valid_scenarios_round_trip(
            sets in prop::collection::vec(prop::sample::select(VALID_SETS), 0..8),
        ) {
            let overrides: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
            let scenario = parse(EXAMPLE, "example.toml", &overrides).unwrap();
            let printed = scenario.to_string();
            let reparsed = parse(&printed, "printed.toml", &[]);
            prop_assert_eq!(reparsed.as_ref().ok(), Some(&scenario), "{}", printed);
        }
    }
}
