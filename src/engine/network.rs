//! The unreliable transport: decides, per message, whether it is lost and how long it takes.
//! Protocols never see this; the engine asks it for every message sent.
//!
//! With regions and a `[region_latency]` matrix, a message between two regions takes that
//! pair's latency; pairs the matrix does not name take `network.latency`. Every latency draw
//! comes from the network stream, whichever distribution it uses.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal};

use crate::scenario::{Latency, Network, NodeId, Regions};
use crate::seed::{self, Purpose};
use crate::time::Time;

pub struct Transport {
    loss: f64,
    latency: LatencySampler,
    rng: ChaCha8Rng,
    regional: Option<RegionalLatency>,
    /// Latencies drawn ahead, `drawn[next..]` still to hand out: see [`Transport::batched`].
    drawn: Box<[Time; BATCH]>,
    next: usize,
}

/// Latencies drawn at a time when the network stream draws nothing else.
const BATCH: usize = 64;

/// The latency matrix between regions.
struct RegionalLatency {
    /// First node id of each region, then `nodes`.
    starts: Vec<NodeId>,
    regions: usize,
    /// Per ordered region pair `(a, b)` at `a * regions + b`: an index into `samplers`, or
    /// `DEFAULT` for `network.latency`.
    pair: Vec<u16>,
    samplers: Vec<LatencySampler>,
}

const DEFAULT: u16 = u16::MAX;

enum LatencySampler {
    Constant(Time),
    Uniform { min_us: u64, max_us: u64 },
    Exponential(Exp<f64>),
    LogNormal(LogNormal<f64>),
}

impl Transport {
    pub fn new(network: &Network, trial_seed: u64) -> Transport {
        Transport {
            loss: network.loss,
            latency: LatencySampler::new(network.latency),
            rng: seed::stream(trial_seed, Purpose::Network),
            regional: None,
            drawn: Box::new([Time(0); BATCH]),
            next: BATCH,
        }
    }

    /// Latencies between regions from `regions`' matrix (nothing changes without one).
    pub fn with_regions(mut self, regions: &Regions) -> Transport {
        if regions.latency.is_empty() {
            return self;
        }
        let count = regions.regions.len();
        let mut pair = vec![DEFAULT; count * count];
        let mut samplers = Vec::with_capacity(regions.latency.len());
        for (i, entry) in regions.latency.iter().enumerate() {
            let (a, b) = (entry.a as usize, entry.b as usize);
            // At most 256 regions, so at most 32_896 pairs: they fit below DEFAULT.
            pair[a * count + b] = i as u16;
            pair[b * count + a] = i as u16;
            samplers.push(LatencySampler::new(entry.latency));
        }
        self.regional = Some(RegionalLatency {
            starts: regions.starts(),
            regions: count,
            pair,
            samplers,
        });
        self
    }
}

impl LatencySampler {
    fn new(latency: Latency) -> LatencySampler {
        match latency {
            Latency::Constant { ms } => LatencySampler::Constant(micros(ms)),
            Latency::Uniform { min_ms, max_ms } => LatencySampler::Uniform {
                min_us: micros(min_ms).0,
                max_us: micros(max_ms).0,
            },
            // Validation guarantees mean_ms > 0, median_ms > 0 and a finite sigma >= 0.
            Latency::Exponential { mean_ms } => {
                LatencySampler::Exponential(Exp::new(1.0 / mean_ms).expect("validated mean_ms > 0"))
            }
            Latency::LogNormal { median_ms, sigma } => LatencySampler::LogNormal(
                LogNormal::new(median_ms.ln(), sigma).expect("validated median_ms > 0, sigma >= 0"),
            ),
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> Time {
        match self {
            LatencySampler::Constant(t) => *t,
            LatencySampler::Uniform { min_us, max_us } => Time(rng.random_range(*min_us..=*max_us)),
            LatencySampler::Exponential(d) => micros(d.sample(rng)),
            LatencySampler::LogNormal(d) => micros(d.sample(rng)),
        }
    }
}

impl Transport {
    /// Whether messages may be lost: when not, [`Transport::lost`] draws nothing.
    #[inline(always)]
    pub fn lossy(&self) -> bool {
        self.loss > 0.0
    }

    /// Whether the next message is lost. A lossless network draws no random number, so turning
    /// loss off leaves every other draw of this stream where it was. Inlined into the kernels'
    /// contact loops (another codegen unit), where a disabled loss is one comparison.
    #[inline]
    pub fn lost(&mut self) -> bool {
        self.loss > 0.0 && self.rng.random_bool(self.loss)
    }

    /// Whether latencies may be drawn ahead in batches: when every draw of the network stream
    /// is a latency from one sampler (no loss, which draws between latencies, and no region
    /// matrix, which picks the sampler per message), the `k`-th message's latency is the
    /// stream's `k`-th sample whenever it is drawn. Lossless: the same values in the same order
    /// as drawing one at a time (a test compares). Nothing reads the stream after the last
    /// latency, so the batch's unused draws change nothing.
    #[inline(always)]
    fn batched(&self) -> bool {
        self.loss <= 0.0 && self.regional.is_none()
    }

    /// The latency of the next message from `from` to `to`: their regions' entry of the
    /// latency matrix, or `network.latency`. Inlined, for the batched draw's two loads.
    #[inline(always)]
    pub fn latency_between(&mut self, from: NodeId, to: NodeId) -> Time {
        if self.batched() {
            if self.next == BATCH {
                self.draw_batch();
            }
            self.next += 1;
            return self.drawn[self.next - 1];
        }
        self.latency_one_at_a_time(from, to)
    }

    #[inline(never)]
    fn latency_one_at_a_time(&mut self, from: NodeId, to: NodeId) -> Time {
        let Some(regional) = &self.regional else {
            return self.latency.sample(&mut self.rng);
        };
        let a = super::peers::region_of(&regional.starts, from);
        let b = super::peers::region_of(&regional.starts, to);
        match regional.pair[a * regional.regions + b] {
            DEFAULT => self.latency.sample(&mut self.rng),
            i => regional.samplers[i as usize].sample(&mut self.rng),
        }
    }

    /// The next `BATCH` latencies, in the stream's order, out of the per-message path.
    #[inline(never)]
    fn draw_batch(&mut self) {
        for latency in self.drawn.iter_mut() {
            *latency = self.latency.sample(&mut self.rng);
        }
        self.next = 0;
    }
}

/// The longest latency: a quarter of the time range, so that `now + latency` cannot overflow.
const LONGEST: f64 = (u64::MAX / 4) as f64;

/// Milliseconds (as configured, or sampled) to whole microseconds, saturating on absurd values.
/// Above about 1.8e305 ms, `ms * 1000` is infinite: that is the longest latency, not none (a
/// uniform range would otherwise end below its start, and a log-normal tail would deliver at
/// once). Only NaN or a negative value, which validation and the samplers rule out, is zero.
fn micros(ms: f64) -> Time {
    let us = (ms * 1000.0).round();
    if us >= 0.0 {
        Time(us.min(LONGEST) as u64)
    } else {
        Time(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Latencies drawn in batches are the values, in the order, of drawing one at a time from
    /// the same stream: for every sampler, across several batches.
    #[test]
    fn batched_latencies_are_the_one_at_a_time_draws() {
        let latencies = [
            Latency::Constant { ms: 5.0 },
            Latency::Uniform {
                min_ms: 10.0,
                max_ms: 100.0,
            },
            Latency::Exponential { mean_ms: 30.0 },
            Latency::LogNormal {
                median_ms: 20.0,
                sigma: 0.5,
            },
        ];
        for latency in latencies {
            let network = Network {
                loss: 0.0,
                latency,
                max_message_bytes: None,
                budget_bytes_per_period: None,
            };
            let mut transport = Transport::new(&network, 11);
            assert!(transport.batched());
            let sampler = LatencySampler::new(latency);
            let mut rng = seed::stream(11, Purpose::Network);
            for i in 0..(3 * BATCH + 7) {
                let one_at_a_time = sampler.sample(&mut rng);
                assert_eq!(
                    transport.latency_between(0, 1),
                    one_at_a_time,
                    "{latency:?} #{i}"
                );
            }
        }
        // A lossy network draws between latencies: one at a time.
        let lossy = Network {
            loss: 0.1,
            latency: latencies[1],
            max_message_bytes: None,
            budget_bytes_per_period: None,
        };
        assert!(!Transport::new(&lossy, 11).batched());
    }

    /// Found by the fuzz test: `max_ms = 1e306` became 0 µs, below `min_ms`, and sampling the
    /// uniform latency panicked ("cannot sample empty range").
    #[test]
    fn a_latency_beyond_the_microsecond_range_is_the_longest_not_zero() {
        assert_eq!(micros(1e306), Time(LONGEST as u64));
        assert_eq!(micros(f64::MAX), Time(LONGEST as u64));
        assert_eq!(micros(f64::INFINITY), Time(LONGEST as u64));
        assert_eq!(micros(f64::NAN), Time(0));
        assert_eq!(micros(-1.0), Time(0));
        assert_eq!(micros(1.5), Time(1500));
        let network = Network {
            loss: 0.0,
            latency: Latency::Uniform {
                min_ms: 1e300,
                max_ms: f64::MAX,
            },
            max_message_bytes: None,
            budget_bytes_per_period: None,
        };
        let mut transport = Transport::new(&network, 7);
        for _ in 0..100 {
            assert!(transport.latency_between(0, 1) >= micros(1e300));
        }
    }

    /// A log-normal with a huge sigma overflows to infinity for about half the draws: those
    /// messages never arrive in the run, they do not arrive at once.
    #[test]
    fn an_infinite_latency_sample_is_the_longest() {
        let network = Network {
            loss: 0.0,
            latency: Latency::LogNormal {
                median_ms: 1.0,
                sigma: 1000.0,
            },
            max_message_bytes: None,
            budget_bytes_per_period: None,
        };
        let mut transport = Transport::new(&network, 7);
        let samples: Vec<Time> = (0..200).map(|_| transport.latency_between(0, 1)).collect();
        let longest = samples
            .iter()
            .filter(|t| **t == Time(LONGEST as u64))
            .count();
        // ln(latency_ms) ~ N(0, 1000): a draw exceeds the longest latency (about 4.6e15 ms,
        // ln = 36) with probability 0.486, so about 97 of 200 (standard deviation 7). Before
        // the fix, the quarter of draws beyond f64's range (ln > 703) counted as zero, leaving
        // about 48.
        assert!((75..=125).contains(&longest), "{longest} of 200 longest");
    }
}
