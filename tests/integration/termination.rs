//! Every run ends: an update that can never reach everyone runs to max_rounds and reports an
//! empty rounds_to_all with its residue; a scenario whose every node crashes ends cleanly and
//! says so; the longest run the validator allows ends in about a second.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::support::gossip_sim;

/// The rows of a CSV file, each a map from column to value.
type Rows = Vec<BTreeMap<String, String>>;

/// Runs `scenario` through the binary (exit 0 within a minute) and returns stdout and the
/// output folder's `updates.csv` and `runs.csv`.
fn run(scenario: &str) -> (String, Rows, Rows) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, scenario).unwrap();
    let out = dir.path().join("out");
    let output = gossip_sim()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}\n{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
    (
        stdout,
        rows(&out.join("updates.csv")),
        rows(&out.join("runs.csv")),
    )
}

/// The cells after the metric of one row of the summary table on stdout.
fn summary_row<'s>(stdout: &'s str, metric: &str) -> Vec<&'s str> {
    let line = stdout
        .lines()
        .find(|line| line.split_whitespace().next() == Some(metric))
        .unwrap_or_else(|| panic!("no {metric} row in:\n{stdout}"));
    line.split_whitespace().skip(1).collect()
}

fn rows(path: &Path) -> Rows {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|record| {
            let record = record.unwrap();
            header
                .iter()
                .zip(record.iter())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn updates_section(kind: &str, timing: &str) -> String {
    format!(
        "[protocol]\nkind = \"{kind}\"\ntiming = \"{timing}\"\nperiod_ms = 100\n\
         [[updates]]\nproduct = \"P1\"\nprice = 1.0\norigin = 0\nat_round = 2\n"
    )
}

#[test]
fn an_update_lost_on_every_message_ends_at_max_rounds_with_its_residue() {
    for (kind, timing) in [
        ("push", "rounds"),
        ("pull", "rounds"),
        ("push-pull", "async"),
    ] {
        let scenario = format!(
            "name = \"lossy\"\nnodes = 20\ntrials = 3\nmax_rounds = 30\n[network]\nloss = 1.0\n{}",
            updates_section(kind, timing)
        );
        let (stdout, updates, runs) = run(&scenario);
        assert_eq!(updates.len(), 3, "{kind} {timing}");
        for update in &updates {
            assert_eq!(update["rounds_to_all"], "", "{kind} {timing}: {update:?}");
            assert_eq!(update["time_to_all_ms"], "", "{kind} {timing}");
            assert_eq!(update["coverage"], "0.05", "{kind} {timing}");
            assert_eq!(update["residue"], "0.95", "{kind} {timing}");
        }
        for trial in &runs {
            assert_eq!(trial["rounds"], "30", "{kind} {timing}: ran to max_rounds");
            assert_eq!(trial["delivered"], "0", "{kind} {timing}");
            assert_eq!(trial["lost"], trial["messages"], "{kind} {timing}");
        }
        assert_eq!(
            summary_row(&stdout, "reached_all")[..2],
            ["3", "0"],
            "{stdout}"
        );
        assert!(!stdout.contains("all nodes down"), "{stdout}");
    }
}

/// The origin crash-stops in the round the update is injected, before anyone else has it: the
/// update is gone, yet live nodes lack it, so nothing retires it and the run ends at max_rounds.
#[test]
fn an_update_whose_only_holder_crashes_ends_at_max_rounds_with_residue_one() {
    for kind in ["push", "push-pull"] {
        let scenario = format!(
            "name = \"stranded\"\nnodes = 10\nmax_rounds = 25\n[[crashes]]\nat_round = 2\nnodes = [0]\n{}",
            updates_section(kind, "rounds")
        );
        let (_, updates, runs) = run(&scenario);
        let update = &updates[0];
        assert_eq!(update["injected_round"], "2", "{kind}");
        assert_eq!(update["rounds_to_all"], "", "{kind}: {update:?}");
        assert_eq!(update["coverage"], "0", "{kind}");
        assert_eq!(update["residue"], "1", "{kind}");
        assert_eq!(runs[0]["rounds"], "25", "{kind}");
        assert_eq!(runs[0]["alive_at_end"], "9", "{kind}");
    }
}

#[test]
fn a_scenario_whose_every_node_crashes_ends_cleanly_and_says_so() {
    for (kind, timing) in [
        ("push-pull", "rounds"),
        ("pull", "async"),
        ("rumor", "rounds"),
    ] {
        let scenario = format!(
            "name = \"blackout\"\nnodes = 30\ntrials = 2\nmax_rounds = 200\n\
             [[crashes]]\nat_round = 4\nfraction = 1.0\n{}",
            updates_section(kind, timing)
        );
        let (stdout, updates, runs) = run(&scenario);
        assert!(
            stdout.contains("\nall nodes down: every node had crashed by the end of every trial\n"),
            "{kind} {timing}: {stdout}"
        );
        for trial in &runs {
            assert_eq!(trial["alive_at_end"], "0", "{kind} {timing}");
            assert_eq!(trial["crashes"], "30", "{kind} {timing}");
            // It stops once nobody is left, not at max_rounds.
            let rounds: f64 = trial["rounds"].parse().unwrap();
            assert!(rounds <= 6.0, "{kind} {timing}: ran {rounds} rounds");
        }
        for update in &updates {
            assert_eq!(update["coverage"], "0", "{kind} {timing}");
            assert_eq!(update["residue"], "1", "{kind} {timing}");
        }
    }
}

/// Every node crash-stops before the only update is due: the update is never injected (its
/// origin is down), and the run ends once nothing is left to happen.
#[test]
fn every_node_crashing_before_the_first_update_still_ends() {
    let scenario = "name = \"dark\"\nnodes = 5\nmax_rounds = 1000\n\
                    [protocol]\nkind = \"push\"\n\
                    [[crashes]]\nat_round = 0\nnodes = [0, 1, 2, 3, 4]\n\
                    [[updates]]\nproduct = \"P1\"\nprice = 1.0\norigin = 3\nat_round = 500\n";
    let (stdout, updates, runs) = run(scenario);
    assert!(stdout.contains("all nodes down"), "{stdout}");
    assert_eq!(
        summary_row(&stdout, "reached_all")[..2],
        ["1", "0"],
        "{stdout}"
    );
    assert_eq!(updates[0]["rounds_to_all"], "");
    assert_eq!(updates[0]["residue"], "1");
    // The injection at round 500 is still pending, so the run lasts until it has happened.
    assert_eq!(runs[0]["rounds"], "501");
}

/// max_rounds at the validator's limit, on a network that loses everything: ten million rounds
/// of two nodes take about a second, not forever.
#[test]
fn the_longest_run_allowed_ends() {
    let scenario = "name = \"long\"\nnodes = 2\nmax_rounds = 10000000\n\
                    [protocol]\nkind = \"push\"\n[network]\nloss = 1.0\n\
                    [[updates]]\nproduct = \"P1\"\nprice = 1.0\norigin = 0\n\
                    [output]\ncoverage = false\n";
    let (_, updates, runs) = run(scenario);
    assert_eq!(runs[0]["rounds"], "10000000");
    assert_eq!(updates[0]["rounds_to_all"], "");
    assert_eq!(updates[0]["residue"], "0.5");
}
