//! The event queue: events come out ordered by `(time, seq)`, where `seq` is the insertion
//! counter, so events at equal times come out first-in, first-out. That tie-break rule is part of
//! the determinism contract: never change it without re-pinning every result.
//!
//! Gossip produces many events at few, nearby times (a million timers spread over one period,
//! messages a few milliseconds ahead), so this is a calendar queue: a ring of buckets, each
//! `2^width_log2` microseconds wide (a power of two, so finding a bucket is a shift and a mask),
//! covering a horizon ahead of the cursor. Inserting is a push onto a bucket's vector; a bucket
//! is sorted once, when the cursor reaches it, by a counting sort on the time offset within the
//! bucket. Events beyond the horizon wait in a binary heap and join their bucket when it becomes
//! current.
//!
//! Why a counting sort on time alone keeps `(time, seq)` order: pushes get increasing `seq`, so
//! a bucket's vector is in `seq` order; an event that waited beyond the horizon was pushed before
//! any event that went straight into its bucket (the horizon only moves forward), and far events
//! leave their heap in `(time, seq)` order. Taking the far events first and sorting stably by time
//! therefore orders equal times by `seq`.

mod buckets;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use buckets::Buckets;

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
    /// A protocol's timer fires (async timing; index into the driver's wake-ups).
    Wake(u32),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    time: u64,
    seq: u64,
    event: Event,
}

/// Buckets holding fewer events than this are sorted by comparison.
const MIN_COUNTING_LEN: usize = 64;

pub struct EventQueue {
    width_log2: u32,
    /// Ring size minus one (the ring size is a power of two).
    ring_mask: usize,
    buckets: Buckets,
    /// Start time of the current bucket: a multiple of the width.
    cursor: u64,
    /// The current bucket, sorted ascending; `current[pos..]` are still to come.
    current: Vec<Entry>,
    pos: usize,
    /// Events inserted into the current bucket's time range after it was sorted.
    late: BinaryHeap<Reverse<Entry>>,
    /// Events beyond the horizon.
    far: BinaryHeap<Reverse<Entry>>,
    /// Scratch for the counting sort: far events joining the current bucket, and counters.
    joining: Vec<Entry>,
    counts: Vec<u32>,
    in_ring: usize,
    len: usize,
    next_seq: u64,
    now: u64,
}

impl EventQueue {
    /// Buckets `2^width_log2` microseconds wide, `buckets` of them (rounded up to a power of
    /// two).
    pub fn new(width_log2: u32, buckets: usize) -> EventQueue {
        let buckets = buckets.max(1).next_power_of_two();
        let width_log2 = width_log2.min(40);
        EventQueue {
            width_log2,
            ring_mask: buckets - 1,
            buckets: Buckets::new(buckets),
            cursor: 0,
            current: Vec::new(),
            pos: 0,
            late: BinaryHeap::new(),
            far: BinaryHeap::new(),
            joining: Vec::new(),
            counts: Vec::new(),
            in_ring: 0,
            len: 0,
            next_seq: 0,
            now: 0,
        }
    }

    /// A queue sized for gossip with this period: between 256 and 512 buckets per period (the
    /// width is a power of two), at least two periods ahead.
    pub fn for_period(period: Time) -> EventQueue {
        let target = (period.0 / 256).max(1);
        let width_log2 = 63 - target.leading_zeros();
        let per_period = period.0.div_ceil(1 << width_log2) as usize;
        EventQueue::new(width_log2, 2 * per_period + 1)
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

    /// Takes the next insertion counter for an event kept outside the queue (see
    /// `event_loop::TimerRing`), exactly as a push would.
    #[inline(always)]
    pub fn reserve_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq - 1
    }

    /// [`EventQueue::advance`], stopping at the bucket holding `limit`. True when the current
    /// bucket (or `late`) then holds an event.
    fn advance_until(&mut self, limit: u64) -> bool {
        let limit_bucket = limit >> self.width_log2 << self.width_log2;
        while self.pos == self.current.len() && self.late.is_empty() {
            if self.len == 0 {
                return false;
            }
            let next = if self.in_ring == 0 {
                let Reverse(e) = self.far.peek().expect("len > 0 and ring empty");
                e.time >> self.width_log2 << self.width_log2
            } else {
                self.cursor + self.width()
            };
            if next > limit_bucket {
                if self.in_ring == 0 && limit_bucket > self.cursor {
                    // Every bucket up to the far event is empty: park the cursor at the limit.
                    self.cursor = limit_bucket;
                    self.current.clear();
                    self.pos = 0;
                }
                return false;
            }
            self.cursor = next;
            self.load_current();
        }
        true
    }

    #[inline(always)]
    fn width(&self) -> u64 {
        1 << self.width_log2
    }

    #[inline(always)]
    fn horizon(&self) -> u64 {
        self.cursor + ((self.ring_mask as u64 + 1) << self.width_log2)
    }

    /// Schedules `event` at `time`, which must not be in the past. Inlined: nearly every push
    /// lands in a bucket of the ring ahead of the cursor (a message's latency, a timer's
    /// period), the rest go out of line.
    #[inline(always)]
    pub fn push(&mut self, time: Time, event: Event) {
        debug_assert!(time.0 >= self.now, "event scheduled in the past");
        let entry = Entry {
            time: time.0.max(self.now),
            seq: self.next_seq,
            event,
        };
        self.next_seq += 1;
        self.len += 1;
        if entry.time >= self.cursor + self.width() && entry.time < self.horizon() {
            let index = (entry.time >> self.width_log2) as usize & self.ring_mask;
            self.buckets.push(index, entry);
            self.in_ring += 1;
        } else {
            self.push_outside_ring(entry);
        }
    }

    /// An event in the current bucket's time range (already sorted) or beyond the horizon.
    #[inline(never)]
    fn push_outside_ring(&mut self, entry: Entry) {
        if entry.time < self.cursor + self.width() {
            self.late.push(Reverse(entry));
        } else {
            self.far.push(Reverse(entry));
        }
    }

    /// Pops the next event if its `(time, seq)` comes before `limit`, the key of the next event
    /// kept outside the queue (see `event_loop::TimerRing`); else `None`. Unlike `pop`, this
    /// never moves the cursor past `limit`'s bucket, so what the outside event pushes (at
    /// `limit` or later) still finds its bucket instead of the `late` heap.
    #[inline(always)]
    pub fn pop_before(&mut self, limit: (u64, u64)) -> Option<(Time, Event)> {
        if !(self.pos < self.current.len() || !self.late.is_empty() || self.advance_until(limit.0))
        {
            return None;
        }
        if self.late.is_empty() {
            // The common case: the next event is the current bucket's.
            let entry = self.current[self.pos];
            if (entry.time, entry.seq) > limit {
                return None;
            }
            self.pos += 1;
            self.len -= 1;
            self.now = entry.time;
            return Some((Time(entry.time), entry.event));
        }
        self.pop_before_with_late(limit)
    }

    #[inline(never)]
    fn pop_before_with_late(&mut self, limit: (u64, u64)) -> Option<(Time, Event)> {
        let a = self.current.get(self.pos).map(|e| (e.time, e.seq));
        let b = self.late.peek().map(|Reverse(e)| (e.time, e.seq));
        let key = match (a, b) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => a.or(b)?,
        };
        if key > limit {
            return None;
        }
        self.pop()
    }

    /// The event `k` places ahead in the current bucket, if it holds that many more: a hint for
    /// prefetching (an event inserted meanwhile may still come first).
    #[inline(always)]
    pub fn upcoming(&self, k: usize) -> Option<Event> {
        self.current.get(self.pos + k).map(|e| e.event)
    }

    /// The time of the next event, if any.
    pub fn peek_time(&mut self) -> Option<Time> {
        if !self.fill_current() {
            return None;
        }
        let a = self.current.get(self.pos).map(|e| e.time);
        let b = self.late.peek().map(|Reverse(e)| e.time);
        match (a, b) {
            (Some(a), Some(b)) => Some(Time(a.min(b))),
            (a, b) => a.or(b).map(Time),
        }
    }

    #[inline]
    pub fn pop(&mut self) -> Option<(Time, Event)> {
        if !self.fill_current() {
            return None;
        }
        let from_current = match (self.current.get(self.pos), self.late.peek()) {
            (Some(a), Some(Reverse(b))) => a < b,
            (Some(_), None) => true,
            _ => false,
        };
        let entry = if from_current {
            self.pos += 1;
            self.current[self.pos - 1]
        } else {
            self.late.pop().expect("checked non-empty").0
        };
        self.len -= 1;
        self.now = entry.time;
        Some((Time(entry.time), entry.event))
    }

    /// Advances the cursor until the current bucket holds an event. False when the queue is empty.
    #[inline]
    fn fill_current(&mut self) -> bool {
        if self.pos < self.current.len() || !self.late.is_empty() {
            return true;
        }
        self.advance()
    }

    fn advance(&mut self) -> bool {
        while self.pos == self.current.len() && self.late.is_empty() {
            if self.len == 0 {
                return false;
            }
            if self.in_ring == 0 {
                // Nothing within the horizon: jump the cursor to the far event's bucket.
                let Reverse(next) = *self.far.peek().expect("len > 0 and ring empty");
                self.cursor = next.time >> self.width_log2 << self.width_log2;
            } else {
                self.cursor += self.width();
            }
            self.load_current();
        }
        true
    }

    /// Makes the cursor's bucket, with the far events that fall in it, the current one.
    fn load_current(&mut self) {
        let index = (self.cursor >> self.width_log2) as usize & self.ring_mask;
        let bucket_end = self.cursor + self.width();
        self.joining.clear();
        while let Some(Reverse(e)) = self.far.peek() {
            if e.time >= bucket_end {
                break;
            }
            self.joining.push(self.far.pop().expect("peeked").0);
        }
        self.in_ring -= self.buckets.len(index);
        self.sort_into_current(index);
        self.buckets.clear(index);
    }

    /// Fills `current` with `joining` then bucket `index`, stably sorted by time (see the
    /// module doc).
    fn sort_into_current(&mut self, index: usize) {
        self.current.clear();
        self.pos = 0;
        let bucket = &self.buckets;
        let total = self.joining.len() + bucket.len(index);
        if total < MIN_COUNTING_LEN {
            self.current.extend_from_slice(&self.joining);
            bucket.for_each_chunk(index, |chunk| self.current.extend_from_slice(chunk));
            self.current.sort_by_key(|e| e.time);
            return;
        }
        // Count on the top bits of the time offset, about one counter per event so that a
        // sparse bucket does not pay for a wide counter array; events sharing a counter stay in
        // `seq` order, and one stable insertion pass over the nearly sorted result finishes the
        // order by time.
        let total_log2 = usize::BITS - 1 - total.leading_zeros();
        let shift = self.width_log2 - self.width_log2.min(total_log2);
        let keys = 1usize << (self.width_log2 - shift);
        let cursor = self.cursor;
        self.counts.clear();
        self.counts.resize(keys + 1, 0);
        let counts = &mut self.counts[..];
        let key = |e: &Entry| ((e.time - cursor) >> shift) as usize;
        for e in &self.joining {
            counts[key(e) + 1] += 1;
        }
        bucket.for_each_chunk(index, |chunk| {
            for e in chunk {
                counts[key(e) + 1] += 1;
            }
        });
        for i in 1..=keys {
            counts[i] += counts[i - 1];
        }
        if total > self.current.capacity() {
            self.current.reserve(total);
            super::memory::advise(&self.current);
        }
        self.current.resize(
            total,
            Entry {
                time: 0,
                seq: 0,
                event: Event::Tick,
            },
        );
        let out = &mut self.current[..];
        for &e in self.joining.iter() {
            let slot = &mut counts[key(&e)];
            out[*slot as usize] = e;
            *slot += 1;
        }
        bucket.for_each_chunk(index, |chunk| {
            for &e in chunk {
                let slot = &mut counts[key(&e)];
                out[*slot as usize] = e;
                *slot += 1;
            }
        });
        if shift > 0 {
            // After the scatter, `counts[k]` is where group `k` ends.
            let mut start = 0;
            for &end in &counts[..keys] {
                let group = &mut out[start..end as usize];
                if group.len() > 16 {
                    group.sort_by_key(|e| e.time);
                } else {
                    insertion_sort_by_time(group);
                }
                start = end as usize;
            }
        }
    }
}

/// A stable insertion sort by time: for the few events that share a counter.
#[inline(always)]
fn insertion_sort_by_time(group: &mut [Entry]) {
    for i in 1..group.len() {
        let e = group[i];
        let mut j = i;
        while j > 0 && group[j - 1].time > e.time {
            group[j] = group[j - 1];
            j -= 1;
        }
        group[j] = e;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn equal_times_come_out_first_in_first_out() {
        let mut q = EventQueue::new(3, 4);
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
        // Few events per bucket: buckets are sorted by comparison.
        matches_reference(3, 16, 60, 1);
    }

    #[test]
    fn counting_sorted_buckets_keep_equal_times_first_in_first_out() {
        // Hundreds of events per bucket, many at equal times: the counting sort.
        matches_reference(4, 8, 100, 12);
    }

    /// Periodic events kept outside the queue (as `event_loop::TimerRing` keeps timers),
    /// merged with it through `reserve_seq` and `pop_before`, come out in the order of a
    /// reference that holds every event in one heap - ties at equal times included - and the
    /// queue's cursor never runs ahead of them (messages they send land in buckets, not `late`).
    #[test]
    fn outside_events_merge_in_queue_order() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let period = 64u64;
        let mut q = EventQueue::new(2, 64);
        let mut reference = BinaryHeap::new();
        // Outside: (phase, seq, node) in firing order, re-firing every period.
        let mut ring: Vec<(u64, u64, u32)> = (0..40)
            .map(|node| {
                let seq = q.reserve_seq();
                (rng.random_range(0..period / 4) * 4, seq, node)
            })
            .collect();
        ring.sort_unstable();
        for &(phase, seq, node) in &ring {
            reference.push(Reverse((phase, seq, Event::Timer(node))));
        }
        q.push(Time(3 * period), Event::Tick);
        reference.push(Reverse((3 * period, q.next_seq() - 1, Event::Tick)));
        let (mut pos, mut base) = (0, 0);
        for _ in 0..5_000 {
            let (phase, seq, node) = ring[pos];
            let timer = (base + phase, seq);
            let popped = match q.pop_before(timer) {
                Some((t, event)) => (t.0, event),
                None => {
                    ring[pos].1 = q.reserve_seq();
                    reference.push(Reverse((timer.0 + period, ring[pos].1, Event::Timer(node))));
                    pos += 1;
                    if pos == ring.len() {
                        (pos, base) = (0, base + period);
                    }
                    // A message a multiple of 4 ahead: often at the time of another event.
                    let at = timer.0 + rng.random_range(1..12) * 4;
                    let id = q.next_seq() as u32;
                    q.push(Time(at), Event::Deliver(id));
                    reference.push(Reverse((at, u64::from(id), Event::Deliver(id))));
                    assert!(q.late.is_empty(), "a message fell behind the cursor");
                    (timer.0, Event::Timer(node))
                }
            };
            let Reverse((t, _, event)) = reference.pop().expect("as many events");
            assert_eq!(popped, (t, event));
        }
    }

    /// Random pushes (`near` ahead, sometimes far beyond the horizon; `burst` at a time) and
    /// pops, checked against a binary heap over `(time, seq)`.
    fn matches_reference(width_log2: u32, buckets: usize, near: u64, burst: u32) {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let mut q = EventQueue::new(width_log2, buckets);
        let mut reference = BinaryHeap::new();
        let mut seq = 0u64;
        let mut now = 0u64;
        for _ in 0..20_000 {
            if rng.random_bool(0.55) || reference.is_empty() {
                for _ in 0..burst {
                    let ahead = if rng.random_bool(0.05) {
                        rng.random_range(0..5_000)
                    } else {
                        rng.random_range(0..near)
                    };
                    let t = now + ahead;
                    q.push(Time(t), Event::Timer(seq as u32));
                    reference.push(Reverse((t, seq, seq as u32)));
                    seq += 1;
                }
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
