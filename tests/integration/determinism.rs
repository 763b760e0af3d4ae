//! Determinism, the first property: same scenario and seed, same bytes; another seed, other
//! bytes; any number of threads, same bytes.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

fn run(scenario: &Path, out: &Path, extra: &[&str]) {
    Command::cargo_bin("gossip-sim")
        .unwrap()
        .arg("run")
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .assert()
        .success();
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            (
                e.file_name().into_string().unwrap(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

/// A scenario that exercises every random stream: loss, crashes with recovery and state loss,
/// churn, generated updates with random origins, async timing with jitter and log-normal
/// latency.
const BUSY: &str = r#"
name = "busy"
seed = 99
nodes = 300
trials = 6
max_rounds = 60
[protocol]
kind = "push-pull"
timing = "async"
jitter_ms = 200
[network]
loss = 0.05
latency = { dist = "log-normal", median_ms = 40, sigma = 0.5 }
[[crashes]]
at_round = 3
fraction = 0.2
recover_after_rounds = 5
keep_state = false
[churn]
crash_rate = 0.01
mean_downtime_rounds = 4
stop_round = 30
[workload]
products = 20
updates = 40
per_round = 2.0
"#;

#[test]
fn same_seed_gives_identical_bytes_and_another_seed_differs() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("busy.toml");
    fs::write(&scenario, BUSY).unwrap();
    for timing in ["async", "rounds"] {
        let set = format!("protocol.timing={timing}");
        let jitter = if timing == "rounds" {
            "protocol.jitter_ms=0"
        } else {
            "protocol.jitter_ms=200"
        };
        let a = dir.path().join(format!("a-{timing}"));
        let b = dir.path().join(format!("b-{timing}"));
        let c = dir.path().join(format!("c-{timing}"));
        run(&scenario, &a, &["--set", &set, "--set", jitter]);
        run(&scenario, &b, &["--set", &set, "--set", jitter]);
        run(
            &scenario,
            &c,
            &["--set", &set, "--set", jitter, "--seed", "100"],
        );
        assert_eq!(files(&a), files(&b), "{timing}: same seed, different bytes");
        let (fa, fc) = (files(&a), files(&c));
        for ((name, x), (_, y)) in fa.iter().zip(&fc) {
            assert_ne!(x, y, "{timing}: {name} identical under another seed");
        }
    }
}

#[test]
fn thread_count_does_not_change_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("busy.toml");
    fs::write(&scenario, BUSY).unwrap();
    let one = dir.path().join("one");
    let many = dir.path().join("many");
    run(&scenario, &one, &["--jobs", "1"]);
    run(&scenario, &many, &["--jobs", "4"]);
    assert_eq!(files(&one), files(&many));
}

#[test]
fn a_trial_does_not_depend_on_how_many_trials_run() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("busy.toml");
    fs::write(&scenario, BUSY).unwrap();
    let few = dir.path().join("few");
    let more = dir.path().join("more");
    run(&scenario, &few, &["--trials", "2"]);
    run(&scenario, &more, &["--trials", "6"]);
    let rows = |dir: &Path| -> Vec<String> {
        fs::read_to_string(dir.join("updates.csv"))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("busy,0,") || l.starts_with("busy,1,"))
            .map(str::to_string)
            .collect()
    };
    assert!(!rows(&few).is_empty());
    assert_eq!(rows(&few), rows(&more));
}
