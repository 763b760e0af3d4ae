//! Issue 12: no second process, forged shard or damaged file on disk makes gossip-sim exit 0
//! with results that differ from a clean run, or panic.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gossip_sim::output::lock::{FolderLock, LOCK_FILE};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use crate::support::{files, gossip_sim, gossip_sim_path};

/// A four-point sweep of small runs.
const SWEEP: &str = "name = \"grid\"\nnodes = 30\ntrials = 2\nmax_rounds = 40\n[protocol]\n\
kind = \"push\"\n[[updates]]\nproduct = \"P1\"\nprice = 1.0\norigin = 0\n\
[sweep]\n\"protocol.fanout\" = [1, 2]\n\"network.loss\" = [0.0, 0.1]\n";

fn write_sweep(dir: &Path) -> PathBuf {
    let path = dir.join("grid.toml");
    fs::write(&path, SWEEP).unwrap();
    path
}

/// Shards `I/2` of the sweep with `seed`, into `dir/out`.
fn shards(dir: &Path, out: &str, seed: &str) {
    for shard in ["0/2", "1/2"] {
        gossip_sim()
            .args([
                "run",
                "grid.toml",
                "--quiet",
                "--seed",
                seed,
                "--shard",
                shard,
            ])
            .args(["--out", out])
            .current_dir(dir)
            .assert()
            .success();
    }
}

/// Two runs with different seeds into one folder corrupted it (issue 12, class 1): the
/// second is now refused while the first holds the folder, naming the folder and the pid.
#[test]
fn a_second_run_into_a_locked_folder_exits_2_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_sweep(dir.path());
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let held = FolderLock::acquire(&out, LOCK_FILE).unwrap();
    for args in [
        vec!["run", "grid.toml", "--quiet", "--out", "out"],
        vec!["run", "grid.toml", "--quiet", "--out", "out", "--resume"],
        vec!["merge", "shards", "--out", "out"],
        vec!["plot", "out"],
    ] {
        let output = gossip_sim()
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if args[0] == "merge" {
            // No shards to merge: refused before the folder is touched, lock or not.
            assert_eq!(output.status.code(), Some(2), "{stderr}");
            continue;
        }
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "output folder {} is in use by another gossip-sim process (pid {})",
                out.display(),
                std::process::id()
            )) || stderr.contains(&format!(
                "output folder out is in use by another gossip-sim process (pid {})",
                std::process::id()
            )),
            "{args:?}: {stderr}"
        );
    }
    // Shards lock files of their own: they run while the folder's lock is held.
    gossip_sim()
        .args([
            "run",
            "grid.toml",
            "--quiet",
            "--shard",
            "0/2",
            "--out",
            "out",
        ])
        .current_dir(dir.path())
        .assert()
        .success();
    drop(held);
    drop(scenario);
    gossip_sim()
        .args(["run", "grid.toml", "--quiet", "--out", "out"])
        .current_dir(dir.path())
        .assert()
        .success();
}

/// Two real processes: the second run, with another seed, gets exit 2 while the first runs; the
/// first is killed with -9, and the kernel's release of its lock lets a third run in.
#[test]
fn two_processes_on_one_folder_and_a_kill_9_releases_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("long.toml");
    fs::write(
        &scenario,
        "name = \"long\"\nnodes = 20000\ntrials = 1000\nmax_rounds = 200\n[protocol]\n\
         kind = \"push-pull\"\n[workload]\nupdates = 50\nper_round = 1.0\n",
    )
    .unwrap();
    let out = dir.path().join("out");
    let mut first = Command::new(gossip_sim_path())
        .args([
            "run",
            "long.toml",
            "--quiet",
            "--no-memory-guard",
            "--jobs",
            "1",
        ])
        .args(["--out", "out"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !out.join(LOCK_FILE).exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "no lock file");
        std::thread::sleep(Duration::from_millis(10));
    }
    let output = gossip_sim()
        .args(["run", "long.toml", "--quiet", "--seed", "5", "--out", "out"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("(pid {})", first.id())),
        "{stderr}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // The lock file is left behind by kill -9, but nobody holds it.
    gossip_sim()
        .args([
            "run",
            "long.toml",
            "--quiet",
            "--set",
            "trials=1",
            "--out",
            "out",
        ])
        .args(["--force", "--set", "nodes=100"])
        .current_dir(dir.path())
        .assert()
        .success();
    assert!(!out.join(LOCK_FILE).exists(), "released and removed");
}

/// A point file copied from another seed's shard merged with exit 0 into bytes that differ
/// from the unsharded run.
#[test]
fn a_point_file_from_another_seeds_shard_is_refused_and_no_folder_is_left() {
    let dir = tempfile::tempdir().unwrap();
    write_sweep(dir.path());
    shards(dir.path(), "a", "1");
    shards(dir.path(), "b", "2");
    let point = "shard-1-of-2/point-000001.rows";
    fs::copy(
        dir.path().join("b").join(point),
        dir.path().join("a").join(point),
    )
    .unwrap();
    let output = gossip_sim()
        .args(["merge", "a", "--out", "merged"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not point 1 of this sweep"), "{stderr}");
    assert!(
        !dir.path().join("merged").exists(),
        "a failed merge leaves no folder"
    );
}

/// Mutated manifests and point files: merge never panics, and never succeeds with bytes other
/// than the clean merge's.
#[test]
fn merge_of_mutated_shards_never_panics_nor_succeeds_with_other_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write_sweep(dir.path());
    shards(dir.path(), "clean", "1");
    let clean_out = dir.path().join("clean-merged");
    gossip_sim::internals::merge(&[dir.path().join("clean")], &clean_out, false).unwrap();
    let clean = files(&clean_out);
    let targets: Vec<PathBuf> = ["shard-0-of-2", "shard-1-of-2"]
        .iter()
        .flat_map(|shard| {
            let shard = dir.path().join("clean").join(shard);
            let mut names: Vec<PathBuf> = fs::read_dir(&shard)
                .unwrap()
                .map(|entry| entry.unwrap().path())
                .collect();
            names.sort();
            names
        })
        .collect();
    fuzzer()
        .run(&mutations(targets.len()), |(target, at, mutation)| {
            let case = tempfile::tempdir().unwrap();
            let copy = case.path().join("shards");
            for file in &targets {
                let relative = file.strip_prefix(dir.path().join("clean")).unwrap();
                fs::create_dir_all(copy.join(relative).parent().unwrap()).unwrap();
                fs::copy(file, copy.join(relative)).unwrap();
            }
            let victim = copy.join(
                targets[target]
                    .strip_prefix(dir.path().join("clean"))
                    .unwrap(),
            );
            let mut bytes = fs::read(&victim).unwrap();
            mutation.apply(&mut bytes, at);
            fs::write(&victim, &bytes).unwrap();
            let out = case.path().join("merged");
            let result = std::panic::catch_unwind(|| {
                gossip_sim::internals::merge(std::slice::from_ref(&copy), &out, false)
            });
            let Ok(result) = result else {
                return Err(TestCaseError::fail(format!(
                    "merge panicked on {} mutated by {mutation:?}",
                    victim.display()
                )));
            };
            match result {
                Ok(_) => prop_assert_eq!(files(&out), clean.clone(), "exit 0, other bytes"),
                Err(err) => {
                    prop_assert!(err.is_input_error(), "{}", err);
                    prop_assert!(!out.exists(), "a failed merge left {}", out.display());
                }
            }
            Ok(())
        })
        .unwrap();
}

/// `--resume`'s readers (issue 12, class 6): a shard's point store as an interrupted run leaves
/// it, with one of its files mutated (manifest, kept point file, provenance files). Resuming
/// never panics; it either fails with an input error and writes no shard folder, or succeeds
/// with the bytes of the clean shard (a manifest it cannot read is a store to start over).
#[test]
fn resume_over_a_mutated_store_never_panics_nor_succeeds_with_other_bytes() {
    use gossip_sim::internals::Shard;
    use gossip_sim::internals::{RunOptions, run_sweep};

    let dir = tempfile::tempdir().unwrap();
    let sweep = gossip_sim::scenario::load_sweep(&write_sweep(dir.path()), &[]).unwrap();
    let shard = Shard { index: 0, count: 2 };
    let options = |out: &Path, resume: bool| RunOptions {
        shard,
        resume,
        jobs: std::num::NonZeroUsize::new(1),
        ..RunOptions::new(out)
    };
    let clean_out = dir.path().join("clean");
    run_sweep(&sweep, &options(&clean_out, false)).unwrap();
    let clean_store = clean_out.join(shard.dir_name());
    let clean = files(&clean_store);
    // What a run of the shard interrupted after point 0 leaves: its store, without point 2.
    let names: Vec<String> = clean
        .iter()
        .map(|(name, _)| name.clone())
        .filter(|name| name != "point-000002.rows")
        .collect();
    assert_eq!(
        names,
        [
            "manifest.txt",
            "point-000000.rows",
            "run.toml",
            "scenario.resolved.toml"
        ]
    );
    let store_name = format!(".partial-{}", shard.dir_name());
    let kept_store = |out: &Path| {
        let store = out.join(&store_name);
        fs::create_dir_all(&store).unwrap();
        for name in &names {
            fs::copy(clean_store.join(name), store.join(name)).unwrap();
        }
        store
    };
    // The controls: the store as it is resumes (computing point 2 only) to the clean bytes,
    // and its point 0 emptied is refused, so the store is resumed, not started over.
    let control = dir.path().join("control");
    kept_store(&control);
    run_sweep(&sweep, &options(&control, true)).unwrap();
    assert_eq!(files(&control.join(shard.dir_name())), clean);
    let control = dir.path().join("control-damaged");
    fs::write(kept_store(&control).join("point-000000.rows"), "").unwrap();
    let err = run_sweep(&sweep, &options(&control, true)).unwrap_err();
    assert!(
        err.to_string()
            .contains("point-000000.rows: not a complete point file"),
        "{err}"
    );
    fuzzer()
        .run(&mutations(names.len()), |(target, at, mutation)| {
            let case = tempfile::tempdir().unwrap();
            let out = case.path().join("out");
            let victim = kept_store(&out).join(&names[target]);
            let mut bytes = fs::read(&victim).unwrap();
            mutation.apply(&mut bytes, at);
            fs::write(&victim, &bytes).unwrap();
            let result = std::panic::catch_unwind(|| run_sweep(&sweep, &options(&out, true)));
            let Ok(result) = result else {
                return Err(TestCaseError::fail(format!(
                    "resume panicked on {} mutated by {mutation:?}",
                    victim.display()
                )));
            };
            let finished = out.join(shard.dir_name());
            match result {
                Ok(_) => prop_assert_eq!(files(&finished), clean.clone(), "exit 0, other bytes"),
                Err(err) => {
                    prop_assert!(err.is_input_error(), "{}", err);
                    prop_assert!(
                        !finished.exists(),
                        "a refused resume wrote {}",
                        finished.display()
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

#[derive(Clone, Debug)]
enum Mutation {
    Set(u8),
    Truncate,
    Number(String),
}

/// 64 cases a run: enough to hit every file and every kind of damage several times.
fn fuzzer() -> TestRunner {
    TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    })
}

/// A mutation of one of `files` files, at a position chosen by the index.
fn mutations(files: usize) -> impl Strategy<Value = (usize, prop::sample::Index, Mutation)> {
    (
        0..files,
        any::<prop::sample::Index>(),
        prop_oneof![
            any::<u8>().prop_map(Mutation::Set),
            Just(Mutation::Truncate),
            "[0-9]{1,20}".prop_map(Mutation::Number),
        ],
    )
}

impl Mutation {
    /// Applies the mutation to `bytes` at `at`.
    fn apply(&self, bytes: &mut Vec<u8>, at: prop::sample::Index) {
        if bytes.is_empty() {
            return;
        }
        let i = at.index(bytes.len());
        match self {
            Mutation::Set(byte) => bytes[i] = *byte,
            Mutation::Truncate => bytes.truncate(i),
            // A count replaced: the `points`, a section length, a shard number.
            Mutation::Number(digits) => {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .map_or(bytes.len(), |n| i + n);
                bytes.splice(i..end, digits.bytes());
            }
        }
    }
}

/// Shards of one sweep started at the same moment into one folder (a Slurm array) all run:
/// each one's store in progress is gossip-sim's own to the others (it once refused them).
#[test]
fn shards_started_together_into_one_folder_all_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = root.join("scenarios/sweep-rumor-anti-entropy.toml");
    let out = dir.path().join("out");
    let bin = gossip_sim_path();
    let children: Vec<_> = (1..=3)
        .map(|task| {
            Command::new(&bin)
                .arg("run")
                .arg(&scenario)
                .arg("--out")
                .arg(&out)
                .args(["--shard", &format!("{}/3", task - 1), "--quiet"])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    for shard in 0..3 {
        assert!(
            out.join(format!("shard-{shard}-of-3"))
                .join("manifest.txt")
                .is_file()
        );
    }
}
