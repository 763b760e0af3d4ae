//! Errors from loading a scenario. Each is one line that names the file, where in it (line and
//! column, or the `--set` flag), the dotted key and the bad value, so the user can fix the input
//! without reading our source.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where a problem is. Displays as a message prefix ending in `": "`, such as
/// `scenarios/x.toml:3:8: ` or `scenarios/x.toml: --set protocol.fanout=3: `, or as nothing at all
/// when nothing is known (an error from [`validate`](super::validate::validate) on a
/// [`RawScenario`](super::RawScenario) that came from no file).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// The scenario file as the user named it.
    pub file: Option<String>,
    pub origin: Origin,
}

/// Where in the input the offending key or value came from: the file, or a flag.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Origin {
    #[default]
    Unknown,
    /// 1-based line and column (in characters) in the file.
    Line { line: usize, column: usize },
    /// The `--set KEY=VALUE` flag, without `--set`.
    Flag(String),
}

impl Location {
    pub fn file(file: &str) -> Location {
        Location {
            file: Some(file.to_owned()),
            origin: Origin::Unknown,
        }
    }

    pub(crate) fn with_origin(mut self, origin: Origin) -> Location {
        self.origin = origin;
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            f.write_str(file)?;
            if let Origin::Line { line, column } = self.origin {
                write!(f, ":{line}:{column}")?;
            }
            f.write_str(": ")?;
        }
        if let Origin::Flag(flag) = &self.origin {
            // Longer than any real flag: only a generated one is cut.
            write!(f, "--set {}: ", shorten_to(flag.clone(), 200))?;
        }
        Ok(())
    }
}

/// One step of a [`KeyPath`]: a table key or an array index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeySegment {
    Key(String),
    Index(usize),
}

/// A key of the scenario file, displayed the way users write it: `crashes[1].fraction`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<KeySegment>);

impl KeyPath {
    /// The document itself.
    pub fn root() -> KeyPath {
        KeyPath(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    pub fn segments(&self) -> &[KeySegment] {
        &self.0
    }

    pub fn key(&self, key: &str) -> KeyPath {
        let mut path = self.clone();
        path.0.push(KeySegment::Key(key.to_owned()));
        path
    }

    pub fn index(&self, index: usize) -> KeyPath {
        let mut path = self.clone();
        path.0.push(KeySegment::Index(index));
        path
    }

    /// The enclosing table or array; `None` for the root.
    pub fn parent(&self) -> Option<KeyPath> {
        let (_, parent) = self.0.split_last()?;
        Some(KeyPath(parent.to_vec()))
    }
}

/// `"protocol.fanout"` as a path, for keys written in code. Every segment is a key.
impl From<&str> for KeyPath {
    fn from(dotted: &str) -> KeyPath {
        KeyPath(
            dotted
                .split('.')
                .map(|key| KeySegment::Key(key.to_owned()))
                .collect(),
        )
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                KeySegment::Key(key) if i == 0 => f.write_str(key)?,
                KeySegment::Key(key) => write!(f, ".{key}")?,
                KeySegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Names the table a key sits in, as the user wrote it: `[protocol]`, `crashes[1]`, or the top
/// level.
struct TableName<'a>(&'a KeyPath);

impl fmt::Display for TableName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.segments().last() {
            None => f.write_str("at top level"),
            // An element of an array of tables has no header of its own to quote.
            Some(KeySegment::Index(_)) => write!(f, "in {}", self.0),
            Some(KeySegment::Key(_)) => write!(f, "in [{}]", self.0),
        }
    }
}

/// How a key is written in a TOML text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Written {
    /// `key = value`, or a part of a dotted key.
    Key,
    /// In a `[table]` header.
    Table,
    /// In an `[[array]]` header.
    ArrayOfTables,
}

/// "key `protocol.fanout`", "table `[protocol]`" or "table `[[crashes]]`".
pub(crate) struct DuplicateName<'a> {
    pub key: &'a KeyPath,
    pub written: Written,
}

impl DuplicateName<'_> {
    fn new(key: &KeyPath, written: Written) -> DuplicateName<'_> {
        DuplicateName { key, written }
    }
}

impl fmt::Display for DuplicateName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.written {
            Written::Key => write!(f, "key `{}`", self.key),
            Written::Table => write!(f, "table `[{}]`", self.key),
            Written::ArrayOfTables => write!(f, "table `[[{}]]`", self.key),
        }
    }
}

/// " (first written at line 3, column 1)", or nothing.
struct FirstAt(Option<(usize, usize)>);

impl fmt::Display for FirstAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some((line, column)) => write!(f, " (first written at line {line}, column {column})"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// `error` is not exposed as the `source()`: its text is already in the message, and
    /// `anyhow`'s `{:#}` would print it twice.
    #[error("cannot read {}: {}", .path.display(), os_message(.error))]
    Read { path: PathBuf, error: io::Error },

    /// Not valid TOML.
    #[error("{at}invalid TOML: {message}")]
    Syntax { at: Location, message: String },

    /// A problem the TOML reader reports that we cannot tie to a key.
    #[error("{at}{message}")]
    Toml { at: Location, message: String },

    /// `expected` is the list of keys the table accepts, as serde words it: "one of `a`, `b`".
    #[error("{at}unknown key `{key}` {} (expected {expected})", TableName(.table))]
    UnknownKey {
        at: Location,
        key: String,
        table: KeyPath,
        expected: String,
    },

    #[error("{at}missing required key `{key}`")]
    MissingKey { at: Location, key: KeyPath },

    /// A table needs exactly one of several alternative keys and has none.
    #[error("{at}{table}: missing one of {}", .keys.join(", "))]
    MissingOneOf {
        at: Location,
        table: KeyPath,
        keys: Vec<&'static str>,
    },

    /// A key has a value of the wrong type or out of range. `value` is written as TOML.
    #[error("{at}{key} = {value}: {problem}")]
    Invalid {
        at: Location,
        key: KeyPath,
        value: String,
        problem: String,
    },

    /// A `--set` flag that cannot be applied; `at.flag` names it.
    #[error("{at}{problem}")]
    Override { at: Location, problem: String },

    /// A key, or a table, written twice in the file; `written` is how the second one is
    /// written, `first` the line and column of the first one, when there is one.
    #[error("{at}duplicate {}{}", DuplicateName::new(.key, *.written), FirstAt(*.first))]
    Duplicate {
        at: Location,
        key: KeyPath,
        written: Written,
        first: Option<(usize, usize)>,
    },

    #[error("{at}no price updates: add [[updates]] or set workload.updates")]
    NoUpdates { at: Location },

    /// One point of a `[sweep]` grid does not validate. `error` says why, without a location of
    /// its own; `params` lists the point's swept values.
    #[error("{at}{error} (sweep point {point}: {params})")]
    SweepPoint {
        at: Location,
        point: usize,
        params: String,
        error: Box<ScenarioError>,
    },
}

impl ScenarioError {
    /// Where the problem is; `None` for a file that could not be read.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ScenarioError::Read { .. } => None,
            ScenarioError::Syntax { at, .. }
            | ScenarioError::Toml { at, .. }
            | ScenarioError::UnknownKey { at, .. }
            | ScenarioError::MissingKey { at, .. }
            | ScenarioError::MissingOneOf { at, .. }
            | ScenarioError::Invalid { at, .. }
            | ScenarioError::Override { at, .. }
            | ScenarioError::Duplicate { at, .. }
            | ScenarioError::NoUpdates { at }
            | ScenarioError::SweepPoint { at, .. } => Some(at),
        }
    }

    pub(crate) fn location_mut(&mut self) -> Option<&mut Location> {
        match self {
            ScenarioError::Read { .. } => None,
            ScenarioError::Syntax { at, .. }
            | ScenarioError::Toml { at, .. }
            | ScenarioError::UnknownKey { at, .. }
            | ScenarioError::MissingKey { at, .. }
            | ScenarioError::MissingOneOf { at, .. }
            | ScenarioError::Invalid { at, .. }
            | ScenarioError::Override { at, .. }
            | ScenarioError::Duplicate { at, .. }
            | ScenarioError::NoUpdates { at }
            | ScenarioError::SweepPoint { at, .. } => Some(at),
        }
    }

    /// The key the problem is about, if there is one.
    pub fn key(&self) -> Option<&KeyPath> {
        match self {
            ScenarioError::MissingKey { key, .. }
            | ScenarioError::Invalid { key, .. }
            | ScenarioError::Duplicate { key, .. } => Some(key),
            ScenarioError::MissingOneOf { table, .. } => Some(table),
            ScenarioError::SweepPoint { error, .. } => error.key(),
            _ => None,
        }
    }

    pub(crate) fn invalid(
        key: impl Into<KeyPath>,
        value: impl fmt::Display,
        problem: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            at: Location::default(),
            key: key.into(),
            value: shorten(value.to_string()),
            problem: problem.into(),
        }
    }

    pub(crate) fn missing(key: impl Into<KeyPath>) -> ScenarioError {
        ScenarioError::MissingKey {
            at: Location::default(),
            key: key.into(),
        }
    }
}

/// A value that is valid but has no effect, or less than it seems to have: the run goes ahead,
/// and `gossip-sim` says so on stderr (and in the results folder's `run.toml`), since the user
/// believes the value matters. Displays like an error: `x.toml:17:11: KEY = VALUE: why`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    pub at: Location,
    pub key: KeyPath,
    /// As TOML, cut like an error's value.
    pub value: String,
    pub why: String,
    /// For a sweep, the points it applies to when that is not all of them, else empty.
    pub points: Vec<usize>,
}

impl Warning {
    pub(crate) fn new(
        key: impl Into<KeyPath>,
        value: impl fmt::Display,
        why: impl Into<String>,
    ) -> Warning {
        Warning {
            at: Location::default(),
            key: key.into(),
            value: shorten(value.to_string()),
            why: why.into(),
            points: Vec::new(),
        }
    }

    /// The warning without its place (which names the scenario file by the path it was given
    /// as): what `run.toml` records, the same on every machine.
    pub fn message(&self) -> String {
        let mut text = format!("{} = {}: {}", self.key, self.value, self.why);
        match self.points.as_slice() {
            [] => {}
            [point] => text.push_str(&format!(" (sweep point {point})")),
            points => {
                let list: Vec<String> = points.iter().map(usize::to_string).collect();
                text.push_str(&format!(" (sweep points {})", list.join(", ")));
            }
        }
        text
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.at, self.message())
    }
}

/// A value cut to a length that leaves the message readable.
pub(crate) fn shorten(value: String) -> String {
    shorten_to(value, 60)
}

pub(crate) fn shorten_to(text: String, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text
    } else {
        let cut: String = text.chars().take(max_chars).collect();
        format!("{cut}...")
    }
}

/// "No such file or directory", without the " (os error 2)" that `io::Error` appends.
fn os_message(error: &io::Error) -> String {
    let message = error.to_string();
    match message.rfind(" (os error ") {
        Some(end) if message.ends_with(')') => message[..end].to_owned(),
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_paths_display_as_written() {
        let path = KeyPath::root().key("crashes").index(1).key("fraction");
        assert_eq!(path.to_string(), "crashes[1].fraction");
        assert_eq!(KeyPath::from("network.loss").to_string(), "network.loss");
        assert_eq!(path.parent().unwrap().to_string(), "crashes[1]");
        assert_eq!(KeyPath::root().parent(), None);
    }

    #[test]
    fn location_is_a_prefix() {
        let at = Location::file("x.toml");
        assert_eq!(at.to_string(), "x.toml: ");
        let at = at.with_origin(Origin::Line { line: 3, column: 8 });
        assert_eq!(at.to_string(), "x.toml:3:8: ");
        let at = at.with_origin(Origin::Flag("protocol.fanout=3".into()));
        assert_eq!(at.to_string(), "x.toml: --set protocol.fanout=3: ");
        assert_eq!(Location::default().to_string(), "");
    }

    #[test]
    fn read_error_drops_the_os_error_number() {
        let error = io::Error::from_raw_os_error(2);
        let message = ScenarioError::Read {
            path: "scenarios/x.toml".into(),
            error,
        }
        .to_string();
        assert_eq!(
            message,
            "cannot read scenarios/x.toml: No such file or directory"
        );
    }

    #[test]
    fn unknown_key_names_its_table() {
        let error = ScenarioError::UnknownKey {
            at: Location::file("x.toml"),
            key: "fanot".into(),
            table: KeyPath::from("protocol"),
            expected: "one of `kind`, `fanout`".into(),
        };
        assert_eq!(
            error.to_string(),
            "x.toml: unknown key `fanot` in [protocol] (expected one of `kind`, `fanout`)"
        );
    }
}
