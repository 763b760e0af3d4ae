//! The benchmark scenarios' CSV outputs, pinned by hash (issue 3, item 4): speed work never
//! changes a result. The pins were taken before the second round of optimisation; re-pin only
//! for a deliberate change of the model, and say so in the commit.

use std::fs;
use std::path::Path;

use assert_cmd::Command;

/// FNV-1a, 64 bits: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &byte in bytes {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Runs `scenarios/bench/{name}.toml` in a temporary folder; the hash of each CSV it wrote,
/// by file name.
fn csv_hashes(name: &str) -> Vec<(String, u64)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    Command::cargo_bin("gossip-sim")
        .unwrap()
        .arg("run")
        .arg(root.join("scenarios/bench").join(format!("{name}.toml")))
        .arg("--out")
        .arg(dir.path())
        .arg("--quiet")
        .assert()
        .success();
    let mut hashes: Vec<(String, u64)> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "csv"))
        .map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            (file, fnv1a(&fs::read(entry.path()).unwrap()))
        })
        .collect();
    hashes.sort();
    hashes
}

fn pinned(name: &str, expected: &[(&str, u64)]) {
    let actual = csv_hashes(name);
    let expected: Vec<(String, u64)> = expected.iter().map(|&(f, h)| (f.to_owned(), h)).collect();
    assert_eq!(
        actual, expected,
        "scenarios/bench/{name}.toml: CSV output changed "
    );
}

#[test]
fn bench_rounds_1e3_csv_is_pinned() {
    pinned(
        "rounds-1e3",
        &[
            ("runs.csv", 0xfcd6_a640_13e5_b85b),
            ("updates.csv", 0x74e8_f1cd_8169_5801),
        ],
    );
}

#[test]
fn bench_rounds_1e4_csv_is_pinned() {
    pinned(
        "rounds-1e4",
        &[
            ("runs.csv", 0xaa3a_546e_e15b_08d2),
            ("updates.csv", 0x128d_49de_d39c_2a35),
        ],
    );
}

#[test]
fn bench_async_1e3_csv_is_pinned() {
    pinned(
        "async-1e3",
        &[
            ("runs.csv", 0x594b_e54f_f021_20e7),
            ("updates.csv", 0x7932_5a95_0325_ce89),
        ],
    );
}

#[test]
fn bench_async_1e4_csv_is_pinned() {
    pinned(
        "async-1e4",
        &[
            ("runs.csv", 0xc183_7e78_c119_3420),
            ("updates.csv", 0xef7d_80b1_24bc_a168),
        ],
    );
}
