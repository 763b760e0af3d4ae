//! The calendar ring's buckets, in one arena of fixed-size chunks.
//!
//! A bucket was a vector of its own: a million-node async run kept some 150 MiB of events in
//! a thousand vectors of a few hundred KiB each, which the allocator placed in its arena heaps
//! (64 MiB regions that never get huge pages) and grew by copying. Here every bucket is a list
//! of chunks of one big buffer, grown by doubling into a buffer advised for huge pages before
//! anything is copied into it, so the events of a big run sit on 2 MiB pages; a bucket that
//! empties gives its chunks back for the buckets ahead.

use super::Entry;
use crate::engine::memory;

/// Events per chunk: small enough that a ring of a thousand nearly empty buckets (a small
/// run) costs little over its events, big enough that walking a bucket is mostly sequential.
const CHUNK: usize = 64;

/// Entries ahead of a bucket's tail whose cache line a push asks for (about three lines).
const WRITE_AHEAD: usize = 8;

/// No chunk.
const NONE: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct List {
    head: u32,
    tail: u32,
    len: u32,
}

const EMPTY: List = List {
    head: NONE,
    tail: NONE,
    len: 0,
};

pub(super) struct Buckets {
    /// Chunk `c` is `entries[c * CHUNK..(c + 1) * CHUNK]`.
    entries: Vec<Entry>,
    /// The chunk after chunk `c` in its bucket.
    next: Vec<u32>,
    free: Vec<u32>,
    lists: Vec<List>,
}

impl Buckets {
    pub(super) fn new(buckets: usize) -> Buckets {
        Buckets {
            entries: Vec::new(),
            next: Vec::new(),
            free: Vec::new(),
            lists: vec![EMPTY; buckets],
        }
    }

    /// Appends `entry` to bucket `b`.
    #[inline(always)]
    pub(super) fn push(&mut self, b: usize, entry: Entry) {
        let list = self.lists[b];
        let fill = list.len as usize % CHUNK;
        let tail = if fill == 0 {
            let chunk = self.new_chunk();
            let list = &mut self.lists[b];
            if list.head == NONE {
                list.head = chunk;
            } else {
                self.next[list.tail as usize] = chunk;
            }
            list.tail = chunk;
            chunk
        } else {
            list.tail
        };
        let at = tail as usize * CHUNK + fill;
        // Field by field: a whole-entry copy went through the stack (narrow stores of the
        // event, then a 16-byte reload of them), measurably slower.
        let slot = &mut self.entries[at];
        slot.time = entry.time;
        slot.seq = entry.seq;
        slot.event = entry.event;
        self.lists[b].len += 1;
        if fill + WRITE_AHEAD < CHUNK {
            // A bucket's tail is written once per line, each line a cache miss (its chunk was
            // last touched a period ago): asking for the line a few entries ahead now hides it.
            memory::prefetch(self.entries.as_ptr().wrapping_add(at + WRITE_AHEAD));
        }
    }

    #[inline(always)]
    fn new_chunk(&mut self) -> u32 {
        let chunk = match self.free.pop() {
            Some(chunk) => chunk,
            None => self.grow(),
        };
        self.next[chunk as usize] = NONE;
        chunk
    }

    /// A new chunk at the end of the buffer, which doubles (advised before it is filled) when
    /// full.
    #[cold]
    fn grow(&mut self) -> u32 {
        let chunk = self.next.len();
        if self.entries.len() + CHUNK > self.entries.capacity() {
            let capacity = (2 * self.entries.capacity()).max(16 * CHUNK);
            let mut bigger = Vec::with_capacity(capacity);
            memory::advise(&bigger);
            bigger.append(&mut self.entries);
            self.entries = bigger;
        }
        let filler = Entry {
            time: 0,
            seq: 0,
            event: super::Event::Tick,
        };
        self.entries.resize(self.entries.len() + CHUNK, filler);
        self.next.push(NONE);
        chunk as u32
    }

    /// Events in bucket `b`.
    #[inline(always)]
    pub(super) fn len(&self, b: usize) -> usize {
        self.lists[b].len as usize
    }

    /// Calls `f` with bucket `b`'s events in the order they were pushed, a chunk at a time.
    #[inline]
    pub(super) fn for_each_chunk(&self, b: usize, mut f: impl FnMut(&[Entry])) {
        let list = self.lists[b];
        let mut left = list.len as usize;
        let mut chunk = list.head;
        while left > 0 {
            let take = left.min(CHUNK);
            let start = chunk as usize * CHUNK;
            f(&self.entries[start..start + take]);
            left -= take;
            chunk = self.next[chunk as usize];
        }
    }

    /// Empties bucket `b`, its chunks free for any bucket.
    pub(super) fn clear(&mut self, b: usize) {
        let list = std::mem::replace(&mut self.lists[b], EMPTY);
        let mut chunk = list.head;
        while chunk != NONE {
            self.free.push(chunk);
            chunk = self.next[chunk as usize];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Event;
    use super::*;

    fn entry(seq: u64) -> Entry {
        Entry {
            time: seq * 3,
            seq,
            event: Event::Timer(seq as u32),
        }
    }

    fn contents(buckets: &Buckets, b: usize) -> Vec<u64> {
        let mut seqs = Vec::new();
        buckets.for_each_chunk(b, |chunk| seqs.extend(chunk.iter().map(|e| e.seq)));
        seqs
    }

    #[test]
    fn buckets_keep_push_order_across_chunks_and_reuse() {
        let mut buckets = Buckets::new(3);
        let mut expected = vec![Vec::new(); 3];
        // Interleaved pushes over several chunks, one bucket emptied and refilled between.
        for round in 0..3u64 {
            for i in 0..(3 * CHUNK as u64 + 5) {
                let seq = round * 1000 + i;
                let b = (i % 3) as usize;
                buckets.push(b, entry(seq));
                expected[b].push(seq);
            }
            for (b, want) in expected.iter().enumerate() {
                assert_eq!(buckets.len(b), want.len());
                assert_eq!(&contents(&buckets, b), want, "round {round} bucket {b}");
            }
            buckets.clear(1);
            expected[1].clear();
            assert_eq!(contents(&buckets, 1), Vec::<u64>::new());
        }
        // Freed chunks are reused: the buffer holds what is live, rounded up to chunks.
        let live: usize = (0..3).map(|b| buckets.len(b).div_ceil(CHUNK)).sum();
        assert!(buckets.next.len() <= live + (3 * CHUNK + 5).div_ceil(CHUNK) + 3);
    }
}
