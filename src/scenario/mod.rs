//! Scenario files: the raw TOML shape, its validation, and the resolved [`Scenario`].

mod catalog;
mod model;
mod raw;

pub use catalog::Catalog;
pub use model::*;
pub use raw::{
    RawChurn, RawCrash, RawLatency, RawNetwork, RawOutput, RawProtocol, RawScenario, RawSizes,
    RawUpdate, RawWorkload,
};
