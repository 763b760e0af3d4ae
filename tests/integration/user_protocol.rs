//! A protocol written outside the crate, against the public API only: `examples/lazy_push.rs`,
//! registered by name in its own binary, run through the whole command line.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The example's binary, brought up to date (`cargo test` builds examples, but not when only
/// this test target is asked for).
fn lazy_push() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let binary = profile_dir.join("examples").join("lazy_push");
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--example", "lazy_push"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building the example failed");
    });
    binary
}

fn scenario(kind: &str, own_keys: &str, timing: &str) -> String {
    format!(
        r#"
name = "user"
seed = 21
nodes = 2000
trials = 8
max_rounds = 500
[protocol]
kind = "{kind}"
timing = "{timing}"
fanout = 2
{own_keys}
[network]
loss = 0.1
[[updates]]
product = "P1"
price = 1.0
origin = 0
[[crashes]]
at_round = 3
fraction = 0.2
[output]
coverage = false
"#
    )
}

fn run(binary: &Path, text: &str, dir: &Path) -> std::process::Output {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join("s.toml");
    std::fs::write(&file, text).unwrap();
    Command::new(binary)
        .arg("run")
        .arg(&file)
        .arg("--out")
        .arg(dir.join("out"))
        .arg("--quiet")
        .output()
        .unwrap()
}

/// With p = 1 lazy push is the built-in push: the same updates.csv and runs.csv byte for byte,
/// in both timings (the example draws its coin from the protocol's own stream, and a coin of
/// probability 1 draws nothing).
#[test]
fn lazy_push_with_p_1_is_the_built_in_push_byte_for_byte() {
    let binary = lazy_push();
    let tmp = tempfile::tempdir().unwrap();
    for timing in ["rounds", "async"] {
        let user = tmp.path().join(format!("user-{timing}"));
        let built_in = tmp.path().join(format!("push-{timing}"));
        let a = run(&binary, &scenario("lazy-push", "p = 1.0", timing), &user);
        assert!(a.status.success(), "{}", String::from_utf8_lossy(&a.stderr));
        // The same binary runs the built-ins too.
        let b = run(&binary, &scenario("push", "", timing), &built_in);
        assert!(b.status.success(), "{}", String::from_utf8_lossy(&b.stderr));
        for file in ["updates.csv", "runs.csv"] {
            let x = std::fs::read(user.join("out").join(file)).unwrap();
            let y = std::fs::read(built_in.join("out").join(file)).unwrap();
            let strip = |bytes: Vec<u8>| {
                String::from_utf8(bytes)
                    .unwrap()
                    .replace("lazy-push", "push")
            };
            assert_eq!(strip(x), strip(y), "{timing} {file}");
        }
    }
}

/// Push with probability p per round: the informed set grows by 1 + p per round at first and an
/// uninformed node escapes every push with probability about e^-p per round at the end, so
/// everyone has it after about log_{1+p} n + ln n / p rounds (the leading terms of Pittel's
/// 1987 analysis of push, which at p = 1 are Frieze & Grimmett's log2 n + ln n). Checked at
/// n = 10^4, 20 trials per point of the example's own sweep, within 12% (the neglected terms
/// are O(1) rounds).
#[test]
fn lazy_push_rounds_follow_the_rate_p_push_formula() {
    let binary = lazy_push();
    let tmp = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/lazy-push.toml");
    let out = tmp.path().join("out");
    let status = Command::new(&binary)
        .arg("run")
        .arg(&example)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    // The swept key's column (dots become underscores in some schema versions).
    let p_col = header
        .iter()
        .position(|h| *h == "protocol.p" || *h == "protocol_p")
        .expect("a column for protocol.p");
    let (metric, mean, theory) = (col("metric"), col("mean"), col("theory"));
    let mut checked = 0;
    for line in summary.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        if fields[metric] != "rounds_to_all" {
            continue;
        }
        let p: f64 = fields[p_col].parse().unwrap();
        let got: f64 = fields[mean].parse().unwrap();
        let n: f64 = 10_000.0;
        let expected = n.ln() / (1.0 + p).ln() + n.ln() / p;
        eprintln!("lazy push p={p}: {got} rounds, formula {expected:.1}");
        // The protocol's own theory fills the summary's column.
        let column: f64 = fields[theory].parse().unwrap();
        assert!((column - expected).abs() < 1e-3, "theory column {column}");
        assert!(
            (got - expected).abs() <= 0.12 * expected,
            "p={p}: {got} vs {expected}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// The protocol's own keys are checked by the protocol: a bad value or an unknown key is one
/// error naming it, exit code 2, and nothing written.
#[test]
fn a_registered_protocols_bad_keys_are_clear_errors() {
    let binary = lazy_push();
    let tmp = tempfile::tempdir().unwrap();
    for (keys, expected) in [
        (
            "p = 1.5",
            "s.toml:11:5: protocol.p = 1.5: must be more than 0 and at most 1",
        ),
        (
            "p = 0.5\nq = 1",
            "s.toml:12:1: unknown key `q` in [protocol] (expected one of `kind`, `fanout`, \
             `timing`, `period_ms`, `jitter_ms`, `local_bias`, `p`)",
        ),
        (
            "p = \"half\"",
            "s.toml:11:5: protocol.p = \"half\": expected a number",
        ),
        // A key of a built-in kind says which kind takes it.
        (
            "p = 0.5\nctr_max = 3",
            "protocol.ctr_max = 3: only applies to kind = \"median-counter\"",
        ),
        ("", "missing field `p`"),
    ] {
        let dir = tmp.path().join(format!("case{}", expected.len()));
        let out = run(&binary, &scenario("lazy-push", keys, "rounds"), &dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{keys}: {stderr}");
        assert!(stderr.contains(expected), "{keys}: {stderr}");
        assert!(!dir.join("out").exists(), "{keys}: wrote output");
    }
}
