//! The charts particular experiments need: the last nodes an update reaches (1 - coverage on a
//! log axis), rumor residue against traffic beside Demers' curve, completion per region.

use std::path::Path;

use super::svg::{Axis, Chart, Series};
use super::{Csv, PlotError, samples_text, short_key};

/// The coverage chart as 1 - coverage on a log axis, where the last few nodes show; `None` when
/// every band already sits at full coverage.
pub(super) fn missing(coverage: Chart) -> Option<Chart> {
    let mut series = coverage.series;
    for s in &mut series {
        for point in &mut s.points {
            point.1 = 1.0 - point.1;
        }
        for band in &mut s.band {
            *band = (band.0, 1.0 - band.2, 1.0 - band.1);
        }
    }
    let positive = series.iter().flat_map(|s| {
        s.points
            .iter()
            .map(|p| p.1)
            .chain(s.band.iter().flat_map(|b| [b.1, b.2]))
    });
    let values: Vec<f64> = positive.filter(|v| *v > 0.0).collect();
    if values.is_empty() {
        return None;
    }
    let title = coverage
        .title
        .replacen("Coverage", "Live nodes still missing the update", 1);
    Some(Chart {
        title,
        note: "1 - coverage on a log scale: median over (trial, update) pairs; band: 5th to \
               95th percentile; a line ends where every live node has it"
            .to_owned(),
        x: coverage.x,
        y: Axis::fit(
            "fraction of live nodes without the update (log scale)",
            values.into_iter().chain([1.0]),
            true,
            false,
        ),
        series,
        legend_title: coverage.legend_title,
    })
}

/// Residue (live nodes that never got the update) against traffic (messages carrying it per
/// node), one marker per (trial, update) pair, grouped by sweep point, with Demers et al.'s
/// s = e^-m (1987, "Epidemic algorithms for replicated database maintenance": residue of
/// rumor mongering against traffic m). `None` unless some update missed some live node.
pub(super) fn residue_vs_traffic(dir: &Path) -> Result<Option<Chart>, PlotError> {
    let Some(updates) = Csv::read(dir, "updates.csv")? else {
        return Ok(None);
    };
    let (Ok(residue), Ok(traffic)) = (updates.column("residue"), updates.column("traffic")) else {
        return Ok(None);
    };
    let params = updates.swept_before(dir, "update")?;
    let label = |row: &csv::StringRecord| {
        let label: Vec<String> = params
            .iter()
            .map(|&c| row.get(c).unwrap_or("").to_owned())
            .collect();
        if label.is_empty() {
            row.get(0).unwrap_or("").to_owned()
        } else {
            label.join(", ")
        }
    };
    let groups = grouped(&updates, label, |row| {
        Ok((updates.number(row, traffic)?, updates.number(row, residue)?))
    })?;
    let any_residue = groups
        .iter()
        .any(|(_, points)| points.iter().any(|p| p.1 > 0.0));
    if !any_residue {
        return Ok(None);
    }
    let max_m = groups
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let pairs: Vec<f64> = groups.iter().map(|(_, p)| p.len() as f64).collect();
    let min_residue = groups
        .iter()
        .flat_map(|(_, points)| points.iter().map(|p| p.1))
        .filter(|s| *s > 0.0)
        .fold((-max_m).exp(), f64::min)
        * 0.8;
    let mut series: Vec<Series> = groups
        .into_iter()
        .enumerate()
        .map(|(i, (label, points))| Series {
            points,
            markers: true,
            scatter: true,
            ..Series::styled(i, label)
        })
        .collect();
    let curve: Vec<(f64, f64)> = (0..=100)
        .map(|i| {
            let m = max_m * f64::from(i) / 100.0;
            (m, (-m).exp())
        })
        .collect();
    series.push(Series {
        label: "Demers et al. 1987: s = e^-m".to_owned(),
        color: "#000000".to_owned(),
        points: curve,
        dashed: true,
        ..Series::default()
    });
    let legend_title = params
        .iter()
        .map(|&c| short_key(&updates.header[c]))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Some(Chart {
        title: format!(
            "Residue against traffic ({})",
            samples_text(&pairs, "(trial, update) pairs")
        ),
        note: "one marker per (trial, update); residue s: fraction of live nodes that never got \
               it (0 not shown); traffic m: messages carrying it per node"
            .to_owned(),
        x: Axis::fit(
            "traffic m (update messages per node)",
            [0.0, max_m].into_iter(),
            false,
            true,
        ),
        // Residues of a few percent and the curve's 1 at m = 0 both read on a log axis.
        y: Axis::fit(
            "residue s (log scale)",
            [min_residue, 1.0].into_iter(),
            true,
            false,
        ),
        series,
        legend_title,
    }))
}

/// Per region, the fraction of (trial, update) pairs in which every live node of the region
/// had the update, against rounds since injection (an empirical distribution function).
pub(super) fn regions_completion(dir: &Path) -> Result<Option<Chart>, PlotError> {
    let Some(regions) = Csv::read(dir, "regions.csv")? else {
        return Ok(None);
    };
    if regions.rows.is_empty() {
        return Ok(None);
    }
    let (region, rounds) = (regions.column("region")?, regions.column("rounds_to_all")?);
    let chart = completion_chart(
        &regions,
        rounds,
        |row| row.get(region).unwrap_or("").to_owned(),
        Completion {
            title: "Completion per region",
            note: "fraction of (trial, update) pairs in which every live node of the region had \
                   the update, against rounds since injection",
            y: "fraction of pairs complete in the region",
            legend_title: "region".to_owned(),
            whole_rounds: false,
        },
    )?;
    Ok(Some(chart))
}

/// The rows of `csv` grouped by `label(row)`, groups in the order they first appear, each row
/// giving `value(row)`.
fn grouped<T>(
    csv: &Csv,
    label: impl Fn(&csv::StringRecord) -> String,
    mut value: impl FnMut(&csv::StringRecord) -> Result<T, PlotError>,
) -> Result<Vec<(String, Vec<T>)>, PlotError> {
    let mut groups: Vec<(String, Vec<T>)> = Vec::new();
    for row in &csv.rows {
        let (name, v) = (label(row), value(row)?);
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(v),
            None => groups.push((name, vec![v])),
        }
    }
    Ok(groups)
}

/// The words of a completion chart.
struct Completion<'a> {
    title: &'a str,
    note: &'a str,
    y: &'a str,
    legend_title: String,
    /// Whether the x axis ends at a whole round.
    whole_rounds: bool,
}

/// A completion chart of `csv`: one step line per group of rows (`label` names a row's group),
/// each the distribution of the `rounds` column, an empty cell meaning "never".
fn completion_chart(
    csv: &Csv,
    rounds: usize,
    label: impl Fn(&csv::StringRecord) -> String,
    text: Completion<'_>,
) -> Result<Chart, PlotError> {
    let groups = grouped(csv, label, |row| match row.get(rounds).unwrap_or("") {
        "" => Ok(None),
        _ => csv.number(row, rounds).map(Some),
    })?;
    let mut end = groups
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().copied())
        .fold(1.0, f64::max);
    if text.whole_rounds {
        end = end.ceil();
    }
    let pairs: Vec<f64> = groups.iter().map(|(_, v)| v.len() as f64).collect();
    let series = groups
        .into_iter()
        .enumerate()
        .map(|(i, (name, values))| completion_series(i, name, values, end))
        .collect();
    Ok(Chart {
        title: format!(
            "{} ({})",
            text.title,
            samples_text(&pairs, "(trial, update) pairs")
        ),
        note: text.note.to_owned(),
        x: Axis::fit(
            "rounds since injection",
            [0.0, end].into_iter(),
            false,
            true,
        ),
        y: Axis::fit(text.y, [0.0, 1.0].into_iter(), false, true),
        series,
        legend_title: text.legend_title,
    })
}

/// An empirical distribution function as a step line: the fraction of `values` at or below x,
/// `None` never getting there; at most about 500 steps (evenly spaced ranks) however many
/// values.
fn completion_series(i: usize, label: String, values: Vec<Option<f64>>, end: f64) -> Series {
    let total = values.len() as f64;
    let mut done: Vec<f64> = values.into_iter().flatten().collect();
    done.sort_by(f64::total_cmp);
    let step = done.len().div_ceil(500).max(1);
    let mut points = vec![(0.0, 0.0)];
    let mut below = 0.0;
    for (k, &x) in done.iter().enumerate() {
        if (k + 1) % step != 0 && k + 1 != done.len() {
            continue;
        }
        points.push((x, below));
        below = (k + 1) as f64 / total;
        points.push((x, below));
    }
    points.push((end, done.len() as f64 / total));
    Series {
        points,
        ..Series::styled(i, label)
    }
}

/// Per sweep point, the fraction of (trial, update) pairs that reached every live node against
/// rounds since injection, from updates.csv: the chart every results folder gets.
pub(super) fn completion(dir: &Path) -> Result<Option<Chart>, PlotError> {
    let Some(updates) = Csv::read(dir, "updates.csv")? else {
        return Ok(None);
    };
    let Ok(rounds) = updates.column("rounds_to_all") else {
        return Ok(None);
    };
    if updates.rows.is_empty() {
        return Ok(None);
    }
    let params = updates.swept_before(dir, "update")?;
    let label = |row: &csv::StringRecord| {
        let label: Vec<String> = params
            .iter()
            .map(|&c| {
                if params.len() == 1 {
                    row.get(c).unwrap_or("").to_owned()
                } else {
                    format!(
                        "{}={}",
                        short_key(&updates.header[c]),
                        row.get(c).unwrap_or("")
                    )
                }
            })
            .collect();
        if label.is_empty() {
            row.get(0).unwrap_or("").to_owned()
        } else {
            label.join(", ")
        }
    };
    let legend_title = params
        .iter()
        .map(|&c| short_key(&updates.header[c]))
        .collect::<Vec<_>>()
        .join(", ");
    let chart = completion_chart(
        &updates,
        rounds,
        label,
        Completion {
            title: "Updates that reached every live node",
            note: "fraction of (trial, update) pairs whose update had reached every live node, \
                   against rounds since its injection",
            y: "fraction of (trial, update) pairs complete",
            legend_title,
            whole_rounds: true,
        },
    )?;
    Ok(Some(chart))
}
