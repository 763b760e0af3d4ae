//! Every bad input through the real binary: exit code 2, one `error: ` line on stderr that names
//! the key or flag and the bad value (and line:column when the TOML itself is malformed), and
//! nothing written: not the output folder, not a temporary file, nothing anywhere.
//!
//! One row per case, one case a line, so the table reads as a table. Each scenario row runs
//! through both `run` and `check` unless it says otherwise.

use std::path::{Path, PathBuf};

use crate::support::{Snapshot, gossip_sim};

/// Which commands a row runs.
#[derive(Clone, Copy, PartialEq)]
enum Cmd {
    Both,
    Run,
    Check,
}

/// The scenario file a row gives the binary.
enum File {
    /// `s.toml` with this text.
    Text(String),
    /// `s.toml` with these bytes (not UTF-8).
    Bytes(&'static [u8]),
    /// No file at all.
    Missing,
    /// `s.toml` is a directory.
    Directory,
    /// A device file instead of `s.toml`.
    Device(&'static str),
    /// `s.toml` is a named pipe that nothing writes to (it blocked `check` forever).
    Fifo,
}

/// The output folder `run` gets (`--out`).
enum Out {
    /// `out/` in the temporary directory, not yet there.
    Fresh,
    /// A path under a regular file: cannot be created.
    UnderFile,
    /// A regular file.
    IsFile,
    /// A folder where nobody, not even root, may create a file.
    Proc,
    /// A folder holding another scenario's complete results.
    Foreign,
    /// A folder holding a `runs.csv` that gossip-sim did not write.
    AlienCsv,
    /// A folder with a folder named `tables.csv`.
    FolderInTheWay,
    /// A folder with a user's own result-named files and no run.toml.
    UserFiles,
    /// A folder of gossip-sim's own with the results of the same scenario on 20 nodes.
    OtherScenario,
}

struct Row {
    cmd: Cmd,
    file: File,
    args: Vec<&'static str>,
    out: Out,
    /// Fragments the message must contain; `{out}` stands for the output folder's path.
    wanted: Vec<&'static str>,
}

fn row(cmd: Cmd, file: File, args: &[&'static str], out: Out, wanted: &[&'static str]) -> Row {
    Row {
        cmd,
        file,
        args: args.to_vec(),
        out,
        wanted: wanted.to_vec(),
    }
}

/// A valid scenario of 10 nodes and 50 rounds, line by line, so that rows can name lines.
///
/// ```text
///  1 name = "bad"
///  2 nodes = 10
///  3 max_rounds = 50
///  4 [protocol]
///  5 kind = "push-pull"
///  6 [[updates]]
///  7 product = "P1"
///  8 price = 1.5
///  9 origin = 0
/// ```
const BASE: &str = "name = \"bad\"\nnodes = 10\nmax_rounds = 50\n[protocol]\nkind = \"push-pull\"\n[[updates]]\nproduct = \"P1\"\nprice = 1.5\norigin = 0\n";

/// BASE with `line` replaced by `text` (1-based).
fn replace(line: usize, text: &str) -> File {
    let mut lines: Vec<&str> = BASE.lines().collect();
    lines[line - 1] = text;
    File::Text(lines.join("\n") + "\n")
}

/// BASE followed by `tail`.
fn tail(tail: &str) -> File {
    File::Text(format!("{BASE}{tail}\n"))
}

fn base() -> File {
    File::Text(BASE.to_owned())
}

/// A scenario that passes validation whose single trial needs about 25 MiB: the memory guard
/// refuses it at `--max-memory-mb 1` before anything is simulated.
fn big() -> File {
    replace(2, "nodes = 10000000")
}

#[rustfmt::skip]
fn rows() -> Vec<Row> {
    use Cmd::*;
    use Out::*;
    let latency = |table: &str| tail(&format!("[network]\nlatency = {table}"));
    let crash = |lines: &str| tail(&format!("[[crashes]]\n{lines}"));
    vec![
        // TOML syntax: the position of the error.
        row(Both, replace(2, "nodes = = 10"), &[], Fresh, &["s.toml:2:9: invalid TOML"]),
        row(Both, replace(1, "name = \"bad"), &[], Fresh, &["s.toml:1:", "invalid TOML"]),
        row(Both, replace(4, "[protocol"), &[], Fresh, &["s.toml:4:", "invalid TOML"]),
        row(Both, replace(3, "max_rounds = 50\nnodes = 11"), &[], Fresh, &["s.toml:4:1: duplicate key `nodes` (first written at line 2, column 1)"]),
        row(Both, tail("[protocol]\nfanout = 2"), &[], Fresh, &["s.toml:10:2: duplicate table `[protocol]` (first written at line 4, column 2)"]),
        row(Both, replace(8, "price = 1.5.5"), &[], Fresh, &["s.toml:8:", "invalid TOML"]),
        row(Both, replace(3, "max_rounds = 50\r# a lone carriage return"), &[], Fresh, &["s.toml:3:", "invalid TOML", "carriage return"]),
        row(Both, File::Bytes(b"name = \"\xff\"\n"), &[], Fresh, &["cannot read s.toml: not UTF-8 text: invalid byte at line 1, column 9"]),
        // Unknown keys, with their table and position.
        row(Both, replace(2, "nodez = 10"), &[], Fresh, &["s.toml:2:1: ", "unknown key `nodez` at top level"]),
        row(Both, tail("[protocol.extra]"), &[], Fresh, &["unknown key `extra` in [protocol]"]),
        row(Both, replace(5, "kind = \"push-pull\"\nfanot = 2"), &[], Fresh, &["s.toml:6:1: ", "unknown key `fanot` in [protocol]"]),
        row(Both, tail("[netwrok]\nloss = 0.1"), &[], Fresh, &["unknown key `netwrok` at top level"]),
        row(Both, crash("at_round = 1\nfracton = 0.5"), &[], Fresh, &["unknown key `fracton` in crashes[0]"]),
        row(Both, latency("{ dist = \"constant\", mss = 5 }"), &[], Fresh, &["unknown key `mss` in [network.latency]"]),
        // Wrong types.
        row(Both, replace(2, "nodes = \"10\""), &[], Fresh, &["s.toml:2:9: ", "nodes = \"10\": expected an integer"]),
        row(Both, replace(2, "nodes = 1e3"), &[], Fresh, &["nodes = 1e3: expected an integer"]),
        row(Both, replace(5, "kind = \"push-pull\"\nfanout = 1.5"), &[], Fresh, &["protocol.fanout = 1.5: expected an integer"]),
        row(Both, replace(5, "kind = 3"), &[], Fresh, &["protocol.kind = 3: expected a string"]),
        row(Both, tail("[network]\nloss = \"high\""), &[], Fresh, &["network.loss = \"high\": expected a number"]),
        row(Both, tail("[output]\ncoverage = \"yes\""), &[], Fresh, &["output.coverage = \"yes\": expected true or false"]),
        row(Both, crash("at_round = 1\nnodes = 3"), &[], Fresh, &["crashes[0].nodes = 3: expected an array"]),
        row(Both, File::Text("name = \"bad\"\nnodes = 10\nprotocol = 5\n".into()), &[], Fresh, &["s.toml:3:12: ", "protocol = 5: expected a table"]),
        row(Both, latency("\"fast\""), &[], Fresh, &["network.latency = \"fast\": expected a table"]),
        // Probabilities outside [0, 1].
        row(Both, tail("[network]\nloss = 1.5"), &[], Fresh, &["s.toml:11:8: ", "network.loss = 1.5: must be a probability in [0, 1]"]),
        row(Both, tail("[network]\nloss = -0.1"), &[], Fresh, &["network.loss = -0.1: must be a probability"]),
        row(Both, tail("[network]\nloss = nan"), &[], Fresh, &["network.loss = nan: must be a probability"]),
        row(Both, tail("[network]\nmax_message_bytes = 55"), &[], Fresh, &["s.toml:11:21: ", "network.max_message_bytes = 55: must be at least 56: a header (32 bytes) and one entry (24 bytes"]),
        row(Both, tail("[network]\nbudget_bytes_per_period = -1"), &[], Fresh, &["network.budget_bytes_per_period = -1: must be at least 56"]),
        row(Both, tail("[network]\nmax_message_bytes = 100\n[sizes]\nheader = 90"), &[], Fresh, &["network.max_message_bytes = 100: must be at least 114: a header (90 bytes)"]),
        row(Both, tail("[network]\nmax_message_bytes = \"1400\""), &[], Fresh, &["network.max_message_bytes = \"1400\": expected"]),
        row(Both, replace(5, "kind = \"push-pull\"\npriority = \"newest\""), &[], Fresh, &["s.toml:6:", "protocol.priority = \"newest\": only applies under network.max_message_bytes or network.budget_bytes_per_period"]),
        row(Both, replace(5, "kind = \"push-pull\"\nexchange = \"full-table\"\n[network]\nmax_message_bytes = 1400"), &[], Fresh, &["protocol.exchange = \"full-table\": cannot run under network.max_message_bytes"]),
        row(Both, replace(5, "kind = \"push\"\npriority = \"oldest\"\n[network]\nmax_message_bytes = 1400"), &[], Fresh, &["protocol.priority", "oldest"]),
        row(Both, tail("[churn]\ncrash_rate = 2\nmean_downtime_rounds = 1"), &[], Fresh, &["churn.crash_rate = 2.0: must be a probability"]),
        row(Both, tail("[churn]\ncrash_rate = 0.1\nmean_downtime_rounds = 1\nrejoin = \"fresh\""), &[], Fresh, &["churn.rejoin = \"fresh\": must be one of \"own-table\", \"snapshot\""]),
        // Node counts.
        row(Both, replace(2, "nodes = 0"), &[], Fresh, &["s.toml:2:9: ", "nodes = 0: must be between 2 and 100000000"]),
        row(Both, replace(2, "nodes = 1"), &[], Fresh, &["nodes = 1: must be between 2"]),
        row(Both, replace(2, "nodes = -5"), &[], Fresh, &["nodes = -5: must be between 2"]),
        row(Both, replace(2, "nodes = 100000001"), &[], Fresh, &["nodes = 100000001: must be between 2 and 100000000"]),
        row(Both, replace(2, "nodes = 99999999999999999999"), &[], Fresh, &["nodes = 99999999999999999999: out of range"]),
        row(Run, big(), &["--max-memory-mb", "1"], Fresh, &["memory guard: ", "--max-memory-mb (1 MiB)"]),
        row(Run, big(), &["--max-memory-mb", "1", "--jobs", "4", "--trials", "8"], Fresh, &["memory guard: 4 worker(s)", "(1 MiB)"]),
        row(Run, tail("[workload]\nproducts = 10000000"), &["--max-memory-mb", "100"], Fresh, &["memory guard: ", "+ 1373.3 MiB for the product catalog", "(100 MiB)"]),
        // Fanout.
        row(Both, replace(5, "kind = \"push-pull\"\nfanout = 10"), &[], Fresh, &["protocol.fanout = 10: must be at least 1 and less than nodes (10)"]),
        row(Both, replace(5, "kind = \"push\"\nfanout = 0"), &[], Fresh, &["protocol.fanout = 0: must be at least 1"]),
        row(Both, base(), &["--set", "nodes=3", "--set", "protocol.fanout=3"], Fresh, &["protocol.fanout = 3: must be at least 1 and less than nodes (3)"]),
        // Nodes that do not exist.
        row(Both, replace(9, "origin = 10"), &[], Fresh, &["s.toml:9:10: ", "updates[0].origin = 10: is not a node id"]),
        row(Both, replace(9, "origin = -1"), &[], Fresh, &["updates[0].origin = -1: is not a node id"]),
        row(Both, crash("at_round = 1\nnodes = [3, 10]"), &[], Fresh, &["crashes[0].nodes[1] = 10: is not a node id"]),
        row(Both, crash("at_round = 1\nnodes = [2, 2]"), &[], Fresh, &["crashes[0].nodes = [2, 2]: lists node 2 more than once"]),
        row(Both, replace(9, "origin = 7"), &["--set", "nodes=5"], Fresh, &["s.toml:9:10: ", "updates[0].origin = 7: is not a node id"]),
        // Happenings after the end of the run.
        row(Both, tail("at_round = 50"), &[], Fresh, &["updates[0].at_round = 50: must be less than max_rounds (50)"]),
        row(Both, tail("at_ms = 50000"), &[], Fresh, &["updates[0].at_ms = 50000: must be before the end of the run at 50000 ms"]),
        row(Both, crash("at_round = 60\nfraction = 0.5"), &[], Fresh, &["crashes[0].at_round = 60: must be less than max_rounds (50)"]),
        row(Both, tail("[workload]\nupdates = 5\nstart_round = 50"), &[], Fresh, &["workload.start_round = 50: must be less than max_rounds"]),
        row(Both, tail("at_round = -1"), &[], Fresh, &["updates[0].at_round = -1: must not be negative"]),
        // Latency ranges: negative, inverted, zero mean.
        row(Both, latency("{ dist = \"uniform\", min_ms = -5, max_ms = 5 }"), &[], Fresh, &["network.latency.min_ms = -5.0: must be a finite number >= 0"]),
        row(Both, latency("{ dist = \"uniform\", min_ms = 80, max_ms = 5 }"), &[], Fresh, &["network.latency.min_ms = 80.0: must not exceed max_ms (5.0)"]),
        row(Both, latency("{ dist = \"constant\", ms = -1 }"), &[], Fresh, &["network.latency.ms = -1.0: must be a finite number >= 0"]),
        row(Both, latency("{ dist = \"exponential\", mean_ms = 0 }"), &[], Fresh, &["network.latency.mean_ms = 0.0: must be a finite number > 0"]),
        row(Both, latency("{ dist = \"log-normal\", median_ms = 5, sigma = inf }"), &[], Fresh, &["network.latency.sigma = inf: must be a finite number"]),
        row(Both, latency("{ dist = \"pareto\" }"), &[], Fresh, &["network.latency.dist = \"pareto\": must be one of"]),
        // Crash fractions.
        row(Both, crash("at_round = 1\nfraction = 1.5"), &[], Fresh, &["crashes[0].fraction = 1.5: must be a probability in [0, 1]"]),
        row(Both, crash("at_round = 1\nfraction = -0.5"), &[], Fresh, &["crashes[0].fraction = -0.5: must be a probability"]),
        row(Both, crash("at_round = 1\nfraction = 0.5\nnodes = [1]"), &[], Fresh, &["crashes[0].nodes = [1]: conflicts with crashes[0].fraction = 0.5"]),
        // --set and the flags that are --set in disguise.
        row(Both, base(), &["--set", "protocl.fanout=3"], Fresh, &["s.toml: --set protocl.fanout=3: unknown key `protocl` at top level"]),
        row(Both, base(), &["--set", "protocol.fanot=3"], Fresh, &["--set protocol.fanot=3: unknown key `fanot` in [protocol]"]),
        row(Both, base(), &["--set", "protocol.fanout=three"], Fresh, &["--set protocol.fanout=three: protocol.fanout = \"three\": expected an integer"]),
        row(Both, base(), &["--set", "network.loss=1e999"], Fresh, &["--set network.loss=1e999: ", "network.loss"]),
        row(Both, base(), &["--set", "nodes.x=3"], Fresh, &["--set nodes.x=3: `nodes` is an integer, not a table"]),
        row(Both, base(), &["--set", "fanout"], Fresh, &["invalid value 'fanout' for '--set <KEY=VALUE>'"]),
        row(Both, base(), &["--set", "=3"], Fresh, &["invalid value '=3' for '--set <KEY=VALUE>'"]),
        row(Run, base(), &["--seed", "abc"], Fresh, &["seed = \"abc\": expected an integer"]),
        row(Run, base(), &["--seed", "-1"], Fresh, &["seed = -1: out of range"]),
        row(Run, base(), &["--trials", "0"], Fresh, &["trials = 0: must be between 1 and 1000000"]),
        row(Run, base(), &["--trials", "-3"], Fresh, &["trials = -3: must be between 1"]),
        row(Run, base(), &["--jobs", "0"], Fresh, &["invalid value '0' for '--jobs <N>'"]),
        row(Run, base(), &["--jobs", "many"], Fresh, &["invalid value 'many' for '--jobs <N>'"]),
        row(Run, base(), &["--max-memory-mb", "-5"], Fresh, &["invalid value '-5' for '--max-memory-mb <N>'"]),
        row(Run, base(), &["--max-memory-mb", "1", "--no-memory-guard"], Fresh, &["'--max-memory-mb <N>' cannot be used with '--no-memory-guard'"]),
        row(Run, base(), &["--frobnicate"], Fresh, &["unexpected argument '--frobnicate'"]),
        // The scenario file itself.
        row(Both, File::Missing, &[], Fresh, &["cannot read s.toml: No such file or directory"]),
        row(Both, File::Directory, &[], Fresh, &["cannot read s.toml"]),
        row(Both, File::Device("/dev/zero"), &[], Fresh, &["cannot read /dev/zero: larger than 16 MiB"]),
        row(Both, File::Device("/dev/urandom"), &[], Fresh, &["cannot read /dev/urandom: larger than 16 MiB"]),
        row(Both, File::Text(String::new()), &[], Fresh, &["s.toml: missing required key `name`"]),
        row(Both, File::Fifo, &[], Fresh, &["cannot read s.toml: a named pipe that nothing writes to"]),
        row(Both, File::Text("name = \"bad\"\nnodes = 10\n[protocol]\nkind = \"push\"\n".into()), &[], Fresh, &["s.toml: no price updates"]),
        // The output folder.
        row(Run, base(), &[], UnderFile, &["cannot create output folder {out}"]),
        row(Run, base(), &[], IsFile, &["cannot create output folder {out}"]),
        // With --force: without it, the folder is refused as not gossip-sim's before its
        // writability is tried (no lock file goes into a foreign folder).
        row(Run, base(), &["--force"], Proc, &["output folder {out} is not writable"]),
        row(Run, base(), &[], Proc, &["output folder {out} holds files gossip-sim did not write"]),
        row(Run, base(), &[], Foreign, &["output folder {out} holds files gossip-sim did not write (runs.csv; updates.csv) and no gossip-sim run.toml", "--force"]),
        row(Run, base(), &[], AlienCsv, &["output folder {out} holds files gossip-sim did not write (runs.csv)", "--force"]),
        row(Run, base(), &["--set", "output.tables=true"], FolderInTheWay, &["cannot write {out}/tables.csv: it is not a regular file"]),
        row(Check, base(), &["--out", "x"], Fresh, &["unexpected argument '--out'"]),
        // Issue 12, class 2: files gossip-sim did not write, and names that leave the folder.
        row(Run, base(), &[], UserFiles, &["output folder {out} holds files gossip-sim did not write (coverage.csv; regions.csv; summary.csv; tables.csv; and 1 more)", "--force"]),
        row(Run, base(), &[], OtherScenario, &["output folder {out} holds results of another scenario (nodes: 20 there, 10 here)", "--force"]),
        row(Both, replace(1, "name = \"..\""), &[], Fresh, &["s.toml:1:8: ", "name = \"..\": may only contain", "must start with a letter"]),
        row(Both, replace(1, "name = \".\""), &[], Fresh, &["name = \".\": may only contain"]),
        row(Both, base(), &["--set", "name=.."], Fresh, &["--set name=..: name = \"..\": may only contain"]),
        row(Both, replace(1, "name = \"-rf\""), &[], Fresh, &["name = \"-rf\": may only contain"]),
        row(Run, base(), &["--out", "/"], Fresh, &["output folder / holds files gossip-sim did not write (", "--force"]),
        // Issue 12, class 4: strings that would become formulas or terminal escapes.
        row(Both, replace(7, "product = \"=HYPERLINK(1)\""), &[], Fresh, &["updates[0].product = \"=HYPERLINK(1)\": must not start with '=', '+', '-' or '@'"]),
        row(Both, replace(7, "product = \"+1+cmd|x\""), &[], Fresh, &["updates[0].product = \"+1+cmd|x\": must not start with"]),
        row(Both, replace(7, "product = \"@SUM(1)\""), &[], Fresh, &["updates[0].product = \"@SUM(1)\": must not start with"]),
        row(Both, replace(7, "product = \"-1\""), &[], Fresh, &["updates[0].product = \"-1\": must not start with"]),
        row(Both, replace(7, "product = \"a\\u0001b\""), &[], Fresh, &["updates[0].product = \"a\\u0001b\": must not contain control characters"]),
        row(Both, replace(7, "product = \"\\u001b[31mred\""), &[], Fresh, &["updates[0].product = \"\\u001B[31mred\": must not contain control characters"]),
        row(Both, replace(7, "product = \"a\\tb\""), &[], Fresh, &["must not contain control characters"]),
        row(Both, replace(7, "product = \"a\\rb\""), &[], Fresh, &["must not contain control characters"]),
        // Issue 12, class 5.
        row(Run, base(), &["--max-memory-mb", "0"], Fresh, &["invalid value '0' for '--max-memory-mb <N>': must be at least 1", "--no-memory-guard"]),
        // A duplicate names the key (the TOML reader said only "duplicate key"), where it is
        // and where it was first written.
        row(Both, replace(5, "kind = \"push-pull\"\nfanout = 1\nfanout = 2"), &[], Fresh, &["s.toml:7:1: duplicate key `protocol.fanout` (first written at line 6, column 1)"]),
        row(Both, latency("{ dist = \"constant\", ms = 1, ms = 2 }"), &[], Fresh, &["s.toml:11:40: duplicate key `network.latency.ms` (first written at line 11, column 32)"]),
        row(Both, tail("[[updates]]\nproduct = \"P2\"\nproduct = \"P3\""), &[], Fresh, &["s.toml:12:1: duplicate key `updates[1].product` (first written at line 11, column 1)"]),
        row(Both, tail("[network]\nloss = 0.1\n[network]"), &[], Fresh, &["s.toml:12:2: duplicate table `[network]` (first written at line 10, column 2)"]),
        row(Both, tail("[sweep]\nnodes = [10]\n\"nodes\" = [20]"), &[], Fresh, &["s.toml:12:1: duplicate key `sweep.nodes` (first written at line 11, column 1)"]),
        row(Both, base(), &["--set", "network={ loss = 0.1, loss = 0.2 }"], Fresh, &["s.toml: --set network={ loss = 0.1, loss = 0.2 }: duplicate key `network.loss` in the value"]),
        // Nesting past the TOML reader's recursion limit, with the place.
        row(Both, tail(&format!("{} = 1", vec!["a"; 100].join("."))), &[], Fresh, &["s.toml:10:1: invalid TOML: a dotted key of 100 parts is nested too deeply"]),
        row(Both, tail(&format!("[{}]", vec!["a"; 100].join("."))), &[], Fresh, &["s.toml:10:2: invalid TOML: a dotted key of 100 parts is nested too deeply"]),
        row(Both, tail(&format!("x = {}{}", "[".repeat(1000), "]".repeat(1000))), &[], Fresh, &["s.toml:10:", "invalid TOML: cannot recurse further"]),
        row(Both, tail(&format!("x = {}1{}", "{ a = ".repeat(1000), " }".repeat(1000))), &[], Fresh, &["s.toml:10:", "invalid TOML: cannot recurse further"]),
        // Churn that would start after the run is over (a stop after the end only warns: see
        // values_that_have_no_effect_warn).
        row(Both, tail("[churn]\ncrash_rate = 0.1\nmean_downtime_rounds = 1\nstart_round = 60\nstop_round = 70"), &[], Fresh, &["s.toml:13:15: churn.start_round = 60: must be less than max_rounds (50)"]),
        row(Both, tail("[churn]\ncrash_rate = 0.1\nmean_downtime_rounds = 1\nstart_ms = 50000"), &[], Fresh, &["churn.start_ms = 50000: must be before the end of the run at 50000 ms"]),
    ]
}

/// Runs every row; collects every failure so that one run shows all of them.
#[test]
fn every_bad_input_exits_2_with_one_line_naming_it_and_writes_nothing() {
    let rows = rows();
    assert!(rows.len() >= 40, "{} rows", rows.len());
    let mut failures = Vec::new();
    let mut runs = 0;
    for (i, row) in rows.iter().enumerate() {
        for (cmd, name) in [(Cmd::Run, "run"), (Cmd::Check, "check")] {
            if row.cmd == cmd || row.cmd == Cmd::Both {
                runs += 1;
                if let Err(failure) = check_row(row, name) {
                    failures.push(format!("row {i} ({name} {:?}): {failure}", row.args));
                }
            }
        }
    }
    eprintln!("{runs} runs of the binary over {} rows", rows.len());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn check_row(row: &Row, command: &str) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let scenario = root.join("s.toml");
    match &row.file {
        File::Text(text) => std::fs::write(&scenario, text).unwrap(),
        File::Bytes(bytes) => std::fs::write(&scenario, bytes).unwrap(),
        File::Missing => {}
        File::Directory => std::fs::create_dir(&scenario).unwrap(),
        File::Device(_) => {}
        File::Fifo => {
            let path = std::ffi::CString::new(scenario.to_str().unwrap()).unwrap();
            // SAFETY: mkfifo with a valid C string.
            assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o644) }, 0);
        }
    }
    let scenario_arg = match &row.file {
        File::Device(path) => *path,
        _ => "s.toml",
    };
    let out = output_folder(&row.out, root);
    let before = Snapshot::of(root);

    let mut cmd = gossip_sim();
    cmd.current_dir(root)
        .arg(command)
        .arg(scenario_arg)
        .args(&row.args);
    if command == "run" && !row.args.contains(&"--out") {
        cmd.arg("--out").arg(&out).arg("--quiet");
    }
    let output = cmd
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);

    let mut problems = Vec::new();
    if output.status.code() != Some(2) {
        problems.push(format!("exit code {:?}, not 2", output.status.code()));
    }
    if !stderr.starts_with("error: ") || !stderr.ends_with('\n') || stderr.lines().count() != 1 {
        problems.push("stderr is not one line starting with `error: `".to_owned());
    }
    if !output.stdout.is_empty() {
        problems.push(format!(
            "stdout is not empty: {:?}",
            String::from_utf8_lossy(&output.stdout)
        ));
    }
    for wanted in &row.wanted {
        let wanted = wanted.replace("{out}", &out.display().to_string());
        if !stderr.contains(&wanted) {
            problems.push(format!("the message lacks {wanted:?}"));
        }
    }
    let after = Snapshot::of(root);
    if after != before {
        problems.push(format!("files changed: {}", before.diff(&after)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n    stderr: {stderr:?}", problems.join("; ")))
    }
}

/// Sets up the output folder of a row under `root` and returns its path.
fn output_folder(out: &Out, root: &Path) -> PathBuf {
    match out {
        Out::Fresh => root.join("out"),
        Out::UnderFile => {
            std::fs::write(root.join("file"), "not a folder\n").unwrap();
            root.join("file").join("out")
        }
        Out::IsFile => {
            std::fs::write(root.join("out"), "not a folder\n").unwrap();
            root.join("out")
        }
        // Creating a file in /proc fails even for root, which CI runs as.
        Out::Proc => PathBuf::from("/proc/self"),
        Out::Foreign => {
            let out = root.join("out");
            std::fs::create_dir(&out).unwrap();
            let header = crate::support::RUNS_HEADER;
            let zeros = ",0".repeat(header.split(',').count() - 3);
            let runs = format!("{header}\nother,0,1{zeros}\n");
            std::fs::write(out.join("runs.csv"), runs).unwrap();
            std::fs::write(out.join("updates.csv"), "kept as it was\n").unwrap();
            out
        }
        Out::FolderInTheWay => {
            let out = root.join("out");
            std::fs::create_dir_all(out.join("tables.csv")).unwrap();
            out
        }
        Out::UserFiles => {
            let out = root.join("out");
            std::fs::create_dir(&out).unwrap();
            for name in [
                "updates.csv",
                "coverage.csv",
                "summary.csv",
                "tables.csv",
                "regions.csv",
            ] {
                std::fs::write(out.join(name), "mine\n").unwrap();
            }
            out
        }
        Out::OtherScenario => {
            let out = root.join("out");
            let scenario = root.join("other.toml");
            std::fs::write(&scenario, BASE).unwrap();
            crate::support::gossip_sim()
                .args([
                    "run",
                    "other.toml",
                    "--quiet",
                    "--set",
                    "nodes=20",
                    "--out",
                    "out",
                ])
                .current_dir(root)
                .assert()
                .success();
            out
        }
        Out::AlienCsv => {
            let out = root.join("out");
            std::fs::create_dir(&out).unwrap();
            std::fs::write(out.join("runs.csv"), "when,what\n1,2\n").unwrap();
            out
        }
    }
}

/// As root, permissions do not stop a write, so this only runs for other users.
#[test]
fn a_read_only_output_folder_is_refused_when_permissions_apply() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("read-only");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(out.join("probe"), "").is_ok() {
        eprintln!("skipped: permissions do not apply to this user (root)");
        return;
    }
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, BASE).unwrap();
    let output = gossip_sim()
        .arg("run")
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: output folder {} is not writable",
            out.display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}

/// What `gossip-sim` prints and records for a scenario: exit code, stdout, stderr, and the
/// `warnings` of `run.toml` after `run --quiet` (each run in a fresh folder).
struct Told {
    check_code: Option<i32>,
    check_stdout: String,
    check_stderr: String,
    quiet_stderr: String,
    run_stderr: String,
    recorded: Vec<String>,
}

fn told(text: &str, args: &[&str]) -> Told {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("s.toml"), text).unwrap();
    let check = |quiet: bool| {
        let mut cmd = gossip_sim();
        cmd.current_dir(root).arg("check").arg("s.toml").args(args);
        if quiet {
            cmd.arg("--quiet");
        }
        cmd.output().unwrap()
    };
    let (loud, quiet) = (check(false), check(true));
    assert!(quiet.stdout.is_empty());
    let run = gossip_sim()
        .current_dir(root)
        .args(["run", "s.toml", "--quiet", "--out", "out"])
        .args(args)
        .output()
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let manifest: toml::Table = std::fs::read_to_string(root.join("out/run.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let recorded = manifest["warnings"]
        .as_array()
        .expect("run.toml has a warnings list")
        .iter()
        .map(|warning| warning.as_str().unwrap().to_owned())
        .collect();
    Told {
        check_code: loud.status.code(),
        check_stdout: text(&loud.stdout),
        check_stderr: text(&loud.stderr),
        quiet_stderr: text(&quiet.stderr),
        run_stderr: text(&run.stderr),
        recorded,
    }
}

/// The scenario, its flags, and the warning's place and message (`None`: no warning).
type WarnCase<'a> = (String, Vec<&'a str>, Option<(&'a str, &'a str)>);

/// Issue 12, class 5: values that are valid but have no effect are not accepted silently. They
/// are warnings, not errors, because a shipped scenario (push-pull-1k-loss.toml) and the
/// determinism test run one file in both timings; see the README, "Errors and exit codes".
/// Each case: the scenario, the flags, and the whole warning (without the `s.toml:L:C: ` place
/// for run.toml), or `None` for no warning at all.
#[rustfmt::skip]
#[test]
fn values_that_have_no_effect_warn() {
    let latency = "[network]\nlatency = { dist = \"uniform\", min_ms = 5, max_ms = 80 }";
    let churn = |stop: &str| format!("[churn]\ncrash_rate = 0.1\nmean_downtime_rounds = 1\n{stop}");
    let latency_warning = "network.latency = { dist = \"uniform\", min_ms = 5, max_ms = 80 }: has no effect in rounds timing, where a message arrives within the round it is sent (it applies with protocol.timing = \"async\")";
    let sweep_warning = format!("{latency_warning} (sweep points 0, 2)");
    let cases: Vec<WarnCase> = vec![
        (format!("{BASE}{latency}\n"), vec![], Some(("s.toml:11:11: ", latency_warning))),
        (format!("{BASE}{latency}\n"), vec!["--set", "protocol.timing=async"], None),
        // The default latency is what `check` prints back for every scenario: no warning.
        (format!("{BASE}[network]\nlatency = {{ dist = \"constant\", ms = 50 }}\n"), vec![], None),
        (BASE.to_owned(), vec!["--set", "network.latency={ dist = \"exponential\", mean_ms = 9 }"], Some(("s.toml: --set network.latency={ dist = \"exponential\", mean_ms = 9 }: ", "network.latency = { dist = \"exponential\", mean_ms = 9 }: has no effect in rounds timing, where a message arrives within the round it is sent (it applies with protocol.timing = \"async\")"))),
        (format!("{BASE}{}\n", churn("stop_round = 60")), vec![], Some(("s.toml:13:14: ", "churn.stop_round = 60: is after the end of the run (max_rounds = 50); churn lasts until the end"))),
        (format!("{BASE}{}\n", churn("stop_ms = 50001")), vec![], Some(("s.toml:13:11: ", "churn.stop_ms = 50001: is after the end of the run at 50000 ms (max_rounds 50 x period_ms 1000); churn lasts until the end"))),
        (format!("{BASE}{}\n", churn("stop_round = 50")), vec![], None),
        (format!("{BASE}{}\n", churn("stop_round = 60")), vec!["--set", "max_rounds=60"], None),
        // In a sweep: once, naming the points it applies to.
        (format!("{BASE}{latency}\n[sweep]\n\"protocol.timing\" = [\"rounds\", \"async\", \"rounds\"]\n"), vec![], Some(("s.toml:11:11: ", &sweep_warning))),
    ];
    let mut failures = Vec::new();
    for (i, (text, args, wanted)) in cases.iter().enumerate() {
        let told = told(text, args);
        let (stderr, recorded) = match wanted {
            Some((place, message)) => (format!("warning: {place}{message}\n"), vec![message.to_string()]),
            None => (String::new(), vec![]),
        };
        let mut problems = Vec::new();
        if told.check_code != Some(0) || !told.check_stdout.contains("name = \"bad\"\n") {
            problems.push(format!("check exit {:?}, stdout {:?}", told.check_code, told.check_stdout));
        }
        for (what, found) in [("check", &told.check_stderr), ("check --quiet", &told.quiet_stderr), ("run --quiet", &told.run_stderr)] {
            if *found != stderr {
                problems.push(format!("{what} stderr {found:?}, not {stderr:?}"));
            }
        }
        if told.recorded != recorded {
            problems.push(format!("run.toml warnings {:?}, not {recorded:?}", told.recorded));
        }
        if !problems.is_empty() {
            failures.push(format!("case {i} {args:?}: {}", problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// The shipped scenario that keeps a latency for async runs says, in rounds timing, that it
/// has no effect; in async timing it says nothing.
#[test]
fn the_shipped_scenario_with_latency_in_rounds_timing_warns() {
    let scenario = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/push-pull-1k-loss.toml"
    );
    for (args, warns) in [
        (&[][..], true),
        (&["--set", "protocol.timing=async"][..], false),
    ] {
        let output = gossip_sim()
            .args(["check", scenario, "--quiet"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        if warns {
            assert_eq!(
                stderr,
                format!(
                    "warning: {scenario}:17:11: network.latency = {{ dist = \"uniform\", min_ms = 5, \
                     max_ms = 80 }}: has no effect in rounds timing, where a message arrives within \
                     the round it is sent (it applies with protocol.timing = \"async\")\n"
                )
            );
        } else {
            assert_eq!(stderr, "");
        }
    }
}
