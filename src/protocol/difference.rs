//! What two nodes' price tables differ on: the products whose versions differ, and for each
//! side the entries it holds newer. Merkle-tree digests and set-reconciliation sketches both
//! *find* this set by exchanging hashes; the simulator computes it directly from the two
//! nodes' rows (as the hashes would, barring collisions of 64-bit hashes) and charges the
//! messages the real exchange would need to find it.
//!
//! A product differs when one node holds a newer version of it than the other: the newest
//! version a node holds of a product is its newest slot of that product, or the baseline
//! (the product's retired version) when it holds no slot of it. Both nodes must hold the
//! baseline, or neither: a node that lost its table is repaired by a full-digest exchange (see
//! `merkle.rs` and `sketch.rs`), so the baseline never differs here.

use super::budget::Selector;
use super::{Context, Message, MessageKind, NodeId, Size, Words};

/// The version a node holds of a product it holds no slot of: the baseline's (retired)
/// version. Elements keyed with it are distinct from every slot's version.
const BASELINE_VERSION: u32 = u32::MAX;

/// The difference between an exchange's two sides `a` and `b`, buffers reused.
#[derive(Default)]
pub(crate) struct Difference {
    /// The newest versions `a` holds that `b` lacks (one bit per slot): what `b` must get.
    pub a_newer: Words,
    /// The newest versions `b` holds that `a` lacks: what `a` must get.
    pub b_newer: Words,
    pub a_newer_entries: u64,
    pub b_newer_entries: u64,
    /// Every differing product, ascending.
    pub products: Vec<u32>,
    /// The symmetric difference of the two tables as sets of (product, version) elements,
    /// each tagged with its side (`true`: `a`'s): two elements per differing product that
    /// both hold, one when only one of them holds the product. Filled by
    /// [`Difference::elements`] only.
    pub elements: Vec<(u64, bool)>,
    digest: Words,
    top: Words,
    /// `(product, version)` of the newest slots of the side being looked up, by product.
    newest: Vec<(u32, u32)>,
}

impl Difference {
    /// Computes what `a` and `b` differ on now (as of the round start in `rounds` timing).
    pub fn compute<B: Copy + Default>(&mut self, a: NodeId, b: NodeId, cx: &Context<'_, B>) {
        cx.digest(b, &mut self.digest);
        let digest = &self.digest;
        self.a_newer_entries = cx.top(a, |w| digest.get(w), &mut self.a_newer);
        cx.digest(a, &mut self.digest);
        let digest = &self.digest;
        self.b_newer_entries = cx.top(b, |w| digest.get(w), &mut self.b_newer);
        self.products.clear();
        for bits in [&self.a_newer, &self.b_newer] {
            for (w, word) in bits.iter() {
                for_each_bit(word, |bit| {
                    self.products.push(product_of(cx, w * 64 + bit).0);
                });
            }
        }
        // A product is newer on one side only: no duplicates to remove.
        self.products.sort_unstable();
    }

    /// Keeps only the differing products in `range` (an exchange cut at the bandwidth bounds
    /// goes on about part of the catalog only).
    pub fn restrict<B: Copy + Default>(&mut self, range: (u32, u32), cx: &Context<'_, B>) {
        let (lo, hi) = range;
        if lo == 0 && u64::from(hi) >= cx.catalog_len() {
            return;
        }
        let start = self.products.partition_point(|&p| p < lo);
        let end = self.products.partition_point(|&p| p < hi);
        self.products.truncate(end);
        self.products.drain(..start);
        for (bits, entries) in [
            (&mut self.a_newer, &mut self.a_newer_entries),
            (&mut self.b_newer, &mut self.b_newer_entries),
        ] {
            *entries = 0;
            for w in 0..bits.iter().count() {
                let word = bits.get(w);
                let mut kept = word;
                for_each_bit(word, |bit| {
                    let p = product_of(cx, w * 64 + bit).0;
                    if p < lo || p >= hi {
                        kept &= !(1 << bit);
                    }
                });
                *entries += u64::from(kept.count_ones());
                bits.set(w, kept);
            }
        }
    }

    /// Fills [`Difference::elements`] (after [`Difference::compute`] for the same pair),
    /// sorted by element.
    pub fn elements<B: Copy + Default>(&mut self, a: NodeId, b: NodeId, cx: &Context<'_, B>) {
        self.elements.clear();
        for (side, newer, other) in [(true, 0, b), (false, 1, a)] {
            // The newer side's element, then the other side's element of the same product.
            let mut newest = std::mem::take(&mut self.newest);
            newest.clear();
            cx.top(other, |_| 0, &mut self.top);
            for (w, word) in self.top.iter() {
                for_each_bit(word, |bit| newest.push(product_of(cx, w * 64 + bit)));
            }
            newest.sort_unstable();
            let bits = if newer == 0 {
                &self.a_newer
            } else {
                &self.b_newer
            };
            let other_has_baseline = cx.has_baseline(other);
            for (w, word) in bits.iter() {
                for_each_bit(word, |bit| {
                    let (product, version) = product_of(cx, w * 64 + bit);
                    self.elements.push((key(product, version), side));
                    let at = newest.partition_point(|&(p, _)| p < product);
                    match newest.get(at) {
                        Some(&(p, v)) if p == product => {
                            self.elements.push((key(product, v), !side));
                        }
                        _ if other_has_baseline => {
                            self.elements.push((key(product, BASELINE_VERSION), !side));
                        }
                        _ => {}
                    }
                });
            }
            self.newest = newest;
        }
        self.elements.sort_unstable();
    }
}

/// A (product, version) element as one 64-bit word: the 8 bytes a sketch cell sums.
fn key(product: u32, version: u32) -> u64 {
    (u64::from(product) << 32) | u64::from(version)
}

/// The product and version of the update in `slot`.
fn product_of<B: Copy + Default>(cx: &Context<'_, B>, slot: usize) -> (u32, u32) {
    let update = &cx.updates()[cx.slot_update(slot) as usize];
    (update.product, update.version)
}

fn for_each_bit(mut word: u64, mut f: impl FnMut(usize)) {
    while word != 0 {
        f(word.trailing_zeros() as usize);
        word &= word - 1;
    }
}

/// The last two messages of an exchange that found its difference (Merkle's leaves, a decoded
/// sketch): the repair and the close, cut to the room by the protocol's priority. Nothing is
/// left out silently: what does not fit is deferred.
impl Difference {
    /// At `b`: sends `a` the entries it lacks and names (as digest entries) those `b` lacks,
    /// entries first. Returns the message, for its body, and the names it carries; `None`
    /// when `b` has no room for it.
    pub fn send_repair<'c, B: Copy + Default>(
        &mut self,
        selector: &mut Selector,
        a: NodeId,
        b: NodeId,
        cx: &'c mut Context<'_, B>,
    ) -> Option<(&'c mut Message<B>, u64)> {
        let fit = cx.entries_fit(b, Size::HEADER);
        if !cx.fits(b, Size::HEADER) || (fit == 0 && self.b_newer_entries > 0) {
            return None;
        }
        let (entries, left_out) = selector.cut(b, &mut self.b_newer, fit, cx);
        cx.defer(left_out);
        let named = self
            .a_newer_entries
            .min(cx.digest_entries_fit(b, Size::entries(entries)));
        // Entries `b` lacks but could not name wait too.
        cx.defer(self.a_newer_entries - named);
        let size = Size {
            entries,
            digest_entries: named,
            other_bytes: 0,
        };
        let out = cx.send(MessageKind::ExchangeReply, b, a, size);
        out.payload.copy_from(&self.b_newer);
        Some((out, named))
    }

    /// At `a`, after the repair: sends `b` the entries it named (`named` of them), cut to the
    /// room. Returns the message, for its body; `None` when nothing is owed or fits.
    pub fn send_close<'c, B: Copy + Default>(
        &mut self,
        selector: &mut Selector,
        a: NodeId,
        b: NodeId,
        named: u64,
        cx: &'c mut Context<'_, B>,
    ) -> Option<&'c mut Message<B>> {
        let owed = self.a_newer_entries;
        if owed == 0 {
            return None;
        }
        // What `b` named; in async timing `a` may have learnt newer versions since, which
        // `b` did not ask for and which are not deferred.
        let wanted = owed.min(named);
        let fit = wanted.min(cx.entries_fit(a, Size::HEADER));
        if fit == 0 {
            cx.defer(wanted);
            return None;
        }
        let (entries, _) = selector.cut(a, &mut self.a_newer, fit, cx);
        cx.defer(wanted - entries);
        let out = cx.send(MessageKind::ExchangeClose, a, b, Size::entries(entries));
        out.payload.copy_from(&self.a_newer);
        Some(out)
    }
}
