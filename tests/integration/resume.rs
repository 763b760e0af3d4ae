//! Safe to interrupt: kill -9 in the middle of a sweep, then --resume, gives the bytes of an
//! uninterrupted run.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::support::{files, gossip_sim, gossip_sim_path};
use crate::sweep::write_scenario;

/// 40 points of 3 push trials: about 75 ms each on one thread in a debug build, and as long in
/// a release build (CI's) with ten times the nodes, so that a signal lands mid-sweep.
fn slow() -> String {
    let nodes = if cfg!(debug_assertions) {
        3_000
    } else {
        30_000
    };
    format!(
        r#"
name = "slow"
seed = 5
nodes = {nodes}
trials = 3
[protocol]
kind = "push"
[[updates]]
product = "P1"
price = 1.0
origin = 0
[sweep]
nodes = {{ from = {nodes}, to = {}, step = 1 }}
"#,
        nodes + 39
    )
}

#[test]
fn kill_9_then_resume_gives_the_uninterrupted_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "slow.toml", &slow());
    gossip_sim()
        .arg("run")
        .arg(&scenario)
        .args(["--out", "whole", "--jobs", "2", "--quiet"])
        .current_dir(dir.path())
        .assert()
        .success();

    let mut child = std::process::Command::new(gossip_sim_path())
        .arg("run")
        .arg(&scenario)
        .args(["--out", "killed", "--jobs", "1", "--quiet"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let partial = dir.path().join("killed").join(".partial");
    let finished = || {
        std::fs::read_dir(&partial).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().starts_with("point-"))
                .count()
        })
    };
    let start = Instant::now();
    while finished() < 5 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no progress in 120 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL: no handler runs.
    child.wait().unwrap();
    let kept = finished();
    assert!(
        (5..40).contains(&kept),
        "killed after {kept} of 40 points: not in the middle"
    );
    assert!(
        !dir.path().join("killed").join("runs.csv").exists(),
        "no final file before the sweep is done"
    );

    let output = gossip_sim()
        .arg("run")
        .arg(&scenario)
        .args(["--out", "killed", "--jobs", "2", "--quiet", "--resume"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        files(&dir.path().join("killed")),
        files(&dir.path().join("whole"))
    );
    assert!(!partial.exists(), "the store is gone after the last point");
}

#[test]
fn ctrl_c_keeps_finished_points_and_a_run_without_resume_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "slow.toml", &slow());
    let child = std::process::Command::new(gossip_sim_path())
        .arg("run")
        .arg(&scenario)
        .args(["--out", "out", "--jobs", "1", "--quiet"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let partial = dir.path().join("out").join(".partial");
    let start = Instant::now();
    while std::fs::read_dir(&partial).map_or(0, |entries| entries.count()) < 4 {
        assert!(start.elapsed() < Duration::from_secs(120), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("points finished and kept in"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    assert!(!dir.path().join("out").join("runs.csv").exists());

    let output = gossip_sim()
        .arg("run")
        .arg(&scenario)
        .args(["--out", "out", "--quiet"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("note: starting over;"), "{stderr}");
    assert!(dir.path().join("out").join("runs.csv").exists());
}
