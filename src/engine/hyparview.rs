//! HyParView (Leitão, Pereira, Rodrigues: "HyParView: a membership protocol for reliable
//! gossip-based broadcast", DSN 2007): every node keeps a small *active view* of symmetric links
//! (the only partners it gossips with) and a larger *passive view* of backups.
//!
//! ## Model
//! - Views are flat fixed-capacity arrays indexed by node (`active_size` and `passive_size`
//!   slots per node), in insertion order; every random choice draws from the overlay stream.
//! - Membership messages are processed synchronously: a JOIN and the random walks it starts, a
//!   NEIGHBOR request and its reply, a SHUFFLE walk and its reply all complete at once, in
//!   the order the algorithm sends them. Each hop is counted as one message.
//! - Links are TCP connections: sending to a crashed active neighbour fails at once (no message
//!   is counted), the sender removes it and promotes a passive node with NEIGHBOR requests (high
//!   priority when its active view became less than half full, which the target must accept). Trying to
//!   connect to a crashed passive node fails too and removes it from the passive view.
//! - Every `shuffle_every` rounds each live node, in id order, checks its links (a TCP
//!   keep-alive, not counted), asks a passive node to fill a free active slot (low-priority
//!   NEIGHBOR), and starts a SHUFFLE.
//! - Warm-up, before time 0: nodes join one by one in id order, each through a uniformly random
//!   node that joined before it, then `warmup_rounds` rounds of maintenance run (a shuffle every
//!   `shuffle_every` of them). Warm-up messages are reported apart (`warmup_messages`).
//! - A node that recovers from a crash comes back with empty views: the links its old neighbours
//!   still held are reset (they repair as after a failure) and it joins again through a random
//!   live node.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::scenario::{HyParViewParams, NodeId};

pub struct HyParView {
    params: HyParViewParams,
    a_cap: usize,
    p_cap: usize,
    active: Vec<NodeId>,
    active_len: Vec<u8>,
    /// Plumtree's mark of each active link: lazy (true) or eager. A new link starts eager.
    lazy: Vec<bool>,
    passive: Vec<NodeId>,
    passive_len: Vec<u16>,
    /// Liveness as the links see it (the engine reports crashes and recoveries).
    up: Vec<bool>,
    rng: ChaCha8Rng,
    /// Membership messages sent since the last [`HyParView::take_messages`].
    messages: u64,
    // Reused buffers.
    candidates: Vec<NodeId>,
    join_targets: Vec<NodeId>,
    sample: Vec<NodeId>,
    reply: Vec<NodeId>,
    tmp: Vec<NodeId>,
    /// Nodes that lost a link to an eviction and will try to fill the free slot.
    to_fill: Vec<NodeId>,
}

impl HyParView {
    /// Empty views: nobody has joined yet.
    pub fn new(nodes: u32, params: HyParViewParams, rng: ChaCha8Rng) -> HyParView {
        let n = nodes as usize;
        let a_cap = params.active_size as usize;
        let p_cap = params.passive_size as usize;
        HyParView {
            params,
            a_cap,
            p_cap,
            active: vec![0; n * a_cap],
            active_len: vec![0; n],
            lazy: vec![false; n * a_cap],
            passive: vec![0; n * p_cap],
            passive_len: vec![0; n],
            up: vec![true; n],
            rng,
            messages: 0,
            candidates: Vec::with_capacity(p_cap),
            join_targets: Vec::with_capacity(a_cap),
            sample: Vec::new(),
            reply: Vec::new(),
            tmp: Vec::new(),
            to_fill: Vec::new(),
        }
    }

    /// Builds the overlay: sequential joins, then the warm-up rounds. Returns the messages sent.
    pub fn build(&mut self) -> u64 {
        let n = self.up.len() as u32;
        for node in 1..n {
            let contact = self.rng.random_range(0..node);
            self.join(node, contact);
            self.fill_evicted();
        }
        for r in 0..self.params.warmup_rounds {
            if (r + 1).is_multiple_of(self.params.shuffle_every) {
                self.maintain_all();
            }
        }
        self.take_messages()
    }

    #[cfg(test)]
    fn nodes(&self) -> u32 {
        self.up.len() as u32
    }

    pub fn params(&self) -> &HyParViewParams {
        &self.params
    }

    #[inline(always)]
    pub fn active(&self, node: NodeId) -> &[NodeId] {
        let start = node as usize * self.a_cap;
        &self.active[start..start + self.active_len[node as usize] as usize]
    }

    /// Plumtree's marks, aligned with [`HyParView::active`].
    #[inline(always)]
    pub fn lazy(&self, node: NodeId) -> &[bool] {
        let start = node as usize * self.a_cap;
        &self.lazy[start..start + self.active_len[node as usize] as usize]
    }

    pub fn passive(&self, node: NodeId) -> &[NodeId] {
        let start = node as usize * self.p_cap;
        &self.passive[start..start + self.passive_len[node as usize] as usize]
    }

    /// Marks the link from `node` to `peer` lazy or eager (nothing if they are not linked).
    pub fn set_lazy(&mut self, node: NodeId, peer: NodeId, lazy: bool) {
        if let Some(i) = self.active(node).iter().position(|&p| p == peer) {
            self.lazy[node as usize * self.a_cap + i] = lazy;
        }
    }

    /// Membership messages sent since the last call.
    pub fn take_messages(&mut self) -> u64 {
        std::mem::take(&mut self.messages)
    }

    // ---- the engine's notifications ------------------------------------------------------------

    pub fn node_crashed(&mut self, node: NodeId) {
        self.up[node as usize] = false;
    }

    pub fn node_recovered(&mut self, node: NodeId) {
        if self.up[node as usize] {
            return;
        }
        self.up[node as usize] = true;
        // Links are symmetric and nobody links to a crashed node, so only its old active
        // neighbours can still list it: their connections were reset.
        let mut old = std::mem::take(&mut self.join_targets);
        old.clear();
        old.extend_from_slice(self.active(node));
        self.active_len[node as usize] = 0;
        self.passive_len[node as usize] = 0;
        for &peer in &old {
            if self.up[peer as usize] && self.active(peer).contains(&node) {
                self.neighbour_down(peer, node);
            }
        }
        self.join_targets = old;
        let n = self.up.len() as u32;
        // A uniformly random live contact (rejection sampling; a scan when most are down).
        let mut contact = None;
        for _ in 0..64 {
            let c = self.rng.random_range(0..n);
            if c != node && self.up[c as usize] {
                contact = Some(c);
                break;
            }
        }
        if contact.is_none() {
            let live = (0..n).filter(|&c| c != node && self.up[c as usize]).count() as u32;
            if live > 0 {
                let k = self.rng.random_range(0..live);
                contact = (0..n)
                    .filter(|&c| c != node && self.up[c as usize])
                    .nth(k as usize);
            }
        }
        if let Some(contact) = contact {
            self.join(node, contact);
        }
        self.fill_evicted();
    }

    // ---- partner choice --------------------------------------------------------------------

    /// Up to `fanout` distinct live partners of `node` from its active view, into `out`. A
    /// crashed neighbour drawn is detected (the send fails), replaced, and another drawn.
    pub fn choose(
        &mut self,
        node: NodeId,
        fanout: usize,
        rng: &mut ChaCha8Rng,
        out: &mut Vec<NodeId>,
    ) {
        out.clear();
        loop {
            let len = self.active_len[node as usize] as usize;
            if out.len() >= fanout.min(len) {
                return;
            }
            let peer = self.active(node)[rng.random_range(0..len)];
            if !self.up[peer as usize] {
                self.neighbour_down(node, peer);
            } else if !out.contains(&peer) {
                out.push(peer);
            }
        }
    }

    /// Every node that lost a link to an eviction (DISCONNECT) asks a passive node to fill the
    /// slot. The paper leaves such a slot empty until a failure; filling it at once keeps
    /// the views full while thousands of nodes join in a row, which otherwise erodes them until
    /// small groups split off for good (seen at n = 10,000).
    fn fill_evicted(&mut self) {
        while let Some(node) = self.to_fill.pop() {
            if self.up[node as usize] && (self.active_len[node as usize] as usize) < self.a_cap {
                let high = self.needs_high_priority(node);
                self.promote(node, high);
            }
        }
    }

    // ---- failure handling ------------------------------------------------------------------

    /// `node` found its link to `dead` broken: it drops it and promotes a passive node.
    pub fn neighbour_down(&mut self, node: NodeId, dead: NodeId) {
        self.remove_active(node, dead);
        let high = self.needs_high_priority(node);
        self.promote(node, high);
        self.fill_evicted();
    }

    /// The paper sends a high-priority NEIGHBOR only from an empty active view. We also send
    /// one from a view less than half full: otherwise two nodes linked only to each other, whose
    /// passive entries all have full views, stay a separate component for ever (seen after
    /// warm-up at n = 1000 with the paper's parameters).
    fn needs_high_priority(&self, node: NodeId) -> bool {
        (self.active_len[node as usize] as usize) * 2 < self.a_cap
    }

    /// Tries passive nodes in random order until one accepts a NEIGHBOR request. Crashed ones
    /// (the connection fails) leave the passive view; ones that reject (low priority, full
    /// active view) stay. Returns whether a link was made.
    fn promote(&mut self, node: NodeId, high: bool) -> bool {
        let mut candidates = std::mem::take(&mut self.candidates);
        candidates.clear();
        candidates.extend_from_slice(self.passive(node));
        let mut linked = false;
        for i in 0..candidates.len() {
            let j = self.rng.random_range(i..candidates.len());
            candidates.swap(i, j);
            let c = candidates[i];
            if !self.up[c as usize] {
                self.remove_passive(node, c);
                continue;
            }
            // NEIGHBOR and its reply.
            self.messages += 2;
            if high || (self.active_len[c as usize] as usize) < self.a_cap {
                self.connect(node, c);
                linked = true;
                break;
            }
        }
        self.candidates = candidates;
        linked
    }

    // ---- joining ---------------------------------------------------------------------------

    /// `node` joins through `contact` (JOIN, then FORWARD_JOIN walks from every neighbour of
    /// the contact).
    fn join(&mut self, node: NodeId, contact: NodeId) {
        self.messages += 1;
        self.connect(contact, node);
        let mut targets = std::mem::take(&mut self.join_targets);
        targets.clear();
        targets.extend(self.active(contact).iter().copied().filter(|&p| p != node));
        for &target in &targets {
            if !self.up[target as usize] {
                self.neighbour_down(contact, target);
                continue;
            }
            self.forward_join(contact, target, node, self.params.arwl);
        }
        self.join_targets = targets;
    }

    /// A FORWARD_JOIN for `new` with `ttl` hops left travels from `from` to `at`, and on.
    fn forward_join(&mut self, mut from: NodeId, mut at: NodeId, new: NodeId, mut ttl: u32) {
        loop {
            self.messages += 1;
            if ttl == 0 || self.active_len[at as usize] <= 1 {
                self.connect(at, new);
                return;
            }
            if ttl == self.params.prwl {
                self.add_passive(at, new);
            }
            let Some(next) = self.live_active_except(at, from, new) else {
                self.connect(at, new);
                return;
            };
            from = at;
            at = next;
            ttl -= 1;
        }
    }

    /// A random live active neighbour of `node` other than `a` and `b`; crashed ones met on
    /// the way are detected and replaced.
    fn live_active_except(&mut self, node: NodeId, a: NodeId, b: NodeId) -> Option<NodeId> {
        loop {
            let eligible = self
                .active(node)
                .iter()
                .filter(|&&p| p != a && p != b)
                .count();
            if eligible == 0 {
                return None;
            }
            let k = self.rng.random_range(0..eligible);
            let peer = *self
                .active(node)
                .iter()
                .filter(|&&p| p != a && p != b)
                .nth(k)
                .expect("k < eligible");
            if self.up[peer as usize] {
                return Some(peer);
            }
            self.neighbour_down(node, peer);
        }
    }

    // ---- view operations ---------------------------------------------------------------------

    /// A symmetric link between `a` and `b`, each evicting a random neighbour if full.
    fn connect(&mut self, a: NodeId, b: NodeId) {
        if a == b {
            return;
        }
        self.add_active(a, b);
        self.add_active(b, a);
    }

    fn add_active(&mut self, node: NodeId, peer: NodeId) {
        if node == peer || self.active(node).contains(&peer) {
            return;
        }
        if self.active_len[node as usize] as usize == self.a_cap {
            // Evict a random neighbour other than `peer` with a DISCONNECT: both keep the other
            // as a passive entry.
            let len = self.a_cap;
            let pick = self.rng.random_range(0..len);
            let victim = self.active(node)[pick];
            self.remove_active(node, victim);
            if self.up[victim as usize] {
                self.messages += 1;
                self.remove_active(victim, node);
                self.add_passive(victim, node);
                self.to_fill.push(victim);
            }
            self.add_passive(node, victim);
        }
        self.remove_passive(node, peer);
        let i = node as usize * self.a_cap + self.active_len[node as usize] as usize;
        self.active[i] = peer;
        self.lazy[i] = false;
        self.active_len[node as usize] += 1;
    }

    /// Removes `peer` from `node`'s active view, keeping the order of the others.
    fn remove_active(&mut self, node: NodeId, peer: NodeId) {
        let start = node as usize * self.a_cap;
        let len = self.active_len[node as usize] as usize;
        if let Some(i) = self.active[start..start + len]
            .iter()
            .position(|&p| p == peer)
        {
            self.active
                .copy_within(start + i + 1..start + len, start + i);
            self.lazy.copy_within(start + i + 1..start + len, start + i);
            self.active_len[node as usize] -= 1;
        }
    }

    /// Adds `peer` to `node`'s passive view, dropping a random entry if it is full.
    fn add_passive(&mut self, node: NodeId, peer: NodeId) {
        if node == peer || self.active(node).contains(&peer) || self.passive(node).contains(&peer) {
            return;
        }
        let start = node as usize * self.p_cap;
        let len = self.passive_len[node as usize] as usize;
        if len == self.p_cap {
            let i = self.rng.random_range(0..len);
            self.passive[start + i] = peer;
        } else {
            self.passive[start + len] = peer;
            self.passive_len[node as usize] += 1;
        }
    }

    fn remove_passive(&mut self, node: NodeId, peer: NodeId) {
        let start = node as usize * self.p_cap;
        let len = self.passive_len[node as usize] as usize;
        if let Some(i) = self.passive[start..start + len]
            .iter()
            .position(|&p| p == peer)
        {
            self.passive
                .copy_within(start + i + 1..start + len, start + i);
            self.passive_len[node as usize] -= 1;
        }
    }

    // ---- periodic maintenance ----------------------------------------------------------------

    /// Every live node, in id order: link check, fill-up, shuffle.
    pub fn maintain_all(&mut self) {
        for node in 0..self.up.len() as u32 {
            if self.up[node as usize] {
                self.maintain(node);
                self.fill_evicted();
            }
        }
    }

    fn maintain(&mut self, node: NodeId) {
        while let Some(&dead) = self.active(node).iter().find(|&&p| !self.up[p as usize]) {
            self.neighbour_down(node, dead);
        }
        if (self.active_len[node as usize] as usize) < self.a_cap
            && self.passive_len[node as usize] > 0
        {
            let high = self.needs_high_priority(node);
            self.promote(node, high);
        }
        self.shuffle(node);
    }

    /// `node` sends itself, `shuffle_active` active and `shuffle_passive` passive entries on a
    /// random walk of ARWL hops; the node where it stops replies with as many passive entries,
    /// and both merge what they received into their passive views, dropping first the entries
    /// they sent.
    fn shuffle(&mut self, node: NodeId) {
        let Some(first) = self.live_active_except(node, node, node) else {
            return;
        };
        let mut sample = std::mem::take(&mut self.sample);
        let mut tmp = std::mem::take(&mut self.tmp);
        sample.clear();
        sample.push(node);
        let start = node as usize * self.a_cap;
        let alen = self.active_len[node as usize] as usize;
        random_subset(
            &mut self.rng,
            &self.active[start..start + alen],
            self.params.shuffle_active as usize,
            &mut tmp,
        );
        sample.extend_from_slice(&tmp);
        let start = node as usize * self.p_cap;
        let plen = self.passive_len[node as usize] as usize;
        random_subset(
            &mut self.rng,
            &self.passive[start..start + plen],
            self.params.shuffle_passive as usize,
            &mut tmp,
        );
        sample.extend_from_slice(&tmp);
        // The walk: each hop is a message; it stops when its TTL runs out or at a node with no
        // other neighbour.
        let (mut from, mut at) = (node, first);
        let mut ttl = self.params.arwl;
        loop {
            self.messages += 1;
            ttl = ttl.saturating_sub(1);
            if ttl == 0 || self.active_len[at as usize] <= 1 {
                break;
            }
            match self.live_active_except(at, from, node) {
                Some(next) => {
                    from = at;
                    at = next;
                }
                None => break,
            }
        }
        let mut reply = std::mem::take(&mut self.reply);
        let start = at as usize * self.p_cap;
        let plen = self.passive_len[at as usize] as usize;
        random_subset(
            &mut self.rng,
            &self.passive[start..start + plen],
            sample.len(),
            &mut reply,
        );
        self.messages += 1; // SHUFFLE_REPLY
        self.merge_passive(at, &sample, &reply);
        self.merge_passive(node, &reply, &sample);
        self.sample = sample;
        self.reply = reply;
        self.tmp = tmp;
    }

    /// `node` merges `received` into its passive view; when full it drops an entry it `sent`
    /// first, else a random one.
    fn merge_passive(&mut self, node: NodeId, received: &[NodeId], sent: &[NodeId]) {
        for &peer in received {
            if peer == node
                || self.active(node).contains(&peer)
                || self.passive(node).contains(&peer)
            {
                continue;
            }
            if self.passive_len[node as usize] as usize == self.p_cap
                && let Some(&old) = self.passive(node).iter().find(|p| sent.contains(p))
            {
                self.remove_passive(node, old);
            }
            self.add_passive(node, peer);
        }
    }

    // ---- invariants (tests) ------------------------------------------------------------------

    /// Checks the views: within capacity, no self, no duplicate, active and passive disjoint,
    /// links between live nodes symmetric.
    #[cfg(test)]
    fn check(&self) -> Result<(), String> {
        for node in 0..self.up.len() as u32 {
            if !self.up[node as usize] {
                continue;
            }
            let active = self.active(node);
            let passive = self.passive(node);
            if active.len() > self.a_cap || passive.len() > self.p_cap {
                return Err(format!("node {node}: views over capacity"));
            }
            for (i, &p) in active.iter().enumerate() {
                if p == node || active[..i].contains(&p) || passive.contains(&p) {
                    return Err(format!("node {node}: bad active entry {p}"));
                }
                if self.up[p as usize] && !self.active(p).contains(&node) {
                    return Err(format!("link {node} -> {p} is not symmetric"));
                }
            }
            for (i, &p) in passive.iter().enumerate() {
                if p == node || passive[..i].contains(&p) {
                    return Err(format!("node {node}: bad passive entry {p}"));
                }
            }
        }
        Ok(())
    }
}

/// Up to `k` distinct entries of `from`, uniformly at random, into `out`.
fn random_subset(rng: &mut ChaCha8Rng, from: &[NodeId], k: usize, out: &mut Vec<NodeId>) {
    out.clear();
    out.extend_from_slice(from);
    let k = k.min(out.len());
    for i in 0..k {
        let j = rng.random_range(i..out.len());
        out.swap(i, j);
    }
    out.truncate(k);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::{self, Purpose};

    fn built(nodes: u32, seed: u64) -> HyParView {
        let mut h = HyParView::new(
            nodes,
            HyParViewParams::default(),
            seed::stream(seed, Purpose::Overlay),
        );
        h.build();
        h
    }

    /// Nodes reachable from the first live node over active links between live nodes.
    fn reachable(h: &HyParView) -> usize {
        let n = h.nodes() as usize;
        let Some(start) = (0..n).find(|&v| h.up[v]) else {
            return 0;
        };
        let mut seen = vec![false; n];
        let mut stack = vec![start as NodeId];
        seen[start] = true;
        let mut count = 1;
        while let Some(v) = stack.pop() {
            for &p in h.active(v) {
                if h.up[p as usize] && !seen[p as usize] {
                    seen[p as usize] = true;
                    count += 1;
                    stack.push(p);
                }
            }
        }
        count
    }

    #[test]
    fn views_are_symmetric_bounded_and_connected_after_warm_up() {
        for seed in 0..30 {
            let h = built(1000, seed);
            h.check().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            assert_eq!(
                reachable(&h),
                1000,
                "seed {seed}: active graph not connected"
            );
            // Active views are (nearly) full and passive views filled by the shuffles.
            let active: usize = (0..1000).map(|v| h.active(v).len()).sum();
            let passive: usize = (0..1000).map(|v| h.passive(v).len()).sum();
            assert!(
                active as f64 / 1000.0 > 4.5,
                "seed {seed}: mean active {active}"
            );
            assert!(
                passive as f64 / 1000.0 > 20.0,
                "seed {seed}: mean passive {passive}"
            );
        }
    }

    #[test]
    fn the_same_seed_builds_the_same_views() {
        let (a, b) = (built(300, 4), built(300, 4));
        assert_eq!(a.active, b.active);
        assert_eq!(a.passive, b.passive);
        assert_ne!(a.active, built(300, 5).active);
    }

    #[test]
    fn crashed_neighbours_leave_the_active_views_at_the_next_maintenance() {
        for seed in 0..5 {
            let mut h = built(1000, seed);
            let mut rng = seed::stream(seed, Purpose::Faults);
            let mut crashed = 0;
            for v in 0..1000 {
                if rng.random_bool(0.5) {
                    h.node_crashed(v);
                    crashed += 1;
                }
            }
            let dead_passive = |h: &HyParView| {
                let (mut dead, mut all) = (0, 0);
                for v in (0..1000).filter(|&v| h.up[v as usize]) {
                    all += h.passive(v).len();
                    dead += h.passive(v).iter().filter(|&&p| !h.up[p as usize]).count();
                }
                dead as f64 / all as f64
            };
            let before = dead_passive(&h);
            h.maintain_all();
            h.check().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            for v in (0..1000).filter(|&v| h.up[v as usize]) {
                assert!(
                    h.active(v).iter().all(|&p| h.up[p as usize]),
                    "seed {seed}: node {v} still links to a crashed node"
                );
            }
            // The live nodes are one component again.
            assert_eq!(reachable(&h), 1000 - crashed, "seed {seed}");
            for _ in 0..5 {
                h.maintain_all();
            }
            // Passive views are cleaned only as entries are tried or shuffled out: the crashed
            // fraction falls but does not vanish in a few rounds.
            let after = dead_passive(&h);
            assert!(after < before, "seed {seed}: {before} -> {after}");
        }
    }

    #[test]
    fn a_recovered_node_rejoins_with_symmetric_links() {
        let mut h = built(200, 1);
        h.node_crashed(7);
        h.node_recovered(7);
        h.check().unwrap();
        assert!(!h.active(7).is_empty());
        assert_eq!(reachable(&h), 200);
    }
}
