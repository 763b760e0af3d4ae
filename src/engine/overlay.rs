//! Static overlays: the random graphs partners are drawn from when membership is not full.
//!
//! A graph is built once per trial from the trial's own overlay stream (`Purpose::Overlay`),
//! so adding an overlay never shifts the draws of peer choice, the network or the faults, and
//! trial `t` gets the same graph however many trials run. It is stored flat (compressed sparse
//! rows): node `v`'s neighbours are `neighbours[offsets[v]..offsets[v + 1]]`. Static overlays are
//! never repaired: a crashed neighbour stays in the list, and messages to it are dropped.
//!
//! - `k-regular`: the pairing model with local rejection and restarts (Steger & Wormald 1999,
//!   "Generating random regular graphs quickly", in the form of NetworkX's
//!   `random_regular_graph`): shuffle the `n d` half-edges, pair them up, keep the pairs that
//!   are neither loops nor repeats, reshuffle the rest; start over if no valid pair is left. The
//!   result is always simple and d-regular, and asymptotically uniform for d = o(n^(1/28))
//!   (proved), in practice for every small d (Kim & Vu 2003 extend the proof to d << n^(1/3)).
//!   For d > (n - 1) / 2 the complement of a random (n - 1 - d)-regular graph is built instead,
//!   which keeps the pairing sparse; d = n - 1 is the complete graph.
//! - `k-out`: every node draws `k` distinct out-neighbours uniformly from the other nodes
//!   (Floyd's sampling). The graph is directed: a node's list holds only its own choices.
//! - `erdos-renyi`: G(n, p), undirected, generated in O(n + m) by geometric skipping over the
//!   pairs (Batagelj & Brandes 2005, "Efficient generation of large random networks"). The skip
//!   sequence is drawn twice from the same stream state, once to count degrees and once to fill
//!   the rows, so no edge list is kept.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::{NodeId, Overlay};
use crate::seed::{self, Purpose};

/// An overlay graph in compressed sparse rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    offsets: Vec<u64>,
    neighbours: Vec<NodeId>,
}

impl Graph {
    /// The overlay of trial `trial_seed`, or `None` for full membership and HyParView (whose
    /// views are not a fixed graph).
    pub fn for_trial(overlay: Overlay, nodes: u32, trial_seed: u64) -> Option<Graph> {
        let mut rng = seed::stream(trial_seed, Purpose::Overlay);
        Graph::build(overlay, nodes, &mut rng)
    }

    /// Builds `overlay` over `nodes` nodes from `rng`; `None` for full membership and HyParView. The
    /// overlay must have been validated against `nodes` (degree < nodes, n d even, p in (0, 1]).
    pub fn build(overlay: Overlay, nodes: u32, rng: &mut ChaCha8Rng) -> Option<Graph> {
        match overlay {
            Overlay::Full | Overlay::HyParView(_) => None,
            Overlay::KRegular { degree } => Some(k_regular(nodes, degree, rng)),
            Overlay::KOut { degree } => Some(k_out(nodes, degree, rng)),
            Overlay::ErdosRenyi(chance) => Some(erdos_renyi(nodes, chance.p(nodes), rng)),
        }
    }

    pub fn nodes(&self) -> u32 {
        (self.offsets.len() - 1) as u32
    }

    /// `node`'s neighbours (out-neighbours for `k-out`).
    #[inline(always)]
    pub fn neighbours(&self, node: NodeId) -> &[NodeId] {
        let v = node as usize;
        &self.neighbours[self.offsets[v] as usize..self.offsets[v + 1] as usize]
    }

    pub fn degree(&self, node: NodeId) -> usize {
        self.neighbours(node).len()
    }

    /// Entries over all neighbour lists: twice the edges of an undirected graph.
    pub fn endpoints(&self) -> u64 {
        self.neighbours.len() as u64
    }

    /// Bytes the graph of `overlay` over `nodes` nodes takes while it is built and used, for the
    /// memory guard (expected size for Erdős–Rényi).
    pub fn bytes_estimate(overlay: Overlay, nodes: u32) -> u64 {
        let n = u64::from(nodes);
        let offsets = 8 * (n + 1);
        let endpoints = match overlay {
            Overlay::Full | Overlay::HyParView(_) => return 0,
            // The pairing keeps the half-edges beside the rows.
            Overlay::KRegular { degree } => 2 * n * u64::from(degree),
            Overlay::KOut { degree } => n * u64::from(degree),
            Overlay::ErdosRenyi(chance) => {
                let expected = chance.p(nodes) * n as f64 * (n.saturating_sub(1)) as f64;
                // A few standard deviations above the mean, which is never reached in practice.
                (expected + 6.0 * expected.sqrt() + 64.0) as u64
            }
        };
        offsets + 4 * endpoints + 4 * n
    }

    /// Rows of equal length `degree` from a flat node-major array.
    fn regular(nodes: u32, degree: u32, neighbours: Vec<NodeId>) -> Graph {
        let d = u64::from(degree);
        Graph {
            offsets: (0..=u64::from(nodes)).map(|v| v * d).collect(),
            neighbours,
        }
    }

    /// The complement: every other node that is not a neighbour.
    fn complement(&self) -> Graph {
        let n = self.nodes();
        let mut offsets = Vec::with_capacity(n as usize + 1);
        let mut neighbours = Vec::new();
        offsets.push(0);
        let mut sorted = Vec::new();
        for v in 0..n {
            sorted.clear();
            sorted.extend_from_slice(self.neighbours(v));
            sorted.sort_unstable();
            let mut next = sorted.iter().peekable();
            for u in (0..n).filter(|&u| u != v) {
                if next.peek() == Some(&&u) {
                    next.next();
                } else {
                    neighbours.push(u);
                }
            }
            offsets.push(neighbours.len() as u64);
        }
        Graph {
            offsets,
            neighbours,
        }
    }
}

/// Fisher–Yates, drawing with `random_range` so the order depends only on the stream.
fn shuffle(items: &mut [NodeId], rng: &mut ChaCha8Rng) {
    for i in (1..items.len()).rev() {
        let j = rng.random_range(0..=i);
        items.swap(i, j);
    }
}

fn k_regular(nodes: u32, degree: u32, rng: &mut ChaCha8Rng) -> Graph {
    if degree + 1 == nodes {
        return complete(nodes);
    }
    if 2 * degree > nodes - 1 {
        // n (n - 1 - d) is even whenever n d is: n (n - 1) always is.
        return k_regular(nodes, nodes - 1 - degree, rng).complement();
    }
    let n = nodes as usize;
    let d = degree as usize;
    let mut adjacency = vec![0 as NodeId; n * d];
    let mut filled = vec![0u32; n];
    let mut stubs: Vec<NodeId> = Vec::with_capacity(n * d);
    let mut rest: Vec<NodeId> = Vec::new();
    'attempt: loop {
        filled.fill(0);
        stubs.clear();
        for v in 0..nodes {
            stubs.extend(std::iter::repeat_n(v, d));
        }
        while !stubs.is_empty() {
            shuffle(&mut stubs, rng);
            rest.clear();
            for pair in stubs.chunks_exact(2) {
                let (a, b) = (pair[0], pair[1]);
                let row = |v: NodeId, filled: &[u32]| {
                    let start = v as usize * d;
                    start..start + filled[v as usize] as usize
                };
                if a != b && !adjacency[row(a, &filled)].contains(&b) {
                    adjacency[a as usize * d + filled[a as usize] as usize] = b;
                    filled[a as usize] += 1;
                    adjacency[b as usize * d + filled[b as usize] as usize] = a;
                    filled[b as usize] += 1;
                } else {
                    rest.extend_from_slice(pair);
                }
            }
            if !rest.is_empty() && !any_valid_pair(&rest, &adjacency, &filled, d) {
                continue 'attempt;
            }
            std::mem::swap(&mut stubs, &mut rest);
        }
        return Graph::regular(nodes, degree, adjacency);
    }
}

/// Whether two of the left-over half-edges could still be joined: distinct nodes that are
/// not yet neighbours.
fn any_valid_pair(rest: &[NodeId], adjacency: &[NodeId], filled: &[u32], d: usize) -> bool {
    let mut distinct = rest.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    for (i, &a) in distinct.iter().enumerate() {
        let row = &adjacency[a as usize * d..a as usize * d + filled[a as usize] as usize];
        if distinct[i + 1..].iter().any(|b| !row.contains(b)) {
            return true;
        }
    }
    false
}

fn complete(nodes: u32) -> Graph {
    let neighbours = (0..nodes)
        .flat_map(|v| (0..nodes).filter(move |&u| u != v))
        .collect();
    Graph::regular(nodes, nodes - 1, neighbours)
}

fn k_out(nodes: u32, degree: u32, rng: &mut ChaCha8Rng) -> Graph {
    let k = degree as usize;
    let others = nodes - 1;
    let mut neighbours = Vec::with_capacity(nodes as usize * k);
    // `chosen_by[u] == v + 1`: u is already among v's picks; one array for every node.
    let mut chosen_by = vec![0u32; nodes as usize];
    for v in 0..nodes {
        let mark = v + 1;
        // Floyd: for j in others-k .. others, draw t in 0..=j; take t, or j if t is taken.
        for j in others - degree..others {
            let t = rng.random_range(0..=j);
            let pick = if chosen_by[skip(v, t) as usize] == mark {
                j
            } else {
                t
            };
            let node = skip(v, pick);
            chosen_by[node as usize] = mark;
            neighbours.push(node);
        }
    }
    Graph::regular(nodes, degree, neighbours)
}

/// The `i`-th node other than `v`.
#[inline(always)]
fn skip(v: NodeId, i: u32) -> NodeId {
    if i >= v { i + 1 } else { i }
}

fn erdos_renyi(nodes: u32, p: f64, rng: &mut ChaCha8Rng) -> Graph {
    let n = nodes as usize;
    let replay = rng.clone();
    let mut degree = vec![0u64; n];
    for_each_er_edge(nodes, p, rng, |v, w| {
        degree[v as usize] += 1;
        degree[w as usize] += 1;
    });
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(0u64);
    for v in 0..n {
        offsets.push(offsets[v] + degree[v]);
    }
    // `degree` becomes each row's fill cursor.
    degree.copy_from_slice(&offsets[..n]);
    let mut neighbours = vec![0 as NodeId; offsets[n] as usize];
    let mut rng = replay;
    for_each_er_edge(nodes, p, &mut rng, |v, w| {
        neighbours[degree[v as usize] as usize] = w;
        degree[v as usize] += 1;
        neighbours[degree[w as usize] as usize] = v;
        degree[w as usize] += 1;
    });
    // Edges come in order of (v, w) with w < v, so every row is sorted.
    Graph {
        offsets,
        neighbours,
    }
}

/// Every edge `(v, w)`, `w < v`, of G(n, p), in lexicographic order: Batagelj & Brandes
/// (2005), algorithm 1. The gap to the next edge is geometric: floor(ln(1 - r) / ln(1 - p)).
fn for_each_er_edge(nodes: u32, p: f64, rng: &mut ChaCha8Rng, mut edge: impl FnMut(u32, u32)) {
    let n = u64::from(nodes);
    let log_q = (-p).ln_1p(); // ln(1 - p): -inf for p = 1, which makes every gap 0.
    let mut v: u64 = 1;
    let mut w: i64 = -1;
    while v < n {
        let r: f64 = rng.random();
        let gap = if log_q == f64::NEG_INFINITY {
            0.0
        } else {
            ((-r).ln_1p() / log_q).floor()
        };
        // A gap beyond every remaining pair ends the graph; the cap keeps the sum in range.
        let gap = gap.min((n * n) as f64) as i64;
        w += 1 + gap;
        while w >= v as i64 && v < n {
            w -= v as i64;
            v += 1;
        }
        if v < n {
            edge(v as u32, w as u32);
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::scenario::EdgeChance;

    fn rng(seed: u64) -> ChaCha8Rng {
        ChaCha8Rng::seed_from_u64(seed)
    }

    /// Simple (no loops, no repeated neighbour), and symmetric: u lists v iff v lists u.
    fn assert_simple_undirected(g: &Graph, what: &str) {
        let n = g.nodes();
        let mut seen = vec![u32::MAX; n as usize];
        for v in 0..n {
            for &u in g.neighbours(v) {
                assert!(u < n, "{what}: node {v} lists {u}, not a node");
                assert_ne!(u, v, "{what}: loop at {v}");
                assert_ne!(seen[u as usize], v, "{what}: {v} lists {u} twice");
                seen[u as usize] = v;
                assert!(
                    g.neighbours(u).contains(&v),
                    "{what}: {v} lists {u} but not the other way"
                );
            }
        }
    }

    #[test]
    fn k_regular_graphs_are_regular_and_simple() {
        // Every valid degree of the small sizes (the sparse pairing, the complement and the
        // complete graph), and a few larger ones.
        let mut cases: Vec<(u32, u32)> = Vec::new();
        for n in 2..=13u32 {
            for d in 1..n {
                if n * d % 2 == 0 {
                    cases.push((n, d));
                }
            }
        }
        cases.extend([(1000, 3), (1000, 6), (999, 4), (2000, 20), (101, 60)]);
        for (n, d) in cases {
            for seed in 0..5 {
                let what = format!("n={n} d={d} seed={seed}");
                let g = k_regular(n, d, &mut rng(seed));
                assert_eq!(g.nodes(), n, "{what}");
                for v in 0..n {
                    assert_eq!(g.degree(v), d as usize, "{what}: degree of {v}");
                }
                assert_simple_undirected(&g, &what);
            }
        }
    }

    /// Uniformity on the smallest case with several labelled graphs: the 3 perfect matchings
    /// of 4 nodes must come out equally often (within 5 standard deviations).
    #[test]
    fn k_regular_matchings_of_four_nodes_are_uniform() {
        let mut counts = [0u32; 3];
        let mut r = rng(11);
        let trials = 30_000;
        for _ in 0..trials {
            let g = k_regular(4, 1, &mut r);
            counts[g.neighbours(0)[0] as usize - 1] += 1;
        }
        let expected = f64::from(trials) / 3.0;
        let sd = (expected * (2.0 / 3.0)).sqrt();
        for c in counts {
            assert!((f64::from(c) - expected).abs() < 5.0 * sd, "{counts:?}");
        }
    }

    #[test]
    fn k_out_picks_k_distinct_others() {
        for (n, k) in [(2, 1), (5, 4), (10, 3), (1000, 8)] {
            let g = k_out(n, k, &mut rng(3));
            for v in 0..n {
                let mut row = g.neighbours(v).to_vec();
                assert_eq!(row.len(), k as usize);
                assert!(!row.contains(&v));
                row.sort_unstable();
                row.dedup();
                assert_eq!(row.len(), k as usize, "n={n} k={k}: repeats at {v}");
            }
        }
    }

    /// Each of the other n - 1 nodes is an out-neighbour with probability k / (n - 1).
    #[test]
    fn k_out_choices_are_uniform() {
        let (n, k) = (6u32, 2u32);
        let mut counts = [0u32; 6];
        let mut r = rng(5);
        let graphs = 20_000;
        for _ in 0..graphs {
            for &u in k_out(n, k, &mut r).neighbours(0) {
                counts[u as usize] += 1;
            }
        }
        assert_eq!(counts[0], 0);
        let p = f64::from(k) / f64::from(n - 1);
        let expected = f64::from(graphs) * p;
        let sd = (f64::from(graphs) * p * (1.0 - p)).sqrt();
        for &c in &counts[1..] {
            assert!((f64::from(c) - expected).abs() < 5.0 * sd, "{counts:?}");
        }
    }

    #[test]
    fn erdos_renyi_graphs_are_simple_with_sorted_rows() {
        for (n, p) in [(2, 1.0), (10, 1.0), (50, 0.1), (2000, 0.003), (300, 0.5)] {
            let g = erdos_renyi(n, p, &mut rng(9));
            assert_simple_undirected(&g, &format!("n={n} p={p}"));
            for v in 0..n {
                assert!(g.neighbours(v).is_sorted(), "n={n} p={p}: row {v}");
            }
            if p == 1.0 {
                assert_eq!(g.endpoints(), u64::from(n) * u64::from(n - 1));
            }
        }
    }

    /// Every pair is an edge with probability p, whatever its position in the skip sequence:
    /// count each of the 10 pairs of 5 nodes over many graphs.
    #[test]
    fn erdos_renyi_pairs_are_independent_coins() {
        let (n, p) = (5u32, 0.3);
        let mut counts = [[0u32; 5]; 5];
        let mut r = rng(8);
        let graphs = 20_000;
        for _ in 0..graphs {
            let g = erdos_renyi(n, p, &mut r);
            for v in 0..n {
                for &u in g.neighbours(v) {
                    counts[v as usize][u as usize] += 1;
                }
            }
        }
        let expected = f64::from(graphs) * p;
        let sd = (f64::from(graphs) * p * (1.0 - p)).sqrt();
        for (v, row) in counts.iter().enumerate() {
            for (u, &count) in row.iter().enumerate().take(v) {
                let c = f64::from(count);
                assert!((c - expected).abs() < 5.0 * sd, "pair {v}-{u}: {c}");
            }
        }
    }

    #[test]
    fn graphs_depend_only_on_the_trial_seed() {
        let overlay = Overlay::ErdosRenyi(EdgeChance::MeanDegree(4.0));
        let a = Graph::for_trial(overlay, 500, 77).unwrap();
        let b = Graph::for_trial(overlay, 500, 77).unwrap();
        let c = Graph::for_trial(overlay, 500, 78).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(Graph::for_trial(Overlay::Full, 500, 77), None);
    }
}
