//! Micro-benchmarks of the engine's hot parts: the event queue, one lock-step round, one
//! push-pull contact. `cargo bench --bench engine`; each group runs for a few seconds.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use gossip_sim::Setup;
use gossip_sim::internals::bench::Rounds;
use gossip_sim::internals::queue::{Event, EventQueue};
use gossip_sim::protocol::{AntiEntropy, Exchange};
use gossip_sim::scenario::*;
use gossip_sim::time::Time;

fn push_pull(_: &Setup) -> AntiEntropy {
    AntiEntropy::new(Exchange::PushPull { full_table: false })
}

/// Push-pull, fanout 1, one update at node 0, coverage off: the target workload.
fn scenario(nodes: u32) -> Scenario {
    Scenario {
        name: "bench".into(),
        seed: 1,
        nodes,
        trials: 1,
        max_rounds: 500,
        protocol: Protocol::named("push-pull"),
        overlay: Overlay::Full,
        timing: Timing::Rounds,
        period: Time::from_millis(1000),
        network: Network {
            loss: 0.0,
            latency: Latency::Uniform {
                min_ms: 10.0,
                max_ms: 100.0,
            },
            max_message_bytes: None,
            budget_bytes_per_period: None,
        },
        crashes: vec![],
        churn: None,
        workload: Workload {
            products: 1,
            explicit: vec![ExplicitUpdate {
                product: "P001".into(),
                price: 9.99,
                origin: 0,
                at: Time::ZERO,
            }],
            generated: None,
        },
        sizes: SizeModel::default(),
        output: OutputOptions {
            coverage: false,
            tables: false,
        },
        regions: None,
    }
}

/// Gossip's mix: a timer a period ahead, then messages 10-100 ms ahead, popped in order.
fn queue(c: &mut Criterion) {
    const EVENTS: u64 = 100_000;
    let mut group = c.benchmark_group("queue");
    group.throughput(Throughput::Elements(EVENTS));
    group.bench_function("push_pop_mixed_100k", |b| {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let period = 1_000_000u64;
        let mut q = EventQueue::for_period(Time(period));
        for node in 0..10_000u32 {
            q.push(Time(rng.random_range(0..period)), Event::Timer(node));
        }
        b.iter(|| {
            for _ in 0..EVENTS {
                let (at, event) = q.pop().expect("timers keep the queue full");
                match event {
                    Event::Timer(node) => {
                        q.push(at + Time(period), Event::Timer(node));
                        q.push(
                            at + Time(rng.random_range(10_000..=100_000)),
                            Event::Deliver(node),
                        );
                    }
                    other => {
                        black_box(other);
                    }
                }
            }
        });
    });
    group.finish();
}

/// One lock-step round of 10^5 nodes, in the middle of the spread (rounds 6 to 10).
fn round(c: &mut Criterion) {
    let s = scenario(100_000);
    let catalog = Catalog::new(&s.workload);
    let mut group = c.benchmark_group("lockstep");
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("round_100k_nodes", |b| {
        b.iter_batched_ref(
            || {
                let mut rounds = Rounds::new(&s, &catalog, push_pull);
                for _ in 0..6 {
                    rounds.round();
                }
                rounds
            },
            |rounds| rounds.round(),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

/// One digest push-pull contact between random nodes of 10^5, half of which hold the update.
fn contact(c: &mut Criterion) {
    const PAIRS: usize = 10_000;
    let s = scenario(100_000);
    let catalog = Catalog::new(&s.workload);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let pairs: Vec<(u32, u32)> = (0..PAIRS)
        .map(|_| (rng.random_range(0..100_000), rng.random_range(0..100_000)))
        .collect();
    let mut group = c.benchmark_group("contact");
    group.throughput(Throughput::Elements(PAIRS as u64));
    group.bench_function("exchange_digest_10k_of_100k", |b| {
        b.iter_batched_ref(
            || {
                let mut rounds = Rounds::new(&s, &catalog, push_pull);
                for _ in 0..9 {
                    rounds.round();
                }
                rounds
            },
            |rounds| rounds.exchange_contacts(&pairs),
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group! {
    name = engine;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = queue, round, contact
}
criterion_main!(engine);
