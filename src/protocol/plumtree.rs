//! Plumtree (Leitão, Pereira, Rodrigues: "Epidemic Broadcast Trees", SRDS 2007) over the
//! HyParView active views.
//!
//! Each link of a node is *eager* or *lazy* (the mark lives with the link in
//! HyParView; a new link starts eager, a removed one is forgotten: the paper's NeighborUp and
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
//!   a node learns it forwards in the next round (the staging of `rounds` timing).
//!   Within a round: timers first (in expiry order), then pushes in the order the nodes learnt.
//! - Sending to a crashed neighbour fails at once (TCP): no message is counted, HyParView
//!   replaces the link, and the replacement (eager) is sent to as well.
//!
//! In `async` timing a node forwards on first receipt (as flooding does), an IHAVE timer is an
//! engine timer of `ihave_timeout` periods, and no update retires while messages are in
//! flight, so that late redundant copies still count.
//!
//! GOSSIP messages, including answers to GRAFT, carry the update (`update_messages`);
//! IHAVE, GRAFT and PRUNE are control messages. The paper's
//! relative message redundancy RMR = m / (n - 1) - 1 follows from `update_messages`.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::engine::Setup;
use crate::scenario::{Overlay, Scenario};
use crate::time::Time;

use super::kind::{ConfigError, Estimate, Kind, n_and_fanout};
use super::{Context, Message, MessageKind, NodeId, Protocol, Size, Status};

/// The keys of `protocol.kind = "plumtree"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlumtreeConfig {
    /// Rounds a node waits after an IHAVE for a missing update before it sends GRAFT (and
    /// between two GRAFTs for the same update); default 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ihave_timeout: Option<i64>,
}

impl Kind for Plumtree {
    type Config = PlumtreeConfig;
    type Protocol = Plumtree;

    fn resolve(config: PlumtreeConfig, scenario: &Scenario) -> Result<PlumtreeConfig, ConfigError> {
        if !matches!(scenario.overlay, Overlay::HyParView(_)) {
            return Err(ConfigError::new(
                "kind",
                "plumtree",
                format!(
                    "needs overlay.kind = \"hyparview\" (Plumtree marks HyParView's links eager \
                     or lazy), not {}",
                    crate::scenario::toml_string(scenario.overlay.as_str())
                ),
            ));
        }
        let timeout = config.ihave_timeout.unwrap_or(1);
        if !(1..=1_000_000).contains(&timeout) {
            return Err(ConfigError::new(
                "ihave_timeout",
                timeout,
                "must be between 1 and 1000000",
            ));
        }
        Ok(PlumtreeConfig {
            ihave_timeout: Some(timeout),
        })
    }

    fn new(config: &PlumtreeConfig, setup: &Setup) -> Plumtree {
        let timeout = config.ihave_timeout.unwrap_or(1) as u32;
        Plumtree::new(timeout, setup.nodes(), setup.updates)
    }

    /// Along the tree: about the overlay's diameter. Its state: the announcements a node keeps
    /// of updates it misses, and a flag per update.
    fn estimate(_: &PlumtreeConfig, scenario: &Scenario) -> Estimate {
        let (n, _) = n_and_fanout(scenario);
        Estimate {
            bytes_per_node: (8 * ANNOUNCEMENTS + 1) as u64,
            bytes_per_update: 1,
            ..Estimate::rounds(n.log2() + 2.0)
        }
    }
}

const NONE: u32 = u32::MAX;

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

/// What a Plumtree message is about: one update, in its slot.
#[derive(Clone, Copy, Debug, Default)]
pub struct About {
    slot: u32,
    update: u32,
}

pub struct Plumtree {
    ihave_timeout: u64,
    /// Rounds timing: pushes due this round and next, and IHAVE timers in expiry order.
    pushes: Vec<Push>,
    next: Vec<Push>,
    timers: VecDeque<Timer>,
    /// Async timing: IHAVE timers armed with the engine.
    armed: u64,
    /// Per node, `ANNOUNCEMENTS` slots of announcements of updates it misses, arrival order.
    announced: Vec<Announcement>,
    announced_len: Vec<u8>,
    /// Updates whose origin has been given its first push.
    started: Vec<bool>,
    scratch: Vec<(u32, u32)>,
}

type Cx<'c, 'a> = &'c mut Context<'a, About>;

impl Plumtree {
    pub fn new(ihave_timeout: u32, nodes: u32, updates: usize) -> Plumtree {
        Plumtree {
            ihave_timeout: u64::from(ihave_timeout),
            pushes: Vec::new(),
            next: Vec::new(),
            timers: VecDeque::new(),
            armed: 0,
            announced: vec![Announcement::default(); nodes as usize * ANNOUNCEMENTS],
            announced_len: vec![0; nodes as usize],
            started: vec![false; updates],
            scratch: Vec::new(),
        }
    }

    /// Whether anything is left to do: pushes due next round or timers running.
    fn busy(&self) -> bool {
        !self.pushes.is_empty() || !self.timers.is_empty() || self.armed > 0
    }

    /// `push.node` sends the update to every eager neighbour but the sender, IHAVE to the lazy.
    fn push(&mut self, cx: Cx, push: Push) {
        let Push {
            node,
            slot,
            update,
            sender,
        } = push;
        if !cx.is_up(node) || cx.slot_update(slot as usize) != update {
            return;
        }
        let about = About { slot, update };
        let mut i = 0;
        while i < overlay(cx).active(node).len() {
            let peer = overlay(cx).active(node)[i];
            if !cx.is_up(peer) {
                // The link is removed (the next one moves to `i`); a replacement is appended.
                overlay(cx).neighbour_down(node, peer);
                continue;
            }
            i += 1;
            if peer == sender {
                continue;
            }
            if overlay(cx).lazy(node)[i - 1] {
                cx.send(MessageKind::IHave, node, peer, Size::digest(1))
                    .body = about;
                cx.flush(self);
            } else {
                self.gossip(cx, node, peer, about);
            }
        }
    }

    /// `from` sends the update to `to`.
    fn gossip(&mut self, cx: Cx, from: NodeId, to: NodeId, about: About) {
        let slot = about.slot as usize;
        let out = cx.send(MessageKind::Gossip, from, to, Size::entries(1));
        out.payload.set(slot / 64, 1 << (slot % 64));
        out.body = about;
        cx.flush(self);
    }

    fn receive_gossip(&mut self, cx: Cx, m: &Message<About>) {
        let (to, from, about) = (m.to, m.from, m.body);
        let slot = about.slot as usize;
        if cx.slot_update(slot) != about.update {
            return; // retired while in flight (async timing)
        }
        let (w, bit) = (slot / 64, 1u64 << (slot % 64));
        if cx.holds_now(to, slot) {
            cx.deliver_word(to, from, w, bit); // a duplicate
            overlay(cx).set_lazy(to, from, true);
            cx.send(MessageKind::Prune, to, from, Size::HEADER).body = about;
            cx.flush(self);
        } else {
            cx.deliver_word(to, from, w, bit);
            overlay(cx).set_lazy(to, from, false);
            let push = Push {
                node: to,
                slot: about.slot,
                update: about.update,
                sender: from,
            };
            if cx.rounds_timing() {
                self.next.push(push);
            } else {
                self.push(cx, push);
            }
        }
    }

    fn receive_ihave(&mut self, cx: Cx, node: NodeId, from: NodeId, about: About) {
        let About { slot, update } = about;
        if cx.slot_update(slot as usize) != update || cx.holds_now(node, slot as usize) {
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
            self.arm(
                cx,
                Timer {
                    due: cx.round() + self.ihave_timeout,
                    node,
                    slot,
                    update,
                },
            );
        }
    }

    /// Starts an IHAVE timer: `ihave_timeout` rounds (periods) from now.
    fn arm(&mut self, cx: Cx, timer: Timer) {
        if cx.rounds_timing() {
            self.timers.push_back(timer);
        } else {
            self.armed += 1;
            let after = Time(cx.period().0 * self.ihave_timeout);
            let tag = u64::from(timer.slot) << 32 | u64::from(timer.update);
            cx.set_timer(timer.node, after, tag);
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
    fn expire(&mut self, cx: Cx, timer: Timer) {
        let Timer {
            node, slot, update, ..
        } = timer;
        let missing = cx.is_up(node)
            && cx.slot_update(slot as usize) == update
            && !cx.holds_now(node, slot as usize);
        if !missing {
            while self.take_announcer(node, update).is_some() {}
            return;
        }
        while let Some(announcer) = self.take_announcer(node, update) {
            if !cx.is_up(announcer) {
                // The connection fails: the next announcer is tried at once.
                if overlay(cx).active(node).contains(&announcer) {
                    overlay(cx).neighbour_down(node, announcer);
                }
                continue;
            }
            overlay(cx).set_lazy(node, announcer, false);
            cx.send(MessageKind::Graft, node, announcer, Size::digest(1))
                .body = About { slot, update };
            cx.flush(self);
            break;
        }
        if self.announcements(node).iter().any(|a| a.update == update) {
            let due = cx.round() + self.ihave_timeout;
            self.arm(cx, Timer { due, ..timer });
        }
    }
}

fn overlay<'c>(cx: &'c mut Context<'_, About>) -> &'c mut crate::engine::HyParView {
    cx.hyparview()
        .expect("validation: plumtree runs over hyparview")
}

impl Protocol for Plumtree {
    type Body = About;

    fn on_tick(&mut self, _node: NodeId, _cx: Cx) {
        // Plumtree has no periodic gossip of its own: it pushes what nodes learn.
    }

    fn has_timers(&self) -> bool {
        false
    }

    fn on_message(&mut self, m: &Message<About>, cx: Cx) {
        match m.kind {
            MessageKind::Gossip => self.receive_gossip(cx, m),
            MessageKind::IHave => self.receive_ihave(cx, m.to, m.from, m.body),
            MessageKind::Prune => overlay(cx).set_lazy(m.to, m.from, true),
            MessageKind::Graft => {
                overlay(cx).set_lazy(m.to, m.from, false);
                if cx.holds(m.to, m.body.slot as usize)
                    && cx.slot_update(m.body.slot as usize) == m.body.update
                {
                    self.gossip(cx, m.to, m.from, m.body);
                }
            }
            _ => unreachable!("plumtree sends GOSSIP, IHAVE, PRUNE and GRAFT only"),
        }
    }

    /// The origin pushes at once in async timing (in rounds timing, at its round's start).
    fn on_inject(&mut self, origin: NodeId, slot: usize, cx: Cx) {
        if cx.rounds_timing() {
            return;
        }
        let update = cx.slot_update(slot);
        self.started[update as usize] = true;
        self.push(
            cx,
            Push {
                node: origin,
                slot: slot as u32,
                update,
                sender: NONE,
            },
        );
    }

    fn on_timer(&mut self, node: NodeId, tag: u64, cx: Cx) {
        self.armed -= 1;
        let timer = Timer {
            due: cx.round(),
            node,
            slot: (tag >> 32) as u32,
            update: tag as u32,
        };
        self.expire(cx, timer);
    }

    /// Injections, expired timers, then this round's pushes.
    fn round(&mut self, cx: Cx) {
        let round = cx.round();
        // Updates injected at the start of this round: their origins push now.
        let mut fresh = std::mem::take(&mut self.scratch);
        cx.active_updates(&mut fresh);
        for &(slot, update) in &fresh {
            if !std::mem::replace(&mut self.started[update as usize], true) {
                let origin = cx.updates()[update as usize].origin;
                if cx.is_up(origin) && cx.holds(origin, slot as usize) {
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
            self.expire(cx, timer);
        }
        let pushes = std::mem::take(&mut self.pushes);
        for &push in &pushes {
            self.push(cx, push);
        }
        self.pushes = pushes;
        self.pushes.clear();
    }

    /// What was learnt is pushed next round; nothing retires meanwhile (in async timing:
    /// while messages are in flight).
    fn end_round(&mut self, cx: Cx) {
        if cx.rounds_timing() {
            std::mem::swap(&mut self.pushes, &mut self.next);
            cx.hold_retirement(!self.pushes.is_empty());
        } else {
            let in_flight = cx.in_flight() > 0;
            cx.hold_retirement(in_flight);
        }
    }

    fn settled(&self, status: &Status) -> bool {
        !self.busy() && status.in_flight() == 0
    }
}
