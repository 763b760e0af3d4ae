//! Beyond one machine: shards merged give the bytes of an unsharded run, with the shard given
//! as a flag or taken from a Slurm job array's or a Kubernetes Indexed Job's environment.

use std::path::Path;

use crate::support::{files, gossip_sim};
use crate::sweep::{GRID, write_scenario};

/// Every variable `--shard auto` reads, removed so the test machine's own cannot leak in.
const SHARD_VARS: [&str; 6] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
    "GOSSIP_SHARD_COUNT",
];

fn run(dir: &Path, scenario: &Path, args: &[&str], env: &[(&str, String)]) -> std::process::Output {
    let mut command = gossip_sim();
    // Not --quiet: the shard's summary on stdout is checked below (stderr is not a terminal,
    // so no progress bar is drawn either way).
    command.arg("run").arg(scenario).args(args);
    for var in SHARD_VARS {
        command.env_remove(var);
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.current_dir(dir).output().unwrap()
}

fn unsharded(dir: &Path, scenario: &Path) -> Vec<(String, String)> {
    let output = run(dir, scenario, &["--out", "whole"], &[]);
    assert!(output.status.success(), "{output:?}");
    files(&dir.join("whole"))
}

fn merged(dir: &Path, out: &str, shards: &[&str]) -> Vec<(String, String)> {
    let output = gossip_sim()
        .arg("merge")
        .args(shards)
        .args(["--out", out])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    files(&dir.join(out))
}

#[test]
fn sharded_and_merged_is_the_unsharded_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "grid.toml", GRID);
    let whole = unsharded(dir.path(), &scenario);
    // Four shards of six points: shard 3 gets one point. Two shards share a folder.
    for (shard, out) in [("0/4", "a"), ("1/4", "a"), ("2/4", "b"), ("3/4", "c")] {
        let output = run(
            dir.path(),
            &scenario,
            &["--shard", shard, "--out", out],
            &[],
        );
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.contains(&format!("shard     {shard}:")), "{stdout}");
    }
    assert!(dir.path().join("a/shard-0-of-4").is_dir());
    assert!(
        !dir.path().join("a/runs.csv").exists(),
        "a shard writes no final file"
    );
    assert_eq!(
        merged(dir.path(), "merged", &["a", "b", "c/shard-3-of-4"]),
        whole
    );

    // A missing shard is an input error naming it.
    let output = gossip_sim()
        .args(["merge", "a", "b", "--out", "partial"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("missing shard(s) 3/4"), "{stderr}");
}

#[test]
fn slurm_job_array_shards_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "grid.toml", GRID);
    let whole = unsharded(dir.path(), &scenario);
    // sbatch --array=1-3: task ids 1, 2, 3.
    for id in 1..=3 {
        let env = [
            ("SLURM_ARRAY_TASK_ID", id.to_string()),
            ("SLURM_ARRAY_TASK_COUNT", "3".to_owned()),
            ("SLURM_ARRAY_TASK_MIN", "1".to_owned()),
        ];
        let output = run(
            dir.path(),
            &scenario,
            &["--shard", "auto", "--out", "slurm"],
            &env,
        );
        assert!(output.status.success(), "{output:?}");
        let shard = dir.path().join(format!("slurm/shard-{}-of-3", id - 1));
        assert!(shard.is_dir(), "{}", shard.display());
    }
    assert_eq!(merged(dir.path(), "merged", &["slurm"]), whole);

    // No count: a clear input error.
    let env = [("SLURM_ARRAY_TASK_ID", "0".to_owned())];
    let output = run(dir.path(), &scenario, &["--shard", "auto"], &env);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("SLURM_ARRAY_TASK_COUNT is not"), "{stderr}");
}

#[test]
fn kubernetes_indexed_job_shards_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "grid.toml", GRID);
    let whole = unsharded(dir.path(), &scenario);
    for index in 0..2 {
        let env = [
            ("JOB_COMPLETION_INDEX", index.to_string()),
            ("GOSSIP_SHARD_COUNT", "2".to_owned()),
        ];
        let output = run(
            dir.path(),
            &scenario,
            &["--shard", "auto", "--out", "k8s"],
            &env,
        );
        assert!(output.status.success(), "{output:?}");
    }
    assert_eq!(merged(dir.path(), "merged", &["k8s"]), whole);

    // --shard-count wins over GOSSIP_SHARD_COUNT; without either, a clear error.
    let env = [
        ("JOB_COMPLETION_INDEX", "2".to_owned()),
        ("GOSSIP_SHARD_COUNT", "2".to_owned()),
    ];
    let output = run(
        dir.path(),
        &scenario,
        &["--shard", "auto", "--shard-count", "3", "--out", "k8s3"],
        &env,
    );
    assert!(output.status.success(), "{output:?}");
    assert!(dir.path().join("k8s3/shard-2-of-3").is_dir());
    let env = [("JOB_COMPLETION_INDEX", "0".to_owned())];
    let output = run(dir.path(), &scenario, &["--shard", "auto"], &env);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("GOSSIP_SHARD_COUNT"), "{stderr}");
    // Nothing in the environment at all.
    let output = run(dir.path(), &scenario, &["--shard", "auto"], &[]);
    assert_eq!(output.status.code(), Some(2));
}

/// The shipped Slurm job file itself, run as each array task would run it.
#[test]
fn the_slurm_job_file_runs_its_shard() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "grid.toml", GRID);
    let whole = unsharded(dir.path(), &scenario);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/slurm/sweep.sbatch");
    let bin = crate::support::gossip_sim_path();
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for id in 0..2 {
        let mut command = std::process::Command::new("bash");
        command.arg(&script).arg(&scenario).arg("sbatch-out");
        for var in SHARD_VARS {
            command.env_remove(var);
        }
        let output = command
            .env("PATH", &path)
            .env("SLURM_ARRAY_TASK_ID", id.to_string())
            .env("SLURM_ARRAY_TASK_COUNT", "2")
            .env("SLURM_CPUS_PER_TASK", "2")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
    }
    assert_eq!(merged(dir.path(), "merged", &["sbatch-out"]), whole);
}

/// The shipped Indexed Job: GOSSIP_SHARD_COUNT must equal `completions`, or shards overlap.
#[test]
fn the_kubernetes_job_file_counts_its_completions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes/sweep-job.yaml");
    let yaml = std::fs::read_to_string(path).unwrap();
    let value = |key: &str| -> String {
        let line = yaml
            .lines()
            .find(|line| line.trim_start().starts_with(key))
            .unwrap_or_else(|| panic!("no {key}"));
        line.split_once(':')
            .unwrap()
            .1
            .trim()
            .trim_matches('"')
            .to_owned()
    };
    assert_eq!(value("completionMode:"), "Indexed");
    let completions = value("completions:");
    let count_line = yaml
        .lines()
        .skip_while(|line| !line.contains("name: GOSSIP_SHARD_COUNT"))
        .nth(1)
        .expect("GOSSIP_SHARD_COUNT has a value");
    assert_eq!(
        count_line
            .split_once(':')
            .unwrap()
            .1
            .trim()
            .trim_matches('"'),
        completions
    );
    assert!(yaml.contains("- --shard\n            - auto\n"), "{yaml}");
    assert!(yaml.contains("- --resume\n"));
}
