//! Scenario files: the raw TOML shape, its validation, and the resolved [`Scenario`].

mod catalog;
mod model;

pub use catalog::Catalog;
pub use model::*;
