//! `summary.csv`: one row per sweep point and metric, with the sample size, mean, standard
//! deviation, 95% confidence interval of the mean, percentiles, and the analytic prediction
//! where one applies.
//!
//! Samples: the per-update metrics take one value per (trial, update) pair, the per-run ones one
//! per trial. `rounds_to_all`, `rounds_to_99`, `time_to_all_ms` and `messages_to_all` only count
//! the pairs that got there; `reached_all` (1 or 0 per pair, so its mean is the fraction that
//! did) says how many that is.
//!
//! Statistics: `std` is the sample standard deviation (n - 1); the interval is
//! mean ± t(0.975, n - 1) · std / √n (Student's t; empty below n = 2). Percentiles are
//! nearest-rank: p50 is the smallest sample with at least half the samples at or below it, so
//! every percentile is a value that was observed. Numbers are printed with at least 6
//! significant digits and at least 3 decimals, trailing zeros dropped.
//!
//! Theory, only where the formula's assumptions hold (lock-step rounds, no crash, no churn):
//! - `rounds_to_all`, push with fanout 1 and no loss: log2 n + ln n (Frieze & Grimmett 1985,
//!   Pittel 1987; the leading terms, the measured mean runs about one round above);
//! - `rounds_to_all`, push-pull with fanout 1 and no loss: log3 n (Karp, Schindelhauer, Shenker
//!   & Vöcking 2000; leading term, plus O(log log n));
//! - `rounds_to_99`, push with fanout k and loss p: the logistic curve of Serf's convergence
//!   simulator (the calculator HashiCorp publishes for Serf and memberlist),
//!   coverage(t) = 1 / (1 + (n + 1) e^(-k (1 - p) t / 2)), solved for 99% coverage:
//!   t = 2 ln(99 (n + 1)) / (k (1 - p)). It is a heuristic, not a theorem.
//!
//! Pull has no column: its spread time has no closed form of the same kind.

use std::io::{self, Write};

use super::{CsvOut, elapsed};
use crate::report::TrialReport;
use crate::scenario::Scenario;

/// The metrics, in row order.
pub const METRICS: [&str; 15] = [
    "rounds_to_all",
    "rounds_to_99",
    "time_to_all_ms",
    "messages_to_all",
    "update_messages",
    "traffic",
    "residue",
    "reached_all",
    "messages",
    "bytes",
    "stale_node_rounds",
    "update_stale_node_rounds",
    "bytes_per_delivery",
    "deferred_entries",
    "never_sent_entries",
];

/// The columns after the point's parameters.
pub const COLUMNS: [&str; 12] = [
    "metric",
    "n",
    "mean",
    "std",
    "ci95_low",
    "ci95_high",
    "min",
    "p50",
    "p90",
    "p99",
    "max",
    "theory",
];

/// The header of `summary.csv`: `scenario`, the point columns, then [`COLUMNS`].
pub fn header(point_columns: &[String]) -> Vec<String> {
    let mut header = vec!["scenario".to_owned()];
    header.extend(point_columns.iter().cloned());
    header.extend(COLUMNS.iter().map(|column| column.to_string()));
    header
}

/// The samples of every metric, in [`METRICS`] order; trials in trial order, updates in update
/// order.
pub fn samples(scenario: &Scenario, reports: &[TrialReport]) -> Vec<(&'static str, Vec<f64>)> {
    let mut ordered: Vec<&TrialReport> = reports.iter().collect();
    ordered.sort_by_key(|report| report.trial);
    let period = scenario.period.micros() as f64;
    let mut metrics: Vec<(&'static str, Vec<f64>)> =
        METRICS.iter().map(|name| (*name, Vec::new())).collect();
    let mut push = |metric: usize, value: f64| metrics[metric].1.push(value);
    for report in ordered {
        let mut updates: Vec<_> = report.updates.iter().collect();
        updates.sort_by_key(|update| update.update);
        for update in updates {
            let since = |at: Option<crate::time::Time>| {
                at.map(|at| elapsed(update.injected_at, at).micros() as f64)
            };
            if let Some(micros) = since(update.reached_all) {
                push(0, micros / period);
                push(2, micros / 1000.0);
            }
            if let Some(micros) = since(update.reached_99) {
                push(1, micros / period);
            }
            if let Some(messages) = update.messages_to_all {
                push(3, messages as f64);
            }
            push(4, update.update_messages as f64);
            if report.run.nodes > 0 {
                push(
                    5,
                    update.update_messages as f64 / f64::from(report.run.nodes),
                );
            }
            let alive = update.final_alive;
            let residue = match alive {
                0 => 1.0,
                _ => (alive - update.final_informed.min(alive)) as f64 / alive as f64,
            };
            push(6, residue);
            push(
                7,
                if update.reached_all.is_some() {
                    1.0
                } else {
                    0.0
                },
            );
            push(11, update.stale_node_rounds as f64);
        }
        push(8, report.run.messages as f64);
        push(9, report.run.bytes as f64);
        push(10, report.run.stale_node_rounds as f64);
        if let Some(bytes) = report.run.bytes_per_delivery(&report.updates) {
            push(12, bytes);
        }
        push(13, report.run.deferred_entries as f64);
        push(14, report.run.never_sent_entries as f64);
    }
    metrics
}

/// Summary statistics of one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    pub n: usize,
    pub mean: f64,
    /// `None` below two samples.
    pub std: Option<f64>,
    pub ci95: Option<(f64, f64)>,
    pub min: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

/// The statistics of `values`; `None` for no values.
pub fn stats(values: &[f64]) -> Option<Stats> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let std = (n > 1).then(|| {
        let squares: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
        (squares / (n - 1) as f64).sqrt()
    });
    let ci95 = std.map(|std| {
        let half = t_975(n as u64 - 1) * std / (n as f64).sqrt();
        (mean - half, mean + half)
    });
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    Some(Stats {
        n,
        mean,
        std,
        ci95,
        min: sorted[0],
        p50: nearest_rank(&sorted, 50),
        p90: nearest_rank(&sorted, 90),
        p99: nearest_rank(&sorted, 99),
        max: sorted[n - 1],
    })
}

/// The nearest-rank `percent`-th percentile of `sorted` (not empty): the value of rank
/// ⌈percent · n / 100⌉.
fn nearest_rank(sorted: &[f64], percent: usize) -> f64 {
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// t(0.975, df) for df = 1..=30, from the standard tables.
const T_975: [f64; 30] = [
    12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281, 2.2010,
    2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860, 2.0796, 2.0739, 2.0687,
    2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
];

/// The 97.5% quantile of Student's t distribution with `df` degrees of freedom (`df` >= 1): the
/// table up to 30, then the Cornish-Fisher expansion around the normal quantile (Abramowitz &
/// Stegun 26.7.5), within 1e-4 of the exact value there.
pub fn t_975(df: u64) -> f64 {
    assert!(df >= 1, "t quantile of 0 degrees of freedom");
    if let Some(t) = T_975.get(df as usize - 1) {
        return *t;
    }
    let z: f64 = 1.959_963_984_540_054;
    let d = df as f64;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * d)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * d * d)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * d * d * d)
}

/// The analytic prediction of `metric` for `scenario`, where its assumptions hold: each
/// protocol owns its formulas (see `protocol::theory`).
pub fn theory(scenario: &Scenario, metric: &str) -> Option<f64> {
    crate::protocol::theory(scenario, metric)
}

/// A statistic as text: at least 6 significant digits and at least 3 decimals, at most 12,
/// trailing zeros dropped; Rust's float formatting, so the same value always gives the same
/// text.
pub fn format_stat(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return if value.is_finite() {
            "0".to_owned()
        } else {
            value.to_string()
        };
    }
    let magnitude = value.abs().log10().floor() as i64;
    let decimals = (5 - magnitude).clamp(3, 12) as usize;
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.truncate(text.trim_end_matches('0').trim_end_matches('.').len());
    }
    if text == "-0" {
        text = "0".to_owned();
    }
    text
}

/// Writes one point's summary rows (no header): `scenario`, the `point` cells, then one row per
/// metric.
pub fn write_rows(
    scenario: &Scenario,
    point: &[String],
    reports: &[TrialReport],
    out: impl Write,
) -> io::Result<()> {
    let mut out = CsvOut::new(out);
    for (metric, values) in samples(scenario, reports) {
        out.text(&scenario.name)?;
        for cell in point {
            out.text(cell)?;
        }
        out.text(metric)?;
        out.int(values.len() as u64)?;
        let stat = |out: &mut CsvOut<_>, value: Option<f64>| match value {
            Some(value) => out.text(&format_stat(value)),
            None => out.empty(),
        };
        let stats = stats(&values);
        let s = stats.as_ref();
        stat(&mut out, s.map(|s| s.mean))?;
        stat(&mut out, s.and_then(|s| s.std))?;
        stat(&mut out, s.and_then(|s| s.ci95).map(|ci| ci.0))?;
        stat(&mut out, s.and_then(|s| s.ci95).map(|ci| ci.1))?;
        stat(&mut out, s.map(|s| s.min))?;
        stat(&mut out, s.map(|s| s.p50))?;
        stat(&mut out, s.map(|s| s.p90))?;
        stat(&mut out, s.map(|s| s.p99))?;
        stat(&mut out, s.map(|s| s.max))?;
        stat(&mut out, theory(scenario, metric))?;
        out.end_row()?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::report;
    use crate::scenario::parse;

    #[test]
    fn statistics_of_a_small_sample() {
        let s = stats(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.n, 4);
        assert_eq!(s.mean, 2.5);
        let std = (5.0f64 / 3.0).sqrt();
        assert!((s.std.unwrap() - std).abs() < 1e-12);
        let half = 3.1824 * std / 2.0;
        let (low, high) = s.ci95.unwrap();
        assert!((low - (2.5 - half)).abs() < 1e-12 && (high - (2.5 + half)).abs() < 1e-12);
        // Nearest rank: ceil(0.5 * 4) = 2nd, ceil(0.9 * 4) = 4th.
        assert_eq!(
            (s.min, s.p50, s.p90, s.p99, s.max),
            (1.0, 2.0, 4.0, 4.0, 4.0)
        );
        let one = stats(&[7.0]).unwrap();
        assert_eq!((one.std, one.ci95, one.p50), (None, None, 7.0));
        assert_eq!(stats(&[]), None);
    }

    #[test]
    fn nearest_rank_percentiles_of_a_hundred_values() {
        let values: Vec<f64> = (1..=100).map(f64::from).collect();
        let s = stats(&values).unwrap();
        assert_eq!((s.p50, s.p90, s.p99), (50.0, 90.0, 99.0));
    }

    #[test]
    fn t_quantiles_match_the_tables_beyond_30() {
        // The expansion meets the table at 30 and the published values beyond.
        for (df, t) in [(30, 2.0423), (40, 2.0211), (60, 2.0003), (120, 1.9799)] {
            let expanded = if df == 30 {
                let saved = T_975[29];
                assert_eq!(t_975(30), saved);
                // The expansion itself at 30:
                let z: f64 = 1.959_963_984_540_054;
                let d = 30.0;
                z + (z.powi(3) + z) / (4.0 * d)
                    + (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / (96.0 * d * d)
                    + (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z)
                        / (384.0 * d * d * d)
            } else {
                t_975(df)
            };
            assert!((expanded - t).abs() < 1e-4, "df {df}: {expanded} vs {t}");
        }
        assert!((t_975(100_000) - 1.96).abs() < 1e-4);
        assert_eq!(t_975(1), 12.7062);
    }

    #[test]
    fn stats_print_with_six_significant_digits() {
        assert_eq!(format_stat(0.0), "0");
        assert_eq!(format_stat(-0.0), "0");
        assert_eq!(format_stat(17.0), "17");
        assert_eq!(format_stat(17.35), "17.35");
        assert_eq!(format_stat(16.877_123_456), "16.8771");
        assert_eq!(format_stat(12_345_678.25), "12345678.25");
        assert_eq!(format_stat(0.000_123_456_789), "0.000123457");
        assert_eq!(format_stat(2.0 / 3.0), "0.666667");
        assert_eq!(format_stat(-1.5), "-1.5");
    }

    fn scenario(protocol: &str, extra: &str) -> Scenario {
        parse(
            &format!(
                "name = \"t\"\nnodes = 1000\n{extra}\n[protocol]\n{protocol}\n\
                 [[updates]]\nproduct = \"P\"\nprice = 1.0\norigin = 0\n"
            ),
            "t.toml",
            &[],
        )
        .unwrap()
    }

    #[test]
    fn theory_only_where_its_assumptions_hold() {
        let push = scenario("kind = \"push\"", "");
        let all = theory(&push, "rounds_to_all").unwrap();
        assert!((all - (1000f64.log2() + 1000f64.ln())).abs() < 1e-12);
        let serf = theory(&push, "rounds_to_99").unwrap();
        assert!((serf - 2.0 * (99.0 * 1001f64).ln()).abs() < 1e-12);
        let push_pull = scenario("kind = \"push-pull\"", "");
        assert!((theory(&push_pull, "rounds_to_all").unwrap() - 6.2877).abs() < 1e-4);
        assert_eq!(theory(&push_pull, "rounds_to_99"), None);
        assert_eq!(
            theory(&scenario("kind = \"pull\"", ""), "rounds_to_all"),
            None
        );
        assert_eq!(theory(&push, "messages"), None);
        // Loss: only the logistic estimate, which models it.
        let lossy = scenario("kind = \"push\"", "[network]\nloss = 0.5");
        assert_eq!(theory(&lossy, "rounds_to_all"), None);
        let serf_lossy = theory(&lossy, "rounds_to_99").unwrap();
        assert!((serf_lossy - 2.0 * serf).abs() < 1e-9);
        for broken in [
            scenario("kind = \"push\"\nfanout = 2", ""),
            scenario("kind = \"push\"\ntiming = \"async\"", ""),
            scenario(
                "kind = \"push\"",
                "[[crashes]]\nat_round = 1\nfraction = 0.1",
            ),
        ] {
            assert_eq!(theory(&broken, "rounds_to_all"), None);
        }
    }

    #[test]
    fn exact_rows_of_hand_made_trials() {
        let s = scenario(
            "kind = \"push-pull\"\nperiod_ms = 100",
            "[network]\nloss = 0.1",
        );
        let mut out = Vec::new();
        write_rows(
            &s,
            &["3".into(), "push".into()],
            &[report(0), report(1)],
            &mut out,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), METRICS.len());
        // Update 0 reaches all in 4 rounds in both trials; update 1 never does.
        assert_eq!(lines[0], "t,3,push,rounds_to_all,2,4,0,4,4,4,4,4,4,4,");
        assert_eq!(
            lines[7],
            "t,3,push,reached_all,4,0.5,0.57735,-0.41868,1.41868,0,0,1,1,1,"
        );
        // messages: 43 and 44.
        assert_eq!(
            lines[8],
            "t,3,push,messages,2,43.5,0.707107,37.1469,49.8531,43,43,44,44,44,"
        );
        assert_eq!(
            header(&["point".into(), "protocol.kind".into()]).join(","),
            "scenario,point,protocol.kind,metric,n,mean,std,ci95_low,ci95_high,min,p50,p90,\
             p99,max,theory"
        );
    }
}
