//! The benchmark scenarios' CSV outputs, pinned by hash (issue 3, item 4): speed work never
//! changes a result. The pins were taken before the second round of optimisation; re-pin only
//! for a deliberate change of the model, and say so in the commit.
//!
//! Re-pinned three times, each time for columns only, never for a changed number:
//! - for appended columns (updates.csv's `rmr`, runs.csv's six Plumtree and HyParView columns)
//!   and the new summary.csv: with those columns removed, the files hashed to the earlier pins;
//! - for schema 3 (issue 11): every row carries the run's parameters after `scenario,trial,seed`
//!   (`point`, `nodes`, `protocol_kind`, ...; runs.csv already had `nodes` there). Each test
//!   checks both: the files hash to the schema-3 pins, and with the parameter columns removed
//!   ([`schema_2`]) to the schema-2 pins they had before, so the re-pin changed no value;
//! - for schema 4 (issue 15, bandwidth bounds): updates.csv's `stale_node_rounds`, runs.csv's
//!   five counts of the bounds, summary.csv's four rows of them. With those removed
//!   ([`schema_3`]) the files hash to the schema-3 pins, which each test checks too.

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

/// The columns schema 3 put after `scenario,trial,seed` (after `scenario` in summary.csv).
/// runs.csv had `nodes` in that place already, so there it is not one of them.
const SCHEMA_3_COLUMNS: [&str; 8] = [
    "point",
    "nodes",
    "protocol_kind",
    "protocol_fanout",
    "protocol_timing",
    "protocol_period_ms",
    "network_loss",
    "overlay_kind",
];

/// The columns schema 4 appended (issue 15, bandwidth bounds): updates.csv's per-update
/// staleness and runs.csv's counts of the bounds, and summary.csv's rows of them.
const SCHEMA_4_COLUMNS: [&str; 6] = [
    "stale_node_rounds",
    "deferred_entries",
    "never_sent_entries",
    "oversize_messages",
    "over_budget_messages",
    "bytes_per_delivery",
];
const SCHEMA_4_METRICS: [&str; 4] = [
    "update_stale_node_rounds",
    "bytes_per_delivery",
    "deferred_entries",
    "never_sent_entries",
];

/// `file` (a schema-4 CSV named `name`) as schema 3 wrote it: the appended columns (and
/// summary rows) removed. runs.csv had a `stale_node_rounds` of its own, which stays.
fn schema_3(name: &str, file: &[u8]) -> Vec<u8> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(file);
    let mut records = reader.records().map(Result::unwrap);
    let header = records.next().expect("a header");
    let appended = |c: usize| match name {
        "updates.csv" => &header[c] == "stale_node_rounds",
        "runs.csv" => SCHEMA_4_COLUMNS[1..].contains(&&header[c]),
        _ => false,
    };
    let keep: Vec<usize> = (0..header.len()).filter(|&c| !appended(c)).collect();
    let metric = header.iter().position(|c| c == "metric");
    let mut out = csv::Writer::from_writer(Vec::new());
    for record in std::iter::once(header.clone()).chain(records) {
        if name == "summary.csv" && metric.is_some_and(|m| SCHEMA_4_METRICS.contains(&&record[m])) {
            continue;
        }
        out.write_record(keep.iter().map(|&c| &record[c])).unwrap();
    }
    out.into_inner().unwrap()
}

/// `file` (a schema-3 CSV named `name`) as schema 2 wrote it: the parameter columns removed,
/// quoting as the tables quote (the csv crate's defaults, as gossip-sim writes).
fn schema_2(name: &str, file: &[u8]) -> Vec<u8> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(file);
    let mut records = reader.records().map(Result::unwrap);
    let header = records.next().expect("a header");
    let keep: Vec<usize> = (0..header.len())
        .filter(|&c| {
            let column = &header[c];
            !SCHEMA_3_COLUMNS.contains(&column) || (name == "runs.csv" && column == "nodes")
        })
        .collect();
    let mut out = csv::Writer::from_writer(Vec::new());
    for record in std::iter::once(header).chain(records) {
        out.write_record(keep.iter().map(|&c| &record[c])).unwrap();
    }
    out.into_inner().unwrap()
}

/// Runs `scenarios/bench/{name}.toml` in a temporary folder; each CSV it wrote by file name,
/// with the hash of its bytes, of its schema-3 form and of its schema-2 form.
fn csv_hashes(name: &str) -> Vec<(String, u64, u64, u64)> {
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
    let mut hashes: Vec<(String, u64, u64, u64)> = fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().extension().is_some_and(|e| e == "csv"))
        .map(|entry| {
            let file = entry.file_name().to_string_lossy().into_owned();
            let bytes = fs::read(entry.path()).unwrap();
            let three = schema_3(&file, &bytes);
            let two = fnv1a(&schema_2(&file, &three));
            (file, fnv1a(&bytes), fnv1a(&three), two)
        })
        .collect();
    hashes.sort();
    hashes
}

/// Each file with its schema-4, schema-3 and schema-2 pins.
fn pinned(name: &str, expected: &[(&str, u64, u64, u64)]) {
    let actual = csv_hashes(name);
    let show = |rows: &[(String, u64, u64, u64)]| -> String {
        rows.iter()
            .map(|(f, new, three, two)| {
                format!("(\"{f}\", {new:#018x}, {three:#018x}, {two:#018x})")
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let expected: Vec<(String, u64, u64, u64)> = expected
        .iter()
        .map(|&(f, new, three, two)| (f.to_owned(), new, three, two))
        .collect();
    assert!(
        actual == expected,
        "scenarios/bench/{name}.toml: CSV output changed: got {}, pinned {}",
        show(&actual),
        show(&expected)
    );
}

#[test]
fn the_schema_2_form_drops_exactly_the_parameter_columns() {
    let updates = "scenario,trial,seed,point,nodes,protocol_kind,protocol_fanout,\
                   protocol_timing,protocol_period_ms,network_loss,overlay_kind,update\n\
                   \"a, b\",0,7,0,10,push,1,rounds,1000,0,full,3\n";
    assert_eq!(
        String::from_utf8(schema_2("updates.csv", updates.as_bytes())).unwrap(),
        "scenario,trial,seed,update\n\"a, b\",0,7,3\n"
    );
    let runs = "scenario,trial,seed,point,nodes,protocol_kind,protocol_fanout,\
                protocol_timing,protocol_period_ms,network_loss,overlay_kind,rounds\n\
                s,0,7,0,10,push,1,rounds,1000,0,full,12\n";
    assert_eq!(
        String::from_utf8(schema_2("runs.csv", runs.as_bytes())).unwrap(),
        "scenario,trial,seed,nodes,rounds\ns,0,7,10,12\n"
    );
}

#[test]
fn bench_rounds_1e3_csv_is_pinned() {
    pinned(
        "rounds-1e3",
        &[
            (
                "runs.csv",
                0x5135_1a51_9ccd_c4b4,
                0x082f_08f4_2b23_4ce1,
                0xa907_a4f7_d4ec_ae0f,
            ),
            (
                "summary.csv",
                0xdf42_b8a9_9c37_9f1a,
                0x717f_8e41_b468_3334,
                0x9717_f778_7ac1_b7d4,
            ),
            (
                "updates.csv",
                0xa884_1727_5f60_4fdc,
                0xfc61_5eba_8330_dbfe,
                0x6695_fe84_ffb3_c2d8,
            ),
        ],
    );
}

#[test]
fn bench_rounds_1e4_csv_is_pinned() {
    pinned(
        "rounds-1e4",
        &[
            (
                "runs.csv",
                0x3588_94bf_6490_50eb,
                0xaf30_1a62_ebe6_873a,
                0x9618_461f_f552_a1be,
            ),
            (
                "summary.csv",
                0x7f49_c8cc_8600_499b,
                0x4f6e_8dcf_0b1d_81b1,
                0xf110_0a69_2496_5f81,
            ),
            (
                "updates.csv",
                0x683e_d8e0_4fd8_0e5a,
                0xe9f4_0407_35f8_57c6,
                0x445d_97a8_52a4_2f48,
            ),
        ],
    );
}

#[test]
fn bench_async_1e3_csv_is_pinned() {
    pinned(
        "async-1e3",
        &[
            (
                "runs.csv",
                0x4d0e_98a9_b6de_06ff,
                0x2dde_75b5_6290_d2b2,
                0x88fa_1eed_112e_6f2b,
            ),
            (
                "summary.csv",
                0x40f5_9a4b_5695_fac7,
                0x207e_c4a1_4607_faa7,
                0x77b7_afe0_4cb2_a6ec,
            ),
            (
                "updates.csv",
                0xc571_11ad_7a2a_e814,
                0xb160_fc88_d736_8b49,
                0xd8d7_5dad_0fcf_e2fe,
            ),
        ],
    );
}

#[test]
fn bench_async_1e4_csv_is_pinned() {
    pinned(
        "async-1e4",
        &[
            (
                "runs.csv",
                0xb675_fe84_e8db_004c,
                0x9296_9598_5aff_0cf1,
                0x5e03_e68b_d454_b7cc,
            ),
            (
                "summary.csv",
                0xd540_f078_d91d_ce64,
                0xed0b_0c4f_8afb_df9e,
                0xd17d_a674_69d9_0a63,
            ),
            (
                "updates.csv",
                0x2836_ea27_84e1_51dc,
                0x991f_3345_fc18_fbe8,
                0xf821_870d_640c_5e89,
            ),
        ],
    );
}
