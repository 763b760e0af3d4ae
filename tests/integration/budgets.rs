//! Bandwidth bounds (issue 15): `network.max_message_bytes` and `network.budget_bytes_per_period`
//! under the built-in anti-entropy. Expected values come from the size model (README, "Size
//! model" and "Bandwidth bounds"): header 32 bytes, entry 24, digest entry 16.

use std::sync::atomic::AtomicU64;

use gossip_sim::protocol::{run_trial, run_trial_with_fast_paths};
use gossip_sim::scenario::Catalog;

use crate::support::{scenario, trials};

/// Two nodes, a 100-product catalog, one update of product index `product` at node 0, push-pull
/// in lock-step rounds under a message limit of `mtu` bytes.
fn two_nodes(kind: &str, product: u32, mtu: u64, extra: &str) -> gossip_sim::Scenario {
    scenario(&format!(
        r#"
name = "bounded"
seed = 1
nodes = 2
max_rounds = {max_rounds}
[protocol]
kind = "{kind}"
{extra}
[network]
max_message_bytes = {mtu}
[workload]
products = 100
[[updates]]
product = "P{name:06}"
price = 1.0
origin = 0
[output]
coverage = false
"#,
        max_rounds = 10,
        name = product + 1,
    ))
}

/// A 192-byte limit holds a header and 10 digest entries: the 100-product digest goes out in
/// pages of 10. Round 0, product 0 (in the first page): node 0 opens with page 0 (192 bytes),
/// node 1 replies with nothing missing and its page 0 (192), node 0 closes with the update
/// (32 + 24 = 56); node 1 then opens with page 1 (192), where product 0 is not listed, and node 0
/// replies with page 1 (192). 824 bytes in 5 messages. Unbounded, the same 5 messages carry
/// whole digests, and node 0's second reply the update again (node 1 learns it only at the end
/// of the round): 3 x (32 + 1600) + 56 + (32 + 24 + 1600) = 6608.
#[test]
fn a_paged_digest_exchange_costs_what_the_size_model_says() {
    let s = two_nodes("push-pull", 0, 192, "");
    let r = &trials(&s, 1)[0];
    assert_eq!((r.run.messages, r.run.bytes), (5, 824));
    assert_eq!(
        r.updates[0].reached_all,
        Some(gossip_sim::Time::from_millis(1000))
    );
    assert_eq!(r.run.deferred_entries, 0);
    assert_eq!(
        (r.run.oversize_messages, r.run.over_budget_messages),
        (0, 0)
    );

    let unbounded = scenario(
        &s.to_string()
            .replace("max_message_bytes = 192\n", "")
            .replace("priority = \"newest\"\n", ""),
    );
    let r = &trials(&unbounded, 1)[0];
    assert_eq!((r.run.messages, r.run.bytes), (5, 6608));
}

/// Product 50 is in page 5. Each round two pages go each way (node 0 opens with page 2r and
/// replies with page 2r + 1; node 1 the other way round), so node 1 lists product 50 when it
/// opens in round 2, and node 0's reply carries the update and an 8-entry page (the entry
/// leaves room for 8 digest entries): 32 + 24 + 128 = 184 bytes. Rounds 0 and 1 cost 4 x 192
/// each (no close: nothing is missing in the listed products), round 2 3 x 192 + 184: 2,296
/// bytes in 12 messages, and the update reaches node 1 at the end of round 2.
#[test]
fn a_product_waits_for_the_page_that_lists_it() {
    let s = two_nodes("push-pull", 50, 192, "");
    let r = &trials(&s, 1)[0];
    assert_eq!((r.run.messages, r.run.bytes), (12, 2296));
    assert_eq!(
        r.updates[0].reached_all,
        Some(gossip_sim::Time::from_millis(3000))
    );
    // Node 1 lacked it at the end of rounds 0 and 1.
    assert_eq!(r.updates[0].stale_node_rounds, 2);
}

/// Node 0's updates of products 0..5 at time 0, pushed to node 1 under an 80-byte limit (a
/// header and two entries). An update both nodes hold retires (nobody sends it again), so the
/// push drains in three rounds whatever the priority: 2, 2 and 1 entries, 3 + 1 entries
/// deferred. The priority decides the order: newest first (and fewest-transmissions, all tied at
/// 0 and broken by newest) delivers updates 4 and 3 in round 0 and update 0 last, in round 2;
/// round-robin over the catalog delivers products 0 and 1 first and 4 last.
#[test]
fn the_priority_decides_what_goes_first() {
    let five = |priority: &str| {
        let mut text = two_nodes("push", 0, 80, &format!("priority = \"{priority}\"")).to_string();
        for product in 2..=5 {
            text.push_str(&format!(
                "\n[[updates]]\nproduct = \"P{product:06}\"\nprice = 1.0\norigin = 0\nat_ms = 0\n"
            ));
        }
        trials(&scenario(&text), 1).remove(0)
    };
    let round_reached = |r: &gossip_sim::TrialReport| -> Vec<u64> {
        r.updates
            .iter()
            .map(|u| u.reached_all.unwrap().0 / 1_000_000 - 1)
            .collect()
    };
    for (priority, rounds) in [
        ("newest", [2, 1, 1, 0, 0]),
        ("fewest-transmissions", [2, 1, 1, 0, 0]),
        ("round-robin", [0, 0, 1, 1, 2]),
    ] {
        let r = five(priority);
        assert_eq!(round_reached(&r), rounds, "{priority}");
        assert_eq!(
            (r.run.messages, r.run.deferred_entries),
            (3, 4),
            "{priority}"
        );
        assert_eq!(r.run.never_sent_entries, 0, "{priority}");
    }
}

/// Newest first starves old updates under a steady stream: three updates a round at node 0
/// (rounds 0..10, fresh products), two entries a message. Each round node 0 sends two of that
/// round's three and keeps the third behind everything newer, so the backlog grows by one a
/// round: round r defers r + 1 entries (55 over 10 rounds), and the 10 held back were never sent
/// when the run stops at max_rounds.
#[test]
fn newest_first_starves_the_backlog_of_a_steady_stream() {
    let mut text = two_nodes("push", 0, 80, "priority = \"newest\"").to_string();
    for i in 1..30u32 {
        let (round, product) = (i / 3, i + 1);
        text.push_str(&format!(
            "\n[[updates]]\nproduct = \"P{product:06}\"\nprice = 1.0\norigin = 0\nat_ms = {}\n",
            round * 1000
        ));
    }
    let r = trials(&scenario(&text), 1).remove(0);
    assert_eq!(r.run.deferred_entries, 55);
    assert_eq!(r.run.never_sent_entries, 10);
    let never: Vec<u32> = r
        .updates
        .iter()
        .filter(|u| u.update_messages == 0)
        .map(|u| u.update)
        .collect();
    // The oldest of each round's three (updates are indexed in injection order).
    assert_eq!(never, [0, 3, 6, 9, 12, 15, 18, 21, 24, 27]);
}

/// A send budget bounds what every node sends in every period, in both timings, and the
/// engine's kernels stand aside (the plain path is the only path: the same report with and
/// without fast paths).
#[test]
fn no_node_sends_more_than_its_budget_and_the_kernels_stand_aside() {
    for timing in ["rounds", "async"] {
        let s = scenario(&format!(
            r#"
name = "budget"
seed = 7
nodes = 200
max_rounds = 60
[protocol]
kind = "push-pull"
timing = "{timing}"
[network]
budget_bytes_per_period = 600
max_message_bytes = 400
[workload]
products = 1000
updates = 100
per_round = 5.0
[output]
coverage = false
"#
        ));
        let catalog = Catalog::new(&s.workload);
        let r = run_trial(&s, &catalog, 0, &AtomicU64::new(0));
        assert_eq!(
            r,
            run_trial_with_fast_paths(&s, &catalog, 0, &AtomicU64::new(0), false),
            "{timing}"
        );
        assert_eq!(
            (r.run.oversize_messages, r.run.over_budget_messages),
            (0, 0),
            "{timing}"
        );
        // Async: a node's timer may fire twice in a period (jitter), but the budget is per
        // period whatever fires; periods run to the end plus the one in progress.
        let periods = r.run.end.0.div_ceil(s.period.0) + 1;
        assert!(
            r.run.bytes <= 200 * periods * 600,
            "{timing}: {} bytes",
            r.run.bytes
        );
        assert!(r.run.deferred_entries > 0, "{timing}");
    }
}
