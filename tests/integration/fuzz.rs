//! Fuzzing on stable Rust: random scenario documents, built from the schema, fed to
//! `scenario::parse`; every one that validates is printed back, re-parsed, shrunk to a small
//! size and run for one trial, and its CSV tables written. Nothing may panic, every error must
//! be one line naming the file, and the printed scenario must parse back to the same scenario.
//!
//! The documents are trees of tables with keys from the schema (and some that are not), values
//! of the right type in a plausible range, at the edges of their range (huge, negative, NaN,
//! infinity) or of the wrong type, and sometimes mangled as text afterwards. Three levels of
//! hostility keep a good share of the documents valid, so the engine sees odd-but-legal input.
//!
//! `GOSSIP_FUZZ_CASES` sets the number of generated documents (default [`DEFAULT_CASES`], about
//! 20 seconds in release on two cores), `GOSSIP_FUZZ_SEED` the seed (default: from the clock,
//! printed). The committed corpus in `tests/fuzz-corpus/` is replayed first; a file there may
//! start with `# set: KEY=VALUE` lines, applied as `--set` flags.

use std::fmt;
use std::path::Path;
use std::sync::atomic::AtomicU64;

use gossip_sim::internals::estimate_memory;
use gossip_sim::output::{CoverageTable, RunsTable, TablesTable, UpdatesTable, write_table};
use gossip_sim::protocol::run_trial;
use gossip_sim::scenario::{Catalog, Scenario, parse};
use proptest::prelude::*;
use proptest::strategy::{Union, ValueTree};
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use crate::specs;

/// Generated documents when `GOSSIP_FUZZ_CASES` is not set.
const DEFAULT_CASES: u32 = 60_000;

/// Limits of a scenario that is run: larger ones are shrunk with `--set` first.
const RUN_NODES: u32 = 64;
const RUN_ROUNDS: u32 = 200;
const RUN_UPDATES: u32 = 100;
const RUN_PRODUCTS: u32 = 1_000;

// ---- the documents -------------------------------------------------------------------------

/// A TOML value as the generator builds it; `Raw` is a token written as is (`12`, `nan`,
/// `99999999999999999999`, `1979-05-27`), so values TOML can write but `toml` cannot build are
/// reachable too.
#[derive(Clone, Debug)]
enum V {
    Raw(String),
    Str(String),
    Arr(Vec<V>),
    Table(Vec<(String, V)>),
}

/// A generated document: the tree, how to write it, and what to do to the text afterwards.
#[derive(Clone)]
struct Doc {
    root: Vec<(String, V)>,
    /// Top-level tables as `[section]` headers (else inline).
    headers: bool,
    mangle: Option<Mangle>,
    overrides: Vec<String>,
}

#[derive(Clone, Debug)]
enum Mangle {
    /// Remove `len` characters at `at` (a fraction of the text).
    Delete { at: f64, len: usize },
    /// Insert `text` at `at`.
    Insert { at: f64, text: String },
    /// Repeat line `line` (modulo the line count).
    DuplicateLine { line: usize },
    /// Swap two lines.
    SwapLines { a: usize, b: usize },
}

impl Doc {
    fn text(&self) -> String {
        let mut out = String::new();
        let (tables, values): (Vec<_>, Vec<_>) = self
            .root
            .iter()
            .partition(|(_, v)| self.headers && (matches!(v, V::Table(_)) || is_table_array(v)));
        for (key, value) in values {
            out.push_str(&format!("{} = {}\n", toml_key(key), inline(value)));
        }
        for (key, value) in tables {
            match value {
                V::Table(entries) => {
                    out.push_str(&format!("\n[{}]\n", toml_key(key)));
                    for (k, v) in entries {
                        out.push_str(&format!("{} = {}\n", toml_key(k), inline(v)));
                    }
                }
                V::Arr(items) => {
                    for item in items {
                        let V::Table(entries) = item else { continue };
                        out.push_str(&format!("\n[[{}]]\n", toml_key(key)));
                        for (k, v) in entries {
                            out.push_str(&format!("{} = {}\n", toml_key(k), inline(v)));
                        }
                    }
                }
                _ => {}
            }
        }
        match &self.mangle {
            None => out,
            Some(mangle) => mangled(&out, mangle),
        }
    }
}

/// The document and flags in full, so that a failure shows exactly what to put in the corpus.
impl fmt::Debug for Doc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "overrides: {:?}", self.overrides)?;
        writeln!(f, "document ({:?}):", self.mangle)?;
        write!(f, "{}", self.text())
    }
}

fn is_table_array(v: &V) -> bool {
    matches!(v, V::Arr(items) if !items.is_empty() && items.iter().all(|i| matches!(i, V::Table(_))))
}

fn toml_key(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_owned()
    } else {
        toml_string(key)
    }
}

fn toml_string(value: &str) -> String {
    let mut quoted = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", c as u32)),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

fn inline(value: &V) -> String {
    match value {
        V::Raw(token) => token.clone(),
        V::Str(text) => toml_string(text),
        V::Arr(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        V::Table(entries) => {
            let entries: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{} = {}", toml_key(k), inline(v)))
                .collect();
            format!("{{ {} }}", entries.join(", "))
        }
    }
}

fn mangled(text: &str, mangle: &Mangle) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = |fraction: f64| ((chars.len() as f64 * fraction) as usize).min(chars.len());
    match mangle {
        Mangle::Delete { at: f, len } => {
            let start = at(*f);
            let end = (start + len).min(chars.len());
            chars[..start].iter().chain(&chars[end..]).collect()
        }
        Mangle::Insert { at: f, text } => {
            let start = at(*f);
            let mut out: String = chars[..start].iter().collect();
            out.push_str(text);
            out.extend(&chars[start..]);
            out
        }
        Mangle::DuplicateLine { line } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = line % lines.len();
                lines.insert(i, lines[i]);
            }
            lines.join("\n")
        }
        Mangle::SwapLines { a, b } => {
            let mut lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let n = lines.len();
                lines.swap(a % n, b % n);
            }
            lines.join("\n")
        }
    }
}

// ---- the schema ----------------------------------------------------------------------------

/// What a key holds, with the range its plausible values come from.
#[derive(Clone, Copy)]
enum Kind {
    Int(i64, i64),
    Float(f64, f64),
    Str,
    Choice(&'static [&'static str]),
    Bool,
    Ints(i64, i64),
    Table(&'static [(&'static str, Kind, f64)]),
    Tables(&'static [(&'static str, Kind, f64)]),
}

use Kind::*;

/// Every key of the file format: (key, kind, probability of being present).
const TOP: &[(&str, Kind, f64)] = &[
    ("name", Str, 0.95),
    ("seed", Int(0, 1_000), 0.5),
    ("nodes", Int(2, 40), 0.95),
    ("trials", Int(1, 5), 0.3),
    ("max_rounds", Int(1, 80), 0.7),
    ("protocol", Table(PROTOCOL), 0.95),
    ("network", Table(NETWORK), 0.5),
    ("crashes", Tables(CRASH), 0.3),
    ("churn", Table(CHURN), 0.2),
    ("updates", Tables(UPDATE), 0.8),
    ("workload", Table(WORKLOAD), 0.4),
    ("sizes", Table(SIZES), 0.15),
    ("output", Table(OUTPUT), 0.4),
];
const PROTOCOL: &[(&str, Kind, f64)] = &[
    (
        "kind",
        Choice(&["push", "pull", "push-pull", "rumor", "median-counter"]),
        0.95,
    ),
    ("fanout", Int(1, 4), 0.5),
    ("timing", Choice(&["rounds", "async"]), 0.5),
    ("period_ms", Int(1, 2_000), 0.4),
    ("jitter_ms", Int(0, 500), 0.3),
    ("exchange", Choice(&["digest", "full-table"]), 0.4),
    ("mode", Choice(&["push", "pull", "push-pull"]), 0.1),
    ("termination", Choice(&["feedback", "blind"]), 0.1),
    ("removal", Choice(&["counter", "coin"]), 0.1),
    ("k", Int(1, 5), 0.1),
    ("ctr_max", Int(1, 6), 0.1),
    ("anti_entropy_every", Int(1, 10), 0.1),
];
const NETWORK: &[(&str, Kind, f64)] = &[
    ("loss", Float(0.0, 1.0), 0.7),
    ("latency", Table(LATENCY), 0.6),
];
const LATENCY: &[(&str, Kind, f64)] = &[
    (
        "dist",
        Choice(&["constant", "uniform", "exponential", "log-normal"]),
        0.95,
    ),
    ("ms", Float(0.0, 300.0), 0.3),
    ("min_ms", Float(0.0, 100.0), 0.3),
    ("max_ms", Float(0.0, 3_000.0), 0.3),
    ("mean_ms", Float(0.0, 300.0), 0.3),
    ("median_ms", Float(0.0, 300.0), 0.3),
    ("sigma", Float(0.0, 4.0), 0.3),
];
const CRASH: &[(&str, Kind, f64)] = &[
    ("at_round", Int(0, 60), 0.5),
    ("at_ms", Int(0, 60_000), 0.3),
    ("fraction", Float(0.0, 1.0), 0.5),
    ("nodes", Ints(0, 40), 0.4),
    ("recover_after_rounds", Int(0, 30), 0.3),
    ("recover_after_ms", Int(0, 30_000), 0.2),
    ("keep_state", Bool, 0.4),
];
const CHURN: &[(&str, Kind, f64)] = &[
    ("crash_rate", Float(0.0, 0.3), 0.9),
    ("mean_downtime_rounds", Int(0, 20), 0.6),
    ("mean_downtime_ms", Int(0, 20_000), 0.3),
    ("keep_state", Bool, 0.4),
    ("start_round", Int(0, 60), 0.2),
    ("start_ms", Int(0, 60_000), 0.1),
    ("stop_round", Int(0, 80), 0.2),
    ("stop_ms", Int(0, 80_000), 0.1),
];
const UPDATE: &[(&str, Kind, f64)] = &[
    ("product", Str, 0.95),
    ("price", Float(0.0, 1_000.0), 0.95),
    ("origin", Int(0, 40), 0.95),
    ("at_round", Int(0, 60), 0.4),
    ("at_ms", Int(0, 60_000), 0.2),
];
const WORKLOAD: &[(&str, Kind, f64)] = &[
    ("products", Int(1, 30), 0.6),
    ("updates", Int(0, 40), 0.7),
    ("start_round", Int(0, 60), 0.3),
    ("start_ms", Int(0, 60_000), 0.1),
    ("per_round", Float(0.0, 10.0), 0.4),
    ("zipf", Float(0.0, 3.0), 0.4),
    ("min_price", Float(0.0, 100.0), 0.3),
    ("max_price", Float(0.0, 10_000.0), 0.3),
];
const SIZES: &[(&str, Kind, f64)] = &[
    ("header", Int(0, 100), 0.6),
    ("entry", Int(0, 100), 0.6),
    ("digest_entry", Int(0, 100), 0.6),
];
const OUTPUT: &[(&str, Kind, f64)] = &[("coverage", Bool, 0.7), ("tables", Bool, 0.7)];

/// Integers at and beyond every boundary the validator knows.
const EDGE_INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "64",
    "65",
    "255",
    "65536",
    "86400000",
    "86400001",
    "10000000",
    "10000001",
    "100000000",
    "100000001",
    "4294967295",
    "4294967296",
    "18446744073709551",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551615",
    "99999999999999999999",
    "0x10",
    "0o17",
    "0b101",
    "+5",
    "1_000",
];

/// Floats at the edges: zero, signed zero, the smallest and largest, just off 1, not numbers.
const EDGE_FLOATS: &[&str] = &[
    "0.0",
    "-0.0",
    "1.0",
    "0.5",
    "1e-7",
    "5e-324",
    "2.2250738585072014e-308",
    "1e-300",
    "1e300",
    "1.7976931348623157e308",
    "1e400",
    "0.9999999999999999",
    "1.0000000000000002",
    "-1.0",
    "-1e-300",
    "nan",
    "+nan",
    "-nan",
    "inf",
    "+inf",
    "-inf",
    "3",
    "1e3",
    "1E3",
];

/// How hostile a document is: the weights of plausible, edge and wrong-type values, the chance
/// of an unknown key, of mangling the text and of `--set` flags.
#[derive(Clone, Copy, Debug)]
struct Hostility {
    plausible: u32,
    edge: u32,
    wrong: u32,
    unknown_key: f64,
}

const HOSTILITIES: [Hostility; 3] = [
    Hostility {
        plausible: 1,
        edge: 0,
        wrong: 0,
        unknown_key: 0.0,
    },
    Hostility {
        plausible: 40,
        edge: 2,
        wrong: 1,
        unknown_key: 0.01,
    },
    Hostility {
        plausible: 6,
        edge: 3,
        wrong: 2,
        unknown_key: 0.1,
    },
];

fn float_token(x: f64) -> String {
    // `{:?}` always has a `.` or an exponent, as TOML wants.
    format!("{x:?}")
}

fn plausible(kind: Kind, h: Hostility) -> BoxedStrategy<V> {
    match kind {
        Int(lo, hi) => (lo..=hi).prop_map(|i| V::Raw(i.to_string())).boxed(),
        Float(lo, hi) => prop_oneof![
            4 => (lo..=hi).prop_map(|x| V::Raw(float_token(x))),
            1 => (lo as i64..=hi as i64).prop_map(|i| V::Raw(i.to_string())),
            1 => Just(V::Raw(float_token(lo))),
        ]
        .boxed(),
        Str => prop_oneof![
            6 => "[A-Za-z][A-Za-z0-9_.-]{0,11}".prop_map(V::Str),
            1 => prop::sample::select(&["P1", "P2", "P000001", "P000002", "a"][..])
                .prop_map(|s| V::Str(s.to_owned())),
        ]
        .boxed(),
        Choice(options) => prop::sample::select(options)
            .prop_map(|s| V::Str(s.to_owned()))
            .boxed(),
        Bool => any::<bool>().prop_map(|b| V::Raw(b.to_string())).boxed(),
        Ints(lo, hi) => prop::collection::vec(lo..=hi, 0..5)
            .prop_map(|ids| V::Arr(ids.into_iter().map(|i| V::Raw(i.to_string())).collect()))
            .boxed(),
        Table(schema) => table(schema, h).prop_map(V::Table).boxed(),
        Tables(schema) => prop::collection::vec(table(schema, h).prop_map(V::Table), 0..4)
            .prop_map(V::Arr)
            .boxed(),
    }
}

fn edge(kind: Kind, h: Hostility) -> BoxedStrategy<V> {
    match kind {
        Int(..) => prop::sample::select(EDGE_INTS)
            .prop_map(|t| V::Raw(t.to_owned()))
            .boxed(),
        Float(..) => prop::sample::select(EDGE_FLOATS)
            .prop_map(|t| V::Raw(t.to_owned()))
            .boxed(),
        Str | Choice(_) => prop_oneof![
            Just(V::Str(String::new())),
            "\\PC{0,70}".prop_map(V::Str),
            "[a-z]{65,70}".prop_map(V::Str),
            Just(V::Str("../../etc/passwd".into())),
            Just(V::Str("a\u{0}b\u{7f}\u{202e}é✓".into())),
            Just(V::Str("PUSH".into())),
            Just(V::Str("push ".into())),
        ]
        .boxed(),
        Bool => prop_oneof![Just(V::Raw("1".into())), Just(V::Str("true".into()))].boxed(),
        Ints(..) => prop_oneof![
            Just(V::Arr(vec![])),
            prop::collection::vec(prop::sample::select(EDGE_INTS), 1..4)
                .prop_map(|ids| V::Arr(ids.into_iter().map(|t| V::Raw(t.to_owned())).collect())),
            Just(V::Arr(vec![V::Raw("1".into()), V::Raw("1".into())])),
        ]
        .boxed(),
        // Tables at the edge: empty, or many entries.
        Table(schema) => {
            prop_oneof![Just(V::Table(vec![])), table(schema, h).prop_map(V::Table),].boxed()
        }
        Tables(schema) => prop_oneof![
            Just(V::Arr(vec![])),
            Just(V::Arr(vec![V::Table(vec![])])),
            prop::collection::vec(table(schema, h).prop_map(V::Table), 5..12).prop_map(V::Arr),
        ]
        .boxed(),
    }
}

/// A value of some other type than the key takes (or of the same, by chance).
fn wrong() -> BoxedStrategy<V> {
    let leaf = prop_oneof![
        "\\PC{0,12}".prop_map(V::Str),
        any::<bool>().prop_map(|b| V::Raw(b.to_string())),
        any::<i64>().prop_map(|i| V::Raw(i.to_string())),
        any::<f64>().prop_map(|x| V::Raw(if x.is_finite() {
            float_token(x)
        } else {
            "nan".into()
        })),
        prop::sample::select(&["1979-05-27", "1979-05-27T07:32:00Z", "07:32:00"][..])
            .prop_map(|t| V::Raw(t.to_owned())),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(V::Arr),
            prop::collection::vec(("[a-z_]{1,6}", inner), 0..3).prop_map(|entries| {
                // A table cannot hold a key twice: that is a syntax error, not a type error.
                let mut seen = std::collections::BTreeSet::new();
                V::Table(
                    entries
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
        ]
    })
    .boxed()
}

fn value(kind: Kind, h: Hostility) -> BoxedStrategy<V> {
    let mut options = vec![(h.plausible, plausible(kind, h))];
    if h.edge > 0 {
        options.push((h.edge, edge(kind, h)));
    }
    if h.wrong > 0 {
        options.push((h.wrong, wrong()));
    }
    Union::new_weighted(options).boxed()
}

/// A table of the schema: each key present with its probability, plus maybe an unknown key.
fn table(
    schema: &'static [(&'static str, Kind, f64)],
    h: Hostility,
) -> BoxedStrategy<Vec<(String, V)>> {
    let keys: Vec<BoxedStrategy<Option<(String, V)>>> = schema
        .iter()
        .map(|&(key, kind, p)| {
            prop::option::weighted(p, value(kind, h).prop_map(move |v| (key.to_owned(), v))).boxed()
        })
        .collect();
    let unknown = prop::option::weighted(
        h.unknown_key.max(f64::MIN_POSITIVE),
        (
            prop_oneof!["[a-z_]{1,10}", "\\PC{1,6}", Just("nodes ".to_owned())],
            wrong(),
        ),
    );
    (keys, unknown)
        .prop_map(|(keys, unknown)| {
            let mut entries: Vec<(String, V)> = keys.into_iter().flatten().collect();
            if let Some((key, v)) = unknown
                && !entries.iter().any(|(k, _)| *k == key)
            {
                entries.push((key, v));
            }
            entries
        })
        .boxed()
}

/// Dotted keys for `--set`, valid and not.
const SET_KEYS: &[&str] = &[
    "nodes",
    "max_rounds",
    "seed",
    "trials",
    "protocol.kind",
    "protocol.fanout",
    "protocol.timing",
    "protocol.jitter_ms",
    "protocol.mode",
    "protocol.k",
    "protocol.ctr_max",
    "protocol.anti_entropy_every",
    "network.loss",
    "network.latency",
    "network.latency.dist",
    "network.latency.sigma",
    "crashes.0.at_round",
    "crashes.0.nodes",
    "crashes.1",
    "churn.crash_rate",
    "updates.0.origin",
    "updates.0.at_ms",
    "updates.1.product",
    "workload.updates",
    "workload.zipf",
    "workload.per_round",
    "output.tables",
    "bogus",
    "protocol.kind.deeper",
    "crashes.x",
    "updates.99",
];

/// One change to a valid document's tree, at the `at`-th entry in document order (modulo the
/// number of entries).
#[derive(Clone, Debug)]
enum Mutation {
    Replace {
        at: usize,
        with: V,
    },
    Delete {
        at: usize,
    },
    /// A key the schema does not have, next to the entry.
    Unknown {
        at: usize,
        key: String,
        with: V,
    },
}

/// Any hostile value: an edge of some type, or the wrong type.
fn hostile_value() -> BoxedStrategy<V> {
    let h = HOSTILITIES[2];
    prop_oneof![
        edge(Int(0, 0), h),
        edge(Float(0.0, 0.0), h),
        edge(Str, h),
        edge(Bool, h),
        edge(Ints(0, 0), h),
        wrong(),
    ]
    .boxed()
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        6 => (any::<usize>(), hostile_value()).prop_map(|(at, with)| Mutation::Replace { at, with }),
        2 => any::<usize>().prop_map(|at| Mutation::Delete { at }),
        1 => (
            any::<usize>(),
            prop_oneof!["[a-z_]{1,10}", "\\PC{1,6}", Just("nodes ".to_owned()), Just("Nodes".to_owned())],
            hostile_value(),
        )
            .prop_map(|(at, key, with)| Mutation::Unknown { at, key, with }),
    ]
}

/// A valid document's tree.
fn tree_of(text: &str) -> Vec<(String, V)> {
    fn convert(value: toml::Value) -> V {
        match value {
            toml::Value::String(s) => V::Str(s),
            toml::Value::Integer(i) => V::Raw(i.to_string()),
            toml::Value::Float(x) => V::Raw(float_token(x)),
            toml::Value::Boolean(b) => V::Raw(b.to_string()),
            toml::Value::Datetime(d) => V::Raw(d.to_string()),
            toml::Value::Array(items) => V::Arr(items.into_iter().map(convert).collect()),
            toml::Value::Table(table) => {
                V::Table(table.into_iter().map(|(k, v)| (k, convert(v))).collect())
            }
        }
    }
    let table: toml::Table = toml::from_str(text).expect("a spec is valid TOML");
    table.into_iter().map(|(k, v)| (k, convert(v))).collect()
}

fn entries(table: &[(String, V)]) -> usize {
    table.iter().map(|(_, v)| 1 + inner_entries(v)).sum()
}

fn inner_entries(v: &V) -> usize {
    match v {
        V::Table(t) => entries(t),
        V::Arr(items) => items.iter().map(|i| 1 + inner_entries(i)).sum(),
        _ => 0,
    }
}

/// Applies `mutation` to the entry numbered `*at` (counting down) in `table`. Returns true once
/// applied.
fn mutate(table: &mut Vec<(String, V)>, at: &mut usize, mutation: &Mutation) -> bool {
    for i in 0..table.len() {
        if *at == 0 {
            match mutation {
                Mutation::Replace { with, .. } => table[i].1 = with.clone(),
                Mutation::Delete { .. } => {
                    table.remove(i);
                }
                Mutation::Unknown { key, with, .. } => {
                    if !table.iter().any(|(k, _)| k == key) {
                        table.insert(i, (key.clone(), with.clone()));
                    }
                }
            }
            return true;
        }
        *at -= 1;
        if mutate_value(&mut table[i].1, at, mutation) {
            return true;
        }
    }
    false
}

fn mutate_value(value: &mut V, at: &mut usize, mutation: &Mutation) -> bool {
    match value {
        V::Table(t) => mutate(t, at, mutation),
        V::Arr(items) => {
            for i in 0..items.len() {
                if *at == 0 {
                    match mutation {
                        Mutation::Replace { with, .. } => items[i] = with.clone(),
                        Mutation::Delete { .. } => {
                            items.remove(i);
                        }
                        Mutation::Unknown { .. } => {}
                    }
                    return true;
                }
                *at -= 1;
                if mutate_value(&mut items[i], at, mutation) {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

/// A valid scenario with a few hostile changes (or none).
fn mutated_spec() -> impl Strategy<Value = Doc> {
    (
        specs::spec(specs::Options::all()),
        prop::collection::vec(mutation(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(spec, mutations, headers)| {
            // toml's integers are i64: the seed, a u64, goes in as a token.
            let text = spec
                .toml()
                .replace(&format!("seed = {}", spec.seed), "seed = 0");
            let mut root = tree_of(&text);
            for (key, value) in &mut root {
                if key == "seed" {
                    *value = V::Raw(spec.seed.to_string());
                }
            }
            for mutation in &mutations {
                let n = entries(&root);
                let (Mutation::Replace { at, .. }
                | Mutation::Delete { at }
                | Mutation::Unknown { at, .. }) = mutation;
                let mut at = at % n.max(1);
                mutate(&mut root, &mut at, mutation);
            }
            Doc {
                root,
                headers,
                mangle: None,
                overrides: Vec::new(),
            }
        })
}

fn doc() -> impl Strategy<Value = Doc> {
    prop_oneof![
        3 => mutated_spec(),
        1 => schema_doc(),
    ]
}

/// A document drawn key by key from the schema.
fn schema_doc() -> impl Strategy<Value = Doc> {
    (0..HOSTILITIES.len()).prop_flat_map(|level| {
        let h = HOSTILITIES[level];
        let mangle = prop_oneof![
            (0.0..1.0, 1usize..8).prop_map(|(at, len)| Mangle::Delete { at, len }),
            (
                0.0..1.0,
                prop_oneof![
                    prop::sample::select(
                        &[
                            "[", "]", "{", "}", "=", "\"", "\n", "#", ",", ".", "'", "[[x]]\n",
                            "\r"
                        ][..]
                    )
                    .prop_map(str::to_owned),
                    "\\PC{1,4}",
                ]
            )
                .prop_map(|(at, text)| Mangle::Insert { at, text }),
            any::<usize>().prop_map(|line| Mangle::DuplicateLine { line }),
            (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mangle::SwapLines { a, b }),
        ];
        let mangle_p: f64 = if level == 2 { 0.3 } else { 0.0 };
        let set_values = prop_oneof![
            value(Int(0, 50), HOSTILITIES[2]),
            value(Float(0.0, 1.0), HOSTILITIES[2]),
            "[a-z-]{0,10}".prop_map(V::Str),
        ];
        let overrides = prop::collection::vec(
            (prop::sample::select(SET_KEYS), set_values)
                .prop_map(|(key, v)| format!("{key}={}", inline(&v))),
            0..3,
        );
        let overrides_p: f64 = if level == 0 { 0.0 } else { 0.3 };
        (
            table(TOP, h),
            any::<bool>(),
            prop::option::weighted(mangle_p.max(f64::MIN_POSITIVE), mangle),
            prop::option::weighted(overrides_p.max(f64::MIN_POSITIVE), overrides),
        )
            .prop_map(|(root, headers, mangle, overrides)| Doc {
                root,
                headers,
                mangle,
                overrides: overrides.unwrap_or_default(),
            })
    })
}

// ---- the oracle ----------------------------------------------------------------------------

/// What happened to one document, for the closing statistics.
#[derive(Default, Debug)]
struct Tally {
    rejected: u64,
    valid: u64,
    shrunk: u64,
    ran: u64,
}

/// Parses `text` with `overrides`; checks the error, or the round trip, and runs a trial.
fn check(text: &str, overrides: &[String], tally: &mut Tally) -> Result<(), String> {
    let scenario = match parse(text, "fuzz.toml", overrides) {
        Err(error) => {
            tally.rejected += 1;
            let message = error.to_string();
            if !message.starts_with("fuzz.toml") {
                return Err(format!("the error does not name the file: {message:?}"));
            }
            if message.contains('\n') || message.contains('\r') {
                return Err(format!("the error is not one line: {message:?}"));
            }
            // Words of our source, not of the file format.
            for rust in ["struct ", "Raw", "i64", "u64", "f64", "usize", "sequence"] {
                if message.contains(rust) {
                    return Err(format!("the error speaks Rust ({rust:?}): {message:?}"));
                }
            }
            if message.chars().count() > 600 {
                return Err(format!("the error is {} characters long", message.len()));
            }
            return Ok(());
        }
        Ok(scenario) => scenario,
    };
    tally.valid += 1;
    let printed = scenario.to_string();
    match parse(&printed, "printed.toml", &[]) {
        Ok(reparsed) if reparsed == scenario => {}
        Ok(reparsed) => {
            return Err(format!(
                "printed scenario parses to another one:\n{printed}\n{reparsed:?}\n{scenario:?}"
            ));
        }
        Err(error) => {
            return Err(format!(
                "printed scenario does not parse: {error}\n{printed}"
            ));
        }
    }
    estimate_memory(&scenario);
    let Some(small) = small(text, overrides, &scenario) else {
        return Ok(());
    };
    if small != scenario {
        tally.shrunk += 1;
    }
    tally.ran += 1;
    run_one(&small)
}

/// `scenario`, or the same document with `--set` flags that make it cheap to run; `None` when
/// those flags make it invalid (an origin beyond the new node count, say).
fn small(text: &str, overrides: &[String], scenario: &Scenario) -> Option<Scenario> {
    let mut sets = overrides.to_vec();
    if scenario.nodes > RUN_NODES {
        sets.push(format!("nodes={RUN_NODES}"));
    }
    if scenario.max_rounds > RUN_ROUNDS {
        sets.push(format!("max_rounds={RUN_ROUNDS}"));
    }
    if let Some(generated) = &scenario.workload.generated
        && generated.count > RUN_UPDATES
    {
        sets.push(format!("workload.updates={RUN_UPDATES}"));
    }
    if scenario.workload.products > RUN_PRODUCTS {
        sets.push(format!("workload.products={RUN_PRODUCTS}"));
    }
    if sets.len() == overrides.len() {
        return Some(scenario.clone());
    }
    parse(text, "fuzz.toml", &sets).ok()
}

/// One trial and its CSV tables; checks that every message is accounted for.
fn run_one(scenario: &Scenario) -> Result<(), String> {
    let catalog = Catalog::new(&scenario.workload);
    let report = run_trial(scenario, &catalog, 0, &AtomicU64::new(0));
    let run = &report.run;
    let accounted = run.delivered + run.lost + run.dropped_at_crashed + run.in_flight_at_end;
    if run.messages != accounted {
        return Err(format!(
            "{} messages sent, {accounted} accounted for: {run:?}",
            run.messages
        ));
    }
    let reports = [report];
    let period = scenario.period;
    let name = scenario.name.as_str();
    let mut sink = Vec::new();
    let written = write_table(
        &UpdatesTable::new(name, period, &catalog),
        &reports,
        &mut sink,
    )
    .and_then(|()| write_table(&RunsTable::new(name, period), &reports, &mut sink))
    .and_then(|()| write_table(&CoverageTable::new(name, period), &reports, &mut sink))
    .and_then(|()| write_table(&TablesTable::new(name, &catalog), &reports, &mut sink));
    written.map_err(|error| format!("writing the tables: {error}"))
}

/// A corpus file: `# set: KEY=VALUE` lines at the top are flags.
fn corpus_overrides(text: &str) -> Vec<String> {
    text.lines()
        .map_while(|line| line.strip_prefix("# set: "))
        .map(str::to_owned)
        .collect()
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
    )
}

#[test]
fn no_scenario_document_makes_parsing_or_a_trial_panic() {
    let started = std::time::Instant::now();
    let mut tally = Tally::default();

    // The corpus first: documents that once broke something, or sit on an edge.
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|error| panic!("{}: {error}", corpus.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus has {} files", files.len());
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        let overrides = corpus_overrides(&text);
        if let Err(problem) = check(&text, &overrides, &mut tally) {
            panic!("corpus file {}: {problem}", path.display());
        }
    }
    let corpus_tally = format!("{tally:?}");

    let cases = env_number("GOSSIP_FUZZ_CASES").map_or(DEFAULT_CASES, |n| n as u32);
    let seed = env_number("GOSSIP_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    eprintln!("fuzz: {cases} cases, GOSSIP_FUZZ_SEED={seed}");
    let mut runner = TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let result = runner.run(&doc(), |doc| {
        check(&doc.text(), &doc.overrides, &mut tally.borrow_mut()).map_err(TestCaseError::fail)
    });
    let tally = tally.into_inner();
    eprintln!(
        "fuzz: corpus {} files {corpus_tally}; generated {tally:?}; {:.1} s",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    if let Err(error) = result {
        panic!("GOSSIP_FUZZ_SEED={seed} reproduces this:\n{error}");
    }
    // The generator must keep producing documents that get as far as the engine.
    assert!(tally.ran * 10 >= u64::from(cases), "{tally:?}");
}

/// A sample of generated documents, to see what the generator makes:
/// `cargo test --release fuzz::print_samples -- --ignored --nocapture`.
#[test]
#[ignore]
fn print_samples() {
    let mut runner = TestRunner::deterministic();
    for _ in 0..12 {
        let doc = doc().new_tree(&mut runner).unwrap().current();
        let result = parse(&doc.text(), "fuzz.toml", &doc.overrides);
        eprintln!(
            "{doc:?}=> {}\n",
            result.map_or_else(|e| e.to_string(), |_| "valid".to_owned())
        );
    }
}
