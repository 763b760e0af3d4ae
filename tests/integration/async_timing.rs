//! The protocols that used to run in lock-step rounds only - rumor mongering, median-counter,
//! flooding's forwarding on receipt, HyParView and Plumtree - in `async` timing, against what
//! is known to hold whatever the timing:
//! - Demers et al. 1987, section 1.4: push rumor mongering's residue s and traffic m satisfy
//!   s = e^-m (the relation comes from the epidemic's ODE, which is a continuous-time model, so
//!   it applies to per-node timers at least as well as to rounds);
//! - Leitão, Pereira, Rodrigues 2007: flooding's RMR over a d-regular overlay is
//!   d - 2 + d / (n - 1), and Plumtree's first broadcast sends once on every link but the
//!   senders', in any timing; with half the nodes crashed it still reaches every live node;
//! - Karp et al. 2000: median-counter informs everyone with O(log log n) transmissions per node.

use gossip_sim::internals::initial_active_views;
use gossip_sim::protocol::default_ctr_max;
use gossip_sim::report::TrialReport;
use gossip_sim::scenario::Scenario;

use crate::support::{mean, scenario, trials};

fn one_update(nodes: u32, seed: u64, protocol: &str, extra: &str) -> Scenario {
    scenario(&one_update_text(nodes, seed, protocol, extra))
}

fn one_update_text(nodes: u32, seed: u64, protocol: &str, extra: &str) -> String {
    format!(
        r#"
name = "async"
seed = {seed}
nodes = {nodes}
max_rounds = 1000
[protocol]
timing = "async"
{protocol}
[[updates]]
product = "P1"
price = 1.0
origin = 0
[output]
coverage = false
{extra}
"#
    )
}

fn residue(r: &TrialReport) -> f64 {
    let u = &r.updates[0];
    1.0 - u.final_informed as f64 / u.final_alive as f64
}

fn traffic(r: &TrialReport, nodes: u32) -> f64 {
    r.updates[0].update_messages as f64 / f64::from(nodes)
}

/// Demers et al. 1987, section 1.4: s = e^-m for push rumor mongering, for each of the four
/// loss-of-interest rules at k = 2 (1000 nodes, 300 trials each), within 10% relative - the
/// tolerance the rounds-timing test holds too.
#[test]
fn async_push_rumor_residue_is_e_to_the_minus_traffic() {
    for (termination, removal) in [
        ("feedback", "counter"),
        ("feedback", "coin"),
        ("blind", "counter"),
        ("blind", "coin"),
    ] {
        let protocol = format!(
            "kind = \"rumor\"\nmode = \"push\"\ntermination = \"{termination}\"\n\
             removal = \"{removal}\"\nk = 2"
        );
        let s = one_update(1000, 400, &protocol, "");
        let reports = trials(&s, 300);
        let s_mean = mean(&reports.iter().map(residue).collect::<Vec<_>>());
        let m_mean = mean(&reports.iter().map(|r| traffic(r, 1000)).collect::<Vec<_>>());
        let predicted = (-m_mean).exp();
        eprintln!(
            "async {termination}/{removal}: residue {s_mean:.4}, traffic {m_mean:.3}, e^-m {predicted:.4}"
        );
        assert!(
            (s_mean - predicted).abs() <= 0.1 * predicted,
            "{termination}/{removal}: residue {s_mean} vs e^-m {predicted}"
        );
    }
}

/// Pull and push-pull rumors in async timing still stop by themselves and leave less residue
/// than push at the same k (Demers et al. 1987, Table 3: pull's residue is far below push's).
#[test]
fn async_pull_and_push_pull_rumors_stop_and_beat_push() {
    let run = |mode: &str| {
        let protocol = format!("kind = \"rumor\"\nmode = \"{mode}\"\nk = 2");
        let s = one_update(1000, 401, &protocol, "");
        let reports = trials(&s, 50);
        for r in &reports {
            assert!(
                r.run.end.0 < 1000 * s.period.0,
                "{mode}: seed {} never stopped",
                r.seed
            );
        }
        mean(&reports.iter().map(residue).collect::<Vec<_>>())
    };
    let push = run("push");
    let pull = run("pull");
    let push_pull = run("push-pull");
    eprintln!("async residue: push {push:.4}, pull {pull:.4}, push-pull {push_pull:.4}");
    assert!(
        pull < push && push_pull < push,
        "push {push}, pull {pull}, push-pull {push_pull}"
    );
}

/// A rumor backed by anti-entropy every 5 periods reaches every node, in async timing as in
/// rounds (Demers et al. 1987, section 1.5).
#[test]
fn async_rumor_backed_by_anti_entropy_reaches_everyone() {
    let s = one_update(
        500,
        402,
        "kind = \"rumor\"\nk = 1\nanti_entropy_every = 5",
        "",
    );
    for r in trials(&s, 10) {
        assert_eq!(residue(&r), 0.0, "seed {}", r.seed);
        assert!(r.updates[0].reached_all.is_some());
    }
}

/// Karp et al. 2000: median-counter informs every node using O(log log n) transmissions per
/// node. In async timing, checked as in rounds timing: every trial informs every node, and
/// transmissions per node stay below 6 ctr_max (ctr_max = ceil(log2 ln n)).
#[test]
fn async_median_counter_informs_everyone_with_log_log_n_transmissions() {
    for (n, t) in [(1_000u32, 40), (10_000, 10)] {
        let s = one_update(n, 600, "kind = \"median-counter\"", "");
        let reports = trials(&s, t);
        let ctr_max = f64::from(default_ctr_max(n));
        let m = mean(&reports.iter().map(|r| traffic(r, n)).collect::<Vec<_>>());
        eprintln!("async median-counter n={n}: traffic {m:.2}, ctr_max {ctr_max}");
        for r in &reports {
            assert_eq!(residue(r), 0.0, "n={n} seed {}", r.seed);
        }
        assert!(m < 6.0 * ctr_max, "n={n}: traffic {m}");
    }
}

/// Flooding over a 6-regular overlay: m = d + (n - 1)(d - 1) update messages, so
/// RMR = d - 2 + d / (n - 1), exactly, in async timing as in rounds timing (Leitão et al.
/// 2007): the count does not depend on when copies arrive.
#[test]
fn async_flooding_rmr_is_the_rounds_rmr() {
    let (n, d) = (1000u32, 6u64);
    let overlay = "[overlay]\nkind = \"k-regular\"\ndegree = 6";
    let s = one_update(n, 700, "kind = \"flood\"", overlay);
    let rounds = scenario(
        &one_update_text(n, 700, "kind = \"flood\"", overlay)
            .replace("timing = \"async\"", "timing = \"rounds\""),
    );
    let expected = d + u64::from(n - 1) * (d - 1);
    for (a, r) in trials(&s, 5).iter().zip(trials(&rounds, 5)) {
        assert_eq!(a.updates[0].final_informed, u64::from(n), "seed {}", a.seed);
        assert_eq!(a.updates[0].update_messages, expected, "seed {}", a.seed);
        assert_eq!(r.updates[0].update_messages, expected, "seed {}", r.seed);
    }
}

fn plumtree(nodes: u32, updates: u32, overlay: &str, extra: &str) -> Scenario {
    let mut text = format!(
        r#"
name = "plumtree"
seed = 11
nodes = {nodes}
max_rounds = 400
[protocol]
kind = "plumtree"
timing = "async"
ihave_timeout = 8
[overlay]
kind = "hyparview"
{overlay}
[output]
coverage = false
{extra}
"#
    );
    for u in 0..updates {
        text += &format!(
            "[[updates]]\nproduct = \"P{u}\"\nprice = 1.0\norigin = {}\nat_round = {}\n",
            (u * 397) % nodes,
            u * 10
        );
    }
    scenario(&text)
}

/// Plumtree's first broadcast in async timing, no loss, no maintenance during it: every node
/// sends GOSSIP or IHAVE once on each of its links but the one it learnt from (as flooding
/// would), every duplicate GOSSIP is pruned, no GRAFT is needed. Exact identities.
#[test]
fn async_plumtree_first_broadcast_sends_once_on_every_link_but_the_senders() {
    let s = plumtree(1000, 1, "shuffle_every = 100\nwarmup_rounds = 500", "");
    for (t, r) in trials(&s, 5).iter().enumerate() {
        let views = initial_active_views(&s, t as u32).expect("hyparview");
        let n = views.len() as u64;
        let links: u64 = views.iter().map(|v| v.len() as u64).sum();
        let by_kind = &r.run.messages_by_kind;
        let (gossip, ihave, graft, prune) = (by_kind[6], by_kind[7], by_kind[8], by_kind[9]);
        let u = &r.updates[0];
        assert_eq!(u.final_informed, n, "seed {}", r.seed);
        assert_eq!(graft, 0, "seed {}", r.seed);
        assert_eq!(gossip + ihave, links - (n - 1), "seed {}", r.seed);
        assert_eq!(gossip, u.update_messages, "seed {}", r.seed);
        assert_eq!(gossip, (n - 1) + u.duplicates, "seed {}", r.seed);
        assert_eq!(prune, u.duplicates, "seed {}", r.seed);
    }
}

/// Later broadcasts follow the tree: RMR falls well below the first broadcast's, and every
/// node is reached (Leitão et al. 2007, figure 4: RMR near 0 once the tree has formed).
#[test]
fn async_plumtree_later_broadcasts_follow_the_tree() {
    let s = plumtree(1000, 5, "", "");
    for r in trials(&s, 5) {
        let rmr = |u: usize| {
            let x = &r.updates[u];
            x.update_messages as f64 / (x.final_alive as f64 - 1.0) - 1.0
        };
        for u in 0..5 {
            assert_eq!(
                r.updates[u].final_informed, 1000,
                "seed {} update {u}",
                r.seed
            );
        }
        assert!(
            rmr(4) < 0.5 * rmr(0),
            "seed {}: rmr {} then {}",
            r.seed,
            rmr(0),
            rmr(4)
        );
    }
}

/// With half the nodes crashed after the tree settled, HyParView replaces broken links and
/// GRAFTs repair the tree: every live node gets every later update (Leitão et al. 2007).
#[test]
fn async_plumtree_with_half_the_nodes_crashed_reaches_every_live_node() {
    let extra = "[[crashes]]\nat_round = 30\nfraction = 0.5\n\
                 [workload]\nproducts = 4\nupdates = 4\nstart_round = 31\nper_round = 0.1\n";
    let s = plumtree(1000, 3, "", extra);
    for r in trials(&s, 10) {
        assert_eq!(r.run.alive_at_end, 500);
        for u in 3..7 {
            let x = &r.updates[u];
            assert!(x.injected);
            assert_eq!(
                x.final_informed, x.final_alive,
                "seed {} update {u}",
                r.seed
            );
        }
    }
}

/// Push-pull over HyParView in async timing: partners come from the active views, the
/// overlay's maintenance runs at period boundaries, and everyone is reached.
#[test]
fn async_push_pull_over_hyparview_reaches_everyone() {
    let s = one_update(
        1000,
        800,
        "kind = \"push-pull\"",
        "[overlay]\nkind = \"hyparview\"\nshuffle_every = 2",
    );
    for r in trials(&s, 3) {
        assert_eq!(residue(&r), 0.0, "seed {}", r.seed);
        assert!(r.run.warmup_messages > 0);
        assert!(
            r.run.messages_by_kind[10] > 0,
            "seed {}: no maintenance",
            r.seed
        );
    }
}
