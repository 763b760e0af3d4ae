//! The command line: `gossip-sim run`, `check` and `merge`.
//!
//! Exit codes: 0 on success (and when stdout is closed early, as by `| head`), 2 for bad input
//! (scenario, flags, output folder, memory guard), 1 for an internal failure or a failed
//! determinism check, 130 when Ctrl-C stopped a run (its finished points are kept for
//! `--resume`).

use std::io::{self, IsTerminal as _, Write as _};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Args, Parser, Subcommand};

use crate::output::folder::{FolderError, OutputFolder};
use crate::output::manifest::{self, Provenance};
use crate::plot::{self, ChartKind, PlotError};
use crate::runner::{self, MemoryLimit, RunError, RunOptions};
use crate::scenario::Sweep;
use crate::store::{Shard, parse_shard};

/// Bad input: the scenario, a flag, the output folder, the machine's limits.
pub const EXIT_INPUT: u8 = 2;
/// A bug in gossip-sim, or runs that should match and do not.
pub const EXIT_INTERNAL: u8 = 1;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Deterministic simulator of gossip protocols spreading price updates.
#[derive(Debug, Parser)]
#[command(name = "gossip-sim", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every trial of a scenario (every point of its sweep) and write updates.csv,
    /// runs.csv, coverage.csv and summary.csv.
    Run(RunArgs),
    /// Validate a scenario and print it resolved, every default filled in.
    Check(CheckArgs),
    /// Combine the output of `run --shard I/N` shards into the files of one unsharded run.
    Merge(MergeArgs),
    /// Draw SVG charts from a results folder (each that its results allow: coverage and
    /// 1 - coverage against round, rounds_to_all against nodes, messages and staleness against
    /// loss, residue against traffic, completion per region; or any metric against any swept
    /// key with --x/--y) and its index.html.
    Plot(PlotArgs),
    /// Print a shell completion script: `gossip-sim completions bash > ~/.local/share/bash-completion/completions/gossip-sim`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `gossip-sim man > gossip-sim.1; man ./gossip-sim.1`.
    Man,
}

/// How much of a finished run's summary goes to stdout, and where else it goes.
#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// Print nothing on stdout and draw no progress bar (errors still go to stderr).
    #[arg(long, short, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print every statistic of every point (the rows of summary.csv) instead of one line per
    /// sweep point.
    #[arg(long, short)]
    pub verbose: bool,

    /// Also write the summary as JSON to this file (every point, every statistic).
    #[arg(long, value_name = "FILE")]
    pub export_json: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A results folder (of `gossip-sim run` or `merge`).
    #[arg(value_name = "RESULTS_DIR")]
    pub dir: PathBuf,

    /// Write the chart to this file instead of RESULTS_DIR/CHART.svg (one chart only).
    #[arg(long, short, value_name = "FILE.svg")]
    pub out: Option<PathBuf>,

    /// Draw only this chart.
    #[arg(long, value_enum, conflicts_with_all = ["x", "y"])]
    pub chart: Option<ChartKind>,

    /// Draw one metric of summary.csv against this swept key (with --y), a line per
    /// combination of the other swept keys.
    #[arg(long, value_name = "KEY", requires = "y")]
    pub x: Option<String>,

    /// The summary metric to draw against --x, e.g. rounds_to_all, messages, residue.
    #[arg(long, value_name = "METRIC", requires = "x")]
    pub y: Option<String>,
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,

    /// Override a scenario key, e.g. `--set protocol.fanout=3`; repeatable, the last one wins.
    /// Setting a swept key takes it out of the sweep.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub overrides: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,

    /// Print nothing; the exit code says whether the scenario is valid.
    #[arg(long, short, conflicts_with = "memory")]
    pub quiet: bool,

    /// Print only the memory estimate of the run (`bytes`, then the parts), as the memory
    /// guard computes it.
    #[arg(long)]
    pub memory: bool,

    /// Worker threads the memory estimate assumes [default: one per core].
    #[arg(long, short, value_name = "N", requires = "memory")]
    pub jobs: Option<NonZeroUsize>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,

    /// Output folder [default: results/NAME/, NAME the scenario's name].
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Master seed; same as `--set seed=N`, and wins over it.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<String>,

    /// Number of trials (per sweep point); same as `--set trials=N`, and wins over it.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub trials: Option<String>,

    /// Worker threads [default: one per core]. The results do not depend on it.
    #[arg(long, short, value_name = "N", allow_negative_numbers = true)]
    pub jobs: Option<NonZeroUsize>,

    #[command(flatten)]
    pub summary: SummaryArgs,

    /// Overwrite an output folder that holds another scenario's results.
    #[arg(long)]
    pub force: bool,

    /// Memory the run may plan to use, instead of the machine's available memory.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        conflicts_with = "no_memory_guard",
        value_parser = parse_megabytes
    )]
    pub max_memory_mb: Option<u64>,

    /// Run even if the memory estimate exceeds the available memory.
    #[arg(long)]
    pub no_memory_guard: bool,

    /// Continue an interrupted run: keep the sweep points it finished, run the others.
    #[arg(long)]
    pub resume: bool,

    /// Run only the sweep points whose index is I modulo N, into OUT/shard-I-of-N/ (combine
    /// the shards with `gossip-sim merge`). `auto` takes I and N from a Slurm job array
    /// (SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT) or a Kubernetes Indexed Job
    /// (JOB_COMPLETION_INDEX, with N from --shard-count or GOSSIP_SHARD_COUNT).
    #[arg(long, value_name = "I/N|auto")]
    pub shard: Option<String>,

    /// The number of shards, for `--shard auto` (wins over the environment).
    #[arg(long, value_name = "N", requires = "shard")]
    pub shard_count: Option<usize>,

    /// Run the sweep twice, on one thread and on all, into temporary folders, and fail
    /// naming the first differing file and line if the outputs differ. Writes no results.
    #[arg(long, conflicts_with_all = ["resume", "shard"])]
    pub check_determinism: bool,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard folders (shard-I-of-N), or folders that hold them.
    #[arg(value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,

    /// Where to write the merged files.
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,

    #[command(flatten)]
    pub summary: SummaryArgs,

    /// Overwrite an output folder that holds another scenario's results.
    #[arg(long)]
    pub force: bool,
}

/// A flag or environment problem found by the command line itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl RunArgs {
    /// `--set` overrides, then `--seed` and `--trials` as overrides too, so that scenario
    /// validation checks them like any other value.
    pub fn overrides(&self) -> Vec<String> {
        let mut overrides = self.scenario.overrides.clone();
        if let Some(seed) = &self.seed {
            overrides.push(format!("seed={seed}"));
        }
        if let Some(trials) = &self.trials {
            overrides.push(format!("trials={trials}"));
        }
        overrides
    }

    /// What `run.toml` records: the scenario file's name, `--set` and the other flags that
    /// change results, as given. Not `--out`, `--jobs`, `--resume` or `--shard`: those do not
    /// change the bytes, and the folders of such runs must compare equal.
    pub fn provenance(&self) -> Provenance {
        let mut flags = Vec::new();
        for (flag, value) in [("--seed", &self.seed), ("--trials", &self.trials)] {
            if let Some(value) = value {
                flags.extend([flag.to_owned(), value.clone()]);
            }
        }
        Provenance {
            scenario_file: self
                .scenario
                .scenario
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            overrides: self.scenario.overrides.clone(),
            flags,
            warnings: Vec::new(),
        }
    }

    fn memory_limit(&self) -> MemoryLimit {
        match (self.no_memory_guard, self.max_memory_mb) {
            (true, _) => MemoryLimit::Unlimited,
            (false, Some(mb)) => MemoryLimit::Megabytes(mb),
            (false, None) => MemoryLimit::Available,
        }
    }

    /// The shard to run: `--shard I/N`, `--shard auto` from the environment `env`, or every
    /// point.
    pub fn shard(&self, env: impl Fn(&str) -> Option<String>) -> Result<Shard, UsageError> {
        match self.shard.as_deref() {
            None => Ok(Shard::WHOLE),
            Some("auto") => shard_from_env(env, self.shard_count),
            Some(_) if self.shard_count.is_some() => Err(UsageError(
                "--shard-count only goes with --shard auto".to_owned(),
            )),
            Some(text) => {
                parse_shard(text).map_err(|problem| UsageError(format!("--shard: {problem}")))
            }
        }
    }
}

/// The shard of this job in a Slurm job array or a Kubernetes Indexed Job.
///
/// Slurm: the index is (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) / SLURM_ARRAY_TASK_STEP
/// (MIN 0 and STEP 1 when unset), the count SLURM_ARRAY_TASK_COUNT; so `--array=0-7` and
/// `--array=1-8` both make 8 shards. Kubernetes: the index is JOB_COMPLETION_INDEX; the Job's
/// `completions` is not in the pod's environment, so the count comes from `count` (the
/// `--shard-count` flag) or GOSSIP_SHARD_COUNT. `count` wins over the environment in both.
pub fn shard_from_env(
    env: impl Fn(&str) -> Option<String>,
    count: Option<usize>,
) -> Result<Shard, UsageError> {
    let number = |name: &str| -> Result<Option<usize>, UsageError> {
        match env(name) {
            None => Ok(None),
            Some(text) => text.trim().parse().map(Some).map_err(|_| {
                UsageError(format!(
                    "--shard auto: {name}={text} is not a non-negative integer"
                ))
            }),
        }
    };
    let (index, count, source) = if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let step = number("SLURM_ARRAY_TASK_STEP")?.unwrap_or(1).max(1);
        let count = match count {
            Some(count) => count,
            None => number("SLURM_ARRAY_TASK_COUNT")?.ok_or_else(|| {
                UsageError(
                    "--shard auto: SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is \
                     not; pass --shard-count N"
                        .to_owned(),
                )
            })?,
        };
        if id < min || (id - min) % step != 0 {
            return Err(UsageError(format!(
                "--shard auto: SLURM_ARRAY_TASK_ID={id} is not in the array {min}, {}, ... \
                 (use a plain range such as --array=0-{})",
                min + step,
                count.saturating_sub(1)
            )));
        }
        ((id - min) / step, count, "SLURM_ARRAY_TASK_ID")
    } else if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let count = match count {
            Some(count) => count,
            None => number("GOSSIP_SHARD_COUNT")?.ok_or_else(|| {
                UsageError(
                    "--shard auto: JOB_COMPLETION_INDEX is set but not the shard count; pass \
                     --shard-count N or set GOSSIP_SHARD_COUNT to the Job's completions"
                        .to_owned(),
                )
            })?,
        };
        (index, count, "JOB_COMPLETION_INDEX")
    } else {
        return Err(UsageError(
            "--shard auto: neither SLURM_ARRAY_TASK_ID (Slurm job array) nor \
             JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set; use --shard I/N"
                .to_owned(),
        ));
    };
    if count == 0 || index >= count {
        return Err(UsageError(format!(
            "--shard auto: {source} gives shard {index}, not below the shard count {count}"
        )));
    }
    Ok(Shard { index, count })
}

/// `--max-memory-mb`: a whole number of mebibytes, at least 1 (no run fits in none: that
/// limit could only ever say "0 MiB needed, more than the 0 MiB limit").
fn parse_megabytes(text: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(0) => {
            Err("must be at least 1 (to run without a limit, pass --no-memory-guard)".to_owned())
        }
        Ok(mb) => Ok(mb),
        Err(_) => Err(format!(
            "expected a whole number of mebibytes, got `{text}`"
        )),
    }
}

fn parse_override(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => Ok(text.to_string()),
        _ => Err(format!("expected KEY=VALUE, got `{text}`")),
    }
}

/// Parses the command line. A usage error comes back as one line for `error: `, like every other
/// error of gossip-sim, instead of clap's several paragraphs; `--help` and `--version` print as
/// usual and exit 0.
pub fn parse_args(
    args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
) -> Result<Cli, ExitCode> {
    Cli::try_parse_from(args).map_err(|err| {
        if err.use_stderr() {
            eprintln!("error: {}", one_line(&usage_error_line(&err)));
        } else {
            // --help, --version: their output is the point.
            let _ = err.print();
        }
        ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(EXIT_INPUT))
    })
}

/// clap's message on one line: the message itself, its tips, then the usage, with the leading
/// `error: ` and the closing "For more information, try '--help'" dropped.
pub fn usage_error_line(err: &clap::Error) -> String {
    if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        // clap would print the whole help; one line says what is missing.
        let commands: Vec<String> = <Cli as clap::CommandFactory>::command()
            .get_subcommands()
            .map(|command| format!("`{}`", command.get_name()))
            .collect();
        return format!(
            "no command given: expected one of {} (see gossip-sim --help)",
            commands.join(", ")
        );
    }
    let text = err.render().to_string();
    let mut message = Vec::new();
    let mut usage = None;
    for paragraph in text.split("\n\n") {
        let lines: Vec<&str> = paragraph
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect();
        let Some(first) = lines.first() else {
            continue;
        };
        if first.starts_with("For more information") {
            continue;
        }
        let joined = lines.join(" ");
        match joined.strip_prefix("Usage: ") {
            Some(rest) => usage = Some(rest.to_owned()),
            None => message.push(joined),
        }
    }
    let mut line = message.join("; ");
    if let Some(rest) = line.strip_prefix("error: ") {
        line = rest.to_owned();
    }
    if let Some(usage) = usage {
        line.push_str(&format!(" (usage: {usage})"));
    }
    line
}

/// A message fit for one line of stderr: control characters, such as a newline in a file name
/// the user passed, are escaped.
pub fn one_line(message: &str) -> String {
    if !message.contains(char::is_control) {
        return message.to_owned();
    }
    message
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Run(args) => run_scenario(&args),
        Command::Merge(args) => merge(&args),
        Command::Plot(args) => plot_charts(&args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "gossip-sim", &mut io::stdout().lock());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            io::stdout().lock().write_all(&page)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints the summary as `args` asks and writes its JSON export.
fn print_summary(summary: &runner::RunSummary, args: &SummaryArgs) -> anyhow::Result<()> {
    use crate::export::Exporter as _;
    if let Some(path) = &args.export_json {
        crate::output::atomic::write_atomically(path, |out| {
            crate::export::Json.write(summary, out)
        })
        .map_err(|err| UsageError(format!("--export-json {}: {err}", path.display())))?;
    }
    if !args.quiet {
        crate::export::for_stdout(summary, args.verbose)
            .write(summary, &mut io::stdout().lock())?;
    }
    Ok(())
}

fn plot_charts(args: &PlotArgs) -> anyhow::Result<ExitCode> {
    // Charts are written into the results folder: not while a run or merge writes it.
    let _lock = OutputFolder::lock_existing(&args.dir)?;
    let written = match (&args.x, &args.y) {
        (Some(x), Some(y)) => plot::plot_metric(&args.dir, x, y, args.out.as_deref())?,
        _ => plot::plot(&args.dir, args.out.as_deref(), args.chart)?,
    };
    let mut out = io::stdout().lock();
    for path in written {
        writeln!(out, "{}", path.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints each warning as one line on stderr, `warning: ` first, the way errors are printed.
/// Also under `--quiet`, as compilers do: `--quiet` silences the report on stdout, while a
/// warning says that a value in the input does nothing, which the user who wrote it needs to
/// hear however the output is used (and stderr leaves stdout clean for scripts).
fn print_warnings(warnings: &[crate::scenario::Warning]) {
    for warning in warnings {
        eprintln!("warning: {}", one_line(&warning.to_string()));
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let (sweep, warnings) =
        runner::load_with_warnings(&args.scenario.scenario, &args.scenario.overrides)?;
    print_warnings(&warnings);
    let mut out = io::stdout().lock();
    if args.quiet {
        return Ok(ExitCode::SUCCESS);
    }
    if args.memory {
        let opts = RunOptions {
            jobs: args.jobs,
            ..RunOptions::new(PathBuf::new())
        };
        let estimate = runner::memory_estimate(&sweep, &opts)?;
        writeln!(
            out,
            "memory estimate: {} bytes: {}",
            estimate.total(),
            estimate.describe()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    write!(out, "{}", manifest::resolved_text(&sweep))?;
    Ok(ExitCode::SUCCESS)
}

/// Sets `interrupt` on Ctrl-C, so the runner starts no new trial and keeps the finished
/// points; a second Ctrl-C quits at once. The `ctrlc` crate runs the handler on a thread of its
/// own, so it may print and touch an `Arc`, which a raw signal handler may not.
fn catch_ctrl_c() -> Arc<AtomicBool> {
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupt);
    // Fails only if a handler is already set (a second run in one process): then the first
    // one's flag stays in charge, which is fine for a command line.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!(
            "\ninterrupted: finishing the running trials, keeping finished points \
             (Ctrl-C again to quit now)"
        );
    });
    interrupt
}

fn run_scenario(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let shard = args.shard(|name| std::env::var(name).ok())?;
    let (sweep, warnings) = runner::load_with_warnings(&args.scenario.scenario, &args.overrides())?;
    print_warnings(&warnings);
    let mut provenance = args.provenance();
    provenance.warnings = warnings.iter().map(|warning| warning.message()).collect();
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&sweep.points[0].scenario.name));
    let opts = RunOptions {
        out_dir,
        jobs: args.jobs,
        force: args.force,
        memory_limit: args.memory_limit(),
        progress: !args.summary.quiet && io::stderr().is_terminal(),
        resume: args.resume,
        shard,
        interrupt: Some(catch_ctrl_c()),
        provenance,
    };
    if args.check_determinism {
        return check_determinism(&sweep, &opts);
    }
    if !opts.resume {
        let left = runner::unfinished_run(&opts.out_dir, shard);
        if left > 0 {
            eprintln!(
                "note: starting over; an interrupted run had finished {left} point(s) in {} \
                 (pass --resume to keep them)",
                runner::store_dir(&opts.out_dir, shard).display()
            );
        }
    }
    let summary = runner::run_sweep(&sweep, &opts)?;
    print_summary(&summary, &args.summary)?;
    Ok(ExitCode::SUCCESS)
}

fn merge(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let summary = runner::merge(&args.dirs, &args.out, args.force)?;
    print_summary(&summary, &args.summary)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the sweep on one thread and on `opts.jobs` (default: every core) into two temporary
/// folders and compares every file byte for byte.
fn check_determinism(sweep: &Sweep, opts: &RunOptions) -> anyhow::Result<ExitCode> {
    let many = opts.workers();
    let temp = tempfile::Builder::new()
        .prefix("gossip-sim-determinism-")
        .tempdir()?;
    let one_dir = temp.path().join("jobs-1");
    let many_dir = temp.path().join(format!("jobs-{many}"));
    for (dir, jobs) in [(&one_dir, 1), (&many_dir, many)] {
        let run = RunOptions {
            out_dir: dir.clone(),
            jobs: NonZeroUsize::new(jobs),
            force: true,
            ..opts.clone()
        };
        runner::run_sweep(sweep, &run)?;
    }
    match first_difference(&one_dir, &many_dir)? {
        None => {
            let (files, bytes) = dir_size(&one_dir)?;
            let threads = if many == 1 {
                "one thread twice (this machine has one core)".to_owned()
            } else {
                format!("--jobs 1 and --jobs {many}")
            };
            writeln!(
                io::stdout().lock(),
                "determinism check passed: {files} files, {bytes} bytes, identical with {threads}"
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Some(difference) => {
            eprintln!("error: determinism check FAILED: {difference}");
            Ok(ExitCode::from(EXIT_INTERNAL))
        }
    }
}

/// The first place two output folders differ, for the determinism check.
#[derive(Debug, PartialEq, Eq)]
pub struct Difference {
    pub file: String,
    /// 1-based; 0 when a file is missing from one side.
    pub line: usize,
    pub one: String,
    pub many: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            return write!(f, "{}: {} vs {}", self.file, self.one, self.many);
        }
        write!(
            f,
            "{} differs first at line {}:\n  one thread:   {}\n  all threads:  {}",
            self.file, self.line, self.one, self.many
        )
    }
}

fn file_names(dir: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    Ok(names)
}

fn dir_size(dir: &Path) -> io::Result<(usize, u64)> {
    let names = file_names(dir)?;
    let mut bytes = 0;
    for name in &names {
        bytes += std::fs::metadata(dir.join(name))?.len();
    }
    Ok((names.len(), bytes))
}

/// Compares the files of two folders: same names, same bytes.
pub fn first_difference(one: &Path, many: &Path) -> io::Result<Option<Difference>> {
    let (one_names, many_names) = (file_names(one)?, file_names(many)?);
    for name in one_names.iter().chain(&many_names) {
        let (in_one, in_many) = (one_names.contains(name), many_names.contains(name));
        if !in_one || !in_many {
            let state = |present: bool| if present { "present" } else { "missing" };
            return Ok(Some(Difference {
                file: name.clone(),
                line: 0,
                one: format!("{} with one thread", state(in_one)),
                many: format!("{} with all threads", state(in_many)),
            }));
        }
    }
    for name in &one_names {
        let (a, b) = (
            std::fs::read(one.join(name))?,
            std::fs::read(many.join(name))?,
        );
        if a == b {
            continue;
        }
        let a = String::from_utf8_lossy(&a);
        let b = String::from_utf8_lossy(&b);
        let mut lines_a = a.split('\n');
        let mut lines_b = b.split('\n');
        let mut line = 1;
        loop {
            match (lines_a.next(), lines_b.next()) {
                (Some(x), Some(y)) if x == y => line += 1,
                (x, y) => {
                    return Ok(Some(Difference {
                        file: name.clone(),
                        line,
                        one: x.unwrap_or("(end of file)").to_owned(),
                        many: y.unwrap_or("(end of file)").to_owned(),
                    }));
                }
            }
        }
    }
    Ok(None)
}

/// The exit code for an error: 2 when the input is at fault, 130 for Ctrl-C, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    let run_error = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<RunError>());
    if let Some(RunError::Interrupted { .. }) = run_error {
        return ExitCode::from(EXIT_INTERRUPTED);
    }
    let input = run_error.is_some_and(RunError::is_input_error)
        || err.chain().any(|cause| {
            cause.is::<UsageError>() || cause.is::<PlotError>() || cause.is::<FolderError>()
        });
    ExitCode::from(if input { EXIT_INPUT } else { EXIT_INTERNAL })
}

/// Whether the error is stdout closed early (`gossip-sim check x.toml | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|err| err.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// The whole command line: parses the process's arguments, runs the command, prints an error
/// on one line and returns the exit code (0 on a broken pipe).
pub fn main() -> ExitCode {
    crate::engine::memory::map_big_allocations();
    let cli = match parse_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&format!("{err:#}")));
            exit_code(&err)
        }
    }
}

/// [`main`], with the protocols of `registry` available to scenarios by name: a user's own
/// binary gets the whole command line (run, check, sweeps, shards, merge, plot) for them.
pub fn main_with(registry: crate::protocol::Registry) -> ExitCode {
    registry.install();
    main()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn seed_and_trials_become_overrides_after_set() {
        let cli = Cli::try_parse_from([
            "gossip-sim",
            "run",
            "s.toml",
            "--trials",
            "5",
            "--set",
            "seed=1",
            "--seed",
            "9",
            "--set",
            "protocol.fanout=3",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(
            args.overrides(),
            ["seed=1", "protocol.fanout=3", "seed=9", "trials=5"]
        );
    }

    #[test]
    fn bad_flags_are_usage_errors() {
        for args in [
            &["gossip-sim", "run", "s.toml", "--set", "fanout"][..],
            &["gossip-sim", "run", "s.toml", "--jobs", "0"],
            &[
                "gossip-sim",
                "run",
                "s.toml",
                "--max-memory-mb",
                "1",
                "--no-memory-guard",
            ],
            &["gossip-sim", "check"],
        ] {
            let err = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    fn usage_error(args: &[&str]) -> String {
        usage_error_line(&Cli::try_parse_from(args).unwrap_err())
    }

    #[test]
    fn usage_errors_are_one_line() {
        assert_eq!(
            usage_error(&["gossip-sim", "check"]),
            "the following required arguments were not provided: <SCENARIO> \
             (usage: gossip-sim check <SCENARIO>)"
        );
        assert_eq!(
            usage_error(&["gossip-sim", "run", "s.toml", "--jobs", "0"]),
            "invalid value '0' for '--jobs <N>': number would be zero for non-zero type"
        );
        let bogus = usage_error(&["gossip-sim", "run", "s.toml", "--bogus"]);
        assert!(
            bogus.starts_with("unexpected argument '--bogus' found; tip: "),
            "{bogus}"
        );
        assert!(
            bogus.ends_with("(usage: gossip-sim run <SCENARIO>)"),
            "{bogus}"
        );
        assert_eq!(
            usage_error(&["gossip-sim"]),
            "no command given: expected one of `run`, `check`, `merge`, `plot`, `completions`, \
             `man` (see gossip-sim --help)"
        );
        for args in [
            &["gossip-sim", "run"][..],
            &["gossip-sim", "frobnicate"],
            &["gossip-sim", "run", "s.toml", "--set", "fanout"],
            &[
                "gossip-sim",
                "run",
                "s.toml",
                "--max-memory-mb",
                "1",
                "--no-memory-guard",
            ],
        ] {
            let line = usage_error(args);
            assert!(
                !line.contains('\n') && !line.starts_with("error"),
                "{line:?}"
            );
            assert!(!line.contains("For more information"), "{line:?}");
        }
    }

    #[test]
    fn negative_numbers_reach_validation() {
        let cli = Cli::try_parse_from(["gossip-sim", "run", "s.toml", "--seed", "-1"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.overrides(), ["seed=-1"]);
        let err = usage_error(&["gossip-sim", "run", "s.toml", "--max-memory-mb", "-5"]);
        assert!(
            err.starts_with("invalid value '-5' for '--max-memory-mb <N>'"),
            "{err}"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(one_line("cannot read a\nb.toml"), "cannot read a\\nb.toml");
        assert_eq!(one_line("plain é"), "plain é");
    }

    #[test]
    fn input_errors_exit_2_and_internal_ones_1() {
        let input = anyhow::Error::new(RunError::Folder(FolderError::NotOurs {
            dir: PathBuf::from("out"),
            names: vec!["runs.csv".to_owned()],
        }));
        assert_eq!(exit_code(&input), ExitCode::from(EXIT_INPUT));
        let internal = anyhow::Error::new(RunError::TrialFailed {
            point: None,
            trial: 0,
            message: "bug".into(),
        });
        assert_eq!(exit_code(&internal), ExitCode::from(EXIT_INTERNAL));
        assert_eq!(
            exit_code(&anyhow::anyhow!("anything else")),
            ExitCode::from(EXIT_INTERNAL)
        );
    }

    #[test]
    fn broken_pipe_is_recognised_through_context() {
        let err = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe)).context("stdout");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("no pipe here")));
    }

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        }
    }

    #[test]
    fn shards_come_from_slurm_or_kubernetes() {
        let shard = |vars: &[(&str, &str)], count| shard_from_env(env(vars), count);
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
        ];
        assert_eq!(shard(&slurm, None).unwrap(), Shard { index: 5, count: 8 });
        // --array=2-16:2 runs ids 2, 4, ..., 16: eight shards.
        let stepped = [
            ("SLURM_ARRAY_TASK_ID", "6"),
            ("SLURM_ARRAY_TASK_MIN", "2"),
            ("SLURM_ARRAY_TASK_STEP", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "8"),
        ];
        assert_eq!(shard(&stepped, None).unwrap(), Shard { index: 2, count: 8 });
        let k8s = [("JOB_COMPLETION_INDEX", "3"), ("GOSSIP_SHARD_COUNT", "4")];
        assert_eq!(shard(&k8s, None).unwrap(), Shard { index: 3, count: 4 });
        assert_eq!(
            shard(&k8s, Some(10)).unwrap(),
            Shard {
                index: 3,
                count: 10
            }
        );
        for (vars, count, wanted) in [
            (&[][..], None, "neither SLURM_ARRAY_TASK_ID"),
            (
                &[("SLURM_ARRAY_TASK_ID", "x")][..],
                None,
                "SLURM_ARRAY_TASK_ID=x is not",
            ),
            (
                &[
                    ("SLURM_ARRAY_TASK_ID", "8"),
                    ("SLURM_ARRAY_TASK_COUNT", "8"),
                ][..],
                None,
                "gives shard 8, not below the shard count 8",
            ),
            (
                &[("SLURM_ARRAY_TASK_ID", "9")][..],
                Some(8),
                "gives shard 9",
            ),
            (
                &[("JOB_COMPLETION_INDEX", "1")][..],
                None,
                "set GOSSIP_SHARD_COUNT",
            ),
            (
                &[("JOB_COMPLETION_INDEX", "4"), ("GOSSIP_SHARD_COUNT", "4")][..],
                None,
                "not below the shard count 4",
            ),
        ] {
            let message = shard(vars, count).unwrap_err().to_string();
            assert!(message.contains(wanted), "{message}");
        }
    }

    #[test]
    fn the_first_difference_names_file_and_line() {
        let one = tempfile::tempdir().unwrap();
        let many = tempfile::tempdir().unwrap();
        std::fs::write(one.path().join("runs.csv"), "h\na\nb\n").unwrap();
        std::fs::write(many.path().join("runs.csv"), "h\na\nc\n").unwrap();
        let difference = first_difference(one.path(), many.path()).unwrap().unwrap();
        assert_eq!(
            difference,
            Difference {
                file: "runs.csv".into(),
                line: 3,
                one: "b".into(),
                many: "c".into()
            }
        );
        assert!(
            difference
                .to_string()
                .starts_with("runs.csv differs first at line 3:")
        );
        std::fs::write(many.path().join("runs.csv"), "h\na\nb\n").unwrap();
        assert_eq!(first_difference(one.path(), many.path()).unwrap(), None);
        std::fs::write(many.path().join("extra.csv"), "").unwrap();
        let difference = first_difference(one.path(), many.path()).unwrap().unwrap();
        assert_eq!(difference.file, "extra.csv");
    }
}
