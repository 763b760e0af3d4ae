//! Partner choice: `fanout` distinct partners per contact, from one of four memberships.
//!
//! - Full membership (the default, the model of the analytic literature): uniform over the other
//!   `n - 1` nodes, never the node itself.
//! - A static overlay graph (`k-regular`, `k-out`, `erdos-renyi`): uniform over the node's
//!   neighbours (out-neighbours for `k-out`); a node with fewer than `fanout` neighbours
//!   contacts all of them, one with none contacts nobody.
//! - A HyParView overlay: uniform over the node's active view (fewer when the view is smaller
//!   than `fanout`); a crashed neighbour drawn is detected and replaced (see `hyparview`).
//! - Region-aware full membership (`protocol.local_bias = b`): each partner is, with
//!   probability b, uniform over the other nodes of the node's own region, else uniform over all
//!   other nodes. A region of one node, or one whose other nodes are all chosen already, draws
//!   the partner from all other nodes.
//!
//! Every membership draws from the peer-choice stream; full membership draws exactly as it
//! always has. Batched contacts of full membership with one partner ([`PeerSampler::draw_all`],
//! [`PeerSampler::draw_for`]) read that stream a block of words at a time and hand back the
//! words they did not use, so they consume the very values one-at-a-time draws would.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::NodeId;

use super::hyparview::HyParView;
use super::overlay::Graph;

enum Membership {
    Full,
    Graph(Graph),
    HyParView(Box<HyParView>),
    Regional {
        /// First node id of each region, then `nodes`.
        starts: Vec<NodeId>,
        local_bias: f64,
    },
}

/// Words of the peer-choice stream drawn ahead for batched draws: a power of two, so that the
/// ring's indices wrap with a mask (no bounds check in the draw loop).
const AHEAD: usize = 256;

/// At most this many partners per batched draw: each takes one word of the stream, or two
/// (see [`uniform_other_from`]), and every one of them must be in the ring already.
pub const MOST_DRAWN: usize = AHEAD / 2;

/// Words of the peer-choice stream drawn ahead, in stream order: those at positions
/// `used..filled` (modulo [`AHEAD`]) are drawn from the stream but not consumed yet.
struct Ahead {
    words: Box<[u32; AHEAD]>,
    used: usize,
    filled: usize,
}

pub struct PeerSampler {
    nodes: u32,
    fanout: usize,
    rng: ChaCha8Rng,
    chosen: Vec<NodeId>,
    membership: Membership,
    ahead: Ahead,
}

impl PeerSampler {
    /// Full membership.
    pub fn new(nodes: u32, fanout: u32, rng: ChaCha8Rng) -> PeerSampler {
        PeerSampler {
            nodes,
            fanout: fanout as usize,
            rng,
            chosen: Vec::with_capacity(fanout as usize),
            membership: Membership::Full,
            ahead: Ahead {
                words: Box::new([0; AHEAD]),
                used: 0,
                filled: 0,
            },
        }
    }

    /// Partners come from `graph`'s neighbour lists.
    pub fn with_graph(mut self, graph: Graph) -> PeerSampler {
        debug_assert_eq!(graph.nodes(), self.nodes);
        self.membership = Membership::Graph(graph);
        self
    }

    /// Partners come from `overlay`'s active views (built already).
    pub fn with_hyparview(mut self, overlay: HyParView) -> PeerSampler {
        self.membership = Membership::HyParView(Box::new(overlay));
        self
    }

    /// Full membership with a bias toward the node's own region; `starts` is the first node of
    /// each region followed by `nodes`. A bias of 0 is plain full membership (no coin drawn).
    pub fn with_local_bias(mut self, starts: Vec<NodeId>, local_bias: f64) -> PeerSampler {
        if local_bias > 0.0 {
            debug_assert_eq!(starts.last().copied(), Some(self.nodes));
            self.membership = Membership::Regional { starts, local_bias };
        }
        self
    }

    /// Partners per contact.
    pub fn fanout(&self) -> usize {
        self.fanout
    }

    /// Whether partners are one uniform draw over all other nodes (full membership, fanout 1):
    /// [`PeerSampler::draw_all`] and [`PeerSampler::draw_for`] then draw them as
    /// [`PeerSampler::choose`] does.
    pub fn full_single(&self) -> bool {
        self.fanout == 1 && matches!(self.membership, Membership::Full)
    }

    /// The partners of nodes `first, first + 1, ...` under [`PeerSampler::full_single`], one
    /// per slot of `partners` (at most [`MOST_DRAWN`]): the draws `choose` makes, in order.
    #[inline]
    pub fn draw_all(&mut self, first: NodeId, partners: &mut [NodeId]) {
        self.draw_each(first.., partners);
    }

    /// The partners of `nodes` (at most [`MOST_DRAWN`]) under [`PeerSampler::full_single`], in
    /// order, into `partners` (as long): the draws `choose` makes.
    #[inline]
    pub fn draw_for(&mut self, nodes: &[NodeId], partners: &mut [NodeId]) {
        debug_assert_eq!(nodes.len(), partners.len());
        self.draw_each(nodes.iter().copied(), partners);
    }

    /// One partner of each of `nodes` into `partners`, from the words drawn ahead.
    #[inline(always)]
    fn draw_each(&mut self, nodes: impl Iterator<Item = NodeId>, partners: &mut [NodeId]) {
        debug_assert!(self.full_single());
        let range = self.nodes - 1;
        let (words, mut used) = self.ahead_for(partners.len());
        for (node, partner) in nodes.zip(partners.iter_mut()) {
            *partner = uniform_other_from(words, &mut used, range, node);
        }
        self.ahead.used = used;
    }

    /// The ring of words drawn ahead, holding enough for `draws` draws of two words each,
    /// and the position of its first word not consumed.
    #[inline(always)]
    fn ahead_for(&mut self, draws: usize) -> (&[u32; AHEAD], usize) {
        assert!(draws <= MOST_DRAWN, "{draws} draws at once");
        let ahead = &mut self.ahead;
        let left = ahead.filled - ahead.used;
        if left < 2 * draws {
            // The free part of the ring, in stream order: from `filled` on, wrapping at the
            // end of the array.
            let start = ahead.filled % AHEAD;
            let free = AHEAD - left;
            let to_end = free.min(AHEAD - start);
            self.rng.fill(&mut ahead.words[start..start + to_end]);
            self.rng.fill(&mut ahead.words[..free - to_end]);
            ahead.filled = ahead.used + AHEAD;
        }
        (&ahead.words, ahead.used)
    }

    /// Gives the words drawn ahead and not consumed back to the stream, whose next draw then
    /// reads the first of them: after this the stream is where one-at-a-time draws would
    /// have left it. Every draw but the batched ones starts with it.
    #[inline(always)]
    pub fn hand_back(&mut self) {
        let ahead = &mut self.ahead;
        if ahead.filled != ahead.used {
            self.give_back();
        }
    }

    #[cold]
    #[inline(never)]
    fn give_back(&mut self) {
        let ahead = &mut self.ahead;
        let left = (ahead.filled - ahead.used) as u128;
        self.rng.set_word_pos(self.rng.get_word_pos() - left);
        ahead.used = 0;
        ahead.filled = 0;
    }

    /// Whether partners come from a HyParView overlay, whose choice repairs the overlay as it
    /// goes (so partners cannot be drawn ahead of the contacts).
    pub fn is_hyparview(&self) -> bool {
        matches!(self.membership, Membership::HyParView(_))
    }

    /// `node`'s neighbours in the overlay: a static graph's list, or HyParView's active view
    /// as it is now; `None` for full membership (everyone is a neighbour).
    #[inline]
    pub fn neighbours(&self, node: NodeId) -> Option<&[NodeId]> {
        match &self.membership {
            Membership::Graph(graph) => Some(graph.neighbours(node)),
            Membership::HyParView(overlay) => Some(overlay.active(node)),
            Membership::Full | Membership::Regional { .. } => None,
        }
    }

    /// The HyParView overlay, if partners come from one: the engine reports crashes and
    /// recoveries to it and runs its maintenance; Plumtree marks its links.
    pub fn hyparview(&mut self) -> Option<&mut HyParView> {
        match &mut self.membership {
            Membership::HyParView(overlay) => Some(overlay),
            Membership::Full | Membership::Graph(_) | Membership::Regional { .. } => None,
        }
    }

    /// One partner of `node`; `None` when it has no (live, for HyParView) neighbour.
    #[inline(always)]
    pub fn one(&mut self, node: NodeId) -> Option<NodeId> {
        self.hand_back();
        match &mut self.membership {
            Membership::Full => Some(uniform_other(&mut self.rng, self.nodes, node)),
            Membership::Graph(graph) => {
                let neighbours = graph.neighbours(node);
                match neighbours.len() {
                    0 => None,
                    len => Some(neighbours[self.rng.random_range(0..len)]),
                }
            }
            Membership::HyParView(overlay) => {
                overlay.choose(node, 1, &mut self.rng, &mut self.chosen);
                self.chosen.first().copied()
            }
            Membership::Regional { starts, local_bias } => Some(regional(
                &mut self.rng,
                self.nodes,
                starts,
                *local_bias,
                node,
                true,
            )),
        }
    }

    /// `fanout` distinct partners of `node` (fewer if it has fewer neighbours). Validation
    /// guarantees `fanout < nodes`.
    #[inline]
    pub fn choose(&mut self, node: NodeId) -> &[NodeId] {
        self.hand_back();
        self.chosen.clear();
        match &mut self.membership {
            Membership::Full => {
                if self.fanout == 1 {
                    let p = uniform_other(&mut self.rng, self.nodes, node);
                    self.chosen.push(p);
                    return &self.chosen;
                }
                while self.chosen.len() < self.fanout {
                    let p = uniform_other(&mut self.rng, self.nodes, node);
                    if !self.chosen.contains(&p) {
                        self.chosen.push(p);
                    }
                }
            }
            Membership::Graph(graph) => {
                let neighbours = graph.neighbours(node);
                if neighbours.len() <= self.fanout {
                    self.chosen.extend_from_slice(neighbours);
                    return &self.chosen;
                }
                // Neighbours are distinct, so distinct indices give distinct partners.
                while self.chosen.len() < self.fanout {
                    let p = neighbours[self.rng.random_range(0..neighbours.len())];
                    if !self.chosen.contains(&p) {
                        self.chosen.push(p);
                    }
                }
            }
            Membership::HyParView(overlay) => {
                overlay.choose(node, self.fanout, &mut self.rng, &mut self.chosen);
            }
            Membership::Regional { starts, local_bias } => {
                let region = region_of(starts, node);
                let (lo, hi) = (starts[region], starts[region + 1]);
                let mut local = 0;
                while self.chosen.len() < self.fanout {
                    // Once every other node of the region is chosen, the region has no one left
                    // to offer: draw from everyone, or a bias of 1 would never finish.
                    let room = local + 1 < hi - lo;
                    let p = regional(&mut self.rng, self.nodes, starts, *local_bias, node, room);
                    if !self.chosen.contains(&p) {
                        local += u32::from((lo..hi).contains(&p));
                        self.chosen.push(p);
                    }
                }
            }
        }
        &self.chosen
    }
}

/// Uniform over the nodes other than `node`.
#[inline(always)]
fn uniform_other(rng: &mut ChaCha8Rng, nodes: u32, node: NodeId) -> NodeId {
    let r = rng.random_range(0..nodes - 1);
    if r >= node { r + 1 } else { r }
}

/// [`uniform_other`] from words drawn ahead: `rng.random_range(0..range)` (rand's
/// widening multiply, with a second word for the rare sample that may be biased) reading the
/// words of `words` from position `used` on (modulo its length), then past `node`.
#[inline(always)]
fn uniform_other_from(words: &[u32; AHEAD], used: &mut usize, range: u32, node: NodeId) -> NodeId {
    let wide = u64::from(words[*used % AHEAD]) * u64::from(range);
    *used += 1;
    let (mut r, low) = ((wide >> 32) as u32, wide as u32);
    if low > range.wrapping_neg() {
        let next = u64::from(words[*used % AHEAD]) * u64::from(range);
        *used += 1;
        r += u32::from(low.checked_add((next >> 32) as u32).is_none());
    }
    if r >= node { r + 1 } else { r }
}

/// The region of `node`: regions are runs of consecutive ids.
#[inline(always)]
pub fn region_of(starts: &[NodeId], node: NodeId) -> usize {
    starts.partition_point(|&start| start <= node) - 1
}

/// One region-aware draw: the coin is always tossed; a local draw needs another node in the
/// region and `room` (not all of them chosen yet), else it draws from everyone.
#[inline(always)]
fn regional(
    rng: &mut ChaCha8Rng,
    nodes: u32,
    starts: &[NodeId],
    local_bias: f64,
    node: NodeId,
    room: bool,
) -> NodeId {
    let local = rng.random_bool(local_bias);
    let region = region_of(starts, node);
    let (lo, hi) = (starts[region], starts[region + 1]);
    if local && room && hi - lo >= 2 {
        let r = rng.random_range(lo..hi - 1);
        if r >= node { r + 1 } else { r }
    } else {
        uniform_other(rng, nodes, node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{HyParViewParams, Overlay};
    use rand::SeedableRng;

    #[test]
    fn partners_are_uniform_over_the_others_and_never_self() {
        let mut s = PeerSampler::new(5, 1, ChaCha8Rng::seed_from_u64(3));
        let mut counts = [0u32; 5];
        for _ in 0..40_000 {
            counts[s.one(2).unwrap() as usize] += 1;
        }
        assert_eq!(counts[2], 0);
        for (node, &c) in counts.iter().enumerate().filter(|(n, _)| *n != 2) {
            // Expected 10_000 each; 5 standard deviations is about 430.
            assert!((9_570..=10_430).contains(&c), "node {node}: {c}");
        }
    }

    #[test]
    fn fanout_partners_are_distinct() {
        let mut s = PeerSampler::new(4, 3, ChaCha8Rng::seed_from_u64(1));
        for _ in 0..100 {
            let mut p = s.choose(0).to_vec();
            p.sort();
            assert_eq!(p, vec![1, 2, 3]);
        }
    }

    #[test]
    fn overlay_partners_are_neighbours() {
        let graph = Graph::for_trial(Overlay::KOut { degree: 3 }, 50, 9).unwrap();
        let mut s = PeerSampler::new(50, 2, ChaCha8Rng::seed_from_u64(2)).with_graph(graph.clone());
        for node in 0..50 {
            let chosen = s.choose(node).to_vec();
            assert_eq!(chosen.len(), 2);
            assert_ne!(chosen[0], chosen[1]);
            assert!(chosen.iter().all(|p| graph.neighbours(node).contains(p)));
            let one = s.one(node).unwrap();
            assert!(graph.neighbours(node).contains(&one));
        }
        // A fanout at least the degree contacts every neighbour.
        let mut s = PeerSampler::new(50, 5, ChaCha8Rng::seed_from_u64(2)).with_graph(graph.clone());
        assert_eq!(s.choose(7), graph.neighbours(7));
    }

    #[test]
    fn hyparview_partners_come_from_the_active_view() {
        let mut overlay = HyParView::new(
            200,
            HyParViewParams::default(),
            ChaCha8Rng::seed_from_u64(5),
        );
        overlay.build();
        let views: Vec<Vec<NodeId>> = (0..200).map(|v| overlay.active(v).to_vec()).collect();
        let mut s = PeerSampler::new(200, 3, ChaCha8Rng::seed_from_u64(2)).with_hyparview(overlay);
        assert!(s.hyparview().is_some());
        for node in 0..200 {
            let view = &views[node as usize];
            assert_eq!(s.neighbours(node), Some(&view[..]));
            let mut chosen = s.choose(node).to_vec();
            assert_eq!(chosen.len(), view.len().min(3), "node {node}");
            assert!(chosen.iter().all(|p| view.contains(p)), "node {node}");
            chosen.sort_unstable();
            chosen.dedup();
            assert_eq!(chosen.len(), view.len().min(3), "node {node}: repeats");
            let one = s.one(node).unwrap();
            assert!(view.contains(&one));
        }
        // Full membership has no neighbour list and no views.
        let mut full = PeerSampler::new(200, 3, ChaCha8Rng::seed_from_u64(2));
        assert_eq!(full.neighbours(0), None);
        assert!(full.hyparview().is_none());
    }

    #[test]
    fn a_full_local_bias_stays_home_until_home_is_exhausted() {
        // Regions [0, 3) and [3, 10).
        let starts = vec![0, 3, 10];
        let mut s = PeerSampler::new(10, 1, ChaCha8Rng::seed_from_u64(4))
            .with_local_bias(starts.clone(), 1.0);
        for _ in 0..1000 {
            let p = s.one(1).unwrap();
            assert!(p == 0 || p == 2, "{p}");
        }
        // Fanout 4 from a region with 2 other nodes: both of them, then 2 from elsewhere.
        let mut s =
            PeerSampler::new(10, 4, ChaCha8Rng::seed_from_u64(4)).with_local_bias(starts, 1.0);
        for _ in 0..100 {
            let mut p = s.choose(1).to_vec();
            p.sort();
            assert_eq!(&p[..2], &[0, 2]);
            assert!(p[2] >= 3 && p[3] > p[2]);
        }
    }

    #[test]
    fn a_zero_local_bias_draws_like_full_membership() {
        let mut plain = PeerSampler::new(100, 3, ChaCha8Rng::seed_from_u64(6));
        let mut biased = PeerSampler::new(100, 3, ChaCha8Rng::seed_from_u64(6))
            .with_local_bias(vec![0, 40, 100], 0.0);
        for node in 0..100 {
            assert_eq!(plain.choose(node), biased.choose(node));
        }
    }

    /// Batched draws read the stream a block at a time: mixed with hand-backs and with
    /// one-at-a-time draws (which hand back first), they give the one-at-a-time partners, in
    /// order, and leave the stream where one-at-a-time draws leave it.
    #[test]
    fn batched_draws_are_the_one_at_a_time_draws() {
        // At 3x10^9 nodes most draws take a second word (rand's possibly-biased samples).
        for nodes in [2, 10, 1_000_000, 3_000_000_000u32] {
            let mut one = PeerSampler::new(nodes, 1, ChaCha8Rng::seed_from_u64(7));
            let mut batched = PeerSampler::new(nodes, 1, ChaCha8Rng::seed_from_u64(7));
            let mut plan = ChaCha8Rng::seed_from_u64(8);
            let mut partners = [0; MOST_DRAWN];
            let mut draws = 0;
            for step in 0..400 {
                match plan.random_range(0..4) {
                    0 => {
                        let len = plan.random_range(0..=MOST_DRAWN.min(nodes as usize));
                        let first = plan.random_range(0..=nodes - len as u32);
                        batched.draw_all(first, &mut partners[..len]);
                        for (node, &p) in (first..).zip(&partners[..len]) {
                            assert_eq!(p, one.one(node).unwrap(), "{nodes} nodes, step {step}");
                        }
                        draws += len;
                    }
                    1 => {
                        let len = plan.random_range(0..=MOST_DRAWN);
                        let of: Vec<NodeId> =
                            (0..len).map(|_| plan.random_range(0..nodes)).collect();
                        batched.draw_for(&of, &mut partners[..len]);
                        for (&node, &p) in of.iter().zip(&partners[..len]) {
                            assert_ne!(p, node);
                            assert_eq!(p, one.one(node).unwrap(), "{nodes} nodes, step {step}");
                        }
                        draws += len;
                    }
                    2 => batched.hand_back(),
                    _ => {
                        let node = plan.random_range(0..nodes);
                        assert_eq!(
                            batched.one(node),
                            one.one(node),
                            "{nodes} nodes, step {step}"
                        );
                    }
                }
            }
            assert!(draws > 5_000, "{draws} batched draws");
            batched.hand_back();
            assert_eq!(batched.rng.get_word_pos(), one.rng.get_word_pos());
            if nodes > 2_000_000_000 {
                assert!(
                    one.rng.get_word_pos() > 3 * draws as u128 / 2,
                    "second words drawn"
                );
            }
        }
    }
}
