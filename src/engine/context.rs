//! What a protocol handler sees: the [`Context`] it reads the world through and sends with.
//!
//! Sending is a command: [`Context::send`] hands out an [`Outgoing`] message in a reusable
//! outbox, and the engine transmits it when the handler returns (or at [`Context::flush`]).
//! Transmitting is the engine's: it counts the message and its bytes, counts it against every
//! update it carries, asks the transport whether it is lost, and then
//! - in `rounds` timing delivers it at once, depth first (its replies before the sender's next
//!   message): every message of a contact happens within the round;
//! - in `async` timing puts it on the wire with the transport's latency.

use rand_chacha::ChaCha8Rng;

use crate::protocol::Protocol;
use crate::report::{MessageKind, UpdateReport};
use crate::scenario::NodeId;
use crate::time::Time;

use super::hyparview::HyParView;
use super::network::Transport;
use super::peers::PeerSampler;
use super::queue::{Event, EventQueue};
use super::words::Words;

use super::world::World;

/// A message as its recipient's handler sees it.
#[derive(Clone, Debug, Default)]
pub struct Message<B> {
    pub kind: MessageKind,
    pub from: NodeId,
    pub to: NodeId,
    /// The updates it carries, one bit per slot (the newest version of each product). The
    /// engine clears the bits of slots that retired or were reused while it was in flight.
    pub payload: Words,
    /// The sender's digest, one bit per slot it holds (cleared like `payload`).
    pub digest: Words,
    /// It carries the whole catalog at its retired versions: the recipient gets the baseline.
    pub carries_baseline: bool,
    /// The sender held the baseline when it sent this.
    pub sender_has_baseline: bool,
    pub body: B,
}

/// A message's size in the scenario's size model: `sizes.header` bytes, plus `sizes.entry` per
/// price entry and `sizes.digest_entry` per digest entry, plus `other_bytes` of what is neither
/// (hashes, sketches: their own size model's bytes, exact).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Size {
    /// Price entries it carries.
    pub entries: u64,
    /// Digest entries it carries.
    pub digest_entries: u64,
    /// Bytes it carries beyond the header and the entries.
    pub other_bytes: u64,
}

impl Size {
    /// A header alone (a request, an acknowledgement).
    pub const HEADER: Size = Size {
        entries: 0,
        digest_entries: 0,
        other_bytes: 0,
    };

    /// `bytes` bytes beyond the header that are not entries (hashes, a sketch).
    pub fn other(bytes: u64) -> Size {
        Size {
            other_bytes: bytes,
            ..Size::HEADER
        }
    }

    /// `entries` price entries.
    pub fn entries(entries: u64) -> Size {
        Size {
            entries,
            ..Size::HEADER
        }
    }

    /// `digest_entries` digest entries.
    pub fn digest(digest_entries: u64) -> Size {
        Size {
            digest_entries,
            ..Size::HEADER
        }
    }
}

/// A message waiting in the outbox of `rounds` timing, with its size.
#[derive(Clone, Debug, Default)]
pub(crate) struct Outgoing<B> {
    message: Message<B>,
    size: Size,
}

/// What [`Protocol::settled`] may look at.
pub struct Status {
    pub(crate) quiescent: bool,
    pub(crate) spreading: bool,
    pub(crate) in_flight: u64,
    pub(crate) carrying: u64,
}

impl Status {
    /// No update in flight, and every up node holds the baseline.
    pub fn quiescent(&self) -> bool {
        self.quiescent
    }

    /// Some node still spreads some update (see [`Protocol::spreading_state`]).
    pub fn spreading(&self) -> bool {
        self.spreading
    }

    /// Messages on the wire (always 0 between rounds in `rounds` timing).
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// Messages on the wire that carry updates: requests and empty replies not counted.
    pub fn carrying(&self) -> u64 {
        self.carrying
    }
}

/// Makes `m` an empty message of `kind`, keeping its buffers.
#[inline(always)]
fn reset<B: Default>(
    m: &mut Message<B>,
    kind: MessageKind,
    from: NodeId,
    to: NodeId,
    words: usize,
) {
    m.kind = kind;
    m.from = from;
    m.to = to;
    m.payload.clear();
    m.payload.resize(words);
    m.digest.clear();
    m.carries_baseline = false;
    m.sender_has_baseline = false;
    m.body = B::default();
}

#[inline(always)]
fn carries(payload: &Words) -> bool {
    payload.any()
}

/// The outbox: messages handed out by [`Context::send`], kept for reuse so that sending
/// allocates nothing once the buffers have grown.
pub(crate) struct Outbox<B> {
    /// `rounds` timing: messages to deliver, in order.
    messages: Vec<Outgoing<B>>,
    len: usize,
    /// `async` timing: messages already in their wire slot, to transmit.
    pending: Vec<(u32, Size)>,
    /// `async` timing: the message being handled, swapped out of its wire slot (so that the
    /// handler can send while it reads it) and back.
    arriving: Message<B>,
    /// Partners of the node acting (see `Context::for_each_partner`).
    partners: Vec<NodeId>,
}

impl<B: Default> Default for Outbox<B> {
    fn default() -> Self {
        Outbox {
            messages: Vec::new(),
            len: 0,
            pending: Vec::new(),
            arriving: Message::default(),
            partners: Vec::new(),
        }
    }
}

/// A message on the wire in `async` timing: one cache line for the built-in anti-entropy (a
/// test checks), since at 10^7 nodes reading it is a cache miss per event.
#[repr(align(64))]
#[derive(Default)]
pub(crate) struct InFlight<B> {
    pub message: Message<B>,
    /// Event sequence number at sending: bits of slots born later are not really carried.
    pub sent_seq: u64,
    /// The world's slot epoch at sending: unchanged at delivery, no bit needs masking.
    pub sent_epoch: u64,
}

/// Messages in flight, their buffers reused.
pub(crate) struct Wire<B> {
    pub messages: Vec<InFlight<B>>,
    free: Vec<u32>,
    pub in_flight: u64,
    /// Messages in flight that carry updates (a non-empty payload).
    pub carrying: u64,
}

impl<B> Default for Wire<B> {
    fn default() -> Self {
        Wire {
            messages: Vec::new(),
            free: Vec::new(),
            in_flight: 0,
            carrying: 0,
        }
    }
}

impl<B: Copy + Default> Wire<B> {
    /// A slot for a new message of `kind`, empty but for its buffers' capacity.
    #[inline(always)]
    fn open(
        &mut self,
        kind: MessageKind,
        from: NodeId,
        to: NodeId,
        words: usize,
        sent_seq: u64,
        sent_epoch: u64,
    ) -> u32 {
        self.in_flight += 1;
        let i = match self.free.pop() {
            Some(i) => i,
            None => self.grow(),
        };
        let m = &mut self.messages[i as usize];
        m.sent_seq = sent_seq;
        m.sent_epoch = sent_epoch;
        reset(&mut m.message, kind, from, to, words);
        i
    }

    /// A new slot at the end of the table.
    #[cold]
    fn grow(&mut self) -> u32 {
        super::memory::push(&mut self.messages, InFlight::default());
        (self.messages.len() - 1) as u32
    }

    /// Frees slot `i`; `carried`: its message carried updates when it was sent.
    pub fn release(&mut self, i: u32, carried: bool) {
        self.in_flight -= 1;
        self.carrying -= u64::from(carried);
        self.free.push(i);
    }
}

/// Protocol timers in `async` timing: what fires, by index (the queue's `Event::Wake`).
#[derive(Default)]
pub(crate) struct Wakeups {
    pub due: Vec<(NodeId, u64)>,
    free: Vec<u32>,
}

impl Wakeups {
    fn put(&mut self, node: NodeId, tag: u64) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.due[i as usize] = (node, tag);
                i
            }
            None => {
                self.due.push((node, tag));
                (self.due.len() - 1) as u32
            }
        }
    }

    pub fn take(&mut self, i: u32) -> (NodeId, u64) {
        self.free.push(i);
        self.due[i as usize]
    }
}

/// The engine's parts of `async` timing a context sends through.
pub(crate) struct AsyncParts<'a, B> {
    pub queue: &'a mut EventQueue,
    pub wire: &'a mut Wire<B>,
    pub wakeups: &'a mut Wakeups,
}

/// Timers set in `rounds` timing: (due round, order set, node, tag).
pub(crate) type RoundTimers = Vec<(u64, u64, NodeId, u64)>;

pub(crate) enum Mode<'a, B> {
    Rounds { timers: &'a mut RoundTimers },
    Async(AsyncParts<'a, B>),
}

/// A handler's view of the trial: what nodes hold, their partners, the protocol's random
/// stream, and the outbox. See the [`crate::protocol`] module.
pub struct Context<'a, B> {
    pub(crate) world: &'a mut World,
    pub(crate) peers: &'a mut PeerSampler,
    pub(crate) transport: &'a mut Transport,
    rng: &'a mut ChaCha8Rng,
    outbox: &'a mut Outbox<B>,
    /// First message of the current handler's frame (see `flush`).
    frame: usize,
    now: Time,
    round: u64,
    period: Time,
    mode: Mode<'a, B>,
}

impl<'a, B: Copy + Default> Context<'a, B> {
    #[allow(clippy::too_many_arguments)] // The engine's parts a handler reaches, once per round or event.
    pub(crate) fn new(
        world: &'a mut World,
        peers: &'a mut PeerSampler,
        transport: &'a mut Transport,
        rng: &'a mut ChaCha8Rng,
        outbox: &'a mut Outbox<B>,
        now: Time,
        round: u64,
        period: Time,
        mode: Mode<'a, B>,
    ) -> Context<'a, B> {
        Context {
            world,
            peers,
            transport,
            rng,
            outbox,
            frame: 0,
            now,
            round,
            period,
            mode,
        }
    }

    pub(crate) fn mode_mut(&mut self) -> &mut Mode<'a, B> {
        &mut self.mode
    }

    // ---- time and the trial ------------------------------------------------------------------

    /// Now: the end of the current round in `rounds` timing (when what is learnt counts as
    /// learnt), the event's time in `async` timing.
    pub fn now(&self) -> Time {
        self.now
    }

    /// The current round (`rounds`), or the number of whole periods elapsed (`async`).
    pub fn round(&self) -> u64 {
        match self.mode {
            Mode::Rounds { .. } => self.round,
            // Divided on demand: most events never ask.
            Mode::Async(_) => self.now.0 / self.period.0.max(1),
        }
    }

    /// The gossip period.
    pub fn period(&self) -> Time {
        self.period
    }

    /// Whether this is `rounds` timing: reads see the start of the round, messages are
    /// delivered within it.
    pub fn rounds_timing(&self) -> bool {
        matches!(self.mode, Mode::Rounds { .. })
    }

    pub fn nodes(&self) -> u32 {
        self.world.nodes
    }

    pub fn is_up(&self, node: NodeId) -> bool {
        self.world.is_up(node)
    }

    /// The protocol's own random stream (one per trial, derived from the master seed).
    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        self.rng
    }

    /// The planned updates, by update index (origin, product, version, ...).
    pub fn updates(&self) -> &[UpdateReport] {
        &self.world.metrics.updates
    }

    // ---- what nodes hold (as of the start of the round in `rounds` timing) -------------------

    /// Words per row: bits of slots `0..64 * words()` (one slot per update in flight).
    pub fn words(&self) -> usize {
        self.world.words()
    }

    /// Whether `node` holds any update in flight.
    pub fn holds_any(&self, node: NodeId) -> bool {
        self.world.holds_any(node)
    }

    /// Whether `node` holds slot `slot` (its update or a newer version of the product).
    pub fn holds(&self, node: NodeId, slot: usize) -> bool {
        self.world.held(node, slot)
    }

    /// Word `w` of the slots in flight `node` holds.
    pub fn held_word(&self, node: NodeId, w: usize) -> u64 {
        self.world.held_word(node, w)
    }

    /// Whether `node` holds `slot` including what it learnt earlier in this round.
    pub fn holds_now(&self, node: NodeId, slot: usize) -> bool {
        self.world.holds_now(node, slot)
    }

    /// Fills `out` with the newest versions `node` holds, minus the slots `minus(w)` sets in
    /// word `w`; returns the number of entries.
    pub fn top(&self, node: NodeId, minus: impl Fn(usize) -> u64, out: &mut Words) -> u64 {
        self.world.top(node, minus, out)
    }

    /// `node`'s digest: one bit per update in flight it holds.
    pub fn digest(&self, node: NodeId, out: &mut Words) {
        self.world.digest(node, out)
    }

    /// Entries of `node`'s table: the catalog if it holds the baseline, else what it has
    /// learnt since it lost its table.
    pub fn table_entries(&self, node: NodeId) -> u64 {
        self.world.table_entries(node)
    }

    pub fn has_baseline(&self, node: NodeId) -> bool {
        self.world.has_baseline(node)
    }

    pub fn catalog_len(&self) -> u64 {
        self.world.catalog_len()
    }

    /// The update in `slot`, or `u32::MAX` for a free slot.
    pub fn slot_update(&self, slot: usize) -> u32 {
        self.world.slot_update(slot)
    }

    /// Every slot in flight with its update, in slot order.
    pub fn active_updates(&self, out: &mut Vec<(u32, u32)>) {
        self.world.active_updates(out)
    }

    /// Word `w` of what `node` spreads: the updates its spreading state marks, at their newest
    /// version it holds (only with [`Protocol::spreading_state`]).
    pub fn spreading_word(&self, node: NodeId, w: usize) -> u64 {
        self.world.spreading_word(node, w)
    }

    /// Fills `out` with what `node` spreads (see [`Context::spreading_word`]); returns the
    /// number of entries.
    pub fn spreading(&self, node: NodeId, out: &mut Words) -> u64 {
        let words = self.words();
        out.clear();
        out.resize(words);
        let mut entries = 0;
        for w in 0..words {
            let bits = self.spreading_word(node, w);
            entries += u64::from(bits.count_ones());
            out.set(w, bits);
        }
        entries
    }

    /// Whether `node` spreads anything.
    pub fn spreads_any(&self, node: NodeId) -> bool {
        (0..self.words()).any(|w| self.spreading_word(node, w) != 0)
    }

    pub(crate) fn spreaders(&mut self) -> &mut super::spreaders::Spreaders {
        self.world
            .spreaders
            .as_mut()
            .expect("a protocol with spreading state")
    }

    pub(crate) fn spreaders_opt(&mut self) -> Option<&mut super::spreaders::Spreaders> {
        self.world.spreaders.as_mut()
    }

    /// The spreading state and the protocol's random stream, together.
    pub(crate) fn spreaders_and_rng(
        &mut self,
    ) -> (&mut super::spreaders::Spreaders, &mut ChaCha8Rng) {
        let spreaders = self
            .world
            .spreaders
            .as_mut()
            .expect("a protocol with spreading state");
        (spreaders, self.rng)
    }

    /// `node` stops spreading `slot` (only with [`Protocol::spreading_state`]).
    pub fn stop_spreading(&mut self, node: NodeId, slot: usize) {
        self.spreaders()
            .now
            .clear_bits(node, slot / 64, 1 << (slot % 64));
    }

    /// Messages on the wire now (`async` timing; 0 in `rounds` timing).
    pub fn in_flight(&self) -> u64 {
        match &self.mode {
            Mode::Rounds { .. } => 0,
            Mode::Async(parts) => parts.wire.in_flight,
        }
    }

    // ---- learning ------------------------------------------------------------------------

    /// `to` receives the updates of `payload` from `from`: fresh ones are learnt (with their
    /// hop count and delivery delay), known ones count as duplicates.
    pub fn deliver(&mut self, to: NodeId, from: NodeId, payload: &Words) {
        let at = self.now;
        self.world.deliver(to, from, payload, at)
    }

    /// Word `w` of a delivery (see [`Context::deliver`]).
    pub fn deliver_word(&mut self, to: NodeId, from: NodeId, w: usize, bits: u64) {
        let at = self.now;
        self.world.deliver_word(to, from, w, bits, at)
    }

    /// While set, no update retires (a protocol with sends still due).
    pub fn hold_retirement(&mut self, hold: bool) {
        self.world.hold_retirement = hold;
    }

    // ---- partners ------------------------------------------------------------------------

    /// Calls `f` with each of `fanout` distinct partners of `node` (from the peer-choice
    /// stream; fewer over an overlay with fewer neighbours).
    pub fn for_each_partner(&mut self, node: NodeId, mut f: impl FnMut(&mut Self, NodeId)) {
        let mut partners = std::mem::take(&mut self.outbox.partners);
        partners.clear();
        partners.extend_from_slice(self.peers.choose(node));
        for &partner in &partners {
            f(self, partner);
        }
        self.outbox.partners = partners;
    }

    /// One partner of `node`, or `None` when it has no (live) neighbour.
    pub fn one_partner(&mut self, node: NodeId) -> Option<NodeId> {
        self.peers.one(node)
    }

    /// Calls `f` with each neighbour of `node` in the overlay (every other node with full
    /// membership).
    pub fn for_each_neighbour(&mut self, node: NodeId, mut f: impl FnMut(&mut Self, NodeId)) {
        let mut partners = std::mem::take(&mut self.outbox.partners);
        partners.clear();
        match self.peers.neighbours(node) {
            Some(neighbours) => partners.extend_from_slice(neighbours),
            None => partners.extend((0..self.world.nodes).filter(|&to| to != node)),
        }
        for &partner in &partners {
            f(self, partner);
        }
        self.outbox.partners = partners;
    }

    pub(crate) fn hyparview(&mut self) -> Option<&mut HyParView> {
        self.peers.hyparview()
    }

    // ---- sending -------------------------------------------------------------------------

    /// A message of `kind` from `from` to `to` of `size`, empty: fill in what it carries
    /// (`payload`, `digest`, the baseline flags, `body`). It is transmitted when the handler
    /// returns or at the next [`Context::flush`].
    #[inline(always)]
    pub fn send(
        &mut self,
        kind: MessageKind,
        from: NodeId,
        to: NodeId,
        size: Size,
    ) -> &mut Message<B> {
        if self.world.budget.bounded() {
            self.charge(from, size);
        }
        let words = self.world.words();
        match &mut self.mode {
            Mode::Rounds { .. } => {
                let outbox = &mut *self.outbox;
                if outbox.len == outbox.messages.len() {
                    outbox.messages.push(Outgoing::default());
                }
                let out = &mut outbox.messages[outbox.len];
                outbox.len += 1;
                out.size = size;
                reset(&mut out.message, kind, from, to, words);
                &mut out.message
            }
            Mode::Async(parts) => {
                // Straight into its slot on the wire. Its sequence number is taken now, not at
                // transmission: no slot is born or retires within a handler, so masking on
                // delivery (which compares it with slots' birth) sees the same either way.
                let seq = parts.queue.next_seq();
                let epoch = self.world.slot_epoch();
                let i = parts.wire.open(kind, from, to, words, seq, epoch);
                self.outbox.pending.push((i, size));
                &mut parts.wire.messages[i as usize].message
            }
        }
    }

    /// Charges a message of `size` to `from`'s budget; counts it if it breaks a bound (a bug of
    /// the protocol that sent it: the engine never trims or drops a message to fit).
    #[cold]
    fn charge(&mut self, from: NodeId, size: Size) {
        let period = self.round();
        let bytes = self.bytes(size);
        let (oversize, over_budget) = self.world.budget.charge(from, period, bytes);
        debug_assert!(
            !oversize,
            "a message of {bytes} bytes over network.max_message_bytes"
        );
        self.world.metrics.over_bounds(oversize, over_budget);
    }

    // ---- bandwidth bounds ----------------------------------------------------------------

    /// Whether the scenario bounds messages or send budgets (`network.max_message_bytes`,
    /// `network.budget_bytes_per_period`): then a protocol must fit what it sends to
    /// [`Context::room`].
    pub fn bounded(&self) -> bool {
        self.world.budget.bounded()
    }

    /// The most bytes one message may have, header included (`network.max_message_bytes`).
    pub fn max_message_bytes(&self) -> Option<u64> {
        self.world.budget.max_message_bytes()
    }

    /// Bytes `node` may still send in the current period (`network.budget_bytes_per_period`
    /// less what it has sent since the period began), or `None` without a budget.
    pub fn budget_left(&self, node: NodeId) -> Option<u64> {
        self.world.budget.left(node, self.round())
    }

    /// Bytes of a message of `size` under the scenario's size model.
    pub fn bytes(&self, size: Size) -> u64 {
        self.world.budget.bytes(size.entries, size.digest_entries) + size.other_bytes
    }

    /// The most bytes `node`'s next message may have: the size limit or what is left of its
    /// budget, whichever is smaller (`u64::MAX` when unbounded).
    pub fn room(&self, node: NodeId) -> u64 {
        self.world.budget.room(node, self.round())
    }

    /// Whether a message of `size` from `node` fits [`Context::room`].
    pub fn fits(&self, node: NodeId, size: Size) -> bool {
        self.bytes(size) <= self.room(node)
    }

    /// How many more price entries fit in a message from `node` that already carries `carried`
    /// (`u64::MAX` when unbounded; 0 when even `carried` does not fit).
    pub fn entries_fit(&self, node: NodeId, carried: Size) -> u64 {
        self.fit(node, carried, self.world.budget.sizes().entry)
    }

    /// How many more digest entries fit in a message from `node` that already carries `carried`
    /// (see [`Context::entries_fit`]).
    pub fn digest_entries_fit(&self, node: NodeId, carried: Size) -> u64 {
        self.fit(node, carried, self.world.budget.sizes().digest_entry)
    }

    fn fit(&self, node: NodeId, carried: Size, each: u64) -> u64 {
        let room = self.room(node);
        if room == u64::MAX || each == 0 {
            return u64::MAX;
        }
        room.saturating_sub(self.bytes(carried)) / each
    }

    /// `entries` price entries a protocol left out of a message to fit the bounds: counted in
    /// `deferred_entries`. (Updates that no message ever carried are counted by the engine at the
    /// end of the trial, as `never_sent_entries`.)
    pub fn defer(&mut self, entries: u64) {
        self.world.metrics.deferred(entries);
    }

    /// Sets a timer at `node`: [`Protocol::on_timer`] gets `tag` after `after` (in `rounds`
    /// timing at the start of the first round at least `after` later).
    pub fn set_timer(&mut self, node: NodeId, after: Time, tag: u64) {
        match &mut self.mode {
            Mode::Rounds { timers } => {
                let rounds = after.0.div_ceil(self.period.0.max(1)).max(1);
                let order = timers.len() as u64;
                timers.push((self.round + rounds, order, node, tag));
            }
            Mode::Async(parts) => {
                let i = parts.wakeups.put(node, tag);
                parts.queue.push(self.now + after, Event::Wake(i));
            }
        }
    }

    /// Transmits what the current handler has sent so far. In `rounds` timing each message is
    /// delivered at once, and what its recipient sends in turn before the next one.
    #[inline(always)]
    pub fn flush<P: Protocol<Body = B>>(&mut self, protocol: &mut P) {
        if let Mode::Async(_) = self.mode {
            self.transmit_pending();
            return;
        }
        let start = self.frame;
        let mut i = start;
        while i < self.outbox.len {
            let out = std::mem::take(&mut self.outbox.messages[i]);
            self.deliver_now(protocol, &out);
            self.outbox.messages[i] = out;
            i += 1;
        }
        self.outbox.len = start;
    }

    /// `rounds` timing: counts `out`, and delivers it unless the transport loses it.
    fn deliver_now<P: Protocol<Body = B>>(&mut self, protocol: &mut P, out: &Outgoing<B>) {
        let m = &out.message;
        self.world.metrics.send_sized(m.kind, out.size);
        self.world.count_carried(&m.payload);
        if self.world.arrives(m.to, self.transport.lost()) {
            if m.carries_baseline {
                self.world.grant_baseline(m.to);
            }
            // What the recipient sends is its own frame, transmitted before ours goes on.
            let frame = std::mem::replace(&mut self.frame, self.outbox.len);
            protocol.on_message(m, self);
            self.flush(protocol);
            self.frame = frame;
        }
    }

    /// `async` timing: counts each message sent since the last flush and puts it on the wire
    /// with a latency, unless the transport loses it.
    #[inline(always)]
    fn transmit_pending(&mut self) {
        let Mode::Async(parts) = &mut self.mode else {
            unreachable!("async timing")
        };
        for &(i, size) in &self.outbox.pending {
            let m = &parts.wire.messages[i as usize].message;
            self.world.metrics.send_sized(m.kind, size);
            self.world.count_carried(&m.payload);
            if self.transport.lost() {
                self.world.metrics.lost();
                parts.wire.release(i, false);
            } else {
                let (from, to) = (m.from, m.to);
                parts.wire.carrying += u64::from(carries(&m.payload));
                let latency = self.transport.latency_between(from, to);
                parts.queue.push(self.now + latency, Event::Deliver(i));
            }
        }
        self.outbox.pending.clear();
    }

    /// In `async` timing: message `i` of the wire arrives now.
    #[inline(always)]
    pub(crate) fn arrive<P: Protocol<Body = B>>(&mut self, protocol: &mut P, i: u32) {
        let Mode::Async(parts) = &mut self.mode else {
            unreachable!("deliveries are events of async timing")
        };
        let slot = &mut parts.wire.messages[i as usize];
        let (sent_seq, sent_epoch) = (slot.sent_seq, slot.sent_epoch);
        let mut message = std::mem::take(&mut self.outbox.arriving);
        std::mem::swap(&mut slot.message, &mut message);
        let carried = carries(&message.payload);
        if self.world.arrives(message.to, false) {
            self.world
                .mask_stale(&mut message.payload, sent_seq, sent_epoch);
            self.world
                .mask_stale(&mut message.digest, sent_seq, sent_epoch);
            if message.carries_baseline {
                self.world.grant_baseline(message.to);
            }
            protocol.on_message(&message, self);
            self.flush(protocol);
        }
        let Mode::Async(parts) = &mut self.mode else {
            unreachable!()
        };
        std::mem::swap(&mut parts.wire.messages[i as usize].message, &mut message);
        self.outbox.arriving = message;
        parts.wire.release(i, carried);
    }
}
