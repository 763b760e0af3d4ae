//! Output integrity: a real `gossip-sim run`, stopped by SIGKILL, SIGINT or SIGTERM at random
//! moments and at the moments that matter (when the first temporary file appears, when the
//! first final file appears), never leaves a truncated file under a final name. SIGKILL and
//! SIGTERM end the process at once; SIGINT is caught (no new trial starts, exit 130), and lands
//! as well while the files are being written, where the run carries on. Every final
//! CSV either does not exist or is complete: the expected header, the right number of rows,
//! byte for byte the file an uninterrupted run writes. Half the runs start from a folder that
//! holds an earlier complete run (another seed), whose files must then be either the old ones
//! or the new ones, never a mix within a file.
//!
//! `GOSSIP_KILL_SEED` reproduces the random kill times (default: from the clock, printed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng as _, SeedableRng as _};

/// Under a second of simulation on one core and 15 MB of output, mostly tables.csv (30000
/// nodes x 1 product x 8 trials), so that the writing itself takes a while.
const SCENARIO: &str = "name = \"interrupted\"\nnodes = 30000\ntrials = 8\nmax_rounds = 60\n\
    [protocol]\nkind = \"push-pull\"\n[network]\nloss = 0.05\n\
    [workload]\nproducts = 1\nupdates = 40\nper_round = 4.0\n\
    [output]\ncoverage = true\ntables = true\n";

const FILES: [&str; 5] = [
    "updates.csv",
    "runs.csv",
    "coverage.csv",
    "tables.csv",
    "summary.csv",
];

#[derive(Clone, Copy, Debug)]
enum Signal {
    Kill,
    Int,
    Term,
}

#[derive(Clone, Copy, Debug)]
enum When {
    /// After this long.
    After(Duration),
    /// As soon as a result file's temporary shows up in the output folder.
    FirstTemporary,
    /// As soon as a file shows up under a final name.
    FirstFinal,
}

fn start(scenario: &Path, out: &Path, seed: u64) -> Child {
    Command::new(assert_cmd::cargo::cargo_bin("gossip-sim"))
        .arg("run")
        .arg(scenario)
        .args([
            "--quiet",
            "--jobs",
            "1",
            "--seed",
            &seed.to_string(),
            "--out",
        ])
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A result file's temporary (not the folder check's probe).
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".csv.tmp-")
}

/// The files of a complete run, by name.
fn complete_run(scenario: &Path, out: &Path, seed: u64) -> BTreeMap<&'static str, Vec<u8>> {
    let status = start(scenario, out, seed).wait().unwrap();
    assert!(status.success(), "the uninterrupted run failed: {status}");
    let left = names(out);
    assert_eq!(
        left,
        [
            "coverage.csv",
            "run.toml",
            "runs.csv",
            "scenario.resolved.toml",
            "summary.csv",
            "tables.csv",
            "updates.csv"
        ]
    );
    FILES
        .iter()
        .map(|name| (*name, std::fs::read(out.join(name)).unwrap()))
        .collect()
}

/// Header and number of rows of a CSV file.
fn shape(bytes: &[u8]) -> Result<(Vec<String>, usize), String> {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader.headers().map_err(|e| e.to_string())?;
    let header: Vec<String> = header.iter().map(str::to_owned).collect();
    let mut rows = 0;
    for record in reader.records() {
        let record = record.map_err(|e| format!("row {rows}: {e}"))?;
        if record.len() != header.len() {
            return Err(format!("row {rows} has {} fields", record.len()));
        }
        rows += 1;
    }
    Ok((header, rows))
}

/// Sends `signal` to the child and waits for it. Returns false if it had already exited.
fn stop(child: &mut Child, signal: Signal) -> bool {
    if child.try_wait().unwrap().is_some() {
        return false;
    }
    match signal {
        Signal::Kill => child.kill().unwrap(),
        Signal::Int | Signal::Term => {
            let flag = if matches!(signal, Signal::Int) {
                "-INT"
            } else {
                "-TERM"
            };
            let status = Command::new("kill")
                .arg(flag)
                .arg(child.id().to_string())
                .status()
                .unwrap();
            assert!(status.success(), "kill {flag} failed");
        }
    }
    let status = child.wait().unwrap();
    // Exited by itself between the check and the signal: not interrupted after all.
    !status.success()
}

/// Waits until `when` (or until the run ends); returns whether the run is still going.
fn wait_for(child: &mut Child, out: &Path, when: When) -> bool {
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let ready = match when {
            When::After(delay) => started.elapsed() >= delay,
            When::FirstTemporary => names(out).iter().any(|n| is_temporary(n)),
            When::FirstFinal => names(out).iter().any(|n| FILES.contains(&n.as_str())),
        };
        if ready {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn an_interrupted_run_never_leaves_a_truncated_file_under_a_final_name() {
    let seed = std::env::var("GOSSIP_KILL_SEED")
        .ok()
        .map(|s| s.parse().expect("GOSSIP_KILL_SEED is a number"))
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
    eprintln!("GOSSIP_KILL_SEED={seed}");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);

    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("interrupted.toml");
    std::fs::write(&scenario, SCENARIO).unwrap();
    // The old results (seed 1) that half the runs overwrite, and the new ones (seed 2).
    let started = Instant::now();
    let old = complete_run(&scenario, &dir.path().join("old"), 1);
    let full_run = started.elapsed();
    let new = complete_run(&scenario, &dir.path().join("new"), 2);
    let shapes: BTreeMap<&str, _> = new
        .iter()
        .map(|(name, bytes)| (*name, shape(bytes).unwrap()))
        .collect();

    let mut plans = Vec::new();
    for signal in [Signal::Kill, Signal::Int, Signal::Term] {
        let random = Duration::from_secs_f64(rng.random_range(0.0..1.1) * full_run.as_secs_f64());
        for when in [When::After(random), When::FirstTemporary, When::FirstFinal] {
            plans.push((signal, when, rng.random_bool(0.5)));
        }
    }

    // On a loaded machine a run may finish before its signal lands (the output is written in
    // a few milliseconds): such plans are tried again, from the start of the list, until three
    // runs were interrupted or a bound is reached.
    let mut attempts = plans.clone();
    while attempts.len() < 40 {
        attempts.extend(plans.iter().copied());
    }
    let mut report = Vec::new();
    let mut interrupted = 0;
    // A folder where a killed run left temporary files, for the run after it.
    let mut leftovers: Option<PathBuf> = None;
    for (i, (signal, when, over_old)) in attempts.into_iter().enumerate() {
        if i >= plans.len() && interrupted >= 3 {
            break;
        }
        let out: PathBuf = dir.path().join(format!("run-{i}"));
        std::fs::create_dir(&out).unwrap();
        if over_old {
            for (name, bytes) in &old {
                std::fs::write(out.join(name), bytes).unwrap();
            }
        }
        let mut child = start(&scenario, &out, 2);
        let running = wait_for(&mut child, &out, when);
        let killed = running && stop(&mut child, signal);
        if !running {
            child.wait().unwrap();
        }
        interrupted += usize::from(killed);

        let left = names(&out);
        for name in FILES {
            let path = out.join(name);
            let what = format!("run {i} ({signal:?} {when:?}, over old: {over_old}): {name}");
            let Ok(bytes) = std::fs::read(&path) else {
                // Absent is fine in a fresh folder; the old results must not vanish.
                assert!(!over_old, "{what} is gone");
                continue;
            };
            let (header, rows) =
                shape(&bytes).unwrap_or_else(|e| panic!("{what} is not complete CSV: {e}"));
            let is_new = bytes == new[name];
            let is_old = over_old && bytes == old[name];
            assert!(
                is_new || is_old,
                "{what}: {} bytes, {rows} rows, matches neither the old nor the new run",
                bytes.len()
            );
            assert_eq!(header, shapes[name].0, "{what}");
            if is_new {
                assert_eq!(rows, shapes[name].1, "{what}");
            }
        }
        report.push(format!(
            "run {i}: {signal:?} {when:?} over old {over_old}: {} -> {left:?}",
            if killed { "killed" } else { "finished first" },
        ));
        if left.iter().any(|name| is_temporary(name)) && leftovers.is_none() {
            leftovers = Some(out);
        } else {
            std::fs::remove_dir_all(&out).unwrap();
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(
        interrupted >= 3,
        "only {interrupted} runs were interrupted:\n{}",
        report.join("\n")
    );

    // The next run into a folder that a killed run left temporary files in completes it and
    // tidies them away.
    if let Some(out) = leftovers {
        assert!(start(&scenario, &out, 2).wait().unwrap().success());
        assert_eq!(
            names(&out),
            [
                "coverage.csv",
                "run.toml",
                "runs.csv",
                "scenario.resolved.toml",
                "summary.csv",
                "tables.csv",
                "updates.csv"
            ]
        );
        for name in FILES {
            assert!(
                std::fs::read(out.join(name)).unwrap() == new[name],
                "{name}"
            );
        }
    }
}
