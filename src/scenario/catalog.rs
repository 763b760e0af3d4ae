//! Product names and ids. Ids are dense (`0..len`) so per-product state can live in flat arrays.

use std::collections::BTreeMap;

use super::model::Workload;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    names: Vec<String>,
    ids: BTreeMap<String, u32>,
}

impl Catalog {
    /// Products `0..workload.products` are named `P000001`, `P000002`, ...; a product named by an
    /// explicit update that is not among them is appended, in order of first mention.
    pub fn new(workload: &Workload) -> Catalog {
        let mut catalog = Catalog {
            names: Vec::new(),
            ids: BTreeMap::new(),
        };
        for i in 0..workload.products {
            catalog.insert(format!("P{:06}", i + 1));
        }
        for update in &workload.explicit {
            catalog.insert(update.product.clone());
        }
        catalog
    }

    fn insert(&mut self, name: String) -> u32 {
        if let Some(&id) = self.ids.get(&name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.ids.insert(name.clone(), id);
        self.names.push(name);
        id
    }

    /// Bytes the catalog of `workload` occupies: about 144 a product, measured (the name, its
    /// copy as a map key, the map's nodes). At the 10^7 products validation allows that is
    /// 1.4 GB, which the memory guard must count.
    pub fn estimated_bytes(workload: &Workload) -> u64 {
        let names = u64::from(workload.products) + workload.explicit.len() as u64;
        let explicit: u64 = workload
            .explicit
            .iter()
            .map(|update| 2 * update.product.len() as u64)
            .sum();
        names * 144 + explicit
    }

    pub fn len(&self) -> u32 {
        self.names.len() as u32
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    pub fn id(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }
}
