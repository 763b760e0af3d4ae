//! `gossip-sim plot`: SVG charts from a results folder.
//!
//! - `coverage.svg` (from `coverage.csv` and `updates.csv`): the fraction of live nodes holding
//!   an update against rounds since its injection; per sweep point, the median over every
//!   (trial, update) pair and a band from the 5th to the 95th percentile (nearest rank). A pair
//!   keeps its last coverage after its last sample.
//! - `rounds-vs-nodes.svg` (from `summary.csv`, when the sweep varies `nodes`): mean
//!   `rounds_to_all` with its 95% confidence interval against n on a log axis, one line per
//!   combination of the other swept values, and the theory column as a dashed line where there is
//!   one.
//! - `messages-vs-loss.svg` and `staleness-vs-loss.svg` (when the sweep varies `network.loss`):
//!   mean `update_messages` and mean `stale_node_rounds` with their intervals against the loss
//!   rate.
//! - `staleness-vs-budget.svg` and `bytes-vs-budget.svg` (when the sweep varies
//!   `network.budget_bytes_per_period`, else `network.max_message_bytes`): mean per-update
//!   staleness (`update_stale_node_rounds`) and mean `bytes_per_delivery` against it, log axis.

mod extra;
mod index;
pub mod svg;

use std::collections::BTreeMap;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::output::atomic;
use svg::{Axis, Chart, Series};

/// The charts `plot` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum ChartKind {
    /// Per point, the fraction of (trial, update) pairs complete against rounds: every folder.
    Completion,
    Coverage,
    /// 1 - coverage on a log axis: the last few nodes an update reaches.
    Missing,
    RoundsVsNodes,
    MessagesVsLoss,
    StalenessVsLoss,
    /// Residue against traffic per (trial, update), with Demers' s = e^-m.
    ResidueVsTraffic,
    /// Per region, the fraction of (trial, update) pairs that reached every live node of it.
    RegionsCompletion,
    /// rounds_to_all against the first numeric swept key that no other chart takes (not nodes
    /// nor network.loss).
    SweptKey,
    /// Per-update staleness against the send budget or the message size limit.
    StalenessVsBudget,
    /// Bytes per delivered update against the send budget or the message size limit.
    BytesVsBudget,
}

impl ChartKind {
    pub const ALL: [ChartKind; 11] = [
        ChartKind::Completion,
        ChartKind::Coverage,
        ChartKind::Missing,
        ChartKind::RoundsVsNodes,
        ChartKind::MessagesVsLoss,
        ChartKind::StalenessVsLoss,
        ChartKind::ResidueVsTraffic,
        ChartKind::RegionsCompletion,
        ChartKind::SweptKey,
        ChartKind::StalenessVsBudget,
        ChartKind::BytesVsBudget,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ChartKind::Completion => "completion",
            ChartKind::Coverage => "coverage",
            ChartKind::Missing => "missing",
            ChartKind::RoundsVsNodes => "rounds-vs-nodes",
            ChartKind::MessagesVsLoss => "messages-vs-loss",
            ChartKind::StalenessVsLoss => "staleness-vs-loss",
            ChartKind::ResidueVsTraffic => "residue-vs-traffic",
            ChartKind::RegionsCompletion => "regions-completion",
            ChartKind::SweptKey => "rounds-vs-swept-key",
            ChartKind::StalenessVsBudget => "staleness-vs-budget",
            ChartKind::BytesVsBudget => "bytes-vs-budget",
        }
    }

    pub fn file_name(self) -> String {
        format!("{}.svg", self.name())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot read {}: {error}", path.display())]
    Read { path: PathBuf, error: io::Error },

    #[error("{}: {message}", path.display())]
    Csv { path: PathBuf, message: String },

    #[error(transparent)]
    Write(#[from] atomic::WriteError),

    #[error("results folder {} not found", dir.display())]
    NotFound { dir: PathBuf },

    #[error(
        "no chart applies to {}: coverage and missing need coverage.csv; rounds-vs-nodes a \
         sweep over nodes; messages-vs-loss and staleness-vs-loss a sweep over network.loss; \
         residue-vs-traffic an update that missed some node; regions-completion regions.csv \
         (or draw any metric against a swept key with --x KEY --y METRIC)",
        dir.display()
    )]
    NothingToPlot { dir: PathBuf },

    #[error("--x {key}: not a swept key of {} (swept: {})", dir.display(), if swept.is_empty() { "none".to_owned() } else { swept.join(", ") })]
    NotSwept {
        key: String,
        dir: PathBuf,
        swept: Vec<String>,
    },

    #[error("--y {metric}: no such metric in {}/summary.csv (metrics: {})", dir.display(), metrics.join(", "))]
    UnknownMetric {
        metric: String,
        dir: PathBuf,
        metrics: Vec<String>,
    },

    #[error("chart {chart} does not apply to {}: {why}", dir.display())]
    NotApplicable {
        chart: &'static str,
        dir: PathBuf,
        why: &'static str,
    },

    #[error("--out names one file, but {} charts apply ({}); choose one with --chart", .charts.len(), .charts.join(", "))]
    SeveralCharts { charts: Vec<String> },
}

/// A CSV file read into memory: the header and the rows, as text.
struct Csv {
    path: PathBuf,
    header: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl Csv {
    /// Reads `dir/name`; `None` if there is no such file.
    fn read(dir: &Path, name: &str) -> Result<Option<Csv>, PlotError> {
        let path = dir.join(name);
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(PlotError::Read { path, error }),
        };
        let mut reader = csv::Reader::from_reader(io::BufReader::new(file));
        let bad = |err: csv::Error| PlotError::Csv {
            path: path.clone(),
            message: err.to_string(),
        };
        let header = reader
            .headers()
            .map_err(bad)?
            .iter()
            .map(str::to_owned)
            .collect();
        let rows = reader
            .records()
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad)?;
        Ok(Some(Csv { path, header, rows }))
    }

    fn column(&self, name: &str) -> Result<usize, PlotError> {
        self.header
            .iter()
            .position(|column| column == name)
            .ok_or_else(|| PlotError::Csv {
                path: self.path.clone(),
                message: format!("no column `{name}`"),
            })
    }

    /// The number in `column` of `row`: an error, not a chart, when it is not a finite number
    /// or lies outside what its column can hold (a fraction outside [0, 1], a negative count).
    fn number(&self, row: &csv::StringRecord, column: usize) -> Result<f64, PlotError> {
        let cell = row.get(column).unwrap_or("");
        let name = &self.header[column];
        let bad = |why: &str| PlotError::Csv {
            path: self.path.clone(),
            message: format!("`{cell}` in column {name} {why}"),
        };
        let value: f64 = cell.parse().map_err(|_| bad("is not a number"))?;
        if !value.is_finite() {
            return Err(bad("is not a finite number"));
        }
        let fraction = ["coverage", "residue", "reached_all"].contains(&name.as_str());
        if fraction && !(0.0..=1.0).contains(&value) {
            return Err(bad("is not a fraction in [0, 1]"));
        }
        let never_negative = [
            "n",
            "round",
            "informed",
            "alive",
            "trial",
            "update",
            "injected_round",
            "nodes",
            "traffic",
            "messages",
            "update_messages",
            "rounds_to_all",
        ];
        if never_negative.contains(&name.as_str()) && value < 0.0 {
            return Err(bad("is negative"));
        }
        Ok(value)
    }

    /// The columns of the swept keys among `first..end` (the parameter columns): those
    /// `run.toml` lists as `sweep_columns`, in its order (the sweep's: the first key changes
    /// slowest), or, for a table without one (made by hand, or joined from several runs), those
    /// that take at least two values, in column order.
    fn swept_columns(&self, dir: &Path, first: usize, end: usize) -> Vec<usize> {
        let candidates = first..end.max(first);
        match listed_sweep_columns(dir) {
            Some(names) => names
                .iter()
                .filter_map(|name| candidates.clone().find(|&c| self.header[c] == *name))
                .collect(),
            None => candidates
                .filter(|&c| {
                    let mut values = self.rows.iter().map(|row| row.get(c).unwrap_or(""));
                    let first = values.next();
                    values.any(|value| Some(value) != first)
                })
                .collect(),
        }
    }

    /// The swept columns of a per-trial table: after `point`, before `end`; none in a table
    /// without a `point` column.
    fn swept_before(&self, dir: &Path, end: &str) -> Result<Vec<usize>, PlotError> {
        let Ok(point) = self.column("point") else {
            return Ok(Vec::new());
        };
        let end = self.column(end)?;
        Ok(self.swept_columns(dir, point + 1, end))
    }
}

/// `sweep_columns` of `dir/run.toml`; `None` without a readable list (no run.toml, or one of
/// schema 2 or before).
fn listed_sweep_columns(dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join(crate::output::manifest::RUN_MANIFEST)).ok()?;
    let table: toml::Table = text.parse().ok()?;
    let list = table.get("sweep_columns")?.as_array()?;
    Some(
        list.iter()
            .filter_map(|item| item.as_str().map(str::to_owned))
            .collect(),
    )
}

/// `summary.csv`: the parameter columns and, per row, their values and the statistics.
struct Summary {
    /// Swept keys, without `point`, as the columns name them.
    params: Vec<String>,
    rows: Vec<SummaryRow>,
}

struct SummaryRow {
    params: Vec<String>,
    /// The `protocol_kind` column, swept or not (schema 3), which names the theory.
    kind: Option<String>,
    metric: String,
    /// Samples behind the statistics.
    n: Option<f64>,
    mean: Option<f64>,
    ci: Option<(f64, f64)>,
    theory: Option<f64>,
}

impl Summary {
    fn read(dir: &Path) -> Result<Option<Summary>, PlotError> {
        let Some(csv) = Csv::read(dir, crate::output::SUMMARY_FILE)? else {
            return Ok(None);
        };
        let metric = csv.column("metric")?;
        let first = csv.column("point").map_or(1, |point| point + 1);
        let param_columns = csv.swept_columns(dir, first, metric);
        let kind_column = csv.column("protocol_kind").ok();
        let optional = |row: &csv::StringRecord, name: &str| -> Result<Option<f64>, PlotError> {
            let column = csv.column(name)?;
            match row.get(column).unwrap_or("") {
                "" => Ok(None),
                _ => csv.number(row, column).map(Some),
            }
        };
        let mut rows = Vec::with_capacity(csv.rows.len());
        for row in &csv.rows {
            let ci = match (optional(row, "ci95_low")?, optional(row, "ci95_high")?) {
                (Some(low), Some(high)) => Some((low, high)),
                _ => None,
            };
            let metric_name = row.get(metric).unwrap_or("");
            let mean = optional(row, "mean")?;
            if let Some(mean) = mean {
                // Every metric counts or measures something: none is negative, and the
                // fractions stay in [0, 1].
                let fraction = ["residue", "reached_all"].contains(&metric_name);
                if mean < 0.0 || fraction && mean > 1.0 {
                    return Err(PlotError::Csv {
                        path: csv.path.clone(),
                        message: format!("mean {mean} of {metric_name} is impossible"),
                    });
                }
            }
            rows.push(SummaryRow {
                params: param_columns
                    .iter()
                    .map(|&c| row.get(c).unwrap_or("").to_owned())
                    .collect(),
                kind: kind_column.and_then(|c| row.get(c)).map(str::to_owned),
                metric: row.get(metric).unwrap_or("").to_owned(),
                n: optional(row, "n")?,
                mean: optional(row, "mean")?,
                ci,
                theory: optional(row, "theory")?,
            });
        }
        Ok(Some(Summary {
            params: param_columns
                .iter()
                .map(|&c| csv.header[c].clone())
                .collect(),
            rows,
        }))
    }

    /// The column of swept key `key` (as the scenario names it, `network.loss`, or as the
    /// column does, `network_loss`), if it takes at least two numeric values.
    fn axis_param(&self, key: &str) -> Option<usize> {
        let column_name = crate::output::params::column_name(key);
        // A folder of schema 2 named swept columns by their dotted keys (`sweep.nodes`).
        let column = self.params.iter().position(|name| {
            *name == column_name
                || *name == key
                || name.strip_prefix("sweep_") == Some(column_name.as_str())
                || name.strip_prefix("sweep.") == Some(key)
        })?;
        let mut values: Vec<f64> = self
            .rows
            .iter()
            .filter_map(|row| row.params[column].parse().ok())
            .collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
        (values.len() >= 2).then_some(column)
    }
}

/// Writes every chart that applies to the results in `dir` into `dir` (or only `only`; or one
/// chart into `out`), and, when writing into `dir`, its `index.html` with every chart there and
/// the summary table. Returns the files written, the index last.
pub fn plot(
    dir: &Path,
    out: Option<&Path>,
    only: Option<ChartKind>,
) -> Result<Vec<PathBuf>, PlotError> {
    if !dir.is_dir() {
        return Err(PlotError::NotFound {
            dir: dir.to_path_buf(),
        });
    }
    let summary = Summary::read(dir)?;
    // Each chart with its file name.
    let mut charts: Vec<(ChartKind, String, Chart)> = Vec::new();
    for kind in ChartKind::ALL {
        if only.is_some_and(|only| only != kind) {
            continue;
        }
        if kind == ChartKind::Coverage || kind == ChartKind::Missing {
            for (suffix, chart) in coverage_charts(dir)? {
                let chart = match kind {
                    ChartKind::Missing => extra::missing(chart),
                    _ => Some(chart),
                };
                if let Some(chart) = chart {
                    charts.push((kind, format!("{}{suffix}.svg", kind.name()), chart));
                }
            }
            continue;
        }
        let chart = match kind {
            ChartKind::Coverage | ChartKind::Missing => None,
            ChartKind::ResidueVsTraffic => extra::residue_vs_traffic(dir)?,
            ChartKind::Completion => extra::completion(dir)?,
            ChartKind::SweptKey => summary
                .as_ref()
                .and_then(|s| {
                    // Not the keys the charts below take, however a folder names them.
                    let taken = [s.axis_param("nodes"), s.axis_param("network.loss")];
                    let (_, key) = s.params.iter().enumerate().find(|(c, key)| {
                        !taken.contains(&Some(*c)) && s.axis_param(key).is_some()
                    })?;
                    let name = short_key(key);
                    metric_chart(
                        s,
                        key,
                        "rounds_to_all",
                        &format!("Rounds until every live node has the update, against {name}"),
                        key,
                        "rounds to all",
                        false,
                    )
                    .map(|chart| (chart, format!("rounds-vs-{name}.svg")))
                })
                .map(|(chart, name)| {
                    charts.push((kind, name, chart));
                    None
                })
                .unwrap_or(None),
            ChartKind::RegionsCompletion => extra::regions_completion(dir)?,
            ChartKind::RoundsVsNodes => summary.as_ref().and_then(|s| {
                metric_chart(
                    s,
                    "nodes",
                    "rounds_to_all",
                    "Rounds until every live node has the update",
                    "nodes (log scale)",
                    "rounds to all",
                    true,
                )
            }),
            ChartKind::MessagesVsLoss => summary.as_ref().and_then(|s| {
                metric_chart(
                    s,
                    "network_loss",
                    "update_messages",
                    "Messages carrying each update against message loss",
                    "network_loss (probability a message is lost)",
                    "update messages",
                    false,
                )
            }),
            ChartKind::StalenessVsBudget => summary.as_ref().and_then(|s| {
                let key = budget_key(s)?;
                metric_chart(
                    s,
                    key,
                    "update_stale_node_rounds",
                    "Staleness of each update against the bandwidth bound",
                    &format!("{key} (log scale)"),
                    "node-rounds missing the update",
                    true,
                )
            }),
            ChartKind::BytesVsBudget => summary.as_ref().and_then(|s| {
                let key = budget_key(s)?;
                metric_chart(
                    s,
                    key,
                    "bytes_per_delivery",
                    "Bytes sent per delivered update against the bandwidth bound",
                    &format!("{key} (log scale)"),
                    "bytes per delivery",
                    true,
                )
            }),
            ChartKind::StalenessVsLoss => summary.as_ref().and_then(|s| {
                metric_chart(
                    s,
                    "network_loss",
                    "stale_node_rounds",
                    "Staleness against message loss",
                    "network_loss (probability a message is lost)",
                    "stale node-rounds per trial",
                    false,
                )
            }),
        };
        if let Some(chart) = chart {
            charts.push((kind, kind.file_name(), chart));
        }
    }
    if charts.is_empty() {
        return Err(match only {
            Some(kind) => PlotError::NotApplicable {
                chart: kind.name(),
                dir: dir.to_path_buf(),
                why: match kind {
                    ChartKind::Coverage | ChartKind::Missing => {
                        "it has no coverage.csv rows (output.coverage = false?)"
                    }
                    ChartKind::RoundsVsNodes => "its summary.csv has no sweep over nodes",
                    ChartKind::MessagesVsLoss | ChartKind::StalenessVsLoss => {
                        "its summary.csv has no sweep over network.loss"
                    }
                    ChartKind::ResidueVsTraffic => {
                        "every update reached every live node (or there is no updates.csv)"
                    }
                    ChartKind::RegionsCompletion => "it has no regions.csv",
                    ChartKind::Completion => "it has no updates.csv rows",
                    ChartKind::SweptKey => {
                        "its summary.csv has no numeric swept key other than nodes and loss"
                    }
                    ChartKind::StalenessVsBudget | ChartKind::BytesVsBudget => {
                        "its summary.csv has no sweep over network.budget_bytes_per_period or \
                         network.max_message_bytes"
                    }
                },
            },
            None => PlotError::NothingToPlot {
                dir: dir.to_path_buf(),
            },
        });
    }
    if out.is_some() && charts.len() > 1 {
        return Err(PlotError::SeveralCharts {
            charts: charts.iter().map(|(_, name, _)| name.clone()).collect(),
        });
    }
    let named: Vec<(String, Chart)> = charts
        .into_iter()
        .map(|(_, name, chart)| (name, chart))
        .collect();
    write_charts(dir, out, named)
}

/// Draws `metric` of summary.csv against swept key `x`, a line per combination of the other
/// swept values, into `out` or `dir/METRIC-vs-KEY.svg`, and updates `dir/index.html`.
pub fn plot_metric(
    dir: &Path,
    x: &str,
    metric: &str,
    out: Option<&Path>,
) -> Result<Vec<PathBuf>, PlotError> {
    if !dir.is_dir() {
        return Err(PlotError::NotFound {
            dir: dir.to_path_buf(),
        });
    }
    let Some(summary) = Summary::read(dir)? else {
        return Err(PlotError::Read {
            path: dir.join(crate::output::SUMMARY_FILE),
            error: io::Error::from(io::ErrorKind::NotFound),
        });
    };
    let Some(column) = summary.axis_param(x) else {
        return Err(PlotError::NotSwept {
            key: x.to_owned(),
            dir: dir.to_path_buf(),
            swept: summary.params.clone(),
        });
    };
    let mut metrics: Vec<String> = Vec::new();
    for row in &summary.rows {
        if !metrics.contains(&row.metric) {
            metrics.push(row.metric.clone());
        }
    }
    if !metrics.iter().any(|m| m == metric) {
        return Err(PlotError::UnknownMetric {
            metric: metric.to_owned(),
            dir: dir.to_path_buf(),
            metrics,
        });
    }
    let values: Vec<f64> = summary
        .rows
        .iter()
        .filter_map(|row| row.params[column].parse().ok())
        .filter(|v: &f64| *v > 0.0)
        .collect();
    let (low, high) = values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let log = values.len()
        == summary
            .rows
            .iter()
            .filter(|r| r.params[column].parse::<f64>().is_ok())
            .count()
        && high >= 100.0 * low;
    let key = summary.params[column].clone();
    let x_label = if log {
        format!("{key} (log scale)")
    } else {
        key.clone()
    };
    let chart = metric_chart(
        &summary,
        x,
        metric,
        &format!("{metric} against {key}"),
        &x_label,
        metric,
        log,
    )
    .ok_or_else(|| PlotError::UnknownMetric {
        metric: metric.to_owned(),
        dir: dir.to_path_buf(),
        metrics: Vec::new(),
    })?;
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    let name = format!("{}-vs-{}.svg", safe(metric), safe(short_key(&key)));
    write_charts(dir, out, vec![(name, chart)])
}

/// Writes `charts` (into `out`, or each under its name in `dir`), then, when writing into
/// `dir`, the index of every chart in it.
fn write_charts(
    dir: &Path,
    out: Option<&Path>,
    charts: Vec<(String, Chart)>,
) -> Result<Vec<PathBuf>, PlotError> {
    let mut written = Vec::new();
    for (file_name, chart) in charts {
        let path = out.map_or_else(|| dir.join(file_name), Path::to_path_buf);
        atomic::write_atomically(&path, |file| file.write_all(chart.to_svg().as_bytes()))?;
        written.push(path);
    }
    if out.is_none() {
        written.push(index::write(dir)?);
    }
    Ok(written)
}

/// A swept key's column as legends show it: the column name itself, which is what pandas, R and
/// `--x` take, less the `sweep_` of a key renamed to stay unique (`sweep_seed` -> `seed`).
fn short_key(key: &str) -> &str {
    key.strip_prefix("sweep_").unwrap_or(key)
}

/// One x value of a line: the mean, its interval and the theory.
type Measured = (f64, Option<f64>, Option<(f64, f64)>, Option<f64>);

/// `metric`'s mean and 95% interval against swept key `x_key`, a line per combination of the
/// other swept values, with the theory as dashed lines.
/// The bandwidth bound a sweep varies: the send budget, else the message size limit.
fn budget_key(summary: &Summary) -> Option<&'static str> {
    [
        "network.budget_bytes_per_period",
        "network.max_message_bytes",
    ]
    .into_iter()
    .find(|key| summary.axis_param(key).is_some())
}

fn metric_chart(
    summary: &Summary,
    x_key: &str,
    metric: &str,
    title: &str,
    x_label: &str,
    y_label: &str,
    log_x: bool,
) -> Option<Chart> {
    let x_column = summary.axis_param(x_key)?;
    // Group label -> (x, mean, ci, theory), in first-appearance order of the groups.
    let mut groups: Vec<(String, Vec<Measured>)> = Vec::new();
    let mut samples: Vec<f64> = Vec::new();
    let mut kinds: Vec<(String, Option<String>)> = Vec::new();
    for row in summary.rows.iter().filter(|row| row.metric == metric) {
        samples.extend(row.n);
        let Ok(x) = row.params[x_column].parse::<f64>() else {
            continue;
        };
        let label: Vec<String> = summary
            .params
            .iter()
            .zip(&row.params)
            .enumerate()
            .filter(|(c, _)| *c != x_column)
            .map(|(_, (key, value))| {
                if summary.params.len() == 2 {
                    value.clone()
                } else {
                    format!("{}={value}", short_key(key))
                }
            })
            .collect();
        let label = if label.is_empty() {
            metric.to_owned()
        } else {
            label.join(", ")
        };
        let entry = (x, row.mean, row.ci, row.theory);
        if !kinds.iter().any(|(name, _)| *name == label) {
            kinds.push((label.clone(), row.kind.clone()));
        }
        match groups.iter_mut().find(|(name, _)| *name == label) {
            Some((_, points)) => points.push(entry),
            None => groups.push((label, vec![entry])),
        }
    }
    if groups.is_empty() {
        return None;
    }
    let mut series = Vec::new();
    let mut theories = Vec::new();
    for (i, (label, mut points)) in groups.into_iter().enumerate() {
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let base = Series::styled(i, label.clone());
        let theory: Vec<(f64, f64)> = points
            .iter()
            .filter_map(|(x, _, _, theory)| theory.map(|t| (*x, t)))
            .collect();
        if !theory.is_empty() {
            let kind = kinds
                .iter()
                .find(|(name, _)| *name == label)
                .and_then(|(_, kind)| kind.clone());
            theories.push(Series {
                label: format!("{label}: theory, {}", theory_name(metric, kind.as_deref())),
                points: theory,
                dashed: true,
                ..base.clone()
            });
        }
        series.push(Series {
            points: points
                .iter()
                .filter_map(|(x, mean, _, _)| mean.map(|m| (*x, m)))
                .collect(),
            error_bars: points
                .iter()
                .filter_map(|(x, _, ci, _)| ci.map(|(lo, hi)| (*x, lo, hi)))
                .collect(),
            markers: true,
            ..base
        });
    }
    let note = if theories.is_empty() {
        "mean with 95% confidence interval of the mean"
    } else {
        "mean with 95% confidence interval of the mean; dashed: theory (see summary.csv)"
    };
    series.extend(theories);
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let x = Axis::fit(x_label, xs, log_x, false).padded(0.03);
    let ys = series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.1)
            .chain(s.error_bars.iter().flat_map(|e| [e.1, e.2]))
    });
    let y = Axis::fit(y_label, ys, false, true);
    let legend_title: Vec<&str> = summary
        .params
        .iter()
        .enumerate()
        .filter(|(c, _)| *c != x_column)
        .map(|(_, key)| short_key(key))
        .collect();
    Some(Chart {
        title: format!("{title} ({})", samples_text(&samples, "samples")),
        note: note.to_owned(),
        x,
        y,
        series,
        legend_title: legend_title.join(", "),
    })
}

/// `n = 30 per point`, or `n = 28 to 30 per point`.
fn samples_text(samples: &[f64], what: &str) -> String {
    let low = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let high = samples.iter().copied().fold(0.0, f64::max);
    if samples.is_empty() {
        format!("no {what}")
    } else if low == high {
        format!("n = {high} {what} per point")
    } else {
        format!("n = {low} to {high} {what} per point")
    }
}

/// The formula behind summary.csv's theory column (see `output/summary.rs`).
fn theory_name(metric: &str, kind: Option<&str>) -> &'static str {
    match (metric, kind) {
        ("rounds_to_all", Some("push")) => "log2 n + ln n (Pittel 1987)",
        ("rounds_to_all", Some("push-pull")) => "log3 n (Karp et al. 2000)",
        ("rounds_to_99", _) => "2 ln(99 (n + 1)) / (k (1 - p)) (Serf's model)",
        _ => "summary.csv theory",
    }
}

/// Most lines one coverage chart takes; a larger sweep gets a chart per value of its first key.
const COVERAGE_LINES: usize = 6;

/// Median and 5-95% band of coverage against rounds since injection, per sweep point: one
/// chart, or with more than [`COVERAGE_LINES`] points and two swept keys or more, one chart per
/// value of the first key (file name suffix `-VALUE`).
fn coverage_charts(dir: &Path) -> Result<Vec<(String, Chart)>, PlotError> {
    let Some(coverage) = Csv::read(dir, "coverage.csv")? else {
        return Ok(Vec::new());
    };
    if coverage.rows.is_empty() {
        return Ok(Vec::new());
    }
    let Some(updates) = Csv::read(dir, "updates.csv")? else {
        return Ok(Vec::new());
    };
    // Label of each point: its swept values, or the scenario name.
    let point_of = |csv: &Csv| csv.column("point").ok();
    let (u_point, c_point) = (point_of(&updates), point_of(&coverage));
    let c_params = coverage.swept_before(dir, "update")?;
    let u_trial = updates.column("trial")?;
    let u_update = updates.column("update")?;
    let u_injected = updates.column("injected_round")?;
    let cell = |row: &csv::StringRecord, column: Option<usize>| {
        column.map_or(String::new(), |c| row.get(c).unwrap_or("").to_owned())
    };
    let mut injected: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for row in &updates.rows {
        injected.insert(
            (
                cell(row, u_point),
                cell(row, Some(u_trial)),
                cell(row, Some(u_update)),
            ),
            updates.number(row, u_injected)?,
        );
    }

    let (c_trial, c_update) = (coverage.column("trial")?, coverage.column("update")?);
    let (c_round, c_informed, c_alive) = (
        coverage.column("round")?,
        coverage.column("informed")?,
        coverage.column("alive")?,
    );
    // Points with their first key's value, the label of the rest, and per pair the samples
    // (rounds since injection, coverage), in file order.
    let split = c_params.len() >= 2 && {
        let c = c_point.unwrap_or(0);
        let mut ids: Vec<&str> = coverage
            .rows
            .iter()
            .map(|r| r.get(c).unwrap_or(""))
            .collect();
        ids.dedup();
        ids.len() > COVERAGE_LINES
    };
    let shown: &[usize] = if split { &c_params[1..] } else { &c_params };
    let legend_title: String = shown
        .iter()
        .map(|&c| short_key(&coverage.header[c]))
        .collect::<Vec<_>>()
        .join(", ");
    let mut points: Vec<(String, String, String, Pairs)> = Vec::new();
    for row in &coverage.rows {
        let point = cell(row, c_point);
        let trial = cell(row, Some(c_trial));
        let update = cell(row, Some(c_update));
        let Some(&start) = injected.get(&(point.clone(), trial.clone(), update.clone())) else {
            continue;
        };
        let alive = coverage.number(row, c_alive)?;
        let fraction = match alive {
            0.0 => 0.0,
            alive => coverage.number(row, c_informed)? / alive,
        };
        let since = coverage.number(row, c_round)? - start;
        let key = (trial.parse().unwrap_or(0), update.parse().unwrap_or(0));
        if points.last().is_none_or(|(p, _, _, _)| *p != point) {
            let label: Vec<String> = shown
                .iter()
                .map(|&c| {
                    if shown.len() == 1 {
                        cell(row, Some(c))
                    } else {
                        format!("{}={}", short_key(&coverage.header[c]), cell(row, Some(c)))
                    }
                })
                .collect();
            let label = if label.is_empty() {
                row.get(0).unwrap_or("").to_owned()
            } else {
                label.join(", ")
            };
            let group = if split {
                cell(row, Some(c_params[0]))
            } else {
                String::new()
            };
            points.push((point.clone(), group, label, BTreeMap::new()));
        }
        let pairs = &mut points.last_mut().expect("pushed above").3;
        pairs.entry(key).or_default().push((since, fraction));
    }

    let mut groups: Vec<(String, Vec<(String, Pairs)>)> = Vec::new();
    for (_, group, label, pairs) in points {
        match groups.iter_mut().find(|(name, _)| *name == group) {
            Some((_, members)) => members.push((label, pairs)),
            None => groups.push((group, vec![(label, pairs)])),
        }
    }
    let key = if split {
        short_key(&coverage.header[c_params[0]]).to_owned()
    } else {
        String::new()
    };
    Ok(groups
        .into_iter()
        .map(|(group, members)| {
            let suffix = if split {
                let safe: String = group
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "._-".contains(c) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("-{safe}")
            } else {
                String::new()
            };
            let title = if split {
                format!("Coverage against rounds since injection, {key}={group}")
            } else {
                "Coverage against rounds since injection".to_owned()
            };
            (suffix, coverage_chart(title, &legend_title, &members))
        })
        .collect())
}

/// Pairs (trial, update) of one point with their samples.
type Pairs = BTreeMap<(u64, u64), Vec<(f64, f64)>>;

fn coverage_chart(title: String, legend_title: &str, points: &[(String, Pairs)]) -> Chart {
    let mut series = Vec::new();
    let mut end: f64 = 1.0;
    for (i, (label, pairs)) in points.iter().enumerate() {
        let last = pairs
            .values()
            .flat_map(|samples| samples.iter().map(|s| s.0))
            .fold(0.0, f64::max)
            .ceil();
        end = end.max(last);
        let mut median = Vec::new();
        let mut band = Vec::new();
        for step in 0..=(last as u64) {
            let x = step as f64;
            let mut values: Vec<f64> = pairs
                .values()
                .map(|samples| {
                    samples
                        .iter()
                        .take_while(|(since, _)| *since <= x + 1e-9)
                        .last()
                        .or(samples.first())
                        .map_or(0.0, |s| s.1)
                })
                .collect();
            values.sort_by(f64::total_cmp);
            let rank = |p: usize| values[(p * values.len()).div_ceil(100).max(1) - 1];
            median.push((x, rank(50)));
            band.push((x, rank(5), rank(95)));
        }
        series.push(Series {
            points: median,
            band,
            ..Series::styled(i, label.clone())
        });
    }
    let pairs: Vec<f64> = points.iter().map(|(_, pairs)| pairs.len() as f64).collect();
    Chart {
        title: format!(
            "{title} ({})",
            samples_text(&pairs, "(trial, update) pairs")
        ),
        legend_title: legend_title.to_owned(),
        note: "median over (trial, update) pairs; band: 5th to 95th percentile".to_owned(),
        x: Axis::fit(
            "rounds since injection",
            [0.0, end].into_iter(),
            false,
            true,
        ),
        y: Axis::fit(
            "fraction of live nodes holding the update",
            [0.0, 1.0].into_iter(),
            false,
            true,
        ),
        series,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    /// A summary of schema 3 without run.toml: the swept keys are the parameter columns that
    /// take two values (nodes, protocol_kind), not protocol_fanout.
    const SUMMARY: &str = "scenario,point,nodes,protocol_kind,protocol_fanout,metric,n,mean,std,ci95_low,ci95_high,min,p50,p90,p99,max,theory
s,0,1000,push,1,rounds_to_all,2,18,0,17,19,18,18,18,18,18,16.87
s,1,10000,push,1,rounds_to_all,2,24,1,23,25,23,23,25,25,25,22.5
s,2,1000,pull,1,rounds_to_all,2,14,1,13,15,13,13,15,15,15,
s,3,10000,pull,1,rounds_to_all,2,16.5,0.7,16,17,16,16,17,17,17,
s,0,1000,push,1,messages,2,5,0,,,5,5,5,5,5,
";

    #[test]
    fn rounds_against_nodes_has_a_line_per_protocol_and_theory() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "summary.csv", SUMMARY);
        let written = plot(dir.path(), None, None).unwrap();
        assert_eq!(
            written,
            [
                dir.path().join("rounds-vs-nodes.svg"),
                dir.path().join("index.html")
            ]
        );
        let svg = std::fs::read_to_string(&written[0]).unwrap();
        svg::tests::check_well_formed(&svg);
        for text in [
            ">push</text>",
            ">pull</text>",
            ">push: theory, log2 n + ln n (Pittel 1987)</text>",
            ">protocol_kind</text>",
            "(n = 2 samples per point)",
            ">1k</text>",
            ">10k</text>",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        assert!(!svg.contains("pull: theory"), "pull has no theory");
        // Only one chart applies: --out may name it; another is refused clearly.
        let out = dir.path().join("x.svg");
        assert_eq!(
            plot(dir.path(), Some(&out), None).unwrap(),
            std::slice::from_ref(&out)
        );
        let err = plot(dir.path(), None, Some(ChartKind::MessagesVsLoss)).unwrap_err();
        assert!(
            err.to_string().contains("no sweep over network.loss"),
            "{err}"
        );
    }

    #[test]
    fn coverage_has_a_median_and_band_per_point() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "summary.csv", SUMMARY);
        // run.toml names the swept column, though it takes one value in these rows.
        write(dir.path(), "run.toml", "sweep_columns = [\"nodes\"]\n");
        write(
            dir.path(),
            "updates.csv",
            "scenario,trial,seed,point,nodes,update,product,version,price,origin,injected_round\n\
             s,0,1,0,4,0,P,1,1,0,0\ns,1,2,0,4,0,P,1,1,0,1\n",
        );
        write(
            dir.path(),
            "coverage.csv",
            "scenario,trial,seed,point,nodes,update,round,informed,alive\n\
             s,0,1,0,4,0,0,1,4\ns,0,1,0,4,0,1,2,4\ns,0,1,0,4,0,2,4,4\n\
             s,1,2,0,4,0,1,1,4\ns,1,2,0,4,0,2,3,4\n",
        );
        let written = plot(dir.path(), None, Some(ChartKind::Coverage)).unwrap();
        let svg = std::fs::read_to_string(&written[0]).unwrap();
        let tags = svg::tests::check_well_formed(&svg);
        assert!(tags.contains(&"polygon".to_owned()), "the band");
        assert!(svg.contains(">4</text>"), "labelled by the swept value");
        let err = plot(dir.path(), Some(&dir.path().join("one.svg")), None).unwrap_err();
        assert!(err.to_string().contains("choose one with --chart"), "{err}");
    }

    #[test]
    fn a_large_sweep_gets_a_coverage_chart_per_value_of_its_first_key() {
        let dir = tempfile::tempdir().unwrap();
        let mut updates =
            String::from("scenario,trial,seed,point,nodes,protocol_kind,update,injected_round\n");
        let mut coverage = String::from(
            "scenario,trial,seed,point,nodes,protocol_kind,update,round,informed,alive\n",
        );
        for point in 0..8 {
            let kind = if point < 4 { "push" } else { "pull" };
            let nodes = 10 * (point % 4 + 1);
            updates.push_str(&format!("s,0,1,{point},{nodes},{kind},0,0\n"));
            for round in 0..3 {
                coverage.push_str(&format!(
                    "s,0,1,{point},{nodes},{kind},0,{round},{},{nodes}\n",
                    1 + round * 3
                ));
            }
        }
        // The sweep's order, not the columns': protocol.kind first.
        write(
            dir.path(),
            "run.toml",
            "sweep_columns = [\"protocol_kind\", \"nodes\"]\n",
        );
        write(dir.path(), "updates.csv", &updates);
        write(dir.path(), "coverage.csv", &coverage);
        let written = plot(dir.path(), None, None).unwrap();
        assert_eq!(
            written,
            [
                dir.path().join("coverage-push.svg"),
                dir.path().join("coverage-pull.svg"),
                dir.path().join("missing-push.svg"),
                dir.path().join("missing-pull.svg"),
                dir.path().join("index.html"),
            ]
        );
        let svg = std::fs::read_to_string(&written[1]).unwrap();
        svg::tests::check_well_formed(&svg);
        assert!(
            svg.contains("protocol_kind=pull (n = 1 (trial, update) pairs per point)</text>"),
            "the title names the value"
        );
        assert!(
            svg.contains(">40</text>"),
            "lines labelled by the other key"
        );
    }

    #[test]
    fn a_missing_folder_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let err = plot(&gone, None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("results folder {} not found", gone.display())
        );
        let err = plot_metric(&gone, "nodes", "messages", None).unwrap_err();
        assert!(err.to_string().ends_with("not found"), "{err}");
    }

    #[test]
    fn non_finite_or_impossible_numbers_are_errors_not_charts() {
        for (bad, wanted) in [
            ("NaN", "is not a finite number"),
            ("inf", "is not a finite number"),
            ("-3", "mean -3 of rounds_to_all is impossible"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            write(
                dir.path(),
                "summary.csv",
                &SUMMARY.replace("rounds_to_all,2,24,", &format!("rounds_to_all,2,{bad},")),
            );
            let err = plot(dir.path(), None, None).unwrap_err();
            assert!(err.to_string().contains(wanted), "{bad}: {err}");
            assert!(!dir.path().join("rounds-vs-nodes.svg").exists());
        }
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "updates.csv",
            "scenario,trial,update,rounds_to_all,residue,traffic\ns,0,0,3,1.5,2\n",
        );
        let err = plot(dir.path(), None, None).unwrap_err();
        assert!(
            err.to_string()
                .contains("`1.5` in column residue is not a fraction"),
            "{err}"
        );
    }

    #[test]
    fn any_metric_against_any_swept_key() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "summary.csv", SUMMARY);
        let written = plot_metric(dir.path(), "nodes", "messages", None).unwrap();
        assert_eq!(written[0], dir.path().join("messages-vs-nodes.svg"));
        let svg = std::fs::read_to_string(&written[0]).unwrap();
        svg::tests::check_well_formed(&svg);
        assert!(svg.contains(">messages against nodes (n = 2 samples per point)</text>"));
        // A scenario key or its column: the same axis.
        let again = plot_metric(dir.path(), "protocol.kind", "messages", None);
        assert!(again.is_err(), "protocol_kind is not numeric");
        for key in ["fanout", "protocol.fanout", "protocol_fanout"] {
            let err = plot_metric(dir.path(), key, "messages", None).unwrap_err();
            assert!(
                err.to_string().contains(&format!(
                    "--x {key}: not a swept key of {} (swept: nodes, protocol_kind)",
                    dir.path().display()
                )),
                "{err}"
            );
        }
        let err = plot_metric(dir.path(), "nodes", "bogus", None).unwrap_err();
        assert!(
            err.to_string().contains("--y bogus: no such metric"),
            "{err}"
        );
        let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
        assert!(
            index.contains("<img src=\"messages-vs-nodes.svg\""),
            "{index}"
        );
        assert!(
            index.contains("<td>rounds_to_all</td>"),
            "the summary table"
        );
        // The swept keys are columns of the table; a parameter the same in every row is said
        // once above it.
        assert!(
            index.contains("<tr><th>point</th><th>nodes</th><th>protocol_kind</th><th>metric</th>"),
            "{index}"
        );
        assert!(
            index.contains("In every row: protocol_fanout = 1 (the whole scenario"),
            "{index}"
        );
    }

    #[test]
    fn every_results_folder_gets_its_completion_chart() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "updates.csv",
            "scenario,trial,update,rounds_to_all\ns,0,0,3\ns,1,0,\ns,2,0,5\n",
        );
        let written = plot(dir.path(), None, None).unwrap();
        assert_eq!(written[0], dir.path().join("completion.svg"));
        let svg = std::fs::read_to_string(&written[0]).unwrap();
        svg::tests::check_well_formed(&svg);
        assert!(
            svg.contains("(n = 3 (trial, update) pairs per point)"),
            "{svg}"
        );
    }

    #[test]
    fn a_folder_without_results_says_what_each_chart_needs() {
        let dir = tempfile::tempdir().unwrap();
        let err = plot(dir.path(), None, None).unwrap_err();
        assert!(err.to_string().starts_with("no chart applies"), "{err}");
    }
}
