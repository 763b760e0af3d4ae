//! `regions.csv`: one row per trial, update and region, written only when the scenario has
//! regions. `rounds_to_all` and `time_to_all_ms` count from the update's injection until every
//! live node of the region held it (empty if that never happened, or the region had no live
//! node); `coverage` is the fraction of the region's live nodes holding it at the end.
//! `region_nodes` is the region's configured size (`nodes` is the whole scenario's, as in every
//! file).

use std::io::{self, Write};

use super::{CsvOut, RATIO_DECIMALS, ROUND_DECIMALS, ROW_PREFIX, Table, elapsed};
use crate::report::{RegionReport, TrialReport};
use crate::scenario::Regions;
use crate::time::Time;

pub struct RegionsTable<'a> {
    scenario: &'a str,
    period: Time,
    regions: &'a Regions,
}

impl<'a> RegionsTable<'a> {
    pub fn new(scenario: &'a str, period: Time, regions: &'a Regions) -> RegionsTable<'a> {
        RegionsTable {
            scenario,
            period,
            regions,
        }
    }
}

impl Table for RegionsTable<'_> {
    fn file_name(&self) -> &'static str {
        "regions.csv"
    }

    fn header(&self) -> Vec<&'static str> {
        let mut header = ROW_PREFIX.to_vec();
        header.extend([
            "update",
            "region",
            "region_nodes",
            "rounds_to_all",
            "time_to_all_ms",
            "coverage",
        ]);
        header
    }

    fn write_trial<W: Write>(&self, report: &TrialReport, out: &mut CsvOut<W>) -> io::Result<()> {
        let mut injected_at = vec![Time::ZERO; report.updates.len()];
        for update in &report.updates {
            if let Some(at) = injected_at.get_mut(update.update as usize) {
                *at = update.injected_at;
            }
        }
        let mut rows: Vec<&RegionReport> = report.regions.iter().collect();
        rows.sort_by_key(|row| (row.update, row.region));
        for row in rows {
            let region = &self.regions.regions[row.region as usize];
            let since = row.reached_all.map(|at| {
                elapsed(
                    injected_at
                        .get(row.update as usize)
                        .copied()
                        .unwrap_or_default(),
                    at,
                )
            });
            out.row_prefix(self.scenario, report)?;
            out.int(row.update)?;
            out.text(&region.name)?;
            out.int(region.nodes)?;
            out.opt_rounds(since, self.period)?;
            match since {
                Some(time) => out.decimal(u128::from(time.micros()), 1_000, ROUND_DECIMALS)?,
                None => out.empty()?,
            }
            match row.final_alive {
                0 => out.int(0u8)?,
                alive => out.decimal(
                    u128::from(row.final_informed.min(alive)),
                    u128::from(alive),
                    RATIO_DECIMALS,
                )?,
            }
            out.end_row()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::{PERIOD, report, to_string};
    use crate::scenario::Region;

    #[test]
    fn exact_rows_by_update_then_region() {
        let regions = Regions {
            regions: vec![
                Region {
                    name: "eu".into(),
                    nodes: 6,
                },
                Region {
                    name: "us".into(),
                    nodes: 4,
                },
            ],
            latency: Vec::new(),
            local_bias: None,
        };
        let mut trial = report(0);
        let row = |update, region, reached_all, final_informed, final_alive| RegionReport {
            update,
            region,
            reached_all,
            final_informed,
            final_alive,
        };
        let ms = Time::from_millis;
        trial.regions = vec![
            row(1, 1, None, 0, 0),
            row(0, 1, Some(ms(400)), 4, 4),
            row(1, 0, Some(Time::from_micros(400_500)), 5, 6),
            row(0, 0, Some(ms(300)), 6, 6),
        ];
        let table = RegionsTable::new("r", PERIOD, &regions);
        assert_eq!(
            to_string(&table, &[trial]),
            "scenario,trial,seed,update,region,region_nodes,rounds_to_all,time_to_all_ms,coverage\n\
             r,0,1000,0,eu,6,3,300,1\n\
             r,0,1000,0,us,4,4,400,1\n\
             r,0,1000,1,eu,6,2.505,250.5,0.833333\n\
             r,0,1000,1,us,4,,,0\n"
        );
    }
}
