//! The event queue: events come out ordered by `(time, seq)`, where `seq` is the insertion
//! counter, so events at equal times come out first-in, first-out. That tie-break rule is part of
//! the determinism contract: never change it without re-pinning every result.
//!
//! Gossip produces many events at few, nearby times (a million timers spread over one period,
//! messages a few milliseconds ahead), so this is a calendar queue: a ring of buckets, each
//! `width` microseconds wide, covering a horizon ahead of the cursor. Inserting is a push onto a
//! bucket's vector; a bucket is sorted once when the cursor reaches it. Events beyond the horizon
//! wait in a binary heap and join their bucket when it becomes current.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::time::Time;

/// What happens. Kept to 8 bytes so an entry is 24.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Event {
    /// A node's gossip timer fires (async timing).
    Timer(u32),
    /// A message arrives (index into the in-flight message table).
    Deliver(u32),
    /// The i-th planned update is injected.
    Inject(u32),
    /// The i-th crash plan of the scenario takes effect.
    CrashPlan(u32),
    /// A crashed node comes back.
    Recover(u32),
    /// The next churn crash.
    Churn,
    /// End of a gossip period: sampling, retirement, termination (async timing).
    Tick,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    time: u64,
    seq: u64,
    event: Event,
}

pub struct EventQueue {
    width: u64,
    buckets: Vec<Vec<Entry>>,
    /// Start time of the current bucket.
    cursor: u64,
    cursor_index: usize,
    /// The current bucket, sorted descending so the next event is at the end.
    current: Vec<Entry>,
    /// Events inserted into the current bucket's time range after it was sorted.
    late: BinaryHeap<Reverse<Entry>>,
    /// Events beyond the horizon.
    far: BinaryHeap<Reverse<Entry>>,
    in_ring: usize,
    len: usize,
    next_seq: u64,
    now: u64,
}

impl EventQueue {
    /// `width`: bucket width in microseconds; `buckets`: ring size.
    pub fn new(width: Time, buckets: usize) -> EventQueue {
        let buckets = buckets.max(1);
        EventQueue {
            width: width.0.max(1),
            buckets: (0..buckets).map(|_| Vec::new()).collect(),
            cursor: 0,
            cursor_index: 0,
            current: Vec::new(),
            late: BinaryHeap::new(),
            far: BinaryHeap::new(),
            in_ring: 0,
            len: 0,
            next_seq: 0,
            now: 0,
        }
    }

    /// A queue sized for gossip with this period: about 256 buckets per period, two periods ahead.
    pub fn for_period(period: Time) -> EventQueue {
        let width = (period.0 / 256).max(1);
        EventQueue::new(Time(width), 512)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The insertion counter the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Schedules `event` at `time`, which must not be in the past.
    pub fn push(&mut self, time: Time, event: Event) {
        debug_assert!(time.0 >= self.now, "event scheduled in the past");
        let entry = Entry {
            time: time.0.max(self.now),
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        self.len += 1;
        let bucket_end = self.cursor + self.width;
        if entry.time < bucket_end {
            self.late.push(Reverse(entry));
        } else if entry.time < self.cursor + self.width * self.buckets.len() as u64 {
            let offset = ((entry.time - self.cursor) / self.width) as usize;
            let index = (self.cursor_index + offset) % self.buckets.len();
            self.buckets[index].push(entry);
            self.in_ring += 1;
        } else {
            self.far.push(Reverse(entry));
        }
    }

    /// The time of the next event, if any.
    pub fn peek_time(&mut self) -> Option<Time> {
        if !self.fill_current() {
            return None;
        }
        let a = self.current.last().map(|e| e.time);
        let b = self.late.peek().map(|Reverse(e)| e.time);
        match (a, b) {
            (Some(a), Some(b)) => Some(Time(a.min(b))),
            (a, b) => a.or(b).map(Time),
        }
    }

    pub fn pop(&mut self) -> Option<(Time, Event)> {
        if !self.fill_current() {
            return None;
        }
        let from_current = match (self.current.last(), self.late.peek()) {
            (Some(a), Some(Reverse(b))) => a < b,
            (Some(_), None) => true,
            _ => false,
        };
        let entry = if from_current {
            self.current.pop().expect("checked non-empty")
        } else {
            self.late.pop().expect("checked non-empty").0
        };
        self.len -= 1;
        self.now = entry.time;
        Some((Time(entry.time), entry.event))
    }

    /// Advances the cursor until the current bucket holds an event. False when the queue is empty.
    fn fill_current(&mut self) -> bool {
        while self.current.is_empty() && self.late.is_empty() {
            if self.len == 0 {
                return false;
            }
            if self.in_ring == 0 {
                // Nothing within the horizon: jump the cursor to the far event's bucket.
                let Reverse(next) = *self.far.peek().expect("len > 0 and ring empty");
                let skip = (next.time - self.cursor) / self.width;
                self.cursor += skip * self.width;
                self.cursor_index = (self.cursor_index + skip as usize) % self.buckets.len();
            } else {
                self.cursor += self.width;
                self.cursor_index = (self.cursor_index + 1) % self.buckets.len();
            }
            std::mem::swap(&mut self.current, &mut self.buckets[self.cursor_index]);
            self.in_ring -= self.current.len();
            let bucket_end = self.cursor + self.width;
            while let Some(Reverse(e)) = self.far.peek() {
                if e.time >= bucket_end {
                    break;
                }
                self.current.push(self.far.pop().expect("peeked").0);
            }
            self.current.sort_unstable_by(|a, b| b.cmp(a));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn equal_times_come_out_first_in_first_out() {
        let mut q = EventQueue::new(Time(10), 4);
        q.push(Time(5), Event::Timer(1));
        q.push(Time(5), Event::Timer(0));
        q.push(Time(5), Event::Timer(2));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(
            order,
            vec![Event::Timer(1), Event::Timer(0), Event::Timer(2)]
        );
    }

    #[test]
    fn matches_a_sorted_reference_under_random_interleaving() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut q = EventQueue::new(Time(7), 16);
        let mut reference = BinaryHeap::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for step in 0..20_000 {
            if rng.random_bool(0.55) || reference.is_empty() {
                // Mostly near events, sometimes far beyond the horizon.
                let ahead = if rng.random_bool(0.05) {
                    rng.random_range(0..5_000)
                } else {
                    rng.random_range(0..60)
                };
                let t = now + ahead;
                q.push(Time(t), Event::Timer(step));
                reference.push(Reverse((t, seq, step)));
                seq += 1;
            } else {
                let Reverse((t, _, id)) = reference.pop().unwrap();
                let (qt, qe) = q.pop().unwrap();
                assert_eq!((qt.0, qe), (t, Event::Timer(id)));
                now = t;
            }
        }
        while let Some(Reverse((t, _, id))) = reference.pop() {
            assert_eq!(q.pop(), Some((Time(t), Event::Timer(id))));
        }
        assert!(q.pop().is_none());
    }
}
