//! The command line: `gossip-sim run` and `gossip-sim check`.
//!
//! Exit codes: 0 on success (and when stdout is closed early, as by `| head`), 2 for bad input
//! (scenario, flags, output folder, memory guard), 1 for an internal failure.

use std::io::{self, IsTerminal as _, Write as _};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::runner::{self, MemoryLimit, RunError, RunOptions};

/// Bad input: the scenario, a flag, the output folder, the machine's limits.
pub const EXIT_INPUT: u8 = 2;
/// A bug in gossip-sim.
pub const EXIT_INTERNAL: u8 = 1;

/// Deterministic simulator of gossip protocols spreading price updates.
#[derive(Debug, Parser)]
#[command(name = "gossip-sim", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every trial of a scenario and write updates.csv, runs.csv (and coverage.csv).
    Run(RunArgs),
    /// Validate a scenario and print it resolved, every default filled in.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// The scenario file (TOML).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,

    /// Override a scenario key, e.g. `--set protocol.fanout=3`; repeatable, the last one wins.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_override)]
    pub overrides: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub scenario: ScenarioArgs,

    /// Output folder [default: results/<scenario name>/].
    #[arg(long, short, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Master seed; same as `--set seed=N`, and wins over it.
    #[arg(long, value_name = "N")]
    pub seed: Option<String>,

    /// Number of trials; same as `--set trials=N`, and wins over it.
    #[arg(long, value_name = "N")]
    pub trials: Option<String>,

    /// Worker threads [default: one per core]. The results do not depend on it.
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,

    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,

    /// Overwrite an output folder that holds another scenario's results.
    #[arg(long)]
    pub force: bool,

    /// Memory the run may plan to use, instead of the machine's available memory.
    #[arg(long, value_name = "N", conflicts_with = "no_memory_guard")]
    pub max_memory_mb: Option<u64>,

    /// Run even if the memory estimate exceeds the available memory.
    #[arg(long)]
    pub no_memory_guard: bool,
}

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

    fn memory_limit(&self) -> MemoryLimit {
        match (self.no_memory_guard, self.max_memory_mb) {
            (true, _) => MemoryLimit::Unlimited,
            (false, Some(mb)) => MemoryLimit::Megabytes(mb),
            (false, None) => MemoryLimit::Available,
        }
    }
}

fn parse_override(text: &str) -> Result<String, String> {
    match text.split_once('=') {
        Some((key, _)) if !key.trim().is_empty() => Ok(text.to_string()),
        _ => Err(format!("expected KEY=VALUE, got `{text}`")),
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Check(args) => check(&args),
        Command::Run(args) => run_scenario(&args),
    }
}

fn check(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let scenario = runner::load(&args.scenario.scenario, &args.scenario.overrides)?;
    // TODO(scenario branch): print with the resolved-TOML `Display` once it lands.
    write!(io::stdout().lock(), "{scenario}")?;
    Ok(ExitCode::SUCCESS)
}

fn run_scenario(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = runner::load(&args.scenario.scenario, &args.overrides())?;
    let out_dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&scenario.name));
    let opts = RunOptions {
        out_dir,
        jobs: args.jobs,
        force: args.force,
        memory_limit: args.memory_limit(),
        progress: !args.quiet && io::stderr().is_terminal(),
    };
    let summary = runner::run_scenario(&scenario, &opts)?;
    write!(io::stdout().lock(), "{summary}")?;
    Ok(ExitCode::SUCCESS)
}

/// The exit code for an error: 2 when the input is at fault, 1 otherwise.
pub fn exit_code(err: &anyhow::Error) -> ExitCode {
    let input = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<RunError>())
        .is_some_and(RunError::is_input_error);
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

    #[test]
    fn input_errors_exit_2_and_internal_ones_1() {
        let input = anyhow::Error::new(RunError::UnrecognisedResults {
            path: PathBuf::from("runs.csv"),
        });
        assert_eq!(exit_code(&input), ExitCode::from(EXIT_INPUT));
        let internal = anyhow::Error::new(RunError::TrialFailed {
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
}
