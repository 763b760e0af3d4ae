//! Overlays, flooding and regions: exact values where the protocol fixes them (flooding's
//! message count, reachability over a directed overlay, region bookkeeping), statistical checks
//! with stated sources and tolerances elsewhere. Failing checks print the trial and its seed.

use std::collections::VecDeque;

use gossip_sim::internals::overlay::Graph;
use gossip_sim::output::{RegionsTable, UpdatesTable, decimal, write_table};
use gossip_sim::report::TrialReport;
use gossip_sim::scenario::{Catalog, EdgeChance, Overlay, Scenario};

use crate::support::{mean, scenario, sem, trials};

/// One update from node 0 over `nodes` nodes; `extra` is appended (tables or `key = value`
/// lines for [protocol], which comes last before it).
fn one_update(name: &str, nodes: u32, seed: u64, kind: &str, extra: &str) -> Scenario {
    scenario(&format!(
        r#"
name = "{name}"
seed = {seed}
nodes = {nodes}
max_rounds = 300
[[updates]]
product = "P1"
price = 1.0
origin = 0
[output]
coverage = false
[protocol]
kind = "{kind}"
{extra}
"#
    ))
}

/// The `rmr` column of updates.csv, row by row.
fn rmr_column(s: &Scenario, reports: &[TrialReport]) -> Vec<String> {
    let catalog = Catalog::new(&s.workload);
    let table = UpdatesTable::new(&s.name, s.period, &catalog);
    let mut out = Vec::new();
    write_table(&table, reports, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    // rmr, then the per-update staleness appended after it (schema 4).
    assert!(lines.next().unwrap().ends_with(",rmr,stale_node_rounds"));
    lines
        .map(|row| row.rsplit(',').nth(1).unwrap().to_owned())
        .collect()
}

/// Leitão, Pereira & Rodrigues 2007 (section 5): flooding over a d-regular overlay without
/// failures sends d - 1 copies from every node but the origin, which sends d, so
/// m = d + (n - 1)(d - 1) and RMR = d - 2 + d / (n - 1). Exact, in every trial, in both timings,
/// in integers and in the printed column.
#[test]
fn flooding_over_a_d_regular_overlay_has_rmr_d_minus_2_plus_d_over_n_minus_1() {
    for (nodes, degree) in [(100u32, 3u32), (1000, 4), (2001, 6), (10, 9), (12, 7)] {
        for timing in ["rounds", "async"] {
            let s = one_update(
                "flood",
                nodes,
                u64::from(nodes + degree),
                "flood",
                &format!(
                    "timing = \"{timing}\"\n[overlay]\nkind = \"k-regular\"\ndegree = {degree}"
                ),
            );
            let reports = trials(&s, 8);
            let rmr = rmr_column(&s, &reports);
            for (r, printed) in reports.iter().zip(&rmr) {
                let u = &r.updates[0];
                let what = format!(
                    "n={nodes} d={degree} {timing}, trial {} (seed {})",
                    r.trial, r.seed
                );
                let (n, d) = (u.final_informed, u64::from(degree));
                // A random d-regular graph with d >= 3 is connected with high probability
                // (Bollobás 1981); the formula would hold over the reached part anyway.
                assert_eq!(n, u64::from(nodes), "{what}: reached {n}");
                assert_eq!(u.update_messages, d + (n - 1) * (d - 1), "{what}");
                assert_eq!(u.duplicates, u.update_messages - (n - 1), "{what}");
                // RMR (n - 1) = m - (n - 1) = d + (n - 1)(d - 2).
                let expected = decimal(u128::from(d + (n - 1) * (d - 2)), u128::from(n - 1), 6);
                assert_eq!(printed, &expected, "{what}");
            }
        }
    }
}

/// The shipped scenario's figure: 6-regular, 10,000 nodes, RMR = 4 + 6 / 9999 = 4.0006.
#[test]
fn flooding_a_6_regular_overlay_of_10000_nodes_prints_rmr_4_0006() {
    let s = one_update(
        "flood",
        10_000,
        3,
        "flood",
        "[overlay]\nkind = \"k-regular\"\ndegree = 6",
    );
    let reports = trials(&s, 2);
    assert_eq!(rmr_column(&s, &reports), ["4.0006", "4.0006"]);
}

/// The same count per update when 70 updates of distinct products overlap (two words per
/// row, messages carrying several updates, exceptions per update): every update still costs
/// exactly d + (n - 1)(d - 1) copies, in both timings. With crashes the run must still end and
/// never count more than that.
#[test]
fn flooding_many_overlapping_updates_counts_each_exactly() {
    let updates: String = (0..70)
        .map(|i| {
            format!(
                "[[updates]]\nproduct = \"Q{i}\"\nprice = 1.0\norigin = {}\nat_round = {}\n",
                (i * 37) % 500,
                i % 4
            )
        })
        .collect();
    for timing in ["rounds", "async"] {
        for crash in ["", "[[crashes]]\nat_round = 2\nfraction = 0.2\n"] {
            let s = scenario(&format!(
                "name = \"many\"\nseed = 4\nnodes = 500\nmax_rounds = 100\n\
                 [protocol]\nkind = \"flood\"\ntiming = \"{timing}\"\n\
                 [overlay]\nkind = \"k-regular\"\ndegree = 5\n{crash}{updates}"
            ));
            for r in trials(&s, 3) {
                assert!(r.run.end.0 < 50 * s.period.0, "{timing}: no end");
                for u in &r.updates {
                    let what = format!("{timing} {crash:?} trial {} update {}", r.trial, u.update);
                    let full = 5 + 499 * 4;
                    if crash.is_empty() {
                        assert_eq!(u.final_informed, 500, "{what}");
                        assert_eq!(u.update_messages, full, "{what}");
                    } else {
                        assert!(u.update_messages <= full, "{what}");
                    }
                }
            }
        }
    }
}

/// Over full membership every node is everyone's neighbour: the origin sends n - 1 copies and
/// every other node n - 2, so m = (n - 1)^2 and RMR = n - 2, exactly.
#[test]
fn flooding_over_full_membership_sends_n_minus_1_squared_messages() {
    for timing in ["rounds", "async"] {
        let s = one_update(
            "flood-full",
            60,
            5,
            "flood",
            &format!("timing = \"{timing}\""),
        );
        let reports = trials(&s, 3);
        for (r, rmr) in reports.iter().zip(rmr_column(&s, &reports)) {
            assert_eq!(r.updates[0].update_messages, 59 * 59, "{timing}");
            assert_eq!(rmr, "58", "{timing}");
        }
    }
}

/// Flooding has no retransmission: a lost copy is only made up for by the other neighbours.
/// With 30% loss over a 3-regular overlay some nodes stay uninformed, and the run still ends
/// (when nothing is left to forward) well before max_rounds, in both timings.
#[test]
fn lossy_flooding_ends_when_nothing_is_left_to_forward() {
    for timing in ["rounds", "async"] {
        let s = one_update(
            "flood-loss",
            2000,
            9,
            "flood",
            &format!(
                "timing = \"{timing}\"\n[network]\nloss = 0.3\n[overlay]\nkind = \"k-regular\"\ndegree = 3"
            ),
        );
        let reports = trials(&s, 10);
        let residue: Vec<f64> = reports
            .iter()
            .map(|r| 1.0 - r.updates[0].final_informed as f64 / 2000.0)
            .collect();
        eprintln!("{timing}: mean residue {:.4}", mean(&residue));
        assert!(mean(&residue) > 0.01, "{timing}: {residue:?}");
        for r in &reports {
            assert!(
                r.run.end.0 < 100 * s.period.0,
                "{timing}: ended at {:?}",
                r.run.end
            );
        }
    }
}

/// Nodes reachable from `origin` along the graph's (out-)edges.
fn reachable(graph: &Graph, origin: u32) -> u64 {
    let mut seen = vec![false; graph.nodes() as usize];
    let mut queue = VecDeque::from([origin]);
    seen[origin as usize] = true;
    let mut count = 1;
    while let Some(v) = queue.pop_front() {
        for &u in graph.neighbours(v) {
            if !seen[u as usize] {
                seen[u as usize] = true;
                count += 1;
                queue.push_back(u);
            }
        }
    }
    count
}

/// Push over a k-out overlay sends only along out-edges, so it informs exactly the nodes
/// reachable from the origin: checked exactly, every trial, against a search of the same graph
/// (rebuilt from the trial's seed). A node is unreachable when all its in-neighbours are; with
/// in-degrees near Poisson(k) the unreachable fraction q solves q = exp(-k (1 - q)) (the
/// backward branching process of the random digraph; about 0.0595 for k = 3, 0.0198 for
/// k = 4, not the e^-k of the nodes with no in-neighbour at all). So push over k-out does
/// *not* inform everyone for small k: the mean residue must match q within 0.004 (about 8
/// standard errors, and less than half the gap to e^-k).
#[test]
fn push_over_k_out_informs_exactly_the_nodes_reachable_from_the_origin() {
    for k in [3u32, 4] {
        let nodes = 2000u32;
        let s = one_update(
            "k-out-push",
            nodes,
            40 + u64::from(k),
            "push",
            &format!("[overlay]\nkind = \"k-out\"\ndegree = {k}"),
        );
        let reports = trials(&s, 60);
        let mut residues = Vec::new();
        for r in &reports {
            let graph = Graph::for_trial(s.overlay, nodes, r.seed).unwrap();
            let u = &r.updates[0];
            assert_eq!(
                u.final_informed,
                reachable(&graph, 0),
                "k={k}, trial {} (seed {})",
                r.trial,
                r.seed
            );
            residues.push(1.0 - u.final_informed as f64 / f64::from(nodes));
        }
        let kf = f64::from(k);
        let mut q = 0.5;
        for _ in 0..200 {
            q = (-kf * (1.0 - q)).exp();
        }
        let (m, se) = (mean(&residues), sem(&residues));
        eprintln!("push over {k}-out: residue {m:.4} ± {se:.4}, fixed point {q:.4}");
        assert!((m - q).abs() < 0.004, "k={k}: residue {m} vs {q}");
    }
}

/// Push-pull over k-out exchanges in both directions, so it spreads over the undirected
/// graph, which is k-connected with high probability for k >= 2 (Fenner & Frieze 1982, "On
/// the connectivity of random m-orientable graphs and digraphs"): every trial must inform
/// every node.
#[test]
fn push_pull_over_k_out_informs_everyone() {
    for k in [2u32, 3] {
        let s = one_update(
            "k-out-push-pull",
            3000,
            60 + u64::from(k),
            "push-pull",
            &format!("[overlay]\nkind = \"k-out\"\ndegree = {k}"),
        );
        for r in trials(&s, 40) {
            let u = &r.updates[0];
            assert!(
                u.reached_all.is_some() && u.final_informed == 3000,
                "k={k}, trial {} (seed {}): {} informed",
                r.trial,
                r.seed,
                u.final_informed
            );
        }
    }
}

/// The mean degree of G(n, p) is (n - 1) p; over 200 graphs the mean of the graphs' mean
/// degrees must be within 3 standard errors of it, where one graph's mean degree 2m/n has
/// variance 2 (n - 1) p (1 - p) / n (m is binomial over n (n - 1) / 2 pairs). Likewise the
/// fraction of isolated nodes must be near (1 - p)^(n - 1) (within 5 empirical standard errors,
/// as the nodes of one graph are weakly dependent).
#[test]
fn erdos_renyi_mean_degree_is_n_minus_1_times_p() {
    for (nodes, chance) in [
        (1000u32, EdgeChance::MeanDegree(4.0)),
        (5000, EdgeChance::MeanDegree(1.5)),
        (300, EdgeChance::Probability(0.2)),
    ] {
        let overlay = Overlay::ErdosRenyi(chance);
        let p = chance.p(nodes);
        let n = f64::from(nodes);
        let graphs = 200;
        let mut degrees = Vec::new();
        let mut isolated = Vec::new();
        for seed in 0..graphs {
            let g = Graph::for_trial(overlay, nodes, 1_000 + seed).unwrap();
            degrees.push(g.endpoints() as f64 / n);
            let alone = (0..nodes).filter(|&v| g.degree(v) == 0).count();
            isolated.push(alone as f64 / n);
        }
        let expected = (n - 1.0) * p;
        let se = (2.0 * (n - 1.0) * p * (1.0 - p) / n / graphs as f64).sqrt();
        let got = mean(&degrees);
        eprintln!("G({nodes}, {p:.5}): mean degree {got:.4}, expected {expected:.4} ± {se:.4}");
        assert!(
            (got - expected).abs() < 3.0 * se,
            "n={nodes}: {got} vs {expected}"
        );
        let q = (1.0 - p).powf(n - 1.0);
        let (iso, iso_se) = (mean(&isolated), sem(&isolated));
        eprintln!("  isolated {iso:.5} ± {iso_se:.5}, expected {q:.5}");
        assert!(
            (iso - q).abs() < 5.0 * iso_se.max(1e-9),
            "n={nodes}: {iso} vs {q}"
        );
    }
}

/// Three regions of a storefront: 500, 300 and 200 nodes.
const THREE_REGIONS: &str = r#"
[[regions]]
name = "eu"
nodes = 500
[[regions]]
name = "us"
nodes = 300
[[regions]]
name = "ap"
nodes = 200
"#;

/// The region rows agree with the update rows: every region completes no later than the whole
/// system, and the regions' final holders and live nodes add up to the update's, also with
/// crashes and recoveries (nodes leave and rejoin their regions' counts). Without crashes the
/// last region to complete completes the system, to the microsecond. (With recoveries a
/// region can complete, then lack a recovered node again, so there it is only a bound.)
#[test]
fn region_completion_adds_up_to_the_whole() {
    let crashes = "[[crashes]]\nat_round = 2\nfraction = 0.1\nrecover_after_rounds = 3\n\
                   [[crashes]]\nat_round = 4\nfraction = 0.05\nkeep_state = false";
    for (timing, bias, faults) in [
        ("rounds", 0.8, crashes),
        ("async", 0.8, crashes),
        ("rounds", 0.0, ""),
        ("async", 0.8, ""),
    ] {
        let s = scenario(&format!(
            r#"
name = "regions"
seed = 77
nodes = 1000
max_rounds = 200
[protocol]
kind = "push-pull"
timing = "{timing}"
local_bias = {bias}
[workload]
updates = 6
per_round = 1.0
{faults}
[output]
coverage = false
{THREE_REGIONS}
"#
        ));
        for r in trials(&s, 8) {
            let what = format!("{timing} bias {bias}, trial {} (seed {})", r.trial, r.seed);
            assert_eq!(r.regions.len(), 6 * 3, "{what}");
            for u in &r.updates {
                let rows: Vec<_> = r.regions.iter().filter(|x| x.update == u.update).collect();
                let informed: u64 = rows.iter().map(|x| x.final_informed).sum();
                let alive: u64 = rows.iter().map(|x| x.final_alive).sum();
                assert_eq!(informed, u.final_informed, "{what}, update {}", u.update);
                assert_eq!(alive, u.final_alive, "{what}, update {}", u.update);
                let last = rows.iter().map(|x| x.reached_all).max().flatten();
                for row in &rows {
                    if let Some(all) = u.reached_all {
                        assert!(row.reached_all.is_some_and(|t| t <= all), "{what}");
                    }
                }
                if faults.is_empty() {
                    assert_eq!(last, u.reached_all, "{what}, update {}", u.update);
                } else if let Some(all) = u.reached_all {
                    assert!(last.is_some_and(|t| t <= all), "{what}");
                }
            }
        }
    }
}

/// With local_bias = 1 and fanout 1 every partner is in the node's own region, so an update
/// never leaves its origin's region: full coverage there, none elsewhere, and the system never
/// completes. Push-pull: neither pushes nor pulls cross a region boundary.
#[test]
fn a_local_bias_of_1_keeps_an_update_in_its_region() {
    let s = scenario(&format!(
        r#"
name = "stay-home"
seed = 5
nodes = 1000
max_rounds = 60
[protocol]
kind = "push-pull"
local_bias = 1.0
[[updates]]
product = "P1"
price = 1.0
origin = 650
[output]
coverage = false
{THREE_REGIONS}
"#
    ));
    for r in trials(&s, 5) {
        let coverage: Vec<(u64, u64)> = r
            .regions
            .iter()
            .map(|x| (x.final_informed, x.final_alive))
            .collect();
        assert_eq!(
            coverage,
            [(0, 500), (300, 300), (0, 200)],
            "trial {}",
            r.trial
        );
        assert!(r.regions[1].reached_all.is_some());
        assert_eq!(r.updates[0].reached_all, None);
    }
}

/// local_bias = 0 draws no coin: the run is bit-for-bit the run without it. And regions
/// without a bias or a latency matrix only add the region rows.
#[test]
fn a_local_bias_of_0_changes_nothing() {
    let text = |bias: &str, regions: &str| {
        format!(
            "name = \"b\"\nseed = 3\nnodes = 1000\n[protocol]\nkind = \"push\"\nfanout = 2\n{bias}\n\
             [[updates]]\nproduct = \"P\"\nprice = 1.0\norigin = 0\n{regions}"
        )
    };
    let plain = trials(&scenario(&text("", THREE_REGIONS)), 3);
    let zero = trials(&scenario(&text("local_bias = 0.0", THREE_REGIONS)), 3);
    assert_eq!(plain, zero);
    let mut without = trials(&scenario(&text("", "")), 3);
    assert!(without.iter().all(|r| r.regions.is_empty()));
    for (with, without) in plain.iter().zip(&mut without) {
        without.regions.clone_from(&with.regions);
        assert_eq!(with, without);
    }
}

/// The latency matrix applies to messages between regions: with 500 ms between eu and us and
/// 1 ms inside each, no us node can hear of an update from eu before 500 ms, while eu alone
/// completes sooner on average.
#[test]
fn the_latency_matrix_delays_messages_between_regions() {
    let s = scenario(
        r#"
name = "wan"
seed = 8
nodes = 400
max_rounds = 200
[protocol]
kind = "push-pull"
timing = "async"
period_ms = 100
jitter_ms = 20
[[updates]]
product = "P1"
price = 1.0
origin = 0
[output]
coverage = false
[[regions]]
name = "eu"
nodes = 200
[[regions]]
name = "us"
nodes = 200
[region_latency]
"eu-us" = { dist = "constant", ms = 500 }
"eu-eu" = { dist = "constant", ms = 1 }
"us-us" = { dist = "constant", ms = 1 }
"#,
    );
    let reports = trials(&s, 20);
    let ms = |t: gossip_sim::time::Time| t.0 as f64 / 1000.0;
    let mut eu = Vec::new();
    let mut us = Vec::new();
    for r in &reports {
        let injected = r.updates[0].injected_at;
        let time = |region: usize| ms(r.regions[region].reached_all.unwrap() - injected);
        eu.push(time(0));
        us.push(time(1));
        assert!(
            time(1) >= 500.0,
            "trial {}: us complete at {}",
            r.trial,
            time(1)
        );
    }
    eprintln!("eu {:.1} ms, us {:.1} ms", mean(&eu), mean(&us));
    assert!(mean(&eu) < mean(&us));
}

/// regions.csv has a row per trial, update and region, in that order, naming the region.
#[test]
fn regions_csv_rows_name_the_regions() {
    let s = scenario(&format!(
        "name = \"csv\"\nseed = 1\nnodes = 1000\n[protocol]\nkind = \"push-pull\"\n\
         [workload]\nupdates = 2\n{THREE_REGIONS}"
    ));
    let reports = trials(&s, 2);
    let regions = s.regions.as_ref().unwrap();
    let mut out = Vec::new();
    write_table(
        &RegionsTable::new(&s.name, s.period, regions),
        &reports,
        &mut out,
    )
    .unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "scenario,trial,seed,update,region,region_nodes,rounds_to_all,time_to_all_ms,coverage"
    );
    assert_eq!(lines.len(), 1 + 2 * 2 * 3);
    let keys: Vec<(String, String, String, String)> = lines[1..]
        .iter()
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            (f[1].into(), f[3].into(), f[4].into(), f[5].into())
        })
        .collect();
    assert_eq!(keys[0], ("0".into(), "0".into(), "eu".into(), "500".into()));
    assert_eq!(keys[1], ("0".into(), "0".into(), "us".into(), "300".into()));
    assert_eq!(keys[5], ("0".into(), "1".into(), "ap".into(), "200".into()));
    assert_eq!(keys[6].0, "1");
}
