//! `coverage.csv`: how many live nodes held each update at the end of each round, for plotting
//! spread curves. Rows of one trial are grouped by update, then ordered by round.

use std::io::{self, Write};

use super::{CsvOut, ROW_PREFIX, Table};
use crate::report::{CoverageSample, TrialReport};
use crate::time::Time;

pub struct CoverageTable<'a> {
    scenario: &'a str,
    period: Time,
}

impl<'a> CoverageTable<'a> {
    pub fn new(scenario: &'a str, period: Time) -> CoverageTable<'a> {
        CoverageTable { scenario, period }
    }
}

impl Table for CoverageTable<'_> {
    fn file_name(&self) -> &'static str {
        "coverage.csv"
    }

    fn header(&self) -> Vec<&'static str> {
        let mut header = ROW_PREFIX.to_vec();
        header.extend(["update", "round", "informed", "alive"]);
        header
    }

    fn write_trial<W: Write>(&self, report: &TrialReport, out: &mut CsvOut<W>) -> io::Result<()> {
        let mut samples: Vec<&CoverageSample> = report.coverage.iter().collect();
        samples.sort_by_key(|sample| (sample.update, sample.at));
        for sample in samples {
            out.row_prefix(self.scenario, report)?;
            out.int(sample.update)?;
            out.rounds(sample.at, self.period)?;
            out.int(sample.informed)?;
            out.int(sample.alive)?;
            out.end_row()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::{PERIOD, report, to_string};

    #[test]
    fn exact_rows_grouped_by_update_then_round() {
        let table = CoverageTable::new("baseline", PERIOD);
        assert_eq!(
            to_string(&table, &[report(0)]),
            "scenario,trial,seed,update,round,informed,alive\n\
             baseline,0,1000,0,1,2,10\n\
             baseline,0,1000,0,2,5,10\n\
             baseline,0,1000,1,2,1,10\n"
        );
    }
}
