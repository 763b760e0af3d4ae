//! Invariants of the engine as properties over random small scenarios (2 to 60 nodes, every
//! protocol, rounds and async timing, loss, crash plans with and without recovery, churn,
//! explicit and generated updates). A failing case prints its whole scenario, seed included.
//!
//! Checked through the public API only: `scenario::parse`, `protocol::run_trial` and the
//! `report` types.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use gossip_sim::protocol::run_trial;
use gossip_sim::report::{MessageKind, TrialReport};
use gossip_sim::scenario::{Catalog, Scenario, parse};
use gossip_sim::time::Time;
use proptest::prelude::*;
use proptest::test_runner::Config;
use rand::SeedableRng as _;
use rand::seq::SliceRandom as _;

use crate::specs::{self, Options, Spec};
use crate::support::{Snapshot, gossip_sim};

fn resolve(spec: &Spec, overrides: &[String]) -> Scenario {
    parse(&spec.toml(), "spec.toml", overrides).unwrap_or_else(|error| panic!("{error}"))
}

fn trial(scenario: &Scenario, trial: u32) -> TrialReport {
    run_trial(
        scenario,
        &Catalog::new(&scenario.workload),
        trial,
        &AtomicU64::new(0),
    )
}

/// `cases` per property, unless `PROPTEST_CASES` asks for another number (a longer hunt).
fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(cases),
        // The failing scenario is printed whole; no regression files in the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

const NO_CRASHES: Options = Options {
    crashes: false,
    ..Options::all()
};

/// Push-pull (and the other anti-entropy kinds) on a perfect network, with room to finish.
const PERFECT: Options = Options {
    kinds: specs::ANTI_ENTROPY,
    crashes: false,
    loss: false,
    min_rounds: 60,
    max_rounds: 120,
    last_injection_round: 15,
    bounds: false,
    ..Options::all()
};

/// The invariants every trial satisfies, whatever the scenario.
fn check_always(scenario: &Scenario, report: &TrialReport) -> Result<(), TestCaseError> {
    let run = &report.run;
    // Every message is accounted for.
    prop_assert_eq!(
        run.messages,
        run.delivered + run.lost + run.dropped_at_crashed + run.in_flight_at_end,
        "sent = delivered + lost + dropped at crashed + in flight: {:?}",
        run
    );
    prop_assert_eq!(
        run.messages_by_kind.iter().sum::<u64>(),
        run.messages,
        "messages by kind {:?}",
        MessageKind::ALL.map(MessageKind::column)
    );
    let horizon = Time(scenario.period.0 * u64::from(scenario.max_rounds));
    prop_assert!(
        run.end <= horizon,
        "ended at {:?} after {:?}",
        run.end,
        horizon
    );
    prop_assert!(run.alive_at_end <= u64::from(scenario.nodes));
    // The kinds that honour the bandwidth bounds never send over them.
    let honours = [
        "push",
        "pull",
        "push-pull",
        "scuttlebutt",
        "piggyback",
        "merkle",
        "sketch",
    ];
    if honours.contains(&scenario.protocol.kind.as_str()) {
        prop_assert_eq!(
            (run.oversize_messages, run.over_budget_messages),
            (0, 0),
            "over the bounds: {:?}",
            scenario.network
        );
    }

    // No node holds an update before its injection.
    for update in &report.updates {
        let u = update.update;
        for (what, at) in [
            ("reached_50", update.reached_50),
            ("reached_90", update.reached_90),
            ("reached_99", update.reached_99),
            ("reached_all", update.reached_all),
            ("last_delivery", update.last_delivery),
        ] {
            if let Some(at) = at {
                prop_assert!(
                    at >= update.injected_at,
                    "update {u}: {what} {at:?} before injection {:?}",
                    update.injected_at
                );
            }
        }
        prop_assert!(update.final_informed <= update.final_alive, "update {u}");
        if !update.injected {
            prop_assert_eq!(update.final_informed, 0, "update {} never injected", u);
            prop_assert_eq!(update.deliveries, 0, "update {} never injected", u);
        }
        if let Some(messages) = update.messages_to_all {
            prop_assert!(messages <= run.messages, "update {u}");
        }
    }
    for sample in &report.coverage {
        let update = &report.updates[sample.update as usize];
        prop_assert!(
            sample.at >= update.injected_at,
            "{sample:?} before injection"
        );
        prop_assert!(sample.informed <= sample.alive, "{sample:?}");
    }

    // No node holds a version that was never injected.
    let mut injected: BTreeMap<u32, Vec<(u32, f64)>> = BTreeMap::new();
    for update in report.updates.iter().filter(|u| u.injected) {
        injected
            .entry(update.product)
            .or_default()
            .push((update.version, update.price));
    }
    for entry in &report.tables {
        let versions = injected.get(&entry.product);
        prop_assert!(
            versions.is_some(),
            "tables.csv lists product {} that no injected update changed",
            entry.product
        );
        let versions = versions.unwrap();
        match entry.version {
            None | Some(0) => {}
            Some(v) => {
                let max = versions.iter().map(|(v, _)| *v).max().unwrap_or(0);
                prop_assert!(
                    v <= max,
                    "node {} holds version {v} of product {}, newer than the newest injected ({max})",
                    entry.node,
                    entry.product
                );
                let price = versions.iter().find(|(version, _)| *version == v);
                prop_assert!(
                    price.is_some(),
                    "node {} holds version {v} of product {}, which was never injected ({versions:?})",
                    entry.node,
                    entry.product
                );
                prop_assert_eq!(entry.price, Some(price.unwrap().1), "node {}", entry.node);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(1500))]

    #[test]
    fn every_message_is_accounted_for_and_nothing_precedes_its_injection(
        spec in specs::spec(Options::all()),
        which in 0u32..4,
    ) {
        let scenario = resolve(&spec, &[]);
        let t = which % scenario.trials;
        check_always(&scenario, &trial(&scenario, t))?;
    }

    #[test]
    fn without_crashes_coverage_never_decreases(spec in specs::spec(NO_CRASHES)) {
        let scenario = resolve(&spec, &[]);
        let report = trial(&scenario, 0);
        check_always(&scenario, &report)?;
        prop_assert_eq!(report.run.crashes, 0);
        let mut samples = report.coverage.clone();
        samples.sort_by_key(|s| (s.update, s.at));
        for pair in samples.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.update == b.update {
                prop_assert!(a.informed <= b.informed, "coverage fell: {a:?} then {b:?}");
                prop_assert_eq!(a.alive, b.alive);
            }
        }
    }
}

proptest! {
    #![proptest_config(config(500))]

    /// With no loss and no crashes, anti-entropy converges: every node ends with the newest
    /// injected version of every product, and every update reaches every node.
    #[test]
    fn anti_entropy_converges_on_a_perfect_network(spec in specs::spec(PERFECT)) {
        let scenario = resolve(&spec, &[]);
        let report = trial(&scenario, 0);
        check_always(&scenario, &report)?;
        // Poisson arrivals may, rarely, inject an update too close to the end to finish.
        let last = report.updates.iter().map(|u| u.injected_at).max().unwrap_or(Time::ZERO);
        let horizon = scenario.period.0 * u64::from(scenario.max_rounds);
        prop_assume!(last.0 + 30 * scenario.period.0 <= horizon);

        for update in &report.updates {
            prop_assert!(update.injected, "update {} not injected", update.update);
            prop_assert!(
                update.reached_all.is_some(),
                "update {} never reached everyone: {:?}", update.update, update
            );
            prop_assert_eq!(update.final_informed, update.final_alive, "update {}", update.update);
            prop_assert_eq!(update.final_alive, u64::from(scenario.nodes));
        }
        let mut newest: BTreeMap<u32, u32> = BTreeMap::new();
        for update in &report.updates {
            let v = newest.entry(update.product).or_default();
            *v = (*v).max(update.version);
        }
        prop_assert_eq!(report.tables.len(), newest.len() * scenario.nodes as usize);
        for entry in &report.tables {
            prop_assert!(entry.up);
            prop_assert_eq!(
                entry.version,
                Some(newest[&entry.product]),
                "node {} product {}", entry.node, entry.product
            );
        }
    }

    /// Trial i is the same whether the scenario has i + 1 trials or i + 5.
    #[test]
    fn a_trial_does_not_depend_on_the_number_of_trials(
        spec in specs::spec(Options::all()),
        i in 0u32..6,
    ) {
        let few = resolve(&spec, &[format!("trials={}", i + 1)]);
        let many = resolve(&spec, &[format!("trials={}", i + 5)]);
        prop_assert_eq!(trial(&few, i), trial(&many, i));
    }

    /// The resolved scenario printed as TOML, its sections and the keys within each shuffled,
    /// parses to the same scenario and gives the same trial. Arrays of tables keep their order:
    /// the order of updates and crashes means something.
    #[test]
    fn neither_scenario_nor_trial_depends_on_the_order_of_keys(
        spec in specs::spec(Options::all()),
        shuffle_seed in any::<u64>(),
    ) {
        let scenario = resolve(&spec, &[]);
        let shuffled = shuffle_sections(&scenario.to_string(), shuffle_seed);
        let reparsed = parse(&shuffled, "shuffled.toml", &[])
            .map_err(|e| TestCaseError::fail(format!("{e}\n{shuffled}")))?;
        prop_assert_eq!(&reparsed, &scenario, "shuffled:\n{}", shuffled);
        prop_assert_eq!(trial(&reparsed, 0), trial(&scenario, 0));
    }
}

/// `text` (as `Display for Scenario` prints it: blocks separated by blank lines, top-level keys
/// first) with its blocks and the lines within each shuffled.
fn shuffle_sections(text: &str, seed: u64) -> String {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut blocks: Vec<Vec<&str>> = text
        .split("\n\n")
        .map(|block| block.lines().filter(|l| !l.is_empty()).collect())
        .collect();
    for block in &mut blocks {
        let body = if block.first().is_some_and(|l| l.starts_with('[')) {
            &mut block[1..]
        } else {
            &mut block[..]
        };
        body.shuffle(&mut rng);
    }
    let (top, sections) = blocks.split_at_mut(1);
    let original: Vec<Vec<&str>> = sections.to_vec();
    sections.shuffle(&mut rng);
    // Put each array of tables back in its own order, in the slots it now occupies.
    for header in ["[[crashes]]", "[[updates]]"] {
        let mut in_order = original.iter().filter(|b| b[0] == header);
        for block in sections.iter_mut().filter(|b| b[0] == header) {
            *block = in_order.next().unwrap().clone();
        }
    }
    let mut out = top[0].join("\n");
    for block in sections.iter() {
        out.push_str("\n\n");
        out.push_str(&block.join("\n"));
    }
    out.push('\n');
    out
}

#[test]
fn shuffling_keeps_arrays_of_tables_in_order() {
    let text = "name = \"x\"\nseed = 1\n\n[protocol]\nkind = \"push\"\nfanout = 1\n\n[[updates]]\n\
                product = \"A\"\n\n[[updates]]\nproduct = \"B\"\n\n[output]\ncoverage = true\n";
    for seed in 0..20 {
        let shuffled = shuffle_sections(text, seed);
        let a = shuffled.find("\"A\"").unwrap();
        let b = shuffled.find("\"B\"").unwrap();
        assert!(a < b, "{shuffled}");
        assert!(shuffled.starts_with("name") || shuffled.starts_with("seed"));
        let mut lines: Vec<&str> = shuffled.lines().collect();
        let mut original: Vec<&str> = text.lines().collect();
        lines.sort();
        original.sort();
        assert_eq!(lines, original);
    }
}

/// The files of a run are byte-identical whatever the number of worker threads.
#[test]
fn output_files_do_not_depend_on_the_number_of_jobs() {
    let scenarios = [
        // Async push-pull with crashes, recovery, churn, loss, generated updates.
        "name = \"jobs-async\"\nseed = 5\nnodes = 40\ntrials = 7\nmax_rounds = 40\n\
         [protocol]\nkind = \"push-pull\"\ntiming = \"async\"\nperiod_ms = 200\njitter_ms = 50\n\
         [network]\nloss = 0.1\nlatency = { dist = \"log-normal\", median_ms = 20, sigma = 0.8 }\n\
         [[crashes]]\nat_round = 3\nfraction = 0.2\nrecover_after_rounds = 5\nkeep_state = false\n\
         [churn]\ncrash_rate = 0.02\nmean_downtime_rounds = 3\n\
         [workload]\nproducts = 4\nupdates = 12\nper_round = 2.0\n\
         [output]\ntables = true\n",
        // Lock-step rumor mongering with an explicit update and crash-stop.
        "name = \"jobs-rumor\"\nseed = 9\nnodes = 50\ntrials = 9\nmax_rounds = 60\n\
         [protocol]\nkind = \"rumor\"\nmode = \"push-pull\"\nk = 2\nanti_entropy_every = 5\n\
         [[crashes]]\nat_round = 2\nnodes = [1, 2, 3]\n\
         [[updates]]\nproduct = \"P1\"\nprice = 9.5\norigin = 0\n\
         [workload]\nupdates = 5\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    for text in scenarios {
        let scenario = dir.path().join("s.toml");
        std::fs::write(&scenario, text).unwrap();
        let mut outputs = Vec::new();
        for jobs in ["1", "2"] {
            let out = dir.path().join(format!("out-{jobs}"));
            gossip_sim()
                .arg("run")
                .arg(&scenario)
                .args(["--quiet", "--jobs", jobs, "--out"])
                .arg(&out)
                .assert()
                .success();
            outputs.push(Snapshot::of(&out));
            std::fs::remove_dir_all(&out).unwrap();
        }
        assert!(outputs[0].files() >= 3, "{text}");
        assert!(
            outputs[0] == outputs[1],
            "--jobs 1 and --jobs 2 differ: {}",
            outputs[0].diff(&outputs[1])
        );
    }
}
