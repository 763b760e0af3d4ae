//! Helpers shared by the integration tests: run scenarios through the library, summarise.

use std::sync::atomic::AtomicU64;

use gossip_sim::engine::run_trial;
use gossip_sim::report::TrialReport;
use gossip_sim::scenario::{Catalog, Scenario, parse};

/// Parses a scenario document (panicking with the error: the test's own input is wrong).
pub fn scenario(toml: &str) -> Scenario {
    parse(toml, "test.toml", &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs trials `0..trials` of `s`.
pub fn trials(s: &Scenario, trials: u32) -> Vec<TrialReport> {
    let catalog = Catalog::new(&s.workload);
    (0..trials)
        .map(|t| run_trial(s, &catalog, t, &AtomicU64::new(0)))
        .collect()
}

/// Rounds after injection until update `u` reached every live node, per trial (panics, naming
/// the trial's seed, if one never completed).
pub fn rounds_to_all(s: &Scenario, reports: &[TrialReport], u: usize) -> Vec<f64> {
    reports
        .iter()
        .map(|r| {
            let update = &r.updates[u];
            let all = update.reached_all.unwrap_or_else(|| {
                panic!(
                    "trial {} (seed {}) never reached all live nodes",
                    r.trial, r.seed
                )
            });
            (all.0 - update.injected_at.0) as f64 / s.period.0 as f64
        })
        .collect()
}

pub fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Standard error of the mean.
pub fn sem(xs: &[f64]) -> f64 {
    let m = mean(xs);
    let var = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() as f64 - 1.0);
    (var / xs.len() as f64).sqrt()
}

/// A one-update lock-step scenario.
pub fn basic(kind: &str, nodes: u32, loss: f64, seed: u64) -> Scenario {
    scenario(&format!(
        r#"
name = "lit"
seed = {seed}
nodes = {nodes}
max_rounds = 1000
[protocol]
kind = "{kind}"
[network]
loss = {loss}
[[updates]]
product = "P1"
price = 1.0
origin = 0
[output]
coverage = false
"#
    ))
}

/// The gossip-sim binary under test.
pub fn gossip_sim() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("gossip-sim").unwrap()
}

/// Its path, for a child process the test kills.
pub fn gossip_sim_path() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("gossip-sim")
}

/// Every file of an output folder (hidden ones too) with its text, sorted by name, so two
/// folders compare byte for byte.
pub fn files(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let text =
                std::fs::read_to_string(entry.path()).unwrap_or_else(|err| panic!("{name}: {err}"));
            (name, text)
        })
        .collect();
    files.sort();
    files
}
