//! `index.html` of a results folder (after Criterion's report): every chart in the folder and
//! the summary table, in one page that needs nothing but a browser.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::svg::escape;
use super::{Csv, PlotError};
use crate::output::atomic;

pub const INDEX_FILE: &str = "index.html";

/// Writes `dir/index.html` with every `*.svg` in `dir` (sorted by name) and `summary.csv` as a
/// table. Each image reports a failed load in the page itself.
pub fn write(dir: &Path) -> Result<PathBuf, PlotError> {
    let mut charts: Vec<String> = std::fs::read_dir(dir)
        .map_err(|error| PlotError::Read {
            path: dir.to_path_buf(),
            error,
        })?
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter(|name| name.ends_with(".svg") && !name.starts_with('.'))
        .collect();
    charts.sort();
    let summary = Csv::read(dir, crate::output::SUMMARY_FILE)?;
    let name = summary
        .as_ref()
        .and_then(|csv| {
            csv.rows
                .first()
                .and_then(|row| row.get(0))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| {
            dir.file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned())
        });
    let mut html = String::new();
    html.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str(&format!("<title>{} - gossip-sim</title>\n", escape(&name)));
    html.push_str(
        "<style>body{font-family:sans-serif;margin:2em;color:#222}figure{margin:1.5em 0}\
         img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse;font-size:13px}\
         th,td{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}\
         th:first-child,td:first-child{text-align:left}.broken{color:#b00}</style>\n",
    );
    html.push_str("</head>\n<body>\n");
    html.push_str(&format!("<h1>{}</h1>\n", escape(&name)));
    html.push_str("<h2>Charts</h2>\n");
    if charts.is_empty() {
        html.push_str("<p>No chart in this folder.</p>\n");
    }
    for chart in &charts {
        let chart = escape(chart);
        html.push_str(&format!(
            "<figure><img src=\"{chart}\" alt=\"{chart}\" \
             onload=\"this.dataset.rendered = this.naturalWidth &gt; 0\" \
             onerror=\"this.dataset.rendered = false; this.insertAdjacentHTML('afterend', \
             '&lt;p class=broken&gt;{chart} could not be shown&lt;/p&gt;')\">\
             <figcaption>{chart}</figcaption></figure>\n"
        ));
    }
    if let Some(csv) = summary {
        html.push_str("<h2>Summary (summary.csv)</h2>\n");
        // The parameter columns that are the same in every row are said once, above the table;
        // the table keeps the point, the swept keys and the statistics.
        let (shown, same) = match (csv.column("point"), csv.column("metric")) {
            (Ok(point), Ok(metric)) => {
                let swept = csv.swept_columns(dir, point + 1, metric);
                let same: Vec<usize> = (point + 1..metric).filter(|c| !swept.contains(c)).collect();
                let shown: Vec<usize> = (0..csv.header.len())
                    .filter(|c| *c != 0 && !same.contains(c) && (*c != point || !swept.is_empty()))
                    .collect();
                (shown, same)
            }
            _ => ((0..csv.header.len()).collect(), Vec::new()),
        };
        if !same.is_empty() {
            let first = csv.rows.first();
            let values: Vec<String> = same
                .iter()
                .map(|&c| {
                    let value = first.and_then(|row| row.get(c)).unwrap_or("");
                    format!("{} = {}", escape(&csv.header[c]), escape(value))
                })
                .collect();
            html.push_str(&format!(
                "<p class=\"parameters\">In every row: {} (the whole scenario: \
                 <a href=\"scenario.resolved.toml\">scenario.resolved.toml</a>).</p>\n",
                values.join(", ")
            ));
        }
        html.push_str("<table>\n<tr>");
        for &column in &shown {
            html.push_str(&format!("<th>{}</th>", escape(&csv.header[column])));
        }
        html.push_str("</tr>\n");
        for row in &csv.rows {
            html.push_str("<tr>");
            for &column in &shown {
                html.push_str(&format!(
                    "<td>{}</td>",
                    escape(row.get(column).unwrap_or(""))
                ));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</table>\n");
    }
    html.push_str("</body>\n</html>\n");
    let path = dir.join(INDEX_FILE);
    atomic::write_atomically(&path, |file| file.write_all(html.as_bytes()))?;
    Ok(path)
}
