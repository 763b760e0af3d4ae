//! The bits a message carries, one per slot: a row's worth of words.

/// One bit per slot, as many words as a row. The first word lives inline, so with up to 64
/// updates in flight (the common case) a message in flight owns no heap buffer and reading its
/// payload costs no pointer chase; further words live in a reused `Vec`.
#[derive(Clone, Debug, Default)]
pub struct Words {
    first: u64,
    rest: Vec<u64>,
}

impl Words {
    /// Word `w`; zero beyond the end.
    #[inline(always)]
    pub fn get(&self, w: usize) -> u64 {
        if w == 0 {
            self.first
        } else {
            self.rest.get(w - 1).copied().unwrap_or(0)
        }
    }

    #[inline(always)]
    pub fn set(&mut self, w: usize, bits: u64) {
        if w == 0 {
            self.first = bits;
        } else {
            self.rest[w - 1] = bits;
        }
    }

    /// All zero, keeping the buffer.
    #[inline(always)]
    pub fn clear(&mut self) {
        self.first = 0;
        self.rest.clear();
    }

    /// Exactly `words` words (at least one), new ones zero.
    #[inline(always)]
    pub fn resize(&mut self, words: usize) {
        if words > 1 || !self.rest.is_empty() {
            self.rest.resize(words.max(1) - 1, 0);
        }
    }

    /// Makes `self` a copy of `other` without allocating when the buffer is big enough.
    #[inline(always)]
    pub fn copy_from(&mut self, other: &Words) {
        self.first = other.first;
        if !(self.rest.is_empty() && other.rest.is_empty()) {
            self.rest.clone_from(&other.rest);
        }
    }

    /// `(w, bits)` for every word.
    #[inline(always)]
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        std::iter::once(self.first)
            .chain(self.rest.iter().copied())
            .enumerate()
    }
}
