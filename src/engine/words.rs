//! The bits a message carries, one per slot: a row's worth of words.

/// One bit per slot, as many words as a row. The first word lives inline, so with up to 64
/// updates in flight (the common case) a message in flight owns no heap buffer and reading its
/// payload costs no pointer chase; further words live in a boxed buffer, reused once allocated.
/// Boxed, so that a `Words` is two machine words: a message in flight, with two of them, fits
/// one cache line (at 10^7 nodes every message read is a cache miss).
#[derive(Clone, Debug, Default)]
pub struct Words {
    first: u64,
    // The box is the point: an `Option<Box<_>>` is one machine word where a `Vec` is three.
    #[allow(clippy::box_collection)]
    rest: Option<Box<Vec<u64>>>,
}

impl Words {
    /// Words after the first.
    #[inline(always)]
    fn rest(&self) -> &[u64] {
        self.rest.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Word `w`; zero beyond the end.
    #[inline(always)]
    pub fn get(&self, w: usize) -> u64 {
        if w == 0 {
            self.first
        } else {
            self.rest().get(w - 1).copied().unwrap_or(0)
        }
    }

    /// Sets word `w`, which must exist (see [`Words::resize`]).
    #[inline(always)]
    pub fn set(&mut self, w: usize, bits: u64) {
        if w == 0 {
            self.first = bits;
        } else {
            self.rest.as_mut().expect("resized to hold word w")[w - 1] = bits;
        }
    }

    /// All zero, keeping the buffer.
    #[inline(always)]
    pub fn clear(&mut self) {
        self.first = 0;
        if let Some(rest) = &mut self.rest {
            rest.clear();
        }
    }

    /// Exactly `words` words (at least one), new ones zero.
    #[inline(always)]
    pub fn resize(&mut self, words: usize) {
        if words > 1 || !self.rest().is_empty() {
            self.rest
                .get_or_insert_default()
                .resize(words.max(1) - 1, 0);
        }
    }

    /// Makes `self` a copy of `other` without allocating when the buffer is big enough.
    #[inline(always)]
    pub fn copy_from(&mut self, other: &Words) {
        self.first = other.first;
        if !(self.rest().is_empty() && other.rest().is_empty()) {
            let rest = self.rest.get_or_insert_default();
            rest.clear();
            rest.extend_from_slice(other.rest());
        }
    }

    /// The only word, when there is one (up to 64 updates in flight, the common case).
    #[inline(always)]
    pub fn single(&self) -> Option<u64> {
        self.rest().is_empty().then_some(self.first)
    }

    /// Whether any bit is set.
    #[inline(always)]
    pub fn any(&self) -> bool {
        self.first != 0 || self.rest().iter().any(|&w| w != 0)
    }

    /// `(w, bits)` for every word.
    #[inline(always)]
    pub fn iter(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        std::iter::once(self.first)
            .chain(self.rest().iter().copied())
            .enumerate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_hold_every_word_and_reuse_their_buffer() {
        let mut a = Words::default();
        a.resize(3);
        a.set(0, 1);
        a.set(2, 5);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![(0, 1), (1, 0), (2, 5)]);
        let mut b = Words::default();
        b.copy_from(&a);
        assert_eq!(b.get(2), 5);
        assert_eq!(b.get(9), 0);
        b.clear();
        assert_eq!(b.iter().count(), 1);
        let mut one = Words::default();
        one.set(0, 7);
        b.copy_from(&one);
        assert_eq!(b.iter().collect::<Vec<_>>(), vec![(0, 7)]);
        // Two words of a message in flight fit a cache line with its other fields.
        assert_eq!(std::mem::size_of::<Words>(), 16);
    }
}
