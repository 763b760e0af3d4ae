//! Lock-step contacts in batches: the common case of `rounds` timing as a tight loop.
//!
//! Within a staged round nothing a contact reads changes: contacts read start-of-round rows,
//! the up set only changes between rounds, and partners come from the peer-choice stream in
//! node order whatever the contacts find. So a round can draw the partners of a batch of
//! contacts ahead, prefetch their rows (at 10^7 nodes a partner's row is a cache miss), look at
//! the rows of the batch before to prefetch the hop counts and next-round rows its contacts will
//! touch, and run the batch before that - in the very order the one-by-one loop of `lockstep`
//! runs contacts, drawing losses from the network stream in the same order.
//!
//! Each contact is written out for the common case - rows of one word, every up node holding
//! the baseline, no spreaders or regions - with the row geometry, slot masks and message
//! counts in registers. Whenever a payload is not empty it takes the same world methods
//! (`count_carried_word`, `deliver_word`) as the one-by-one contacts - except with rows of one
//! bit (one update in flight, the literature's case), where that update's counters are kept in
//! registers as well and a delivery is a bit, a hop count and a few sums. With a lossless
//! network and every node up, a digest exchange or a pull between equal rows is *quiet*: it
//! always sends the same two messages and carries nothing, so it is only counted.
//!
//! The result is the one-by-one result bit for bit: `engine::tests` compares the two over every
//! protocol, loss, crash, churn, overlay and fanout.

use crate::report::MessageKind;
use crate::scenario::NodeId;
use crate::time::Time;

use super::super::metrics::Fates;
use super::super::peers::{MOST_DRAWN, PeerSampler};
use super::super::rows::{RowView, entries_in, for_each_bit};
use super::super::world::{NONE, World};
use super::Kernel;

/// Contacts drawn per batch: enough to cover a cache miss two batches ahead, few enough that
/// the batches stay in the first-level cache.
const BATCH: usize = 64;
// A batch's partners are drawn at once from the words drawn ahead.
const _: () = assert!(BATCH <= MOST_DRAWN);

/// The exchange a contact runs (a const parameter, so each has its own loop).
const PUSH: u8 = 0;
const PULL: u8 = 1;
const DIGEST: u8 = 2;
const FULL_TABLE: u8 = 3;

/// Reused buffers of one batch: who contacts whom.
#[derive(Default)]
struct ContactBatch {
    from: Vec<NodeId>,
    to: Vec<NodeId>,
    /// Start-of-round rows of both sides, read once when the batch is scanned.
    held_from: Vec<u64>,
    held_to: Vec<u64>,
    len: usize,
}

/// The three batches in the pipeline of [`ContactBatches::contacts`], reused round after round.
#[derive(Default)]
pub struct ContactBatches([ContactBatch; 3]);

/// Message counts of a round, added to the run report at its end.
#[derive(Default)]
struct Tally {
    by_kind: [u64; MessageKind::COUNT],
    /// Entries and digest entries of every message tallied.
    entries: u64,
    digest_entries: u64,
    delivered: u64,
    lost: u64,
    dropped: u64,
    one: OneSlot,
}

/// With rows of one bit there is one slot, 0: its update's counters of a round, kept in
/// registers and added at the end of the round. `World::deliver_word` and `World::learn` do the
/// same one delivery at a time.
#[derive(Default)]
struct OneSlot {
    /// Messages carrying the update.
    carried: u64,
    duplicates: u64,
    /// Nodes that learnt it, and those of them other than its origin, with their top hop.
    learnt: u64,
    deliveries: u64,
    max_hops: u16,
    origin: NodeId,
}

impl Tally {
    #[inline(always)]
    fn send(&mut self, kind: MessageKind, entries: u64, digest_entries: u64) {
        self.by_kind[kind as usize] += 1;
        self.entries += entries;
        self.digest_entries += digest_entries;
    }
}

/// One contact of a batch, with both start-of-round rows.
#[derive(Clone, Copy)]
struct Contact {
    from: NodeId,
    to: NodeId,
    held_from: u64,
    held_to: u64,
}

/// What a round's contacts read and never change, held in registers.
#[derive(Clone, Copy)]
struct Fixed<'r> {
    rows: RowView<'r>,
    active: u64,
    /// Slots with a newer version in flight: a holder of the newer one does not send them.
    chained: u64,
    catalog: u64,
    /// Every node is up: no message is dropped at a crashed node.
    all_up: bool,
    at: Time,
}

/// `quiet` contacts of `MODE` (see [`pipeline`]): a digest exchange is an opening and an
/// empty reply, each with a whole digest; a pull is a request with a digest and an empty reply.
fn add_quiet<const MODE: u8>(tally: &mut Tally, quiet: u64, catalog: u64) {
    let (opening, reply, digests) = match MODE {
        DIGEST => (MessageKind::ExchangeOpen, MessageKind::ExchangeReply, 2),
        PULL => (MessageKind::PullRequest, MessageKind::PullReply, 1),
        _ => {
            debug_assert_eq!(quiet, 0, "only digest exchanges and pulls are quiet");
            return;
        }
    };
    tally.by_kind[opening as usize] += quiet;
    tally.by_kind[reply as usize] += quiet;
    tally.digest_entries += digests * quiet * catalog;
    tally.delivered += 2 * quiet;
}

impl Fixed<'_> {
    /// Row `node`; `ONE_BIT`: rows are one bit wide, so the shifts are constants.
    #[inline(always)]
    fn word<const ONE_BIT: bool>(&self, node: NodeId) -> u64 {
        if ONE_BIT {
            self.rows.bit(node)
        } else {
            self.rows.word(node)
        }
    }
}

/// Whether this round's contacts may run batched: one word per row, every up node holds
/// the baseline, and no protocol state beside the rows (spreaders, regions).
pub fn batchable(world: &World) -> bool {
    world.in_round()
        && world.one_word_rows()
        && world.baseline_everywhere()
        && world.spreaders.is_none()
        && world.metrics.regions.is_none()
}

impl ContactBatches {
    /// Every live node's contacts of one round, in id order, exactly as the one-by-one loop
    /// of `kernel::lockstep` runs them (see the module documentation). Requires [`batchable`]
    /// and a membership whose partner choice reads nothing the contacts change. `lossy`:
    /// messages may be lost (when not, `lost` is never called: it would draw nothing).
    pub fn contacts(
        &mut self,
        world: &mut World,
        peers: &mut PeerSampler,
        kernel: Kernel,
        at: Time,
        lossy: bool,
        lost: &mut impl FnMut() -> bool,
    ) {
        debug_assert!(batchable(world));
        // The rows are only read during the round (contacts write `next`): take them out so
        // their geometry can live in registers while the world is borrowed mutably.
        let rows = world.take_rows();
        let fixed = Fixed {
            rows: rows.view(),
            active: world.active_word(0),
            chained: world.chained_word(0),
            catalog: world.catalog_len(),
            all_up: world.alive == u64::from(world.nodes),
            at,
        };
        let b = self;
        let one_bit = rows.capacity() == 1;
        match kernel {
            Kernel::Push => lossy_or_not::<PUSH>(world, b, peers, fixed, lossy, one_bit, lost),
            Kernel::Pull => lossy_or_not::<PULL>(world, b, peers, fixed, lossy, one_bit, lost),
            Kernel::PushPull { full_table: false } => {
                lossy_or_not::<DIGEST>(world, b, peers, fixed, lossy, one_bit, lost)
            }
            Kernel::PushPull { full_table: true } => {
                lossy_or_not::<FULL_TABLE>(world, b, peers, fixed, lossy, one_bit, lost)
            }
        }
        world.restore_rows(rows);
    }
}

/// [`pipeline`] compiled for lossless and lossy networks, for rows of one bit (one
/// update in flight: the literature's case) and wider.
#[allow(clippy::too_many_arguments)]
fn lossy_or_not<const MODE: u8>(
    world: &mut World,
    b: &mut ContactBatches,
    peers: &mut PeerSampler,
    fixed: Fixed,
    lossy: bool,
    one_bit: bool,
    lost: &mut impl FnMut() -> bool,
) {
    match (lossy, one_bit) {
        (false, true) => pipeline::<MODE, false, true>(world, b, peers, fixed, lost),
        (false, false) => pipeline::<MODE, false, false>(world, b, peers, fixed, lost),
        (true, true) => pipeline::<MODE, true, true>(world, b, peers, fixed, lost),
        (true, false) => pipeline::<MODE, true, false>(world, b, peers, fixed, lost),
    }
}

/// The three-stage pipeline: draw the partners of one batch (prefetching their rows), look
/// at the rows of the batch drawn before (prefetching what its contacts will touch beyond
/// them), run the batch before that. Never inlined: each variant is its own function, so the
/// register allocation of the common one (lossless) does not depend on the code of the others.
#[inline(never)]
fn pipeline<const MODE: u8, const LOSSY: bool, const ONE_BIT: bool>(
    world: &mut World,
    batches: &mut ContactBatches,
    peers: &mut PeerSampler,
    fixed: Fixed,
    lost: &mut impl FnMut() -> bool,
) {
    // A local, so that its counters live in registers.
    let mut tally = Tally::default();
    if ONE_BIT {
        let update = world.slot_update(0) as usize;
        tally.one.origin = world.metrics.updates.get(update).map_or(NONE, |u| u.origin);
    }
    let tally = &mut tally;
    // With a lossless network and every node up, a digest exchange or a pull between equal
    // rows carries nothing and always sends the same messages: such *quiet* contacts are
    // only counted (see `add_quiet`), and leave their batch when it is scanned.
    let quiets = !LOSSY && fixed.all_up && (MODE == DIGEST || MODE == PULL);
    let mut quiet = 0;
    let capacity = BATCH.max(peers.fanout());
    let single = peers.full_single();
    let [drawn, scanned, due] = &mut batches.0;
    for batch in [&mut *drawn, &mut *scanned, &mut *due] {
        batch.from.resize(capacity, 0);
        batch.to.resize(capacity, 0);
        batch.held_from.resize(capacity, 0);
        batch.held_to.resize(capacity, 0);
        batch.len = 0;
    }
    let mut node = 0;
    loop {
        std::mem::swap(due, scanned);
        std::mem::swap(scanned, drawn);
        if single {
            draw_single::<MODE, ONE_BIT>(world, fixed, peers, drawn, &mut node);
        } else {
            draw_chosen::<MODE, ONE_BIT>(world, fixed, peers, drawn, &mut node);
        }
        scan::<ONE_BIT>(world, fixed, scanned, quiets.then_some(&mut quiet));
        if due.len == 0 && scanned.len == 0 && drawn.len == 0 {
            break;
        }
        if MODE == DIGEST && ONE_BIT && quiets && fixed.chained == 0 {
            run_flowing_digests(world, fixed, tally, due);
        } else {
            run::<MODE, LOSSY, ONE_BIT>(world, fixed, tally, due, lost);
        }
    }
    // Words of the peer-choice stream drawn ahead and not used go back to it.
    peers.hand_back();
    add_quiet::<MODE>(tally, quiet, fixed.catalog);
    add_tally(world, tally, fixed.at);
}

/// The draw stage with full membership and one partner: the next [`BATCH`] acting nodes from
/// `node` on, each with its partner (drawn as `PeerSampler::choose` would, a batch at a time),
/// whose row is asked for. When every node acts (all up, and not push, which skips nodes with
/// nothing to push) the batch is the next run of ids, with no per-node check.
#[inline(never)]
fn draw_single<const MODE: u8, const ONE_BIT: bool>(
    world: &World,
    fixed: Fixed,
    peers: &mut PeerSampler,
    drawn: &mut ContactBatch,
    node: &mut NodeId,
) {
    let nodes = world.nodes;
    let len;
    if fixed.all_up && MODE != PUSH {
        len = (nodes - *node).min(BATCH as u32) as usize;
        let first = *node;
        for (from, id) in drawn.from[..len].iter_mut().zip(first..) {
            *from = id;
        }
        peers.draw_all(first, &mut drawn.to[..len]);
        *node += len as u32;
    } else {
        let mut n = 0;
        while *node < nodes && n < BATCH {
            drawn.from[n] = *node;
            n += usize::from(acts::<MODE, ONE_BIT>(world, fixed, *node));
            *node += 1;
        }
        len = n;
        peers.draw_for(&drawn.from[..len], &mut drawn.to[..len]);
    }
    for &partner in &drawn.to[..len] {
        fixed.rows.prefetch(partner);
    }
    drawn.len = len;
}

/// The draw stage with any other membership or fanout: the partners `PeerSampler::choose`
/// gives, as many acting nodes' as fit in the batch.
#[inline(never)]
fn draw_chosen<const MODE: u8, const ONE_BIT: bool>(
    world: &World,
    fixed: Fixed,
    peers: &mut PeerSampler,
    drawn: &mut ContactBatch,
    node: &mut NodeId,
) {
    let capacity = drawn.from.len();
    let mut len = 0;
    while *node < world.nodes && len + peers.fanout() <= capacity {
        if acts::<MODE, ONE_BIT>(world, fixed, *node) {
            for &partner in peers.choose(*node) {
                fixed.rows.prefetch(partner);
                drawn.from[len] = *node;
                drawn.to[len] = partner;
                len += 1;
            }
        }
        *node += 1;
    }
    drawn.len = len;
}

/// The run stage: the contacts of `due`, in order.
#[inline(never)]
fn run<const MODE: u8, const LOSSY: bool, const ONE_BIT: bool>(
    world: &mut World,
    fixed: Fixed,
    tally: &mut Tally,
    due: &ContactBatch,
    lost: &mut impl FnMut() -> bool,
) {
    let n = due.len;
    let sides = due.from[..n].iter().zip(&due.to[..n]);
    let rows = due.held_from[..n].iter().zip(&due.held_to[..n]);
    for ((&from, &to), (&held_from, &held_to)) in sides.zip(rows) {
        let c = Contact {
            from,
            to,
            held_from,
            held_to,
        };
        match MODE {
            PUSH => push::<LOSSY, ONE_BIT>(world, fixed, tally, c, lost),
            PULL => pull::<LOSSY, ONE_BIT>(world, fixed, tally, c, lost),
            DIGEST => digest_exchange::<LOSSY, ONE_BIT>(world, fixed, tally, c, lost),
            _ => table_exchange::<LOSSY, ONE_BIT>(world, fixed, tally, c, lost),
        }
    }
}

/// The run stage of digest exchanges between rows of one bit when quiet contacts have left
/// the batch (lossless, every node up) and the one slot has no newer version in flight: in
/// every contact left exactly one side holds the update, and the exchange is an opening and a
/// reply, each with a whole digest, and a close when the initiator holds it; whoever holds it
/// delivers it to the other (see [`digest_exchange`], which this counts in bulk). Without a
/// branch on who holds it, a coin toss while the update spreads.
#[inline(never)]
fn run_flowing_digests(world: &mut World, fixed: Fixed, tally: &mut Tally, due: &ContactBatch) {
    let n = due.len;
    let mut closes = 0;
    for ((&from, &to), &held_from) in due.from[..n]
        .iter()
        .zip(&due.to[..n])
        .zip(&due.held_from[..n])
    {
        let initiator_holds = held_from & fixed.active != 0;
        let (sender, receiver) = if initiator_holds {
            (from, to)
        } else {
            (to, from)
        };
        closes += u64::from(initiator_holds);
        deliver_one_bit(world, &mut tally.one, sender, receiver);
    }
    let contacts = n as u64;
    tally.by_kind[MessageKind::ExchangeOpen as usize] += contacts;
    tally.by_kind[MessageKind::ExchangeReply as usize] += contacts;
    tally.by_kind[MessageKind::ExchangeClose as usize] += closes;
    // One entry each (the update, in the reply or the close), and two digests.
    tally.entries += contacts;
    tally.digest_entries += 2 * contacts * fixed.catalog;
    tally.delivered += 2 * contacts + closes;
    tally.one.carried += contacts;
}

/// Whether `node` contacts anyone this round: it is up and, for push, holds something to
/// push (a node with nothing in flight draws no partner).
#[inline(always)]
fn acts<const MODE: u8, const ONE_BIT: bool>(world: &World, fixed: Fixed, node: NodeId) -> bool {
    (fixed.all_up || world.is_up(node)) && (MODE != PUSH || fixed.word::<ONE_BIT>(node) != 0)
}

/// Reads both rows of every contact of `batch` (the partner's was prefetched when drawn)
/// and prefetches what the contacts will touch beyond them: where the two rows differ an
/// update flows, and the partner's hop counts are read or written; where it flows to the
/// partner, its next-round row is read and written.
#[inline(never)]
fn scan<const ONE_BIT: bool>(
    world: &World,
    fixed: Fixed,
    batch: &mut ContactBatch,
    quiet: Option<&mut u64>,
) {
    let n = batch.len;
    let Some(quiet) = quiet else {
        let sides = batch.from[..n].iter().zip(&batch.to[..n]);
        let rows = batch.held_from[..n].iter_mut().zip(&mut batch.held_to[..n]);
        for ((&from, &to), (held_from_out, held_to_out)) in sides.zip(rows) {
            let (held_from, held_to) = (fixed.word::<ONE_BIT>(from), fixed.word::<ONE_BIT>(to));
            *held_from_out = held_from;
            *held_to_out = held_to;
            prefetch_flow(world, fixed, to, held_from, held_to);
        }
        return;
    };
    // Quiet contacts leave the batch, which keeps the others in order. Every contact is
    // written at `kept`, where the next one overwrites it if it was quiet: no branch on
    // whether a contact is quiet, a coin toss while the update spreads.
    let ContactBatch {
        from,
        to,
        held_from,
        held_to,
        ..
    } = batch;
    let (from, to) = (&mut from[..n], &mut to[..n]);
    let (held_from, held_to) = (&mut held_from[..n], &mut held_to[..n]);
    let mut kept = 0;
    for i in 0..n {
        let (f, t) = (from[i], to[i]);
        let (hf, ht) = (fixed.word::<ONE_BIT>(f), fixed.word::<ONE_BIT>(t));
        from[kept] = f;
        to[kept] = t;
        held_from[kept] = hf;
        held_to[kept] = ht;
        kept += usize::from((hf ^ ht) & fixed.active != 0);
    }
    // Then what the contacts kept will touch, in a second pass: each of them differs, so
    // the partner's hop counts are read or written; its next-round row is asked for whichever
    // way the update flows (a spare hint costs less than a branch on the direction).
    for (&t, (&hf, &ht)) in to[..kept].iter().zip(held_from.iter().zip(held_to.iter())) {
        let differ = (hf ^ ht) & fixed.active;
        world
            .metrics
            .hops
            .prefetch(t, differ.trailing_zeros() as usize);
        world.prefetch_next_row(t);
    }
    *quiet += (n - kept) as u64;
    batch.len = kept;
}

/// Prefetches what a contact between rows `held_from` and `held_to` will touch at its
/// partner `to` beyond its row (see [`scan`]).
#[inline(always)]
fn prefetch_flow(world: &World, fixed: Fixed, to: NodeId, held_from: u64, held_to: u64) {
    let differ = (held_from ^ held_to) & fixed.active;
    if differ != 0 {
        world
            .metrics
            .hops
            .prefetch(to, differ.trailing_zeros() as usize);
        if held_from & differ != 0 {
            world.prefetch_next_row(to);
        }
    }
}

/// [`World::deliver_word`] of slot 0 with rows of one bit: a duplicate, or `to` learns it
/// one hop further than `from` holds it.
#[inline(always)]
fn deliver_one_bit(world: &mut World, one: &mut OneSlot, from: NodeId, to: NodeId) {
    if !world.learn_one_bit(to) {
        one.duplicates += 1;
        return;
    }
    one.learnt += 1;
    let hop = world.metrics.hops.get(from, 0).saturating_add(1);
    world.metrics.hops.set(to, 0, hop);
    if to != one.origin {
        one.deliveries += 1;
        one.max_hops = one.max_hops.max(hop);
    }
}

fn add_tally(world: &mut World, tally: &Tally, at: Time) {
    let one = &tally.one;
    if one.carried + one.duplicates + one.learnt > 0 {
        world.add_holders(0, one.learnt);
        let update = world.slot_update(0) as usize;
        world.metrics.add_update_counts(
            update,
            one.carried,
            one.duplicates,
            one.deliveries,
            one.max_hops,
            at,
        );
    }
    let fates = Fates {
        delivered: tally.delivered,
        lost: tally.lost,
        dropped: tally.dropped,
    };
    world
        .metrics
        .add_message_counts(&tally.by_kind, tally.entries, tally.digest_entries, fates);
}

/// [`World::arrives`] with the counts in `tally`; `surely_up`: `to` is known to be up.
#[inline(always)]
fn arrives_tallied<const LOSSY: bool>(
    world: &World,
    fixed: Fixed,
    tally: &mut Tally,
    to: NodeId,
    surely_up: bool,
    lost: &mut impl FnMut() -> bool,
) -> bool {
    if LOSSY && lost() {
        tally.lost += 1;
        false
    } else if !surely_up && !fixed.all_up && !world.is_up(to) {
        tally.dropped += 1;
        false
    } else {
        tally.delivered += 1;
        true
    }
}

/// The newest versions among `held` (row word of `node`) minus `minus`
/// ([`World::top_word`]).
#[inline(always)]
fn top_of(world: &World, fixed: Fixed, node: NodeId, held: u64, minus: u64) -> u64 {
    let mut bits = held & fixed.active & !minus;
    for_each_bit(bits & fixed.chained, |b| {
        let newer = world.newer_slot(b);
        if fixed.rows.word(node) >> newer & 1 == 1 {
            bits &= !(1u64 << b);
        }
    });
    bits
}

/// A message carrying `payload` from `from` to `to`: counted against its updates, then
/// delivered unless lost (or `to` is down). Returns whether it arrived.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn carry<const LOSSY: bool, const ONE_BIT: bool>(
    world: &mut World,
    fixed: Fixed,
    tally: &mut Tally,
    from: NodeId,
    to: NodeId,
    surely_up: bool,
    payload: u64,
    lost: &mut impl FnMut() -> bool,
) -> bool {
    if ONE_BIT {
        // The one update in flight, counted in `tally` (see `OneSlot`).
        tally.one.carried += u64::from(payload != 0);
        let arrived = arrives_tallied::<LOSSY>(world, fixed, tally, to, surely_up, lost);
        if arrived && payload != 0 {
            deliver_one_bit(world, &mut tally.one, from, to);
        }
        return arrived;
    }
    if payload != 0 {
        world.count_carried_word(0, payload);
    }
    let arrived = arrives_tallied::<LOSSY>(world, fixed, tally, to, surely_up, lost);
    if arrived && payload != 0 {
        world.deliver_word(to, from, 0, payload, fixed.at);
    }
    arrived
}

/// `RoundContacts::exchange` in digest mode.
#[inline(always)]
fn digest_exchange<const LOSSY: bool, const ONE_BIT: bool>(
    world: &mut World,
    fixed: Fixed,
    tally: &mut Tally,
    c: Contact,
    lost: &mut impl FnMut() -> bool,
) {
    tally.send(MessageKind::ExchangeOpen, 0, fixed.catalog);
    if !arrives_tallied::<LOSSY>(world, fixed, tally, c.to, false, lost) {
        return;
    }
    let reply = top_of(world, fixed, c.to, c.held_to, c.held_from);
    tally.send(
        MessageKind::ExchangeReply,
        entries_in::<ONE_BIT>(reply),
        fixed.catalog,
    );
    if !carry::<LOSSY, ONE_BIT>(world, fixed, tally, c.to, c.from, true, reply, lost) {
        return;
    }
    let close = top_of(world, fixed, c.from, c.held_from, c.held_to);
    if close != 0 {
        tally.send(MessageKind::ExchangeClose, entries_in::<ONE_BIT>(close), 0);
        carry::<LOSSY, ONE_BIT>(world, fixed, tally, c.from, c.to, true, close, lost);
    }
}

/// `RoundContacts::exchange` in full-table mode.
#[inline(always)]
fn table_exchange<const LOSSY: bool, const ONE_BIT: bool>(
    world: &mut World,
    fixed: Fixed,
    tally: &mut Tally,
    c: Contact,
    lost: &mut impl FnMut() -> bool,
) {
    let open = top_of(world, fixed, c.from, c.held_from, 0);
    tally.send(MessageKind::ExchangeOpen, fixed.catalog, 0);
    if !carry::<LOSSY, ONE_BIT>(world, fixed, tally, c.from, c.to, false, open, lost) {
        return;
    }
    let reply = top_of(world, fixed, c.to, c.held_to, 0);
    tally.send(MessageKind::ExchangeReply, fixed.catalog, 0);
    carry::<LOSSY, ONE_BIT>(world, fixed, tally, c.to, c.from, true, reply, lost);
}

/// `RoundContacts::push`.
#[inline(always)]
fn push<const LOSSY: bool, const ONE_BIT: bool>(
    world: &mut World,
    fixed: Fixed,
    tally: &mut Tally,
    c: Contact,
    lost: &mut impl FnMut() -> bool,
) {
    let payload = top_of(world, fixed, c.from, c.held_from, 0);
    let entries = entries_in::<ONE_BIT>(payload);
    if entries > 0 {
        tally.send(MessageKind::Push, entries, 0);
        carry::<LOSSY, ONE_BIT>(world, fixed, tally, c.from, c.to, false, payload, lost);
    }
}

/// `RoundContacts::pull`.
#[inline(always)]
fn pull<const LOSSY: bool, const ONE_BIT: bool>(
    world: &mut World,
    fixed: Fixed,
    tally: &mut Tally,
    c: Contact,
    lost: &mut impl FnMut() -> bool,
) {
    tally.send(MessageKind::PullRequest, 0, fixed.catalog);
    if !arrives_tallied::<LOSSY>(world, fixed, tally, c.to, false, lost) {
        return;
    }
    let reply = top_of(world, fixed, c.to, c.held_to, c.held_from);
    tally.send(MessageKind::PullReply, entries_in::<ONE_BIT>(reply), 0);
    carry::<LOSSY, ONE_BIT>(world, fixed, tally, c.to, c.from, true, reply, lost);
}
