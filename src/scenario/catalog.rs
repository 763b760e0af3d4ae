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
