//! Scenario files: the raw TOML shape, its validation, and the resolved [`Scenario`].

mod catalog;
mod display;
mod error;
mod load;
mod model;
mod raw;
mod validate;

pub use catalog::Catalog;
pub use error::{KeyPath, KeySegment, Location, Origin, ScenarioError};
pub use load::{load, parse};
pub use model::*;
pub use raw::{
    RawChurn, RawCrash, RawLatency, RawNetwork, RawOutput, RawProtocol, RawScenario, RawSizes,
    RawUpdate, RawWorkload,
};
pub use validate::validate;
