//! Plumtree (Leitão, Pereira, Rodrigues: "Epidemic Broadcast Trees", SRDS 2007) over the
//! HyParView active views, in lock-step rounds.
//!
//! Each link of a node is *eager* or *lazy* (the mark lives with the link in
//! [`HyParView`]; a new link starts eager, a removed one is forgotten: the paper's NeighborUp and
//! NeighborDown). Per update:
//! - A node that first receives an update (GOSSIP) in round `r` (the origin: in its injection
//!   round) sends it in round `r + 1` to every eager neighbour but the sender and an IHAVE to
//!   every lazy one. The sender's link becomes eager.
//! - A GOSSIP for an update the node already holds (received earlier, or earlier in the same
//!   round) makes the link lazy and is answered with PRUNE, which makes the link lazy at the
//!   sender at once.
//! - An IHAVE for a missing update records the announcer; the first one starts a timer. If the
//!   update has not arrived when it expires, at the start of round `r + ihave_timeout`, the node
//!   sends GRAFT to the first announcer (the link becomes eager at both ends) which answers with
//!   GOSSIP within the round; if more announcers are left, a second timer starts.
//! - Messages arrive in the round they are sent; their effects on links are immediate, and what
//!   a node learns it forwards in the next round (the staging of [`super::lockstep`]).
//!   Within a round: timers first (in expiry order), then pushes in the order the nodes learnt.
//! - Sending to a crashed neighbour fails at once (TCP): no message is counted, HyParView
//!   replaces the link, and the replacement (eager) is sent to as well.
//!
//! GOSSIP messages, including answers to GRAFT, carry the update (`update_messages`);
//! IHAVE, GRAFT and PRUNE are control messages. The paper's
//! relative message redundancy RMR = m / (n - 1) - 1 follows from `update_messages`.

use std::collections::VecDeque;

use crate::report::MessageKind;
use crate::scenario::NodeId;
use crate::time::Time;

use super::hyparview::HyParView;
use super::network::Transport;
use super::peers::PeerSampler;
use super::world::{NONE, World};

/// Announcements a node keeps per update it misses; more are dropped (a node has at most
/// `active_size` neighbours to announce each update).
const ANNOUNCEMENTS: usize = 64;

#[derive(Clone, Copy)]
struct Push {
    node: NodeId,
    slot: u32,
    update: u32,
    /// Whom it came from (not sent back), or NONE at the origin.
    sender: NodeId,
}

#[derive(Clone, Copy)]
struct Timer {
    due: u64,
    node: NodeId,
    slot: u32,
    update: u32,
}

#[derive(Clone, Copy, Default)]
struct Announcement {
    update: u32,
    announcer: NodeId,
}

pub struct Plumtree {
    ihave_timeout: u64,
    pushes: Vec<Push>,
    next: Vec<Push>,
    timers: VecDeque<Timer>,
    /// Per node, `ANNOUNCEMENTS` slots of announcements of updates it misses, arrival order.
    announced: Vec<Announcement>,
    announced_len: Vec<u8>,
    /// Updates whose origin has been given its first push.
    started: Vec<bool>,
    scratch: Vec<(u32, u32)>,
}

/// What a handler needs besides the protocol state.
struct Ctx<'a> {
    world: &'a mut World,
    overlay: &'a mut HyParView,
    transport: &'a mut Transport,
    round: u64,
    at: Time,
}

impl Plumtree {
    pub fn new(ihave_timeout: u32, nodes: u32, updates: usize) -> Plumtree {
        Plumtree {
            ihave_timeout: u64::from(ihave_timeout),
            pushes: Vec::new(),
            next: Vec::new(),
            timers: VecDeque::new(),
            announced: vec![Announcement::default(); nodes as usize * ANNOUNCEMENTS],
            announced_len: vec![0; nodes as usize],
            started: vec![false; updates],
            scratch: Vec::new(),
        }
    }

    /// Whether anything is left to do: pushes due next round or timers running.
    pub fn busy(&self) -> bool {
        !self.pushes.is_empty() || !self.timers.is_empty()
    }

    /// Round `round` (ending at `at`): injections, expired timers, then this round's pushes.
    pub fn round(
        &mut self,
        world: &mut World,
        peers: &mut PeerSampler,
        transport: &mut Transport,
        round: u64,
        at: Time,
    ) {
        let overlay = peers
            .hyparview()
            .expect("validation: plumtree runs over hyparview");
        let mut cx = Ctx {
            world,
            overlay,
            transport,
            round,
            at,
        };
        // Updates injected at the start of this round: their origins push now.
        let mut fresh = std::mem::take(&mut self.scratch);
        cx.world.active_updates(&mut fresh);
        for &(slot, update) in &fresh {
            if !std::mem::replace(&mut self.started[update as usize], true) {
                let origin = cx.world.updates[update as usize].origin;
                if cx.world.is_up(origin) && cx.world.held(origin, slot as usize) {
                    self.pushes.push(Push {
                        node: origin,
                        slot,
                        update,
                        sender: NONE,
                    });
                }
            }
        }
        self.scratch = fresh;
        while let Some(&timer) = self.timers.front() {
            if timer.due > round {
                break;
            }
            self.timers.pop_front();
            self.expire(&mut cx, timer);
        }
        let pushes = std::mem::take(&mut self.pushes);
        for &push in &pushes {
            self.push(&mut cx, push);
        }
        self.pushes = pushes;
        self.pushes.clear();
    }

    /// End of round: what was learnt is pushed next round; nothing retires meanwhile.
    pub fn end_round(&mut self, world: &mut World) {
        std::mem::swap(&mut self.pushes, &mut self.next);
        world.hold_retirement = !self.pushes.is_empty();
    }

    /// `push.node` sends the update to every eager neighbour but the sender, IHAVE to the lazy.
    fn push(&mut self, cx: &mut Ctx, push: Push) {
        let Push {
            node,
            slot,
            update,
            sender,
        } = push;
        if !cx.world.is_up(node) || cx.world.slot_update(slot as usize) != update {
            return;
        }
        let mut i = 0;
        while i < cx.overlay.active(node).len() {
            let peer = cx.overlay.active(node)[i];
            if !cx.world.is_up(peer) {
                // The link is removed (the next one moves to `i`); a replacement is appended.
                cx.overlay.neighbour_down(node, peer);
                continue;
            }
            i += 1;
            if peer == sender {
                continue;
            }
            if cx.overlay.lazy(node)[i - 1] {
                cx.world.send(MessageKind::IHave, 0, 1);
                if cx.world.arrives(peer, cx.transport.lost()) {
                    self.receive_ihave(cx, peer, node, slot, update);
                }
            } else {
                self.gossip(cx, node, peer, slot);
            }
        }
    }

    /// `from` sends the update in `slot` to `to`.
    fn gossip(&mut self, cx: &mut Ctx, from: NodeId, to: NodeId, slot: u32) {
        let (w, bit) = (slot as usize / 64, 1u64 << (slot % 64));
        cx.world.send(MessageKind::Gossip, 1, 0);
        cx.world.count_carried_word(w, bit);
        if !cx.world.arrives(to, cx.transport.lost()) {
            return;
        }
        if cx.world.holds_now(to, slot as usize) {
            cx.world.deliver_word(to, from, w, bit, cx.at); // a duplicate
            cx.overlay.set_lazy(to, from, true);
            cx.world.send(MessageKind::Prune, 0, 0);
            if cx.world.arrives(from, cx.transport.lost()) {
                cx.overlay.set_lazy(from, to, true);
            }
        } else {
            cx.world.deliver_word(to, from, w, bit, cx.at);
            cx.overlay.set_lazy(to, from, false);
            self.next.push(Push {
                node: to,
                slot,
                update: cx.world.slot_update(slot as usize),
                sender: from,
            });
        }
    }

    fn receive_ihave(&mut self, cx: &mut Ctx, node: NodeId, from: NodeId, slot: u32, update: u32) {
        if cx.world.holds_now(node, slot as usize) {
            return;
        }
        let first = !self.announcements(node).iter().any(|a| a.update == update);
        let len = self.announced_len[node as usize] as usize;
        if len < ANNOUNCEMENTS {
            self.announced[node as usize * ANNOUNCEMENTS + len] = Announcement {
                update,
                announcer: from,
            };
            self.announced_len[node as usize] += 1;
        }
        if first {
            self.timers.push_back(Timer {
                due: cx.round + self.ihave_timeout,
                node,
                slot,
                update,
            });
        }
    }

    fn announcements(&self, node: NodeId) -> &[Announcement] {
        let start = node as usize * ANNOUNCEMENTS;
        &self.announced[start..start + self.announced_len[node as usize] as usize]
    }

    /// Removes and returns the first announcer of `update` to `node`.
    fn take_announcer(&mut self, node: NodeId, update: u32) -> Option<NodeId> {
        let i = self
            .announcements(node)
            .iter()
            .position(|a| a.update == update)?;
        let announcer = self.announcements(node)[i].announcer;
        let start = node as usize * ANNOUNCEMENTS;
        let len = self.announced_len[node as usize] as usize;
        self.announced
            .copy_within(start + i + 1..start + len, start + i);
        self.announced_len[node as usize] -= 1;
        Some(announcer)
    }

    /// An IHAVE timer expired: GRAFT the first announcer unless the update arrived meanwhile.
    fn expire(&mut self, cx: &mut Ctx, timer: Timer) {
        let Timer {
            node, slot, update, ..
        } = timer;
        let missing = cx.world.is_up(node)
            && cx.world.slot_update(slot as usize) == update
            && !cx.world.holds_now(node, slot as usize);
        if !missing {
            while self.take_announcer(node, update).is_some() {}
            return;
        }
        while let Some(announcer) = self.take_announcer(node, update) {
            if !cx.world.is_up(announcer) {
                // The connection fails: the next announcer is tried at once.
                if cx.overlay.active(node).contains(&announcer) {
                    cx.overlay.neighbour_down(node, announcer);
                }
                continue;
            }
            cx.overlay.set_lazy(node, announcer, false);
            cx.world.send(MessageKind::Graft, 0, 1);
            if cx.world.arrives(announcer, cx.transport.lost()) {
                cx.overlay.set_lazy(announcer, node, false);
                if cx.world.held(announcer, slot as usize) {
                    self.gossip(cx, announcer, node, slot);
                }
            }
            break;
        }
        if self.announcements(node).iter().any(|a| a.update == update) {
            self.timers.push_back(Timer {
                due: cx.round + self.ihave_timeout,
                ..timer
            });
        }
    }
}
