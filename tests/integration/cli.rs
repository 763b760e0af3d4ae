//! The command line as a user meets it: exit codes and messages.

use crate::support::gossip_sim;

#[test]
fn check_on_a_missing_file_exits_2_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-scenario.toml");
    let output = gossip_sim()
        .current_dir(dir.path())
        .arg("check")
        .arg(&missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(&missing.display().to_string()), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_bad_flag_exits_2() {
    gossip_sim()
        .args(["run", "x.toml", "--jobs", "0"])
        .assert()
        .code(2);
}
