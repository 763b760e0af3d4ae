//! The shipped results are what the shipped scenarios produce.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

/// A file's bytes as compared: `run.toml` names the git commit of the build, which every
/// commit changes, so its `git_commit` line is left out; every other byte counts.
fn comparable(file: &std::ffi::OsStr, bytes: Vec<u8>) -> Vec<u8> {
    if file != "run.toml" {
        return bytes;
    }
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .filter(|line| !line.starts_with("git_commit = "))
        .flat_map(|line| format!("{line}\n").into_bytes())
        .collect()
}

/// Reruns a shipped scenario and compares every file with results/ byte for byte.
fn regenerates(name: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("gossip-sim")
        .unwrap()
        .arg("run")
        .arg(root.join("scenarios").join(format!("{name}.toml")))
        .arg("--out")
        .arg(dir.path())
        .arg("--quiet")
        .assert()
        .success();
    let shipped = root.join("results").join(name);
    let mut compared = 0;
    for entry in fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let file = entry.file_name();
        let expected = fs::read(shipped.join(&file))
            .unwrap_or_else(|e| panic!("results/{name}/{}: {e}", file.to_string_lossy()));
        assert!(
            comparable(&file, fs::read(entry.path()).unwrap()) == comparable(&file, expected),
            "results/{name}/{} differs from a fresh run: rerun scripts/regenerate-results.sh",
            file.to_string_lossy()
        );
        compared += 1;
    }
    assert!(compared >= 2, "only {compared} files compared");
}

#[test]
fn push_pull_1k_loss_results_regenerate_byte_for_byte() {
    regenerates("push-pull-1k-loss");
}

#[test]
fn quickstart_results_regenerate_byte_for_byte() {
    regenerates("quickstart");
}

/// Flooding over a 6-regular overlay: pins the graph generator, flooding and the rmr column.
#[test]
fn flood_regular_results_regenerate_byte_for_byte() {
    regenerates("flood-regular");
}
