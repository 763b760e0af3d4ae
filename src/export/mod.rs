//! What `run` and `merge` print or export about a finished run, one file per format behind
//! [`Exporter`] (after hyperfine's `src/export/`): the compact line per sweep point on stdout,
//! the full statistics table (`--verbose`), and a machine-readable JSON summary
//! (`--export-json FILE`). None of them carries wall-clock time, so exports are as deterministic
//! as the result files.

mod compact;
mod json;

use std::io::{self, Write};

pub use compact::Compact;
pub use json::Json;

use crate::runner::RunSummary;

/// One output format of a run's summary.
pub trait Exporter {
    fn write(&self, summary: &RunSummary, out: &mut dyn Write) -> io::Result<()>;
}

/// Every statistic of every point, as `summary.csv` holds it, in aligned tables.
pub struct Table;

impl Exporter for Table {
    fn write(&self, summary: &RunSummary, out: &mut dyn Write) -> io::Result<()> {
        write!(out, "{summary}")
    }
}

/// The exporter for stdout: the full table for a single point or with `verbose`, one compact
/// line per point for a sweep otherwise.
pub fn for_stdout(summary: &RunSummary, verbose: bool) -> Box<dyn Exporter> {
    if verbose || summary.points.len() <= 1 && summary.total_points <= 1 {
        Box::new(Table)
    } else {
        Box::new(Compact)
    }
}

/// A summary cell as a number: `None` for an empty cell or text.
fn number(cell: &str) -> Option<f64> {
    cell.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// The statistics of `metric` in a point's summary rows, by column name.
fn stat(rows: &[Vec<String>], metric: &str, column: &str) -> Option<f64> {
    let index = crate::output::summary::COLUMNS
        .iter()
        .position(|name| *name == column)?;
    rows.iter()
        .find(|row| row.first().map(String::as_str) == Some(metric))
        .and_then(|row| row.get(index))
        .and_then(|cell| number(cell))
}
