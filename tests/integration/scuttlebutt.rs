//! Scuttlebutt (van Renesse, Dumitriu, Gough & Chapman 2008): the bytes of one exchange from the
//! size model, the same convergence as push-pull without bounds, and the paper's two orderings
//! under a tight message limit.

use crate::support::{mean, scenario, trials};

/// Two nodes, a 1,000-product catalog, one update at node 0. The digest lists one origin (16
/// bytes) where push-pull's lists the catalog (16,000). Round 0: node 0 opens (32 + 16), node 1
/// replies with nothing node 0 lacks and its digest (32 + 16), node 0 closes with the update
/// (32 + 24); node 1 opens (48) and node 0 replies with the update again, since node 1 learns it
/// only at the end of the round (32 + 24 + 16): 272 bytes in 5 messages.
#[test]
fn one_exchange_costs_what_the_size_model_says() {
    let s = scenario(
        r#"
name = "sb"
seed = 1
nodes = 2
max_rounds = 10
[protocol]
kind = "scuttlebutt"
[workload]
products = 1000
[[updates]]
product = "P000001"
price = 1.0
origin = 0
"#,
    );
    let r = &trials(&s, 1)[0];
    assert_eq!((r.run.messages, r.run.bytes), (5, 272));
    assert_eq!(
        r.updates[0].reached_all,
        Some(gossip_sim::Time::from_millis(1000))
    );
}

/// Without bounds Scuttlebutt sends exact differences, as push-pull does, in the same three
/// messages: one update over 1,000 nodes reaches everyone as fast (Karp et al. 2000: log3 n +
/// O(ln ln n) rounds in lock-step). Mean of 30 trials each, in either timing, within half a
/// round of push-pull's (measured: the same, 9.03 rounds in lock-step, 6.74 in async: with one
/// update the two send the same messages to the same partners).
#[test]
fn unbounded_it_spreads_like_push_pull_in_both_timings() {
    for timing in ["rounds", "async"] {
        let mean_rounds = |kind: &str| {
            let s = scenario(&format!(
                r#"
name = "sb"
seed = 3
nodes = 1000
max_rounds = 100
[protocol]
kind = "{kind}"
timing = "{timing}"
[[updates]]
product = "P1"
price = 1.0
origin = 0
[output]
coverage = false
"#
            ));
            let reports = trials(&s, 30);
            assert!(reports.iter().all(|r| r.run.oversize_messages == 0));
            mean(&crate::support::rounds_to_all(&s, &reports, 0))
        };
        let (sb, pp) = (mean_rounds("scuttlebutt"), mean_rounds("push-pull"));
        eprintln!("{timing}: scuttlebutt {sb}, push-pull {pp}");
        assert!(
            (sb - pp).abs() <= 0.5,
            "{timing}: scuttlebutt {sb}, push-pull {pp}"
        );
    }
}

/// An overloaded group under a tight limit (van Renesse et al. 2008, section 3.3 and 5): node
/// 0 writes 4 updates a round and nodes 1-8 one each, for 30 rounds, on 20 nodes; a message
/// holds a header and 7 entries (200 bytes), the digest of 9 origins takes 144 of them. Scuttle-
/// breadth sends deltas by version number, and the busiest origin's versions run ahead of
/// everyone's: its updates wait behind every quieter origin's, so it is starved. Scuttle-depth
/// serves the origin with the most deltas first. Measured over seeds 1-5 (mean rounds to reach
/// everyone): the busy origin's updates take 34 rounds under depth and 57 under breadth; the
/// quiet origins' about 20 under both. Asserted: breadth at least 1.4 times depth for the busy
/// origin, the quiet origins within 25% of each other.
#[test]
fn scuttle_breadth_starves_the_busiest_origin_under_a_tight_limit() {
    let group = |ordering: &str, seed: u64| {
        let mut text = format!(
            r#"
name = "overload"
seed = {seed}
nodes = 20
max_rounds = 300
[protocol]
kind = "scuttlebutt"
ordering = "{ordering}"
[network]
max_message_bytes = 200
[workload]
products = 2000
[output]
coverage = false
"#
        );
        let mut product = 1;
        for round in 0..30 {
            let origins = std::iter::repeat_n(0, 4).chain(1..=8);
            for origin in origins {
                text.push_str(&format!(
                    "[[updates]]\nproduct = \"P{product:06}\"\nprice = 1.0\norigin = {origin}\n\
                     at_round = {round}\n"
                ));
                product += 1;
            }
        }
        trials(&scenario(&text), 1).remove(0)
    };
    let rounds = |ordering: &str, busy: bool| -> f64 {
        let mut all = Vec::new();
        for seed in 1..=5 {
            let r = group(ordering, seed);
            assert_eq!(r.run.oversize_messages, 0);
            for u in r.updates.iter().filter(|u| (u.origin == 0) == busy) {
                let reached = u.reached_all.expect("every update reaches everyone");
                all.push((reached.0 - u.injected_at.0) as f64 / 1e6);
            }
        }
        mean(&all)
    };
    let (depth, breadth) = (rounds("depth", true), rounds("breadth", true));
    assert!(
        breadth >= 1.4 * depth,
        "busy origin: depth {depth}, breadth {breadth}"
    );
    let (depth, breadth) = (rounds("depth", false), rounds("breadth", false));
    assert!(
        (breadth / depth - 1.0).abs() <= 0.25,
        "quiet origins: depth {depth}, breadth {breadth}"
    );
}
