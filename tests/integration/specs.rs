//! Random small valid scenarios, as proptest strategies: the input of the invariant properties
//! and the starting point of most fuzzed documents.
//!
//! A [`Spec`] prints (with `{:?}`) as the scenario file it stands for, so a failing property
//! shows the whole scenario, seed included, ready to save and re-run.

use std::fmt;

use proptest::prelude::*;

/// What a strategy may draw.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Protocol kinds to choose from.
    pub kinds: &'static [&'static str],
    /// Crash plans and churn.
    pub crashes: bool,
    /// Message loss.
    pub loss: bool,
    /// Range of `max_rounds`.
    pub min_rounds: u32,
    pub max_rounds: u32,
    /// Async timing as well as rounds.
    pub any_timing: bool,
    /// Latest round of an explicit update, or of the start of generated ones.
    pub last_injection_round: u32,
    /// Sometimes a message size limit and a send budget (`[network]`).
    pub bounds: bool,
}

pub const ANTI_ENTROPY: &[&str] = &[
    "push",
    "pull",
    "push-pull",
    "scuttlebutt",
    "merkle",
    "sketch",
];
pub const EVERY_KIND: &[&str] = &[
    "push",
    "pull",
    "push-pull",
    "rumor",
    "median-counter",
    "scuttlebutt",
    "piggyback",
    "merkle",
    "sketch",
];

impl Options {
    pub const fn all() -> Options {
        Options {
            kinds: EVERY_KIND,
            crashes: true,
            loss: true,
            min_rounds: 20,
            max_rounds: 120,
            any_timing: true,
            last_injection_round: 60,
            bounds: true,
        }
    }
}

#[derive(Clone)]
pub struct Spec {
    pub name: String,
    pub seed: u64,
    pub nodes: u32,
    pub trials: u32,
    pub max_rounds: u32,
    pub kind: &'static str,
    pub fanout: u32,
    pub exchange: &'static str,
    /// Extra `[protocol]` lines of rumor mongering and median-counter.
    pub kind_keys: Vec<String>,
    pub period_ms: u32,
    /// `Some(jitter_ms)`: async timing.
    pub jitter_ms: Option<u32>,
    pub loss: f64,
    /// `network.max_message_bytes` and `network.budget_bytes_per_period`, when bounded.
    pub bounds: Option<(u64, Option<u64>)>,
    /// An inline latency table.
    pub latency: String,
    pub crashes: Vec<Crash>,
    pub churn: Option<Churn>,
    pub updates: Vec<Update>,
    pub generated: Option<Generated>,
    pub coverage: bool,
    pub tables: bool,
}

#[derive(Clone, Debug)]
pub struct Crash {
    pub at_round: u32,
    /// Either a fraction or a list of node ids.
    pub target: Result<f64, Vec<u32>>,
    pub recover_after_rounds: Option<u32>,
    pub keep_state: bool,
}

#[derive(Clone, Debug)]
pub struct Churn {
    pub crash_rate: f64,
    pub mean_downtime_rounds: u32,
    pub keep_state: bool,
}

#[derive(Clone, Debug)]
pub struct Update {
    pub product: &'static str,
    pub price: f64,
    pub origin: u32,
    pub at_round: u32,
}

#[derive(Clone, Debug)]
pub struct Generated {
    pub products: u32,
    pub count: u32,
    pub start_round: u32,
    pub per_round: Option<f64>,
    pub zipf: f64,
}

impl Spec {
    pub fn toml(&self) -> String {
        let mut t = format!(
            "name = \"{}\"\nseed = {}\nnodes = {}\ntrials = {}\nmax_rounds = {}\n\n[protocol]\n\
             kind = \"{}\"\nfanout = {}\nperiod_ms = {}\n",
            self.name,
            self.seed,
            self.nodes,
            self.trials,
            self.max_rounds,
            self.kind,
            self.fanout,
            self.period_ms
        );
        // Only push-pull has an exchange mode of its own.
        if self.kind == "push-pull" {
            t += &format!("exchange = \"{}\"\n", self.exchange);
        }
        for line in &self.kind_keys {
            t += &format!("{line}\n");
        }
        if let Some(jitter) = self.jitter_ms {
            t += &format!("timing = \"async\"\njitter_ms = {jitter}\n");
        }
        t += &format!(
            "\n[network]\nloss = {:?}\nlatency = {}\n",
            self.loss, self.latency
        );
        if let Some((mtu, budget)) = self.bounds {
            t += &format!("max_message_bytes = {mtu}\n");
            if let Some(budget) = budget {
                t += &format!("budget_bytes_per_period = {budget}\n");
            }
        }
        for crash in &self.crashes {
            t += &format!("\n[[crashes]]\nat_round = {}\n", crash.at_round);
            match &crash.target {
                Ok(fraction) => t += &format!("fraction = {fraction:?}\n"),
                Err(nodes) => t += &format!("nodes = {nodes:?}\n"),
            }
            if let Some(after) = crash.recover_after_rounds {
                t += &format!("recover_after_rounds = {after}\n");
            }
            t += &format!("keep_state = {}\n", crash.keep_state);
        }
        if let Some(churn) = &self.churn {
            t += &format!(
                "\n[churn]\ncrash_rate = {:?}\nmean_downtime_rounds = {}\nkeep_state = {}\n",
                churn.crash_rate, churn.mean_downtime_rounds, churn.keep_state
            );
        }
        for update in &self.updates {
            t += &format!(
                "\n[[updates]]\nproduct = \"{}\"\nprice = {:?}\norigin = {}\nat_round = {}\n",
                update.product, update.price, update.origin, update.at_round
            );
        }
        if let Some(g) = &self.generated {
            t += &format!(
                "\n[workload]\nproducts = {}\nupdates = {}\nstart_round = {}\nzipf = {:?}\n",
                g.products, g.count, g.start_round, g.zipf
            );
            if let Some(per_round) = g.per_round {
                t += &format!("per_round = {per_round:?}\n");
            }
        }
        t += &format!(
            "\n[output]\ncoverage = {}\ntables = {}\n",
            self.coverage, self.tables
        );
        t
    }
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\n{}", self.toml())
    }
}

const PRODUCTS: &[&str] = &["P1", "P2", "P3", "P000001"];

fn latency() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..200).prop_map(|ms| format!("{{ dist = \"constant\", ms = {ms} }}")),
        (0u32..100, 0u32..300).prop_map(|(a, b)| format!(
            "{{ dist = \"uniform\", min_ms = {}, max_ms = {} }}",
            a.min(b),
            a.max(b)
        )),
        (1u32..150).prop_map(|mean| format!("{{ dist = \"exponential\", mean_ms = {mean} }}")),
        (1u32..100, 0.0..1.5f64).prop_map(|(median, sigma)| format!(
            "{{ dist = \"log-normal\", median_ms = {median}, sigma = {sigma:?} }}"
        )),
    ]
}

fn kind_keys(kind: &'static str) -> BoxedStrategy<Vec<String>> {
    match kind {
        "rumor" => (
            prop::sample::select(&["push", "pull", "push-pull"][..]),
            prop::sample::select(&["feedback", "blind"][..]),
            prop::sample::select(&["counter", "coin"][..]),
            1u32..5,
            prop::option::of(1u32..8),
        )
            .prop_map(|(mode, termination, removal, k, every)| {
                let mut keys = vec![
                    format!("mode = \"{mode}\""),
                    format!("termination = \"{termination}\""),
                    format!("removal = \"{removal}\""),
                    format!("k = {k}"),
                ];
                keys.extend(every.map(|e| format!("anti_entropy_every = {e}")));
                keys
            })
            .boxed(),
        "median-counter" => (prop::option::of(1u32..6), prop::option::of(1u32..8))
            .prop_map(|(ctr_max, every)| {
                let mut keys: Vec<String> = ctr_max
                    .map(|c| format!("ctr_max = {c}"))
                    .into_iter()
                    .collect();
                keys.extend(every.map(|e| format!("anti_entropy_every = {e}")));
                keys
            })
            .boxed(),
        _ => Just(Vec::new()).boxed(),
    }
}

/// A random small scenario that passes validation.
pub fn spec(options: Options) -> impl Strategy<Value = Spec> {
    (
        2u32..=60,
        options.min_rounds..=options.max_rounds,
        prop::sample::select(options.kinds),
        any::<bool>(),
    )
        .prop_flat_map(move |(nodes, max_rounds, kind, want_async)| {
            // Rumor mongering and median-counter are defined per round.
            let is_async =
                want_async && options.any_timing && !matches!(kind, "rumor" | "median-counter");
            let last = options.last_injection_round.min(max_rounds - 1);
            let crash = (
                0..max_rounds,
                prop_oneof![
                    (0.0..=1.0f64).prop_map(Ok),
                    prop::collection::btree_set(0..nodes, 1..=(nodes as usize).min(5))
                        .prop_map(|ids| Err(ids.into_iter().collect())),
                ],
                prop::option::of(1u32..20),
                any::<bool>(),
            )
                .prop_map(
                    |(at_round, target, recover_after_rounds, keep_state)| Crash {
                        at_round,
                        target,
                        recover_after_rounds,
                        keep_state,
                    },
                );
            let churn = (0.0..0.2f64, 1u32..10, any::<bool>()).prop_map(
                |(crash_rate, mean_downtime_rounds, keep_state)| Churn {
                    crash_rate,
                    mean_downtime_rounds,
                    keep_state,
                },
            );
            let update = (
                prop::sample::select(PRODUCTS),
                (0u32..100_000).prop_map(|cents| f64::from(cents) / 100.0),
                0..nodes,
                0..=last,
            )
                .prop_map(|(product, price, origin, at_round)| Update {
                    product,
                    price,
                    origin,
                    at_round,
                });
            let generated = (
                1u32..5,
                prop_oneof![4 => 1u32..12, 1 => 60u32..160],
                0..=last,
                prop::option::of(1.0..6.0f64),
                0.0..2.0f64,
            )
                .prop_map(
                    |(products, count, start_round, per_round, zipf)| Generated {
                        products,
                        count,
                        start_round,
                        per_round,
                        zipf,
                    },
                );
            let faults = options.crashes;
            let bounded = options.bounds;
            let bounds = prop::option::weighted(
                if bounded { 0.3 } else { f64::MIN_POSITIVE },
                (
                    prop::sample::select(&[64u64, 100, 200, 1400][..]),
                    prop::option::of(prop::sample::select(&[200u64, 600, 3000][..])),
                ),
            )
            .prop_map(move |b| b.filter(|_| bounded));
            (
                (any::<u64>(), 1u32..4, bounds),
                1..=(nodes - 1).min(3),
                prop::sample::select(&["digest", "full-table"][..]),
                kind_keys(kind),
                prop::sample::select(&[100u32, 250, 1000][..]),
                prop::option::of(0u32..50).prop_map(move |j| j.filter(|_| is_async)),
                if options.loss {
                    (0.0..0.5f64).boxed()
                } else {
                    Just(0.0).boxed()
                },
                latency(),
                prop::collection::vec(crash, if faults { 0..4 } else { 0..1 }),
                prop::option::weighted(if faults { 0.3 } else { f64::MIN_POSITIVE }, churn)
                    .prop_map(move |c| c.filter(|_| faults)),
                prop::collection::vec(update, 0..6),
                prop::option::of(generated),
            )
                .prop_map(
                    move |(
                        (seed, trials, bounds),
                        fanout,
                        exchange,
                        kind_keys,
                        period_ms,
                        jitter,
                        loss,
                        latency,
                        crashes,
                        churn,
                        mut updates,
                        generated,
                    )| {
                        let jitter_ms = if is_async {
                            // Async timing: the jitter must stay below the period.
                            Some(jitter.unwrap_or(0).min(period_ms - 1))
                        } else {
                            None
                        };
                        if updates.is_empty() && generated.is_none() {
                            updates.push(Update {
                                product: "P1",
                                price: 1.0,
                                origin: 0,
                                at_round: 0,
                            });
                        }
                        Spec {
                            name: "prop".into(),
                            seed,
                            nodes,
                            trials,
                            max_rounds,
                            kind,
                            fanout,
                            // A full table never fits a bounded message: refused under bounds.
                            exchange: if bounds.is_some() { "digest" } else { exchange },
                            kind_keys,
                            period_ms,
                            jitter_ms,
                            loss,
                            bounds,
                            latency,
                            crashes,
                            churn,
                            updates,
                            generated,
                            coverage: true,
                            tables: true,
                        }
                    },
                )
        })
}
