//! Plumtree over HyParView (Leitão, Pereira, Rodrigues: "Epidemic Broadcast Trees", SRDS 2007;
//! "HyParView", DSN 2007): the first broadcast floods and prunes, later ones follow the tree,
//! and the tree survives massive failures.

use gossip_sim::internals::initial_active_views;
use gossip_sim::report::TrialReport;

use crate::support::{scenario, trials};

/// `updates` broadcasts 10 rounds apart from spread-out origins, over HyParView with the
/// paper's view sizes. `extra` is appended to the document.
fn doc(nodes: u32, updates: u32, ihave_timeout: u32, overlay: &str, extra: &str) -> String {
    let mut text = format!(
        r#"
name = "plumtree"
seed = 11
nodes = {nodes}
max_rounds = 400
[protocol]
kind = "plumtree"
ihave_timeout = {ihave_timeout}
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
    text
}

/// The paper's relative message redundancy of update `u`: m / (n - 1) - 1, over the nodes
/// that were live.
fn rmr(r: &TrialReport, u: usize) -> f64 {
    let update = &r.updates[u];
    update.update_messages as f64 / (update.final_alive as f64 - 1.0) - 1.0
}

fn coverage(r: &TrialReport, u: usize) -> f64 {
    let update = &r.updates[u];
    update.final_informed as f64 / update.final_alive as f64
}

#[test]
fn later_broadcasts_follow_the_tree_with_rmr_near_zero() {
    let s = scenario(&doc(1000, 6, 8, "", ""));
    for r in trials(&s, 5) {
        for u in 0..6 {
            assert_eq!(coverage(&r, u), 1.0, "seed {} update {u}", r.seed);
        }
        // The first broadcast pushes on every link it has not pruned yet: well above a tree.
        assert!(
            rmr(&r, 0) > 1.0,
            "seed {}: first RMR {}",
            r.seed,
            rmr(&r, 0)
        );
        // Later broadcasts follow the pruned tree. Not exactly 0: HyParView's maintenance every
        // 10 rounds adds links (eager, as NeighborUp says) whose first use is a duplicate, and a
        // tree path more than `ihave_timeout` hops longer than a lazy one is GRAFTed.
        for u in 1..6 {
            assert!(
                rmr(&r, u) < 0.05,
                "seed {} update {u}: RMR {}",
                r.seed,
                rmr(&r, u)
            );
        }
    }
}

#[test]
fn a_short_ihave_timeout_grafts_shortcuts_and_costs_redundancy() {
    // The same broadcasts with GRAFT after 1 round: every lazy link more than one hop shorter
    // than the tree path is grafted and a duplicate pruned, for every new origin.
    let short = scenario(&doc(1000, 6, 1, "", ""));
    let long = scenario(&doc(1000, 6, 8, "", ""));
    let (short, long) = (trials(&short, 3), trials(&long, 3));
    for (a, b) in short.iter().zip(&long) {
        let mean = |r: &TrialReport| (1..6).map(|u| rmr(r, u)).sum::<f64>() / 5.0;
        assert!(
            mean(a) > 2.0 * mean(b) + 0.05,
            "seed {}: {} vs {}",
            a.seed,
            mean(a),
            mean(b)
        );
        assert!(
            a.run.messages_by_kind[8] > b.run.messages_by_kind[8],
            "more GRAFTs"
        );
    }
}

#[test]
fn the_first_broadcast_sends_once_on_every_link_but_the_senders() {
    // No maintenance during the broadcast (shuffles every 100 rounds), one update, no loss: every
    // node sends GOSSIP or IHAVE once on each of its links except the one it learnt from, as
    // flooding would; pruning only turns GOSSIPs into IHAVEs. Exact identities.
    let s = scenario(&doc(
        1000,
        1,
        8,
        "shuffle_every = 100\nwarmup_rounds = 500",
        "",
    ));
    for (t, r) in trials(&s, 5).iter().enumerate() {
        let views = initial_active_views(&s, t as u32).expect("hyparview");
        let n = views.len() as u64;
        let links: u64 = views.iter().map(|v| v.len() as u64).sum();
        let flood = links - (n - 1);
        let run = &r.run;
        let (gossip, ihave, graft, prune) = (
            run.messages_by_kind[6],
            run.messages_by_kind[7],
            run.messages_by_kind[8],
            run.messages_by_kind[9],
        );
        let u = &r.updates[0];
        assert_eq!(u.final_informed, n, "seed {}", r.seed);
        assert_eq!(
            graft, 0,
            "seed {}: no GRAFT needed without failures",
            r.seed
        );
        assert_eq!(gossip + ihave, flood, "seed {}", r.seed);
        assert_eq!(gossip, u.update_messages);
        // Every GOSSIP is a first delivery or a duplicate, and every duplicate is pruned.
        assert_eq!(gossip, (n - 1) + u.duplicates, "seed {}", r.seed);
        assert_eq!(prune, u.duplicates, "seed {}", r.seed);
        // So RMR is flooding's, (links - (n - 1)) / (n - 1) - 1, minus the IHAVEs that
        // replaced GOSSIPs on links pruned earlier in the same broadcast.
        let flood_rmr = flood as f64 / (n - 1) as f64 - 1.0;
        let expected = flood_rmr - ihave as f64 / (n - 1) as f64;
        assert!((rmr(r, 0) - expected).abs() < 1e-9);
        assert!(ihave > 0 && rmr(r, 0) < flood_rmr, "seed {}", r.seed);
    }
}

#[test]
fn with_half_the_nodes_crashed_every_live_node_is_reached() {
    // Three broadcasts settle the tree, 50% of the nodes crash at round 30, four more
    // broadcasts follow from random live origins. HyParView replaces every broken link on first
    // use and Plumtree's GRAFTs repair the tree: every live node gets every later update.
    let extra = "[[crashes]]\nat_round = 30\nfraction = 0.5\n\
                 [workload]\nproducts = 4\nupdates = 4\nstart_round = 31\nper_round = 0.1\n";
    let s = scenario(&doc(1000, 3, 8, "", extra));
    for r in trials(&s, 10) {
        assert_eq!(r.run.alive_at_end, 500);
        for u in 3..7 {
            assert!(r.updates[u].injected);
            assert_eq!(coverage(&r, u), 1.0, "seed {} update {u}", r.seed);
        }
    }
}

#[test]
fn every_protocol_gossips_over_the_active_views() {
    // Push over HyParView: partners come from the active views only, and it still reaches all.
    let text = doc(1000, 1, 8, "", "").replace(
        "kind = \"plumtree\"\nihave_timeout = 8",
        "kind = \"push\"\nfanout = 2",
    );
    let s = scenario(&text);
    for r in trials(&s, 3) {
        assert_eq!(coverage(&r, 0), 1.0, "seed {}", r.seed);
        assert!(r.run.warmup_messages > 0);
    }
}

#[test]
fn same_seed_same_reports() {
    let extra = "[[crashes]]\nat_round = 12\nfraction = 0.3\nrecover_after_rounds = 15\n";
    let s = scenario(&doc(500, 4, 2, "", extra));
    assert_eq!(trials(&s, 3), trials(&s, 3));
}

#[test]
fn flooding_over_the_active_views_sends_once_on_every_link_but_the_senders() {
    // Flooding uses the same links as Plumtree: without failures or maintenance during the
    // broadcast every node but the origin forwards once on every link but the one it learnt
    // from, so m = links - (n - 1) exactly (the origin has no sender to skip).
    let text = doc(1000, 1, 8, "shuffle_every = 100\nwarmup_rounds = 500", "")
        .replace("kind = \"plumtree\"\nihave_timeout = 8", "kind = \"flood\"");
    let s = scenario(&text);
    for (t, r) in trials(&s, 3).iter().enumerate() {
        let views = initial_active_views(&s, t as u32).expect("hyparview");
        let n = views.len() as u64;
        let links: u64 = views.iter().map(|v| v.len() as u64).sum();
        let u = &r.updates[0];
        assert_eq!(u.final_informed, n, "seed {}", r.seed);
        assert_eq!(u.update_messages, links - (n - 1), "seed {}", r.seed);
        assert_eq!(
            r.run.messages_by_kind[0],
            links - (n - 1),
            "seed {}",
            r.seed
        );
        // No Plumtree message and no membership message during the broadcast.
        assert_eq!(
            r.run.messages_by_kind[6..10],
            [0, 0, 0, 0],
            "seed {}",
            r.seed
        );
        assert_eq!(r.run.messages_by_kind[10], 0, "seed {}", r.seed);
    }
}

#[test]
fn plumtree_region_rows_add_up_to_the_update_rows() {
    // Regions count holders beside the world's counters, whatever the protocol: with Plumtree
    // over HyParView and a crash, the regions' final holders and live nodes are the update's,
    // and no region completes after the whole system.
    let extra = "[[crashes]]\nat_round = 12\nfraction = 0.2\n\
                 [[regions]]\nname = \"eu\"\nnodes = 600\n\
                 [[regions]]\nname = \"us\"\nnodes = 400\n";
    let s = scenario(&doc(1000, 4, 2, "", extra));
    for r in trials(&s, 3) {
        assert_eq!(r.regions.len(), 4 * 2, "seed {}", r.seed);
        for u in &r.updates {
            let rows: Vec<_> = r.regions.iter().filter(|x| x.update == u.update).collect();
            let informed: u64 = rows.iter().map(|x| x.final_informed).sum();
            let alive: u64 = rows.iter().map(|x| x.final_alive).sum();
            assert_eq!(
                informed, u.final_informed,
                "seed {} update {}",
                r.seed, u.update
            );
            assert_eq!(alive, u.final_alive, "seed {} update {}", r.seed, u.update);
            if let Some(all) = u.reached_all {
                for row in &rows {
                    assert!(row.reached_all.is_some_and(|t| t <= all), "seed {}", r.seed);
                }
            }
        }
    }
}
