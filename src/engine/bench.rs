//! Hooks for the criterion benchmarks in `benches/`: the engine's hot parts, driven one step at
//! a time. Not part of the public API.

use crate::protocol::Protocol;
use crate::scenario::{Catalog, Scenario};
use crate::seed;
use crate::time::Time;

use super::lockstep;
use super::trial::{Setup, Trial};

/// A `rounds` trial that runs one round per call, with its state carried over.
pub struct Rounds<'s, P: Protocol<Body = ()>> {
    trial: Trial<'s>,
    protocol: P,
    state: lockstep::Rounds<()>,
    round: u64,
}

impl<'s, P: Protocol<Body = ()>> Rounds<'s, P> {
    /// Trial 0 of `scenario`, running the protocol `make` builds.
    pub fn new(
        scenario: &'s Scenario,
        catalog: &Catalog,
        make: impl FnOnce(&Setup) -> P,
    ) -> Rounds<'s, P> {
        let (trial, protocol) =
            Trial::new(scenario, catalog, seed::trial_seed(scenario.seed, 0), make);
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
