//! Set-reconciliation sketches: anti-entropy whose opening message is a sketch of the node's
//! table of a fixed size, from which the partner decodes the symmetric difference when it has
//! at most `capacity` elements, whatever the catalog size.
//!
//! A table is the set of its (product, version) elements, 8 bytes each; a product on which
//! two tables differ is two elements of the symmetric difference (one when only one side
//! holds the product at all), so a difference of `d` products needs `capacity >= 2d`.
//! Two sketches, `protocol.sketch`:
//! - `"minisketch"` (Naumenko et al. 2019, "Erlay"; the minisketch library, after Dodis et al.'s
//!   PinSketch): `capacity x element_bytes` bytes (c elements of a 64-bit field at the default
//!   8 bytes). It decodes any difference of up to `capacity` elements and fails for every larger
//!   one: deterministic.
//! - `"iblt"` (Eppstein, Goodrich, Uyeda, Varghese 2011, "What's the difference? Efficient set
//!   reconciliation without prior context"; Goodrich & Mitzenmacher 2011): an invertible Bloom
//!   lookup table of `ceil(iblt_overhead x capacity)` cells (rounded up to a multiple of
//!   `iblt_hashes`), each a count (4 bytes), a key sum (`element_bytes`) and a hash sum (4 bytes),
//!   every element in one cell of each of `iblt_hashes` subtables. The simulator builds the
//!   table of the difference with hash functions salted per exchange (from the protocol's random
//!   stream) and peels it: decoding fails at random, rarely below the peeling threshold (cells
//!   / elements > 1.222 for 3 hashes, 1.295 for 4) and almost surely above it, as the papers
//!   state.
//!
//! One exchange, initiator `a` with partner `b`:
//! 1. `a` sends its sketch; `b` subtracts its own and decodes.
//! 2. decoded: `b` answers with the entries `a` lacks and names (as digest entries) those it
//!    lacks; `a` closes with them, when there are any.
//! 3. not decoded, `fallback = "bisect"` (Erlay, section 4.3): `b` asks (a bare header) for a
//!    sketch of half of `a`'s table (the elements whose salted hash bit is 0), of the same
//!    capacity; with the first sketch it decodes both halves, each up to `capacity` elements.
//!    Decoded: step 2. Not decoded, or `fallback = "full-digest"`: `b` opens a full-digest
//!    push-pull exchange with `a` (its whole digest; `a` answers with what `b` lacks and its
//!    digest; `b` closes). Every failed attempt's messages are sent and counted.
//!
//! Under bandwidth bounds a sketch must fit `network.max_message_bytes` whole (`capacity` is
//! refused otherwise), a node whose budget cannot pay for one does not open, and the repair and
//! the close are cut by `priority`, what they leave out counted as deferred; the full-digest
//! exchange pages as push-pull does.
//!
//! A node that lost its table is answered with the full-digest exchange at once, which ships
//! the baseline. The simulator computes the difference from the two tables (see
//! `difference.rs`); in `async` timing each step compares them as they are when its message
//! arrives.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::anti_entropy::{
    AntiEntropy, Exchange, PushPull, PushPullConfig, push_pull_rounds, resolve_priority,
};
use super::budget::{Priority, Selector};
use super::difference::Difference;
use super::kind::{ConfigError, Estimate, Kind};
use super::merkle::in_range;
use super::{Context, Message, MessageKind, NodeId, Protocol, Size};
use crate::engine::Setup;
use crate::scenario::{Scenario, SizeModel};

/// `protocol.kind = "sketch"`.
pub struct Sketch;

/// Which sketch a node sends: `protocol.sketch`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SketchCode {
    /// A BCH-code sketch (minisketch): exact up to its capacity.
    #[default]
    Minisketch,
    /// An invertible Bloom lookup table: decodes with a probability.
    Iblt,
}

/// What follows a sketch that does not decode: `protocol.fallback`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fallback {
    /// Erlay's bisection, then the full digest if that fails too.
    #[default]
    Bisect,
    /// The full-digest push-pull exchange at once.
    FullDigest,
}

/// The keys of `protocol.kind = "sketch"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SketchConfig {
    /// Elements of the symmetric difference a sketch decodes; default 32, or the largest that
    /// fits `network.max_message_bytes`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
    /// `"minisketch"` (the default) or `"iblt"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sketch: Option<SketchCode>,
    /// Bytes of one element (product id and version); default 8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element_bytes: Option<i64>,
    /// `"bisect"` (the default) or `"full-digest"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// IBLT cells per element of capacity; default 1.5.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iblt_overhead: Option<f64>,
    /// IBLT hash functions (subtables); default 3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iblt_hashes: Option<i64>,
    /// Under bandwidth bounds: which entries go first when not all fit (default `"newest"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

/// `capacity` when the scenario does not set it (and the size limit allows it).
const DEFAULT_CAPACITY: i64 = 32;

/// Bytes of an IBLT cell besides its key sum: a 4-byte count and a 4-byte hash sum
/// (Eppstein et al. 2011, section 3).
const IBLT_CELL_EXTRA: u64 = 8;

/// A resolved sketch configuration: what one sketch costs and decodes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SketchModel {
    pub code: SketchCode,
    pub capacity: u64,
    pub element_bytes: u64,
    pub fallback: Fallback,
    /// IBLT: cells, and hash functions.
    pub cells: u64,
    pub hashes: u64,
}

impl SketchModel {
    pub fn of(config: &SketchConfig) -> SketchModel {
        let capacity = config.capacity.unwrap_or(32) as u64;
        let hashes = config.iblt_hashes.unwrap_or(3) as u64;
        let overhead = config.iblt_overhead.unwrap_or(1.5);
        let cells = ((overhead * capacity as f64).ceil() as u64)
            .max(1)
            .next_multiple_of(hashes);
        SketchModel {
            code: config.sketch.unwrap_or_default(),
            capacity,
            element_bytes: config.element_bytes.unwrap_or(8) as u64,
            fallback: config.fallback.unwrap_or_default(),
            cells,
            hashes,
        }
    }

    /// Bytes of one sketch, header excluded.
    pub fn sketch_bytes(&self) -> u64 {
        match self.code {
            SketchCode::Minisketch => self.capacity * self.element_bytes,
            SketchCode::Iblt => self.cells * (self.element_bytes + IBLT_CELL_EXTRA),
        }
    }

    /// Whether a sketch decodes the symmetric difference `elements` (its hash functions
    /// salted with `salt`).
    pub fn decodes(&self, elements: &[(u64, bool)], salt: u64) -> bool {
        match self.code {
            SketchCode::Minisketch => elements.len() as u64 <= self.capacity,
            SketchCode::Iblt => iblt_decodes(elements, self.cells, self.hashes, salt),
        }
    }

    /// Whether the code needs random salts (an IBLT's hash functions).
    fn salted(&self) -> bool {
        self.code == SketchCode::Iblt
    }
}

/// A sketch message's size: the sketch's own bytes, exactly.
fn sketch_size(model: &SketchModel) -> Size {
    Size::other(model.sketch_bytes())
}

/// Bytes of a sketch message, header included.
fn sketch_message_bytes(model: &SketchModel, sizes: &SizeModel) -> u64 {
    sizes.header + sketch_size(model).other_bytes
}

impl Kind for Sketch {
    type Config = SketchConfig;
    type Protocol = SketchReconciliation;

    fn resolve(config: SketchConfig, scenario: &Scenario) -> Result<SketchConfig, ConfigError> {
        let overhead = config.iblt_overhead.unwrap_or(1.5);
        if !(overhead.is_finite() && (1.0..=100.0).contains(&overhead)) {
            return Err(ConfigError::new(
                "iblt_overhead",
                overhead,
                "must be between 1 and 100 (cells per element of capacity)",
            ));
        }
        let resolved = SketchConfig {
            capacity: Some(in_range(
                "capacity",
                config.capacity.unwrap_or(DEFAULT_CAPACITY),
                1..=1_000_000,
            )?),
            sketch: Some(config.sketch.unwrap_or_default()),
            element_bytes: Some(in_range(
                "element_bytes",
                config.element_bytes.unwrap_or(8),
                1..=64,
            )?),
            fallback: Some(config.fallback.unwrap_or_default()),
            iblt_overhead: Some(overhead),
            iblt_hashes: Some(in_range(
                "iblt_hashes",
                config.iblt_hashes.unwrap_or(3),
                2..=8,
            )?),
            priority: resolve_priority(config.priority, scenario)?,
        };
        let mut resolved = resolved;
        // A sketch is one message: it must fit the size limit whole. The default capacity
        // shrinks to the largest that fits; a capacity given is kept, or refused.
        if config.capacity.is_none()
            && let Some(limit) = scenario.network.max_message_bytes
        {
            let fits = |c: i64| {
                let model = SketchModel::of(&SketchConfig {
                    capacity: Some(c),
                    ..resolved
                });
                sketch_message_bytes(&model, &scenario.sizes) <= limit
            };
            if let Some(c) = (1..=DEFAULT_CAPACITY).rev().find(|&c| fits(c)) {
                resolved.capacity = Some(c);
            }
        }
        let model = SketchModel::of(&resolved);
        let bytes = sketch_message_bytes(&model, &scenario.sizes);
        if let Some(limit) = scenario.network.max_message_bytes
            && bytes > limit
        {
            return Err(ConfigError::new(
                "capacity",
                model.capacity as i64,
                format!(
                    "a sketch message of {bytes} bytes exceeds network.max_message_bytes = {limit}"
                ),
            ));
        }
        Ok(resolved)
    }

    fn new(config: &SketchConfig, setup: &Setup) -> SketchReconciliation {
        SketchReconciliation {
            model: SketchModel::of(config),
            plain: AntiEntropy::for_trial(
                Exchange::PushPull { full_table: false },
                config.priority,
                setup,
            ),
            selector: Selector::new(config.priority.unwrap_or_default()),
            difference: Difference::default(),
            half: Vec::new(),
        }
    }

    /// In `rounds` timing an exchange (with its fallback) completes within the round, so the
    /// spread is push-pull's: log3 n (Karp et al. 2000) under the same assumptions.
    fn theory(_: &SketchConfig, scenario: &Scenario, metric: &str) -> Option<f64> {
        PushPull::theory(&PushPullConfig::default(), scenario, metric)
    }

    fn estimate(_: &SketchConfig, scenario: &Scenario) -> Estimate {
        Estimate::rounds(push_pull_rounds(scenario))
    }
}

/// Which step of an exchange a message is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SketchStep {
    /// A message of the full-digest exchange (a lost table, or the fallback).
    #[default]
    Plain,
    /// The initiator's sketch of its table.
    Sketch,
    /// The partner asks for the sketch of half the table (bisection).
    Bisect,
    /// The sketch of half the table.
    Half,
    /// The entries the initiator lacks, and the names of (this many of) those the partner
    /// lacks.
    Repair(u32),
    /// The entries the partner named.
    Close,
}

/// The sketch-reconciliation anti-entropy protocol.
pub struct SketchReconciliation {
    model: SketchModel,
    plain: AntiEntropy,
    /// Cuts the entries of a repair or close that do not all fit, by `priority`.
    selector: Selector,
    difference: Difference,
    half: Vec<(u64, bool)>,
}

impl SketchReconciliation {
    /// A sketch message: the sketch's own bytes, exactly.
    fn sketch_size(&self) -> Size {
        sketch_size(&self.model)
    }

    fn send_sketch(
        &mut self,
        a: NodeId,
        b: NodeId,
        step: SketchStep,
        cx: &mut Context<'_, SketchStep>,
    ) {
        let size = self.sketch_size();
        // Without the budget for a whole sketch the exchange waits for a later period.
        if !cx.fits(a, size) {
            return;
        }
        let has_baseline = cx.has_baseline(a);
        let out = cx.send(MessageKind::ExchangeOpen, a, b, size);
        out.body = step;
        out.sender_has_baseline = has_baseline;
    }

    /// At `b`: the entries `a` lacks, and the names of those `b` lacks (the difference is
    /// decoded), cut to the room by priority (entries first).
    fn repair(&mut self, a: NodeId, b: NodeId, cx: &mut Context<'_, SketchStep>) {
        if let Some((out, named)) = self.difference.send_repair(&mut self.selector, a, b, cx) {
            out.body = SketchStep::Repair(named as u32);
        }
    }

    /// At `a`: the close with the `named` entries `b` asked for, cut to the room by priority.
    fn close(&mut self, a: NodeId, b: NodeId, named: u32, cx: &mut Context<'_, SketchStep>) {
        self.difference.compute(a, b, cx);
        let named = u64::from(named);
        if let Some(out) = self
            .difference
            .send_close(&mut self.selector, a, b, named, cx)
        {
            out.body = SketchStep::Close;
        }
    }

    /// At `b`, a sketch (or, `half`, the second sketch of a bisection) from `a`.
    fn decode(&mut self, a: NodeId, b: NodeId, half: bool, cx: &mut Context<'_, SketchStep>) {
        self.difference.compute(a, b, cx);
        self.difference.elements(a, b, cx);
        let elements = &self.difference.elements;
        let decoded = if half {
            // The halves split by a salted hash bit; the second half's sketch is the first
            // sketch minus the half sketch (sketches are linear).
            let split = cx.rng().random::<u64>();
            let salts = if self.model.salted() {
                (cx.rng().random::<u64>(), cx.rng().random::<u64>())
            } else {
                (0, 0)
            };
            self.half.clear();
            self.half
                .extend(elements.iter().filter(|e| mix(e.0 ^ split) & 1 == 0));
            let first = self.model.decodes(&self.half, salts.0);
            self.half.clear();
            self.half
                .extend(elements.iter().filter(|e| mix(e.0 ^ split) & 1 == 1));
            first && self.model.decodes(&self.half, salts.1)
        } else {
            let salt = if self.model.salted() {
                cx.rng().random::<u64>()
            } else {
                0
            };
            self.model.decodes(elements, salt)
        };
        if decoded {
            self.repair(a, b, cx);
        } else if !half && self.model.fallback == Fallback::Bisect {
            if !cx.fits(b, Size::HEADER) {
                return;
            }
            let out = cx.send(MessageKind::ExchangeReply, b, a, Size::HEADER);
            out.body = SketchStep::Bisect;
        } else {
            self.plain.open(b, a, cx);
        }
    }
}

impl Protocol for SketchReconciliation {
    type Body = SketchStep;

    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, SketchStep>) {
        cx.for_each_partner(node, |cx, partner| {
            self.send_sketch(node, partner, SketchStep::Sketch, cx);
            // In rounds timing the exchange completes before the next one opens.
            cx.flush(&mut *self);
        });
    }

    fn on_message(&mut self, m: &Message<SketchStep>, cx: &mut Context<'_, SketchStep>) {
        let (to, from) = (m.to, m.from);
        match m.body {
            SketchStep::Plain => self.plain.receive(m, cx),
            SketchStep::Sketch if cx.has_baseline(to) != m.sender_has_baseline => {
                // One side lost its table: the difference is the catalog; ship it instead.
                self.plain.open(to, from, cx);
            }
            SketchStep::Sketch => self.decode(from, to, false, cx),
            SketchStep::Bisect => self.send_sketch(to, from, SketchStep::Half, cx),
            SketchStep::Half => self.decode(from, to, true, cx),
            SketchStep::Repair(named) => {
                cx.deliver(to, from, &m.payload);
                self.close(to, from, named, cx);
            }
            SketchStep::Close => cx.deliver(to, from, &m.payload),
        }
    }
}

/// splitmix64's finaliser: the hash functions of the IBLT and of the bisection split.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One IBLT cell: the count, key sum and hash sum of the elements hashed to it.
#[derive(Clone, Copy, Default)]
struct Cell {
    count: i64,
    key_sum: u64,
    hash_sum: u32,
}

/// Whether an IBLT of `cells` cells in `hashes` subtables, hash functions salted with `salt`,
/// decodes the symmetric difference `elements` (each tagged with its side) by peeling
/// (Eppstein et al. 2011, section 3; Goodrich & Mitzenmacher 2011). The elements both sides
/// hold cancel out of the subtracted table, so only the difference is inserted.
pub fn iblt_decodes(elements: &[(u64, bool)], cells: u64, hashes: u64, salt: u64) -> bool {
    let sub = (cells / hashes).max(1) as usize;
    let hashes = hashes as usize;
    let check = |key: u64| (mix(key ^ salt.rotate_left(17)) >> 32) as u32;
    let cell_of = |key: u64, j: usize| {
        let h = mix(key ^ salt ^ (j as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        j * sub + (h % sub as u64) as usize
    };
    let mut table = vec![Cell::default(); sub * hashes];
    let toggle = |table: &mut [Cell], key: u64, sign: i64| {
        for j in 0..hashes {
            let c = &mut table[cell_of(key, j)];
            c.count += sign;
            c.key_sum ^= key;
            c.hash_sum ^= check(key);
        }
    };
    for &(key, own) in elements {
        toggle(&mut table, key, if own { 1 } else { -1 });
    }
    let pure = |c: &Cell| (c.count == 1 || c.count == -1) && c.hash_sum == check(c.key_sum);
    let mut candidates: Vec<usize> = (0..table.len()).filter(|&i| pure(&table[i])).collect();
    let mut decoded = 0;
    while let Some(i) = candidates.pop() {
        if !pure(&table[i]) {
            continue;
        }
        let (key, sign) = (table[i].key_sum, table[i].count);
        toggle(&mut table, key, -sign);
        decoded += 1;
        for j in 0..hashes {
            let c = cell_of(key, j);
            if pure(&table[c]) {
                candidates.push(c);
            }
        }
    }
    decoded == elements.len()
        && table
            .iter()
            .all(|c| c.count == 0 && c.key_sum == 0 && c.hash_sum == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(code: SketchCode, capacity: i64) -> SketchModel {
        SketchModel::of(&SketchConfig {
            capacity: Some(capacity),
            sketch: Some(code),
            ..SketchConfig::default()
        })
    }

    fn elements(n: u64, seed: u64) -> Vec<(u64, bool)> {
        (0..n)
            .map(|i| (mix(i ^ seed.rotate_left(32)), i % 2 == 0))
            .collect()
    }

    /// The size model: minisketch c x 8 bytes; IBLT ceil(1.5 c) cells (a multiple of 3) of
    /// 4 + 8 + 4 bytes.
    #[test]
    fn a_sketch_costs_its_size_model() {
        assert_eq!(model(SketchCode::Minisketch, 32).sketch_bytes(), 256);
        let iblt = model(SketchCode::Iblt, 32);
        assert_eq!(iblt.cells, 48);
        assert_eq!(iblt.sketch_bytes(), 48 * 16);
        assert_eq!(model(SketchCode::Iblt, 10).cells, 15);
        assert_eq!(model(SketchCode::Iblt, 11).cells, 18); // ceil(16.5) = 17, up to 18
    }

    /// Minisketch decodes exactly up to its capacity (Naumenko et al. 2019, section 4.2).
    #[test]
    fn minisketch_decodes_exactly_up_to_its_capacity() {
        let m = model(SketchCode::Minisketch, 20);
        assert!(m.decodes(&elements(20, 1), 0));
        assert!(!m.decodes(&elements(21, 1), 0));
        assert!(m.decodes(&[], 0));
    }

    /// Peeling thresholds (Goodrich & Mitzenmacher 2011, table 1, as Eppstein et al. 2011
    /// section 3 use them): with 3 hash functions an IBLT of m cells decodes n elements with
    /// probability tending to 1 for m / n > 1.222 and to 0 below. At n = 2,000 over 200 salts:
    /// at m / n = 1.5 at least 97% decode; at m / n = 1.1 at most 3%.
    #[test]
    fn an_iblt_decodes_above_the_peeling_threshold_and_fails_below_it() {
        let n = 2_000;
        let rate = |cells: u64| {
            (0..200u64)
                .filter(|&seed| iblt_decodes(&elements(n, seed), cells, 3, mix(seed)))
                .count() as f64
                / 200.0
        };
        let above = rate(3_000);
        let below = rate(2_200 - 2_200 % 3);
        eprintln!("IBLT n={n}: decodes {above} at m/n = 1.5, {below} at m/n = 1.1");
        assert!(above >= 0.97, "m/n = 1.5: {above}");
        assert!(below <= 0.03, "m/n = 1.1: {below}");
    }

    #[test]
    fn an_iblt_decodes_small_differences_and_the_empty_one() {
        assert!(iblt_decodes(&[], 15, 3, 7));
        assert!(iblt_decodes(&elements(1, 3), 15, 3, 7));
        // More elements than cells never decode.
        assert!(!iblt_decodes(&elements(16, 3), 15, 3, 7));
    }
}
