//! What both timings share: the world, the queue, the random streams, and the scheduled
//! happenings (injections, planned crashes, churn, recoveries).

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

use crate::protocol::Protocol;
use crate::scenario::{Catalog, CrashTarget, NodeId, Overlay, Rejoin, Scenario, Timing};
use crate::seed::{self, Purpose};
use crate::time::Time;

use super::hyparview::HyParView;
use super::kernel::RoundContacts;
use super::network::Transport;
use super::overlay::Graph;
use super::peers::PeerSampler;
use super::queue::{Event, EventQueue};
use super::workload::{self, PlannedUpdate};
use super::world::World;

/// What a protocol is built from, per trial.
pub struct Setup<'s> {
    pub scenario: &'s Scenario,
    /// Updates planned for the trial (injected or not), indexed by update.
    pub updates: usize,
}

impl Setup<'_> {
    pub fn nodes(&self) -> u32 {
        self.scenario.nodes
    }
}

pub struct Trial<'s> {
    pub scenario: &'s Scenario,
    pub trial_seed: u64,
    pub world: World,
    pub queue: EventQueue,
    pub transport: Transport,
    pub peers: PeerSampler,
    planned: Vec<PlannedUpdate>,
    faults: ChaCha8Rng,
    /// Snapshot peers of nodes rejoining by snapshot.
    rejoin: ChaCha8Rng,
    workload: ChaCha8Rng,
    churn_gap: Option<Exp<f64>>,
    downtime: Option<Exp<f64>>,
    /// Scheduled happenings still in the queue: while any remain, the trial is not over.
    pub pending: u64,
    lock_step: bool,
    /// Up nodes, rebuilt when a crash plan needs to sample among them.
    scratch_up: Vec<NodeId>,
    /// When the next churn crash happens, before `schedule` moves it to a round start in rounds
    /// timing: the churn process runs on this clock, so its rate does not depend on the timing.
    churn_clock: u64,
    /// The lock-step kernel's contacts and their reused buffers.
    pub contacts: RoundContacts,
    /// Whether the engine may take its fast paths - batched lock-step contacts, the timer
    /// ring of async timing - (always, but for the tests that compare them with the plain ones).
    pub fast_paths: bool,
}

impl<'s> Trial<'s> {
    /// The trial, and the protocol `make` builds for it.
    pub fn new<P: Protocol>(
        scenario: &'s Scenario,
        catalog: &Catalog,
        trial_seed: u64,
        make: impl FnOnce(&Setup) -> P,
    ) -> (Trial<'s>, P) {
        let lock_step = scenario.timing == Timing::Rounds;
        let period = scenario.period;
        let quantize = |t: Time| quantize(lock_step, period, t);
        let mut workload = seed::stream(trial_seed, Purpose::Workload);
        let planned = workload::plan(scenario, catalog, &mut workload, quantize);
        let protocol = make(&Setup {
            scenario,
            updates: planned.len(),
        });
        let spreading = protocol.spreading_state(lock_step);
        let world = World::new(scenario, catalog.len(), &planned, lock_step, spreading);
        let churn_gap = scenario.churn.as_ref().and_then(|c| {
            let rate = c.crash_rate * f64::from(scenario.nodes) / period.0 as f64;
            (rate > 0.0).then(|| Exp::new(rate).expect("finite positive rate"))
        });
        let downtime = scenario
            .churn
            .as_ref()
            .map(|c| Exp::new(1.0 / c.mean_downtime.0.max(1) as f64).expect("positive mean"));
        let (peers, warmup_messages) = peer_sampler(scenario, trial_seed);
        let mut trial = Trial {
            scenario,
            trial_seed,
            world,
            queue: EventQueue::for_period(period),
            transport: match &scenario.regions {
                Some(regions) => {
                    Transport::new(&scenario.network, trial_seed).with_regions(regions)
                }
                None => Transport::new(&scenario.network, trial_seed),
            },
            peers,
            planned,
            faults: seed::stream(trial_seed, Purpose::Faults),
            rejoin: seed::stream(trial_seed, Purpose::Rejoin),
            workload,
            churn_gap,
            downtime,
            pending: 0,
            lock_step,
            scratch_up: Vec::new(),
            contacts: RoundContacts::default(),
            fast_paths: true,
            churn_clock: 0,
        };
        trial.world.metrics.run.warmup_messages = warmup_messages;
        for i in 0..trial.planned.len() {
            let at = trial.planned[i].at;
            trial.schedule(at, Event::Inject(i as u32));
        }
        for (i, plan) in scenario.crashes.iter().enumerate() {
            trial.schedule(plan.at, Event::CrashPlan(i as u32));
        }
        if let Some(churn) = &scenario.churn {
            trial.schedule_next_churn(churn.start.0 as f64);
        }
        (trial, protocol)
    }

    /// End of the run at the latest.
    pub fn horizon(&self) -> Time {
        Time(
            self.scenario
                .period
                .0
                .saturating_mul(u64::from(self.scenario.max_rounds)),
        )
    }

    fn schedule(&mut self, at: Time, event: Event) {
        let at = quantize(self.lock_step, self.scenario.period, at);
        if at >= self.horizon() {
            return; // Would happen after the run ends.
        }
        self.pending += 1;
        self.queue.push(at, event);
    }

    fn schedule_next_churn(&mut self, from_us: f64) {
        let (Some(gap), Some(churn)) = (&self.churn_gap, &self.scenario.churn) else {
            return;
        };
        let next = from_us + gap.sample(&mut self.faults);
        if next < churn.stop.0 as f64 {
            self.churn_clock = next as u64;
            self.schedule(Time(self.churn_clock), Event::Churn);
        }
    }

    /// The protocol's random stream.
    pub fn protocol_stream(&self) -> ChaCha8Rng {
        seed::stream(self.trial_seed, Purpose::Protocol)
    }

    /// Handles a scheduled happening. Returns the origin and slot of an update it injected.
    pub fn handle_scheduled(&mut self, event: Event, at: Time) -> Option<(NodeId, usize)> {
        let injected = match event {
            Event::Inject(i) => self.inject(i as usize, at),
            Event::CrashPlan(i) => {
                self.crash_plan(i as usize, at);
                None
            }
            Event::Recover(node) => {
                if !self.world.is_up(node) {
                    let by_snapshot = self.world.rejoining.contains(&node);
                    self.world.recover(node);
                    if by_snapshot && let Some(peer) = self.snapshot_peer(node) {
                        self.world.rejoin_by_snapshot(node, peer, at);
                    }
                    if let Some(overlay) = self.peers.hyparview() {
                        overlay.node_recovered(node);
                    }
                }
                None
            }
            Event::Churn => {
                self.churn(at);
                None
            }
            Event::Timer(_) | Event::Deliver(_) | Event::Tick | Event::Wake(_) => {
                unreachable!("the timing drivers handle their own events")
            }
        };
        self.pending -= 1;
        injected
    }

    fn inject(&mut self, i: usize, at: Time) -> Option<(NodeId, usize)> {
        let origin = match self.planned[i].origin {
            Some(origin) => origin,
            // Nobody up: the update is lost at a down origin.
            None => self.random_up_node(true).unwrap_or_default(),
        };
        let seq = self.queue.next_seq();
        self.world
            .inject(i, origin, at, seq)
            .map(|slot| (origin, slot))
    }

    /// A uniformly random up node, drawn from the workload stream (for origins) or the faults
    /// stream (for churn).
    fn random_up_node(&mut self, for_workload: bool) -> Option<NodeId> {
        if self.world.alive == 0 {
            return None;
        }
        let n = self.scenario.nodes;
        let rng = if for_workload {
            &mut self.workload
        } else {
            &mut self.faults
        };
        // Rejection sampling is exact; after 64 misses (most nodes down) fall back to a scan.
        for _ in 0..64 {
            let node = rng.random_range(0..n);
            if self.world.is_up(node) {
                return Some(node);
            }
        }
        let k = rng.random_range(0..self.world.alive);
        (0..n).filter(|&v| self.world.is_up(v)).nth(k as usize)
    }

    /// A uniformly random up node other than `node` (which is up), from the rejoin stream;
    /// `None` when `node` is the only one up.
    fn snapshot_peer(&mut self, node: NodeId) -> Option<NodeId> {
        if self.world.alive < 2 {
            return None;
        }
        let n = self.scenario.nodes;
        let rng = &mut self.rejoin;
        for _ in 0..64 {
            let peer = rng.random_range(0..n);
            if peer != node && self.world.is_up(peer) {
                return Some(peer);
            }
        }
        let k = rng.random_range(0..self.world.alive - 1);
        (0..n)
            .filter(|&v| v != node && self.world.is_up(v))
            .nth(k as usize)
    }

    fn crash_plan(&mut self, i: usize, at: Time) {
        let plan = &self.scenario.crashes[i];
        let recover_at = plan.recover_after.map(|d| at.saturating_add(d));
        let keep_state = plan.keep_state;
        let mut victims = std::mem::take(&mut self.scratch_up);
        victims.clear();
        match &plan.target {
            CrashTarget::Nodes(nodes) => victims.extend_from_slice(nodes),
            CrashTarget::Fraction(fraction) => {
                victims.extend((0..self.scenario.nodes).filter(|&v| self.world.is_up(v)));
                let k = ((fraction * victims.len() as f64).round() as usize).min(victims.len());
                // Partial Fisher-Yates: the first k are a uniform sample of the up nodes.
                for j in 0..k {
                    let pick = self.faults.random_range(j..victims.len());
                    victims.swap(j, pick);
                }
                victims.truncate(k);
            }
        }
        for &node in &victims {
            if self.world.crash(node, at, recover_at.is_some(), keep_state) {
                if let Some(overlay) = self.peers.hyparview() {
                    overlay.node_crashed(node);
                }
                if let Some(t) = recover_at {
                    self.schedule(t, Event::Recover(node));
                }
            }
        }
        self.scratch_up = victims;
    }

    fn churn(&mut self, at: Time) {
        let churn = self
            .scenario
            .churn
            .as_ref()
            .expect("churn event without churn");
        let keep_state = churn.keep_state;
        // Thinning: a uniformly random node crashes if it is up, so each up node crashes at
        // `crash_rate` per period whatever the number of nodes down.
        let node = self.faults.random_range(0..self.scenario.nodes);
        if self.world.is_up(node) {
            let downtime = self
                .downtime
                .as_ref()
                .map_or(0.0, |d| d.sample(&mut self.faults));
            let back = Time(at.0.saturating_add(downtime as u64));
            let by_snapshot = churn.rejoin == Rejoin::Snapshot;
            self.world
                .crash_rejoining(node, at, true, keep_state, by_snapshot);
            if let Some(overlay) = self.peers.hyparview() {
                overlay.node_crashed(node);
            }
            self.schedule(back, Event::Recover(node));
        }
        // From when this crash happened, not from the round start it was moved to: else rounds
        // timing would see at most one churn crash per round.
        debug_assert!(self.churn_clock <= at.0);
        self.schedule_next_churn(self.churn_clock as f64);
    }
}

/// Partner choice for the trial: full membership, the trial's overlay graph, HyParView's views
/// after their warm-up, or region-aware full membership. Every overlay is built from the
/// trial's overlay stream. Also returns the messages of HyParView's warm-up (0 otherwise).
fn peer_sampler(scenario: &Scenario, trial_seed: u64) -> (PeerSampler, u64) {
    let peers = PeerSampler::new(
        scenario.nodes,
        scenario.protocol.fanout,
        seed::stream(trial_seed, Purpose::PeerChoice),
    );
    if let Overlay::HyParView(params) = scenario.overlay {
        let mut overlay = HyParView::new(
            scenario.nodes,
            params,
            seed::stream(trial_seed, Purpose::Overlay),
        );
        let warmup = overlay.build();
        return (peers.with_hyparview(overlay), warmup);
    }
    if let Some(graph) = Graph::for_trial(scenario.overlay, scenario.nodes, trial_seed) {
        return (peers.with_graph(graph), 0);
    }
    match &scenario.regions {
        Some(regions) if let Some(bias) = regions.local_bias => {
            (peers.with_local_bias(regions.starts(), bias), 0)
        }
        _ => (peers, 0),
    }
}

/// In rounds timing a happening takes effect at the start of the first round at or after its
/// time; in async timing, at its time.
fn quantize(lock_step: bool, period: Time, t: Time) -> Time {
    if lock_step {
        Time(t.0.div_ceil(period.0).saturating_mul(period.0))
    } else {
        t
    }
}
