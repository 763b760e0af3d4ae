//! Runs every trial of a scenario in parallel and writes the results, all-or-nothing.
//!
//! Order of work: memory guard, output folder checks, simulation, then the files. Nothing is
//! simulated before the inputs are known to be good, and nothing is written before every trial
//! has finished: a failed or interrupted run leaves the output folder as it was.
//!
//! Determinism: each trial depends only on the scenario and its index (the engine derives the
//! trial's seed), reports are collected by index, and the writers sort by trial. The files are
//! therefore byte-identical for any `--jobs`.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, IsTerminal as _};
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::engine;
use crate::output::{self, WriteError, push_decimal};
use crate::report::TrialReport;
use crate::scenario::{Catalog, Scenario, ScenarioError};
use crate::time::Time;

/// How to run a scenario.
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
}

impl RunOptions {
    /// Defaults: one worker per core, the memory guard on, no progress bar.
    pub fn new(out_dir: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            out_dir: out_dir.into(),
            jobs: None,
            force: false,
            memory_limit: MemoryLimit::Available,
            progress: false,
        }
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

    #[error("cannot create output folder {}: {error}", path.display())]
    CreateOutput { path: PathBuf, error: io::Error },

    #[error("output folder {} is not writable: {error}", path.display())]
    OutputNotWritable { path: PathBuf, error: io::Error },

    #[error("cannot read {}: {error}", path.display())]
    ReadExisting { path: PathBuf, error: io::Error },

    #[error(
        "output folder {} holds results of scenario `{found}`, not `{expected}` \
         (use --force to overwrite them, or --out to choose another folder)",
        dir.display()
    )]
    ForeignResults {
        dir: PathBuf,
        found: String,
        expected: String,
    },

    #[error(
        "{} is not a gossip-sim runs.csv (use --force to overwrite it, or --out to choose \
         another folder)",
        path.display()
    )]
    UnrecognisedResults { path: PathBuf },

    #[error(
        "memory guard: {workers} worker(s) x {} each = {} needed, more than the {limit_name} \
         ({}); lower --jobs, raise --max-memory-mb, or pass --no-memory-guard",
        mib(*per_worker), mib(per_worker.saturating_mul(*workers as u64)), mib(*limit)
    )]
    MemoryGuard {
        per_worker: u64,
        workers: usize,
        limit: u64,
        limit_name: &'static str,
    },

    #[error(transparent)]
    Write(#[from] WriteError),

    #[error("cannot start {jobs} worker thread(s): {error}")]
    ThreadPool {
        jobs: usize,
        error: rayon::ThreadPoolBuildError,
    },

    #[error("internal error: the engine failed to estimate memory: {message}")]
    EstimateFailed { message: String },

    #[error("internal error: the engine failed on trial {trial}: {message}")]
    TrialFailed { trial: u32, message: String },

    #[error("internal error: the engine returned trial {returned} when asked for trial {trial}")]
    WrongTrial { trial: u32, returned: u32 },
}

impl RunError {
    /// Whether the user can fix this by changing the input (scenario, flags, output folder, the
    /// machine's limits), as opposed to a bug in gossip-sim.
    pub fn is_input_error(&self) -> bool {
        match self {
            RunError::Scenario(_)
            | RunError::CreateOutput { .. }
            | RunError::OutputNotWritable { .. }
            | RunError::ReadExisting { .. }
            | RunError::ForeignResults { .. }
            | RunError::UnrecognisedResults { .. }
            | RunError::MemoryGuard { .. }
            | RunError::Write(_) => true,
            RunError::ThreadPool { .. }
            | RunError::EstimateFailed { .. }
            | RunError::TrialFailed { .. }
            | RunError::WrongTrial { .. } => false,
        }
    }
}

/// Loads a scenario file, applies `KEY=VALUE` overrides, validates. The one place that calls the
/// scenario loader.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, RunError> {
    Ok(crate::scenario::load(path, overrides)?)
}

/// What a finished run produced.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub scenario: String,
    pub trials: u32,
    pub nodes: u32,
    pub out_dir: PathBuf,
    /// The files written, in the order written.
    pub files: Vec<PathBuf>,
    pub spread: SpreadSummary,
    /// Trial 0's final price tables, one line per node, for small scenarios that ask for
    /// `output.tables` (at most [`SHOWN_TABLES`] nodes).
    pub final_tables: Vec<String>,
}

/// Largest scenario whose final price tables the summary prints.
pub const SHOWN_TABLES: u32 = 20;

/// How updates spread over the whole run: every (trial, update) pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpreadSummary {
    /// (trial, update) pairs.
    pub updates: u64,
    /// Pairs that never reached every live node.
    pub never_completed: u64,
    /// Of those, the pairs whose origin was down at injection.
    pub never_injected: u64,
    /// Median rounds from injection to every live node, over the pairs that got there.
    pub median_rounds_to_all: Option<Exact>,
    /// Median messages carrying the update, over all pairs.
    pub median_update_messages: Option<Exact>,
    /// Median messages sent from injection until every live node had it, over the pairs that
    /// got there.
    pub median_messages_to_all: Option<Exact>,
}

/// An exact fraction, printed like the CSV files print rounds: up to 3 decimals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exact {
    pub num: u128,
    pub den: u128,
}

impl fmt::Display for Exact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        push_decimal(&mut text, self.num, self.den, output::ROUND_DECIMALS);
        f.pad(&text)
    }
}

/// The median of `values` (sorted in place): the middle one, or the mean of the two middle ones.
fn median(values: &mut [u128]) -> Option<Exact> {
    values.sort_unstable();
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(Exact {
            num: values[n / 2],
            den: 1,
        }),
        _ => Some(Exact {
            num: values[n / 2 - 1] + values[n / 2],
            den: 2,
        }),
    }
}

impl SpreadSummary {
    pub fn new(reports: &[TrialReport], period: Time) -> SpreadSummary {
        let mut rounds_to_all = Vec::new();
        let mut update_messages = Vec::new();
        let mut messages_to_all = Vec::new();
        let mut never_injected = 0;
        for update in reports.iter().flat_map(|report| &report.updates) {
            update_messages.push(u128::from(update.update_messages));
            if let Some(at) = update.reached_all {
                rounds_to_all.push(u128::from(output::elapsed(update.injected_at, at).micros()));
            }
            if let Some(messages) = update.messages_to_all {
                messages_to_all.push(u128::from(messages));
            }
            if !update.injected {
                never_injected += 1;
            }
        }
        let updates = update_messages.len() as u64;
        SpreadSummary {
            updates,
            never_completed: updates - rounds_to_all.len() as u64,
            never_injected,
            median_rounds_to_all: median(&mut rounds_to_all).map(|m| Exact {
                num: m.num,
                den: m.den * u128::from(period.micros()),
            }),
            median_update_messages: median(&mut update_messages),
            median_messages_to_all: median(&mut messages_to_all),
        }
    }
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spread = &self.spread;
        let completed = spread.updates - spread.never_completed;
        let or_dash =
            |value: Option<Exact>| value.map_or_else(|| "-".to_string(), |v| v.to_string());
        writeln!(f, "scenario         {}", self.scenario)?;
        writeln!(f, "trials           {}", self.trials)?;
        writeln!(f, "nodes            {}", self.nodes)?;
        writeln!(f, "output           {}", self.out_dir.display())?;
        writeln!(
            f,
            "rounds to all    {:<10} median over the {completed} updates that reached every live node",
            or_dash(spread.median_rounds_to_all),
        )?;
        write!(
            f,
            "never completed  {:<10} of {} updates (all trials)",
            spread.never_completed, spread.updates
        )?;
        if spread.never_injected > 0 {
            write!(f, ", {} never injected: origin down", spread.never_injected)?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "update messages  {:<10} median per update",
            or_dash(spread.median_update_messages)
        )?;
        writeln!(
            f,
            "messages to all  {:<10} median, all messages from injection until every live node had it",
            or_dash(spread.median_messages_to_all)
        )?;
        if !self.final_tables.is_empty() {
            writeln!(f, "final prices     trial 0")?;
            for line in &self.final_tables {
                writeln!(f, "  {line}")?;
            }
        }
        Ok(())
    }
}

/// One line per node: `node 0 (up): P001 = 99.99 (v1)`.
fn final_tables(
    scenario: &Scenario,
    catalog: &Catalog,
    report: Option<&TrialReport>,
) -> Vec<String> {
    let Some(report) = report.filter(|_| scenario.output.tables && scenario.nodes <= SHOWN_TABLES)
    else {
        return Vec::new();
    };
    let mut lines: Vec<String> = Vec::new();
    let mut current = None;
    for entry in &report.tables {
        if current != Some(entry.node) {
            current = Some(entry.node);
            let state = if entry.up { "up" } else { "down" };
            lines.push(format!("node {} ({state}):", entry.node));
        }
        let line = lines.last_mut().expect("pushed above");
        let product = catalog.name(entry.product);
        match (entry.version, entry.price) {
            (Some(v), Some(price)) => line.push_str(&format!(" {product} = {price} (v{v})")),
            (Some(v), None) => line.push_str(&format!(" {product} = initial price (v{v})")),
            (None, _) => line.push_str(&format!(" {product} = none (table lost)")),
        }
    }
    lines
}

/// Runs trials `0..scenario.trials` and writes `updates.csv`, `runs.csv` and (if asked for)
/// `coverage.csv` into `opts.out_dir`.
pub fn run_scenario(scenario: &Scenario, opts: &RunOptions) -> Result<RunSummary, RunError> {
    run_with(scenario, opts, &Engine)
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
        engine::run_trial(scenario, catalog, trial, progress)
    }
}

fn run_with(
    scenario: &Scenario,
    opts: &RunOptions,
    engine: &impl TrialEngine,
) -> Result<RunSummary, RunError> {
    let jobs = opts
        .jobs
        .or_else(|| thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
    let workers = jobs.min(scenario.trials as usize);
    check_memory(scenario, workers, opts.memory_limit, engine)?;
    prepare_output_dir(&opts.out_dir, &scenario.name, opts.force)?;

    let catalog = Catalog::new(&scenario.workload);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|error| RunError::ThreadPool { jobs, error })?;
    let rounds = AtomicU64::new(0);
    let finished = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let outcomes: Vec<Outcome> =
        with_progress(opts.progress, scenario.trials, &rounds, &finished, || {
            pool.install(|| {
                (0..scenario.trials)
                    .into_par_iter()
                    .map(|trial| {
                        // After one failure the rest is wasted work (and more panic messages).
                        if failed.load(Ordering::Relaxed) {
                            return Outcome::Skipped;
                        }
                        let run = || engine.run_trial(scenario, &catalog, trial, &rounds);
                        match catch_unwind(AssertUnwindSafe(run)) {
                            Ok(report) => {
                                finished.fetch_add(1, Ordering::Relaxed);
                                Outcome::Done(Box::new(report))
                            }
                            Err(panic) => {
                                failed.store(true, Ordering::Relaxed);
                                Outcome::Failed(panic_message(panic.as_ref()))
                            }
                        }
                    })
                    .collect()
            })
        });

    // The first failure in trial order is the one reported.
    let mut reports = Vec::with_capacity(outcomes.len());
    for (trial, outcome) in (0..).zip(outcomes) {
        match outcome {
            Outcome::Done(report) if report.trial == trial => reports.push(*report),
            Outcome::Done(report) => {
                return Err(RunError::WrongTrial {
                    trial,
                    returned: report.trial,
                });
            }
            Outcome::Failed(message) => return Err(RunError::TrialFailed { trial, message }),
            // Some later trial failed; the loop gets to it.
            Outcome::Skipped => {}
        }
    }

    let files = output::write_tables(&opts.out_dir, scenario, &catalog, &reports)?;
    Ok(RunSummary {
        scenario: scenario.name.clone(),
        trials: scenario.trials,
        nodes: scenario.nodes,
        out_dir: opts.out_dir.clone(),
        files,
        spread: SpreadSummary::new(&reports, scenario.period),
        final_tables: final_tables(scenario, &catalog, reports.first()),
    })
}

enum Outcome {
    Done(Box<TrialReport>),
    Failed(String),
    /// Not run because another trial had failed.
    Skipped,
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

/// Refuses a run whose workers would together need more memory than the limit.
fn check_memory(
    scenario: &Scenario,
    workers: usize,
    limit: MemoryLimit,
    engine: &impl TrialEngine,
) -> Result<(), RunError> {
    let (limit, limit_name) = match limit {
        MemoryLimit::Unlimited => return Ok(()),
        MemoryLimit::Megabytes(mb) => (mb.saturating_mul(1 << 20), "limit set by --max-memory-mb"),
        MemoryLimit::Available => match available_memory() {
            Some(bytes) => (bytes, "available memory"),
            None => return Ok(()),
        },
    };
    let per_worker =
        catch_unwind(AssertUnwindSafe(|| engine.estimate_memory(scenario))).map_err(|panic| {
            RunError::EstimateFailed {
                message: panic_message(panic.as_ref()),
            }
        })?;
    if per_worker.saturating_mul(workers as u64) > limit {
        return Err(RunError::MemoryGuard {
            per_worker,
            workers,
            limit,
            limit_name,
        });
    }
    Ok(())
}

/// `MemAvailable` from `/proc/meminfo`, in bytes; `None` where it cannot be read.
fn available_memory() -> Option<u64> {
    parse_mem_available(&fs::read_to_string("/proc/meminfo").ok()?)
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

/// Creates the output folder if needed, checks it is writable, and refuses one that holds
/// another scenario's results unless `force`.
fn prepare_output_dir(dir: &Path, scenario: &str, force: bool) -> Result<(), RunError> {
    fs::create_dir_all(dir).map_err(|error| RunError::CreateOutput {
        path: dir.to_path_buf(),
        error,
    })?;
    let probe = dir.join(format!(".gossip-sim-probe-{}", std::process::id()));
    File::create(&probe).map_err(|error| RunError::OutputNotWritable {
        path: dir.to_path_buf(),
        error,
    })?;
    let _ = fs::remove_file(&probe);
    if force {
        return Ok(());
    }
    let runs = dir.join("runs.csv");
    match results_owner(&runs)? {
        Owner::Nobody => Ok(()),
        Owner::Scenario(found) if found == scenario => Ok(()),
        Owner::Scenario(found) => Err(RunError::ForeignResults {
            dir: dir.to_path_buf(),
            found,
            expected: scenario.to_string(),
        }),
        Owner::Unrecognised => Err(RunError::UnrecognisedResults { path: runs }),
    }
}

enum Owner {
    /// No `runs.csv`, or one without rows.
    Nobody,
    Scenario(String),
    /// A `runs.csv` without a `scenario` column, or not CSV at all.
    Unrecognised,
}

/// Whose results an existing `runs.csv` holds: the scenario column of its first data row.
fn results_owner(runs: &Path) -> Result<Owner, RunError> {
    let file = match File::open(runs) {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Owner::Nobody),
        Err(error) => {
            return Err(RunError::ReadExisting {
                path: runs.to_path_buf(),
                error,
            });
        }
    };
    let mut reader = csv::Reader::from_reader(io::BufReader::new(file));
    let Ok(header) = reader.headers() else {
        return Ok(Owner::Unrecognised);
    };
    let Some(column) = header.iter().position(|name| name == "scenario") else {
        return Ok(Owner::Unrecognised);
    };
    let mut row = csv::StringRecord::new();
    match reader.read_record(&mut row) {
        Ok(false) => Ok(Owner::Nobody),
        Ok(true) => Ok(row.get(column).map_or(Owner::Unrecognised, |name| {
            Owner::Scenario(name.to_string())
        })),
        Err(_) => Ok(Owner::Unrecognised),
    }
}

fn progress_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} trials, {msg} rounds simulated, ETA {eta}",
    )
    .expect("the progress template is valid")
    .progress_chars("=> ")
}

/// Runs `work` while a ticker thread draws a bar over finished trials, with the simulated rounds
/// so far and an ETA. Wall-clock time only ever reaches stderr, never a result file.
fn with_progress<R>(
    enabled: bool,
    trials: u32,
    rounds: &AtomicU64,
    finished: &AtomicU64,
    work: impl FnOnce() -> R,
) -> R {
    if !enabled || !io::stderr().is_terminal() {
        return work();
    }
    let bar = ProgressBar::with_draw_target(Some(u64::from(trials)), ProgressDrawTarget::stderr());
    bar.set_style(progress_style());
    let (stop, stopped) = mpsc::channel::<()>();
    let result = thread::scope(|scope| {
        let bar = &bar;
        scope.spawn(move || {
            loop {
                bar.set_position(finished.load(Ordering::Relaxed));
                bar.set_message(rounds.load(Ordering::Relaxed).to_string());
                match stopped.recv_timeout(Duration::from_millis(100)) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        });
        let result = work();
        drop(stop);
        result
    });
    bar.finish_and_clear();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::report;
    use crate::scenario::{
        ExchangeMode, Latency, Network, OutputOptions, Overlay, Protocol, ProtocolKind, SizeModel,
        Timing, Workload,
    };

    fn scenario(name: &str, trials: u32) -> Scenario {
        Scenario {
            name: name.to_string(),
            seed: 7,
            nodes: 10,
            trials,
            max_rounds: 100,
            protocol: Protocol {
                kind: ProtocolKind::Push,
                fanout: 1,
                exchange: ExchangeMode::Digest,
                anti_entropy_every: None,
            },
            timing: Timing::Rounds,
            period: Time::from_millis(100),
            network: Network {
                loss: 0.0,
                latency: Latency::Constant { ms: 0.0 },
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
            overlay: Overlay::Full,
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
            thread::sleep(Duration::from_millis(
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
        memory: 1 << 20,
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
        run_with(&scenario, &options(one.path(), 1), &FAKE).unwrap();
        run_with(&scenario, &options(four.path(), 4), &FAKE).unwrap();
        let files = read(one.path());
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["coverage.csv", "runs.csv", "updates.csv"]);
        assert_eq!(files, read(four.path()));
    }

    #[test]
    fn rows_come_in_trial_order_though_late_trials_finish_first() {
        let scenario = scenario("baseline", 6);
        let dir = tempfile::tempdir().unwrap();
        run_with(&scenario, &options(dir.path(), 3), &FAKE).unwrap();
        let runs = fs::read_to_string(dir.path().join("runs.csv")).unwrap();
        let trials: Vec<&str> = runs
            .lines()
            .skip(1)
            .map(|row| row.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(trials, ["0", "1", "2", "3", "4", "5"]);
    }

    #[test]
    fn summary_medians_cover_every_trial_and_update() {
        let scenario = scenario("baseline", 4);
        let dir = tempfile::tempdir().unwrap();
        let summary = run_with(&scenario, &options(dir.path(), 2), &FAKE).unwrap();
        assert_eq!(summary.files.len(), 3);
        let spread = &summary.spread;
        assert_eq!(spread.updates, 8);
        assert_eq!(spread.never_completed, 4);
        assert_eq!(spread.never_injected, 0);
        // Update 0 reaches all in 4 rounds in every trial.
        assert_eq!(spread.median_rounds_to_all.unwrap().to_string(), "4");
        // update_messages: 25, 26, 27, 28 and 18 (x4): median (18 + 25) / 2.
        assert_eq!(spread.median_update_messages.unwrap().to_string(), "21.5");
        assert_eq!(spread.median_messages_to_all.unwrap().to_string(), "31");
        let text = summary.to_string();
        assert!(
            text.contains("\nnever completed  4          of 8 updates (all trials)\n"),
            "{text}"
        );
        assert!(text.lines().all(|line| line == line.trim_end()), "{text}");
    }

    #[test]
    fn a_folder_with_another_scenarios_results_is_refused_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        run_with(&scenario("first", 2), &options(dir.path(), 1), &FAKE).unwrap();
        let before = read(dir.path());

        let err = run_with(&scenario("second", 2), &options(dir.path(), 1), &FAKE).unwrap_err();
        let message = err.to_string();
        assert!(err.is_input_error());
        assert!(
            message.contains("`first`") && message.contains("`second`"),
            "{message}"
        );
        assert_eq!(read(dir.path()), before);

        // Same scenario again: fine.
        run_with(&scenario("first", 2), &options(dir.path(), 1), &FAKE).unwrap();
        let forced = RunOptions {
            force: true,
            ..options(dir.path(), 1)
        };
        run_with(&scenario("second", 2), &forced, &FAKE).unwrap();
        let runs = fs::read_to_string(dir.path().join("runs.csv")).unwrap();
        assert!(runs.lines().nth(1).unwrap().starts_with("second,"));
    }

    #[test]
    fn a_runs_csv_of_another_tool_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("runs.csv"), "when,what\n1,2\n").unwrap();
        let err = run_with(&scenario("s", 1), &options(dir.path(), 1), &FAKE).unwrap_err();
        assert!(matches!(err, RunError::UnrecognisedResults { .. }), "{err}");
    }

    #[test]
    fn an_output_folder_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let out = file.join("results");
        let err = run_with(&scenario("s", 1), &options(&out, 1), &FAKE).unwrap_err();
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
            memory_limit: MemoryLimit::Megabytes(3),
            ..options(dir.path(), 4)
        };
        // 4 workers x 1 MiB fit in 3 MiB? No.
        let err = run_with(&scenario("s", 8), &opts, &FAKE).unwrap_err();
        assert!(err.is_input_error());
        assert_eq!(
            err.to_string(),
            "memory guard: 4 worker(s) x 1 MiB each = 4 MiB needed, more than the limit set \
             by --max-memory-mb (3 MiB); lower --jobs, raise --max-memory-mb, or pass \
             --no-memory-guard"
        );
        assert!(
            read(dir.path()).is_empty(),
            "refused before touching the folder"
        );
        // Only as many workers as trials.
        run_with(&scenario("s", 3), &opts, &FAKE).unwrap();
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
        run_with(&scenario("s", 1), &opts, &NoEstimate).unwrap();
    }

    #[test]
    fn an_engine_panic_is_an_internal_error_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let engine = FakeEngine {
            memory: 0,
            panic_on: Some(1),
        };
        let err = run_with(&scenario("s", 3), &options(dir.path(), 1), &engine).unwrap_err();
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
        run_with(&scenario("s", 1), &options(dir.path(), 1), &FAKE).unwrap();
        let mut without = scenario("s", 1);
        without.output.coverage = false;
        let summary = run_with(&without, &options(dir.path(), 1), &FAKE).unwrap();
        assert_eq!(summary.files.len(), 2);
        let names: Vec<String> = read(dir.path()).into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, ["runs.csv", "updates.csv"]);
    }

    #[test]
    fn mem_available_is_read_in_kibibytes() {
        let meminfo = "MemTotal:       24684084 kB\nMemFree:  1 kB\nMemAvailable:   2048 kB\n";
        assert_eq!(parse_mem_available(meminfo), Some(2048 * 1024));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
        assert_eq!(parse_mem_available("MemAvailable: lots\n"), None);
    }

    #[test]
    fn the_progress_template_is_valid() {
        progress_style();
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3, 1, 2]), Some(Exact { num: 2, den: 1 }));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(Exact { num: 5, den: 2 }));
    }
}
