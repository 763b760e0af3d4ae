//! Sweeps from the command line: the grid in the output, thread-count independence, the
//! determinism check, and clear errors for bad sweeps.

use std::path::Path;

use crate::support::{files, gossip_sim};

/// 2 protocols x 3 sizes, 3 trials each: small enough for a debug build.
pub const GRID: &str = r#"
name = "grid"
seed = 11
nodes = 100
trials = 3
[protocol]
kind = "push"
[[updates]]
product = "P1"
price = 1.0
origin = 0
[sweep]
"protocol.kind" = ["push", "push-pull"]
nodes = { from = 100, to = 400, step = 150 }
"#;

pub fn write_scenario(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn every_row_carries_its_point_and_one_thread_matches_two() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "grid.toml", GRID);
    for jobs in ["1", "2"] {
        gossip_sim()
            .arg("run")
            .arg(&scenario)
            .args(["--out", &format!("out-{jobs}"), "--jobs", jobs, "--quiet"])
            .current_dir(dir.path())
            .assert()
            .success();
    }
    let one = files(&dir.path().join("out-1"));
    assert_eq!(one, files(&dir.path().join("out-2")));
    let names: Vec<&str> = one.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "coverage.csv",
            "run.toml",
            "runs.csv",
            "scenario.resolved.toml",
            "summary.csv",
            "updates.csv"
        ]
    );
    let runs = &one[2].1;
    let mut lines = runs.lines();
    // Schema 3: the parameter columns after scenario,trial,seed; both swept keys are among them.
    assert!(
        lines.next().unwrap().starts_with(
            "scenario,trial,seed,point,nodes,protocol_kind,protocol_fanout,protocol_timing,\
             protocol_period_ms,network_loss,overlay_kind,rounds,"
        ),
        "{runs}"
    );
    // 6 points x 3 trials, in (point, trial) order.
    let order: Vec<String> = lines
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            format!("{}:{}:{}:{}", cells[3], cells[5], cells[4], cells[1])
        })
        .collect();
    assert_eq!(order.len(), 18);
    assert_eq!(order[0], "0:push:100:0");
    assert_eq!(order[4], "1:push:250:1");
    assert_eq!(order[17], "5:push-pull:400:2");
    let summary = &one[4].1;
    assert_eq!(summary.lines().count(), 1 + 6 * 15);
}

#[test]
fn the_determinism_check_passes_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "grid.toml", GRID);
    let output = gossip_sim()
        .arg("run")
        .arg(&scenario)
        .args(["--check-determinism", "--jobs", "2", "--quiet"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("determinism check passed: 6 files,"),
        "{stdout}"
    );
    assert!(stdout.contains("--jobs 1 and --jobs 2"), "{stdout}");
    assert!(!dir.path().join("results").exists());
}

#[test]
fn bad_sweeps_exit_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let base = GRID.split("[sweep]").next().unwrap();
    for (sweep, wanted) in [
        ("nodes = []", "sweep.nodes = []: must not be an empty list"),
        (
            "\"network.loss\" = { from = 0.0, to = 0.5, step = 0 }",
            "`step` = 0: must be greater than 0",
        ),
        (
            "nodes = { from = 100, to = 1000, times = 1 }",
            "`times` = 1: must be at least 2",
        ),
        ("\"protocl.kind\" = [\"push\"]", "unknown key `protocl`"),
        (
            "nodes = { from = 1, to = 20000, step = 1 }",
            "more than the limit of 10000 points",
        ),
        ("nodes = [100, 1]", "sweep.nodes = 1: must be between 2"),
    ] {
        let scenario = write_scenario(dir.path(), "bad.toml", &format!("{base}[sweep]\n{sweep}\n"));
        let output = gossip_sim()
            .arg("run")
            .arg(&scenario)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{sweep}: {stderr}");
        assert!(stderr.contains(wanted), "{sweep}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!dir.path().join("results").exists());
    }
}

#[test]
fn check_lists_the_points() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "grid.toml", GRID);
    let output = gossip_sim().arg("check").arg(&scenario).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with(
            "# sweep: 6 points over protocol.kind, nodes\n\
             # point 0: protocol.kind = push, nodes = 100\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("# point 5: protocol.kind = push-pull, nodes = 400\n"));
}
