//! The state of one trial: who is up, who holds which update in which slot, and which updates
//! have retired into the baseline. What the reports count is the [`Metrics`] tracker's, which
//! the world owns and tells what happens.
//!
//! Both timings share it. In `rounds` timing the world is *staged*: contacts read the rows as they
//! were at the start of the round (`rows`) and write what nodes learn into `next`, which becomes
//! `rows` at the end of the round. In `async` timing both are the same matrix.
//!
//! ## Versions and slots
//! Every update in flight owns a *slot*: a column of the row matrix. A node's bit for slot `s` is
//! set when the node holds that version *or a newer one* of the product, which is exactly "the
//! update has reached the node". When a node learns a version it therefore also learns every
//! older version of the product still in flight (the `older` chain). A message carries only the
//! newest version it has of each product (`top`), so message counts per update are not inflated
//! by superseded versions.
//!
//! ## Retirement and the baseline
//! Once every node that holds a price table (up, or down but coming back with its table) holds an
//! update, the update *retires*: it joins the *baseline* (the catalog at its newest retired
//! versions), its slot is freed, and nobody sends it any more. A node that loses its table in a
//! crash loses the baseline too and must fetch it whole from a peer by pull or anti-entropy.
//! Retirement waits while any up node lacks the baseline, so that a retiring update is never
//! silently granted to a node that does not hold it.
//!
//! Crashes and recoveries are in `faults`, the end of a round or period (milestones, staleness,
//! retirement) in `period`, and what the engine's kernels reach beyond this face in `staged`.

use crate::report::{CoverageSample, RunReport, TableEntry, UpdateReport};
use crate::scenario::{NodeId, Scenario};
use crate::time::Time;

use super::bitset::NodeSet;
use super::budget::Budget;
use super::metrics::Metrics;
use super::rows::{RowMatrix, entry_count, for_each_bit};
use super::spreaders::Spreaders;
use super::words::Words;
use super::workload::PlannedUpdate;

mod faults;
mod period;
#[cfg(test)]
pub(in crate::engine) use period::{EMPTIED_ROWS, NARROWINGS, REFRESHES, SETTLED_WORDS};
mod staged;
mod tally;

pub const NONE: u32 = u32::MAX;

#[cfg(test)]
thread_local! {
    /// How many updates on this thread took another slot than the lowest vacant one (the
    /// tests check that the fast path of `World::vacant_slot` ran).
    pub(in crate::engine) static CLUSTERED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Per-slot bookkeeping, indexed by slot.
#[derive(Default)]
struct Slots {
    update: Vec<u32>,
    /// The node the update was injected at.
    origin: Vec<u32>,
    older: Vec<u32>,
    newer: Vec<u32>,
    informed_live: Vec<u64>,
    informed_all: Vec<u64>,
    /// Event sequence number of the injection: a message sent before it cannot carry this slot.
    born_seq: Vec<u64>,
    /// The row word new updates fill (see [`World::vacant_slot`]).
    filling: usize,
    /// Bit masks over slots: in use; newest version of its product; has an active newer version.
    active: Vec<u64>,
    latest: Vec<u64>,
    chained: Vec<u64>,
}

impl Slots {
    /// `count` more nodes hold `slot`, all of them up and keeping their table.
    #[inline(always)]
    fn add_holders(&mut self, slot: usize, count: u64) {
        self.informed_live[slot] += count;
        self.informed_all[slot] += count;
    }
}

pub struct World {
    pub nodes: u32,
    catalog_len: u64,

    up: NodeSet,
    has_baseline: NodeSet,
    /// Down nodes that will recover with their table.
    returns_with_state: NodeSet,
    pub alive: u64,
    up_without_baseline: u64,
    /// Nodes that hold a table: up, or down and coming back with it.
    tables: u64,

    rows: RowMatrix,
    next: RowMatrix,
    /// Rounds timing: contacts read `rows` and write `next`.
    staged: bool,
    /// Inside a staged round (between `begin_round` and `end_round`).
    in_round: bool,
    slots: Slots,
    /// Newest slot in flight per product, or NONE.
    product_latest: Vec<u32>,
    /// Per product, the newest retired update (every table holder has it), or NONE.
    product_baseline: Vec<u32>,

    /// Per update: it has retired into the baseline.
    retired: Vec<bool>,

    /// Bumped whenever a slot is born or retires: a message sent at the current epoch needs no
    /// masking on delivery (see [`World::mask_stale`]).
    slot_epoch: u64,
    /// Reused buffer for retirement.
    scratch: Vec<u64>,
    /// Reused buffer for the stale count: (most up nodes lacking one, word, newest versions
    /// some up node lacks) per row word.
    wanted: Vec<(u64, usize, u64)>,
    /// Who still spreads what, for protocols that stop by themselves.
    pub(crate) spreaders: Option<Spreaders>,
    /// Set by a protocol with sends still due (Plumtree's pushes of the next round): no update
    /// retires meanwhile, so the redundant messages of the last round are still sent and counted.
    pub(crate) hold_retirement: bool,
    /// Down nodes that will rejoin by snapshot (`churn.rejoin = "snapshot"`): retirement does
    /// not wait for them (they are out of `tables` and of `informed_all` while down), and an
    /// update that retires while one of them lacks it takes its baseline away.
    pub(crate) rejoining: Vec<NodeId>,
    /// The reply of a snapshot, reused.
    scratch_payload: Words,
    /// Whether the rows narrow after a burst (see `period::narrow_rows`): a fast path, off
    /// when the engine's fast paths are (the tests compare the two).
    pub(crate) narrows: bool,
    /// Whether a staged round's digest contacts skip the row words in which the receiver
    /// lacks no slot in flight (see `period::copy_noting_lacks`): a fast path, off when the
    /// engine's fast paths are.
    pub(crate) skips_settled: bool,
    /// Whether new updates fill one row word at a time (see [`World::vacant_slot`]) rather
    /// than take the lowest vacant slot: a fast path, off when the engine's fast paths are.
    pub(crate) clusters_slots: bool,
    /// In a staged round with rows of many words, per node (`lack_words` words each, one bit
    /// per row word): the row words in which it lacked a slot in flight at the start of the
    /// round (every word when `skips_settled` is off). See `period::copy_noting_lacks`.
    lacking: Vec<u64>,
    /// The row words `lacking` was noted over for this round (0: not noted), and the words of
    /// `lacking` per node they take (kept, not derived: the contacts read it per word).
    noted_words: usize,
    lack_words: usize,
    /// Whether the next round's start must copy and note every row word: the rows changed
    /// shape since `lacking` was noted (or it never was). Otherwise it refreshes only the
    /// words that can have changed (see `period::copy_noting_lacks`).
    renote_all: bool,
    /// The row words in which slots were born since `lacking` was noted, one bit per word
    /// (`lack_words` words; kept only while `renote_all` is off).
    born_words: Vec<u64>,
    /// Nodes whose rows were emptied (a crash losing the table) since `lacking` was noted.
    emptied_rows: Vec<NodeId>,
    /// What the reports count: told of every message, learning, crash and period's end.
    pub(crate) metrics: Metrics,
    /// The message size limit and send budgets, charged for every message sent.
    pub(crate) budget: Budget,
    /// What the lock-step kernel's contacts counted this round, per slot (see `tally`).
    tally: tally::RoundTally,
    /// Whether the kernel's contacts count into `tally`: a fast path, off when the engine's
    /// fast paths are, and when a learnt bit must also be told to the regions' tallies or the
    /// spreaders.
    pub(crate) tallies: bool,
}

impl World {
    pub fn new(
        scenario: &Scenario,
        catalog_len: u32,
        planned: &[PlannedUpdate],
        staged: bool,
        spreading: Option<u8>,
    ) -> World {
        let n = scenario.nodes as usize;
        let rows = RowMatrix::new(n, 1);
        let next = if staged {
            rows.clone()
        } else {
            RowMatrix::new(0, 1)
        };
        World {
            nodes: scenario.nodes,
            catalog_len: u64::from(catalog_len),
            up: NodeSet::new(n, true),
            has_baseline: NodeSet::new(n, true),
            returns_with_state: NodeSet::new(n, false),
            alive: n as u64,
            up_without_baseline: 0,
            tables: n as u64,
            rows,
            next,
            staged,
            in_round: false,
            // The slot masks always cover one row word: contacts read word 0 of them even
            // before the first update is injected.
            slots: Slots {
                active: vec![0],
                latest: vec![0],
                chained: vec![0],
                ..Slots::default()
            },
            product_latest: vec![NONE; catalog_len as usize],
            product_baseline: vec![NONE; catalog_len as usize],
            retired: vec![false; planned.len()],
            slot_epoch: 0,
            scratch: Vec::new(),
            wanted: Vec::new(),
            spreaders: spreading.map(|initial| Spreaders::new(n, initial)),
            hold_retirement: false,
            narrows: true,
            skips_settled: true,
            clusters_slots: true,
            lacking: Vec::new(),
            noted_words: 0,
            lack_words: 0,
            renote_all: true,
            born_words: Vec::new(),
            emptied_rows: Vec::new(),
            rejoining: Vec::new(),
            scratch_payload: Words::default(),
            metrics: Metrics::new(scenario, planned),
            budget: Budget::new(&scenario.network, scenario.sizes, n),
            tally: tally::RoundTally::default(),
            tallies: spreading.is_none() && scenario.regions.is_none(),
        }
    }

    // ---- queries -------------------------------------------------------------------------

    #[inline(always)]
    pub fn is_up(&self, node: NodeId) -> bool {
        self.up.contains(node)
    }

    /// Asks the processor for `node`'s row and flags (a hint, for upcoming events).
    #[inline(always)]
    pub fn prefetch_node(&self, node: NodeId) {
        self.rows.prefetch(node);
        self.up.prefetch(node);
        self.has_baseline.prefetch(node);
    }

    /// Whether any update is in flight.
    pub fn has_active(&self) -> bool {
        self.slots.active.iter().any(|&w| w != 0)
    }

    /// Whether nothing is left to spread: no update in flight and every up node has the baseline.
    pub fn quiescent(&self) -> bool {
        !self.has_active() && self.up_without_baseline == 0
    }

    /// Whether `node` (as of the start of the round, when staged) holds any update in flight.
    #[inline(always)]
    pub fn holds_any(&self, node: NodeId) -> bool {
        self.holds_any_in::<true>(node)
    }

    #[inline(always)]
    pub fn holds_any_in<const WIDE: bool>(&self, node: NodeId) -> bool {
        (0..self.row_words::<WIDE>()).any(|w| self.rows.word(node, w) != 0)
    }

    /// Whether a row fits in one word (at most 64 updates in flight, the common case): rounds
    /// run a specialisation of the contacts for it, with `WIDE = false`.
    pub fn one_word_rows(&self) -> bool {
        self.rows.words_per_row() == 1
    }

    /// Words per row as the compiler sees them: the constant 1 when not `WIDE`, so the word
    /// loops of the one-word specialisation vanish.
    #[inline(always)]
    pub(super) fn row_words<const WIDE: bool>(&self) -> usize {
        if WIDE {
            self.rows.words_per_row()
        } else {
            debug_assert_eq!(self.rows.words_per_row(), 1);
            1
        }
    }

    // ---- slots and injection ---------------------------------------------------------------

    fn allocate_slot(&mut self) -> usize {
        let slot = self.vacant_slot();
        if slot < self.slots.update.len() {
            // The rows may have narrowed below a vacant slot (see `retire_eligible`).
            self.make_row_room(slot);
            return slot;
        }
        debug_assert_eq!(slot, self.slots.update.len());
        let s = &mut self.slots;
        s.update.push(NONE);
        s.origin.push(NONE);
        s.older.push(NONE);
        s.newer.push(NONE);
        s.informed_live.push(0);
        s.informed_all.push(0);
        s.born_seq.push(0);
        self.make_row_room(slot);
        self.tally.add_slot(slot);
        if let Some(spreaders) = &mut self.spreaders {
            spreaders.add_slot(slot, self.nodes as usize);
        }
        slot
    }

    /// The slot a new update takes: the lowest vacant slot of the word being filled, and when
    /// that word is full (or wholly vacant), of the word with the most vacant slots (the lowest
    /// such word). Updates injected close together so share row words, and a word empties as
    /// its updates retire together: under churn, thousands of old updates wait in flight for
    /// down nodes while the young ones still spreading lie in a few words, the only words a
    /// caught-up node lacks (see `period::copy_noting_lacks`). Slots are looked for within the rows'
    /// width first, so that rows narrowed after a burst do not widen again while a slot fits;
    /// failing that, the lowest vacant slot beyond, else a new one. Within one word this is
    /// the lowest vacant slot, so a run that never holds more than 64 updates in flight uses
    /// the slots it always did. Only memory depends on slot numbers: no report does.
    fn vacant_slot(&mut self) -> usize {
        if !self.clusters_slots {
            return self.lowest_vacant_slot();
        }
        let slot = self.clustered_slot();
        #[cfg(test)]
        CLUSTERED.with(|n| n.set(n.get() + u64::from(slot != self.lowest_vacant_slot())));
        slot
    }

    /// The plain path of [`World::vacant_slot`]: the lowest vacant slot, else a new one.
    fn lowest_vacant_slot(&self) -> usize {
        let len = self.slots.update.len();
        (0..len)
            .find(|&slot| !get_bit(&self.slots.active, slot))
            .unwrap_or(len)
    }

    /// [`World::vacant_slot`] with the fast paths on.
    fn clustered_slot(&mut self) -> usize {
        let len = self.slots.update.len();
        let capacity = self.rows.capacity();
        // Slots below `within` are looked at word by word: those in use, and the fresh ones
        // from `len` to the end of its word.
        let within = len.next_multiple_of(64).min(capacity.max(64));
        let vacant = |w: usize| {
            let bound = within - w * 64;
            let in_reach = if bound >= 64 {
                u64::MAX
            } else {
                (1u64 << bound) - 1
            };
            !self.slots.active[w] & in_reach
        };
        let words = within.div_ceil(64);
        let filling = self.slots.filling;
        if filling < words && self.slots.active[filling] != 0 && vacant(filling) != 0 {
            return filling * 64 + vacant(filling).trailing_zeros() as usize;
        }
        let mut best: Option<(u32, usize)> = None;
        for w in 0..words {
            let count = vacant(w).count_ones();
            if count > 0 && best.is_none_or(|(most, _)| count > most) {
                best = Some((count, w));
            }
        }
        if let Some((_, w)) = best {
            self.slots.filling = w;
            return w * 64 + vacant(w).trailing_zeros() as usize;
        }
        // Every slot within the rows' width is in use: the first one beyond (vacant, since
        // rows narrow only to cover every slot in flight), else a new one.
        let slot = within.min(len);
        debug_assert!(!get_bit(&self.slots.active, slot));
        self.slots.filling = slot / 64;
        slot
    }

    fn make_row_room(&mut self, slot: usize) {
        if slot + 1 > self.rows.capacity() {
            self.rows.grow(slot + 1);
            if self.staged {
                self.next.grow(slot + 1);
            }
            self.renote_all = true;
        }
        // The slot masks cover every row word (rows grow ahead of the slots in use), so that
        // a contact may read them at any word of a row.
        let words = self.rows.words_per_row();
        let s = &mut self.slots;
        if s.active.len() < words {
            for mask in [&mut s.active, &mut s.latest, &mut s.chained] {
                mask.resize(words, 0);
            }
        }
    }

    /// Injects planned update `index` at its origin; returns its slot, or `None` when the
    /// origin is down: the update never enters the system.
    pub fn inject(&mut self, index: usize, origin: NodeId, at: Time, seq: u64) -> Option<usize> {
        let entered = self.up.contains(origin);
        self.metrics.injection(index, origin, at, entered);
        if !entered {
            return None;
        }
        self.slot_epoch += 1;
        let product = self.metrics.updates[index].product as usize;
        let slot = self.allocate_slot();
        if !self.renote_all {
            // The rows kept their shape since `born_words` was sized to them.
            set_bit(&mut self.born_words, slot / 64);
        }
        let nodes = self.nodes as usize;
        let s = &mut self.slots;
        s.update[slot] = index as u32;
        s.origin[slot] = origin;
        s.informed_live[slot] = 0;
        s.informed_all[slot] = 0;
        s.born_seq[slot] = seq;
        s.newer[slot] = NONE;
        self.metrics.slot_born(nodes, slot);
        set_bit(&mut s.active, slot);
        set_bit(&mut s.latest, slot);
        let previous = self.product_latest[product];
        s.older[slot] = previous;
        if previous != NONE {
            s.newer[previous as usize] = slot as u32;
            clear_bit(&mut s.latest, previous as usize);
            set_bit(&mut s.chained, previous as usize);
        }
        self.product_latest[product] = slot as u32;
        // The column is empty (cleared when its previous update retired): nobody can hold a
        // newer version, since versions are assigned in injection order.
        self.learn(origin, slot, 0, at);
        if self.metrics.keeps_coverage() {
            self.sample(slot, at);
        }
        self.check_milestones(slot, at);
        Some(slot)
    }

    // ---- learning ----------------------------------------------------------------------------

    /// `node` learns slot `slot` (and every older version of its product it lacks) at `at`.
    fn learn(&mut self, node: NodeId, slot: usize, hop: u16, at: Time) {
        self.learn_counted::<false>(node, slot, hop, at);
    }

    /// [`World::learn`]; `TALLY`: in a staged round of the lock-step kernel, counted into the
    /// round's tally instead of the update's report (see `tally`).
    #[inline(always)]
    fn learn_counted<const TALLY: bool>(&mut self, node: NodeId, slot: usize, hop: u16, at: Time) {
        debug_assert!(!TALLY || self.in_round && self.tallies);
        // A constant when counted into the tally (no spreaders either: see `tallies`).
        let in_round = TALLY || self.in_round;
        let mut s = slot;
        loop {
            let target = if in_round {
                &mut self.next
            } else {
                &mut self.rows
            };
            if target.has(node, s) {
                break;
            }
            target.set(node, s);
            if self.staged && !in_round {
                // Between rounds the write target is kept equal to the rows, so that a round's
                // start need refresh only the words its contacts wrote (`begin_round`).
                self.next.set(node, s);
            }
            if let Some(spreaders) = self.spreaders.as_mut().filter(|_| !TALLY) {
                spreaders.start(node, s, in_round);
            }
            if TALLY {
                // An older version learnt through a newer one keeps no hop count: its holder
                // holds the newer one as long as it holds the older (holding a version implies
                // holding the older ones, so the older retires no later, and a lost table
                // clears both), and a payload carries a version only when its sender lacks
                // the newer one (`World::top_word`), so nobody reads it. Skipping it saves a
                // hop-count line the contact's prefetches did not bring; the fast-path tests,
                // which run the same contacts with every count written, compare whole reports.
                if s == slot {
                    self.metrics.hops.set(node, s, hop);
                }
                // The bit learnt was carried and counts as carried with its delivery (see
                // `tally`); the older versions were not. A delivery adds its holder at the
                // tally's flush; an origin's relearning is no delivery and adds it here.
                if node == self.slots.origin[s] {
                    if s == slot {
                        self.tally.carried(s);
                    }
                    self.slots.add_holders(s, 1);
                } else if s == slot {
                    self.tally.delivered(s, hop);
                } else {
                    self.tally.chained(s, hop);
                }
            } else {
                self.slots.add_holders(s, 1);
                let u = self.slots.update[s] as usize;
                self.metrics.learnt(node, s, u, hop, at);
            }
            if !in_round && s != slot {
                self.check_milestones(s, at);
            }
            let older = self.slots.older[s];
            if older == NONE || in_round && self.held_word_whole(node, older as usize / 64) {
                break;
            }
            s = older as usize;
        }
        if !in_round {
            self.check_milestones(slot, at);
        }
    }

    /// Delivers `payload` (the newest versions a message carries, one bit per slot) from `sender`
    /// to `recipient` at `at`: fresh bits are learnt, known ones count as duplicates.
    pub fn deliver(&mut self, recipient: NodeId, sender: NodeId, payload: &Words, at: Time) {
        let words = self.words();
        for (w, bits) in payload.iter() {
            if w >= words {
                // Built before the rows narrowed: only retired slots lie past their width.
                debug_assert_eq!(bits, 0, "a payload bit past the rows");
                break;
            }
            self.deliver_word(recipient, sender, w, bits, at);
        }
    }

    /// Word `w` of a delivery (see [`World::deliver`]).
    #[inline(always)]
    pub(crate) fn deliver_word(
        &mut self,
        recipient: NodeId,
        sender: NodeId,
        w: usize,
        bits: u64,
        at: Time,
    ) {
        self.deliver_word_counted::<false>(recipient, sender, w, bits, at);
    }

    /// [`World::deliver_word`] for the lock-step kernel's contacts in a staged round: counted
    /// into the round's tally when `tallies` is on (see `tally`).
    #[inline(always)]
    pub(in crate::engine) fn deliver_word_in_round(
        &mut self,
        recipient: NodeId,
        sender: NodeId,
        w: usize,
        bits: u64,
        at: Time,
    ) {
        if !self.counts_carried_on_delivery() {
            return self.deliver_word_counted::<false>(recipient, sender, w, bits, at);
        }
        if !self.tally.delivering_at(at) {
            self.flush_tally();
            self.tally.delivering_at(at);
        }
        self.deliver_word_counted::<true>(recipient, sender, w, bits, at);
    }

    /// [`World::deliver_word`]; `TALLY`: counted into the round's tally (see
    /// [`World::learn_counted`]).
    #[inline(always)]
    fn deliver_word_counted<const TALLY: bool>(
        &mut self,
        recipient: NodeId,
        sender: NodeId,
        w: usize,
        bits: u64,
        at: Time,
    ) {
        if bits == 0 {
            return;
        }
        let target = if self.in_round {
            &self.next
        } else {
            &self.rows
        };
        let held = target.word(recipient, w);
        for_each_bit(bits & held, |b| {
            if TALLY {
                self.tally.duplicate(w * 64 + b);
            } else {
                let u = self.slots.update[w * 64 + b] as usize;
                self.metrics.duplicate(u);
            }
        });
        let mut fresh = bits & !held;
        while fresh != 0 {
            let b = fresh.trailing_zeros() as usize;
            fresh &= fresh - 1;
            let slot = w * 64 + b;
            let hop = self.metrics.hop(sender, slot).saturating_add(1);
            self.learn_counted::<TALLY>(recipient, slot, hop, at);
        }
    }

    /// Whether the lock-step kernel's contacts count into the round's tally, where a bit
    /// delivered counts as carried (see `tally`): a message that arrives then needs no count
    /// of its own. [`World::deliver_word_in_round`] tallies exactly when this holds.
    #[inline(always)]
    pub(in crate::engine) fn counts_carried_on_delivery(&self) -> bool {
        self.tallies && self.in_round
    }

    /// [`World::count_carried_word`] for the lock-step kernel's contacts in a staged round
    /// (see [`World::deliver_word_in_round`]), of a message that did not arrive, or of any
    /// message when not [`World::counts_carried_on_delivery`].
    #[inline(always)]
    pub(in crate::engine) fn count_carried_in_round(&mut self, w: usize, bits: u64) {
        if !self.counts_carried_on_delivery() {
            return self.count_carried_word(w, bits);
        }
        for_each_bit(bits, |b| self.tally.carried(w * 64 + b));
    }

    /// Adds the round's tally to the updates' reports.
    pub(in crate::engine) fn flush_tally(&mut self) {
        self.tally.flush(&mut self.slots, &mut self.metrics);
    }

    /// Fills `out` with the newest versions `node` holds (as of the round start when staged),
    /// minus what `minus(w)` says the other side holds. Returns the number of entries.
    #[inline]
    pub fn top(&self, node: NodeId, minus: impl Fn(usize) -> u64, out: &mut Words) -> u64 {
        let words = self.rows.words_per_row();
        out.resize(words);
        let mut entries = 0;
        for w in 0..words {
            let bits = self.top_word(node, w, minus(w));
            entries += entry_count(bits);
            out.set(w, bits);
        }
        entries
    }

    /// Word `w` of [`World::top`]: an active slot held by `node` and not in `minus`, unless
    /// `node` also holds a newer version of its product.
    #[inline(always)]
    pub(super) fn top_word(&self, node: NodeId, w: usize, minus: u64) -> u64 {
        let mut bits = self.rows.word(node, w) & self.slots.active[w] & !minus;
        let chained = bits & self.slots.chained[w];
        for_each_bit(chained, |b| {
            let newer = self.slots.newer[w * 64 + b] as usize;
            // Without a branch: whether the node holds the newer version is anyone's guess.
            bits &= !(u64::from(self.rows.has(node, newer)) << b);
        });
        bits
    }

    /// `node`'s digest: one bit per update in flight that it holds.
    #[inline]
    pub fn digest(&self, node: NodeId, out: &mut Words) {
        let words = self.rows.words_per_row();
        if words == 1 {
            out.resize(1);
            out.set(0, self.rows.word(node, 0) & self.slots.active[0]);
            return;
        }
        out.resize(words);
        for w in 0..words {
            out.set(w, self.rows.word(node, w) & self.slots.active[w]);
        }
    }

    /// The slot epoch: a message remembers it when sent.
    pub fn slot_epoch(&self) -> u64 {
        self.slot_epoch
    }

    /// Clears the bits of a message sent at event sequence `sent_seq` (slot epoch `sent_epoch`)
    /// whose slot has since retired or been reused by a later update. When no slot was born or
    /// retired since (the common case) there is nothing to clear: the message was built from
    /// active slots only, all born before it.
    #[inline(always)]
    pub fn mask_stale(&self, bits: &mut Words, sent_seq: u64, sent_epoch: u64) {
        if sent_epoch != self.slot_epoch {
            self.mask_stale_slots(bits, sent_seq);
        }
    }

    #[cold]
    fn mask_stale_slots(&self, bits: &mut Words, sent_seq: u64) {
        let words = self.rows.words_per_row();
        bits.resize(words);
        for w in 0..words {
            let mut keep = bits.get(w) & self.slots.active.get(w).copied().unwrap_or(0);
            for_each_bit(keep, |b| {
                if self.slots.born_seq[w * 64 + b] > sent_seq {
                    keep &= !(1u64 << b);
                }
            });
            bits.set(w, keep);
        }
    }

    /// Counts one message against every update whose bit `payload` carries.
    #[inline(always)]
    pub fn count_carried(&mut self, payload: &Words) {
        match payload.single() {
            Some(bits) => self.count_carried_word(0, bits),
            None => {
                for (w, bits) in payload.iter() {
                    self.count_carried_word(w, bits);
                }
            }
        }
    }

    #[inline(always)]
    pub(super) fn count_carried_word(&mut self, w: usize, bits: u64) {
        for_each_bit(bits, |b| {
            let u = self.slots.update[w * 64 + b] as usize;
            self.metrics.carried(u);
        });
    }

    /// Entries in `node`'s digest or table: the whole catalog when it holds the baseline, else
    /// the updates in flight it has learnt since it lost its table.
    pub fn table_entries(&self, node: NodeId) -> u64 {
        self.table_entries_in::<true>(node)
    }

    #[inline(always)]
    pub(super) fn table_entries_in<const WIDE: bool>(&self, node: NodeId) -> u64 {
        if self.has_baseline.contains(node) {
            self.catalog_len
        } else {
            let mut count = 0;
            for w in 0..self.row_words::<WIDE>() {
                count += u64::from((self.rows.word(node, w) & self.slots.active[w]).count_ones());
            }
            count
        }
    }

    pub fn has_baseline(&self, node: NodeId) -> bool {
        self.has_baseline.contains(node)
    }

    pub fn catalog_len(&self) -> u64 {
        self.catalog_len
    }

    /// `node` receives the baseline (the whole catalog at its retired versions).
    pub fn grant_baseline(&mut self, node: NodeId) {
        if !self.has_baseline.contains(node) {
            self.has_baseline.insert(node);
            self.up_without_baseline -= 1;
        }
    }

    // ---- a message's fate ----------------------------------------------------------------------

    /// Counts a message's fate: lost, dropped because `to` is down, or delivered (true).
    #[inline(always)]
    pub fn arrives(&mut self, to: NodeId, lost: bool) -> bool {
        if lost {
            self.metrics.lost();
            false
        } else if !self.up.contains(to) {
            self.metrics.dropped();
            false
        } else {
            self.metrics.delivered();
            true
        }
    }

    // ---- for protocols that stop spreading (rumor mongering, median-counter) ------------------

    pub(crate) fn words(&self) -> usize {
        self.rows.words_per_row()
    }

    /// Whether `node` held `slot` at the start of the round.
    #[inline(always)]
    pub(crate) fn held(&self, node: NodeId, slot: usize) -> bool {
        self.rows.has(node, slot)
    }

    /// Word `w` of the slots `node` held at the start of the round.
    #[inline(always)]
    pub(crate) fn held_word(&self, node: NodeId, w: usize) -> u64 {
        self.rows.word(node, w) & self.slots.active[w]
    }

    /// Word `w` of what `node` spreads this round: hot updates it holds at their newest version.
    #[inline(always)]
    pub(crate) fn spreading_word(&self, node: NodeId, w: usize) -> u64 {
        let spreaders = self.spreaders.as_ref().expect("a spreading protocol");
        spreaders.now.word(node, w) & self.top_word(node, w, 0)
    }

    /// Whether `node` holds `slot` now: including what it learnt earlier in this round.
    #[inline(always)]
    pub(crate) fn holds_now(&self, node: NodeId, slot: usize) -> bool {
        if self.in_round {
            self.next.has(node, slot)
        } else {
            self.rows.has(node, slot)
        }
    }

    /// The update in `slot`, or [`NONE`] for a free slot.
    pub(crate) fn slot_update(&self, slot: usize) -> u32 {
        self.slots.update.get(slot).copied().unwrap_or(NONE)
    }

    /// Every slot in flight with its update, in slot order.
    pub(crate) fn active_updates(&self, out: &mut Vec<(u32, u32)>) {
        out.clear();
        for (w, &bits) in self.slots.active.iter().enumerate() {
            for_each_bit(bits, |b| {
                let slot = w * 64 + b;
                out.push((slot as u32, self.slots.update[slot]));
            });
        }
    }

    /// Whether anyone still spreads anything (at the start of the next round).
    pub fn spreading(&self) -> bool {
        self.spreaders.as_ref().is_some_and(Spreaders::any)
    }

    // ---- the end -----------------------------------------------------------------------------

    /// Final coverage of every update; the world is consumed into its reports.
    pub fn finish(mut self, end: Time) -> (Vec<UpdateReport>, RunReport, Vec<CoverageSample>) {
        let alive = self.alive;
        for u in 0..self.metrics.updates.len() {
            let informed = if !self.metrics.updates[u].injected {
                0
            } else if self.retired[u] {
                alive - self.up_without_baseline
            } else {
                self.active_slot_of(u)
                    .map_or(0, |slot| self.slots.informed_live[slot])
            };
            self.metrics.final_coverage(u, informed, alive);
        }
        self.metrics.finish(end, alive)
    }

    /// Every node's version of every product that changed during the trial, in (node, product)
    /// order.
    pub fn final_tables(&self) -> Vec<TableEntry> {
        let updates = &self.metrics.updates;
        let mut touched: Vec<u32> = updates
            .iter()
            .filter(|u| u.injected)
            .map(|u| u.product)
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let mut entries = Vec::with_capacity(touched.len() * self.nodes as usize);
        for node in 0..self.nodes {
            for &product in &touched {
                // The newest version in flight the node holds, else the baseline if it has it.
                let mut slot = self.product_latest[product as usize];
                while slot != NONE && !self.rows.has(node, slot as usize) {
                    slot = self.slots.older[slot as usize];
                }
                let update = if slot != NONE {
                    Some(self.slots.update[slot as usize])
                } else if self.has_baseline.contains(node) {
                    Some(self.product_baseline[product as usize])
                } else {
                    None
                };
                let (version, price) = match update {
                    Some(NONE) => (Some(0), None),
                    Some(u) => (
                        Some(updates[u as usize].version),
                        Some(updates[u as usize].price),
                    ),
                    None => (None, None),
                };
                entries.push(TableEntry {
                    node,
                    up: self.up.contains(node),
                    product,
                    version,
                    price,
                });
            }
        }
        entries
    }

    /// The slot of update `update` while it is in flight.
    pub(crate) fn slot_of(&self, update: usize) -> Option<usize> {
        self.active_slot_of(update)
    }

    /// Whether update `update` has retired into the baseline.
    pub(crate) fn is_retired(&self, update: usize) -> bool {
        self.retired[update]
    }

    fn active_slot_of(&self, update: usize) -> Option<usize> {
        (0..self.slots.update.len())
            .find(|&s| self.slots.update[s] == update as u32 && get_bit(&self.slots.active, s))
    }
}

#[inline(always)]
fn set_bit(mask: &mut [u64], i: usize) {
    mask[i / 64] |= 1 << (i % 64);
}

#[inline(always)]
fn clear_bit(mask: &mut [u64], i: usize) {
    mask[i / 64] &= !(1 << (i % 64));
}

#[inline(always)]
fn get_bit(mask: &[u64], i: usize) -> bool {
    mask.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 == 1)
}
