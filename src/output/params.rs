//! The run's parameters: columns every row of every file carries (schema 3), so that the tables of
//! separate runs concatenate and each row still says what produced it (OMNeT++ calls these a
//! run's attributes and iteration variables).
//!
//! After `scenario,trial,seed` (`scenario` alone in `summary.csv`) come, in this order:
//! - `point`: the sweep point's index, 0 outside a sweep;
//! - [`FIXED`]: the defining parameters of every scenario, swept or not, read from the resolved
//!   scenario;
//! - one column per swept key that is not one of those, holding the point's value as the sweep
//!   wrote it.
//!
//! A column is named after its scenario key with every character that is not a letter, a digit
//! or `_` turned into `_` (`network.loss` -> `network_loss`, `crashes.0.fraction` ->
//! `crashes_0_fraction`), so pandas can use it as an attribute (`df.network_loss`) and R as a
//! name; keys with a unit keep it in their name (`protocol.period_ms` -> `protocol_period_ms`).
//! A swept key whose name is taken by another column (`seed`) is `sweep_KEY`.

use super::decimal;
use crate::scenario::{Scenario, Timing};

/// The columns every row carries, with the scenario key each comes from.
pub const FIXED: [(&str, &str); 7] = [
    ("nodes", "nodes"),
    ("protocol_kind", "protocol.kind"),
    ("protocol_fanout", "protocol.fanout"),
    ("protocol_timing", "protocol.timing"),
    ("protocol_period_ms", "protocol.period_ms"),
    ("network_loss", "network.loss"),
    ("overlay_kind", "overlay.kind"),
];

/// The sweep point's column, first of the block.
pub const POINT: &str = "point";

/// The parameter columns of one run: `point`, [`FIXED`], then the other swept keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunColumns {
    /// Every column of the block, in order.
    names: Vec<String>,
    /// Each swept key, in sweep order, with its column and, for a key of [`FIXED`], its index
    /// there.
    swept: Vec<(String, String, Option<usize>)>,
}

impl RunColumns {
    /// The block for a run sweeping `keys` (none outside a sweep). `taken` are the other
    /// columns of every file the run writes: a swept key named like one of them gets `sweep_`.
    pub fn new(keys: &[String], taken: &[&str]) -> RunColumns {
        let mut names: Vec<String> = std::iter::once(POINT)
            .chain(FIXED.iter().map(|(column, _)| *column))
            .map(str::to_owned)
            .collect();
        let mut swept = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(fixed) = FIXED.iter().position(|(_, k)| k == key) {
                swept.push((key.clone(), FIXED[fixed].0.to_owned(), Some(fixed)));
                continue;
            }
            let mut name = column_name(key);
            while names.contains(&name) || taken.contains(&name.as_str()) {
                name = format!("sweep_{name}");
            }
            names.push(name.clone());
            swept.push((key.clone(), name, None));
        }
        RunColumns { names, swept }
    }

    /// The column names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Each swept key with its column, in sweep order.
    pub fn swept(&self) -> impl Iterator<Item = (&str, &str)> {
        self.swept
            .iter()
            .map(|(key, column, _)| (key.as_str(), column.as_str()))
    }

    /// The cells of one point: its index, `scenario`'s defining parameters, then the values of
    /// `params` (the point's swept keys and values, in sweep order) for the keys without a
    /// fixed column.
    pub fn cells(
        &self,
        point: usize,
        params: &[(String, String)],
        scenario: &Scenario,
    ) -> Vec<String> {
        let mut cells = Vec::with_capacity(self.names.len());
        cells.push(point.to_string());
        cells.extend(fixed_values(scenario));
        for (key, _, fixed) in &self.swept {
            if fixed.is_some() {
                continue;
            }
            let value = params
                .iter()
                .find(|(k, _)| k == key)
                .map_or("", |(_, value)| value.as_str());
            cells.push(value.to_owned());
        }
        cells
    }
}

/// The values of [`FIXED`] for `scenario`, as the tables print numbers: integers plain, the
/// period in milliseconds with up to 3 decimals, the loss as Rust prints an `f64` (the shortest
/// text that reads back to the same value, never an exponent).
pub fn fixed_values(scenario: &Scenario) -> [String; 7] {
    let timing = match scenario.timing {
        Timing::Rounds => "rounds",
        Timing::Async { .. } => "async",
    };
    [
        scenario.nodes.to_string(),
        scenario.protocol.kind.as_str().to_owned(),
        scenario.protocol.fanout.to_string(),
        timing.to_owned(),
        decimal(u128::from(scenario.period.micros()), 1_000, 3),
        format!("{}", scenario.network.loss),
        scenario.overlay.as_str().to_owned(),
    ]
}

/// The column of scenario key `key`: every character other than an ASCII letter, digit or `_`
/// becomes `_`.
pub fn column_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|key| key.to_string()).collect()
    }

    #[test]
    fn outside_a_sweep_the_block_is_point_and_the_fixed_parameters() {
        let columns = RunColumns::new(&[], &["seed"]);
        assert_eq!(
            columns.names().join(","),
            "point,nodes,protocol_kind,protocol_fanout,protocol_timing,protocol_period_ms,\
             network_loss,overlay_kind"
        );
        assert_eq!(columns.swept().count(), 0);
    }

    #[test]
    fn swept_keys_reuse_fixed_columns_or_get_their_own_without_dots() {
        let columns = RunColumns::new(
            &keys(&[
                "protocol.kind",
                "crashes.0.fraction",
                "seed",
                "nodes",
                "a-b.c",
            ]),
            &["scenario", "trial", "seed", "update"],
        );
        assert_eq!(
            &columns.names()[8..],
            ["crashes_0_fraction", "sweep_seed", "a_b_c"]
        );
        let swept: Vec<(&str, &str)> = columns.swept().collect();
        assert_eq!(
            swept,
            [
                ("protocol.kind", "protocol_kind"),
                ("crashes.0.fraction", "crashes_0_fraction"),
                ("seed", "sweep_seed"),
                ("nodes", "nodes"),
                ("a-b.c", "a_b_c"),
            ]
        );
    }

    #[test]
    fn cells_come_from_the_resolved_scenario_and_the_point() {
        let scenario = crate::scenario::parse(
            "name = \"s\"\nnodes = 30\n[protocol]\nkind = \"push-pull\"\nfanout = 2\n\
             timing = \"async\"\nperiod_ms = 250\n[network]\nloss = 0.1\n\
             [overlay]\nkind = \"k-regular\"\ndegree = 4\n[[updates]]\nproduct = \"P\"\n\
             price = 1.0\norigin = 0\n",
            "s.toml",
            &[],
        )
        .unwrap();
        let columns = RunColumns::new(&keys(&["network.loss", "overlay.degree"]), &[]);
        let params = vec![
            ("network.loss".to_owned(), "0.10".to_owned()),
            ("overlay.degree".to_owned(), "4".to_owned()),
        ];
        assert_eq!(
            columns.cells(3, &params, &scenario).join(","),
            "3,30,push-pull,2,async,250,0.1,k-regular,4"
        );
    }
}
