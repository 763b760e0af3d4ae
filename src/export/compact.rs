//! One line per sweep point, hyperfine style: the swept values, `rounds_to_all` mean ± the
//! half-width of its 95% interval, messages per trial and coverage, in human units, under one
//! heading. Fits 100 columns unless the swept values themselves are wider.

use std::io::{self, Write};

use super::{Exporter, stat};
use crate::human::{count, plain};
use crate::runner::RunSummary;

pub struct Compact;

impl Exporter for Compact {
    fn write(&self, summary: &RunSummary, out: &mut dyn Write) -> io::Result<()> {
        summary.write_heading(out)?;
        writeln!(out)?;
        let keys: Vec<String> = summary
            .points
            .first()
            .map(|point| point.params.iter().map(|(key, _)| short(key)).collect())
            .unwrap_or_default();
        let mut table: Vec<Vec<String>> = vec![keys];
        for point in &summary.points {
            table.push(
                point
                    .params
                    .iter()
                    .map(|(_, value)| value.clone())
                    .collect(),
            );
        }
        let widths: Vec<usize> = (0..table[0].len())
            .map(|c| {
                table
                    .iter()
                    .map(|row| row.get(c).map_or(0, |cell| cell.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let params = |row: &[String]| -> String {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ")
        };
        let heading = format!(
            "{}  {:>21}  {:>10}  {:>9}",
            params(&table[0]),
            "rounds_to_all",
            "messages",
            "coverage"
        );
        writeln!(out, "{}", heading.trim_end())?;
        for (point, row) in summary.points.iter().zip(&table[1..]) {
            let rows = &point.rows;
            let rounds = match (
                stat(rows, "rounds_to_all", "mean"),
                stat(rows, "rounds_to_all", "ci95_high"),
            ) {
                (Some(mean), Some(high)) => format!("{} ± {}", plain(mean), plain(high - mean)),
                (Some(mean), None) => plain(mean),
                (None, _) => "never".to_owned(),
            };
            let messages = stat(rows, "messages", "mean").map_or("-".to_owned(), count);
            let coverage = stat(rows, "residue", "mean")
                .map_or("-".to_owned(), |residue| percent(1.0 - residue));
            let line = format!(
                "{}  {rounds:>21}  {messages:>10}  {coverage:>9}",
                params(row)
            );
            writeln!(out, "{}", line.trim_end())?;
        }
        summary.write_footer(out)
    }
}

/// The last part of a dotted key: `protocol.kind` -> `kind`.
fn short(key: &str) -> String {
    key.rsplit('.').next().unwrap_or(key).to_owned()
}

/// A fraction as a percentage that never rounds an incomplete 0.99996 up to 100%.
fn percent(fraction: f64) -> String {
    if fraction >= 1.0 {
        return "100%".to_owned();
    }
    for decimals in 1..=6 {
        let text = format!("{:.*}", decimals, fraction * 100.0);
        if !text.starts_with("100") {
            return text + "%";
        }
    }
    "99.999999%".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::PointSummary;
    use std::path::PathBuf;

    fn row(metric: &str, mean: &str, high: &str) -> Vec<String> {
        let mut cells = vec![metric.to_owned(), "30".to_owned(), mean.to_owned()];
        cells.extend(["1", "", high].iter().map(|c| c.to_string()));
        cells.extend(std::iter::repeat_n(String::new(), 6));
        cells
    }

    fn summary() -> RunSummary {
        let point = |i: usize, kind: &str, nodes: &str, rounds: &str| PointSummary {
            params: vec![
                ("point".into(), i.to_string()),
                ("protocol.kind".into(), kind.into()),
                ("nodes".into(), nodes.into()),
            ],
            rows: vec![
                row("rounds_to_all", rounds, "18.21"),
                row("residue", "0.0001", ""),
                row("messages", "3412000", ""),
            ],
        };
        RunSummary {
            scenario: "sweep".into(),
            out_dir: PathBuf::from("results/sweep"),
            files: vec![PathBuf::from("results/sweep/runs.csv")],
            shard: None,
            total_points: 2,
            points: vec![
                point(0, "push", "1000", "17.9"),
                point(1, "push-pull", "1000000", "13"),
            ],
            final_tables: Vec::new(),
            all_down_trials: 0,
            trials: 60,
        }
    }

    #[test]
    fn a_point_is_one_line_with_mean_interval_messages_and_coverage() {
        let mut out = Vec::new();
        Compact.write(&summary(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines.contains(
                &"point  kind       nodes            rounds_to_all    messages   coverage"
            ),
            "{text}"
        );
        assert!(
            lines.contains(
                &"0      push       1000               17.9 ± 0.31       3.4 M     99.99%"
            ),
            "{text}"
        );
        assert!(text.contains("1      push-pull  1000000"), "{text}");
        for line in lines {
            assert!(line.chars().count() <= 100, "{line}");
        }
    }

    #[test]
    fn coverage_short_of_everyone_never_shows_as_100_percent() {
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.5), "50.0%");
        assert_eq!(percent(0.99996), "99.996%");
    }
}
