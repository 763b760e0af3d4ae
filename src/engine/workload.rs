//! The price updates of one trial: explicit ones from the scenario and generated ones (Poisson
//! arrivals, Zipf-popular products, random prices), merged in time order and given versions.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, Zipf};

use crate::scenario::{Catalog, NodeId, Scenario};
use crate::time::Time;

/// One update as planned before the trial runs.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedUpdate {
    pub at: Time,
    pub product: u32,
    /// Versions order the updates of one product: 1, 2, ... in injection order.
    pub version: u32,
    pub price: f64,
    /// `None`: a uniformly random live node at injection time.
    pub origin: Option<NodeId>,
}

/// Plans every update of a trial, sorted by injection time (ties: explicit updates first, in
/// file order, then generated ones in generation order), with versions assigned in that order.
/// `quantize` maps a planned time to the time it takes effect (rounds timing rounds up to the
/// start of the next round).
pub fn plan(
    scenario: &Scenario,
    catalog: &Catalog,
    rng: &mut ChaCha8Rng,
    quantize: impl Fn(Time) -> Time,
) -> Vec<PlannedUpdate> {
    let workload = &scenario.workload;
    let mut planned: Vec<PlannedUpdate> = workload
        .explicit
        .iter()
        .map(|u| PlannedUpdate {
            at: quantize(u.at),
            product: catalog
                .id(&u.product)
                .expect("catalog holds every explicit product"),
            version: 0,
            price: u.price,
            origin: Some(u.origin),
        })
        .collect();

    if let Some(generated) = &workload.generated {
        let end = Time(
            scenario
                .period
                .0
                .saturating_mul(u64::from(scenario.max_rounds)),
        );
        let products = workload.products.max(1);
        // rand_distr's Zipf takes n >= 1 and s >= 0 (s = 0 is uniform); validated upstream.
        let zipf = Zipf::new(f64::from(products), generated.zipf_exponent)
            .expect("validated zipf exponent");
        let gap = generated
            .per_round
            .map(|rate| Exp::new(rate / scenario.period.0 as f64).expect("validated rate > 0"));
        let mut t = generated.start.0 as f64;
        for _ in 0..generated.count {
            if let Some(gap) = &gap {
                t += gap.sample(rng);
            }
            let at = Time(t.min(u64::MAX as f64 / 4.0) as u64);
            if at >= end {
                break; // Past the end of the run: it would never be injected.
            }
            let product = (zipf.sample(rng) as u32).clamp(1, products) - 1;
            let cents = rng.random_range(
                (generated.min_price * 100.0).round() as u64
                    ..=(generated.max_price * 100.0).round() as u64,
            );
            planned.push(PlannedUpdate {
                at: quantize(at),
                product,
                version: 0,
                price: cents as f64 / 100.0,
                origin: None,
            });
        }
    }

    // Stable sort keeps file order, then generation order, among equal times.
    planned.sort_by_key(|u| u.at);
    let mut versions = vec![0u32; catalog.len() as usize];
    for update in &mut planned {
        let v = &mut versions[update.product as usize];
        *v += 1;
        update.version = *v;
    }
    planned
}
