//! Partner choice: `fanout` distinct partners, uniform over the other `n - 1` nodes, never the
//! node itself (full membership, the model of the analytic literature), or uniform over the
//! node's HyParView active view (fewer when the view is smaller than `fanout`).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::NodeId;

use super::hyparview::HyParView;

pub struct PeerSampler {
    nodes: u32,
    fanout: usize,
    rng: ChaCha8Rng,
    chosen: Vec<NodeId>,
    /// The HyParView views partners come from; `None` for full membership.
    pub overlay: Option<Box<HyParView>>,
}

impl PeerSampler {
    pub fn new(nodes: u32, fanout: u32, rng: ChaCha8Rng) -> PeerSampler {
        PeerSampler {
            nodes,
            fanout: fanout as usize,
            rng,
            chosen: Vec::with_capacity(fanout as usize),
            overlay: None,
        }
    }

    /// One partner of `node`: uniform over the other nodes, or over its live active
    /// neighbours (`None` when it has none).
    #[inline(always)]
    pub fn one(&mut self, node: NodeId) -> Option<NodeId> {
        if let Some(overlay) = &mut self.overlay {
            overlay.choose(node, 1, &mut self.rng, &mut self.chosen);
            return self.chosen.first().copied();
        }
        Some(self.uniform(node))
    }

    #[inline(always)]
    fn uniform(&mut self, node: NodeId) -> NodeId {
        let r = self.rng.random_range(0..self.nodes - 1);
        if r >= node { r + 1 } else { r }
    }

    /// `fanout` distinct partners of `node`. Validation guarantees `fanout < nodes`.
    pub fn choose(&mut self, node: NodeId) -> &[NodeId] {
        self.chosen.clear();
        if let Some(overlay) = &mut self.overlay {
            overlay.choose(node, self.fanout, &mut self.rng, &mut self.chosen);
            return &self.chosen;
        }
        if self.fanout == 1 {
            let p = self.uniform(node);
            self.chosen.push(p);
            return &self.chosen;
        }
        while self.chosen.len() < self.fanout {
            let p = self.uniform(node);
            if !self.chosen.contains(&p) {
                self.chosen.push(p);
            }
        }
        &self.chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
