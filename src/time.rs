//! Simulated time: an integer count of microseconds, never a float.
//!
//! In `rounds` timing, round `r` spans `[r * period, (r + 1) * period)`; what is learnt in round
//! `r` counts as learnt at the end of the round, time `(r + 1) * period`. Both timings therefore
//! report "rounds" the same way: elapsed time divided by the gossip period.

use std::fmt;
use std::ops::{Add, Sub};

/// A point in simulated time, in microseconds since the start of a trial.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub u64);

impl Time {
    pub const ZERO: Time = Time(0);
    pub const MAX: Time = Time(u64::MAX);

    pub const fn from_micros(us: u64) -> Time {
        Time(us)
    }

    pub const fn from_millis(ms: u64) -> Time {
        Time(ms.saturating_mul(1000))
    }

    pub const fn micros(self) -> u64 {
        self.0
    }

    /// Milliseconds as a float, for output only.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub fn saturating_add(self, other: Time) -> Time {
        Time(self.0.saturating_add(other.0))
    }
}

impl Add for Time {
    type Output = Time;
    fn add(self, rhs: Time) -> Time {
        Time(self.0 + rhs.0)
    }
}

impl Sub for Time {
    type Output = Time;
    fn sub(self, rhs: Time) -> Time {
        Time(self.0 - rhs.0)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}us", self.0)
    }
}
