//! Merkle-tree anti-entropy (DeCandia et al. 2007, "Dynamo", section 4.7; Cassandra's repair):
//! every node keeps a hash tree over the catalog, and an exchange descends from the roots only
//! into the subtrees whose hashes differ, so its cost grows with the difference, not with the
//! catalog.
//!
//! The tree: `branching` children per node, `leaf_size` products per leaf (products in id
//! order), and the least depth `D >= 1` with `leaf_size x branching^D >= products`. A node at
//! level `l` (root 0, leaves `D`) covers `leaf_size x branching^(D - l)` consecutive products;
//! nodes covering no product do not exist and cost nothing.
//!
//! One exchange, initiator `a` with partner `b` (every message is one of a request/response
//! pair, so each level of the descent is one round trip):
//! 1. level `l = 1 ..= D`: `a` sends a request naming the level-`(l - 1)` nodes found to
//!    differ (level 1: the root, sent as `a`'s root hash); `b` answers with its hashes of their
//!    children, or, when the named nodes agree (equal roots), with a bare header that ends the
//!    exchange. `a` compares them with its own to find the differing level-`l` nodes.
//! 2. leaves: `a` sends the digest entries (product, version) of every product in the
//!    differing leaves; `b` answers with the entries `a` lacks and names (as digest entries) the
//!    ones it lacks itself; `a` closes with those, when there are any.
//!
//! So a single differing product costs `D` round trips of descent plus one of repair. In
//! `rounds` timing the whole descent completes within the round (depth first, as every
//! exchange does); in `async` timing every level costs a real round trip of latency. The
//! simulator finds the differing nodes from the two nodes' tables (see `difference.rs`), as
//! 64-bit hashes would barring collisions: one in 2^64 per compared node, left out. In `async`
//! timing each step compares the two tables as they are when its message arrives.
//!
//! A node that lost its table (and so the baseline) differs from its partner everywhere: the
//! partner answers the opening request with a full-digest push-pull exchange instead, which
//! ships the baseline, as `push-pull` does.
//!
//! Under bandwidth bounds (`network.max_message_bytes`, `network.budget_bytes_per_period`) a
//! message that does not fit carries a run of consecutive subtrees that does, from a random one
//! (the protocol's stream; no draw without bounds), and the rest of the exchange is about their
//! products only (`MerkleBody::range`); the repair and the close are cut by `priority`, what
//! they leave out counted as deferred.
//!
//! Size model: a request costs `hash_bytes` per node it names, a response `hash_bytes` per
//! child hash; the leaf request `digest_entry` per product of the differing leaves, the repair
//! `entry` per entry and `digest_entry` per named product, the close `entry` per entry; every
//! message a header.

use rand::Rng;
use serde::{Deserialize, Serialize};

use super::anti_entropy::{
    AntiEntropy, Exchange, PushPull, PushPullConfig, push_pull_rounds, resolve_priority,
};
use super::budget::{Priority, Selector};
use super::difference::Difference;
use super::kind::{ConfigError, Estimate, Kind};
use super::{Context, Message, MessageKind, NodeId, Protocol, Size};
use crate::engine::Setup;
use crate::scenario::{Scenario, SizeModel};

/// `protocol.kind = "merkle"`.
pub struct Merkle;

/// The keys of `protocol.kind = "merkle"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MerkleConfig {
    /// Children per tree node; default 16.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branching: Option<i64>,
    /// Products per leaf; default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leaf_size: Option<i64>,
    /// Bytes of one tree node's hash; default 8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_bytes: Option<i64>,
    /// Under bandwidth bounds: which entries go first when not all fit (default `"newest"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
}

impl MerkleConfig {
    fn branching(&self) -> u64 {
        self.branching.unwrap_or(16) as u64
    }

    fn leaf_size(&self) -> u64 {
        self.leaf_size.unwrap_or(1) as u64
    }

    fn hash_bytes(&self) -> u64 {
        self.hash_bytes.unwrap_or(8) as u64
    }
}

/// `value` of `key` if it lies in `range`, else the error naming both.
pub(crate) fn in_range(
    key: &str,
    value: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            key,
            value,
            format!("must be between {} and {}", range.start(), range.end()),
        ))
    }
}

impl Kind for Merkle {
    type Config = MerkleConfig;
    type Protocol = MerkleTree;

    fn resolve(config: MerkleConfig, scenario: &Scenario) -> Result<MerkleConfig, ConfigError> {
        Ok(MerkleConfig {
            branching: Some(in_range(
                "branching",
                config.branching.unwrap_or(16),
                2..=256,
            )?),
            leaf_size: Some(in_range(
                "leaf_size",
                config.leaf_size.unwrap_or(1),
                1..=1_000_000,
            )?),
            hash_bytes: Some(in_range(
                "hash_bytes",
                config.hash_bytes.unwrap_or(8),
                1..=64,
            )?),
            priority: resolve_priority(config.priority, scenario)?,
        })
    }

    fn new(config: &MerkleConfig, setup: &Setup) -> MerkleTree {
        MerkleTree {
            branching: config.branching(),
            leaf_size: config.leaf_size(),
            hash_bytes: config.hash_bytes(),
            sizes: setup.scenario.sizes,
            shape: None,
            plain: AntiEntropy::for_trial(
                Exchange::PushPull { full_table: false },
                config.priority,
                setup,
            ),
            selector: Selector::new(config.priority.unwrap_or_default()),
            difference: Difference::default(),
            frontier: Vec::new(),
        }
    }

    /// In `rounds` timing an exchange completes within the round, whatever its depth, so the
    /// spread is push-pull's: log3 n (Karp et al. 2000) under the same assumptions.
    fn theory(_: &MerkleConfig, scenario: &Scenario, metric: &str) -> Option<f64> {
        PushPull::theory(&PushPullConfig::default(), scenario, metric)
    }

    fn estimate(_: &MerkleConfig, scenario: &Scenario) -> Estimate {
        Estimate::rounds(push_pull_rounds(scenario))
    }
}

/// The shape of the hash tree over a catalog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub branching: u64,
    pub leaf_size: u64,
    /// Levels below the root: the leaves are at level `depth`.
    pub depth: u32,
    pub products: u64,
}

impl Shape {
    /// The least depth (at least 1) whose leaves cover `products`.
    pub fn new(branching: u64, leaf_size: u64, products: u64) -> Shape {
        let products = products.max(1);
        let mut depth = 1;
        let mut covered = leaf_size.saturating_mul(branching);
        while covered < products {
            depth += 1;
            covered = covered.saturating_mul(branching);
        }
        Shape {
            branching,
            leaf_size,
            depth,
            products,
        }
    }

    /// Products a node of `level` covers.
    fn span(&self, level: u32) -> u64 {
        let mut span = self.leaf_size;
        for _ in level..self.depth {
            span = span.saturating_mul(self.branching);
        }
        span
    }

    /// Existing children of node `node` of `level` (`level < depth`).
    fn children(&self, level: u32, node: u64) -> u64 {
        let child_span = self.span(level + 1);
        let existing = self.products.div_ceil(child_span);
        existing
            .saturating_sub(node * self.branching)
            .min(self.branching)
    }

    /// Products in leaf `leaf`.
    fn leaf_products(&self, leaf: u64) -> u64 {
        self.products
            .saturating_sub(leaf * self.leaf_size)
            .min(self.leaf_size)
    }

    /// The nodes of `level` covering any of `products` (ascending), ascending and distinct.
    fn frontier(&self, products: &[u32], level: u32, out: &mut Vec<u64>) {
        let span = self.span(level);
        out.clear();
        for &p in products {
            let node = u64::from(p) / span;
            if out.last() != Some(&node) {
                out.push(node);
            }
        }
    }

    /// What one exchange costs when the two sides differ on `products` (ascending), `a_newer`
    /// / `b_newer` of them newer at the initiator / at the partner, with `hash_bytes` per hash:
    /// its hashes, digest entries and entries, messages and round trips. The figure the tests
    /// and the README's size model state, computed as the protocol's handlers send (without
    /// bounds).
    pub fn exchange_cost(
        &self,
        products: &[u32],
        (a_newer, b_newer): (u64, u64),
        hash_bytes: u64,
    ) -> Cost {
        let mut cost = Cost::default();
        let message = |cost: &mut Cost, hashes: u64| {
            cost.messages += 1;
            cost.hashes += hashes;
            cost.hash_bytes += hashes * hash_bytes;
        };
        // The root hash, and the answer: equal roots, or the root's children.
        message(&mut cost, 1);
        cost.round_trips += 1;
        if products.is_empty() {
            message(&mut cost, 0);
            return cost;
        }
        let mut frontier = vec![0];
        let mut next = Vec::new();
        for level in 1..=self.depth {
            if level > 1 {
                // The request naming the differing nodes of the level above.
                message(&mut cost, frontier.len() as u64);
                cost.round_trips += 1;
            }
            let children = frontier.iter().map(|&n| self.children(level - 1, n)).sum();
            message(&mut cost, children);
            self.frontier(products, level, &mut next);
            std::mem::swap(&mut frontier, &mut next);
        }
        // The leaves' digest, and the repair.
        cost.digest_entries += frontier.iter().map(|&l| self.leaf_products(l)).sum::<u64>();
        cost.entries += b_newer;
        cost.digest_entries += a_newer;
        cost.messages += 2;
        cost.round_trips += 1;
        if a_newer > 0 {
            cost.entries += a_newer;
            cost.messages += 1;
        }
        cost
    }
}

/// What an exchange costs, by the parts of the size model.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    pub hashes: u64,
    /// Bytes of the hashes.
    pub hash_bytes: u64,
    pub entries: u64,
    pub digest_entries: u64,
    pub messages: u64,
    /// Request/response pairs; a close is one more one-way message.
    pub round_trips: u64,
}

impl Cost {
    /// Its bytes in size model `sizes`.
    pub fn bytes(&self, sizes: &SizeModel) -> u64 {
        self.messages * sizes.header
            + self.hash_bytes
            + self.entries * sizes.entry
            + self.digest_entries * sizes.digest_entry
    }
}

/// Which step of an exchange a message is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Step {
    /// A message of the full-digest exchange that repairs a lost table.
    #[default]
    Plain,
    /// The request for, or the response with, the hashes of tree level `l`.
    Level(u8),
    /// The response to a request whose named nodes agree: the exchange is over.
    InSync,
    /// The digest of the differing leaves' products.
    Leaves,
    /// The entries the initiator lacks, and the names of those the partner lacks.
    Repair,
    /// The entries the partner named.
    Close,
}

/// A Merkle message: its step, and the products the exchange is still about.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MerkleBody {
    pub step: Step,
    /// Products `range.0 .. range.1`: the whole catalog, unless a message was cut at the
    /// bandwidth bounds, which narrows the exchange to the subtrees it carried.
    pub range: (u32, u32),
    /// A repair: how many entries it named for the close.
    pub named: u32,
}

/// The whole catalog, as a range.
const ALL: (u32, u32) = (0, u32::MAX);

/// The Merkle-tree anti-entropy protocol.
pub struct MerkleTree {
    branching: u64,
    leaf_size: u64,
    hash_bytes: u64,
    sizes: SizeModel,
    /// Set at the first exchange: the catalog is fixed for the trial.
    shape: Option<Shape>,
    plain: AntiEntropy,
    /// Cuts the entries of a repair or close that do not all fit, by `priority`.
    selector: Selector,
    difference: Difference,
    frontier: Vec<u64>,
}

impl MerkleTree {
    fn shape<B: Copy + Default>(&mut self, cx: &Context<'_, B>) -> Shape {
        *self
            .shape
            .get_or_insert_with(|| Shape::new(self.branching, self.leaf_size, cx.catalog_len()))
    }

    /// The size of a message with `hashes` hashes besides its entries and digest entries: each
    /// hash is `hash_bytes` bytes, exactly.
    fn size(&self, hashes: u64, entries: u64, digest_entries: u64) -> Size {
        Size {
            entries,
            digest_entries,
            other_bytes: hashes * self.hash_bytes,
        }
    }

    /// Bytes of a message of `size`.
    fn bytes(&self, size: Size) -> u64 {
        self.sizes.header
            + size.entries * self.sizes.entry
            + size.digest_entries * self.sizes.digest_entry
            + size.other_bytes
    }

    /// The most bytes `node`'s next message may have (the bounds' `room`).
    fn room<B: Copy + Default>(&self, node: NodeId, cx: &Context<'_, B>) -> u64 {
        cx.room(node)
    }

    /// Keeps of `self.frontier` (nodes of `level`, ascending) a consecutive run whose units
    /// (`units(node)` each, plus `fixed` hashes) fit `room` bytes as `unit` says, starting at a
    /// random node when not all fit; narrows `range` to the products it covers. Returns the
    /// units kept (`None`: not even one node fits).
    #[allow(clippy::too_many_arguments)] // One cut, three kinds of unit.
    fn cut<B: Copy + Default>(
        &self,
        shape: &Shape,
        level: u32,
        room: u64,
        units: impl Fn(u64) -> u64,
        charge: impl Fn(u64) -> Size,
        range: &mut (u32, u32),
        cx: &mut Context<'_, B>,
    ) -> Option<u64> {
        let frontier = &self.frontier;
        let total: u64 = frontier.iter().map(|&n| units(n)).sum();
        if self.bytes(charge(total)) <= room {
            return Some(total);
        }
        let len = frontier.len();
        let start = cx.rng().random_range(0..len);
        let (mut first, mut last, mut kept) = (start, start, 0);
        if self.bytes(charge(units(frontier[start]))) > room {
            return None;
        }
        kept += units(frontier[start]);
        while last + 1 < len && self.bytes(charge(kept + units(frontier[last + 1]))) <= room {
            last += 1;
            kept += units(frontier[last]);
        }
        while first > 0 && self.bytes(charge(kept + units(frontier[first - 1]))) <= room {
            first -= 1;
            kept += units(frontier[first]);
        }
        let span = shape.span(level);
        let lo = (frontier[first] * span).min(u64::from(u32::MAX)) as u32;
        let hi = ((frontier[last] + 1) * span).min(u64::from(u32::MAX)) as u32;
        *range = (range.0.max(lo), range.1.min(hi));
        Some(kept)
    }

    /// `a` opens an exchange with `b`: its root hash.
    fn open(&mut self, a: NodeId, b: NodeId, cx: &mut Context<'_, MerkleBody>) {
        let size = self.size(1, 0, 0);
        if self.bytes(size) > self.room(a, cx) {
            return;
        }
        let has_baseline = cx.has_baseline(a);
        let out = cx.send(MessageKind::ExchangeOpen, a, b, size);
        out.body = MerkleBody {
            step: Step::Level(1),
            range: ALL,
            named: 0,
        };
        out.sender_has_baseline = has_baseline;
    }

    /// The differing products of `a` and `b` within `range`, into `self.difference`.
    fn compare<B: Copy + Default>(
        &mut self,
        a: NodeId,
        b: NodeId,
        range: (u32, u32),
        cx: &Context<'_, B>,
    ) {
        self.difference.compute(a, b, cx);
        self.difference.restrict(range, cx);
    }

    /// At `b`: the request for level `level`'s hashes from `a`, about `range`.
    fn answer_level(
        &mut self,
        a: NodeId,
        b: NodeId,
        level: u32,
        range: (u32, u32),
        cx: &mut Context<'_, MerkleBody>,
    ) {
        let shape = self.shape(cx);
        self.compare(a, b, range, cx);
        shape.frontier(&self.difference.products, level - 1, &mut self.frontier);
        let mut range = range;
        if self.frontier.is_empty() {
            if self.bytes(Size::HEADER) <= self.room(b, cx) {
                let out = cx.send(MessageKind::ExchangeReply, b, a, Size::HEADER);
                out.body = MerkleBody {
                    step: Step::InSync,
                    range,
                    named: 0,
                };
            }
            return;
        }
        let room = self.room(b, cx);
        let hashes = self.cut(
            &shape,
            level - 1,
            room,
            |n| shape.children(level - 1, n),
            |h| self.size(h, 0, 0),
            &mut range,
            cx,
        );
        // Not even one node's children fit: the exchange stops here.
        let Some(hashes) = hashes else { return };
        let out = cx.send(MessageKind::ExchangeReply, b, a, self.size(hashes, 0, 0));
        out.body = MerkleBody {
            step: Step::Level(level as u8),
            range,
            named: 0,
        };
    }

    /// At `a`: `b`'s hashes of level `level`, about `range`.
    fn descend(
        &mut self,
        a: NodeId,
        b: NodeId,
        level: u32,
        range: (u32, u32),
        cx: &mut Context<'_, MerkleBody>,
    ) {
        let shape = self.shape(cx);
        self.compare(a, b, range, cx);
        shape.frontier(&self.difference.products, level, &mut self.frontier);
        if self.frontier.is_empty() {
            return;
        }
        let mut range = range;
        let room = self.room(a, cx);
        let (size, step) = if level < shape.depth {
            let names = self.cut(
                &shape,
                level,
                room,
                |_| 1,
                |h| self.size(h, 0, 0),
                &mut range,
                cx,
            );
            let Some(names) = names else { return };
            (self.size(names, 0, 0), Step::Level(level as u8 + 1))
        } else {
            let products = self.cut(
                &shape,
                level,
                room,
                |l| shape.leaf_products(l),
                Size::digest,
                &mut range,
                cx,
            );
            let Some(products) = products else { return };
            (Size::digest(products), Step::Leaves)
        };
        let out = cx.send(MessageKind::ExchangeOpen, a, b, size);
        out.body = MerkleBody {
            step,
            range,
            named: 0,
        };
    }

    /// At `b`: the digest of `a`'s differing leaves in `range`; the repair: the entries `a`
    /// lacks and the names of those `b` lacks, cut to the room by priority (entries first).
    fn repair(
        &mut self,
        a: NodeId,
        b: NodeId,
        range: (u32, u32),
        cx: &mut Context<'_, MerkleBody>,
    ) {
        self.compare(a, b, range, cx);
        if let Some((out, named)) = self.difference.send_repair(&mut self.selector, a, b, cx) {
            out.body = MerkleBody {
                step: Step::Repair,
                range,
                named: named as u32,
            };
        }
    }

    /// At `a`: the repair from `b`; the close with what `b` named, cut to the room by
    /// priority.
    fn close(&mut self, a: NodeId, b: NodeId, body: MerkleBody, cx: &mut Context<'_, MerkleBody>) {
        self.compare(a, b, body.range, cx);
        let named = u64::from(body.named);
        if let Some(out) = self
            .difference
            .send_close(&mut self.selector, a, b, named, cx)
        {
            out.body = MerkleBody {
                step: Step::Close,
                ..body
            };
        }
    }
}

impl Protocol for MerkleTree {
    type Body = MerkleBody;

    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, MerkleBody>) {
        cx.for_each_partner(node, |cx, partner| {
            self.open(node, partner, cx);
            // In rounds timing the exchange completes before the next one opens.
            cx.flush(&mut *self);
        });
    }

    fn on_message(&mut self, m: &Message<MerkleBody>, cx: &mut Context<'_, MerkleBody>) {
        let (to, from, range) = (m.to, m.from, m.body.range);
        match (m.body.step, m.kind) {
            (Step::Plain, _) => self.plain.receive(m, cx),
            (Step::Level(1), MessageKind::ExchangeOpen)
                if cx.has_baseline(to) != m.sender_has_baseline =>
            {
                // One side lost its table: every hash differs, so ship the catalog instead.
                self.plain.open(to, from, cx);
            }
            (Step::Level(level), MessageKind::ExchangeOpen) => {
                self.answer_level(from, to, u32::from(level), range, cx);
            }
            (Step::Level(level), _) => self.descend(to, from, u32::from(level), range, cx),
            (Step::InSync, _) => {}
            (Step::Leaves, _) => self.repair(from, to, range, cx),
            (Step::Repair, _) => {
                cx.deliver(to, from, &m.payload);
                self.close(to, from, m.body, cx);
            }
            (Step::Close, _) => cx.deliver(to, from, &m.payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_the_least_depth_covering_the_catalog() {
        let s = Shape::new(16, 1, 256);
        assert_eq!(s.depth, 2);
        assert_eq!((s.span(0), s.span(1), s.span(2)), (256, 16, 1));
        assert_eq!(Shape::new(16, 1, 257).depth, 3);
        assert_eq!(Shape::new(16, 1, 1).depth, 1);
        assert_eq!(Shape::new(2, 4, 1000).depth, 8); // 4 x 2^8 = 1024
        // 10^5 products, 16-ary, one per leaf: 16^5 = 1,048,576 >= 10^5 > 16^4.
        assert_eq!(Shape::new(16, 1, 100_000).depth, 5);
        // A ragged tree: 20 products, 16-ary, one per leaf: the root has 2 children, the
        // second of which has 4.
        let r = Shape::new(16, 1, 20);
        assert_eq!(
            (
                r.depth,
                r.children(0, 0),
                r.children(1, 0),
                r.children(1, 1)
            ),
            (2, 2, 16, 4)
        );
        assert_eq!(Shape::new(16, 8, 20).leaf_products(2), 4);
    }

    /// The size model of a single difference over 256 products, 16-ary, one product per leaf
    /// (depth 2), partner newer: root hash (8) + 16 child hashes (128) + 1 name (8) + 16 leaf
    /// hashes (128), a leaf digest (16) and the entry (24); six headers (192): 504 bytes.
    #[test]
    fn a_single_difference_costs_depth_round_trips_of_descent() {
        let sizes = SizeModel {
            header: 32,
            entry: 24,
            digest_entry: 16,
        };
        let s = Shape::new(16, 1, 256);
        let partner_newer = s.exchange_cost(&[200], (0, 1), 8);
        assert_eq!(
            partner_newer,
            Cost {
                hashes: 1 + 16 + 1 + 16,
                hash_bytes: 8 + 128 + 8 + 128,
                entries: 1,
                digest_entries: 1,
                messages: 6,
                round_trips: 3,
            }
        );
        assert_eq!(partner_newer.bytes(&sizes), 504);
        // Initiator newer: the repair names it (16) and a close ships it (32 + 24).
        assert_eq!(s.exchange_cost(&[200], (1, 0), 8).bytes(&sizes), 552);
        // In sync: the root hash and a bare answer.
        assert_eq!(s.exchange_cost(&[], (0, 0), 8).bytes(&sizes), 72);
        // Two products under different level-1 nodes: both named, 32 leaf hashes.
        let two = s.exchange_cost(&[3, 200], (0, 2), 8);
        assert_eq!((two.hashes, two.round_trips), (1 + 16 + 2 + 32, 3));
    }
}
