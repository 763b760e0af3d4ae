//! The unreliable transport: decides, per message, whether it is lost and how long it takes.
//! Protocols never see this; the engine asks it for every message sent.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal};

use crate::scenario::{Latency, Network};
use crate::seed::{self, Purpose};
use crate::time::Time;

pub struct Transport {
    loss: f64,
    latency: LatencySampler,
    rng: ChaCha8Rng,
}

enum LatencySampler {
    Constant(Time),
    Uniform { min_us: u64, max_us: u64 },
    Exponential(Exp<f64>),
    LogNormal(LogNormal<f64>),
}

impl Transport {
    pub fn new(network: &Network, trial_seed: u64) -> Transport {
        let latency = match network.latency {
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
        };
        Transport {
            loss: network.loss,
            latency,
            rng: seed::stream(trial_seed, Purpose::Network),
        }
    }

    /// Whether the next message is lost. A lossless network draws no random number, so turning
    /// loss off leaves every other draw of this stream where it was.
    #[inline(always)]
    pub fn lost(&mut self) -> bool {
        self.loss > 0.0 && self.rng.random_bool(self.loss)
    }

    pub fn latency(&mut self) -> Time {
        match &self.latency {
            LatencySampler::Constant(t) => *t,
            LatencySampler::Uniform { min_us, max_us } => {
                Time(self.rng.random_range(*min_us..=*max_us))
            }
            LatencySampler::Exponential(d) => micros(d.sample(&mut self.rng)),
            LatencySampler::LogNormal(d) => micros(d.sample(&mut self.rng)),
        }
    }
}

/// Milliseconds (as configured) to whole microseconds, saturating on absurd values.
fn micros(ms: f64) -> Time {
    let us = (ms * 1000.0).round();
    if us.is_finite() && us >= 0.0 {
        Time(us.min(u64::MAX as f64 / 4.0) as u64)
    } else {
        Time(0)
    }
}
