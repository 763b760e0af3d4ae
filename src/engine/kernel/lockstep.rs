//! The built-in anti-entropy's contacts in `rounds` timing, one contact at a time: push, pull
//! and push-pull (digest or full table), written against the staged world.
//!
//! Every message of a contact happens within the round. A message's payload is never
//! materialised in a buffer: within a staged round the start-of-round rows do not change, so
//! "the newest versions `sender` holds, minus what `minus_of` held at the start of the round"
//! can be recomputed word by word when it is counted and again when it is delivered. Word 0 is
//! computed once and kept in the [`Payload`], so with one word per row (up to 64 updates in
//! flight, the common case, compiled with `WIDE = false`) a message is one word computed once and
//! no loop at all.
//!
//! When a round may run batched ([`batch::batchable`]), [`RoundContacts::round`] hands it to the
//! batched contacts of [`batch`], which give the same result.

use super::super::peers::PeerSampler;
use crate::report::MessageKind;
use crate::scenario::NodeId;
use crate::time::Time;

use super::super::network::Transport;
use super::super::rows::{entry_count, for_each_bit};
use super::super::world::World;
use super::Kernel;
use super::batch::{self, ContactBatches};

/// The payload of one message of a staged contact: what `sender` holds newest, minus what
/// another node held at the start of the round. With rows of one word it is kept here; with
/// wide rows its words that are not empty are in [`RoundContacts::payload_words`], computed
/// once per message.
#[derive(Clone, Copy)]
struct Payload {
    sender: NodeId,
    /// Word 0 of the payload (rows of one word).
    first: u64,
    /// Entries the payload carries.
    entries: u64,
}

#[inline(always)]
fn word_at(world: &World, sender: NodeId, minus_of: Option<NodeId>, w: usize) -> u64 {
    let minus = minus_of.map_or(0, |other| world.row_word(other, w));
    world.top_word(sender, w, minus)
}

/// The lock-step contacts of the built-in anti-entropy, with the buffers they reuse round after
/// round (kept by the trial; nothing in them outlives a contact's result).
#[derive(Default)]
pub struct RoundContacts {
    batches: ContactBatches,
    /// The words of a payload of a wide-row contact that are not empty, with their index,
    /// ascending.
    payload_words: Vec<(usize, u64)>,
    /// Wide rows: contacts drawn ahead of the one running, `(from, to)` in run order.
    ahead: std::collections::VecDeque<(NodeId, NodeId)>,
}

/// Wide rows: how many contacts ahead partners are drawn and their rows prefetched. A wide row
/// is a kilobyte or more at a random place (a miss of 160-390 ns on this project's machines);
/// a few contacts of a few hundred nanoseconds each cover it.
const LOOKAHEAD: usize = 6;
/// Where in the contacts drawn ahead a digest contact's rows, then its hop counts, are asked
/// for (see [`RoundContacts::drawn_ahead`]).
const ROWS_AHEAD: usize = 4;
const HOPS_AHEAD: usize = 2;

impl RoundContacts {
    /// The payload `sender` sends: its newest versions, minus what `minus_of` held at the
    /// start of the round (nothing, when `None`). Start-of-round rows do not change within
    /// the round, so a message's payload computed once is the one counted and delivered.
    ///
    /// With wide rows and a `minus_of`, only the words `minus_of` lacked at the start of the
    /// round are read: in every other word the payload is empty (see `World::lacking_words`).
    #[inline(always)]
    fn payload<const WIDE: bool>(
        &mut self,
        world: &World,
        sender: NodeId,
        minus_of: Option<NodeId>,
    ) -> Payload {
        if !WIDE {
            let first = word_at(world, sender, minus_of, 0);
            return Payload {
                sender,
                first,
                entries: entry_count(first),
            };
        }
        let words = &mut self.payload_words;
        words.clear();
        let mut entries = 0;
        let mut add = |w: usize| {
            let bits = word_at(world, sender, minus_of, w);
            if bits != 0 {
                entries += entry_count(bits);
                words.push((w, bits));
            }
        };
        if let Some(other) = minus_of.filter(|_| world.in_round()) {
            for (i, &lacks) in world.lacking_words(other).iter().enumerate() {
                for_each_bit(lacks, |b| add(i * 64 + b));
            }
        } else {
            (0..world.row_words::<WIDE>()).for_each(add);
        }
        Payload {
            sender,
            first: 0,
            entries,
        }
    }

    /// Counts one message carrying `payload` against every update in it; one that `arrived`
    /// is counted by its delivery when the round's tally allows (see `world::tally`).
    #[inline(always)]
    fn carry<const WIDE: bool>(&self, world: &mut World, payload: &Payload, arrived: bool) {
        if arrived && world.counts_carried_on_delivery() {
            return;
        }
        if WIDE {
            for &(w, bits) in &self.payload_words {
                world.count_carried_in_round(w, bits);
            }
        } else {
            world.count_carried_in_round(0, payload.first);
        }
    }

    /// Every live node's contacts of one round by `kernel`, in id order: batched when the round
    /// allows it (not over HyParView, whose partner choice the batch does not model), else one
    /// by one.
    pub fn round(
        &mut self,
        world: &mut World,
        peers: &mut PeerSampler,
        transport: &mut Transport,
        kernel: Kernel,
        at: Time,
    ) {
        let lossy = transport.lossy();
        let mut lost = || transport.lost();
        if batch::batchable(world) && !peers.is_hyparview() {
            self.batches
                .contacts(world, peers, kernel, at, lossy, &mut lost);
        } else if world.one_word_rows() {
            self.one_by_one::<false>(world, peers, kernel, at, &mut lost);
        } else if world.in_round() && !peers.is_hyparview() {
            self.drawn_ahead(world, peers, kernel, at, &mut lost);
        } else {
            self.one_by_one::<true>(world, peers, kernel, at, &mut lost);
        }
    }

    /// Wide rows: the contacts of [`RoundContacts::one_by_one`] in the same order, with each
    /// contact's partners drawn [`LOOKAHEAD`] contacts early and both rows of every side
    /// prefetched meanwhile. Drawing early draws the same partners: within a staged round
    /// nothing a draw depends on changes (the up set, the start-of-round rows a push looks at,
    /// a membership other than HyParView), and the peer-choice stream is drawn from nowhere
    /// else, in node order either way.
    fn drawn_ahead(
        &mut self,
        world: &mut World,
        peers: &mut PeerSampler,
        kernel: Kernel,
        at: Time,
        lost: &mut impl FnMut() -> bool,
    ) {
        let mut ahead = std::mem::take(&mut self.ahead);
        ahead.clear();
        // A digest contact reads only the words either side lacks (see `payload`); push and
        // full-table contacts send whole tables.
        let digest = matches!(
            kernel,
            Kernel::Pull | Kernel::PushPull { full_table: false }
        );
        let prefetch = |world: &World, node: NodeId| {
            if digest {
                world.prefetch_lacking(node);
            } else {
                world.prefetch_whole_rows(node);
            }
        };
        let mut next = 0;
        loop {
            while ahead.len() < LOOKAHEAD && next < world.nodes {
                let node = next;
                next += 1;
                let draws = world.is_up(node)
                    && (!matches!(kernel, Kernel::Push) || world.holds_any_in::<true>(node));
                if draws {
                    prefetch(world, node);
                    for &partner in peers.choose(node) {
                        prefetch(world, partner);
                        ahead.push_back((node, partner));
                    }
                }
            }
            // A digest contact's lines come in three steps, two contacts apart: the words
            // each side lacks, then the rows at those words, then the hop counts its
            // deliveries will read and write.
            if digest && let Some(&(a, b)) = ahead.get(ROWS_AHEAD) {
                world.prefetch_rows_between(a, b);
            }
            if let Some(&(a, b)) = ahead.get(HOPS_AHEAD) {
                world.prefetch_hops_between(a, b);
            }
            let Some((node, partner)) = ahead.pop_front() else {
                break;
            };
            match kernel {
                Kernel::Push => self.push::<true>(world, node, partner, at, lost),
                Kernel::Pull => self.pull::<true>(world, node, partner, at, lost),
                Kernel::PushPull { full_table } => {
                    self.exchange::<true>(world, node, partner, full_table, at, lost)
                }
            }
        }
        self.ahead = ahead;
    }

    /// `WIDE`: rows span more than one word (more than 64 updates in flight); the one-word case
    /// is compiled separately because it is the common one and its word loops disappear.
    fn one_by_one<const WIDE: bool>(
        &mut self,
        world: &mut World,
        peers: &mut PeerSampler,
        kernel: Kernel,
        at: Time,
        lost: &mut impl FnMut() -> bool,
    ) {
        for node in 0..world.nodes {
            if !world.is_up(node) {
                continue;
            }
            match kernel {
                Kernel::Push => {
                    // A node with nothing in flight has nothing to push and draws no partner.
                    if world.holds_any_in::<WIDE>(node) {
                        for &partner in peers.choose(node) {
                            self.push::<WIDE>(world, node, partner, at, lost);
                        }
                    }
                }
                Kernel::Pull => {
                    for &partner in peers.choose(node) {
                        self.pull::<WIDE>(world, node, partner, at, lost);
                    }
                }
                Kernel::PushPull { full_table } => {
                    for &partner in peers.choose(node) {
                        self.exchange::<WIDE>(world, node, partner, full_table, at, lost);
                    }
                }
            }
        }
    }

    /// Push: `from` sends the newest versions it holds to `to`.
    #[inline]
    pub fn push<const WIDE: bool>(
        &mut self,
        world: &mut World,
        from: NodeId,
        to: NodeId,
        at: Time,
        lost: &mut impl FnMut() -> bool,
    ) {
        let payload = self.payload::<WIDE>(world, from, None);
        let entries = payload.entries;
        if entries > 0 {
            world.metrics.send(MessageKind::Push, entries, 0);
            let arrived = world.arrives(to, lost());
            self.carry::<WIDE>(world, &payload, arrived);
            if arrived {
                self.deliver::<WIDE>(world, to, &payload, at);
            }
        }
    }

    /// Pull: `from` sends its digest to `to`, which replies with what `from` lacks.
    #[inline]
    pub fn pull<const WIDE: bool>(
        &mut self,
        world: &mut World,
        from: NodeId,
        to: NodeId,
        at: Time,
        lost: &mut impl FnMut() -> bool,
    ) {
        let digest = world.table_entries_in::<WIDE>(from);
        world.metrics.send(MessageKind::PullRequest, 0, digest);
        if world.arrives(to, lost()) {
            self.reply_with_missing::<WIDE>(world, to, from, MessageKind::PullReply, 0, at, lost);
        }
    }

    /// Anti-entropy between `from` (initiator) and `to`.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub fn exchange<const WIDE: bool>(
        &mut self,
        world: &mut World,
        from: NodeId,
        to: NodeId,
        full_table: bool,
        at: Time,
        lost: &mut impl FnMut() -> bool,
    ) {
        if full_table {
            // Each side ships its whole table; the receiver keeps what is newer.
            if self.ship_table::<WIDE>(world, from, to, MessageKind::ExchangeOpen, at, lost) {
                self.ship_table::<WIDE>(world, to, from, MessageKind::ExchangeReply, at, lost);
            }
            return;
        }
        // Digest mode: open with a digest, reply with the initiator's missing entries and the
        // responder's digest, close with the responder's missing entries (only if any).
        let from_digest = world.table_entries_in::<WIDE>(from);
        world
            .metrics
            .send(MessageKind::ExchangeOpen, 0, from_digest);
        if !world.arrives(to, lost()) {
            return;
        }
        let to_digest = world.table_entries_in::<WIDE>(to);
        if !self.reply_with_missing::<WIDE>(
            world,
            to,
            from,
            MessageKind::ExchangeReply,
            to_digest,
            at,
            lost,
        ) {
            return;
        }
        let payload = self.payload::<WIDE>(world, from, Some(to));
        let mut entries = payload.entries;
        let baseline = !world.has_baseline(to) && world.has_baseline(from);
        if baseline {
            entries += world.catalog_len();
        }
        if entries > 0 {
            world.metrics.send(MessageKind::ExchangeClose, entries, 0);
            let arrived = world.arrives(to, lost());
            self.carry::<WIDE>(world, &payload, arrived);
            if arrived {
                if baseline {
                    world.grant_baseline(to);
                }
                self.deliver::<WIDE>(world, to, &payload, at);
            }
        }
    }

    /// `responder` sends `requester` the entries it lacks (per the requester's start-of-round
    /// digest), plus the baseline if the requester lost it. Returns whether the reply arrived.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn reply_with_missing<const WIDE: bool>(
        &mut self,
        world: &mut World,
        responder: NodeId,
        requester: NodeId,
        kind: MessageKind,
        digest_entries: u64,
        at: Time,
        lost: &mut impl FnMut() -> bool,
    ) -> bool {
        let payload = self.payload::<WIDE>(world, responder, Some(requester));
        let mut entries = payload.entries;
        let baseline = !world.has_baseline(requester) && world.has_baseline(responder);
        if baseline {
            entries += world.catalog_len();
        }
        world.metrics.send(kind, entries, digest_entries);
        let arrived = world.arrives(requester, lost());
        self.carry::<WIDE>(world, &payload, arrived);
        if arrived {
            if baseline {
                world.grant_baseline(requester);
            }
            self.deliver::<WIDE>(world, requester, &payload, at);
        }
        arrived
    }

    /// `from` ships its whole table to `to`. Returns whether it arrived.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn ship_table<const WIDE: bool>(
        &mut self,
        world: &mut World,
        from: NodeId,
        to: NodeId,
        kind: MessageKind,
        at: Time,
        lost: &mut impl FnMut() -> bool,
    ) -> bool {
        let payload = self.payload::<WIDE>(world, from, None);
        let table = world.table_entries_in::<WIDE>(from);
        world.metrics.send(kind, table, 0);
        let arrived = world.arrives(to, lost());
        self.carry::<WIDE>(world, &payload, arrived);
        if arrived {
            if world.has_baseline(from) {
                world.grant_baseline(to);
            }
            self.deliver::<WIDE>(world, to, &payload, at);
        }
        arrived
    }

    /// Delivers `payload` to `to` (see [`World::deliver`]).
    #[inline(always)]
    fn deliver<const WIDE: bool>(
        &mut self,
        world: &mut World,
        to: NodeId,
        payload: &Payload,
        at: Time,
    ) {
        if !WIDE {
            world.deliver_word_in_round(to, payload.sender, 0, payload.first, at);
            return;
        }
        // Wide rows: word by word. A first pass that read the sender's hop count of every word
        // with a fresh bit, so that their misses overlapped, predates the hop prefetch of the
        // contacts drawn ahead; removing it, storefront-1e5 ran 0.982 and 0.968 of its time
        // (both orders), and over HyParView, where nothing is prefetched, 40 storefront
        // rounds took 8.60 and 8.90 s against 8.71 and 8.85 s.
        for &(w, bits) in &self.payload_words {
            world.deliver_word_in_round(to, payload.sender, w, bits, at);
        }
    }
}
