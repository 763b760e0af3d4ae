//! Scuttlebutt reconciliation (van Renesse, Dumitriu, Gough & Chapman 2008, "Efficient
//! reconciliation and flow control for anti-entropy protocols", LADIS), with the paper's two
//! orderings of the deltas that do not all fit one message.
//!
//! The paper's participants each own their keys and number their own writes 1, 2, 3, ...; a
//! digest is one (participant, highest version known) pair per participant, and a node sends its
//! partner every delta of participant r above the partner's version for r, in version order.
//! Here a participant is an update's *origin*: the node the storefront injects it at. The k-th
//! update injected at node r is r's version k (assigned at injection, so a node that is down
//! when its update is due writes nothing). A node's version of r is the longest prefix
//! 1, 2, ..., k of r's updates that it holds (an update retired into the baseline is held by
//! every table holder; an older price learnt through a newer one counts as held). Keys differ
//! from the paper's in one way: a product has one price whoever wrote it, so a node sends the
//! newest version of each product it holds, and learning a newer price of a product also
//! settles the older ones.
//!
//! The exchange is the paper's push-pull: the initiator opens with its digest, the partner
//! replies with the deltas the initiator lacks and its own digest, and the initiator closes with
//! the deltas the partner lacks (when any). Sizes (README, "Size model"): a digest entry
//! (origin, version) is `sizes.digest_entry`, a delta (product, price, version) `sizes.entry`.
//! A node lists every origin that has written so far (membership is global in the simulator;
//! origins that never wrote have version 0 and are left out), so the digest grows with the
//! writers, not with the catalog. A digest that does not fit the message limit goes out in
//! pages over the origins, round-robin like anti-entropy's pages over the catalog.
//!
//! Under the limit the deltas are cut, keeping each origin's prefix (a delta is never sent
//! without the older deltas of its origin that the partner lacks):
//! - `ordering = "depth"` (scuttle-depth): origins with the most deltas to send first, each
//!   origin's deltas in version order;
//! - `ordering = "breadth"` (scuttle-breadth): deltas by version number across all origins,
//!   ties round-robin over the origins (the paper breaks them at random). Versions count each
//!   origin's own writes, so the busiest origin's run ahead and its deltas go last: under a
//!   tight limit it is starved (tests/integration/scuttlebutt.rs measures it).

use serde::{Deserialize, Serialize};

use super::anti_entropy::push_pull_rounds;
use super::kind::{ConfigError, Estimate, Kind};
use super::{Context, Message, MessageKind, NodeId, Protocol, Size, Words};
use crate::engine::{Setup, for_each_bit};
use crate::scenario::{Scenario, Timing};

/// `protocol.ordering`: which deltas go first when not all fit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ordering {
    /// Scuttle-depth: the origins with the most deltas first.
    #[default]
    Depth,
    /// Scuttle-breadth: deltas by version number, ties round-robin over origins.
    Breadth,
}

/// The keys of `protocol.kind = "scuttlebutt"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScuttlebuttConfig {
    /// `"depth"` (the default) or `"breadth"`.
    pub ordering: Option<Ordering>,
}

/// `protocol.kind = "scuttlebutt"`.
impl Kind for Scuttlebutt {
    type Config = ScuttlebuttConfig;
    type Protocol = Scuttlebutt;

    fn resolve(config: ScuttlebuttConfig, _: &Scenario) -> Result<ScuttlebuttConfig, ConfigError> {
        Ok(ScuttlebuttConfig {
            ordering: Some(config.ordering.unwrap_or_default()),
        })
    }

    fn new(config: &ScuttlebuttConfig, setup: &Setup) -> Scuttlebutt {
        Scuttlebutt::new(config.ordering.unwrap_or_default(), setup)
    }

    /// Unbounded, Scuttlebutt is a push-pull exchange of exact differences: Karp et al.'s
    /// log3 n rounds (leading term) for lock-step rounds, fanout 1, no loss, no failures.
    fn theory(_: &ScuttlebuttConfig, scenario: &Scenario, metric: &str) -> Option<f64> {
        let ideal = scenario.timing == Timing::Rounds
            && scenario.crashes.is_empty()
            && scenario.churn.is_none()
            && scenario.network.loss == 0.0
            && scenario.protocol.fanout == 1
            && !scenario.network.bounded();
        (ideal && metric == "rounds_to_all").then(|| f64::from(scenario.nodes).ln() / 3f64.ln())
    }

    /// Push-pull's log3 n + ln ln n, and a version number per update.
    fn estimate(_: &ScuttlebuttConfig, scenario: &Scenario) -> Estimate {
        Estimate {
            bytes_per_update: 4,
            ..Estimate::rounds(push_pull_rounds(scenario))
        }
    }
}

pub struct Scuttlebutt {
    ordering: Ordering,
    /// Per update: its version at its origin (0: not injected).
    version: Vec<u32>,
    /// Per node: updates injected there so far.
    written: Vec<u32>,
    /// Origins that have written, ascending (what a digest lists).
    writers: Vec<NodeId>,
    /// Per node: where its next digest page starts, in `writers`.
    page_start: Vec<u32>,
    /// Per node: the origin that wins its next breadth tie (advancing a message at a time).
    rotation: Vec<u32>,
    /// Per node without the baseline: catalog entries sent to it in baseline pages so far.
    baseline_sent: Vec<u64>,
    /// Per origin, scratch: the lowest version in flight the partner lacks (`u32::MAX`: none).
    lacking: Vec<u32>,
    active: Vec<(u32, u32)>,
    /// (sort key, slot) of the deltas of one message.
    deltas: Vec<([u32; 3], u32)>,
    table: Words,
    digest: Words,
}

impl Scuttlebutt {
    pub fn new(ordering: Ordering, setup: &Setup) -> Scuttlebutt {
        let nodes = setup.nodes() as usize;
        Scuttlebutt {
            ordering,
            version: vec![0; setup.updates],
            written: vec![0; nodes],
            writers: Vec::new(),
            page_start: vec![0; nodes],
            rotation: vec![0; nodes],
            baseline_sent: vec![0; nodes],
            lacking: vec![u32::MAX; nodes],
            active: Vec::new(),
            deltas: Vec::new(),
            table: Words::default(),
            digest: Words::default(),
        }
    }

    /// The origin and version of the update in `slot`.
    fn of<B: Copy + Default>(&self, update: u32, cx: &Context<'_, B>) -> (NodeId, u32) {
        (
            cx.updates()[update as usize].origin,
            self.version[update as usize],
        )
    }

    /// Fills `self.digest` with what `node`'s digest says it holds, as bits: for each origin the
    /// digest lists, its updates in flight up to `node`'s version; for every origin it leaves
    /// out (a page), all of them (so that the partner sends none). Returns the digest entries,
    /// paged to fit beside `carried`; with `half`, a page takes at most half the room (a reply
    /// keeps the other half for its deltas).
    fn digest<B: Copy + Default>(
        &mut self,
        node: NodeId,
        carried: Size,
        half: bool,
        cx: &Context<'_, B>,
    ) -> u64 {
        let writers = self.writers.len() as u64;
        let mut fit = cx.digest_entries_fit(node, carried);
        if half && writers > fit {
            fit = fit.div_ceil(2);
        }
        let (start, len) = if writers <= fit {
            (0, writers)
        } else {
            let start = u64::from(self.page_start[node as usize]);
            self.page_start[node as usize] = ((start + fit) % writers.max(1)) as u32;
            (start, fit)
        };
        let listed = |origin: NodeId, writers_sorted: &[NodeId]| -> bool {
            let index = writers_sorted.partition_point(|&w| w < origin) as u64;
            (index + writers - start) % writers.max(1) < len
        };
        cx.active_updates(&mut self.active);
        // Each origin's lowest version in flight that `node` lacks.
        for &(slot, update) in &self.active {
            let (origin, version) = self.of(update, cx);
            if !cx.holds(node, slot as usize) {
                let lacking = &mut self.lacking[origin as usize];
                *lacking = (*lacking).min(version);
            }
        }
        self.digest.clear();
        self.digest.resize(cx.words());
        for &(slot, update) in &self.active {
            let (origin, version) = self.of(update, cx);
            let claimed = !listed(origin, &self.writers) || version < self.lacking[origin as usize];
            if claimed {
                let (w, bit) = (slot as usize / 64, 1u64 << (slot % 64));
                self.digest.set(w, self.digest.get(w) | bit);
            }
        }
        for &(_, update) in &self.active {
            self.lacking[cx.updates()[update as usize].origin as usize] = u32::MAX;
        }
        len
    }

    /// `self.table`: the deltas `node` sends against digest `claimed` (newest version of each
    /// product `node` holds, above the partner's version of its origin), cut to `fit` by the
    /// ordering, keeping each origin's prefix. Returns (kept, left out).
    fn deltas<B: Copy + Default>(
        &mut self,
        node: NodeId,
        claimed: &Words,
        fit: u64,
        cx: &Context<'_, B>,
    ) -> (u64, u64) {
        let total = cx.top(node, |w| claimed.get(w), &mut self.table);
        if total <= fit {
            return (total, 0);
        }
        // (origin, version, slot) of every delta, in version order within each origin.
        let mut deltas = std::mem::take(&mut self.deltas);
        deltas.clear();
        for (w, bits) in self.table.iter() {
            for_each_bit(bits, |b| {
                let slot = (w * 64 + b) as u32;
                let (origin, version) = self.of(cx.slot_update(slot as usize), cx);
                deltas.push(([origin, version, 0], slot));
            });
        }
        self.deltas = deltas;
        self.deltas.sort_unstable();
        let nodes = cx.nodes();
        let rotation = self.rotation[node as usize];
        let mut run_start = 0;
        for i in 0..=self.deltas.len() {
            let run_over =
                i == self.deltas.len() || self.deltas[i].0[0] != self.deltas[run_start].0[0];
            if !run_over {
                continue;
            }
            // deltas[run_start..i]: one origin's, by version.
            let origin = self.deltas[run_start].0[0];
            let count = (i - run_start) as u32;
            for (rank, delta) in self.deltas[run_start..i].iter_mut().enumerate() {
                let version = delta.0[1];
                delta.0 = match self.ordering {
                    Ordering::Depth => [u32::MAX - count, origin, version],
                    Ordering::Breadth => [
                        version,
                        (origin + nodes - rotation % nodes) % nodes,
                        rank as u32,
                    ],
                };
            }
            run_start = i;
        }
        if self.ordering == Ordering::Breadth {
            self.rotation[node as usize] = (rotation + 1) % nodes;
        }
        self.deltas.sort_unstable();
        let kept = fit.min(total);
        self.table.clear();
        self.table.resize(cx.words());
        for &(_, slot) in &self.deltas[..kept as usize] {
            let (w, bit) = (slot as usize / 64, 1u64 << (slot % 64));
            self.table.set(w, self.table.get(w) | bit);
        }
        (kept, total - kept)
    }

    /// The catalog entries sent to `to`, which lacks the baseline, in room for `fit`:
    /// (entries, whether they complete it). Counts the rest deferred.
    fn baseline_page<B: Copy + Default>(
        &mut self,
        to: NodeId,
        fit: u64,
        cx: &mut Context<'_, B>,
    ) -> (u64, bool) {
        let catalog = cx.catalog_len();
        let sent = &mut self.baseline_sent[to as usize];
        let remaining = catalog - (*sent).min(catalog);
        let page = remaining.min(fit);
        *sent += page;
        let complete = page == remaining;
        if complete {
            *sent = 0;
        }
        cx.defer(remaining - page);
        (page, complete)
    }

    /// `from` answers `m` (an open, or a reply) with its deltas, and its digest if `reply`.
    fn answer<B: Copy + Default>(&mut self, m: &Message<B>, reply: bool, cx: &mut Context<'_, B>) {
        let (from, to) = (m.to, m.from);
        let wants_baseline = cx.has_baseline(from) && !m.sender_has_baseline;
        if !cx.fits(from, Size::HEADER) {
            cx.defer(cx.top(from, |w| m.digest.get(w), &mut self.table));
            return;
        }
        // A reply's digest goes first (the paper's digests always fit), the deltas fill the rest;
        // a digest that must be paged takes at most half of the room.
        let digest = if reply {
            self.digest(from, Size::HEADER, true, cx)
        } else {
            0
        };
        let fit = cx.entries_fit(from, Size::digest(digest));
        let (kept, left) = self.deltas(from, &m.digest, fit, cx);
        cx.defer(left);
        let (baseline, carries_baseline) = if wants_baseline {
            self.baseline_page(to, fit.saturating_sub(kept), cx)
        } else {
            (0, false)
        };
        let size = Size {
            entries: kept + baseline,
            digest_entries: digest,
            other_bytes: 0,
        };
        if !reply && kept + baseline == 0 && !carries_baseline {
            return;
        }
        let kind = if reply {
            MessageKind::ExchangeReply
        } else {
            MessageKind::ExchangeClose
        };
        let has_baseline = cx.has_baseline(from);
        let out = cx.send(kind, from, to, size);
        out.payload.copy_from(&self.table);
        if reply {
            out.digest.copy_from(&self.digest);
        }
        out.sender_has_baseline = has_baseline;
        out.carries_baseline = carries_baseline;
    }
}

impl Protocol for Scuttlebutt {
    type Body = ();

    fn on_inject(&mut self, origin: NodeId, slot: usize, cx: &mut Context<'_, ()>) {
        let update = cx.slot_update(slot) as usize;
        let written = &mut self.written[origin as usize];
        *written += 1;
        self.version[update] = *written;
        if *written == 1 {
            let at = self.writers.partition_point(|&w| w < origin);
            self.writers.insert(at, origin);
        }
    }

    fn on_tick(&mut self, node: NodeId, cx: &mut Context<'_, ()>) {
        cx.for_each_partner(node, |cx, partner| {
            if cx.digest_entries_fit(node, Size::HEADER) == 0 {
                return;
            }
            if cx.has_baseline(node) {
                self.baseline_sent[node as usize] = 0;
            }
            let entries = self.digest(node, Size::HEADER, false, cx);
            let has_baseline = cx.has_baseline(node);
            let out = cx.send(
                MessageKind::ExchangeOpen,
                node,
                partner,
                Size::digest(entries),
            );
            out.digest.copy_from(&self.digest);
            out.sender_has_baseline = has_baseline;
            // In rounds timing the exchange completes before the next one opens.
            cx.flush(&mut *self);
        });
    }

    fn on_message(&mut self, m: &Message<()>, cx: &mut Context<'_, ()>) {
        match m.kind {
            MessageKind::ExchangeOpen => self.answer(m, true, cx),
            MessageKind::ExchangeReply => {
                cx.deliver(m.to, m.from, &m.payload);
                self.answer(m, false, cx);
            }
            MessageKind::ExchangeClose => cx.deliver(m.to, m.from, &m.payload),
            other => unreachable!("scuttlebutt sends no {other:?}"),
        }
    }
}
