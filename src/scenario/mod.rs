//! Scenario files: the raw TOML shape, its validation, and the resolved [`Scenario`].
//!
//! [`load`] reads a file, applies `--set KEY=VALUE` overrides, deserializes the result into a
//! [`RawScenario`] (the file exactly as written) and [`validate`]s that into a [`Scenario`] (every
//! default filled, every time in microseconds). A [`ScenarioError`] is one line naming the file,
//! the line or flag, the dotted key and the bad value. A `Scenario` displays as a scenario file
//! that parses back to the same scenario. [`load_sweep`] expands a file's `[sweep]` table into
//! a grid of scenarios, one [`Point`] each.

mod catalog;
mod display;
mod error;
mod load;
mod model;
mod raw;
mod sweep;
mod toml_keys;
mod validate;

pub use catalog::Catalog;
pub(crate) use display::{toml_float, toml_string};
pub use error::{KeyPath, KeySegment, Location, Origin, ScenarioError, Warning, Written};
pub use load::{load, parse, parse_with_warnings};
pub use model::*;
pub use raw::{
    RawChurn, RawCrash, RawLatency, RawNetwork, RawOutput, RawOverlay, RawProtocol, RawRegion,
    RawScenario, RawSizes, RawUpdate, RawWorkload,
};
pub use sweep::{
    MAX_POINTS, Point, Sweep, load_sweep, load_sweep_with_warnings, parse_sweep,
    parse_sweep_with_warnings,
};
pub use validate::{is_valid_name, product_name_problem, validate, validate_with_warnings};
