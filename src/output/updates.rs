//! `updates.csv`: one row per trial and price update.
//!
//! Times become rounds by dividing by the gossip period: `rounds_to_X` and
//! `last_delivery_round` count from the update's injection, `injected_round` from the start of
//! the trial. `coverage` is the fraction of live nodes holding the update at the end of the
//! trial, `residue` the fraction that never got it (Demers et al., "Epidemic algorithms for
//! replicated database maintenance", 1987), `traffic` the update's messages per node. `rmr` is
//! the relative message redundancy of Leitão, Pereira & Rodrigues ("Epidemic broadcast trees",
//! 2007): m / (n - 1) - 1, with m the messages that carried the update (`update_messages`) and n
//! the live nodes holding it at the end, origin included; 0 means one message per node reached.
//! It is empty when fewer than 2 nodes hold the update. `stale_node_rounds` sums, over the rounds
//! (periods) the update was in flight, the live nodes that lacked it: node-rounds serving an
//! older version of its product.

use std::io::{self, Write};

use super::{CsvOut, RATIO_DECIMALS, ROUND_DECIMALS, ROW_PREFIX, Table, elapsed};
use crate::report::{TrialReport, UpdateReport};
use crate::scenario::Catalog;
use crate::time::Time;

pub struct UpdatesTable<'a> {
    scenario: &'a str,
    period: Time,
    catalog: &'a Catalog,
}

impl<'a> UpdatesTable<'a> {
    pub fn new(scenario: &'a str, period: Time, catalog: &'a Catalog) -> UpdatesTable<'a> {
        UpdatesTable {
            scenario,
            period,
            catalog,
        }
    }

    fn write_update<W: Write>(
        &self,
        report: &TrialReport,
        update: &UpdateReport,
        out: &mut CsvOut<W>,
    ) -> io::Result<()> {
        let period = self.period;
        let since_injection = |at: Option<Time>| at.map(|at| elapsed(update.injected_at, at));

        out.row_prefix(self.scenario, report)?;
        out.int(update.update)?;
        out.text(self.catalog.name(update.product))?;
        out.int(update.version)?;
        out.float(update.price)?;
        out.int(update.origin)?;
        out.rounds(update.injected_at, period)?;
        out.opt_rounds(since_injection(update.reached_50), period)?;
        out.opt_rounds(since_injection(update.reached_90), period)?;
        out.opt_rounds(since_injection(update.reached_99), period)?;
        out.opt_rounds(since_injection(update.reached_all), period)?;
        match since_injection(update.reached_all) {
            Some(time) => out.decimal(u128::from(time.micros()), 1_000, ROUND_DECIMALS)?,
            None => out.empty()?,
        }

        let alive = u128::from(update.final_alive);
        let informed = u128::from(update.final_informed).min(alive);
        if alive == 0 {
            out.int(0u8)?;
            out.int(1u8)?;
        } else {
            out.decimal(informed, alive, RATIO_DECIMALS)?;
            out.decimal(alive - informed, alive, RATIO_DECIMALS)?;
        }

        out.int(update.update_messages)?;
        match report.run.nodes {
            0 => out.int(0u8)?,
            nodes => out.decimal(
                u128::from(update.update_messages),
                u128::from(nodes),
                RATIO_DECIMALS,
            )?,
        }
        out.opt_int(update.messages_to_all)?;
        out.int(update.duplicates)?;
        match update.deliveries {
            0 => out.empty()?,
            deliveries => out.decimal(
                update.delivery_delay_sum,
                u128::from(deliveries) * u128::from(period.micros()),
                ROUND_DECIMALS,
            )?,
        }
        out.opt_rounds(since_injection(update.last_delivery), period)?;
        out.int(update.max_hops)?;
        match update.final_informed {
            0 | 1 => out.empty()?,
            reached => {
                let others = i128::from(reached - 1);
                out.signed_decimal(
                    i128::from(update.update_messages) - others,
                    others as u128,
                    RATIO_DECIMALS,
                )?
            }
        }
        out.int(update.stale_node_rounds)?;
        out.end_row()
    }
}

impl Table for UpdatesTable<'_> {
    fn file_name(&self) -> &'static str {
        "updates.csv"
    }

    fn header(&self) -> Vec<&'static str> {
        let mut header = ROW_PREFIX.to_vec();
        header.extend([
            "update",
            "product",
            "version",
            "price",
            "origin",
            "injected_round",
            "rounds_to_50",
            "rounds_to_90",
            "rounds_to_99",
            "rounds_to_all",
            "time_to_all_ms",
            "coverage",
            "residue",
            "update_messages",
            "traffic",
            "messages_to_all",
            "duplicates",
            "mean_delivery_round",
            "last_delivery_round",
            "max_hops",
            "rmr",
            "stale_node_rounds",
        ]);
        header
    }

    fn write_trial<W: Write>(&self, report: &TrialReport, out: &mut CsvOut<W>) -> io::Result<()> {
        let mut updates: Vec<&UpdateReport> = report.updates.iter().collect();
        updates.sort_by_key(|update| update.update);
        for update in updates {
            self.write_update(report, update, out)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::{PERIOD, catalog, report, to_string};

    #[test]
    fn exact_rows_of_a_hand_made_trial() {
        let catalog = catalog();
        let table = UpdatesTable::new("flat, lossy", PERIOD, &catalog);
        assert_eq!(
            to_string(&table, &[report(0)]),
            "scenario,trial,seed,update,product,version,price,origin,injected_round,\
             rounds_to_50,rounds_to_90,rounds_to_99,rounds_to_all,time_to_all_ms,coverage,\
             residue,update_messages,traffic,messages_to_all,duplicates,mean_delivery_round,\
             last_delivery_round,max_hops,rmr,stale_node_rounds\n\
             \"flat, lossy\",0,1000,0,P000001,1,12.5,3,0,2,3,4,4,400,1,0,25,2.5,31,15,2.778,4,4,\
             1.777778,3\n\
             \"flat, lossy\",0,1000,1,P000002,2,10,0,1.5,2.667,,,,,0.777778,0.222222,18,1.8,,2,\
             1.667,5.5,3,2,5\n"
        );
    }

    #[test]
    fn nothing_alive_and_nothing_delivered() {
        let catalog = catalog();
        let table = UpdatesTable::new("s", PERIOD, &catalog);
        let mut trial = report(0);
        trial.updates.truncate(1);
        let update = &mut trial.updates[0];
        update.final_alive = 0;
        update.final_informed = 0;
        update.deliveries = 0;
        update.delivery_delay_sum = 0;
        update.last_delivery = None;
        let csv = to_string(&table, &[trial]);
        let row = csv.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "s,0,1000,0,P000001,1,12.5,3,0,2,3,4,4,400,0,1,25,2.5,31,15,,,4,,3"
        );
    }

    /// RMR = m / (n - 1) - 1 (Leitão et al. 2007): negative when fewer messages than nodes
    /// reached carried it (an older version learnt through a newer one), empty below 2 nodes.
    #[test]
    fn rmr_is_signed_and_needs_two_nodes() {
        let catalog = catalog();
        let table = UpdatesTable::new("s", PERIOD, &catalog);
        let rmr = |messages: u64, informed: u64| {
            let mut trial = report(0);
            trial.updates.truncate(1);
            trial.updates[0].update_messages = messages;
            trial.updates[0].final_informed = informed;
            let csv = to_string(&table, &[trial]);
            csv.lines()
                .nth(1)
                .unwrap()
                .rsplit(',')
                .nth(1)
                .unwrap()
                .to_owned()
        };
        assert_eq!(rmr(9, 10), "0");
        assert_eq!(rmr(10, 10), "0.111111");
        assert_eq!(rmr(3, 10), "-0.666667");
        assert_eq!(rmr(0, 1), "");
        assert_eq!(rmr(5, 0), "");
        // Flooding over a 6-regular overlay of 10,000 nodes: 6 - 2 + 6 / 9999.
        assert_eq!(rmr(6 + 9_999 * 5, 10_000), "4.0006");
    }
}
