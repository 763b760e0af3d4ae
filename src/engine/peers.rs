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
//! always has.

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

pub struct PeerSampler {
    nodes: u32,
    fanout: usize,
    rng: ChaCha8Rng,
    chosen: Vec<NodeId>,
    membership: Membership,
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
    /// [`PeerSampler::one_of_all`] then draws them as [`PeerSampler::choose`] does.
    pub fn full_single(&self) -> bool {
        self.fanout == 1 && matches!(self.membership, Membership::Full)
    }

    /// The partner of `node` under [`PeerSampler::full_single`]: the same draw as `choose`.
    #[inline(always)]
    pub fn one_of_all(&mut self, node: NodeId) -> NodeId {
        debug_assert!(self.full_single());
        uniform_other(&mut self.rng, self.nodes, node)
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
}
