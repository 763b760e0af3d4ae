//! Helpers shared by the integration tests: run scenarios through the library, summarise.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use gossip_sim::protocol::run_trial;
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

/// The header of `runs.csv`.
pub const RUNS_HEADER: &str = "scenario,trial,seed,nodes,rounds,messages,push_messages,\
pull_requests,pull_replies,exchange_opens,exchange_replies,exchange_closes,bytes,delivered,lost,\
dropped_at_crashed,in_flight_at_end,crashes,recoveries,stale_node_rounds,alive_at_end,\
gossip_messages,ihave_messages,graft_messages,prune_messages,membership_messages,warmup_messages,\
deferred_entries,never_sent_entries,oversize_messages,over_budget_messages,bytes_per_delivery";

/// Every file and folder under a directory, with the files' contents: two snapshots are equal
/// when nothing was created, removed or changed (hidden temporary files included).
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot(BTreeMap<PathBuf, Option<Vec<u8>>>);

impl Snapshot {
    pub fn of(root: &Path) -> Snapshot {
        fn walk(root: &Path, dir: &Path, into: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                if path.is_dir() {
                    into.insert(relative, None);
                    walk(root, &path, into);
                } else if path.is_file() {
                    into.insert(relative, Some(std::fs::read(&path).unwrap_or_default()));
                } else {
                    // A named pipe or a device: reading it could block; its presence is kept.
                    into.insert(relative, Some(b"<not a regular file>".to_vec()));
                }
            }
        }
        let mut entries = BTreeMap::new();
        walk(root, root, &mut entries);
        Snapshot(entries)
    }

    /// The number of files (not folders).
    pub fn files(&self) -> usize {
        self.0.values().filter(|content| content.is_some()).count()
    }

    /// What changed from `self` to `after`, for a failure message.
    pub fn diff(&self, after: &Snapshot) -> String {
        let mut changes = Vec::new();
        for (path, content) in &after.0 {
            match self.0.get(path) {
                None => changes.push(format!("created {}", path.display())),
                Some(before) if before != content => {
                    changes.push(format!("changed {}", path.display()))
                }
                Some(_) => {}
            }
        }
        for path in self.0.keys().filter(|path| !after.0.contains_key(*path)) {
            changes.push(format!("removed {}", path.display()));
        }
        changes.join(", ")
    }
}
