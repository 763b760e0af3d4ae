//! Hooks for the criterion benchmarks in `benches/`: the engine's hot parts, driven one step at
//! a time. Not part of the public API.

use crate::protocol::anti_entropy::{AntiEntropy, Exchange};
use crate::scenario::{Catalog, ExchangeMode, ProtocolKind, Scenario};
use crate::seed;
use crate::time::Time;

use super::lockstep;
use super::trial::Trial;

/// A `rounds` trial of the built-in anti-entropy that runs one round per call, with its state
/// carried over.
pub struct Rounds<'s> {
    trial: Trial<'s>,
    protocol: AntiEntropy,
    state: lockstep::Rounds<()>,
    round: u64,
}

impl<'s> Rounds<'s> {
    /// Panics unless `scenario` runs push, pull or push-pull.
    pub fn new(scenario: &'s Scenario, catalog: &Catalog) -> Rounds<'s> {
        let exchange = match scenario.protocol.kind {
            ProtocolKind::Push => Exchange::Push,
            ProtocolKind::Pull => Exchange::Pull,
            ProtocolKind::PushPull => Exchange::PushPull {
                full_table: scenario.protocol.exchange == ExchangeMode::FullTable,
            },
            other => panic!(
                "the round benchmark runs anti-entropy, not {}",
                other.as_str()
            ),
        };
        let (trial, protocol) = Trial::new(
            scenario,
            catalog,
            seed::trial_seed(scenario.seed, 0),
            |_| AntiEntropy::new(exchange),
        );
        Rounds {
            state: lockstep::Rounds::new(&trial),
            trial,
            protocol,
            round: 0,
        }
    }

    /// Runs the next round.
    pub fn round(&mut self) {
        lockstep::round(
            &mut self.trial,
            &mut self.protocol,
            &mut self.state,
            self.round,
        );
        self.round += 1;
    }

    /// Digest push-pull contacts between each pair, within one staged round (run a few
    /// rounds first so that some nodes hold the update). The round's setup (copying the row
    /// matrix) is paid once per call, so pass many pairs.
    pub fn exchange_contacts(&mut self, pairs: &[(u32, u32)]) {
        let at = Time((self.round + 1) * self.trial.scenario.period.0);
        let Trial {
            world,
            transport,
            contacts,
            ..
        } = &mut self.trial;
        let mut lost = || transport.lost();
        world.begin_round();
        for &(from, to) in pairs {
            if world.one_word_rows() {
                contacts.exchange::<false>(world, from, to, false, at, &mut lost);
            } else {
                contacts.exchange::<true>(world, from, to, false, at, &mut lost);
            }
        }
        world.end_round();
    }
}
