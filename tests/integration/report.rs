//! What a researcher reads: the compact sweep lines, the JSON export, completions and the man
//! page, and the charts' index.html rendered by a real browser.

use std::path::Path;
use std::process::Command;

use crate::support::gossip_sim;

const SWEEP: &str = r#"
name = "tiny-sweep"
seed = 7
nodes = 50
trials = 4
max_rounds = 100

[protocol]
kind = "push"
fanout = 1
timing = "rounds"

[[updates]]
product = "P001"
price = 1.0
origin = 0

[sweep]
"protocol.kind" = ["push", "push-pull"]
nodes = [50, 500]
"#;

fn run_sweep(dir: &Path, extra: &[&str]) -> std::process::Output {
    let scenario = dir.join("tiny.toml");
    std::fs::write(&scenario, SWEEP).unwrap();
    gossip_sim()
        .arg("run")
        .arg(&scenario)
        .args(["--out", "out"])
        .args(extra)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn a_sweep_prints_one_line_per_point_within_100_columns() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_sweep(dir.path(), &[]);
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let heading = lines
        .iter()
        .position(|line| line.starts_with("point  kind"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(lines[heading].contains("rounds_to_all"), "{stdout}");
    let points: Vec<&&str> = lines[heading + 1..].iter().take(4).collect();
    assert!(points[0].starts_with("0      push       50"), "{stdout}");
    for line in &points {
        assert!(line.contains(" ± ") && line.ends_with('%'), "{line}");
    }
    for line in &lines {
        assert!(line.chars().count() <= 100, "{line}");
    }
    assert!(
        !stdout.contains("ci95_low"),
        "the full table only with --verbose"
    );
    let verbose = run_sweep(dir.path(), &["--verbose"]);
    assert!(
        String::from_utf8(verbose.stdout)
            .unwrap()
            .contains("ci95_low")
    );
    let quiet = run_sweep(dir.path(), &["--quiet"]);
    assert!(
        quiet.status.success() && quiet.stdout.is_empty(),
        "{quiet:?}"
    );
}

#[test]
fn export_json_holds_every_point_and_statistic() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_sweep(dir.path(), &["--quiet", "--export-json", "summary.json"]);
    assert!(output.status.success(), "{output:?}");
    let text = std::fs::read_to_string(dir.path().join("summary.json")).unwrap();
    assert!(text.contains("\"json_version\": 1"), "{text}");
    assert_eq!(text.matches("\"rounds_to_all\": {").count(), 4, "{text}");
    assert!(text.contains("\"protocol.kind\": \"push-pull\""), "{text}");
    assert!(text.contains("\"ci95_low\": "), "{text}");
    // Deterministic: the same run gives the same bytes.
    run_sweep(dir.path(), &["--quiet", "--export-json", "again.json"]);
    let again = std::fs::read_to_string(dir.path().join("again.json")).unwrap();
    assert_eq!(text, again);
}

#[test]
fn merge_and_check_can_be_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(&scenario, SWEEP).unwrap();
    let check = gossip_sim()
        .arg("check")
        .arg(&scenario)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(
        check.status.success() && check.stdout.is_empty(),
        "{check:?}"
    );
    for shard in ["0/2", "1/2"] {
        let out = gossip_sim()
            .arg("run")
            .arg(&scenario)
            .args(["--shard", shard, "--out", "shards", "--quiet"])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let merged = gossip_sim()
        .args(["merge", "shards", "--out", "merged", "--quiet"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        merged.status.success() && merged.stdout.is_empty(),
        "{merged:?}"
    );
    assert!(dir.path().join("merged/summary.csv").is_file());
}

#[test]
fn check_memory_prints_the_guards_estimate() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("tiny.toml");
    std::fs::write(&scenario, SWEEP).unwrap();
    let output = gossip_sim()
        .arg("check")
        .arg(&scenario)
        .args(["--memory", "--jobs", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.starts_with("memory estimate: "), "{stdout}");
    let bytes: u64 = stdout.split(' ').nth(2).unwrap().parse().unwrap();
    assert!(bytes > 5 << 20 && bytes < 64 << 20, "{stdout}");
    assert!(stdout.contains("1 worker(s)"), "{stdout}");
}

#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let output = gossip_sim().args(["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(
            text.contains("gossip-sim") && text.contains("export-json"),
            "{shell}"
        );
    }
    let man = gossip_sim().arg("man").output().unwrap();
    let page = String::from_utf8(man.stdout).unwrap();
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH gossip-sim"),
        "{page}"
    );
    assert!(page.contains("completions"), "the subcommands are listed");
}

/// Chromium, if installed: `chromium` (Debian) or `chromium-browser`.
fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    })
}

/// `plot` writes index.html with every chart; headless Chromium loads it and every image
/// renders (the page marks each image `data-rendered="true"` once it has a width).
#[test]
fn index_html_renders_every_chart_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var("CI").is_ok_and(|ci| ci == "true") {
            panic!("CI=true but chromium is not installed: apt-get install chromium");
        }
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let output = run_sweep(dir.path(), &["--quiet"]);
    assert!(output.status.success(), "{output:?}");
    let out = dir.path().join("out");
    let plot = gossip_sim().arg("plot").arg(&out).output().unwrap();
    assert!(plot.status.success(), "{plot:?}");
    let charts: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|name| name.ends_with(".svg"))
        .collect();
    assert!(charts.len() >= 3, "{charts:?}");
    let index = out.join("index.html");
    let page = std::fs::canonicalize(&index).unwrap();
    let profile = dir.path().join("chromium-profile");
    let dom = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let html = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&dom.stderr)
    );
    for chart in &charts {
        let tag_start = html
            .find(&format!("<img src=\"{chart}\""))
            .unwrap_or_else(|| panic!("{chart} is not in index.html:\n{html}"));
        let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
        assert!(
            tag.contains("data-rendered=\"true\""),
            "{chart} did not render: {tag}"
        );
    }
    assert!(!html.contains("<p class=\"broken\">"), "{html}");
    assert!(html.contains("<td>rounds_to_all</td>"), "the summary table");
}
