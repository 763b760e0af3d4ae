//! Parameter sweeps: a `[sweep]` table turns one scenario file into a grid of scenarios.
//!
//! ```toml
//! [sweep]
//! "protocol.kind" = ["push", "pull", "push-pull"]           # a list
//! nodes = { from = 1000, to = 1000000, times = 4 }          # 4 values, equal ratios
//! "network.loss" = { from = 0.0, to = 0.3, step = 0.1 }     # 0.0, 0.1, 0.2, 0.3
//! ```
//!
//! Each key is a dotted key of the scenario file, as `--set` takes it (`network.loss`,
//! `crashes.0.fraction`); it may be written quoted (`"network.loss" = ...`) or as nested tables.
//! The grid is every combination of the values, in the order the keys appear in the file: the
//! first key changes slowest, the last fastest. A point is the file with its values set, exactly
//! as `--set` would set them, then validated like any scenario; an error names the point and its
//! values.
//!
//! Ranges: `step` counts from `from` up to `to` inclusive (a `to` within a billionth of a step of
//! the last value counts as reached); `times` is the number of values, spaced geometrically from
//! `from` to `to` inclusive. Integer `from` and `to` give integers (a geometric range rounds to
//! the nearest integer); otherwise float values are rounded to 12 significant digits, so
//! `0.1 * 3` is `0.3`.
//!
//! `--set` is applied to the file before the sweep is expanded. `--set KEY=VALUE` on a swept key
//! (or on a key inside it, or on a table that contains it) takes that key out of the sweep:
//! every point gets VALUE. `--set 'sweep.nodes=[10, 20]'` replaces the swept values instead.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize as _;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::display::toml_float;
use super::error::{KeyPath, KeySegment, Location, ScenarioError, Warning};
use super::load::{Document, read_text, render, render_full, set_path};
use super::model::Scenario;

/// The most points a sweep may have.
pub const MAX_POINTS: usize = 10_000;

/// The keys a range table takes.
const RANGE_KEYS: [&str; 4] = ["from", "to", "step", "times"];

/// A scenario file resolved into the points of its grid. A file without `[sweep]` is one point
/// without parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The swept keys, in file order: the parameter columns of every output file.
    pub keys: Vec<String>,
    pub points: Vec<Point>,
}

impl Sweep {
    /// Whether the file has a sweep (at least one swept key).
    pub fn is_sweep(&self) -> bool {
        !self.keys.is_empty()
    }
}

/// One point of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// Position in the grid, from 0.
    pub index: usize,
    /// Each swept key with this point's value, as text (strings unquoted), in the order of
    /// [`Sweep::keys`].
    pub params: Vec<(String, String)>,
    pub scenario: Scenario,
}

/// Reads the scenario file at `path`, applies `overrides` and expands its `[sweep]`.
pub fn load_sweep(path: &Path, overrides: &[String]) -> Result<Sweep, ScenarioError> {
    load_sweep_with_warnings(path, overrides).map(|(sweep, _)| sweep)
}

/// [`load_sweep`], and the warnings of its points (see [`parse_sweep_with_warnings`]).
pub fn load_sweep_with_warnings(
    path: &Path,
    overrides: &[String],
) -> Result<(Sweep, Vec<Warning>), ScenarioError> {
    let text = read_text(path).map_err(|error| ScenarioError::Read {
        path: path.to_owned(),
        error,
    })?;
    parse_sweep_with_warnings(&text, &path.display().to_string(), overrides)
}

/// Expands the sweep of the scenario in `text`; `source_name` names it in error messages.
pub fn parse_sweep(
    text: &str,
    source_name: &str,
    overrides: &[String],
) -> Result<Sweep, ScenarioError> {
    parse_sweep_with_warnings(text, source_name, overrides).map(|(sweep, _)| sweep)
}

/// [`parse_sweep`], and the warnings of its points: each once, in the order first met, with the
/// points it applies to when that is not all of them.
pub fn parse_sweep_with_warnings(
    text: &str,
    source_name: &str,
    overrides: &[String],
) -> Result<(Sweep, Vec<Warning>), ScenarioError> {
    let mut document = Document::parse(text, source_name, overrides)?;
    let sweep = match document.root.get_mut() {
        DeValue::Table(table) => table.remove("sweep"),
        _ => None,
    };
    let axes = match &sweep {
        Some(sweep) => axes(&document, sweep, overrides)?,
        None => Vec::new(),
    };
    let mut total: usize = 1;
    for axis in &axes {
        total = total.saturating_mul(axis.values.len());
    }
    if total > MAX_POINTS {
        let sizes: Vec<String> = axes.iter().map(|a| a.values.len().to_string()).collect();
        let span = sweep.as_ref().map_or(0..0, |sweep| sweep.span());
        return Err(ScenarioError::Toml {
            at: document.location(span),
            message: format!(
                "sweep: a grid of {} = {total} points is more than the limit of {MAX_POINTS}; \
                 sweep fewer values, or split the sweep into several files",
                sizes.join(" x ")
            ),
        });
    }

    let mut points = Vec::with_capacity(total);
    let mut warnings: Vec<Warning> = Vec::new();
    let mut choice = vec![0; axes.len()];
    for index in 0..total {
        // Mixed radix, the last key fastest.
        let mut rest = index;
        for (k, axis) in axes.iter().enumerate().rev() {
            choice[k] = rest % axis.values.len();
            rest /= axis.values.len();
        }
        let (point, point_warnings) = point(&document, &axes, &choice, index)?;
        points.push(point);
        for warning in point_warnings {
            let same = |seen: &&mut Warning| {
                (&seen.at, &seen.key, &seen.value, &seen.why)
                    == (&warning.at, &warning.key, &warning.value, &warning.why)
            };
            match warnings.iter_mut().find(same) {
                Some(seen) => seen.points.push(index),
                None => warnings.push(Warning {
                    points: vec![index],
                    ..warning
                }),
            }
        }
    }
    // A warning of every point is the scenario's, not a point's.
    for warning in &mut warnings {
        if warning.points.len() == total {
            warning.points.clear();
        }
    }
    let sweep = Sweep {
        keys: axes.iter().map(|axis| axis.key.clone()).collect(),
        points,
    };
    Ok((sweep, warnings))
}

/// One swept key and its values.
struct Axis<'a> {
    /// Dotted, as `--set` takes it.
    key: String,
    key_span: Range<usize>,
    segments: Vec<(Cow<'a, str>, Range<usize>)>,
    values: Vec<AxisValue<'a>>,
}

enum AxisValue<'a> {
    /// A value of a list, as written.
    Given(Spanned<DeValue<'a>>),
    /// A value of a range, as TOML text; `span` is the range's.
    Generated { text: String, span: Range<usize> },
}

fn point(
    document: &Document<'_>,
    axes: &[Axis<'_>],
    choice: &[usize],
    index: usize,
) -> Result<(Point, Vec<Warning>), ScenarioError> {
    let mut root = document.root.clone();
    let mut params = Vec::with_capacity(axes.len());
    // Generated values are parsed into here first, so that they outlive `root`.
    let generated: Vec<Option<Spanned<DeValue<'_>>>> = axes
        .iter()
        .zip(choice)
        .map(|(axis, &c)| match &axis.values[c] {
            AxisValue::Given(_) => None,
            AxisValue::Generated { text, span } => {
                let value = DeValue::parse(text).expect("a generated value is valid TOML");
                Some(Spanned::new(span.clone(), value.into_inner()))
            }
        })
        .collect();
    for ((axis, &c), generated) in axes.iter().zip(choice).zip(generated) {
        let value = match (&axis.values[c], generated) {
            (_, Some(value)) => value,
            (AxisValue::Given(value), None) => value.clone(),
            (AxisValue::Generated { .. }, None) => unreachable!("parsed above"),
        };
        params.push((axis.key.clone(), param_text(value.get_ref())));
        let rendered = render(value.get_ref());
        set_path(root.get_mut(), &KeyPath::root(), &axis.segments, value).map_err(|problem| {
            ScenarioError::Invalid {
                at: document.location(axis.key_span.clone()),
                key: sweep_key(&axis.key),
                value: rendered,
                problem,
            }
        })?;
    }
    match document.resolve_with_warnings(&root) {
        Ok((scenario, warnings)) => Ok((
            Point {
                index,
                params,
                scenario,
            },
            warnings,
        )),
        Err(error) => Err(point_error(document, axes, error, index, &params)),
    }
}

/// Words a point's validation error: where the offending value was written (the sweep entry
/// when it is a swept value), the problem with a swept key named `sweep.KEY`, then the point.
fn point_error(
    document: &Document<'_>,
    axes: &[Axis<'_>],
    mut error: ScenarioError,
    index: usize,
    params: &[(String, String)],
) -> ScenarioError {
    // Without a [sweep] there is one point and nothing to say about it.
    if axes.is_empty() {
        return error;
    }
    let at = error.location().cloned().unwrap_or_else(|| document.file());
    if let Some(location) = error.location_mut() {
        *location = Location::default();
    }
    if let ScenarioError::Invalid { key, .. } = &mut error {
        let dotted = dotted(key);
        if axes.iter().any(|axis| axis.key == dotted) {
            *key = sweep_key(&dotted);
        }
    }
    let mut listed = String::new();
    for (i, (key, value)) in params.iter().enumerate() {
        if i > 0 {
            listed.push_str(", ");
        }
        let _ = write!(listed, "{key} = {value}");
    }
    ScenarioError::SweepPoint {
        at,
        point: index,
        params: listed,
        error: Box::new(error),
    }
}

/// `sweep.KEY` as a key path that displays as written.
fn sweep_key(key: &str) -> KeyPath {
    KeyPath::root().key("sweep").key(key)
}

/// A key path as `--set` writes it: `crashes.0.fraction`.
fn dotted(key: &KeyPath) -> String {
    let parts: Vec<String> = key
        .segments()
        .iter()
        .map(|segment| match segment {
            KeySegment::Key(key) => key.clone(),
            KeySegment::Index(index) => index.to_string(),
        })
        .collect();
    parts.join(".")
}

/// A swept value as a CSV cell: strings without quotes, numbers as numbers, anything else as
/// TOML.
fn param_text(value: &DeValue<'_>) -> String {
    let de = || ValueDeserializer::from(Spanned::new(0..0, value.clone()));
    match value {
        DeValue::String(text) => text.to_string(),
        DeValue::Integer(_) => {
            i64::deserialize(de()).map_or_else(|_| render_full(value), |v| v.to_string())
        }
        DeValue::Float(_) => {
            f64::deserialize(de()).map_or_else(|_| render_full(value), |v| v.to_string())
        }
        _ => render_full(value),
    }
}

/// The swept keys of the `[sweep]` table with their values, in file order, less those that a
/// `--set` flag fixes.
fn axes<'a>(
    document: &Document<'a>,
    sweep: &Spanned<DeValue<'a>>,
    overrides: &[String],
) -> Result<Vec<Axis<'a>>, ScenarioError> {
    let DeValue::Table(table) = sweep.get_ref() else {
        return Err(ScenarioError::Invalid {
            at: document.location(sweep.span()),
            key: KeyPath::from("sweep"),
            value: render(sweep.get_ref()),
            problem: "must be a table of keys to lists or ranges".to_owned(),
        });
    };
    let mut leaves = Vec::new();
    flatten(table, &[], &mut leaves);
    leaves.sort_by_key(|(_, key_span, _)| key_span.start);

    let mut axes: Vec<Axis<'a>> = Vec::new();
    for (segments, key_span, value) in leaves {
        let key = segments
            .iter()
            .map(|(segment, _)| segment.as_ref())
            .collect::<Vec<_>>()
            .join(".");
        let invalid = |problem: String| ScenarioError::Invalid {
            at: document.location(key_span.clone()),
            key: sweep_key(&key),
            value: render(value.get_ref()),
            problem,
        };
        if segments.iter().any(|(segment, _)| segment.is_empty()) {
            return Err(invalid(format!(
                "`{key}` has an empty part; write a dotted key like \"network.loss\""
            )));
        }
        match segments[0].0.as_ref() {
            "name" => {
                return Err(invalid(
                    "the scenario name cannot be swept: it names the output folder".to_owned(),
                ));
            }
            "output" => {
                return Err(invalid(
                    "output options apply to the whole sweep and cannot be swept".to_owned(),
                ));
            }
            "sweep" => return Err(invalid("a sweep cannot sweep itself".to_owned())),
            _ => {}
        }
        if let Some(earlier) = axes.iter().find(|axis| overlaps(&axis.key, &key)) {
            let problem = if earlier.key == key {
                format!("`{key}` is swept twice")
            } else {
                format!("overlaps the swept key `{}`", earlier.key)
            };
            return Err(invalid(problem));
        }
        let values = match value.get_ref() {
            DeValue::Array(items) if items.is_empty() => {
                return Err(invalid("must not be an empty list".to_owned()));
            }
            DeValue::Array(items) => items.iter().cloned().map(AxisValue::Given).collect(),
            DeValue::Table(range) => range_values(range)
                .map_err(invalid)?
                .into_iter()
                .map(|text| AxisValue::Generated {
                    text,
                    span: value.span(),
                })
                .collect(),
            _ => {
                return Err(invalid(
                    "must be a list of values, or a range such as { from = 0.0, to = 0.5, \
                     step = 0.1 } or { from = 1000, to = 1000000, times = 4 }"
                        .to_owned(),
                ));
            }
        };
        axes.push(Axis {
            key,
            key_span,
            segments,
            values,
        });
    }

    // A `--set` of a swept key fixes it for every point.
    let fixed: Vec<&str> = overrides
        .iter()
        .filter_map(|flag| flag.split_once('=').map(|(key, _)| key.trim()))
        .filter(|key| *key != "sweep" && !key.starts_with("sweep."))
        .collect();
    axes.retain(|axis| !fixed.iter().any(|key| overlaps(key, &axis.key)));
    Ok(axes)
}

type Leaf<'a> = (
    Vec<(Cow<'a, str>, Range<usize>)>,
    Range<usize>,
    Spanned<DeValue<'a>>,
);

/// Every swept key under `table`: a key whose value is not a table, or is a range table.
fn flatten<'a>(
    table: &DeTable<'a>,
    prefix: &[(Cow<'a, str>, Range<usize>)],
    out: &mut Vec<Leaf<'a>>,
) {
    for (key, value) in table.iter() {
        let mut segments = prefix.to_vec();
        // A quoted key "network.loss" is one TOML key naming a nested one.
        match key.get_ref() {
            Cow::Borrowed(text) => segments.extend(
                text.split('.')
                    .map(|part| (Cow::Borrowed(part), key.span())),
            ),
            Cow::Owned(text) => segments.extend(
                text.split('.')
                    .map(|part| (Cow::Owned(part.to_owned()), key.span())),
            ),
        }
        match value.get_ref() {
            DeValue::Table(inner) if !is_range(inner) && !inner.is_empty() => {
                flatten(inner, &segments, out)
            }
            _ => out.push((segments, key.span(), value.clone())),
        }
    }
}

fn is_range(table: &DeTable<'_>) -> bool {
    RANGE_KEYS.iter().any(|key| table.contains_key(*key))
}

/// Whether two dotted keys are the same or one lies inside the other.
fn overlaps(a: &str, b: &str) -> bool {
    let inside = |inner: &str, outer: &str| {
        inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    };
    inside(a, b) || inside(b, a)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    fn as_f64(self) -> f64 {
        match self {
            Number::Int(value) => value as f64,
            Number::Float(value) => value,
        }
    }
}

/// The values of a range table as TOML texts; the error is the problem, for the caller to place.
fn range_values(range: &DeTable<'_>) -> Result<Vec<String>, String> {
    if let Some((key, _)) = range
        .iter()
        .find(|(key, _)| !RANGE_KEYS.contains(&key.get_ref().as_ref()))
    {
        return Err(format!(
            "unknown key `{}` in a range (expected `from`, `to`, and `step` or `times`)",
            key.get_ref()
        ));
    }
    let number = |name: &str| -> Result<Option<Number>, String> {
        let Some(value) = range.get(name) else {
            return Ok(None);
        };
        let de = || ValueDeserializer::from(value.clone());
        let number = match value.get_ref() {
            DeValue::Integer(_) => i64::deserialize(de()).ok().map(Number::Int),
            DeValue::Float(_) => f64::deserialize(de()).ok().map(Number::Float),
            _ => None,
        };
        match number {
            Some(number) if number.as_f64().is_finite() => Ok(Some(number)),
            _ => Err(format!(
                "`{name}` must be a finite number, not {}",
                render(value.get_ref())
            )),
        }
    };
    let (Some(from), Some(to)) = (number("from")?, number("to")?) else {
        return Err("a range needs `from` and `to`".to_owned());
    };
    if from.as_f64() >= to.as_f64() {
        return Err(format!(
            "`from` ({}) must be less than `to` ({}); for a single value, use a list",
            from.as_f64(),
            to.as_f64()
        ));
    }
    match (number("step")?, number("times")?) {
        (Some(_), Some(_)) => Err("a range takes `step` or `times`, not both".to_owned()),
        (None, None) => Err("a range needs `step` (arithmetic) or `times` (geometric)".to_owned()),
        (Some(step), None) => arithmetic(from, to, step),
        (None, Some(Number::Int(times))) => geometric(from, to, times),
        (None, Some(Number::Float(times))) => Err(format!(
            "`times` = {times}: must be an integer, the number of values"
        )),
    }
}

/// `from, from + step, ...` up to `to` inclusive.
fn arithmetic(from: Number, to: Number, step: Number) -> Result<Vec<String>, String> {
    if step.as_f64() <= 0.0 {
        return Err(format!(
            "`step` = {}: must be greater than 0",
            step.as_f64()
        ));
    }
    let too_many =
        |count: f64| format!("gives {count} values, more than the limit of {MAX_POINTS} points");
    if let (Number::Int(from), Number::Int(to), Number::Int(step)) = (from, to, step) {
        let count = (i128::from(to) - i128::from(from)) / i128::from(step) + 1;
        if count > MAX_POINTS as i128 {
            return Err(too_many(count as f64));
        }
        return Ok((0..count as i64)
            .map(|i| (from + i * step).to_string())
            .collect());
    }
    let (from, to, step) = (from.as_f64(), to.as_f64(), step.as_f64());
    // A `to` within a billionth of a step of a value counts as reached: 0.3 / 0.1 is not 3.
    let count = ((to - from) / step + 1e-9).floor() + 1.0;
    if count > MAX_POINTS as f64 {
        return Err(too_many(count));
    }
    Ok((0..count as u32)
        .map(|i| toml_float(significant(from + f64::from(i) * step)))
        .collect())
}

/// `times` values from `from` to `to` with equal ratios.
fn geometric(from: Number, to: Number, times: i64) -> Result<Vec<String>, String> {
    if times < 2 {
        return Err(format!(
            "`times` = {times}: must be at least 2 (the number of values, from and to included)"
        ));
    }
    if times > MAX_POINTS as i64 {
        return Err(format!(
            "`times` = {times}: more than the limit of {MAX_POINTS} points"
        ));
    }
    if from.as_f64() <= 0.0 {
        return Err(format!(
            "`from` = {}: a geometric range (`times`) must start above 0",
            from.as_f64()
        ));
    }
    let (low, high) = (from.as_f64(), to.as_f64());
    let value = |i: i64| match i {
        0 => low,
        i if i == times - 1 => high,
        i => low * (high / low).powf(i as f64 / (times - 1) as f64),
    };
    if let (Number::Int(_), Number::Int(_)) = (from, to) {
        let values: Vec<i64> = (0..times).map(|i| value(i).round() as i64).collect();
        if values.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err(format!(
                "{times} integers from {low} to {high} would repeat values after rounding; \
                 use fewer `times`"
            ));
        }
        return Ok(values.iter().map(i64::to_string).collect());
    }
    Ok((0..times)
        .map(|i| toml_float(significant(value(i))))
        .collect())
}

/// `value` rounded to 12 significant digits: hides the float error of `0.1 * 3`, keeps any
/// value a person would write.
fn significant(value: f64) -> f64 {
    format!("{value:.11e}").parse().unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "sweeps/x.toml";

    const BASE: &str = r#"name = "s"
nodes = 100
[protocol]
kind = "push"
[[updates]]
product = "P"
price = 1.0
origin = 0
"#;

    fn grid(table: &str) -> Result<Sweep, ScenarioError> {
        parse_sweep(&format!("{BASE}[sweep]\n{table}\n"), FILE, &[])
    }

    fn params(sweep: &Sweep) -> Vec<String> {
        sweep
            .points
            .iter()
            .map(|point| {
                let values: Vec<&str> = point.params.iter().map(|(_, v)| v.as_str()).collect();
                values.join(" ")
            })
            .collect()
    }

    fn error(table: &str) -> String {
        match grid(table) {
            Ok(sweep) => panic!("expected an error, got {:?}", params(&sweep)),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn a_file_without_sweep_reports_a_bad_value_without_a_sweep_point() {
        let text = BASE.replace("kind = \"push\"", "kind = \"push\"\nfanout = 200");
        let error = parse_sweep(&text, FILE, &[]).unwrap_err().to_string();
        assert_eq!(
            error,
            "sweeps/x.toml:5:10: protocol.fanout = 200: must be at least 1 and less than nodes (100)"
        );
    }

    #[test]
    fn a_file_without_sweep_is_one_point_without_params() {
        let sweep = parse_sweep(BASE, FILE, &[]).unwrap();
        assert!(!sweep.is_sweep());
        assert_eq!(sweep.points.len(), 1);
        assert_eq!(sweep.points[0].index, 0);
        assert!(sweep.points[0].params.is_empty());
        assert_eq!(sweep.points[0].scenario.nodes, 100);
    }

    #[test]
    fn the_grid_follows_file_order_first_key_slowest() {
        let sweep = grid(
            "\"protocol.kind\" = [\"push\", \"pull\"]\nnodes = { from = 10, to = 1000, times = 3 }",
        )
        .unwrap();
        assert_eq!(sweep.keys, ["protocol.kind", "nodes"]);
        assert_eq!(
            params(&sweep),
            [
                "push 10",
                "push 100",
                "push 1000",
                "pull 10",
                "pull 100",
                "pull 1000"
            ]
        );
        let point = &sweep.points[4];
        assert_eq!(point.index, 4);
        assert_eq!(point.scenario.nodes, 100);
        assert_eq!(point.scenario.protocol.kind.as_str(), "pull");
        // Keys in the other order give the other grid.
        let sweep = grid("nodes = [10, 20]\n\"protocol.kind\" = [\"push\", \"pull\"]").unwrap();
        assert_eq!(params(&sweep), ["10 push", "10 pull", "20 push", "20 pull"]);
    }

    #[test]
    fn nested_tables_are_dotted_keys() {
        let sweep = grid("network.loss = [0.0, 0.5]\n[sweep.protocol]\nfanout = [1, 2]").unwrap();
        assert_eq!(sweep.keys, ["network.loss", "protocol.fanout"]);
        assert_eq!(params(&sweep), ["0 1", "0 2", "0.5 1", "0.5 2"]);
        assert_eq!(sweep.points[3].scenario.network.loss, 0.5);
        assert_eq!(sweep.points[3].scenario.protocol.fanout, 2);
    }

    #[test]
    fn arithmetic_ranges_include_to_and_hide_float_error() {
        let sweep = grid("\"network.loss\" = { from = 0.0, to = 0.5, step = 0.1 }").unwrap();
        assert_eq!(params(&sweep), ["0", "0.1", "0.2", "0.3", "0.4", "0.5"]);
        assert_eq!(sweep.points[3].scenario.network.loss, 0.3);
        let sweep = grid("nodes = { from = 10, to = 35, step = 10 }").unwrap();
        assert_eq!(params(&sweep), ["10", "20", "30"]);
    }

    #[test]
    fn geometric_ranges_have_times_values() {
        let sweep = grid("nodes = { from = 1000, to = 1000000, times = 4 }").unwrap();
        assert_eq!(params(&sweep), ["1000", "10000", "100000", "1000000"]);
        let sweep = grid("\"network.loss\" = { from = 0.001, to = 0.1, times = 3 }").unwrap();
        assert_eq!(params(&sweep), ["0.001", "0.01", "0.1"]);
    }

    #[test]
    fn set_on_a_swept_key_takes_it_out_of_the_sweep() {
        let text =
            format!("{BASE}[sweep]\nnodes = [10, 20]\n\"protocol.kind\" = [\"push\", \"pull\"]\n");
        let flags = vec!["nodes=50".to_owned()];
        let sweep = parse_sweep(&text, FILE, &flags).unwrap();
        assert_eq!(sweep.keys, ["protocol.kind"]);
        assert_eq!(params(&sweep), ["push", "pull"]);
        assert!(sweep.points.iter().all(|p| p.scenario.nodes == 50));
        // A table containing a swept key fixes it too.
        let flags = vec!["protocol={ kind = \"push-pull\" }".to_owned()];
        let sweep = parse_sweep(&text, FILE, &flags).unwrap();
        assert_eq!(sweep.keys, ["nodes"]);
        // Setting the sweep itself replaces the values.
        let flags = vec!["sweep.nodes=[30, 40, 50]".to_owned()];
        let sweep = parse_sweep(&text, FILE, &flags).unwrap();
        assert_eq!(sweep.points.len(), 6);
        assert_eq!(
            sweep.points[5].params[0],
            ("nodes".to_owned(), "50".to_owned())
        );
        // Other keys apply to every point.
        let flags = vec!["trials=3".to_owned()];
        let sweep = parse_sweep(&text, FILE, &flags).unwrap();
        assert!(sweep.points.iter().all(|p| p.scenario.trials == 3));
    }

    #[test]
    fn an_empty_sweep_table_is_no_sweep() {
        let sweep = grid("").unwrap();
        assert!(!sweep.is_sweep());
        assert_eq!(sweep.points.len(), 1);
    }

    #[test]
    fn plain_parse_refuses_a_sweep() {
        let message = super::super::parse(&format!("{BASE}[sweep]\nnodes = [10]\n"), FILE, &[])
            .unwrap_err()
            .to_string();
        assert!(message.contains("load_sweep"), "{message}");
    }

    #[test]
    fn bad_sweeps_are_clear_errors() {
        let cases: &[(&str, &str)] = &[
            (
                "nodes = []",
                "sweeps/x.toml:10:1: sweep.nodes = []: must not be an empty list",
            ),
            (
                "nodes = 5",
                "sweep.nodes = 5: must be a list of values, or a range",
            ),
            (
                "\"network.loss\" = { from = 0.0, to = 0.5, step = 0.0 }",
                "sweep.network.loss = { from = 0.0, to = 0.5, step = 0.0 }: `step` = 0: must be greater than 0",
            ),
            (
                "\"network.loss\" = { from = 0.0, to = 0.5, step = -0.1 }",
                "`step` = -0.1: must be greater than 0",
            ),
            (
                "nodes = { from = 10, to = 100, times = 1 }",
                "sweep.nodes = { from = 10, to = 100, times = 1 }: `times` = 1: must be at least 2",
            ),
            (
                "nodes = { from = 10, to = 100, times = 2.5 }",
                "`times` = 2.5: must be an integer",
            ),
            (
                "nodes = { from = 100, to = 10, step = 10 }",
                "`from` (100) must be less than `to` (10)",
            ),
            (
                "nodes = { from = 10, to = 10, step = 1 }",
                "must be less than `to`",
            ),
            (
                "nodes = { from = 0, to = 10, times = 3 }",
                "a geometric range (`times`) must start above 0",
            ),
            (
                "nodes = { from = 10, to = 12, times = 5 }",
                "would repeat values after rounding",
            ),
            (
                "nodes = { from = 10, to = 100 }",
                "a range needs `step` (arithmetic) or `times` (geometric)",
            ),
            (
                "nodes = { from = 10, to = 100, step = 1, times = 3 }",
                "`step` or `times`, not both",
            ),
            (
                "nodes = { from = 10, step = 1 }",
                "a range needs `from` and `to`",
            ),
            (
                "nodes = { from = 10, to = 100, by = 1 }",
                "unknown key `by` in a range",
            ),
            (
                "nodes = { from = \"a\", to = 100, step = 1 }",
                "`from` must be a finite number, not \"a\"",
            ),
            (
                "nodes = { from = 2, to = 100000, step = 1 }",
                "gives 99999 values, more than the limit of 10000 points",
            ),
            (
                "nodes = { from = 2, to = 102, step = 1 }\n\"protocol.fanout\" = { from = 1, to = 100, step = 1 }",
                "sweeps/x.toml:9:1: sweep: a grid of 101 x 100 = 10100 points is more than the limit of 10000",
            ),
            (
                "\"network.loss\" = [0.1]\nnetwork.loss = [0.2]",
                "sweep.network.loss = [0.2]: `network.loss` is swept twice",
            ),
            (
                "network = [{ loss = 0.1 }]\n\"network.loss\" = [0.2]",
                "sweep.network.loss = [0.2]: overlaps the swept key `network`",
            ),
            (
                "name = [\"a\", \"b\"]",
                "sweep.name = [\"a\", \"b\"]: the scenario name cannot be swept",
            ),
            (
                "\"output.coverage\" = [true, false]",
                "output options apply to the whole sweep",
            ),
            ("\"protocol..kind\" = [\"push\"]", "has an empty part"),
            // Point errors: where the value is written, the key as swept, and the point.
            (
                "nodes = [10, 1]",
                "sweeps/x.toml:10:14: sweep.nodes = 1: must be between 2 and 100000000 (sweep point 1: nodes = 1)",
            ),
            (
                "nodes = { from = 1, to = 10, step = 3 }",
                "sweeps/x.toml:10:9: sweep.nodes = 1: must be between 2 and 100000000 (sweep point 0: nodes = 1)",
            ),
            (
                "\"protocol.kind\" = [\"push\", \"gossip\"]",
                "sweep.protocol.kind = \"gossip\": must be one of",
            ),
            (
                "\"protocol.fanout\" = [\"x\"]",
                "sweep.protocol.fanout = \"x\": expected an integer (sweep point 0: protocol.fanout = x)",
            ),
            (
                "\"protocl.kind\" = [\"push\"]",
                "sweeps/x.toml:10:1: unknown key `protocl` at top level",
            ),
            (
                "\"protocol.fanout\" = [1, 200]",
                "protocol.fanout = 200: must be at least 1 and less than nodes (100) (sweep point 1: protocol.fanout = 200)",
            ),
            (
                "\"nodes.x\" = [1]",
                "sweep.nodes.x = 1: `nodes` is an integer, not a table",
            ),
        ];
        let mut failures = Vec::new();
        for (table, wanted) in cases {
            let message = error(table);
            if !message.contains(wanted) || !message.starts_with(FILE) || message.contains('\n') {
                failures.push(format!("{message:?}\n  lacks {wanted:?}\n  for {table}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn a_sweep_that_is_not_a_table_is_an_error() {
        let message = parse_sweep(&format!("sweep = 3\n{BASE}"), FILE, &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "sweeps/x.toml:1:9: sweep = 3: must be a table of keys to lists or ranges"
        );
    }
}
