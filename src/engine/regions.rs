//! Completion by region: for every update in flight and every region, how many live nodes of
//! the region hold it, and when all of them first did.
//!
//! The metrics tracker keeps one counter per slot and region beside the world's global counters
//! and updates them at the same moments (learning, crash, recovery), so a region's milestone follows the same
//! rules as the global one: in `rounds` timing it is taken at the end of the round, in `async`
//! timing at the moment of the delivery (or crash) that completes it. A region with no live
//! node never completes.

use crate::report::RegionReport;
use crate::scenario::{NodeId, Regions};
use crate::time::Time;

use super::peers::region_of;
use super::world::World;

pub struct RegionTally {
    /// First node id of each region, then `nodes`.
    starts: Vec<NodeId>,
    regions: usize,
    /// Live nodes per region.
    alive: Vec<u64>,
    /// Live holders per slot and region, at `slot * regions + region`.
    informed: Vec<u64>,
    /// When every live node of the region first held the update, at `update * regions + region`.
    reached_all: Vec<Option<Time>>,
}

impl RegionTally {
    pub fn new(regions: &Regions, updates: usize) -> RegionTally {
        let count = regions.regions.len();
        RegionTally {
            starts: regions.starts(),
            regions: count,
            alive: regions.regions.iter().map(|r| u64::from(r.nodes)).collect(),
            informed: Vec::new(),
            reached_all: vec![None; updates * count],
        }
    }

    #[inline(always)]
    fn cell(&self, node: NodeId, slot: usize) -> usize {
        slot * self.regions + region_of(&self.starts, node)
    }

    /// Makes room for slot `slot`.
    pub fn add_slot(&mut self, slot: usize) {
        let len = (slot + 1) * self.regions;
        if self.informed.len() < len {
            self.informed.resize(len, 0);
        }
    }

    /// A new update takes slot `slot`: nobody holds it yet.
    pub fn reset_slot(&mut self, slot: usize) {
        let r = self.regions;
        self.informed[slot * r..(slot + 1) * r].fill(0);
    }

    /// Live `node` now holds `slot`.
    #[inline]
    pub fn gained(&mut self, node: NodeId, slot: usize) {
        let cell = self.cell(node, slot);
        self.informed[cell] += 1;
    }

    /// `node`, a holder of `slot`, is no longer a live holder (it crashed).
    #[inline]
    pub fn lost(&mut self, node: NodeId, slot: usize) {
        let cell = self.cell(node, slot);
        self.informed[cell] -= 1;
    }

    pub fn crashed(&mut self, node: NodeId) {
        self.alive[region_of(&self.starts, node)] -= 1;
    }

    pub fn recovered(&mut self, node: NodeId) {
        self.alive[region_of(&self.starts, node)] += 1;
    }

    /// Records, at `at`, every region whose live nodes now all hold `slot` (update `update`).
    pub fn check(&mut self, slot: usize, update: usize, at: Time) {
        let r = self.regions;
        for region in 0..r {
            let reached = &mut self.reached_all[update * r + region];
            let alive = self.alive[region];
            if reached.is_none() && alive > 0 && self.informed[slot * r + region] >= alive {
                *reached = Some(at);
            }
        }
    }
}

/// The per-region rows of a finished trial, in (update, region) order.
pub fn reports(world: &World) -> Vec<RegionReport> {
    let Some(tally) = world.metrics.regions.as_deref() else {
        return Vec::new();
    };
    let r = tally.regions;
    // A retired update is held by every live node that holds the baseline.
    let mut with_baseline = vec![0u64; r];
    for node in 0..world.nodes {
        if world.is_up(node) && world.has_baseline(node) {
            with_baseline[region_of(&tally.starts, node)] += 1;
        }
    }
    let updates = &world.metrics.updates;
    let mut rows = Vec::with_capacity(updates.len() * r);
    for (u, update) in updates.iter().enumerate() {
        let slot = world.slot_of(u);
        for (region, &retired_holders) in with_baseline.iter().enumerate() {
            let final_informed = if !update.injected {
                0
            } else if let Some(slot) = slot {
                tally.informed[slot * r + region]
            } else if world.is_retired(u) {
                retired_holders
            } else {
                0
            };
            rows.push(RegionReport {
                update: u as u32,
                region: region as u32,
                reached_all: tally.reached_all[u * r + region],
                final_informed,
                final_alive: tally.alive[region],
            });
        }
    }
    rows
}
