//! Provenance: every results folder says what made it (issue 11, item 1).
//!
//! Two files sit next to the CSV files:
//! - `scenario.resolved.toml`: the scenario with every default filled in, exactly as
//!   `gossip-sim check` prints it (for a sweep: the points as comments, then point 0);
//! - `run.toml`: the `--set` overrides and result-changing flags as given, the scenario's
//!   warnings, the gossip-sim version, the git commit it was built from, the `schema_version`
//!   of the CSV files, and which of their columns are the run's parameters and which of those
//!   the sweep varied.
//!
//! `run.toml` is also what marks a folder as gossip-sim's own (see [`super::folder`]).
//!
//! Both files are deterministic: no wall clock, no host name, no absolute path, no `--jobs`,
//! `--out`, `--resume` or `--shard`, since an uninterrupted run, a resumed one, merged shards and
//! runs on any number of threads must give the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::RunColumns;
use crate::scenario::{Sweep, toml_string};

/// The manifest of a results folder.
pub const RUN_MANIFEST: &str = "run.toml";
/// The resolved scenario of a results folder.
pub const RESOLVED_SCENARIO: &str = "scenario.resolved.toml";
/// The provenance files, in the order written.
pub const PROVENANCE_FILES: [&str; 2] = [RESOLVED_SCENARIO, RUN_MANIFEST];

/// The version of the CSV files' columns; bumped whenever a column is added, removed, renamed
/// or changes meaning. 1: the files before provenance. 2: the same columns, with `run.toml`
/// and `scenario.resolved.toml` beside them. 3: every row carries the run's parameters after
/// `scenario,trial,seed` (`point`, `nodes`, `protocol_kind`, ..., the other swept keys without
/// dots: see `output::params`); runs.csv's `nodes` is that column, regions.csv's region size is
/// `region_nodes`, a swept key is no longer `sweep.KEY` but `KEY` with `_` for `.`.
pub const SCHEMA_VERSION: u32 = 4;

/// The commit gossip-sim was built from (build.rs), "unknown" outside a git checkout.
pub const GIT_COMMIT: &str = env!("GOSSIP_SIM_GIT_COMMIT");

/// The first line of `run.toml`: how a folder is recognised as gossip-sim's.
const GENERATOR_LINE: &str = "generator = \"gossip-sim\"";

/// How a run was asked for, as given on the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provenance {
    /// The scenario file's name, without its folder (a path would differ between machines).
    pub scenario_file: String,
    /// `--set KEY=VALUE`, in order.
    pub overrides: Vec<String>,
    /// The other flags that change results (`--seed N`, `--trials N`), as given.
    pub flags: Vec<String>,
    /// The scenario's warnings (values that have no effect), without their place, as printed
    /// on stderr: a reader of the results learns what the run ignored.
    pub warnings: Vec<String>,
}

impl Provenance {
    /// The text of `run.toml` of a run of `scenario` whose parameter columns are `columns`.
    pub fn run_toml(&self, scenario: &str, columns: &RunColumns) -> String {
        let list = |items: &[String]| {
            let quoted: Vec<String> = items.iter().map(|item| toml_string(item)).collect();
            format!("[{}]", quoted.join(", "))
        };
        let mut text = String::new();
        let _ = writeln!(text, "{GENERATOR_LINE}");
        let _ = writeln!(text, "schema_version = {SCHEMA_VERSION}");
        let _ = writeln!(
            text,
            "gossip_sim_version = {}",
            toml_string(env!("CARGO_PKG_VERSION"))
        );
        let _ = writeln!(text, "git_commit = {}", toml_string(GIT_COMMIT));
        let _ = writeln!(text, "scenario = {}", toml_string(scenario));
        let _ = writeln!(text, "scenario_file = {}", toml_string(&self.scenario_file));
        let _ = writeln!(text, "overrides = {}", list(&self.overrides));
        let _ = writeln!(text, "flags = {}", list(&self.flags));
        let _ = writeln!(text, "warnings = {}", list(&self.warnings));
        let _ = writeln!(text, "parameter_columns = {}", list(columns.names()));
        let (keys, swept): (Vec<String>, Vec<String>) = columns
            .swept()
            .map(|(key, column)| (key.to_owned(), column.to_owned()))
            .unzip();
        let _ = writeln!(text, "sweep_keys = {}", list(&keys));
        let _ = writeln!(text, "sweep_columns = {}", list(&swept));
        let _ = writeln!(text, "resolved = {}", toml_string(RESOLVED_SCENARIO));
        text
    }

    /// Both provenance files of a run of `sweep` with parameter columns `columns`, in
    /// [`PROVENANCE_FILES`] order.
    pub fn files(&self, sweep: &Sweep, columns: &RunColumns) -> Vec<(String, Vec<u8>)> {
        vec![
            (
                RESOLVED_SCENARIO.to_owned(),
                resolved_text(sweep).into_bytes(),
            ),
            (
                RUN_MANIFEST.to_owned(),
                self.run_toml(&sweep.points[0].scenario.name, columns)
                    .into_bytes(),
            ),
        ]
    }
}

/// The swept keys of a `run.toml`, each with its column (`sweep_keys`, `sweep_columns`); none
/// when the text has no such lists (schema 2 and before, or not a manifest).
pub fn swept_columns(run_toml: &str) -> Vec<(String, String)> {
    let Ok(table) = run_toml.parse::<toml::Table>() else {
        return Vec::new();
    };
    let strings = |name: &str| -> Vec<String> {
        table
            .get(name)
            .and_then(toml::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    strings("sweep_keys")
        .into_iter()
        .zip(strings("sweep_columns"))
        .collect()
}

/// Whether `text` is a `run.toml` that gossip-sim wrote.
pub fn is_run_manifest(text: &str) -> bool {
    text.lines().next() == Some(GENERATOR_LINE) && text.parse::<toml::Table>().is_ok()
}

/// The sweep resolved, as `gossip-sim check` prints it: for a sweep, its points as comments,
/// then point 0 with every default filled in.
pub fn resolved_text(sweep: &Sweep) -> String {
    let mut text = String::new();
    if sweep.is_sweep() {
        let _ = writeln!(
            text,
            "# sweep: {} points over {}",
            sweep.points.len(),
            sweep.keys.join(", ")
        );
        for point in &sweep.points {
            let params: Vec<String> = point
                .params
                .iter()
                .map(|(key, value)| format!("{key} = {value}"))
                .collect();
            let _ = writeln!(text, "# point {}: {}", point.index, params.join(", "));
        }
        let _ = writeln!(text, "# point 0, resolved:");
    }
    let _ = write!(text, "{}", sweep.points[0].scenario);
    text
}

/// The keys whose values differ between two resolved scenarios, `found` (in a folder) and
/// `wanted` (this run), one `key: FOUND there, WANTED here` each, in key order. The sweep's
/// points count as keys `sweep` and `sweep point N`.
pub fn differences(found: &str, wanted: &str) -> Vec<String> {
    let (found, wanted) = (flatten(found), flatten(wanted));
    let keys: std::collections::BTreeSet<&String> = found.keys().chain(wanted.keys()).collect();
    keys.into_iter()
        .filter(|key| found.get(*key) != wanted.get(*key))
        .map(|key| {
            let side = |map: &BTreeMap<String, String>| {
                map.get(key).cloned().unwrap_or_else(|| "(none)".to_owned())
            };
            format!("{key}: {} there, {} here", side(&found), side(&wanted))
        })
        .collect()
}

/// Every value of a resolved scenario by dotted key (`crashes[0].at_ms`), and the sweep's comment
/// lines; a text that is not TOML is one value under `(unreadable)`.
fn flatten(text: &str) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# sweep: ") {
            values.insert("sweep".to_owned(), rest.to_owned());
        } else if let Some(rest) = line.strip_prefix("# point ")
            && let Some((index, params)) = rest.split_once(": ")
        {
            values.insert(format!("sweep point {index}"), params.to_owned());
        }
    }
    match text.parse::<toml::Table>() {
        Ok(table) => flatten_into(&mut values, "", &toml::Value::Table(table)),
        Err(_) => {
            values.insert("(unreadable)".to_owned(), "a damaged file".to_owned());
        }
    }
    values
}

fn flatten_into(values: &mut BTreeMap<String, String>, key: &str, value: &toml::Value) {
    match value {
        toml::Value::Table(table) => {
            for (name, child) in table {
                let key = if key.is_empty() {
                    name.clone()
                } else {
                    format!("{key}.{name}")
                };
                flatten_into(values, &key, child);
            }
        }
        toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
            for (i, child) in items.iter().enumerate() {
                flatten_into(values, &format!("{key}[{i}]"), child);
            }
        }
        other => {
            values.insert(key.to_owned(), other.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_is_recognised_and_holds_no_path_or_clock() {
        let provenance = Provenance {
            scenario_file: "s.toml".to_owned(),
            overrides: vec!["protocol.fanout=3".to_owned(), "name=\"x\"".to_owned()],
            flags: vec!["--seed".to_owned(), "5".to_owned()],
            warnings: vec!["network.latency = { dist = \"constant\", ms = 5 }: why".to_owned()],
        };
        let columns = RunColumns::new(
            &["network.loss".to_owned(), "crashes.0.fraction".to_owned()],
            &[],
        );
        let text = provenance.run_toml("s", &columns);
        assert!(is_run_manifest(&text), "{text}");
        let table: toml::Table = text.parse().unwrap();
        assert_eq!(table["schema_version"].as_integer(), Some(4));
        assert_eq!(
            table["parameter_columns"].as_array().unwrap().len(),
            1 + super::super::params::FIXED.len() + 1
        );
        assert_eq!(
            swept_columns(&text),
            [
                ("network.loss".to_owned(), "network_loss".to_owned()),
                (
                    "crashes.0.fraction".to_owned(),
                    "crashes_0_fraction".to_owned()
                )
            ]
        );
        assert!(swept_columns("generator = \"gossip-sim\"\n").is_empty());
        assert_eq!(
            table["overrides"].as_array().unwrap()[1].as_str(),
            Some("name=\"x\"")
        );
        assert_eq!(
            table["warnings"].as_array().unwrap()[0].as_str(),
            Some("network.latency = { dist = \"constant\", ms = 5 }: why")
        );
        assert!(!is_run_manifest("scenario = \"s\"\n"));
        assert!(!is_run_manifest("generator = \"gossip-sim\"\n[[[\n"));
    }

    #[test]
    fn differences_name_each_key_with_both_values() {
        let a = "name = \"a\"\nnodes = 10\n[protocol]\nkind = \"push\"\n[[crashes]]\nat_ms = 5\n";
        let b = "name = \"a\"\nnodes = 20\n[protocol]\nkind = \"pull\"\n[[crashes]]\nat_ms = 6\n";
        assert_eq!(
            differences(a, b),
            [
                "crashes[0].at_ms: 5 there, 6 here",
                "nodes: 10 there, 20 here",
                "protocol.kind: \"push\" there, \"pull\" here"
            ]
        );
        assert!(differences(a, a).is_empty());
        let sweep = "# sweep: 2 points over nodes\n# point 0: nodes = 10\n# point 1: nodes = 20\n";
        let other = "# sweep: 2 points over nodes\n# point 0: nodes = 10\n# point 1: nodes = 30\n";
        assert_eq!(
            differences(sweep, other),
            ["sweep point 1: nodes = 20 there, nodes = 30 here"]
        );
    }
}
