//! The CSV files of a run: one module per file, each a [`Table`] written over any `impl Write`.
//!
//! Every row starts with `scenario,trial,seed` (`scenario` in `summary.csv`), then the run's
//! parameter columns ([`params`]: `point`, the defining parameters, the other swept keys), then
//! the file's own columns. Rows come in trial order whatever order the trials finished in, and
//! every number is formatted by [`push_decimal`]: exact integer arithmetic, no locale, no float
//! rounding, so the same reports always give the same bytes.
//!
//! A run renders each sweep point's rows with [`point_rows`] and puts the files together under
//! the [`headers`]; [`atomic`] makes every file appear complete or not at all.

pub mod atomic;
mod coverage;
pub mod folder;
pub mod lock;
pub mod manifest;
pub mod params;
mod regions;
mod runs;
pub mod summary;
mod tables;
mod updates;

use std::fmt::Write as _;
use std::io::{self, Write};

pub use atomic::{StagedFile, WriteError};
pub use coverage::CoverageTable;
pub use params::RunColumns;
pub use regions::RegionsTable;
pub use runs::RunsTable;
pub use tables::TablesTable;
pub use updates::UpdatesTable;

use crate::report::TrialReport;
use crate::scenario::{Catalog, Scenario};
use crate::time::Time;

/// The name of every file a run may write into its output folder, in the order written.
pub const FILE_NAMES: [&str; 6] = [
    "updates.csv",
    "runs.csv",
    "coverage.csv",
    "tables.csv",
    "regions.csv",
    "summary.csv",
];

/// The first three columns of every table.
const ROW_PREFIX: [&str; 3] = ["scenario", "trial", "seed"];

/// Decimals of a value in rounds (or milliseconds): a thousandth of a round is finer than any
/// latency the model distinguishes.
pub const ROUND_DECIMALS: u32 = 3;
/// Decimals of a ratio (coverage, residue, traffic).
pub const RATIO_DECIMALS: u32 = 6;

/// One CSV file of a run.
pub trait Table {
    /// The file's name inside the output folder.
    fn file_name(&self) -> &'static str;

    /// Column names, starting with `scenario,trial,seed`.
    fn header(&self) -> Vec<&'static str>;

    /// Writes the rows of one trial.
    fn write_trial<W: Write>(&self, trial: &TrialReport, out: &mut CsvOut<W>) -> io::Result<()>;
}

/// Writes `table` for `trials` into `out`: the header, then every trial's rows in trial order.
pub fn write_table<T: Table>(table: &T, trials: &[TrialReport], out: impl Write) -> io::Result<()> {
    let mut out = CsvOut::new(out);
    out.csv.write_record(table.header())?;
    write_trials(table, trials, &mut out)?;
    out.csv.flush()
}

/// Writes the rows of `trials` (no header) in trial order, each with `point` (the cells of the
/// run's parameter columns, see [`RunColumns::cells`]) right after `scenario,trial,seed`.
pub fn write_rows<T: Table>(
    table: &T,
    trials: &[TrialReport],
    point: &[String],
    out: impl Write,
) -> io::Result<()> {
    let mut out = CsvOut::new(out);
    out.point = point.to_vec();
    write_trials(table, trials, &mut out)?;
    out.csv.flush()
}

fn write_trials<T: Table, W: Write>(
    table: &T,
    trials: &[TrialReport],
    out: &mut CsvOut<W>,
) -> io::Result<()> {
    let mut ordered: Vec<&TrialReport> = trials.iter().collect();
    ordered.sort_by_key(|report| report.trial);
    for report in ordered {
        table.write_trial(report, out)?;
    }
    Ok(())
}

/// `header` with `point_columns` (the run's parameter columns, [`RunColumns::names`]) inserted
/// after `scenario,trial,seed`, as one CSV line without its line end.
pub fn header_line(header: &[&str], point_columns: &[String]) -> String {
    let at = header.len().min(ROW_PREFIX.len());
    let mut cells: Vec<&str> = header[..at].to_vec();
    cells.extend(point_columns.iter().map(String::as_str));
    cells.extend(&header[at..]);
    csv_line(&cells)
}

/// One CSV record, quoted as the tables quote, without its line end.
pub fn csv_line(cells: &[&str]) -> String {
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(cells)
        .expect("writing to a Vec cannot fail");
    let mut line = String::from_utf8(csv.into_inner().expect("writing to a Vec cannot fail"))
        .expect("the cells are UTF-8");
    line.truncate(line.trim_end_matches(['\n', '\r']).len());
    line
}

/// The file of per-point statistics, written by every run after the per-trial files.
pub const SUMMARY_FILE: &str = "summary.csv";

/// Files that only some scenarios write: a folder never mixes two runs, so a run that does not
/// write one removes an old copy.
pub const OPTIONAL_FILES: [&str; 3] = ["coverage.csv", "tables.csv", "regions.csv"];

/// Each file `scenario` writes with its header line, `point_columns` (the run's parameter
/// columns, [`RunColumns::names`]) after `scenario,trial,seed`.
pub fn headers(scenario: &Scenario, point_columns: &[String]) -> Vec<(&'static str, String)> {
    let catalog = Catalog::new(&scenario.workload);
    let name = scenario.name.as_str();
    let period = scenario.period;
    let line = |table: &dyn Fn() -> (&'static str, Vec<&'static str>)| {
        let (file, header) = table();
        (file, header_line(&header, point_columns))
    };
    let mut headers = vec![
        line(&|| {
            let t = UpdatesTable::new(name, period, &catalog);
            (t.file_name(), t.header())
        }),
        line(&|| {
            let t = RunsTable::new(name, period);
            (t.file_name(), t.header())
        }),
    ];
    if scenario.output.coverage {
        headers.push(line(&|| {
            let t = CoverageTable::new(name, period);
            (t.file_name(), t.header())
        }));
    }
    if scenario.output.tables {
        headers.push(line(&|| {
            let t = TablesTable::new(name, &catalog);
            (t.file_name(), t.header())
        }));
    }
    if let Some(regions) = &scenario.regions {
        headers.push(line(&|| {
            let t = RegionsTable::new(name, period, regions);
            (t.file_name(), t.header())
        }));
    }
    let summary = summary::header(point_columns);
    let cells: Vec<&str> = summary.iter().map(String::as_str).collect();
    headers.push((SUMMARY_FILE, csv_line(&cells)));
    headers
}

/// One point's rows of every file `scenario` writes, in the order of [`headers`]: the rows of
/// `trials` in trial order, each with the `point` cells ([`RunColumns::cells`]).
pub fn point_rows(
    scenario: &Scenario,
    catalog: &Catalog,
    point: &[String],
    trials: &[TrialReport],
) -> Vec<(&'static str, Vec<u8>)> {
    let name = scenario.name.as_str();
    let period = scenario.period;
    let rows = |table: &dyn Fn(&mut Vec<u8>) -> io::Result<()>| {
        let mut out = Vec::new();
        table(&mut out).expect("writing to a Vec cannot fail");
        out
    };
    let mut files = vec![
        (
            "updates.csv",
            rows(&|out| {
                write_rows(
                    &UpdatesTable::new(name, period, catalog),
                    trials,
                    point,
                    out,
                )
            }),
        ),
        (
            "runs.csv",
            rows(&|out| write_rows(&RunsTable::new(name, period), trials, point, out)),
        ),
    ];
    if scenario.output.coverage {
        files.push((
            "coverage.csv",
            rows(&|out| write_rows(&CoverageTable::new(name, period), trials, point, out)),
        ));
    }
    if scenario.output.tables {
        files.push((
            "tables.csv",
            rows(&|out| write_rows(&TablesTable::new(name, catalog), trials, point, out)),
        ));
    }
    if let Some(regions) = &scenario.regions {
        files.push((
            "regions.csv",
            rows(&|out| {
                write_rows(
                    &RegionsTable::new(name, period, regions),
                    trials,
                    point,
                    out,
                )
            }),
        ));
    }
    files.push((
        SUMMARY_FILE,
        rows(&|out| summary::write_rows(scenario, point, trials, out)),
    ));
    files
}

/// A CSV writer that formats numbers the one way this crate formats them.
pub struct CsvOut<W: Write> {
    csv: csv::Writer<W>,
    scratch: String,
    /// Cells after `scenario,trial,seed` in every row: the run's parameters.
    point: Vec<String>,
}

impl<W: Write> CsvOut<W> {
    pub(crate) fn new(out: W) -> CsvOut<W> {
        CsvOut {
            csv: csv::Writer::from_writer(out),
            scratch: String::new(),
            point: Vec::new(),
        }
    }

    /// Starts a row with `scenario,trial,seed`, then the run's parameter cells.
    pub fn row_prefix(&mut self, scenario: &str, report: &TrialReport) -> io::Result<()> {
        self.text(scenario)?;
        self.int(report.trial)?;
        self.int(report.seed)?;
        for cell in &self.point {
            self.csv.write_field(cell)?;
        }
        Ok(())
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.csv.flush()
    }

    pub fn text(&mut self, value: &str) -> io::Result<()> {
        Ok(self.csv.write_field(value)?)
    }

    pub fn empty(&mut self) -> io::Result<()> {
        self.text("")
    }

    pub fn int(&mut self, value: impl Into<u128>) -> io::Result<()> {
        self.scratch.clear();
        write!(self.scratch, "{}", value.into()).expect("writing to a String cannot fail");
        self.flush_scratch()
    }

    pub fn opt_int(&mut self, value: Option<impl Into<u128>>) -> io::Result<()> {
        match value {
            Some(value) => self.int(value),
            None => self.empty(),
        }
    }

    /// A float as its shortest representation that reads back to the same value (Rust's
    /// `Display`: never an exponent, never a locale).
    pub fn float(&mut self, value: f64) -> io::Result<()> {
        self.scratch.clear();
        write!(self.scratch, "{value}").expect("writing to a String cannot fail");
        self.flush_scratch()
    }

    /// `num / den`, see [`push_decimal`].
    pub fn decimal(&mut self, num: u128, den: u128, decimals: u32) -> io::Result<()> {
        self.scratch.clear();
        push_decimal(&mut self.scratch, num, den, decimals);
        self.flush_scratch()
    }

    /// `num / den` with a sign, see [`push_decimal`]; a value that rounds to zero prints `0`.
    pub fn signed_decimal(&mut self, num: i128, den: u128, decimals: u32) -> io::Result<()> {
        self.scratch.clear();
        push_decimal(&mut self.scratch, num.unsigned_abs(), den, decimals);
        if num < 0 && self.scratch != "0" {
            self.scratch.insert(0, '-');
        }
        self.flush_scratch()
    }

    /// A duration as a number of gossip periods (rounds), see [`rounds`].
    pub fn rounds(&mut self, duration: Time, period: Time) -> io::Result<()> {
        self.decimal(
            u128::from(duration.micros()),
            u128::from(period.micros()),
            ROUND_DECIMALS,
        )
    }

    pub fn opt_rounds(&mut self, duration: Option<Time>, period: Time) -> io::Result<()> {
        match duration {
            Some(duration) => self.rounds(duration, period),
            None => self.empty(),
        }
    }

    /// Ends the current row.
    pub fn end_row(&mut self) -> io::Result<()> {
        Ok(self.csv.write_record(None::<&[u8]>)?)
    }

    fn flush_scratch(&mut self) -> io::Result<()> {
        Ok(self.csv.write_field(self.scratch.as_bytes())?)
    }
}

/// The time between two instants; zero if `to` is before `from` (which the engine never reports).
pub fn elapsed(from: Time, to: Time) -> Time {
    Time(to.micros().saturating_sub(from.micros()))
}

/// Appends `num / den` rounded to at most `decimals` decimal places, trailing zeros (and a
/// trailing point) removed: `7/2` -> `3.5`, `6/2` -> `3`, `1/3` with 3 decimals -> `0.333`.
///
/// Exact integer arithmetic, so the result never depends on float rounding, platform or locale.
/// Ties round to even, which makes `a/n` and `(n-a)/n` always print as two numbers summing to
/// exactly 1 (coverage and residue).
///
/// Panics if `den` is zero: every caller decides what a ratio over nothing means.
pub fn push_decimal(out: &mut String, num: u128, den: u128, decimals: u32) {
    assert!(den > 0, "push_decimal: zero denominator");
    let scale = 10u128.pow(decimals);
    let mut whole = num / den;
    let rest = num % den;
    // rest < den, so rest * scale only overflows for denominators near 2^108: far beyond any
    // product of counts and microseconds a trial produces.
    let scaled = rest * scale;
    let mut frac = scaled / den;
    let remainder = scaled % den;
    let twice = remainder * 2;
    if twice > den || (twice == den && frac % 2 == 1) {
        frac += 1;
        if frac == scale {
            whole += 1;
            frac = 0;
        }
    }
    write!(out, "{whole}").expect("writing to a String cannot fail");
    if frac > 0 {
        let mut digits = decimals as usize;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        write!(out, ".{frac:0digits$}").expect("writing to a String cannot fail");
    }
}

/// `num / den` as a string, see [`push_decimal`].
pub fn decimal(num: u128, den: u128, decimals: u32) -> String {
    let mut out = String::new();
    push_decimal(&mut out, num, den, decimals);
    out
}

/// A duration as a number of gossip periods: an integer when it is a whole number of rounds (the
/// usual case in `rounds` timing), otherwise with up to 3 decimals.
pub fn rounds(duration: Time, period: Time) -> String {
    decimal(
        u128::from(duration.micros()),
        u128::from(period.micros()),
        ROUND_DECIMALS,
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::report::{CoverageSample, MessageKind, RunReport, UpdateReport};

    #[test]
    fn whole_numbers_print_as_integers() {
        assert_eq!(decimal(0, 1, 3), "0");
        assert_eq!(decimal(6, 2, 3), "3");
        assert_eq!(decimal(12_000_000, 1_000_000, 3), "12");
        assert_eq!(decimal(u128::from(u64::MAX), 1, 6), "18446744073709551615");
    }

    #[test]
    fn fractions_keep_at_most_the_requested_decimals_without_trailing_zeros() {
        assert_eq!(decimal(7, 2, 3), "3.5");
        assert_eq!(decimal(1, 3, 3), "0.333");
        assert_eq!(decimal(2, 3, 3), "0.667");
        assert_eq!(decimal(1, 3, 6), "0.333333");
        assert_eq!(decimal(1_250, 1_000, 3), "1.25");
        assert_eq!(decimal(1_001, 1_000, 3), "1.001");
        assert_eq!(decimal(1, 100, 3), "0.01");
        assert_eq!(decimal(1, 1_000_000, 6), "0.000001");
    }

    #[test]
    fn values_that_round_to_a_whole_number_print_as_integers() {
        assert_eq!(decimal(50_004, 10_000, 3), "5");
        assert_eq!(decimal(9_9996, 10_000, 3), "10");
        assert_eq!(decimal(1, 10_000, 3), "0");
    }

    #[test]
    fn ties_round_to_even() {
        assert_eq!(decimal(1_0005, 10_000, 3), "1");
        assert_eq!(decimal(1_0015, 10_000, 3), "1.002");
        assert_eq!(decimal(1, 2_000_000, 6), "0");
        assert_eq!(decimal(3, 2_000_000, 6), "0.000002");
    }

    #[test]
    fn complementary_ratios_sum_to_one_even_on_ties() {
        let n = 2_000_000u128;
        for a in [1, 3, 5, 999_999, 1_000_001] {
            let coverage: f64 = decimal(a, n, 6).parse().unwrap();
            let residue: f64 = decimal(n - a, n, 6).parse().unwrap();
            assert!((coverage + residue - 1.0).abs() < 1e-9, "a = {a}");
        }
    }

    #[test]
    fn rounds_divide_by_the_period() {
        let period = Time::from_millis(200);
        assert_eq!(rounds(Time::from_millis(1_000), period), "5");
        assert_eq!(rounds(Time::from_micros(1_030_000), period), "5.15");
        assert_eq!(rounds(Time::from_micros(1_000_150), period), "5.001");
        assert_eq!(rounds(Time::from_micros(1_000_099), period), "5");
        // 5.0005 is a tie: to even.
        assert_eq!(rounds(Time::from_micros(1_000_100), period), "5");
    }

    /// A scenario name that needs quoting, a catalog of two products, two updates.
    pub(crate) fn catalog() -> Catalog {
        Catalog::new(&crate::scenario::Workload {
            products: 2,
            explicit: Vec::new(),
            generated: None,
        })
    }

    pub(crate) const PERIOD: Time = Time::from_millis(100);

    /// Trial `trial` of a hand-made run on 10 nodes: update 0 spread to all in 4 rounds, update
    /// 1 (injected mid-round) stalled at 7 of 9 live nodes.
    pub(crate) fn report(trial: u32) -> TrialReport {
        let ms = Time::from_millis;
        let mut messages_by_kind = [0; MessageKind::COUNT];
        messages_by_kind[MessageKind::Push as usize] = 40 + u64::from(trial);
        messages_by_kind[MessageKind::PullRequest as usize] = 3;
        TrialReport {
            trial,
            seed: 1_000 + u64::from(trial),
            updates: vec![
                UpdateReport {
                    update: 0,
                    product: 0,
                    version: 1,
                    price: 12.5,
                    origin: 3,
                    injected_at: ms(0),
                    injected: true,
                    reached_50: Some(ms(200)),
                    reached_90: Some(ms(300)),
                    reached_99: Some(ms(400)),
                    reached_all: Some(ms(400)),
                    final_informed: 10,
                    final_alive: 10,
                    update_messages: 25,
                    messages_to_all: Some(31),
                    duplicates: 15,
                    deliveries: 9,
                    delivery_delay_sum: 2_500_000,
                    last_delivery: Some(ms(400)),
                    max_hops: 4,
                    stale_node_rounds: 3,
                },
                UpdateReport {
                    update: 1,
                    product: 1,
                    version: 2,
                    price: 10.0,
                    origin: 0,
                    injected_at: ms(150),
                    injected: true,
                    reached_50: Some(Time::from_micros(416_667)),
                    reached_90: None,
                    reached_99: None,
                    reached_all: None,
                    final_informed: 7,
                    final_alive: 9,
                    update_messages: 18,
                    messages_to_all: None,
                    duplicates: 2,
                    deliveries: 6,
                    delivery_delay_sum: 1_000_000,
                    last_delivery: Some(ms(700)),
                    max_hops: 3,
                    stale_node_rounds: 5,
                },
            ],
            run: RunReport {
                nodes: 10,
                end: ms(1_000),
                messages: 43 + u64::from(trial),
                messages_by_kind,
                bytes: 4_096,
                delivered: 40,
                lost: 3,
                dropped_at_crashed: 1,
                in_flight_at_end: 0,
                warmup_messages: 0,
                deferred_entries: 0,
                never_sent_entries: 0,
                oversize_messages: 0,
                over_budget_messages: 0,
                crashes: 1,
                recoveries: 0,
                stale_node_rounds: 12,
                alive_at_end: 9,
                events: 999,
            },
            coverage: vec![
                CoverageSample {
                    update: 1,
                    at: ms(200),
                    informed: 1,
                    alive: 10,
                },
                CoverageSample {
                    update: 0,
                    at: ms(100),
                    informed: 2,
                    alive: 10,
                },
                CoverageSample {
                    update: 0,
                    at: ms(200),
                    informed: 5,
                    alive: 10,
                },
            ],
            tables: Vec::new(),
            regions: Vec::new(),
        }
    }

    pub(crate) fn to_string<T: Table>(table: &T, trials: &[TrialReport]) -> String {
        let mut out = Vec::new();
        write_table(table, trials, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn rows_follow_trial_order_not_completion_order() {
        let catalog = catalog();
        let in_order = [report(0), report(1), report(2)];
        let finished = [report(2), report(0), report(1)];
        let updates = UpdatesTable::new("s", PERIOD, &catalog);
        assert_eq!(
            to_string(&updates, &finished),
            to_string(&updates, &in_order)
        );
        let runs = RunsTable::new("s", PERIOD);
        assert_eq!(to_string(&runs, &finished), to_string(&runs, &in_order));
        let coverage = CoverageTable::new("s", PERIOD);
        assert_eq!(
            to_string(&coverage, &finished),
            to_string(&coverage, &in_order)
        );
    }

    #[test]
    fn file_names_are_every_file_a_run_writes() {
        let mut scenario = crate::scenario::parse(
            "name = \"s\"\nnodes = 3\n[protocol]\nkind = \"push\"\n[workload]\nupdates = 1\n\
             [output]\ncoverage = true\ntables = true\n[[regions]]\nname = \"all\"\nnodes = 3\n",
            "s.toml",
            &[],
        )
        .unwrap();
        scenario.output.tables = true;
        let names: Vec<&str> = headers(&scenario, &[])
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(names, FILE_NAMES);
    }

    #[test]
    fn a_table_without_trials_is_its_header() {
        let runs = RunsTable::new("s", PERIOD);
        assert_eq!(to_string(&runs, &[]).lines().count(), 1);
    }
}
