//! `tables.csv`: every node's final price of every product that changed during the trial, so a
//! small scenario shows who serves which price. Rows of one trial are ordered by node, then
//! product.

use std::io::{self, Write};

use super::{CsvOut, ROW_PREFIX, Table};
use crate::report::TrialReport;
use crate::scenario::Catalog;

pub struct TablesTable<'a> {
    scenario: &'a str,
    catalog: &'a Catalog,
}

impl<'a> TablesTable<'a> {
    pub fn new(scenario: &'a str, catalog: &'a Catalog) -> TablesTable<'a> {
        TablesTable { scenario, catalog }
    }
}

impl Table for TablesTable<'_> {
    fn file_name(&self) -> &'static str {
        "tables.csv"
    }

    fn header(&self) -> Vec<&'static str> {
        let mut header = ROW_PREFIX.to_vec();
        header.extend(["node", "up", "product", "version", "price"]);
        header
    }

    fn write_trial<W: Write>(&self, report: &TrialReport, out: &mut CsvOut<W>) -> io::Result<()> {
        for entry in &report.tables {
            out.row_prefix(self.scenario, report)?;
            out.int(entry.node)?;
            out.text(if entry.up { "true" } else { "false" })?;
            out.text(self.catalog.name(entry.product))?;
            out.opt_int(entry.version)?;
            match entry.price {
                Some(price) => out.float(price)?,
                None => out.empty()?,
            }
            out.end_row()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::tests::{report, to_string};
    use crate::report::TableEntry;
    use crate::scenario::Workload;

    #[test]
    fn exact_rows_with_lost_tables_left_empty() {
        let catalog = Catalog::new(&Workload {
            products: 1,
            explicit: vec![],
            generated: None,
        });
        let mut trial = report(0);
        trial.tables = vec![
            TableEntry {
                node: 0,
                up: true,
                product: 0,
                version: Some(1),
                price: Some(99.99),
            },
            TableEntry {
                node: 1,
                up: false,
                product: 0,
                version: None,
                price: None,
            },
        ];
        assert_eq!(
            to_string(&TablesTable::new("quickstart", &catalog), &[trial]),
            "scenario,trial,seed,node,up,product,version,price\n\
             quickstart,0,1000,0,true,P000001,1,99.99\n\
             quickstart,0,1000,1,false,P000001,,\n"
        );
    }
}
