//! `runs.csv`: one row per trial, the trial's totals. `bytes_per_delivery` is `bytes` over the
//! deliveries of updates to nodes that lacked them (empty when there were none); the bounds'
//! counts (`deferred_entries`, ...) are [`crate::report::RunReport`]'s. The trial's node count is the `nodes`
//! parameter column, which every file carries (see [`super::params`]).

use std::io::{self, Write};

use super::{CsvOut, RATIO_DECIMALS, ROW_PREFIX, Table};
use crate::report::{MessageKind, TrialReport};
use crate::time::Time;

pub struct RunsTable<'a> {
    scenario: &'a str,
    period: Time,
}

impl<'a> RunsTable<'a> {
    pub fn new(scenario: &'a str, period: Time) -> RunsTable<'a> {
        RunsTable { scenario, period }
    }
}

impl Table for RunsTable<'_> {
    fn file_name(&self) -> &'static str {
        "runs.csv"
    }

    fn header(&self) -> Vec<&'static str> {
        let mut header = ROW_PREFIX.to_vec();
        header.extend(["rounds", "messages"]);
        let (first, later) = MessageKind::ALL.split_at(MessageKind::FIRST_COLUMNS);
        header.extend(first.iter().map(|k| k.column()));
        header.extend([
            "bytes",
            "delivered",
            "lost",
            "dropped_at_crashed",
            "in_flight_at_end",
            "crashes",
            "recoveries",
            "stale_node_rounds",
            "alive_at_end",
        ]);
        header.extend(later.iter().map(|k| k.column()));
        header.extend([
            "warmup_messages",
            "deferred_entries",
            "never_sent_entries",
            "oversize_messages",
            "over_budget_messages",
            "bytes_per_delivery",
        ]);
        header
    }

    fn write_trial<W: Write>(&self, report: &TrialReport, out: &mut CsvOut<W>) -> io::Result<()> {
        let run = &report.run;
        out.row_prefix(self.scenario, report)?;
        out.rounds(run.end, self.period)?;
        out.int(run.messages)?;
        let (first, later) = MessageKind::ALL.split_at(MessageKind::FIRST_COLUMNS);
        for &kind in first {
            out.int(run.messages_by_kind[kind as usize])?;
        }
        for value in [
            run.bytes,
            run.delivered,
            run.lost,
            run.dropped_at_crashed,
            run.in_flight_at_end,
            run.crashes,
            run.recoveries,
            run.stale_node_rounds,
            run.alive_at_end,
        ] {
            out.int(value)?;
        }
        for &kind in later {
            out.int(run.messages_by_kind[kind as usize])?;
        }
        for value in [
            run.warmup_messages,
            run.deferred_entries,
            run.never_sent_entries,
            run.oversize_messages,
            run.over_budget_messages,
        ] {
            out.int(value)?;
        }
        let deliveries: u64 = report.updates.iter().map(|u| u.deliveries).sum();
        match deliveries {
            0 => out.empty()?,
            d => out.decimal(u128::from(run.bytes), u128::from(d), RATIO_DECIMALS)?,
        }
        out.end_row()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::{PERIOD, report, to_string};

    #[test]
    fn exact_rows_of_hand_made_trials() {
        let table = RunsTable::new("baseline", PERIOD);
        let mut late = report(1);
        late.run.end = Time::from_micros(1_234_567);
        assert_eq!(
            to_string(&table, &[report(0), late]),
            "scenario,trial,seed,rounds,messages,push_messages,pull_requests,pull_replies,\
             exchange_opens,exchange_replies,exchange_closes,bytes,delivered,lost,\
             dropped_at_crashed,in_flight_at_end,crashes,recoveries,stale_node_rounds,\
             alive_at_end,gossip_messages,ihave_messages,graft_messages,prune_messages,\
             membership_messages,warmup_messages,deferred_entries,never_sent_entries,\
             oversize_messages,over_budget_messages,bytes_per_delivery\n\
             baseline,0,1000,10,43,40,3,0,0,0,0,4096,40,3,1,0,1,0,12,9,0,0,0,0,0,0,0,0,0,0,\
             273.066667\n\
             baseline,1,1001,12.346,44,41,3,0,0,0,0,4096,40,3,1,0,1,0,12,9,0,0,0,0,0,0,0,0,0,0,\
             273.066667\n"
        );
    }
}
