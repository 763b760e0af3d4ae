//! Which node holds which update in flight: a node-major bit matrix.
//!
//! Row `n` holds one bit per slot (an update in flight). Rows are packed so that a row of `b` bits
//! (a power of two up to 64) shares a word with its neighbours: with one update in flight the
//! matrix is a plain bitset of one bit per node, which keeps a million-node round in cache; with
//! thousands of updates in flight a row is a run of words and an exchange is a handful of word
//! operations. The matrix widens (rarely: when more updates are in flight than ever before) in
//! place where its buffer has room, else by copying into a wider layout.

/// Bits per row: a power of two from 1 to 64, or a multiple of 64.
#[derive(Clone, Debug)]
pub struct RowMatrix {
    nodes: usize,
    /// Slots per row (capacity).
    bits_per_row: usize,
    /// Words per row when `bits_per_row >= 64`, else 1 (a row is a field inside one word).
    words_per_row: usize,
    /// log2(rows per word) when packed, else 0.
    rows_per_word_log2: u32,
    data: Vec<u64>,
}

impl RowMatrix {
    pub fn new(nodes: usize, min_slots: usize) -> RowMatrix {
        let bits_per_row = Self::capacity_for(min_slots);
        Self::with_capacity(nodes, bits_per_row)
    }

    /// The row width that holds `slots` slots: a power of two up to 64 bits, then whole words
    /// on a ladder of four steps per doubling (1-4 words, then 5, 6, 7, 8, 10, 12, 14, 16, 20,
    /// ...). Rows grow one update at a time, and each growth copies the matrix into a fresh
    /// one whose pages the kernel zeroes: growing a word at a time, the storefront benchmark's
    /// rows (10^5 nodes, twice, up to 147 words) were reallocated once per word, an eighth of
    /// its first hundred rounds (`perf`: page zeroing 8%, the copies 4%). The ladder takes 24
    /// widths to 128 words and adds at most a quarter to the words needed. Only memory
    /// depends on the width: slot numbers, and so every report, do not.
    pub fn capacity_for(slots: usize) -> usize {
        let slots = slots.max(1);
        if slots <= 64 {
            return slots.next_power_of_two();
        }
        let words = slots.div_ceil(64);
        let step = if words <= 4 {
            1
        } else {
            1 << (words.ilog2() - 2)
        };
        words.div_ceil(step) * step * 64
    }

    fn with_capacity(nodes: usize, bits_per_row: usize) -> RowMatrix {
        let (words_per_row, rows_per_word_log2, words) = if bits_per_row >= 64 {
            let w = bits_per_row / 64;
            (w, 0, nodes * w)
        } else {
            let rows_per_word = 64 / bits_per_row;
            (
                1,
                rows_per_word.trailing_zeros(),
                nodes.div_ceil(rows_per_word),
            )
        };
        RowMatrix {
            nodes,
            bits_per_row,
            words_per_row,
            rows_per_word_log2,
            data: super::memory::filled(words, 0),
        }
    }

    /// Bytes a matrix of this shape occupies.
    pub fn bytes_for(nodes: usize, slots: usize) -> u64 {
        let bits = Self::capacity_for(slots);
        (nodes as u64 * bits as u64).div_ceil(64) * 8
    }

    pub fn capacity(&self) -> usize {
        self.bits_per_row
    }

    pub fn words_per_row(&self) -> usize {
        self.words_per_row
    }

    #[inline(always)]
    fn packed(&self) -> bool {
        self.bits_per_row < 64
    }

    #[inline(always)]
    fn field_mask(&self) -> u64 {
        (1u64 << self.bits_per_row) - 1
    }

    /// Word `w` of row `node` (bits for slots `64w .. 64w+63`).
    #[inline(always)]
    pub fn word(&self, node: u32, w: usize) -> u64 {
        let node = node as usize;
        if self.packed() {
            let idx = node >> self.rows_per_word_log2;
            let shift = (node & ((1 << self.rows_per_word_log2) - 1)) * self.bits_per_row;
            (self.data[idx] >> shift) & self.field_mask()
        } else {
            self.data[node * self.words_per_row + w]
        }
    }

    /// A read-only view of a matrix of one word per row, with its geometry in plain values
    /// (registers, in a loop).
    pub fn view(&self) -> RowView<'_> {
        debug_assert_eq!(self.words_per_row, 1);
        RowView {
            data: &self.data,
            rows_per_word_log2: self.rows_per_word_log2,
            bits_per_row: self.bits_per_row.min(64) as u32,
            mask: if self.packed() {
                self.field_mask()
            } else {
                u64::MAX
            },
        }
    }

    /// Asks the processor to bring row `node`'s (first) word into the cache: a hint, which
    /// never faults whatever the address.
    #[inline(always)]
    pub fn prefetch(&self, node: u32) {
        let node = node as usize;
        let idx = if self.packed() {
            node >> self.rows_per_word_log2
        } else {
            node * self.words_per_row
        };
        super::memory::prefetch(self.data.as_ptr().wrapping_add(idx));
    }

    /// Asks the processor for every cache line of row `node` (a hint): a wide row is many
    /// lines, and a contact reads all of them.
    #[inline(always)]
    pub fn prefetch_row(&self, node: u32) {
        if self.packed() {
            return self.prefetch(node);
        }
        let start = node as usize * self.words_per_row;
        for w in (0..self.words_per_row).step_by(8) {
            super::memory::prefetch(self.data.as_ptr().wrapping_add(start + w));
        }
    }

    /// Asks the processor for the cache line of word `w` of row `node` (a hint; rows of whole
    /// words): a wide-row contact that reads only some words.
    #[inline(always)]
    pub fn prefetch_word(&self, node: u32, w: usize) {
        debug_assert!(!self.packed());
        let at = node as usize * self.words_per_row + w;
        super::memory::prefetch(self.data.as_ptr().wrapping_add(at));
    }

    #[inline(always)]
    pub fn or_word(&mut self, node: u32, w: usize, bits: u64) {
        let node = node as usize;
        if self.packed() {
            let idx = node >> self.rows_per_word_log2;
            let shift = (node & ((1 << self.rows_per_word_log2) - 1)) * self.bits_per_row;
            self.data[idx] |= bits << shift;
        } else {
            self.data[node * self.words_per_row + w] |= bits;
        }
    }

    #[inline(always)]
    pub fn clear_bits(&mut self, node: u32, w: usize, bits: u64) {
        let node = node as usize;
        if self.packed() {
            let idx = node >> self.rows_per_word_log2;
            let shift = (node & ((1 << self.rows_per_word_log2) - 1)) * self.bits_per_row;
            self.data[idx] &= !((bits & self.field_mask()) << shift);
        } else {
            self.data[node * self.words_per_row + w] &= !bits;
        }
    }

    /// Row `node` of a matrix of one bit per row (one slot).
    #[inline(always)]
    pub fn bit(&self, node: u32) -> bool {
        debug_assert_eq!(self.bits_per_row, 1);
        self.data[(node >> 6) as usize] >> (node & 63) & 1 == 1
    }

    /// Sets row `node` of a matrix of one bit per row.
    #[inline(always)]
    pub fn set_bit(&mut self, node: u32) {
        debug_assert_eq!(self.bits_per_row, 1);
        self.data[(node >> 6) as usize] |= 1 << (node & 63);
    }

    #[inline(always)]
    pub fn has(&self, node: u32, slot: usize) -> bool {
        self.word(node, slot / 64) >> (slot % 64) & 1 == 1
    }

    #[inline(always)]
    pub fn set(&mut self, node: u32, slot: usize) {
        self.or_word(node, slot / 64, 1u64 << (slot % 64));
    }

    /// Whether any bit of any row is set.
    pub fn any(&self) -> bool {
        self.data.iter().any(|&w| w != 0)
    }

    /// Clears, in every row, the slots set in `mask` (one bit per slot).
    pub fn clear_slots(&mut self, mask: &[u64]) {
        if self.packed() {
            // Replicate the row mask across every field of a word.
            let field = mask.first().copied().unwrap_or(0) & self.field_mask();
            let mut wide = 0u64;
            for i in 0..(64 / self.bits_per_row) {
                wide |= field << (i * self.bits_per_row);
            }
            for word in &mut self.data {
                *word &= !wide;
            }
        } else {
            for row in self.data.chunks_exact_mut(self.words_per_row) {
                for (word, m) in row.iter_mut().zip(mask) {
                    *word &= !m;
                }
            }
        }
    }

    /// Makes room for at least `slots` slots, keeping every bit.
    ///
    /// Rows of whole words widen in place, within a buffer that keeps room for twice the
    /// words: a fresh buffer is pages the kernel zeroes on first touch, and the storefront
    /// benchmark's rows (10^5 nodes, twice, up to 160 words) took 25 widths of whole words,
    /// each a fresh copy: 1.56 GB of fresh pages over its run (the widths' sum). In place, a width needs new pages only for the
    /// words it adds, and the room doubles (one fresh buffer) a handful of times: its page
    /// faults over 80 rounds fell from 33,746 to 20,220 (the rest are mostly hop counts). The
    /// bits, and so every report, are the same as [`RowMatrix::grown_by_copy`]'s (a test
    /// compares them).
    pub fn grow(&mut self, slots: usize) {
        if slots <= self.bits_per_row {
            return;
        }
        let bits = Self::capacity_for(slots);
        let (old, new) = (self.words_per_row, bits / 64);
        if self.packed() || self.nodes * new > self.data.capacity() {
            *self = self.grown_by_copy(bits, 2);
            return;
        }
        self.data.resize(self.nodes * new, 0);
        // From the last row down: row `node` moves up to `node * new`, over words of rows
        // above it that have moved already.
        for node in (0..self.nodes).rev() {
            self.data
                .copy_within(node * old..(node + 1) * old, node * new);
            self.data[node * new + old..(node + 1) * new].fill(0);
        }
        self.bits_per_row = bits;
        self.words_per_row = new;
    }

    /// A copy of the matrix `bits` slots wide (at least as wide as now), in a fresh buffer with
    /// room for `room` times its words: the plain path of [`RowMatrix::grow`].
    fn grown_by_copy(&self, bits: usize, room: usize) -> RowMatrix {
        let mut wider = Self::with_capacity(self.nodes, bits);
        if room > 1 && !wider.packed() {
            let mut data = Vec::with_capacity(room * wider.data.len());
            super::memory::advise(&data);
            data.resize(wider.data.len(), 0);
            wider.data = data;
        }
        for node in 0..self.nodes as u32 {
            for w in 0..self.words_per_row {
                wider.or_word(node, w, self.word(node, w));
            }
        }
        wider
    }

    /// Makes the rows `capacity_for(slots)` wide when that is narrower, keeping every bit. Every
    /// bit at or above the new width must be clear (the caller narrows past retired slots
    /// only): a matrix widened by a burst of updates in flight does not make every later
    /// contact pay for words that hold nothing. Rows of whole words narrow in place (a later
    /// widening then finds its room), and the buffer gives back what lies past twice the words.
    pub fn narrow(&mut self, slots: usize) {
        let bits = Self::capacity_for(slots);
        if bits >= self.bits_per_row {
            return;
        }
        if bits < 64 {
            *self = self.narrowed_by_copy(bits);
            return;
        }
        let (old, new) = (self.words_per_row, bits / 64);
        // From the first row up: row `node` moves down to `node * new`, over words of rows
        // below it that have moved already.
        for node in 0..self.nodes {
            debug_assert!(
                self.data[node * old + new..(node + 1) * old]
                    .iter()
                    .all(|&w| w == 0),
                "narrowing past a set bit"
            );
            self.data
                .copy_within(node * old..node * old + new, node * new);
        }
        self.data.truncate(self.nodes * new);
        self.data.shrink_to(2 * self.nodes * new);
        self.bits_per_row = bits;
        self.words_per_row = new;
    }

    /// [`RowMatrix::narrow`] into a fresh matrix: rows narrower than a word, and the plain
    /// path the tests compare the in-place narrowing with.
    fn narrowed_by_copy(&self, bits: usize) -> RowMatrix {
        let mut narrower = Self::with_capacity(self.nodes, bits);
        let keep = if bits < 64 {
            (1u64 << bits) - 1
        } else {
            u64::MAX
        };
        for node in 0..self.nodes as u32 {
            for w in 0..narrower.words_per_row {
                let word = self.word(node, w);
                debug_assert_eq!(word & !keep, 0, "narrowing past a set bit");
                narrower.or_word(node, w, word & keep);
            }
            debug_assert!(
                (narrower.words_per_row..self.words_per_row).all(|w| self.word(node, w) == 0),
                "narrowing past a set bit"
            );
        }
        narrower
    }

    /// [`RowMatrix::copy_from`] for rows of whole words, noting on the way which words each
    /// row lacks a slot of `active` in: bit `w % 64` of `lacks[row * lack_words + w / 64]`
    /// (`lack_words` = words per row / 64, rounded up). One pass over the rows, which the copy
    /// makes anyway.
    pub fn copy_noting_lacks(&mut self, other: &RowMatrix, active: &[u64], lacks: &mut [u64]) {
        if self.bits_per_row != other.bits_per_row {
            *self = other.clone();
        }
        let (words, lack_words) = self.lack_shape(active, lacks);
        let rows = self.data.chunks_exact_mut(words);
        let sources = other.data.chunks_exact(words);
        for ((row, source), lack) in rows.zip(sources).zip(lacks.chunks_exact_mut(lack_words)) {
            row.copy_from_slice(source);
            note_lacks(source, active, lack);
        }
    }

    /// Row `node` of [`RowMatrix::copy_noting_lacks`].
    pub fn copy_row_noting_lacks(
        &mut self,
        other: &RowMatrix,
        node: u32,
        active: &[u64],
        lacks: &mut [u64],
    ) {
        assert_eq!(self.bits_per_row, other.bits_per_row);
        let (words, lack_words) = self.lack_shape(active, lacks);
        let (start, node) = (node as usize * words, node as usize);
        let source = &other.data[start..start + words];
        self.data[start..start + words].copy_from_slice(source);
        note_lacks(
            source,
            active,
            &mut lacks[node * lack_words..(node + 1) * lack_words],
        );
    }

    /// [`RowMatrix::copy_noting_lacks`] where the rows differ only in words noted in `lacks`
    /// (bits set where a row lacked a slot of `active` when `lacks` was noted), and a row
    /// lacks a slot now only in such a word or in one of `born` (one bit per word, as each
    /// row's `lacks`): the words where slots were born since. Copies and notes just those
    /// words; the rest of the rows stays as it is, and noted as lacking nothing.
    pub fn refresh_noting_lacks(
        &mut self,
        other: &RowMatrix,
        active: &[u64],
        lacks: &mut [u64],
        born: &[u64],
    ) {
        assert_eq!(self.bits_per_row, other.bits_per_row);
        let (words, lack_words) = self.lack_shape(active, lacks);
        let born = &born[..lack_words];
        for node in 0..self.nodes {
            if node + REFRESH_AHEAD < self.nodes {
                self.prefetch_refresh(other, node + REFRESH_AHEAD, lacks, born);
            }
            let row = &mut self.data[node * words..(node + 1) * words];
            let source = &other.data[node * words..(node + 1) * words];
            let lack = &mut lacks[node * lack_words..(node + 1) * lack_words];
            for (i, (lack, &born)) in lack.iter_mut().zip(born).enumerate() {
                let mut noted = 0;
                for_each_bit(*lack | born, |b| {
                    let w = i * 64 + b;
                    let held = source[w];
                    row[w] = held;
                    noted |= u64::from(active[w] & !held != 0) << b;
                });
                *lack = noted;
            }
        }
    }

    /// Asks the processor for the words of row `node` that [`RowMatrix::refresh_noting_lacks`]
    /// will read and write, once per line: the walk of rows in order does not make the
    /// hardware fetch them, as they lie at a different place in each row.
    #[inline(always)]
    fn prefetch_refresh(&self, other: &RowMatrix, node: usize, lacks: &[u64], born: &[u64]) {
        let words = self.words_per_row;
        let lacks = &lacks[node * born.len()..(node + 1) * born.len()];
        let mut last_line = usize::MAX;
        for (i, (&lack, &born)) in lacks.iter().zip(born).enumerate() {
            for_each_bit(lack | born, |b| {
                let at = node * words + i * 64 + b;
                let source = other.data.as_ptr().wrapping_add(at);
                if source as usize >> 6 != last_line {
                    last_line = source as usize >> 6;
                    super::memory::prefetch(source);
                    super::memory::prefetch(self.data.as_ptr().wrapping_add(at));
                }
            });
        }
    }

    /// Words per row and lack words per row of the lack-noting copies, checked against
    /// `active` and `lacks`.
    fn lack_shape(&self, active: &[u64], lacks: &[u64]) -> (usize, usize) {
        let words = self.words_per_row;
        assert!(!self.packed() && active.len() >= words);
        let lack_words = words.div_ceil(64);
        assert_eq!(lacks.len(), self.nodes * lack_words);
        (words, lack_words)
    }

    /// The row data, for comparing two matrices in tests.
    #[cfg(test)]
    pub fn data(&self) -> &[u64] {
        &self.data
    }

    /// Makes `self` an exact copy of `other` (same shape), without allocating.
    pub fn copy_from(&mut self, other: &RowMatrix) {
        if self.bits_per_row != other.bits_per_row {
            *self = other.clone();
        } else {
            self.data.copy_from_slice(&other.data);
        }
    }
}

/// [`RowMatrix::view`]: the rows of a matrix of one word per row. A row of 64 bits is a field
/// of one row per word (`rows_per_word_log2 = 0`), so one formula reads every width.
#[derive(Clone, Copy)]
pub struct RowView<'m> {
    data: &'m [u64],
    rows_per_word_log2: u32,
    bits_per_row: u32,
    mask: u64,
}

impl RowView<'_> {
    /// Row `node`.
    #[inline(always)]
    pub fn word(&self, node: u32) -> u64 {
        let idx = (node >> self.rows_per_word_log2) as usize;
        let shift = (node & ((1 << self.rows_per_word_log2) - 1)) * self.bits_per_row;
        (self.data[idx] >> shift) & self.mask
    }

    /// Row `node` of a matrix of one bit per row.
    #[inline(always)]
    pub fn bit(&self, node: u32) -> u64 {
        debug_assert_eq!(self.bits_per_row, 1);
        (self.data[(node >> 6) as usize] >> (node & 63)) & 1
    }

    /// Asks the processor to bring row `node` into the cache (a hint).
    #[inline(always)]
    pub fn prefetch(&self, node: u32) {
        super::memory::prefetch(
            self.data
                .as_ptr()
                .wrapping_add((node >> self.rows_per_word_log2) as usize),
        );
    }
}

/// Rows ahead of the one [`RowMatrix::refresh_noting_lacks`] refreshes whose words it asks
/// the processor for.
const REFRESH_AHEAD: usize = 4;

/// Notes in `lack` (one bit per word of `row`, 64 to a lack word) the words in which `row`
/// lacks a slot of `active`.
#[inline(always)]
fn note_lacks(row: &[u64], active: &[u64], lack: &mut [u64]) {
    for ((lack, row), active) in lack.iter_mut().zip(row.chunks(64)).zip(active.chunks(64)) {
        let mut bits = 0;
        for (w, (&held, &in_flight)) in row.iter().zip(active).enumerate() {
            bits |= u64::from(in_flight & !held != 0) << w;
        }
        *lack = bits;
    }
}

/// Calls `f` with the index of every set bit of `word`, lowest first.
#[inline(always)]
pub fn for_each_bit(mut word: u64, mut f: impl FnMut(usize)) {
    while word != 0 {
        let bit = word.trailing_zeros() as usize;
        f(bit);
        word &= word - 1;
    }
}

/// Entries in a payload word. Without a `popcnt` target feature `count_ones` is a dozen
/// instructions, and in the common case a word holds no bit or one (one update in flight).
#[inline(always)]
pub fn entry_count(bits: u64) -> u64 {
    if bits & bits.wrapping_sub(1) == 0 {
        u64::from(bits != 0)
    } else {
        u64::from(bits.count_ones())
    }
}

/// [`entry_count`] of a payload word of a row of `ONE_BIT` width: with rows of one bit (one
/// update in flight) the word is 0 or 1, its own count.
#[inline(always)]
pub fn entries_in<const ONE_BIT: bool>(bits: u64) -> u64 {
    if ONE_BIT {
        debug_assert!(bits <= 1, "a one-bit row's payload is one bit");
        bits
    } else {
        entry_count(bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_rows_do_not_bleed_into_neighbours() {
        let mut m = RowMatrix::new(100, 3); // 4 bits per row
        m.set(5, 2);
        m.set(6, 0);
        assert!(m.has(5, 2));
        assert!(!m.has(5, 0));
        assert!(m.has(6, 0));
        assert!(!m.has(4, 2));
        assert_eq!(m.word(5, 0), 0b100);
    }

    #[test]
    fn growing_keeps_every_bit() {
        let mut m = RowMatrix::new(70, 1);
        for n in (0..70).step_by(3) {
            m.set(n, 0);
        }
        m.grow(130);
        assert_eq!(m.capacity(), 192);
        for n in 0..70 {
            assert_eq!(m.has(n, 0), n % 3 == 0, "node {n}");
        }
        m.set(69, 129);
        assert!(m.has(69, 129));
        assert!(!m.has(68, 129));
    }

    /// Widening and narrowing in place give the bits of fresh copies (the plain path), over
    /// widths that stay within the buffer's room, outgrow it, and narrow below a word.
    #[test]
    fn widening_in_place_matches_widening_by_copy() {
        let nodes = 37u32;
        let mut m = RowMatrix::new(nodes as usize, 1);
        let mut plain = RowMatrix::new(nodes as usize, 1);
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut in_place = 0;
        for slots in [
            3, 65, 130, 200, 257, 300, 400, 700, 1025, 80, 500, 3000, 2100, 64, 1, 900,
        ] {
            let narrowing = RowMatrix::capacity_for(slots) < m.capacity();
            if narrowing {
                let mut retired = vec![0u64; m.words_per_row()];
                for slot in slots..m.capacity() {
                    retired[slot / 64] |= 1 << (slot % 64);
                }
                m.clear_slots(&retired);
                plain.clear_slots(&retired);
                m.narrow(slots);
                plain = plain.narrowed_by_copy(RowMatrix::capacity_for(slots));
            } else {
                let before = m.data.as_ptr();
                m.grow(slots);
                in_place += usize::from(m.data.as_ptr() == before && m.words_per_row() > 1);
                plain = plain.grown_by_copy(RowMatrix::capacity_for(slots), 1);
            }
            assert_eq!(m.capacity(), plain.capacity(), "{slots} slots");
            for _ in 0..200 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let (node, slot) = ((state >> 40) as u32 % nodes, state as usize % slots);
                m.set(node, slot);
                plain.set(node, slot);
            }
            assert_eq!(m.data(), plain.data(), "{slots} slots");
        }
        assert!(in_place >= 4, "{in_place} widenings in place");
    }

    #[test]
    fn rows_grow_on_a_ladder_of_four_steps_per_doubling() {
        let words = |slots: usize| RowMatrix::capacity_for(slots) / 64;
        assert_eq!(
            [65, 257, 321, 513, 577, 1025, 8192].map(words),
            [2, 5, 6, 10, 10, 20, 128]
        );
        let mut widths: Vec<usize> = (65..=8192).map(words).collect();
        widths.dedup();
        // 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, ..., 112, 128: with one word, 24 widths
        // on the way to 128 words, where growing a word at a time took 128.
        assert_eq!(widths.len(), 23);
        for slots in 65..=8192usize {
            let needed = slots.div_ceil(64);
            assert!(
                4 * words(slots) <= 5 * needed,
                "{slots} slots: {} words",
                words(slots)
            );
        }
    }

    #[test]
    fn narrowing_keeps_every_bit_below_the_new_width() {
        for (from, to, expect) in [(300, 70, 128), (300, 5, 8), (64, 1, 1), (8, 3, 4)] {
            let mut m = RowMatrix::new(130, from);
            for n in (0..130).step_by(7) {
                m.set(n, (n as usize) % to);
            }
            m.narrow(to);
            assert_eq!(m.capacity(), expect, "{from} -> {to}");
            for n in 0..130 {
                for slot in 0..to {
                    let set = n % 7 == 0 && (n as usize) % to == slot;
                    assert_eq!(m.has(n, slot), set, "{from} -> {to}: node {n} slot {slot}");
                }
            }
        }
        let mut m = RowMatrix::new(10, 8);
        m.narrow(20);
        assert_eq!(m.capacity(), 8, "narrowing never widens");
    }

    #[test]
    fn clearing_a_packed_row_leaves_its_neighbours() {
        // A crash without state clears the whole row with `u64::MAX`; unmasked, the shift let it
        // wipe every higher row sharing the word.
        let mut m = RowMatrix::new(128, 1);
        for n in 0..128 {
            m.set(n, 0);
        }
        m.clear_bits(5, 0, u64::MAX);
        for n in 0..128 {
            assert_eq!(m.has(n, 0), n != 5, "node {n}");
        }
    }

    #[test]
    fn clear_slot_touches_one_slot_only() {
        let mut m = RowMatrix::new(10, 2);
        for n in 0..10 {
            m.set(n, 0);
            m.set(n, 1);
        }
        m.clear_slots(&[0b10]);
        for n in 0..10 {
            assert!(m.has(n, 0));
            assert!(!m.has(n, 1));
        }
    }

    #[test]
    fn a_one_bit_payload_counts_itself() {
        assert_eq!(entries_in::<true>(0), 0);
        assert_eq!(entries_in::<true>(1), 1);
        for bits in [0, 1, 0b100, 0b1011, u64::MAX] {
            assert_eq!(entries_in::<false>(bits), u64::from(bits.count_ones()));
        }
    }
}
