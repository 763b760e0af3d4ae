//! Merkle-tree digests and set-reconciliation sketches against their size models (README,
//! "Size model"), on tiny fixed cases with exact expected bytes, messages and round trips; and
//! their convergence against the full-digest push-pull baseline.
//!
//! The fixed case: 2 nodes, rounds timing, a catalog of 256 products, `d` explicit updates at
//! node 1 on products P000001 ... in round 0. Node 0 opens an exchange with node 1 (partner
//! newer on d products), then node 1 opens one with node 0, which, reading the start of the
//! round, still lacks them (initiator newer on d); then everything has retired and the run
//! ends. Sizes: header 32, entry 24, digest entry 16.

use gossip_sim::MessageKind;
use gossip_sim::protocol::Shape;
use gossip_sim::report::TrialReport;
use gossip_sim::scenario::SizeModel;

use crate::support::{scenario, trials};

const SIZES: SizeModel = SizeModel {
    header: 32,
    entry: 24,
    digest_entry: 16,
};

/// The fixed case with `protocol` (its `[protocol]` keys) and `d` differing products.
fn two_nodes(protocol: &str, d: u32) -> TrialReport {
    two_nodes_over(protocol, d, 256)
}

/// The fixed case over a catalog of `products`.
fn two_nodes_over(protocol: &str, d: u32, products: u32) -> TrialReport {
    let updates: String = (1..=d)
        .map(|p| format!("[[updates]]\nproduct = \"P{p:06}\"\nprice = 5.0\norigin = 1\n"))
        .collect();
    let s = scenario(&format!(
        "name = \"reconcile\"\nnodes = 2\nmax_rounds = 20\n[protocol]\n{protocol}\n\
         [workload]\nproducts = {products}\n{updates}[output]\ncoverage = false\n"
    ));
    let report = trials(&s, 1).remove(0);
    for u in &report.updates {
        assert!(
            u.reached_all.is_some(),
            "{protocol}: update {} never spread",
            u.update
        );
    }
    report
}

fn count(r: &TrialReport, kind: MessageKind) -> u64 {
    r.run.messages_by_kind[kind as usize]
}

/// The baseline: a full digest each way (256 x 16 + 32 = 4,128 bytes), the missing entries.
/// d = 1: 4,128 + 4,152 (partner newer: one entry in the reply), then 4,128 + 4,128 + 56
/// (initiator newer: the close carries it) = 16,592 bytes.
#[test]
fn the_full_digest_baseline_costs_the_catalog_each_way() {
    let r = two_nodes("kind = \"push-pull\"", 1);
    assert_eq!(r.run.bytes, 16_592);
}

/// Merkle, 16-ary over 256 products (depth 2), one product per leaf, one difference
/// (the size model, README "Size model"; exact, hashes at 8 bytes each): partner newer 504
/// bytes in 3 round trips (2 of descent = the depth, 1 of repair), initiator newer 552 bytes
/// (its repair names the entry, a close ships it): 1,056 bytes, 16 times less than the full
/// digest.
#[test]
fn merkle_costs_depth_round_trips_for_a_single_difference() {
    let r = two_nodes("kind = \"merkle\"", 1);
    let shape = Shape::new(16, 1, 256);
    assert_eq!(shape.depth, 2);
    let expected = shape.exchange_cost(&[0], (0, 1), 8).bytes(&SIZES)
        + shape.exchange_cost(&[0], (1, 0), 8).bytes(&SIZES);
    assert_eq!(expected, 504 + 552);
    assert_eq!(r.run.bytes, expected);
    // Per exchange: depth + 1 requests (descent, leaves), as many responses, one close.
    assert_eq!(count(&r, MessageKind::ExchangeOpen), 2 * (2 + 1));
    assert_eq!(count(&r, MessageKind::ExchangeReply), 2 * (2 + 1));
    assert_eq!(count(&r, MessageKind::ExchangeClose), 1);
    // Depth 1 (16 products), 3 (4,096) and 4 (65,536): depth + 1 requests per exchange, and
    // the bytes `Shape::exchange_cost` states.
    for (products, depth) in [(16, 1), (4_096, 3), (65_536, 4)] {
        let r = two_nodes_over("kind = \"merkle\"", 1, products);
        let shape = Shape::new(16, 1, u64::from(products));
        assert_eq!(shape.depth, depth);
        assert_eq!(
            count(&r, MessageKind::ExchangeOpen),
            2 * (u64::from(depth) + 1)
        );
        let expected = shape.exchange_cost(&[0], (0, 1), 8).bytes(&SIZES)
            + shape.exchange_cost(&[0], (1, 0), 8).bytes(&SIZES);
        assert_eq!(r.run.bytes, expected, "{products} products");
    }
}

/// Merkle with d = 20 differences, products 0 ..= 19 (under level-1 nodes 0 and 1):
/// per exchange 1 + 16 + 2 + 32 hashes = 51 x 8 = 408 bytes, 20 leaf digest entries, 20
/// entries; exactly what `Shape::exchange_cost` states, and under the full digest.
#[test]
fn merkle_costs_what_its_size_model_states_for_a_known_difference() {
    let d = 20;
    let r = two_nodes("kind = \"merkle\"", d);
    let shape = Shape::new(16, 1, 256);
    let products: Vec<u32> = (0..d).collect();
    let partner = shape.exchange_cost(&products, (0, 20), 8);
    let initiator = shape.exchange_cost(&products, (20, 0), 8);
    assert_eq!((partner.hashes, partner.hash_bytes), (51, 408));
    // 6 headers (192) + 408 + 20 digest entries (320) + 20 entries (480).
    assert_eq!(partner.bytes(&SIZES), 1_400);
    // 7 headers (224) + 408 + 40 digest entries (640) + 20 entries (480).
    assert_eq!(initiator.bytes(&SIZES), 1_752);
    assert_eq!(r.run.bytes, 1_400 + 1_752);
    let baseline = two_nodes("kind = \"push-pull\"", d);
    assert!(r.run.bytes < baseline.run.bytes);
}

/// Minisketch of capacity 16 (Erlay; exact): d = 8 differing products are 16 elements, which
/// decode. Each exchange: the sketch (32 + 16 x 8 = 160 bytes), the repair; partner newer
/// 160 + 32 + 8 x 24 = 384, initiator newer 160 + (32 + 8 x 16) + (32 + 8 x 24) = 544.
#[test]
fn a_minisketch_costs_its_capacity_when_the_difference_decodes() {
    let r = two_nodes(
        "kind = \"sketch\"\ncapacity = 16\nfallback = \"full-digest\"",
        8,
    );
    assert_eq!(r.run.bytes, 384 + 544);
    assert_eq!(count(&r, MessageKind::ExchangeOpen), 2);
    let baseline = two_nodes("kind = \"push-pull\"", 8);
    assert!(r.run.bytes < baseline.run.bytes);
}

/// The fallback starts exactly when the difference exceeds the capacity: d = 9 products are
/// 18 elements > 16. Each exchange then costs the failed sketch (160 bytes) plus the
/// full-digest exchange the partner opens: partner newer 160 + 4,128 + 4,128 + (32 + 9 x 24)
/// = 8,664; initiator newer 160 + 4,128 + (32 + 9 x 24 + 4,096) = 8,632.
#[test]
fn the_sketch_falls_back_exactly_when_the_difference_exceeds_its_capacity() {
    let protocol = "kind = \"sketch\"\ncapacity = 16\nfallback = \"full-digest\"";
    for d in 1..=8 {
        let r = two_nodes(protocol, d);
        // Decoded: one sketch per exchange, no full digest.
        assert_eq!(count(&r, MessageKind::ExchangeOpen), 2, "d = {d}");
        assert!(r.run.bytes < 1_000, "d = {d}: {} bytes", r.run.bytes);
    }
    let r = two_nodes(protocol, 9);
    // Failed: the sketch and the full digest's open, per exchange.
    assert_eq!(count(&r, MessageKind::ExchangeOpen), 4);
    assert_eq!(r.run.bytes, 8_664 + 8_632);
}

/// Erlay's bisection: capacity 16, d = 9 (18 elements). The partner asks for the half
/// sketch (a bare header) and decodes both halves if each has at most 16 elements; the
/// cost of the failed first attempt is counted: 160 + 32 + 160 before the repair.
#[test]
fn bisection_recovers_a_difference_up_to_twice_the_capacity() {
    let r = two_nodes("kind = \"sketch\"\ncapacity = 16", 9);
    // Both halves of 18 elements under 16 unless the split is 17/1 or worse: here it is not
    // (fixed seed), so no full digest: sketch + half sketch per exchange.
    assert_eq!(count(&r, MessageKind::ExchangeOpen), 4);
    let repair = (32 + 9 * 24) + (32 + 9 * 16) + (32 + 9 * 24);
    assert_eq!(r.run.bytes, 2 * (160 + 32 + 160) + repair);
    // Beyond twice the capacity bisection cannot decode: the full digest follows.
    let r = two_nodes("kind = \"sketch\"\ncapacity = 16", 17);
    assert_eq!(count(&r, MessageKind::ExchangeOpen), 2 * 3);
}

/// An IBLT of capacity 16 (24 cells of 16 bytes = 384 bytes) decodes a difference of 2
/// elements (Eppstein et al. 2011: far below its peeling threshold).
#[test]
fn an_iblt_costs_its_cells() {
    let r = two_nodes(
        "kind = \"sketch\"\nsketch = \"iblt\"\ncapacity = 16\nfallback = \"full-digest\"",
        1,
    );
    assert_eq!(count(&r, MessageKind::ExchangeOpen), 2);
    let sketch = 32 + 24 * 16;
    assert_eq!(r.run.bytes, 2 * sketch + (32 + 24) + (32 + 16) + (32 + 24));
}

/// A loaded scenario: 60 nodes, a catalog of 2,000 products, 300 updates over 30 rounds, 5%
/// loss, in both timings. Every strategy delivers every update to every node, and Merkle and
/// the sketch send fewer bytes than the full digest (the differences stay small).
#[test]
fn merkle_and_sketches_converge_and_undercut_the_full_digest() {
    for timing in ["rounds", "async"] {
        let run = |protocol: &str| {
            let s = scenario(&format!(
                "name = \"reconcile\"\nseed = 15\nnodes = 60\nmax_rounds = 400\n\
                 [protocol]\n{protocol}\ntiming = \"{timing}\"\n[network]\nloss = 0.05\n\
                 [workload]\nproducts = 2000\nupdates = 300\nper_round = 10.0\n\
                 [output]\ncoverage = false\n"
            ));
            let reports = trials(&s, 3);
            for r in &reports {
                // Without bounds nothing waits.
                assert_eq!(r.run.deferred_entries, 0, "{protocol} {timing}");
                for u in &r.updates {
                    assert!(
                        u.reached_all.is_some(),
                        "{protocol} {timing}: seed {} update {} never reached all",
                        r.seed,
                        u.update
                    );
                }
            }
            reports.iter().map(|r| r.run.bytes).sum::<u64>()
        };
        let baseline = run("kind = \"push-pull\"");
        for protocol in [
            "kind = \"merkle\"",
            "kind = \"merkle\"\nbranching = 4\nleaf_size = 8",
            "kind = \"sketch\"",
            "kind = \"sketch\"\nsketch = \"iblt\"\nfallback = \"full-digest\"",
        ] {
            let bytes = run(protocol);
            eprintln!("{timing} {protocol:?}: {bytes} bytes, full digest {baseline}");
            assert!(
                bytes < baseline,
                "{timing} {protocol}: {bytes} >= {baseline}"
            );
        }
    }
}

/// In `async` timing every Merkle level is a real round trip: 2 nodes, constant latency
/// 50 ms, one update at node 1. Push-pull delivers it one round trip after the first exchange
/// opens (or 1.5 when node 1 opens and its close carries it); Merkle over 256 products
/// (depth 2) needs its 2 descent round trips first, so it arrives exactly 2 x 100 ms later.
/// Same seed, so the same timers open the same first exchange.
#[test]
fn merkle_levels_cost_real_round_trips_in_async_timing() {
    let delay = |kind: &str| {
        let s = scenario(&format!(
            "name = \"reconcile\"\nseed = 3\nnodes = 2\nmax_rounds = 20\n[protocol]\n\
             kind = \"{kind}\"\ntiming = \"async\"\n[workload]\nproducts = 256\n\
             [[updates]]\nproduct = \"P000001\"\nprice = 5.0\norigin = 1\n\
             [output]\ncoverage = false\n"
        ));
        let r = trials(&s, 1).remove(0);
        let u = &r.updates[0];
        u.reached_all.expect("reached node 0").0 - u.injected_at.0
    };
    let (push_pull, merkle) = (delay("push-pull"), delay("merkle"));
    eprintln!("async delivery: push-pull {push_pull} us, merkle {merkle} us");
    assert_eq!(merkle - push_pull, 2 * 100_000);
}

/// Same scenario and seed, same reports, in both timings (randomness only through the
/// protocol's own stream: the IBLT salts and the bisection split); and every update that left
/// its origin reaches every live node (one whose origin crashes and loses its table before
/// its first exchange reaches nobody, under push-pull too).
#[test]
fn merkle_and_sketches_are_deterministic() {
    let s = |protocol: &str, timing: &str| {
        scenario(&format!(
            "name = \"reconcile\"\nseed = 8\nnodes = 30\nmax_rounds = 300\n\
             [protocol]\n{protocol}\ntiming = \"{timing}\"\n[network]\nloss = 0.1\n\
             [workload]\nproducts = 500\nupdates = 80\nper_round = 8.0\n\
             [[crashes]]\nat_round = 3\nnodes = [4]\nrecover_after_rounds = 3\n\
             keep_state = false\n"
        ))
    };
    for timing in ["rounds", "async"] {
        for protocol in [
            "kind = \"merkle\"\nbranching = 4",
            "kind = \"sketch\"\nsketch = \"iblt\"\ncapacity = 8",
            "kind = \"sketch\"\ncapacity = 4",
        ] {
            let s = s(protocol, timing);
            let (a, b) = (trials(&s, 2), trials(&s, 2));
            assert_eq!(a, b, "{protocol} {timing}");
            for r in &a {
                for u in r.updates.iter().filter(|u| u.deliveries > 0) {
                    assert!(
                        u.reached_all.is_some(),
                        "{protocol} {timing}: seed {} update {} reached {} of {}",
                        r.seed,
                        u.update,
                        u.final_informed,
                        u.final_alive
                    );
                }
            }
        }
    }
}

/// The storefront question at a small scale, under memberlist's 1,400-byte message and a
/// budget of 4,000 bytes per node per period: 40 nodes, 10,000 products, 400 updates. Both
/// kinds honour the bounds (no message over the limit, none over the budget), deliver every
/// update to every node in both timings, and the full-digest fallback pages when it runs.
#[test]
fn merkle_and_sketches_honour_the_bandwidth_bounds() {
    for timing in ["rounds", "async"] {
        for protocol in [
            "kind = \"merkle\"",
            "kind = \"merkle\"\nleaf_size = 16\npriority = \"round-robin\"",
            "kind = \"sketch\"\ncapacity = 160",
            "kind = \"sketch\"\nsketch = \"iblt\"\ncapacity = 56\nfallback = \"full-digest\"",
        ] {
            let s = scenario(&format!(
                "name = \"reconcile\"\nseed = 21\nnodes = 40\nmax_rounds = 3000\n\
                 [protocol]\n{protocol}\ntiming = \"{timing}\"\n\
                 [network]\nmax_message_bytes = 1400\nbudget_bytes_per_period = 4000\n\
                 [workload]\nproducts = 10000\nupdates = 400\nper_round = 20.0\n\
                 [output]\ncoverage = false\n"
            ));
            let r = trials(&s, 1).remove(0);
            let done = r.updates.iter().filter(|u| u.reached_all.is_some()).count();
            let last = r.updates.iter().filter_map(|u| u.reached_all).max();
            eprintln!(
                "{timing} {protocol:?}: {done}/400 reached all, last at {last:?}, {} bytes, \
                 deferred {}, oversize {}, over budget {}",
                r.run.bytes,
                r.run.deferred_entries,
                r.run.oversize_messages,
                r.run.over_budget_messages
            );
            assert_eq!(done, 400, "{timing} {protocol}");
            assert_eq!(r.run.oversize_messages, 0, "{timing} {protocol}");
            assert_eq!(r.run.over_budget_messages, 0, "{timing} {protocol}");
        }
    }
}

/// A sketch is one message: a capacity whose sketch exceeds network.max_message_bytes is an
/// error naming the key and the value (32 + 200 x 8 = 1,632 bytes > 1,400).
#[test]
fn a_sketch_over_the_message_limit_is_refused() {
    let doc = "name = \"reconcile\"\nnodes = 4\n[protocol]\nkind = \"sketch\"\ncapacity = 200\n\
               [network]\nmax_message_bytes = 1400\n[[updates]]\nproduct = \"P1\"\nprice = 1.0\n\
               origin = 0\n";
    let e = gossip_sim::scenario::parse(doc, "test.toml", &[])
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains(
            "protocol.capacity = 200: a sketch message of 1632 bytes exceeds \
             network.max_message_bytes = 1400"
        ),
        "{e}"
    );
}

/// The default capacity (32) shrinks to the largest whose sketch fits the limit: at 200
/// bytes the sketch has 168 after the header, 21 elements of 8 bytes (200 in all). At 1,400
/// bytes 32 fits (288).
#[test]
fn the_default_capacity_shrinks_to_fit_the_message_limit() {
    let doc = |limit: u32| {
        format!(
            "name = \"reconcile\"\nnodes = 4\n[protocol]\nkind = \"sketch\"\n\
             [network]\nmax_message_bytes = {limit}\n[[updates]]\nproduct = \"P1\"\n\
             price = 1.0\norigin = 0\n"
        )
    };
    let capacity = |limit: u32| scenario(&doc(limit)).protocol.config["capacity"].clone();
    assert_eq!(capacity(200), toml::Value::Integer(21));
    assert_eq!(capacity(1400), toml::Value::Integer(32));
}
