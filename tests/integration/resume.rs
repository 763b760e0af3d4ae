//! Safe to interrupt: kill -9 in the middle of a sweep, then --resume, gives the bytes of an
//! uninterrupted run.

use std::process::Stdio;
use std::time::{Duration, Instant};

use std::path::Path;

use gossip_sim::output::lock::LOCK_FILE;

use crate::support::{Snapshot, files, gossip_sim, gossip_sim_path};
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

/// The point files of the store of `out`, sorted.
fn kept_points(out: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(out.join(".partial"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("point-") && name.ends_with(".rows"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Copies the folder `from` to `to`, hidden files included.
fn copy_folder(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_folder(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Issue 12, class 3: `--resume` over a kept point file that is damaged (truncated, a byte
/// flipped) or foreign (the same point from another seed's shard, another point of this
/// sweep) is refused before anything is simulated: exit 2, one line naming the file, no new
/// point and no result file, the folder as it was. The same interrupted folder, undamaged,
/// resumes to the bytes of an uninterrupted run (the control).
#[test]
fn resume_over_a_damaged_or_foreign_kept_point_is_refused_before_simulating() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let scenario = write_scenario(root, "slow.toml", &slow());
    gossip_sim()
        .arg("run")
        .arg(&scenario)
        .args(["--out", "whole", "--jobs", "2", "--quiet"])
        .current_dir(root)
        .assert()
        .success();
    // Point 0 of the same sweep with another seed, as a shard of 40 computes it (cheaply).
    gossip_sim()
        .arg("run")
        .arg(&scenario)
        .args([
            "--out", "other", "--seed", "6", "--shard", "0/40", "--quiet",
        ])
        .current_dir(root)
        .assert()
        .success();
    let foreign = root.join("other/shard-0-of-40/point-000000.rows");
    assert!(foreign.is_file());

    // An interrupted run with a few points kept: kill -9 once three are finished.
    let mut child = std::process::Command::new(gossip_sim_path())
        .arg("run")
        .arg(&scenario)
        .args(["--out", "killed", "--jobs", "1", "--quiet"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let killed = root.join("killed");
    let start = Instant::now();
    while kept_points(&killed).len() < 3 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no progress in 120 s"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = kept_points(&killed);
    assert!(
        kept.len() < 40 && kept.contains(&"point-000000.rows".to_owned()),
        "kept {kept:?}"
    );

    type Damage = fn(&Path, &Path);
    let cases: [(&str, Damage, &str); 5] = [
        (
            "truncated",
            |point, _| {
                let bytes = std::fs::read(point).unwrap();
                std::fs::write(point, &bytes[..bytes.len() / 2]).unwrap();
            },
            "not a complete point file (checksum mismatch)",
        ),
        (
            "a byte flipped",
            |point, _| {
                let mut bytes = std::fs::read(point).unwrap();
                let middle = bytes.len() / 2;
                bytes[middle] ^= 0x01;
                std::fs::write(point, bytes).unwrap();
            },
            "not a complete point file (checksum mismatch)",
        ),
        (
            "emptied",
            |point, _| std::fs::write(point, b"").unwrap(),
            "not a complete point file (checksum mismatch)",
        ),
        (
            "from another seed's shard",
            |point, foreign| {
                std::fs::copy(foreign, point).unwrap();
            },
            "not point 0 of this sweep (a point file of another sweep, seed or point)",
        ),
        (
            "another point of this sweep",
            |point, _| {
                std::fs::copy(point.with_file_name("point-000001.rows"), point).unwrap();
            },
            "not point 0 of this sweep (a point file of another sweep, seed or point)",
        ),
    ];
    for (what, damage, problem) in cases {
        let out = root.join(format!("case-{}", what.replace(' ', "-")));
        copy_folder(&killed, &out);
        let point = out.join(".partial/point-000000.rows");
        damage(&point, &foreign);
        // The killed run's lock file and half-written temporaries (hidden names in the store)
        // are what the refused run tidies away; without them the folder must stay exactly as
        // it is.
        let _ = std::fs::remove_file(out.join(LOCK_FILE));
        for entry in std::fs::read_dir(out.join(".partial")).unwrap() {
            let entry = entry.unwrap();
            if entry.file_name().to_string_lossy().starts_with('.') {
                std::fs::remove_file(entry.path()).unwrap();
            }
        }
        let before = Snapshot::of(&out);
        let output = gossip_sim()
            .arg("run")
            .arg(&scenario)
            .arg("--out")
            .arg(&out)
            .args(["--jobs", "2", "--quiet", "--resume"])
            .current_dir(root)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{what}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: {}: {problem}; refusing it (run the sweep or shard again without \
                 --resume)\n",
                point.display()
            ),
            "{what}"
        );
        assert_eq!(kept_points(&out), kept, "{what}: a point was computed");
        let after = Snapshot::of(&out);
        assert!(after == before, "{what}: {}", before.diff(&after));
        assert!(
            !out.join("runs.csv").exists(),
            "{what}: a result file was written"
        );
    }

    // The control: the same folder undamaged resumes to the uninterrupted bytes.
    let good = root.join("good");
    copy_folder(&killed, &good);
    gossip_sim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&good)
        .args(["--jobs", "2", "--quiet", "--resume"])
        .current_dir(root)
        .assert()
        .success();
    assert_eq!(files(&good), files(&root.join("whole")));
}
