//! Engine tests on hand-built scenarios: exact numbers for tiny fixed-seed cases and invariants.

use std::sync::atomic::AtomicU64;

use crate::report::TrialReport;
use crate::scenario::*;
use crate::time::Time;

use super::run_trial;

pub fn scenario(kind: ProtocolKind, nodes: u32) -> Scenario {
    Scenario {
        name: "t".into(),
        seed: 1,
        nodes,
        trials: 1,
        max_rounds: 500,
        protocol: Protocol {
            kind,
            fanout: 1,
            exchange: ExchangeMode::Digest,
        },
        timing: Timing::Rounds,
        period: Time::from_millis(1000),
        network: Network {
            loss: 0.0,
            latency: Latency::Uniform {
                min_ms: 10.0,
                max_ms: 100.0,
            },
        },
        crashes: vec![],
        churn: None,
        workload: Workload {
            products: 1,
            explicit: vec![ExplicitUpdate {
                product: "P001".into(),
                price: 99.99,
                origin: 0,
                at: Time::ZERO,
            }],
            generated: None,
        },
        sizes: SizeModel::default(),
        output: OutputOptions {
            coverage: true,
            tables: false,
        },
    }
}

pub fn run(s: &Scenario, trial: u32) -> TrialReport {
    run_trial(s, &Catalog::new(&s.workload), trial, &AtomicU64::new(0))
}

fn mean_rounds_to_all(s: &Scenario, trials: u32) -> f64 {
    let mut sum = 0.0;
    for t in 0..trials {
        let r = run(s, t);
        let u = &r.updates[0];
        let all = u.reached_all.expect("completes");
        sum += (all.0 - u.injected_at.0) as f64 / s.period.0 as f64;
    }
    sum / f64::from(trials)
}

#[test]
fn print_means() {
    for kind in [
        ProtocolKind::Push,
        ProtocolKind::Pull,
        ProtocolKind::PushPull,
    ] {
        let s = scenario(kind, 1000);
        eprintln!(
            "{:?} n=1000 mean rounds_to_all {}",
            kind,
            mean_rounds_to_all(&s, 200)
        );
        let mut a = s.clone();
        a.timing = Timing::Async { jitter: Time::ZERO };
        eprintln!("{:?} async mean {}", kind, mean_rounds_to_all(&a, 50));
    }
}

#[test]
fn three_node_push_pull_reaches_everyone() {
    let s = scenario(ProtocolKind::PushPull, 3);
    let r = run(&s, 0);
    eprintln!("{:#?}", r);
    let u = &r.updates[0];
    assert_eq!(u.final_informed, 3);
    assert!(u.reached_all.is_some());
}

#[test]
#[ignore]
fn timing_probe() {
    for (n, timing) in [
        (1_000_000, Timing::Rounds),
        (1_000_000, Timing::Async { jitter: Time::ZERO }),
    ] {
        let mut s = scenario(ProtocolKind::PushPull, n);
        s.timing = timing;
        s.output.coverage = false;
        let t = std::time::Instant::now();
        let r = run(&s, 0);
        eprintln!(
            "n={n} {:?}: {:?} end={} events={} msgs={}",
            timing,
            t.elapsed(),
            r.run.end.0 / s.period.0,
            r.run.events,
            r.run.messages
        );
    }
}
