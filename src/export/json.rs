//! `--export-json FILE`: the run's summary for programs. Every point with its swept values and,
//! per metric, the statistics of `summary.csv` as numbers (`null` where a cell is empty).

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use super::{Exporter, number};
use crate::output::summary::COLUMNS;
use crate::runner::RunSummary;

/// Bumped when a field changes meaning or goes away.
pub const JSON_VERSION: u32 = 1;

pub struct Json;

impl Exporter for Json {
    fn write(&self, summary: &RunSummary, out: &mut dyn Write) -> io::Result<()> {
        let points: Vec<Value> = summary
            .points
            .iter()
            .map(|point| {
                let params: Map<String, Value> = point
                    .params
                    .iter()
                    .map(|(key, value)| {
                        let value = number(value).map_or(json!(value), |n| json!(n));
                        (key.clone(), value)
                    })
                    .collect();
                let metrics: Map<String, Value> = point
                    .rows
                    .iter()
                    .filter_map(|row| {
                        let (metric, cells) = row.split_first()?;
                        let stats: Map<String, Value> = COLUMNS[1..]
                            .iter()
                            .zip(cells)
                            .map(|(column, cell)| {
                                (
                                    column.to_string(),
                                    number(cell).map_or(Value::Null, |n| json!(n)),
                                )
                            })
                            .collect();
                        Some((metric.clone(), Value::Object(stats)))
                    })
                    .collect();
                json!({ "params": params, "metrics": metrics })
            })
            .collect();
        let document = json!({
            "json_version": JSON_VERSION,
            "scenario": summary.scenario,
            "out_dir": summary.out_dir.display().to_string(),
            "shard": summary.shard.map(|shard| shard.to_string()),
            "total_points": summary.total_points,
            "trials": summary.trials,
            "all_down_trials": summary.all_down_trials,
            "points": points,
        });
        serde_json::to_writer_pretty(&mut *out, &document)?;
        writeln!(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::PointSummary;
    use std::path::PathBuf;

    #[test]
    fn statistics_are_numbers_and_empty_cells_null() {
        let mut row: Vec<String> = vec!["rounds_to_all".into(), "30".into(), "17.9".into()];
        row.extend(std::iter::repeat_n(String::new(), 9));
        let summary = RunSummary {
            scenario: "s".into(),
            out_dir: PathBuf::from("out"),
            files: Vec::new(),
            shard: None,
            total_points: 1,
            points: vec![PointSummary {
                params: vec![
                    ("protocol.kind".into(), "push".into()),
                    ("nodes".into(), "1000".into()),
                ],
                rows: vec![row],
            }],
            final_tables: Vec::new(),
            all_down_trials: 0,
            trials: 30,
        };
        let mut out = Vec::new();
        Json.write(&summary, &mut out).unwrap();
        let value: Value = serde_json::from_slice(&out).unwrap();
        let point = &value["points"][0];
        assert_eq!(point["params"]["protocol.kind"], "push");
        assert_eq!(point["params"]["nodes"], 1000.0);
        assert_eq!(point["metrics"]["rounds_to_all"]["n"], 30.0);
        assert_eq!(point["metrics"]["rounds_to_all"]["mean"], 17.9);
        assert!(point["metrics"]["rounds_to_all"]["theory"].is_null());
        assert_eq!(value["json_version"], 1);
    }
}
