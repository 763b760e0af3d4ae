//! Runs every point and trial of a sweep in parallel and writes the results, all-or-nothing.
//!
//! Order of work: memory guard, output folder checks, simulation, then the files. Nothing is
//! simulated before the inputs are known to be good, and the output files only appear when every
//! point has finished.
//!
//! Points and trials share one queue of (point, trial) tasks, taken in order by `--jobs`
//! workers, so points finish roughly in order and only a few are in memory at once. The worker
//! that finishes a point's last trial renders its rows and records the point in the
//! [`store`](crate::store) under the output folder; an interrupted run (Ctrl-C, a kill, a power
//! cut) keeps its finished points there, and `--resume` runs only the others.
//!
//! Determinism: each trial depends only on its point's scenario and its index (the engine derives
//! the trial's seed from the point's master seed, so points that share a seed share their random
//! streams: common random numbers across the grid), rows are rendered from reports sorted by
//! trial, and the files are the points' rows in point order. The files are therefore
//! byte-identical for any `--jobs`, for a resumed run, and for merged shards.

use std::fmt;
use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;

use crate::engine;
use crate::output::folder::{FolderError, OutputFolder, Writer};
use crate::output::lock::FolderLock;
use crate::output::manifest::{self, Provenance};
use crate::output::{self, RunColumns, WriteError, params, push_decimal};
use crate::progress::{Planned, Progress, with_progress};
use crate::report::TrialReport;
use crate::scenario::{Catalog, Point, Scenario, ScenarioError, Sweep};
use crate::store::{self, Manifest, Shard, Store, StoreError};

/// How to run a sweep.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Where the CSV files go; created if missing.
    pub out_dir: PathBuf,
    /// Worker threads; `None` is one per core.
    pub jobs: Option<NonZeroUsize>,
    /// Overwrite an output folder that holds another scenario's results.
    pub force: bool,
    pub memory_limit: MemoryLimit,
    /// Draw a progress bar on stderr (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Keep the points an interrupted run of the same sweep finished, and run only the others.
    pub resume: bool,
    /// Run only these points, and leave them in `OUT/shard-I-of-N/` for `gossip-sim merge`.
    pub shard: Shard,
    /// When set, workers start no new trial: the run stops once the running trials are done,
    /// keeping the finished points.
    pub interrupt: Option<Arc<AtomicBool>>,
    /// How the run was asked for, for the folder's `run.toml`.
    pub provenance: Provenance,
}

impl RunOptions {
    /// Defaults: one worker per core, the memory guard on, no progress bar, a fresh run of
    /// every point.
    pub fn new(out_dir: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            out_dir: out_dir.into(),
            jobs: None,
            force: false,
            memory_limit: MemoryLimit::Available,
            progress: false,
            resume: false,
            shard: Shard::WHOLE,
            interrupt: None,
            provenance: Provenance::default(),
        }
    }

    /// The worker threads this run uses.
    pub fn workers(&self) -> usize {
        self.jobs
            .or_else(|| thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get)
    }
}

/// The most memory a run may plan to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryLimit {
    /// What the machine has available (`MemAvailable` in `/proc/meminfo`); no limit where that
    /// cannot be read.
    Available,
    /// This many mebibytes (`--max-memory-mb`).
    Megabytes(u64),
    /// No guard (`--no-memory-guard`).
    Unlimited,
}

impl From<ScenarioError> for RunError {
    fn from(error: ScenarioError) -> RunError {
        RunError::Scenario(Box::new(error))
    }
}

/// Why a run did not produce results.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Boxed: a scenario error carries its location and key path, and is rare.
    #[error(transparent)]
    Scenario(Box<ScenarioError>),

    #[error("cannot read {}: {error}", path.display())]
    ReadExisting { path: PathBuf, error: io::Error },

    /// The output folder cannot be created, is locked, or is not gossip-sim's to write.
    #[error(transparent)]
    Folder(#[from] FolderError),

    #[error(
        "memory guard: {} needed, more than the {limit_name} ({}); lower --jobs, raise \
         --max-memory-mb, or pass --no-memory-guard",
        estimate.describe(),
        mib(*limit)
    )]
    MemoryGuard {
        estimate: MemoryEstimate,
        limit: u64,
        limit_name: &'static str,
    },

    #[error(transparent)]
    Write(#[from] WriteError),

    #[error(transparent)]
    Store(#[from] StoreError),

    #[error(
        "interrupted: {finished} of {points} points finished and kept in {}; run the same \
         command with --resume to continue",
        dir.display()
    )]
    Interrupted {
        finished: usize,
        points: usize,
        dir: PathBuf,
    },

    #[error("merge: {0}")]
    Merge(String),

    #[error("cannot start {jobs} worker thread(s): {error}")]
    ThreadPool {
        jobs: usize,
        error: rayon::ThreadPoolBuildError,
    },

    #[error("internal error: the engine failed to estimate memory: {message}")]
    EstimateFailed { message: String },

    #[error("internal error: the engine failed on trial {trial}{}: {message}", point_suffix(*point))]
    TrialFailed {
        /// `None` outside a sweep.
        point: Option<usize>,
        trial: u32,
        message: String,
    },

    #[error("internal error: the engine returned trial {returned} when asked for trial {trial}")]
    WrongTrial { trial: u32, returned: u32 },
}

fn point_suffix(point: Option<usize>) -> String {
    point.map_or_else(String::new, |point| format!(" of sweep point {point}"))
}

impl RunError {
    /// Whether the user can fix this by changing the input (scenario, flags, output folder, the
    /// machine's limits), as opposed to a bug in gossip-sim.
    pub fn is_input_error(&self) -> bool {
        match self {
            RunError::Scenario(_)
            | RunError::ReadExisting { .. }
            | RunError::Folder(_)
            | RunError::MemoryGuard { .. }
            | RunError::Write(_)
            | RunError::Store(_)
            | RunError::Merge(_) => true,
            RunError::Interrupted { .. }
            | RunError::ThreadPool { .. }
            | RunError::EstimateFailed { .. }
            | RunError::TrialFailed { .. }
            | RunError::WrongTrial { .. } => false,
        }
    }
}

/// Loads a scenario file, applies `KEY=VALUE` overrides, expands its sweep and validates every
/// point, with the values that are valid but have no effect, for the command line to print and
/// `run.toml` to record. The one place that calls the scenario loader.
pub fn load_with_warnings(
    path: &Path,
    overrides: &[String],
) -> Result<(Sweep, Vec<crate::scenario::Warning>), RunError> {
    Ok(crate::scenario::load_sweep_with_warnings(path, overrides)?)
}

/// What a finished run (or merge) produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub scenario: String,
    pub out_dir: PathBuf,
    /// The files written, in the order written; for a shard, its folder.
    pub files: Vec<PathBuf>,
    /// For a shard run, which one.
    pub shard: Option<Shard>,
    /// Points in the whole sweep.
    pub total_points: usize,
    /// The statistics of each point this run covers, from its `summary.csv` rows.
    pub points: Vec<PointSummary>,
    /// Trial 0's final price tables, one line per node, for a small scenario without sweep
    /// that asks for `output.tables` (at most [`SHOWN_TABLES`] nodes).
    pub final_tables: Vec<String>,
    /// Trials (of the points this run covers) at whose end every node was down, and all of
    /// those trials.
    pub all_down_trials: u64,
    pub trials: u64,
}

/// Largest scenario whose final price tables the summary prints.
pub const SHOWN_TABLES: u32 = 20;

/// One point's rows of `summary.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct PointSummary {
    /// The `point` column and the swept keys (as the scenario file names them) with their
    /// values; empty outside a sweep.
    pub params: Vec<(String, String)>,
    /// One row per metric: the cells from `metric` to `theory`.
    pub rows: Vec<Vec<String>>,
}

impl PointSummary {
    /// Reads a point's summary rows, given the `summary.csv` header line and the swept keys
    /// with their columns (none outside a sweep).
    pub fn parse(
        header: &str,
        rows: &[u8],
        swept: &[(String, String)],
    ) -> Result<PointSummary, String> {
        let header: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(header.as_bytes())
            .records()
            .next()
            .and_then(Result::ok)
            .map(|record| record.iter().map(str::to_owned).collect())
            .unwrap_or_default();
        let metric = header
            .iter()
            .position(|cell| cell == "metric")
            .ok_or("summary header without a metric column")?;
        let mut summary = PointSummary {
            params: Vec::new(),
            rows: Vec::new(),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(rows);
        for record in reader.records() {
            let record = record.map_err(|err| err.to_string())?;
            if summary.rows.is_empty() && !swept.is_empty() {
                let cell = |column: &str| {
                    let at = header[..metric].iter().position(|name| name == column);
                    at.and_then(|i| record.get(i)).unwrap_or("").to_owned()
                };
                summary.params = std::iter::once(("point".to_owned(), cell(params::POINT)))
                    .chain(
                        swept
                            .iter()
                            .map(|(key, column)| (key.clone(), cell(column))),
                    )
                    .collect();
            }
            // The statistics only: the run's parameters before them are in `params`.
            summary.rows.push(
                record
                    .iter()
                    .skip(metric)
                    .take(output::summary::COLUMNS.len())
                    .map(str::to_owned)
                    .collect(),
            );
        }
        Ok(summary)
    }
}

impl RunSummary {
    /// The lines before the points: scenario, output folder and files, shard or points.
    pub fn write_heading(&self, f: &mut dyn io::Write) -> io::Result<()> {
        writeln!(f, "scenario  {}", self.scenario)?;
        let names: Vec<String> = self
            .files
            .iter()
            .filter_map(|path| path.file_name())
            .map(|name| name.to_string_lossy().into_owned())
            .collect();
        writeln!(
            f,
            "output    {} ({})",
            self.out_dir.display(),
            names.join(", ")
        )?;
        if let Some(shard) = self.shard {
            writeln!(
                f,
                "shard     {shard}: {} of {} points; combine the shards with gossip-sim merge",
                self.points.len(),
                self.total_points
            )?;
        } else if self.total_points > 1 {
            writeln!(f, "points    {}", self.total_points)?;
        }
        Ok(())
    }

    /// The lines after the points: trials that ended with every node down, final prices.
    pub fn write_footer(&self, f: &mut dyn io::Write) -> io::Result<()> {
        // Not a failure, but nothing spread after that moment: say so.
        match self.all_down_trials {
            0 => {}
            n if n == self.trials => writeln!(
                f,
                "\nall nodes down: every node had crashed by the end of every trial"
            )?,
            n => writeln!(
                f,
                "\nall nodes down: every node had crashed by the end of {n} of {} trials",
                self.trials
            )?,
        }
        if !self.final_tables.is_empty() {
            writeln!(f, "\nfinal prices, trial 0")?;
            for line in &self.final_tables {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

/// Every statistic of every point: the heading, a table per point, the footer.
impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = Vec::new();
        self.write_heading(&mut text).map_err(|_| fmt::Error)?;
        f.write_str(&String::from_utf8_lossy(&text))?;
        for point in &self.points {
            writeln!(f)?;
            if !point.params.is_empty() {
                let mut heading = String::new();
                for (i, (key, value)) in point.params.iter().enumerate() {
                    match i {
                        0 => heading.push_str(&format!("{key} {value}:")),
                        1 => heading.push_str(&format!(" {key} = {value}")),
                        _ => heading.push_str(&format!(", {key} = {value}")),
                    }
                }
                writeln!(f, "{heading}")?;
            }
            write_table(f, &point.rows)?;
        }
        let mut text = Vec::new();
        self.write_footer(&mut text).map_err(|_| fmt::Error)?;
        f.write_str(&String::from_utf8_lossy(&text))
    }
}

/// The summary rows as a table: the metric left-aligned, numbers right-aligned, `-` for none.
fn write_table(f: &mut fmt::Formatter<'_>, rows: &[Vec<String>]) -> fmt::Result {
    let header: Vec<String> = output::summary::COLUMNS
        .iter()
        .map(|c| c.to_string())
        .collect();
    let cells: Vec<Vec<String>> = std::iter::once(header)
        .chain(rows.iter().map(|row| {
            row.iter()
                .map(|cell| match cell.as_str() {
                    "" => "-".to_owned(),
                    cell => cell.to_owned(),
                })
                .collect()
        }))
        .collect();
    let columns = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            cells
                .iter()
                .filter_map(|row| row.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &cells {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                line.push_str(&format!("{cell:<width$}", width = widths[c]));
            } else {
                line.push_str(&format!("  {cell:>width$}", width = widths[c]));
            }
        }
        writeln!(f, "{}", line.trim_end())?;
    }
    Ok(())
}

/// One line per node, from trial 0's `tables.csv` rows (`parameters` columns after
/// `scenario,trial,seed`): `node 0 (up): P001 = 99.99 (v1)`.
fn final_tables(rows: &[u8], parameters: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = None;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(rows);
    // scenario,trial,seed,PARAMETERS...,node,up,product,version,price
    for record in reader.records().map_while(Result::ok) {
        let cell = |i: usize| {
            let at = if i < 3 { i } else { i + parameters };
            record.get(at).unwrap_or("")
        };
        if cell(1) != "0" {
            break;
        }
        if current.as_deref() != Some(cell(3)) {
            current = Some(cell(3).to_owned());
            let state = if cell(4) == "true" { "up" } else { "down" };
            lines.push(format!("node {} ({state}):", cell(3)));
        }
        let line = lines.last_mut().expect("pushed above");
        let product = cell(5);
        match (cell(6), cell(7)) {
            ("", _) => line.push_str(&format!(" {product} = none (table lost)")),
            (v, "") => line.push_str(&format!(" {product} = initial price (v{v})")),
            (v, price) => line.push_str(&format!(" {product} = {price} (v{v})")),
        }
    }
    lines
}

/// One scenario as a sweep of one point.
#[cfg(test)]
fn single(scenario: &Scenario) -> Sweep {
    Sweep {
        keys: Vec::new(),
        points: vec![Point {
            index: 0,
            params: Vec::new(),
            scenario: scenario.clone(),
        }],
    }
}

/// Runs every point of `sweep` that `opts.shard` selects and writes `updates.csv`, `runs.csv`,
/// `coverage.csv` and `tables.csv` (if asked for) and `summary.csv` into `opts.out_dir`; a shard
/// leaves its points in `OUT/shard-I-of-N/` instead.
pub fn run_sweep(sweep: &Sweep, opts: &RunOptions) -> Result<RunSummary, RunError> {
    run_with(sweep, opts, &Engine)
}

/// The engine as the runner sees it, so tests can substitute a fake one.
trait TrialEngine: Sync {
    fn estimate_memory(&self, scenario: &Scenario) -> u64;
    fn run_trial(
        &self,
        scenario: &Scenario,
        catalog: &Catalog,
        trial: u32,
        progress: &AtomicU64,
    ) -> TrialReport;
}

struct Engine;

impl TrialEngine for Engine {
    fn estimate_memory(&self, scenario: &Scenario) -> u64 {
        engine::estimate_memory(scenario)
    }

    fn run_trial(
        &self,
        scenario: &Scenario,
        catalog: &Catalog,
        trial: u32,
        progress: &AtomicU64,
    ) -> TrialReport {
        crate::protocol::run_trial(scenario, catalog, trial, progress)
    }
}

/// The run's parameter columns (see [`output::params`]): a swept key named like a column of
/// some output file (`seed`) is `sweep_KEY`, in every file, so no file has two columns of one
/// name.
fn point_columns(sweep: &Sweep) -> RunColumns {
    let headers = output::headers(&sweep.points[0].scenario, &[]);
    let taken: Vec<&str> = headers
        .iter()
        .flat_map(|(_, header)| header.split(','))
        .collect();
    RunColumns::new(&sweep.keys, &taken)
}

/// The swept keys of `columns` with their column names.
fn swept(columns: &RunColumns) -> Vec<(String, String)> {
    columns
        .swept()
        .map(|(key, column)| (key.to_owned(), column.to_owned()))
        .collect()
}

/// Recognises the sweep in a store: every resolved point, and the program version (a new
/// version may simulate differently).
fn sweep_fingerprint(sweep: &Sweep) -> String {
    let mut text = format!(
        "gossip-sim {}\nkeys {:?}\n",
        env!("CARGO_PKG_VERSION"),
        sweep.keys
    );
    for point in &sweep.points {
        text.push_str(&format!(
            "point {} {:?}\n{}\n",
            point.index, point.params, point.scenario
        ));
    }
    store::fingerprint(&text)
}

/// Where a run keeps its finished points while it runs.
pub fn store_dir(out_dir: &Path, shard: Shard) -> PathBuf {
    if shard.is_whole() {
        out_dir.join(".partial")
    } else {
        out_dir.join(format!(".partial-{}", shard.dir_name()))
    }
}

/// Finished points an interrupted run left in `out_dir` for `shard`, which a run without
/// `--resume` discards.
pub fn unfinished_run(out_dir: &Path, shard: Shard) -> usize {
    Store::read(&store_dir(out_dir, shard))
        .and_then(|store| store.finished())
        .map_or(0, |points| points.len())
}

fn run_with(
    sweep: &Sweep,
    opts: &RunOptions,
    engine: &impl TrialEngine,
) -> Result<RunSummary, RunError> {
    let shard = opts.shard;
    let first = &sweep.points[0].scenario;
    let selected: Vec<&Point> = sweep
        .points
        .iter()
        .filter(|point| shard.selects(point.index))
        .collect();
    let jobs = opts.workers();
    let trials: u64 = selected.iter().map(|p| u64::from(p.scenario.trials)).sum();
    let workers = jobs.min(trials.max(1) as usize);
    check_memory(
        selected.iter().map(|point| &point.scenario),
        workers,
        opts.memory_limit,
        engine,
    )?;
    let resolved = manifest::resolved_text(sweep);
    let lock_file = FolderLock::shard_file_name(&shard.dir_name());
    let writer = if shard.is_whole() {
        Writer::Results {
            resolved: &resolved,
        }
    } else {
        Writer::Shard {
            resolved: &resolved,
            lock_file: &lock_file,
        }
    };
    let folder = OutputFolder::open(&opts.out_dir, writer, opts.force)?;
    let columns = point_columns(sweep);
    let provenance = opts.provenance.files(sweep, &columns);

    let headers: Vec<(String, String)> = output::headers(first, columns.names())
        .into_iter()
        .map(|(file, header)| (file.to_owned(), header))
        .collect();
    let manifest = Manifest {
        fingerprint: sweep_fingerprint(sweep),
        scenario: first.name.clone(),
        points: sweep.points.len(),
        shard,
        headers,
        provenance: store::provenance_hash(&provenance),
    };
    let store = Store::open(
        &store_dir(&opts.out_dir, shard),
        manifest,
        opts.resume,
        &provenance,
    )?;
    let finished = store.finished()?;
    // Kept points are checked before any new one is computed: a damaged or foreign point file
    // stops the run now, not after hours of simulation.
    for point in &selected {
        if finished.binary_search(&point.index).is_ok() {
            store.verify(point.index)?;
        }
    }
    let todo: Vec<&Point> = selected
        .iter()
        .copied()
        .filter(|point| finished.binary_search(&point.index).is_err())
        .collect();

    simulate(
        sweep,
        &columns,
        &todo,
        &store,
        engine,
        opts,
        jobs,
        selected.len(),
    )?;

    let indices: Vec<usize> = selected.iter().map(|point| point.index).collect();
    let summary_header = store
        .manifest()
        .headers
        .iter()
        .find(|(file, _)| file == output::SUMMARY_FILE)
        .map(|(_, header)| header.clone())
        .unwrap_or_default();
    let points = indices
        .iter()
        .map(|&index| {
            let rows = store.rows(index, output::SUMMARY_FILE)?;
            PointSummary::parse(&summary_header, &rows, &swept(&columns)).map_err(|message| {
                RunError::Merge(format!("point {index}: unreadable summary: {message}"))
            })
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    let final_tables = if !sweep.is_sweep()
        && first.output.tables
        && first.nodes <= SHOWN_TABLES
        && shard.is_whole()
    {
        final_tables(&store.rows(0, "tables.csv")?, columns.names().len())
    } else {
        Vec::new()
    };

    let parts: Vec<(&Store, usize)> = indices.iter().map(|&index| (&store, index)).collect();
    let (all_down_trials, trials_run) = all_down(&parts)?;
    let files = if shard.is_whole() {
        let files = store::assemble(
            &opts.out_dir,
            &store.manifest().headers,
            &parts,
            &provenance,
        )?;
        store.remove()?;
        files
    } else {
        let store = store.rename(&opts.out_dir.join(shard.dir_name()))?;
        vec![store.dir().to_path_buf()]
    };
    folder.keep();
    Ok(RunSummary {
        scenario: first.name.clone(),
        out_dir: opts.out_dir.clone(),
        files,
        shard: (!shard.is_whole()).then_some(shard),
        total_points: sweep.points.len(),
        points,
        final_tables,
        all_down_trials,
        trials: trials_run,
    })
}

/// One point in progress.
struct Slot<'p> {
    point: &'p Point,
    catalog: OnceLock<Catalog>,
    reports: Mutex<Vec<Option<TrialReport>>>,
    remaining: AtomicU32,
}

/// Runs the trials of `todo` and records each point in `store` as it finishes.
#[allow(clippy::too_many_arguments)]
fn simulate(
    sweep: &Sweep,
    columns: &RunColumns,
    todo: &[&Point],
    store: &Store,
    engine: &impl TrialEngine,
    opts: &RunOptions,
    jobs: usize,
    selected: usize,
) -> Result<(), RunError> {
    let slots: Vec<Slot> = todo
        .iter()
        .map(|point| Slot {
            point,
            catalog: OnceLock::new(),
            reports: Mutex::new((0..point.scenario.trials).map(|_| None).collect()),
            remaining: AtomicU32::new(point.scenario.trials),
        })
        .collect();
    let tasks: Vec<(usize, u32)> = slots
        .iter()
        .enumerate()
        .flat_map(|(slot, s)| (0..s.point.scenario.trials).map(move |trial| (slot, trial)))
        .collect();
    let workers = jobs.min(tasks.len()).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .map_err(|error| RunError::ThreadPool { jobs, error })?;

    let progress = Progress::new(
        workers,
        selected - todo.len(),
        selected,
        tasks
            .iter()
            .map(|&(slot, _)| planned(slot, &slots[slot].point.scenario)),
    );
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let failures: Mutex<Vec<(usize, u32, RunError)>> = Mutex::new(Vec::new());
    let interrupted = || {
        opts.interrupt
            .as_ref()
            .is_some_and(|flag| flag.load(Ordering::SeqCst))
    };
    let fail = |point: usize, trial: u32, error: RunError| {
        stop.store(true, Ordering::SeqCst);
        failures
            .lock()
            .expect("no panic while holding the lock")
            .push((point, trial, error));
    };

    let worker = || {
        let lane = progress.lane();
        while !stop.load(Ordering::SeqCst) && !interrupted() {
            let task = next.fetch_add(1, Ordering::SeqCst);
            let Some(&(slot_index, trial)) = tasks.get(task) else {
                break;
            };
            let slot = &slots[slot_index];
            let scenario = &slot.point.scenario;
            let index = slot.point.index;
            let catalog = slot
                .catalog
                .get_or_init(|| Catalog::new(&scenario.workload));
            progress.start(lane, planned(slot_index, scenario));
            let run = || engine.run_trial(scenario, catalog, trial, &lane.rounds);
            let report = match catch_unwind(AssertUnwindSafe(run)) {
                Ok(report) if report.trial == trial => report,
                Ok(report) => {
                    fail(
                        index,
                        trial,
                        RunError::WrongTrial {
                            trial,
                            returned: report.trial,
                        },
                    );
                    break;
                }
                Err(panic) => {
                    let point = sweep.is_sweep().then_some(index);
                    let message = panic_message(panic.as_ref());
                    fail(
                        index,
                        trial,
                        RunError::TrialFailed {
                            point,
                            trial,
                            message,
                        },
                    );
                    break;
                }
            };
            let rounds = report.run.end.micros() / scenario.period.micros().max(1);
            progress.finish(lane, rounds);
            slot.reports
                .lock()
                .expect("no panic while holding the lock")[trial as usize] = Some(report);
            if slot.remaining.fetch_sub(1, Ordering::SeqCst) != 1 {
                continue;
            }
            // The point's last trial: render its rows and record it.
            let reports: Vec<TrialReport> = std::mem::take(
                &mut *slot
                    .reports
                    .lock()
                    .expect("no panic while holding the lock"),
            )
            .into_iter()
            .map(|report| report.expect("every trial finished"))
            .collect();
            let cells = columns.cells(index, &slot.point.params, scenario);
            let files = output::point_rows(scenario, catalog, &cells, &reports);
            drop(reports);
            if let Err(error) = store.write_point(index, &files) {
                fail(index, u32::MAX, error.into());
                break;
            }
            progress.points.fetch_add(1, Ordering::Relaxed);
        }
    };

    with_progress(opts.progress, &progress, || {
        pool.scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|_| worker());
            }
        })
    });

    let mut failures = failures
        .into_inner()
        .expect("no panic while holding the lock");
    failures.sort_by_key(|(point, trial, _)| (*point, *trial));
    if let Some((_, _, error)) = failures.into_iter().next() {
        if !error.is_input_error() {
            // A bug: finished points are no use to a fixed program.
            let _ = fs::remove_dir_all(store.dir());
        }
        return Err(error);
    }
    let finished = progress.points.load(Ordering::SeqCst);
    if finished < selected {
        return Err(RunError::Interrupted {
            finished,
            points: selected,
            dir: store.dir().to_path_buf(),
        });
    }
    Ok(())
}

/// What the progress bar's ETA is told of a trial of `scenario`, the point in slot `slot`.
fn planned(slot: usize, scenario: &Scenario) -> Planned {
    Planned {
        point: slot,
        nodes: u64::from(scenario.nodes),
        active_rounds: engine::expected_active_rounds(scenario),
        rounds: engine::expected_rounds(scenario),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        message.to_string()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "panic".to_string()
    }
}

/// Merges the shard folders found in `dirs` (each a `shard-I-of-N` folder, or a folder holding
/// some) into the files of an unsharded run in `out_dir`.
pub fn merge(dirs: &[PathBuf], out_dir: &Path, force: bool) -> Result<RunSummary, RunError> {
    let mut stores: Vec<Store> = Vec::new();
    for dir in dirs {
        if dir.join("manifest.txt").is_file() {
            stores.push(Store::read(dir)?);
            continue;
        }
        let entries = fs::read_dir(dir).map_err(|error| RunError::ReadExisting {
            path: dir.clone(),
            error,
        })?;
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.starts_with("shard-"))
                    && path.join("manifest.txt").is_file()
            })
            .collect();
        if found.is_empty() {
            return Err(RunError::Merge(format!(
                "no shard output in {} (expected shard-I-of-N folders from gossip-sim run --shard)",
                dir.display()
            )));
        }
        found.sort();
        for path in found {
            stores.push(Store::read(&path)?);
        }
    }
    let first = stores[0].manifest().clone();
    let count = first.shard.count;
    let mut by_index: Vec<Option<&Store>> = vec![None; count];
    for store in &stores {
        let m = store.manifest();
        if m.fingerprint != first.fingerprint
            || m.scenario != first.scenario
            || m.points != first.points
            || m.shard.count != count
            || m.headers != first.headers
        {
            return Err(RunError::Merge(format!(
                "{} and {} are shards of different sweeps (or of different shard counts)",
                stores[0].dir().display(),
                store.dir().display()
            )));
        }
        if let Some(other) = by_index[m.shard.index].replace(store) {
            return Err(RunError::Merge(format!(
                "shard {} is given twice: {} and {}",
                m.shard,
                other.dir().display(),
                store.dir().display()
            )));
        }
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| by_index[i].is_none())
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(RunError::Merge(format!(
            "missing shard(s) {} of {}",
            missing.join(", "),
            first.scenario
        )));
    }
    let mut parts: Vec<(&Store, usize)> = Vec::with_capacity(first.points);
    for index in 0..first.points {
        let store = by_index[index % count].expect("every shard checked above");
        if !store.point_path(index).is_file() {
            return Err(RunError::Merge(format!(
                "point {index} is missing from {}",
                store.dir().display()
            )));
        }
        parts.push((store, index));
    }
    // Everything is checked before the output folder is touched, so a bad shard leaves no
    // folder behind.
    for (store, index) in &parts {
        store.verify(*index)?;
    }
    let provenance = stores[0].provenance()?;
    let resolved = String::from_utf8_lossy(&provenance[0].1).into_owned();
    let folder = OutputFolder::open(
        out_dir,
        Writer::Results {
            resolved: &resolved,
        },
        force,
    )?;
    let files = store::assemble(out_dir, &first.headers, &parts, &provenance)?;
    let (all_down_trials, trials) = all_down(&parts)?;
    let swept = provenance
        .iter()
        .find(|(name, _)| name == manifest::RUN_MANIFEST)
        .map(|(_, text)| manifest::swept_columns(&String::from_utf8_lossy(text)))
        .unwrap_or_default();
    let summary_header = first
        .headers
        .iter()
        .find(|(file, _)| file == output::SUMMARY_FILE)
        .map(|(_, header)| header.clone())
        .unwrap_or_default();
    let points = parts
        .iter()
        .map(|(store, index)| {
            let rows = store.rows(*index, output::SUMMARY_FILE)?;
            PointSummary::parse(&summary_header, &rows, &swept).map_err(RunError::Merge)
        })
        .collect::<Result<Vec<_>, RunError>>()?;
    folder.keep();
    Ok(RunSummary {
        scenario: first.scenario.clone(),
        out_dir: out_dir.to_path_buf(),
        files,
        shard: None,
        total_points: first.points,
        points,
        final_tables: Vec::new(),
        all_down_trials,
        trials,
    })
}

/// Trials of `points` at whose end every node was down, and all their trials, from the
/// `alive_at_end` column of their `runs.csv` rows.
fn all_down(points: &[(&Store, usize)]) -> Result<(u64, u64), RunError> {
    let (mut down, mut trials) = (0, 0);
    for (store, index) in points {
        let header = store
            .manifest()
            .headers
            .iter()
            .find(|(file, _)| file == "runs.csv")
            .map_or("", |(_, header)| header.as_str());
        let Some(column) = header.split(',').position(|name| name == "alive_at_end") else {
            continue;
        };
        let rows = store.rows(*index, "runs.csv")?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(rows.as_slice());
        for record in reader.records().map_while(Result::ok) {
            trials += 1;
            down += u64::from(record.get(column) == Some("0"));
        }
    }
    Ok((down, trials))
}

/// Resident memory of the program itself before any trial: code, the allocator, the thread
/// pool (measured: `gossip-sim run scenarios/quickstart.toml` peaks at 4.9 MiB).
pub const PROCESS_BYTES: u64 = 5 << 20;

/// What a run is expected to need at its peak, by part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The largest point's trial, per worker.
    pub per_worker: u64,
    pub workers: usize,
    /// The product catalogs, every point keeping its own until the run ends.
    pub catalog: u64,
    /// Finished trials' reports and rendered rows, held until their point is written.
    pub reports: u64,
    pub process: u64,
}

impl MemoryEstimate {
    /// `2 worker(s) x 30 MiB each + 12 MiB for ... = 77 MiB`.
    pub fn describe(&self) -> String {
        format!(
            "{} worker(s) x {} each{}{}{} = {}",
            self.workers,
            mib(self.per_worker),
            shared_part(self.catalog, "the product catalog"),
            shared_part(self.reports, "the trials' results until they are written"),
            shared_part(self.process, "the program"),
            mib(self.total())
        )
    }

    pub fn total(&self) -> u64 {
        self.per_worker
            .saturating_mul(self.workers as u64)
            .saturating_add(self.catalog)
            .saturating_add(self.reports)
            .saturating_add(self.process)
    }
}

/// The memory estimate of running the points of `sweep` that `opts.shard` selects with the
/// workers of `opts`, as the memory guard computes it.
pub fn memory_estimate(sweep: &Sweep, opts: &RunOptions) -> Result<MemoryEstimate, RunError> {
    let selected: Vec<&Scenario> = sweep
        .points
        .iter()
        .filter(|point| opts.shard.selects(point.index))
        .map(|point| &point.scenario)
        .collect();
    let trials: u64 = selected.iter().map(|s| u64::from(s.trials)).sum();
    let workers = opts.workers().min(trials.max(1) as usize);
    estimate(selected.into_iter(), workers, &Engine)
}

fn estimate<'s>(
    scenarios: impl Iterator<Item = &'s Scenario>,
    workers: usize,
    engine: &impl TrialEngine,
) -> Result<MemoryEstimate, RunError> {
    let mut per_worker = 0;
    let mut catalog = 0u64;
    let mut largest_point = 0;
    let mut points = 0u64;
    for scenario in scenarios {
        let estimate = catch_unwind(AssertUnwindSafe(|| engine.estimate_memory(scenario)))
            .map_err(|panic| RunError::EstimateFailed {
                message: panic_message(panic.as_ref()),
            })?;
        per_worker = per_worker.max(estimate);
        // Every point keeps its catalog until the run ends.
        catalog = catalog.saturating_add(Catalog::estimated_bytes(&scenario.workload));
        largest_point = largest_point.max(engine::point_bytes(scenario));
        points += 1;
    }
    // A point's reports are held until its last trial is done; points are taken in order, so
    // at most one per worker, and one more, are unfinished at once.
    let reports = largest_point.saturating_mul(points.min(workers as u64 + 1));
    Ok(MemoryEstimate {
        per_worker,
        workers,
        catalog,
        reports,
        process: PROCESS_BYTES,
    })
}

/// Refuses a run whose workers would together need more memory than the limit, each running
/// the largest of `scenarios`.
fn check_memory<'s>(
    scenarios: impl Iterator<Item = &'s Scenario>,
    workers: usize,
    limit: MemoryLimit,
    engine: &impl TrialEngine,
) -> Result<(), RunError> {
    let (limit, limit_name) = match limit {
        MemoryLimit::Unlimited => return Ok(()),
        MemoryLimit::Megabytes(mb) => (mb.saturating_mul(1 << 20), "limit set by --max-memory-mb"),
        MemoryLimit::Available => match available_memory() {
            Some(available) => available,
            None => return Ok(()),
        },
    };
    let estimate = estimate(scenarios, workers, engine)?;
    if estimate.total() > limit {
        return Err(RunError::MemoryGuard {
            estimate,
            limit,
            limit_name,
        });
    }
    Ok(())
}

/// A shared share of a memory-guard message, when it matters.
fn shared_part(bytes: u64, what: &str) -> String {
    if bytes < 1 << 20 {
        String::new()
    } else {
        format!(" + {} for {what}", mib(bytes))
    }
}

/// `MemAvailable` from `/proc/meminfo` or, where less, what is left under this process's cgroup
/// memory limit (a container's or a Slurm job's), in bytes, with its name for messages; `None`
/// where neither can be read.
fn available_memory() -> Option<(u64, &'static str)> {
    let machine = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|meminfo| parse_mem_available(&meminfo));
    match (machine, crate::memory_limit::headroom()) {
        (Some(machine), Some(cgroup)) if machine <= cgroup => Some((machine, "available memory")),
        (_, Some(cgroup)) => Some((cgroup, "memory left under the cgroup limit")),
        (machine, None) => machine.map(|bytes| (bytes, "available memory")),
    }
}

fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo
        .lines()
        .find(|line| line.starts_with("MemAvailable:"))?;
    let mut fields = line.split_whitespace().skip(1);
    let value: u64 = fields.next()?.parse().ok()?;
    match fields.next() {
        Some("kB") => Some(value.saturating_mul(1024)),
        None => Some(value),
        Some(_) => None,
    }
}

/// Bytes in MiB, for messages.
fn mib(bytes: u64) -> String {
    let mut text = String::new();
    push_decimal(&mut text, u128::from(bytes), 1 << 20, 1);
    text + " MiB"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::report;
    use crate::scenario::{
        Latency, Network, OutputOptions, Overlay, Protocol, ProtocolKind, SizeModel, Timing,
        Workload,
    };
    use crate::time::Time;

    fn run_one(
        scenario: &Scenario,
        opts: &RunOptions,
        engine: &impl TrialEngine,
    ) -> Result<RunSummary, RunError> {
        run_with(&single(scenario), opts, engine)
    }

    fn scenario(name: &str, trials: u32) -> Scenario {
        Scenario {
            name: name.to_string(),
            seed: 7,
            nodes: 10,
            trials,
            max_rounds: 100,
            protocol: Protocol::named("push"),
            overlay: Overlay::Full,
            timing: Timing::Rounds,
            period: Time::from_millis(100),
            network: Network {
                loss: 0.0,
                latency: Latency::Constant { ms: 0.0 },
                max_message_bytes: None,
                budget_bytes_per_period: None,
            },
            crashes: Vec::new(),
            churn: None,
            workload: Workload {
                products: 2,
                explicit: Vec::new(),
                generated: None,
            },
            sizes: SizeModel::default(),
            output: OutputOptions {
                coverage: true,
                tables: false,
            },
            regions: None,
        }
    }

    /// Hand-made trials; later trials finish first, so completion order is reversed.
    struct FakeEngine {
        memory: u64,
        panic_on: Option<u32>,
    }

    impl TrialEngine for FakeEngine {
        fn estimate_memory(&self, _: &Scenario) -> u64 {
            self.memory
        }

        fn run_trial(
            &self,
            scenario: &Scenario,
            _: &Catalog,
            trial: u32,
            progress: &AtomicU64,
        ) -> TrialReport {
            if self.panic_on == Some(trial) {
                panic!("fake engine bug");
            }
            thread::sleep(std::time::Duration::from_millis(
                u64::from(scenario.trials - trial) * 3,
            ));
            progress.fetch_add(10, Ordering::Relaxed);
            let mut report = report(trial);
            report.seed = crate::seed::trial_seed(scenario.seed, trial);
            report.updates[0].update_messages += u64::from(trial);
            report
        }
    }

    const FAKE: FakeEngine = FakeEngine {
        // Just under 1 MiB, leaving room for the tiny product catalog under whole-MiB limits.
        memory: (1 << 20) - 1024,
        panic_on: None,
    };

    fn options(dir: &Path, jobs: usize) -> RunOptions {
        RunOptions {
            jobs: NonZeroUsize::new(jobs),
            ..RunOptions::new(dir)
        }
    }

    fn read(dir: &Path) -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let entry = entry.unwrap();
                let name = entry.file_name().to_string_lossy().into_owned();
                (name, fs::read_to_string(entry.path()).unwrap())
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn files_are_byte_identical_for_any_job_count() {
        let scenario = scenario("baseline", 8);
        let one = tempfile::tempdir().unwrap();
        let four = tempfile::tempdir().unwrap();
        run_one(&scenario, &options(one.path(), 1), &FAKE).unwrap();
        run_one(&scenario, &options(four.path(), 4), &FAKE).unwrap();
        let files = read(one.path());
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "coverage.csv",
                "run.toml",
                "runs.csv",
                "scenario.resolved.toml",
                "summary.csv",
                "updates.csv"
            ]
        );
        assert_eq!(files, read(four.path()));
    }

    #[test]
    fn rows_come_in_trial_order_though_late_trials_finish_first() {
        let scenario = scenario("baseline", 6);
        let dir = tempfile::tempdir().unwrap();
        run_one(&scenario, &options(dir.path(), 3), &FAKE).unwrap();
        let runs = fs::read_to_string(dir.path().join("runs.csv")).unwrap();
        let trials: Vec<&str> = runs
            .lines()
            .skip(1)
            .map(|row| row.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(trials, ["0", "1", "2", "3", "4", "5"]);
    }

    #[test]
    fn the_summary_is_a_table_per_point() {
        let scenario = scenario("baseline", 4);
        let dir = tempfile::tempdir().unwrap();
        let summary = run_one(&scenario, &options(dir.path(), 2), &FAKE).unwrap();
        assert_eq!(summary.files.len(), 4);
        assert_eq!(summary.points.len(), 1);
        let text = summary.to_string();
        assert!(
            text.contains(
                "\nmetric                    n      mean       std   ci95_low  ci95_high"
            ),
            "{text}"
        );
        // Update 0 reaches all in 4 rounds in every trial; update 1 never does.
        assert!(
            text.contains(
                "\nrounds_to_all             4         4         0          4          4        4        4"
            ),
            "{text}"
        );
        assert!(text.lines().all(|line| line == line.trim_end()), "{text}");
    }

    /// A sweep of `points` points over `nodes` (10, 11, ...), `trials` trials each.
    fn sweep(points: usize, trials: u32) -> Sweep {
        Sweep {
            keys: vec!["nodes".to_owned(), "protocol.kind".to_owned()],
            points: (0..points)
                .map(|index| {
                    let mut scenario = scenario("grid", trials);
                    scenario.nodes = 10 + index as u32;
                    Point {
                        index,
                        params: vec![
                            ("nodes".to_owned(), scenario.nodes.to_string()),
                            ("protocol.kind".to_owned(), "push".to_owned()),
                        ],
                        scenario,
                    }
                })
                .collect(),
        }
    }

    #[test]
    fn sweep_rows_carry_the_point_and_its_params_in_point_then_trial_order() {
        let sweep = sweep(3, 2);
        let one = tempfile::tempdir().unwrap();
        let three = tempfile::tempdir().unwrap();
        let summary = run_with(&sweep, &options(one.path(), 1), &FAKE).unwrap();
        run_with(&sweep, &options(three.path(), 3), &FAKE).unwrap();
        assert_eq!(read(one.path()), read(three.path()));
        assert_eq!(summary.points.len(), 3);
        let runs = fs::read_to_string(one.path().join("runs.csv")).unwrap();
        let lines: Vec<&str> = runs.lines().collect();
        // Swept or not, `nodes` and `protocol_kind` are parameter columns of every file (runs.csv
        // has no other `nodes`); the values come from each point's resolved scenario.
        let block = "point,nodes,protocol_kind,protocol_fanout,protocol_timing,\
                     protocol_period_ms,network_loss,overlay_kind";
        assert_eq!(
            lines[0],
            format!(
                "scenario,trial,seed,{block},rounds,messages,push_messages,pull_requests,pull_replies,exchange_opens,exchange_replies,exchange_closes,bytes,delivered,lost,dropped_at_crashed,in_flight_at_end,crashes,recoveries,stale_node_rounds,alive_at_end,gossip_messages,ihave_messages,graft_messages,prune_messages,membership_messages,warmup_messages,deferred_entries,never_sent_entries,oversize_messages,over_budget_messages,bytes_per_delivery"
            )
        );
        let keys: Vec<String> = lines[1..]
            .iter()
            .map(|line| {
                let cells: Vec<&str> = line.split(',').collect();
                format!("{}:{}:{}:{}", cells[3], cells[1], cells[4], cells[5])
            })
            .collect();
        assert_eq!(
            keys,
            [
                "0:0:10:push",
                "0:1:10:push",
                "1:0:11:push",
                "1:1:11:push",
                "2:0:12:push",
                "2:1:12:push"
            ]
        );
        let summary_csv = fs::read_to_string(one.path().join("summary.csv")).unwrap();
        assert!(summary_csv.starts_with(&format!("scenario,{block},metric,n,")));
        // The printed summary names the swept keys as the scenario file does.
        let text = summary.to_string();
        assert!(
            text.contains("\npoint 2: nodes = 12, protocol.kind = push\n"),
            "{text}"
        );
        let run_toml = fs::read_to_string(one.path().join("run.toml")).unwrap();
        assert!(
            run_toml.contains(
                "sweep_keys = [\"nodes\", \"protocol.kind\"]\n\
                 sweep_columns = [\"nodes\", \"protocol_kind\"]\n"
            ),
            "{run_toml}"
        );
    }

    /// Raises the interrupt flag when asked for a trial of the point with `nodes` nodes.
    struct Interrupting {
        flag: Arc<AtomicBool>,
        nodes: u32,
    }

    impl TrialEngine for Interrupting {
        fn estimate_memory(&self, _: &Scenario) -> u64 {
            0
        }
        fn run_trial(&self, s: &Scenario, c: &Catalog, t: u32, p: &AtomicU64) -> TrialReport {
            if s.nodes == self.nodes {
                self.flag.store(true, Ordering::SeqCst);
            }
            FAKE.run_trial(s, c, t, p)
        }
    }

    #[test]
    fn an_interrupted_sweep_resumes_to_the_same_bytes() {
        let sweep = sweep(5, 3);
        let whole = tempfile::tempdir().unwrap();
        run_with(&sweep, &options(whole.path(), 2), &FAKE).unwrap();

        let dir = tempfile::tempdir().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let opts = RunOptions {
            interrupt: Some(Arc::clone(&flag)),
            ..options(dir.path(), 1)
        };
        let engine = Interrupting {
            flag: Arc::clone(&flag),
            nodes: 12,
        };
        let err = run_with(&sweep, &opts, &engine).unwrap_err();
        let RunError::Interrupted {
            finished, points, ..
        } = err
        else {
            panic!("{err}")
        };
        assert_eq!((finished, points), (2, 5));
        assert!(
            !dir.path().join("runs.csv").exists(),
            "no final file before the end"
        );
        assert_eq!(unfinished_run(dir.path(), Shard::WHOLE), 2);

        // Resuming runs only points 2, 3 and 4.
        struct Counting(AtomicU64);
        impl TrialEngine for Counting {
            fn estimate_memory(&self, _: &Scenario) -> u64 {
                0
            }
            fn run_trial(&self, s: &Scenario, c: &Catalog, t: u32, p: &AtomicU64) -> TrialReport {
                self.0.fetch_add(1, Ordering::SeqCst);
                FAKE.run_trial(s, c, t, p)
            }
        }
        let counting = Counting(AtomicU64::new(0));
        let resume = RunOptions {
            resume: true,
            ..options(dir.path(), 2)
        };
        run_with(&sweep, &resume, &counting).unwrap();
        assert_eq!(counting.0.load(Ordering::SeqCst), 9);
        assert_eq!(read(dir.path()), read(whole.path()));
    }

    #[test]
    fn resuming_another_sweep_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let flag = Arc::new(AtomicBool::new(false));
        let opts = RunOptions {
            interrupt: Some(Arc::clone(&flag)),
            ..options(dir.path(), 1)
        };
        let engine = Interrupting { flag, nodes: 11 };
        run_with(&sweep(3, 1), &opts, &engine).unwrap_err();
        let resume = RunOptions {
            resume: true,
            ..options(dir.path(), 1)
        };
        let err = run_with(&sweep(4, 1), &resume, &FAKE).unwrap_err();
        assert!(
            matches!(err, RunError::Store(StoreError::ResumeMismatch { .. })),
            "{err}"
        );
        assert!(err.is_input_error());
    }

    #[test]
    fn merged_shards_are_the_unsharded_bytes() {
        let sweep = sweep(5, 2);
        let whole = tempfile::tempdir().unwrap();
        run_with(&sweep, &options(whole.path(), 2), &FAKE).unwrap();
        let shards = tempfile::tempdir().unwrap();
        for index in [2, 0, 1] {
            let opts = RunOptions {
                shard: Shard { index, count: 3 },
                ..options(shards.path(), 1)
            };
            let summary = run_with(&sweep, &opts, &FAKE).unwrap();
            assert_eq!(
                summary.files,
                [shards.path().join(format!("shard-{index}-of-3"))]
            );
        }
        let merged = tempfile::tempdir().unwrap();
        let summary = merge(&[shards.path().to_path_buf()], merged.path(), false).unwrap();
        assert_eq!(summary.points.len(), 5);
        assert_eq!(read(merged.path()), read(whole.path()));

        // A missing shard is named.
        fs::remove_dir_all(shards.path().join("shard-1-of-3")).unwrap();
        let err = merge(&[shards.path().to_path_buf()], merged.path(), false).unwrap_err();
        assert_eq!(err.to_string(), "merge: missing shard(s) 1/3 of grid");
        // So is a shard given twice.
        let twice = [
            shards.path().join("shard-0-of-3"),
            shards.path().to_path_buf(),
        ];
        let err = merge(&twice, merged.path(), false).unwrap_err();
        assert!(
            err.to_string().contains("shard 0/3 is given twice"),
            "{err}"
        );
    }

    #[test]
    fn the_summary_says_when_every_node_was_down_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let mut summary = run_one(&scenario("s", 4), &options(dir.path(), 1), &FAKE).unwrap();
        assert!(!summary.to_string().contains("all nodes down"));
        assert_eq!((summary.all_down_trials, summary.trials), (0, 4));
        summary.all_down_trials = 4;
        assert!(
            summary
                .to_string()
                .contains("\nall nodes down: every node had crashed by the end of every trial\n"),
            "{summary}"
        );
        summary.all_down_trials = 1;
        assert!(
            summary
                .to_string()
                .contains("\nall nodes down: every node had crashed by the end of 1 of 4 trials\n"),
            "{summary}"
        );
    }

    #[test]
    fn a_folder_with_another_scenarios_results_is_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        run_one(&scenario("first", 2), &options(dir.path(), 1), &FAKE).unwrap();
        let before = read(dir.path());

        let err = run_one(&scenario("second", 2), &options(dir.path(), 1), &FAKE).unwrap_err();
        let message = err.to_string();
        assert!(err.is_input_error());
        assert!(
            message.contains("(name: \"first\" there, \"second\" here)"),
            "{message}"
        );
        assert_eq!(read(dir.path()), before);

        // Same scenario again: fine.
        run_one(&scenario("first", 2), &options(dir.path(), 1), &FAKE).unwrap();
        let forced = RunOptions {
            force: true,
            ..options(dir.path(), 1)
        };
        run_one(&scenario("second", 2), &forced, &FAKE).unwrap();
        let runs = fs::read_to_string(dir.path().join("runs.csv")).unwrap();
        assert!(runs.lines().nth(1).unwrap().starts_with("second,"));
    }

    #[test]
    fn a_run_removes_temporaries_that_killed_runs_left() {
        if !Path::new("/proc/self").exists() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        // Larger than any pid Linux hands out.
        for name in [".runs.csv.tmp-999999999", ".summary.csv.tmp-999999999"] {
            fs::write(dir.path().join(name), "half a fi").unwrap();
        }
        fs::write(dir.path().join(".notes.tmp-999999999"), "not ours").unwrap();
        // Not ours: the folder needs --force, and the file stays.
        let err = run_one(&scenario("s", 1), &options(dir.path(), 1), &FAKE).unwrap_err();
        assert!(
            matches!(err, RunError::Folder(FolderError::NotOurs { .. })),
            "{err}"
        );
        let forced = RunOptions {
            force: true,
            ..options(dir.path(), 1)
        };
        run_one(&scenario("s", 1), &forced, &FAKE).unwrap();
        let names: Vec<String> = read(dir.path()).into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                ".notes.tmp-999999999",
                "coverage.csv",
                "run.toml",
                "runs.csv",
                "scenario.resolved.toml",
                "summary.csv",
                "updates.csv"
            ]
        );
    }

    /// A folder named tables.csv let the run write three files, then fail on the fourth.
    #[test]
    fn a_folder_where_a_result_file_belongs_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("coverage.csv")).unwrap();
        let err = run_one(&scenario("s", 1), &options(dir.path(), 1), &FAKE).unwrap_err();
        assert!(err.is_input_error());
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write {}: it is not a regular file (remove it, or use --out to choose \
                 another folder)",
                dir.path().join("coverage.csv").display()
            )
        );
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["coverage.csv"]);
    }

    #[test]
    fn a_runs_csv_of_another_tool_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("runs.csv"), "when,what\n1,2\n").unwrap();
        let err = run_one(&scenario("s", 1), &options(dir.path(), 1), &FAKE).unwrap_err();
        assert!(
            matches!(err, RunError::Folder(FolderError::NotOurs { .. })),
            "{err}"
        );
    }

    #[test]
    fn an_output_folder_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let out = file.join("results");
        let err = run_one(&scenario("s", 1), &options(&out, 1), &FAKE).unwrap_err();
        assert!(err.is_input_error());
        assert!(
            err.to_string().contains(&out.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn the_memory_guard_names_estimate_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let opts = RunOptions {
            memory_limit: MemoryLimit::Megabytes(9),
            ..options(dir.path(), 6)
        };
        // 6 workers x 1 MiB and the program's 5 MiB fit in 9 MiB? No.
        let err = run_one(&scenario("s", 8), &opts, &FAKE).unwrap_err();
        assert!(err.is_input_error());
        assert_eq!(
            err.to_string(),
            "memory guard: 6 worker(s) x 1 MiB each + 5 MiB for the program = 11 MiB needed, \
             more than the limit set by --max-memory-mb (9 MiB); lower --jobs, raise \
             --max-memory-mb, or pass --no-memory-guard"
        );
        assert!(
            read(dir.path()).is_empty(),
            "refused before touching the folder"
        );
        // Only as many workers as trials.
        run_one(&scenario("s", 3), &opts, &FAKE).unwrap();
    }

    /// Ten million products took 1.4 GB that the guard did not count: a run that could not
    /// fit was started and killed by the OS instead of refused.
    #[test]
    fn the_memory_guard_counts_the_product_catalog() {
        let dir = tempfile::tempdir().unwrap();
        let opts = RunOptions {
            memory_limit: MemoryLimit::Megabytes(1000),
            ..options(dir.path(), 2)
        };
        let mut big = scenario("s", 2);
        big.workload.products = 10_000_000;
        let err = run_one(&big, &opts, &FAKE).unwrap_err();
        assert_eq!(
            err.to_string(),
            "memory guard: 2 worker(s) x 1 MiB each + 1373.3 MiB for the product catalog + 5 \
             MiB for the program = 1380.3 MiB needed, more than the limit set by --max-memory-mb (1000 MiB); lower \
             --jobs, raise --max-memory-mb, or pass --no-memory-guard"
        );
        assert!(read(dir.path()).is_empty());
    }

    /// 2000 trials of 2000 updates held 1.8 GB of reports the guard did not count; ten times
    /// the trials would have been killed by the OS instead of refused.
    #[test]
    fn the_memory_guard_counts_the_reports_held_until_the_files_are_written() {
        use std::mem::size_of;
        let dir = tempfile::tempdir().unwrap();
        let opts = RunOptions {
            memory_limit: MemoryLimit::Megabytes(1000),
            ..options(dir.path(), 1)
        };
        let mut many = scenario("s", 2000);
        many.nodes = 100;
        many.protocol.kind = ProtocolKind::named("push-pull");
        many.workload.products = 100;
        many.workload.generated = Some(crate::scenario::GeneratedUpdates {
            count: 2000,
            start: Time::ZERO,
            per_round: Some(20.0),
            zipf_exponent: 1.0,
            min_price: 1.0,
            max_price: 2.0,
        });
        let err = run_one(&many, &opts, &FAKE).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("memory guard: 1 worker(s) x 1 MiB each + ")
                && message.contains(" MiB for the trials' results until they are written"),
            "{message}"
        );
        // Rows of 2000 updates, their coverage samples: more than the reports alone.
        let with_coverage = engine::point_bytes(&many);
        let reports = 2000
            * (size_of::<TrialReport>() + 2000 * size_of::<crate::report::UpdateReport>()) as u64;
        assert!(with_coverage > reports, "{with_coverage}");
        many.output.coverage = false;
        let without = engine::point_bytes(&many);
        assert!(without > reports && without < with_coverage, "{without}");
        // Tables: a row per node and changed product.
        many.output.tables = true;
        assert!(engine::point_bytes(&many) > without + 2000 * 100 * 100 * 8);
    }

    #[test]
    fn no_memory_guard_never_asks_for_an_estimate() {
        struct NoEstimate;
        impl TrialEngine for NoEstimate {
            fn estimate_memory(&self, _: &Scenario) -> u64 {
                panic!("estimate asked for")
            }
            fn run_trial(&self, s: &Scenario, c: &Catalog, t: u32, p: &AtomicU64) -> TrialReport {
                FAKE.run_trial(s, c, t, p)
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let opts = RunOptions {
            memory_limit: MemoryLimit::Unlimited,
            ..options(dir.path(), 1)
        };
        run_one(&scenario("s", 1), &opts, &NoEstimate).unwrap();
    }

    #[test]
    fn an_engine_panic_is_an_internal_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let engine = FakeEngine {
            memory: 0,
            panic_on: Some(1),
        };
        let err = run_one(&scenario("s", 3), &options(dir.path(), 1), &engine).unwrap_err();
        assert!(!err.is_input_error());
        assert_eq!(
            err.to_string(),
            "internal error: the engine failed on trial 1: fake engine bug"
        );
        assert!(read(dir.path()).is_empty());
    }

    #[test]
    fn a_run_without_coverage_removes_a_stale_coverage_file() {
        let dir = tempfile::tempdir().unwrap();
        run_one(&scenario("s", 1), &options(dir.path(), 1), &FAKE).unwrap();
        let mut without = scenario("s", 1);
        without.output.coverage = false;
        // Another resolved scenario: only with --force.
        let forced = RunOptions {
            force: true,
            ..options(dir.path(), 1)
        };
        let summary = run_one(&without, &forced, &FAKE).unwrap();
        assert_eq!(summary.files.len(), 3);
        let names: Vec<String> = read(dir.path()).into_iter().map(|(name, _)| name).collect();
        assert_eq!(
            names,
            [
                "run.toml",
                "runs.csv",
                "scenario.resolved.toml",
                "summary.csv",
                "updates.csv"
            ]
        );
    }

    #[test]
    fn mem_available_is_read_in_kibibytes() {
        let meminfo = "MemTotal:       24684084 kB\nMemFree:  1 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(parse_mem_available(meminfo), Some(2048 * 1024));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: lots\n"), None);
    }
}
