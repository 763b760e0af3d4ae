//! Reading a scenario: TOML text, then `--set` overrides, then [`RawScenario`], then
//! [`validate`].
//!
//! The document is kept as toml's spanned table ([`DeTable`]) rather than a plain `toml::Table`
//! all the way to deserialization, so that any error, from serde or from `validate`, can be
//! traced back to a line and column. Overrides are spliced into that same table. Their spans
//! point past the end of the file into a virtual text made of the file followed by the flags,
//! one after the other, so one byte offset says whether a bad value came from the file (and
//! where) or from a flag (and which).

use std::borrow::Cow;
use std::io::{self, Read as _};
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeArray, DeTable, DeValue, ValueDeserializer};

use super::display::toml_string;
use super::error::{
    DuplicateName, KeyPath, KeySegment, Location, Origin, ScenarioError, Warning, shorten,
};
use super::model::Scenario;
use super::raw::RawScenario;
use super::toml_keys;
use super::validate::validate_with_warnings;
use crate::protocol::registry::{self, Refusal};

/// Reads and resolves the scenario file at `path`, with `overrides` (`KEY=VALUE`, from `--set`)
/// applied in order.
pub fn load(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let text = read_text(path).map_err(|error| ScenarioError::Read {
        path: path.to_owned(),
        error,
    })?;
    parse(&text, &path.display().to_string(), overrides)
}

/// Far larger than any scenario a person writes or a script generates (a hundred thousand
/// explicit updates take about 6 MiB); a bound so that `gossip-sim check /dev/zero` is an
/// error rather than a hang that eats the memory.
pub const MAX_SCENARIO_BYTES: u64 = 16 << 20;

/// The file's text: at most [`MAX_SCENARIO_BYTES`], UTF-8. Pipes (`<(...)`) work too.
pub(super) fn read_text(path: &Path) -> io::Result<String> {
    use std::os::unix::fs::{FileTypeExt as _, OpenOptionsExt as _};
    use std::os::unix::io::AsRawFd as _;
    // Opening a named pipe blocks until something writes to it, forever if nothing does:
    // open without waiting, then read as usual, so a pipe with a writer (`<(...)`) still works
    // and one without reads as empty at once.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // SAFETY: fcntl on a descriptor we own, clearing O_NONBLOCK so reads wait for a writer.
    unsafe {
        let flags = libc::fcntl(file.as_raw_fd(), libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    let fifo = file.metadata()?.file_type().is_fifo();
    let mut bytes = Vec::new();
    file.take(MAX_SCENARIO_BYTES + 1).read_to_end(&mut bytes)?;
    if fifo && bytes.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "a named pipe that nothing writes to",
        ));
    }
    if bytes.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, which no scenario file is",
                MAX_SCENARIO_BYTES >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|error| {
        let bytes = error.as_bytes();
        let valid = error.utf8_error().valid_up_to();
        let (line, column) = line_col(&String::from_utf8_lossy(&bytes[..valid]), valid);
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("not UTF-8 text: invalid byte at line {line}, column {column}"),
        )
    })
}

/// Resolves the scenario in `text`; `source_name` names it in error messages.
///
/// Each override is `KEY=VALUE`: KEY is a dotted path (`protocol.fanout`, `crashes.0.fraction`,
/// with numbers indexing arrays), VALUE a TOML value (`3`, `0.25`, `[1, 2]`,
/// `{ dist = "constant", ms = 5 }`) or, if it is not one, a bare string (`push`). Missing tables
/// on the way are created; an index one past the end of an array appends to it. Setting one of
/// two keys that say the same thing another way (`at_ms` and `at_round`, `nodes` and `fraction`)
/// removes the other.
pub fn parse(
    text: &str,
    source_name: &str,
    overrides: &[String],
) -> Result<Scenario, ScenarioError> {
    parse_with_warnings(text, source_name, overrides).map(|(scenario, _)| scenario)
}

/// [`parse`], and the values that are valid but have no effect, each placed like an error (see
/// [`validate_with_warnings`]).
pub fn parse_with_warnings(
    text: &str,
    source_name: &str,
    overrides: &[String],
) -> Result<(Scenario, Vec<Warning>), ScenarioError> {
    let document = Document::parse(text, source_name, overrides)?;
    if let DeValue::Table(table) = document.root.get_ref()
        && let Some(sweep) = table.get("sweep")
    {
        return Err(ScenarioError::Invalid {
            at: document.location(sweep.span()),
            key: KeyPath::from("sweep"),
            value: render(sweep.get_ref()),
            problem: "a sweep is a grid of scenarios: load the file with load_sweep".to_owned(),
        });
    }
    document.resolve_with_warnings(&document.root)
}

/// A scenario file with its `--set` flags spliced in, before deserialization: what both a
/// single scenario and every point of a sweep are resolved from.
pub(super) struct Document<'a> {
    sources: Sources<'a>,
    pub(super) root: Spanned<DeValue<'a>>,
}

impl<'a> Document<'a> {
    /// Parses `text` and applies `overrides` in order.
    pub(super) fn parse(
        text: &'a str,
        source_name: &'a str,
        overrides: &'a [String],
    ) -> Result<Document<'a>, ScenarioError> {
        let mut sources = Sources {
            name: source_name,
            text,
            flags: Vec::new(),
        };
        let document = DeTable::parse(text).map_err(|error| sources.syntax_error(&error))?;
        let mut root = Spanned::new(document.span(), DeValue::Table(document.into_inner()));

        // Flag `i` occupies the virtual text right after flag `i - 1`, one separator byte apart,
        // so no span of one touches another or the file.
        let mut start = text.len() + 1;
        for flag in overrides {
            apply_override(&mut root, flag, start).map_err(|problem| ScenarioError::Override {
                at: Location::file(source_name).with_origin(Origin::Flag(flag.clone())),
                problem,
            })?;
            sources.flags.push((start, flag));
            start += flag.len() + 1;
        }
        Ok(Document { sources, root })
    }

    /// Deserializes and validates `root`: this document's root, or a copy of it with values
    /// spliced in. The warnings come with the place of their key and its value as written.
    pub(super) fn resolve_with_warnings(
        &self,
        root: &Spanned<DeValue<'_>>,
    ) -> Result<(Scenario, Vec<Warning>), ScenarioError> {
        if let Some(error) = self.sources.table_as_array(root) {
            return Err(error);
        }
        let (engine_root, own) = split_protocol_keys(root);
        let raw = RawScenario::deserialize(ValueDeserializer::from(engine_root))
            .map_err(|error| self.sources.serde_error(root, error))?;
        let (mut scenario, mut warnings) =
            validate_with_warnings(raw).map_err(|error| self.sources.place(root, error))?;
        for warning in &mut warnings {
            if let Some(value) = value_at(root, &warning.key) {
                warning.at = self.location(value.span());
                warning.value = render(value.get_ref());
            } else {
                warning.at = self.file();
            }
        }
        scenario.protocol.config = self.protocol_config(root, own, &scenario)?;
        Ok((scenario, warnings))
    }

    /// The protocol's own keys of `[protocol]`, checked and resolved by the protocol
    /// (`protocol::Kind`): a key that only another kind takes says which kind that is.
    fn protocol_config(
        &self,
        root: &Spanned<DeValue<'_>>,
        own: Spanned<DeValue<'_>>,
        scenario: &Scenario,
    ) -> Result<toml::Table, ScenarioError> {
        let kind = scenario.protocol.kind;
        let table = KeyPath::from("protocol");
        if let DeValue::Table(keys) = own.get_ref()
            && let Some(takes) = registry::keys_of(kind)
        {
            for (key, value) in keys.iter() {
                let name = key.get_ref().as_ref();
                if takes.contains(&name) {
                    continue;
                }
                let at = self.location(key.span());
                let others = registry::kinds_taking(name);
                if others.is_empty() {
                    let expected: Vec<String> = ENGINE_PROTOCOL_KEYS
                        .iter()
                        .chain(takes)
                        .map(|k| format!("`{k}`"))
                        .collect();
                    return Err(ScenarioError::UnknownKey {
                        at,
                        key: name.to_string(),
                        table,
                        expected: format!("one of {}", expected.join(", ")),
                    });
                }
                let mut others: Vec<String> = others.iter().map(|k| toml_string(k)).collect();
                let last = others.pop().expect("one kind at least");
                let kinds = match others.is_empty() {
                    true => last,
                    false => format!("{} or {last}", others.join(", ")),
                };
                return Err(ScenarioError::Invalid {
                    at: self.location(value.span()),
                    key: table.key(name),
                    value: render(value.get_ref()),
                    problem: format!("only applies to kind = {kinds}"),
                });
            }
        }
        registry::resolve_config(kind, ValueDeserializer::from(own), scenario).map_err(|refusal| {
            match refusal {
                Refusal::Serde(error) => self.sources.serde_error(root, error),
                Refusal::Config(e) => self.sources.place(
                    root,
                    ScenarioError::invalid(table.key(&e.key), e.value, e.problem),
                ),
            }
        })
    }

    /// The file position, or the flag, that `span` points into.
    pub(super) fn location(&self, span: Range<usize>) -> Location {
        self.sources.location(span)
    }

    /// The file alone, for problems with no position.
    pub(super) fn file(&self) -> Location {
        Location::file(self.sources.name)
    }
}

/// The file and the flags, laid end to end in one virtual text that spans index into.
struct Sources<'a> {
    name: &'a str,
    text: &'a str,
    /// Each flag with the virtual offset where it starts.
    flags: Vec<(usize, &'a str)>,
}

impl Sources<'_> {
    /// Words the TOML reader's error. Two of its messages are made whole here: "duplicate key"
    /// names no key, and "recursion limit" (a dotted key of too many parts) has no position;
    /// both get the key's path and place from a walk over the text's keys.
    fn syntax_error(&self, error: &toml::de::Error) -> ScenarioError {
        let message = one_line(error.message());
        match (message.as_str(), error.span()) {
            ("duplicate key", Some(span)) => {
                let tokens = toml_keys::key_tokens(self.text, None);
                if let Some((duplicate, first)) = toml_keys::duplicate_at(&tokens, span.start) {
                    return ScenarioError::Duplicate {
                        at: self.location(span),
                        key: duplicate.path.clone(),
                        written: duplicate.written,
                        first: first.map(|first| line_col(self.text, first.span.start)),
                    };
                }
            }
            ("recursion limit", None) => {
                let tokens = toml_keys::key_tokens(self.text, None);
                if let Some(deepest) = toml_keys::deepest_key(&tokens) {
                    return ScenarioError::Syntax {
                        at: self.location(deepest.span.clone()),
                        message: format!(
                            "a dotted key of {} parts is nested too deeply",
                            deepest.parts
                        ),
                    };
                }
            }
            _ => {}
        }
        let at = match error.span() {
            Some(span) => self.location(span),
            None => Location::file(self.name),
        };
        ScenarioError::Syntax { at, message }
    }

    fn location(&self, span: Range<usize>) -> Location {
        let flag = self
            .flags
            .iter()
            .rev()
            .find(|(start, _)| *start <= span.start);
        let origin = match flag {
            Some((_, flag)) => Origin::Flag(flag.to_string()),
            None => {
                let (line, column) = line_col(self.text, span.start);
                Origin::Line { line, column }
            }
        };
        Location::file(self.name).with_origin(origin)
    }

    /// Words a serde error in terms of the scenario file: the key and the value, where they are.
    fn serde_error(&self, root: &Spanned<DeValue<'_>>, error: toml::de::Error) -> ScenarioError {
        let message = one_line(error.message());
        let Some(span) = error.span() else {
            return ScenarioError::Toml {
                at: Location::file(self.name),
                message,
            };
        };
        let at = self.location(span.clone());
        match find_span(root, &KeyPath::root(), &span) {
            Some(Found::Key { table, key }) => match unknown_key_expected(&message) {
                Some(expected) => ScenarioError::UnknownKey {
                    at,
                    key,
                    table,
                    expected,
                },
                // A table that `--set` created on the way to a key carries the key's span, so a
                // type error in it points at the key: the value is what is wrong.
                None => match value_at(root, &table.key(&key)) {
                    Some(value) => ScenarioError::Invalid {
                        at,
                        key: table.key(&key),
                        value: render(value.get_ref()),
                        problem: type_problem(&message),
                    },
                    None => ScenarioError::Toml { at, message },
                },
            },
            Some(Found::Value { key, value }) if !key.is_root() => ScenarioError::Invalid {
                at,
                key,
                value: render(value),
                problem: type_problem(&message),
            },
            _ => ScenarioError::Toml { at, message },
        }
    }

    /// serde fills a struct from an array as well as from a table, field by field in declaration
    /// order, so `output = [false, true]` would silently mean `coverage = false, tables = true`.
    /// In a scenario file that is a type error: this finds the first table written as an array.
    fn table_as_array(&self, root: &Spanned<DeValue<'_>>) -> Option<ScenarioError> {
        let mut suspects = Vec::new();
        for key in TABLES {
            match key.strip_suffix(".*") {
                // A table of tables under names the user picks: every value.
                Some(map) => {
                    let map = KeyPath::from(map);
                    if let Some(DeValue::Table(table)) = value_at(root, &map).map(Spanned::get_ref)
                    {
                        suspects.extend(table.iter().map(|(name, _)| map.key(name.get_ref())));
                    }
                }
                None => suspects.push(KeyPath::from(*key)),
            }
        }
        for key in ARRAYS_OF_TABLES {
            let key = KeyPath::from(*key);
            if let Some(DeValue::Array(items)) = value_at(root, &key).map(Spanned::get_ref) {
                suspects.extend((0..items.len()).map(|i| key.index(i)));
            }
        }
        suspects.into_iter().find_map(|key| {
            let value = value_at(root, &key)?;
            matches!(value.get_ref(), DeValue::Array(_)).then(|| ScenarioError::Invalid {
                at: self.location(value.span()),
                value: render(value.get_ref()),
                key,
                problem: "expected a table".to_owned(),
            })
        })
    }

    /// Adds the file, and the line or flag of the offending key, to an error from `validate`.
    fn place(&self, root: &Spanned<DeValue<'_>>, mut error: ScenarioError) -> ScenarioError {
        let span = error.key().and_then(|key| find_key(root, key));
        let at = match span {
            Some(span) => self.location(span),
            None => Location::file(self.name),
        };
        if let Some(location) = error.location_mut() {
            *location = at;
        }
        error
    }
}

/// Splices one `KEY=VALUE` flag into the document; `start` is the flag's virtual offset.
/// The error is the problem, to be shown after the flag.
fn apply_override<'a>(
    root: &mut Spanned<DeValue<'a>>,
    flag: &'a str,
    start: usize,
) -> Result<(), String> {
    let Some((key, value)) = flag.split_once('=') else {
        return Err("expected KEY=VALUE".to_owned());
    };
    let key_start = start + (key.len() - key.trim_start().len());
    let key = key.trim();
    if key.is_empty() {
        return Err("expected KEY=VALUE".to_owned());
    }
    let mut segments = Vec::new();
    let mut offset = key_start;
    for segment in key.split('.') {
        if segment.is_empty() {
            return Err(format!(
                "`{key}` has an empty part; write a dotted key like protocol.fanout"
            ));
        }
        segments.push((Cow::Borrowed(segment), offset..offset + segment.len()));
        offset += segment.len() + 1;
    }
    let value_start = start + flag.len() - value.trim_start().len();
    let value = override_value(&KeyPath::from(key), value.trim(), value_start)?;
    set_path(root.get_mut(), &KeyPath::root(), &segments, value)
}

/// Keys that say the same thing in different ways; a table may hold only one of each group.
const EXCLUSIVE: &[&[&str]] = &[
    &["at_round", "at_ms"],
    &["recover_after_rounds", "recover_after_ms"],
    &["mean_downtime_rounds", "mean_downtime_ms"],
    &["start_round", "start_ms"],
    &["stop_round", "stop_ms"],
    &["fraction", "nodes"],
];

/// VALUE as TOML if it is TOML, else as a bare string, so `--set protocol.kind=push` works. A
/// value that writes a key twice (`{ loss = 0.1, loss = 0.2 }`) is an error naming the key:
/// read as a string, it would only be "expected a table". `key` is the flag's KEY.
fn override_value<'a>(
    key: &KeyPath,
    text: &'a str,
    start: usize,
) -> Result<Spanned<DeValue<'a>>, String> {
    match DeValue::parse(text) {
        Ok(value) => Ok(shift(value, start)),
        Err(error) => {
            if error.message() == "duplicate key"
                && let Some(span) = error.span()
            {
                let tokens = toml_keys::key_tokens(text, Some(key));
                if let Some((duplicate, _)) = toml_keys::duplicate_at(&tokens, span.start) {
                    let name = DuplicateName {
                        key: &duplicate.path,
                        written: duplicate.written,
                    };
                    return Err(format!("duplicate {name} in the value"));
                }
            }
            Ok(Spanned::new(
                start..start + text.len(),
                DeValue::String(Cow::Borrowed(text)),
            ))
        }
    }
}

/// Moves every span in `value` by `by` bytes.
fn shift(value: Spanned<DeValue<'_>>, by: usize) -> Spanned<DeValue<'_>> {
    let span = value.span();
    let inner = match value.into_inner() {
        DeValue::Array(array) => DeValue::Array(array.into_iter().map(|v| shift(v, by)).collect()),
        DeValue::Table(table) => DeValue::Table(
            table
                .into_iter()
                .map(|(key, value)| {
                    let key_span = key.span();
                    let key =
                        Spanned::new(key_span.start + by..key_span.end + by, key.into_inner());
                    (key, shift(value, by))
                })
                .collect(),
        ),
        scalar => scalar,
    };
    Spanned::new(span.start + by..span.end + by, inner)
}

pub(super) fn set_path<'a>(
    node: &mut DeValue<'a>,
    path: &KeyPath,
    segments: &[(Cow<'a, str>, Range<usize>)],
    value: Spanned<DeValue<'a>>,
) -> Result<(), String> {
    let Some(((segment, span), rest)) = segments.split_first() else {
        return Ok(());
    };
    match node {
        DeValue::Table(table) => {
            let key = Spanned::new(span.clone(), segment.clone());
            if rest.is_empty() {
                // `--set crashes.0.at_ms=3000` replaces the crash time whichever way the file
                // wrote it; leaving `at_round` would make the pair a conflict.
                if let Some(group) = EXCLUSIVE
                    .iter()
                    .find(|group| group.contains(&segment.as_ref()))
                {
                    for other in group.iter().filter(|other| **other != segment.as_ref()) {
                        table.remove(*other);
                    }
                }
                table.insert(key, value);
                return Ok(());
            }
            // A number after a missing key asks for an array of tables, as in
            // `crashes.0.at_round` when the file has no [[crashes]].
            let child = table.entry(key).or_insert_with(|| {
                let empty = if rest[0].0.parse::<usize>().is_ok() {
                    DeValue::Array(DeArray::new())
                } else {
                    DeValue::Table(DeTable::new())
                };
                Spanned::new(span.clone(), empty)
            });
            set_path(child.get_mut(), &path.key(segment), rest, value)
        }
        DeValue::Array(array) => {
            let Ok(index) = segment.parse::<usize>() else {
                return Err(format!(
                    "`{path}` is an array: index it with a number, as in {path}.0"
                ));
            };
            if index > array.len() {
                let entries = match array.len() {
                    1 => "1 entry".to_owned(),
                    n => format!("{n} entries"),
                };
                return Err(format!(
                    "`{path}` has {entries}: index {index} is past its end"
                ));
            }
            if rest.is_empty() {
                match array.get_mut(index) {
                    Some(slot) => *slot = value,
                    None => array.push(value),
                }
                return Ok(());
            }
            if index == array.len() {
                array.push(Spanned::new(span.clone(), DeValue::Table(DeTable::new())));
            }
            let Some(child) = array.get_mut(index) else {
                return Err(format!("`{path}` has no entry {index}"));
            };
            set_path(child.get_mut(), &path.index(index), rest, value)
        }
        other => Err(format!(
            "`{path}` is {}, not a table",
            article(other.type_str())
        )),
    }
}

/// Keys of the file format whose value is a table ...
/// `NAME.*` is every value of a table whose keys the user names.
const TABLES: &[&str] = &[
    "protocol",
    "overlay",
    "network",
    "network.latency",
    "churn",
    "workload",
    "sizes",
    "output",
    "region_latency",
    "region_latency.*",
];
/// ... or an array of tables.
const ARRAYS_OF_TABLES: &[&str] = &["crashes", "regions", "updates"];

/// The value at `key`, if the document has one there.
fn value_at<'d, 'a>(
    root: &'d Spanned<DeValue<'a>>,
    key: &KeyPath,
) -> Option<&'d Spanned<DeValue<'a>>> {
    let mut node = root;
    for segment in key.segments() {
        node = match (segment, node.get_ref()) {
            (KeySegment::Key(key), DeValue::Table(table)) => table.get(key.as_str())?,
            (KeySegment::Index(index), DeValue::Array(array)) => array.get(*index)?,
            _ => return None,
        };
    }
    Some(node)
}

/// The `[protocol]` keys the engine reads, whatever the protocol; the others are the
/// protocol's own (see `protocol::Kind::Config`).
const ENGINE_PROTOCOL_KEYS: &[&str] = &[
    "kind",
    "fanout",
    "timing",
    "period_ms",
    "jitter_ms",
    "local_bias",
];

/// The document without the protocol's own keys of `[protocol]` (every key but the engine's),
/// and those keys as a table of their own. Their spans are kept, so that a problem with one of
/// them points at it in the file or the flag.
fn split_protocol_keys<'a>(
    root: &Spanned<DeValue<'a>>,
) -> (Spanned<DeValue<'a>>, Spanned<DeValue<'a>>) {
    let mut engine_root = root.clone();
    let mut own = DeTable::new();
    let mut span = 0..0;
    if let DeValue::Table(top) = engine_root.get_mut()
        && let Some(protocol) = top.get_mut("protocol")
    {
        span = protocol.span();
        if let DeValue::Table(table) = protocol.get_mut() {
            let keys: Vec<String> = table
                .keys()
                .map(|k| k.get_ref().to_string())
                .filter(|k| !ENGINE_PROTOCOL_KEYS.contains(&k.as_str()))
                .collect();
            for key in keys {
                if let Some((key, value)) = table.remove_entry(key.as_str()) {
                    own.insert(key, value);
                }
            }
        }
    }
    (engine_root, Spanned::new(span, DeValue::Table(own)))
}

/// What an error span points at in the document.
enum Found<'d, 'a> {
    /// A key, in the table at `table`.
    Key { table: KeyPath, key: String },
    Value {
        key: KeyPath,
        value: &'d DeValue<'a>,
    },
}

/// Finds the key or value whose span is `target`. A full search rather than a descent by span
/// containment, because the spans of implicit and array-of-tables tables need not contain their
/// entries.
fn find_span<'d, 'a>(
    value: &'d Spanned<DeValue<'a>>,
    path: &KeyPath,
    target: &Range<usize>,
) -> Option<Found<'d, 'a>> {
    if value.span() == *target {
        return Some(Found::Value {
            key: path.clone(),
            value: value.get_ref(),
        });
    }
    match value.get_ref() {
        DeValue::Table(table) => table.iter().find_map(|(key, child)| {
            if key.span() == *target {
                Some(Found::Key {
                    table: path.clone(),
                    key: key.get_ref().to_string(),
                })
            } else {
                find_span(child, &path.key(key.get_ref()), target)
            }
        }),
        DeValue::Array(array) => array
            .iter()
            .enumerate()
            .find_map(|(i, child)| find_span(child, &path.index(i), target)),
        _ => None,
    }
}

/// The span of `key`'s value, or of its nearest ancestor present in the document: for a missing
/// key, the table it is missing from is the best place to point at.
fn find_key(root: &Spanned<DeValue<'_>>, key: &KeyPath) -> Option<Range<usize>> {
    let mut node = root;
    let mut found = None;
    for segment in key.segments() {
        let child = match (segment, node.get_ref()) {
            (KeySegment::Key(key), DeValue::Table(table)) => table.get(key.as_str()),
            (KeySegment::Index(index), DeValue::Array(array)) => array.get(*index),
            _ => None,
        };
        let Some(child) = child else { break };
        node = child;
        found = Some(child.span());
    }
    found
}

/// serde words an unknown key as "unknown field `x`, expected one of `a`, `b`"; this returns
/// "one of `a`, `b`", or `None` for any other error.
fn unknown_key_expected(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (_, rest) = rest.split_once('`')?;
    let expected = rest
        .strip_prefix(", expected ")
        .or_else(|| rest.strip_prefix(", "))?;
    Some(expected.to_owned())
}

/// Turns serde's "invalid type: string \"x\", expected i64" into "expected an integer": the key
/// and the value are already in the message, and the Rust type names mean nothing to users.
fn type_problem(message: &str) -> String {
    let integer_range = |expected: &str| match expected {
        "i64" => Some("-9223372036854775808 to 9223372036854775807"),
        "u64" => Some("0 to 18446744073709551615"),
        _ => None,
    };
    if let Some(rest) = message.strip_prefix("invalid type: ")
        && let Some((found, expected)) = rest.rsplit_once(", expected ")
    {
        // An integer too large for i64 or u64 arrives as an i128 of the wrong type.
        if found.starts_with("integer")
            && let Some(range) = integer_range(expected)
        {
            return format!("out of range: must be an integer from {range}");
        }
        let words = match expected {
            "i64" | "u64" => "an integer",
            "f64" => "a number",
            "a boolean" => "true or false",
            "a sequence" => "an array",
            other if other.starts_with("struct ") => "a table",
            other => other,
        };
        return format!("expected {words}");
    }
    // A string that is none of an enum's names: "unknown variant `x`, expected `a` or `b`"
    // (or "expected one of `a`, `b`, `c`"), worded as the engine's own choices are.
    if let Some(rest) = message.strip_prefix("unknown variant `")
        && let Some((_, expected)) = rest.split_once("`, expected ")
    {
        let names: Vec<String> = expected
            .split('`')
            .skip(1)
            .step_by(2)
            .map(toml_string)
            .collect();
        return format!("must be one of {}", names.join(", "));
    }
    // A table written as an array of the wrong length (the right length is caught earlier,
    // see `Sources::table_as_array`).
    if let Some(rest) = message.strip_prefix("invalid length ")
        && rest.contains(", expected struct ")
    {
        return "expected a table".to_owned();
    }
    if let Some(rest) = message.strip_prefix("invalid value: ")
        && let Some((_, expected)) = rest.rsplit_once(", expected ")
        && let Some(range) = integer_range(expected)
    {
        return format!("out of range: must be an integer from {range}");
    }
    match message {
        "integer number overflowed" => "integer out of range".to_owned(),
        "floating-point number overflowed" => "number out of range".to_owned(),
        other => other.to_owned(),
    }
}

/// A value as TOML on one line, for messages; long values are cut.
pub(super) fn render(value: &DeValue<'_>) -> String {
    shorten(render_full(value))
}

pub(super) fn render_full(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(text) => toml_string(text),
        DeValue::Integer(integer) => integer.to_string(),
        DeValue::Float(float) => float.to_string(),
        DeValue::Boolean(boolean) => boolean.to_string(),
        DeValue::Datetime(datetime) => datetime.to_string(),
        DeValue::Array(array) => {
            let items: Vec<String> = array
                .iter()
                .map(|item| render_full(item.get_ref()))
                .collect();
            format!("[{}]", items.join(", "))
        }
        DeValue::Table(table) => {
            let items: Vec<String> = table
                .iter()
                .map(|(key, value)| format!("{} = {}", key.get_ref(), render_full(value.get_ref())))
                .collect();
            if items.is_empty() {
                "{}".to_owned()
            } else {
                format!("{{ {} }}", items.join(", "))
            }
        }
    }
}

fn article(type_name: &str) -> String {
    match type_name.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {type_name}"),
        _ => format!("a {type_name}"),
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let bytes = &text.as_bytes()[..offset.min(text.len())];
    let line_start = bytes
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |newline| newline + 1);
    let line = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&bytes[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Error messages are one line: toml's may span several.
fn one_line(message: &str) -> String {
    message.trim().lines().collect::<Vec<_>>().join("; ")
}

/// The scenario of the file-format documentation, every section used.
#[cfg(test)]
pub(crate) const EXAMPLE: &str = r#"
name = "push-pull-1k-loss"
seed = 42
nodes = 1000
trials = 100
max_rounds = 200

[protocol]
kind = "push-pull"
fanout = 1
timing = "rounds"
period_ms = 1000
jitter_ms = 0

[network]
loss = 0.1
latency = { dist = "uniform", min_ms = 5, max_ms = 80 }

[[crashes]]
at_round = 5
fraction = 0.1
recover_after_rounds = 20
keep_state = true

[[crashes]]
at_ms = 5000
nodes = [17, 3]

[churn]
crash_rate = 0.01
mean_downtime_rounds = 10
keep_state = true

[[updates]]
product = "P001"
price = 99.99
origin = 0
at_round = 0

[workload]
products = 1
updates = 0

[sizes]
header = 32
entry = 24
digest_entry = 16

[output]
coverage = true
"#;

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::scenario::{CrashTarget, Latency, Timing};
    use crate::time::Time;

    const FILE: &str = "scenarios/x.toml";

    fn flags(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|flag| flag.to_string()).collect()
    }

    fn error(text: &str, overrides: &[&str]) -> String {
        match parse(text, FILE, &flags(overrides)) {
            Ok(scenario) => panic!("expected an error, got {scenario:?}\nfrom:\n{text}"),
            Err(error) => error.to_string(),
        }
    }

    /// A valid scenario with `top` lines at the top level, `protocol` lines in [protocol] and
    /// `tail` sections at the end. A key set in `top` or `protocol` replaces the base one.
    fn doc(top: &str, protocol: &str, tail: &str) -> String {
        fn merge(base: &[&str], extra: &str) -> String {
            let key = |line: &str| line.split('=').next().unwrap_or("").trim().to_owned();
            let extra_keys: Vec<String> = extra.lines().map(key).collect();
            let mut lines: Vec<&str> = base
                .iter()
                .copied()
                .filter(|line| !extra_keys.contains(&key(line)))
                .collect();
            lines.extend(extra.lines());
            lines.join("\n")
        }
        format!(
            "{}\n[protocol]\n{}\n[[updates]]\nproduct = \"P\"\nprice = 1.0\norigin = 0\n{tail}\n",
            merge(&["name = \"t\"", "nodes = 10"], top),
            merge(&["kind = \"push\""], protocol),
        )
    }

    #[test]
    fn the_example_parses() {
        let scenario = parse(EXAMPLE, FILE, &[]).unwrap();
        assert_eq!(scenario.name, "push-pull-1k-loss");
        assert_eq!(scenario.seed, 42);
        assert_eq!(scenario.nodes, 1000);
        assert_eq!(scenario.trials, 100);
        assert_eq!(scenario.max_rounds, 200);
        assert_eq!(scenario.protocol.kind.as_str(), "push-pull");
        assert_eq!(scenario.timing, Timing::Rounds);
        assert_eq!(scenario.period, Time::from_millis(1000));
        assert_eq!(scenario.network.loss, 0.1);
        assert_eq!(
            scenario.network.latency,
            Latency::Uniform {
                min_ms: 5.0,
                max_ms: 80.0
            }
        );
        assert_eq!(scenario.crashes.len(), 2);
        assert_eq!(scenario.crashes[0].at, Time::from_millis(5000));
        assert_eq!(scenario.crashes[0].target, CrashTarget::Fraction(0.1));
        assert_eq!(
            scenario.crashes[0].recover_after,
            Some(Time::from_millis(20_000))
        );
        assert_eq!(scenario.crashes[1].target, CrashTarget::Nodes(vec![3, 17]));
        assert_eq!(scenario.crashes[1].recover_after, None);
        let churn = scenario.churn.as_ref().unwrap();
        assert_eq!(churn.mean_downtime, Time::from_millis(10_000));
        assert_eq!(churn.stop, Time::from_millis(200_000));
        assert_eq!(scenario.workload.explicit[0].price, 99.99);
        assert_eq!(scenario.workload.generated, None);
    }

    #[test]
    fn overrides_change_values() {
        let scenario = parse(
            EXAMPLE,
            FILE,
            &flags(&[
                "protocol.fanout=3",
                "network.loss=0.25",
                "protocol.kind=push",
                "network.latency={ dist = \"exponential\", mean_ms = 20 }",
                "crashes.0.fraction=0.2",
                "crashes.2.at_round=7",
                "crashes.2.nodes=[1,2]",
                " name = other-name ",
            ]),
        )
        .unwrap();
        assert_eq!(scenario.protocol.fanout, 3);
        assert_eq!(scenario.network.loss, 0.25);
        assert_eq!(scenario.protocol.kind.as_str(), "push");
        assert_eq!(
            scenario.network.latency,
            Latency::Exponential { mean_ms: 20.0 }
        );
        assert_eq!(scenario.crashes[0].target, CrashTarget::Fraction(0.2));
        assert_eq!(scenario.crashes[2].at, Time::from_millis(7000));
        assert_eq!(scenario.crashes[2].target, CrashTarget::Nodes(vec![1, 2]));
        assert_eq!(scenario.name, "other-name");
    }

    #[test]
    fn overrides_create_missing_tables() {
        let text = doc("", "", "");
        let scenario = parse(&text, FILE, &flags(&["network.loss=0.1"])).unwrap();
        assert_eq!(scenario.network.loss, 0.1);
        let scenario = parse(
            &text,
            FILE,
            &flags(&["network.latency.dist=constant", "network.latency.ms=5"]),
        )
        .unwrap();
        assert_eq!(scenario.network.latency, Latency::Constant { ms: 5.0 });
    }

    #[test]
    fn an_override_replaces_the_other_way_of_writing_a_key() {
        let scenario = parse(
            EXAMPLE,
            FILE,
            &flags(&[
                "crashes.0.at_ms=3000",
                "crashes.0.nodes=[1]",
                "churn.mean_downtime_ms=5",
            ]),
        )
        .unwrap();
        assert_eq!(scenario.crashes[0].at, Time::from_millis(3000));
        assert_eq!(scenario.crashes[0].target, CrashTarget::Nodes(vec![1]));
        assert_eq!(scenario.churn.unwrap().mean_downtime, Time::from_millis(5));
    }

    #[test]
    fn later_overrides_win() {
        let text = doc("", "", "");
        let scenario = parse(
            &text,
            FILE,
            &flags(&["protocol.fanout=2", "protocol.fanout=4"]),
        )
        .unwrap();
        assert_eq!(scenario.protocol.fanout, 4);
    }

    /// Each case: document, overrides, and what the message must contain (besides the file).
    /// One case a line, so the table reads as a table.
    #[rustfmt::skip]
    #[test]
    fn malformed_documents_name_key_and_value() {
        let no_updates = "name = \"t\"\nnodes = 10\n[protocol]\nkind = \"push\"\n";
        let crash = |lines: &str| format!("[[crashes]]\n{lines}");
        let latency = |table: &str| format!("[network]\nlatency = {table}");
        let cases: Vec<(String, Vec<&str>, Vec<&str>)> = vec![
            // Syntax, with the position of the error.
            ("name = \"t\"\nnodes = = 3\n".into(), vec![], vec!["x.toml:2:9: "]),
            ("name = \"t\n".into(), vec![], vec!["x.toml:1:"]),
            ("[protocol\n".into(), vec![], vec!["x.toml:1:"]),
            ("nodes = 1\nnodes = 2\n".into(), vec![], vec!["x.toml:2:"]),
            // Unknown keys, at the top level and nested, with their position.
            (doc("nodez = 3", "", ""), vec![], vec!["x.toml:3:1: ", "unknown key `nodez` at top level", "`nodes`"]),
            (doc("", "fanot = 3", ""), vec![], vec!["x.toml:5:1: ", "unknown key `fanot` in [protocol]", "`fanout`"]),
            (doc("", "", &crash("at_round = 1\nfracton = 0.5")), vec![], vec!["unknown key `fracton` in crashes[0]"]),
            (doc("", "", &latency("{ dist = \"constant\", mss = 5 }")), vec![], vec!["unknown key `mss` in [network.latency]"]),
            (doc("", "", "[output]\ncoverage = true\ncsv = true"), vec![], vec!["unknown key `csv` in [output]", "`coverage`"]),
            // Wrong types.
            (doc("", "fanout = \"three\"", ""), vec![], vec!["protocol.fanout = \"three\": expected an integer"]),
            (doc("trials = 1.5", "", ""), vec![], vec!["trials = 1.5: expected an integer"]),
            (doc("seed = [1]", "", ""), vec![], vec!["seed = [1]: expected an integer"]),
            (doc("seed = 1979-05-27", "", ""), vec![], vec!["seed = 1979-05-27: expected an integer"]),
            (doc("name = 5", "", ""), vec![], vec!["name = 5: expected a string"]),
            (doc("", "", "[output]\ncoverage = \"yes\""), vec![], vec!["output.coverage = \"yes\": expected true or false"]),
            (doc("", "", "[network]\nloss = \"high\""), vec![], vec!["network.loss = \"high\": expected a number"]),
            (doc("", "", &crash("at_round = 1\nnodes = 3")), vec![], vec!["crashes[0].nodes = 3: expected an array"]),
            (doc("", "", &crash("at_round = 1\nnodes = [1, \"a\"]")), vec![], vec!["crashes[0].nodes[1] = \"a\": expected an integer"]),
            (doc("crashes = [5]", "", ""), vec![], vec!["crashes[0] = 5: expected a table"]),
            ("name = \"t\"\nnodes = 10\nprotocol = 5\n".into(), vec![], vec!["x.toml:3:12: ", "protocol = 5: expected a table"]),
            // Integers out of range: negative, overflowing, beyond i64.
            (doc("nodes = 0", "", ""), vec![], vec!["nodes = 0: must be between 2 and 100000000"]),
            (doc("nodes = 1", "", ""), vec![], vec!["nodes = 1: must be between 2"]),
            (doc("nodes = -5", "", ""), vec![], vec!["nodes = -5: must be between 2"]),
            (doc("nodes = 100000001", "", ""), vec![], vec!["nodes = 100000001: must be between 2 and 100000000"]),
            (doc("nodes = 99999999999999999999", "", ""), vec![], vec!["nodes = 99999999999999999999: out of range"]),
            (doc("nodes = 18446744073709551615", "", ""), vec![], vec!["nodes = 18446744073709551615: out of range"]),
            (doc("seed = -1", "", ""), vec![], vec!["seed = -1: out of range: must be an integer from 0"]),
            (doc("trials = 0", "", ""), vec![], vec!["trials = 0: must be between 1 and 1000000"]),
            (doc("max_rounds = 0", "", ""), vec![], vec!["max_rounds = 0: must be between 1 and 10000000"]),
            (doc("", "", "[network]\nloss = 1e400"), vec![], vec!["network.loss = 1e400: number out of range"]),
            // Names.
            (doc("name = \"\"", "", ""), vec![], vec!["name = \"\": must not be empty"]),
            (doc("name = \"a b/c\"", "", ""), vec![], vec!["name = \"a b/c\": may only contain"]),
            (doc(&format!("name = \"{}\"", "a".repeat(65)), "", ""), vec![], vec!["name = \"aaaa", "at most 64 characters"]),
            ("nodes = 10\n[protocol]\nkind = \"push\"\n".into(), vec![], vec!["missing required key `name`"]),
            ("name = \"t\"\n[protocol]\nkind = \"push\"\n".into(), vec![], vec!["missing required key `nodes`"]),
            ("name = \"t\"\nnodes = 10\n".into(), vec![], vec!["missing required key `protocol`"]),
            // Protocol.
            ("name = \"t\"\nnodes = 10\n[protocol]\nfanout = 2\n".into(), vec![], vec!["x.toml:3:1: ", "missing required key `protocol.kind`"]),
            (doc("", "kind = \"gossip\"", ""), vec![], vec!["protocol.kind = \"gossip\": must be one of \"push\", \"pull\", \"push-pull\""]),
            (doc("", "fanout = 10", ""), vec![], vec!["protocol.fanout = 10: must be at least 1 and less than nodes (10)"]),
            (doc("", "fanout = 0", ""), vec![], vec!["protocol.fanout = 0: must be at least 1"]),
            (doc("", "timing = \"sync\"", ""), vec![], vec!["protocol.timing = \"sync\": must be one of \"rounds\", \"async\""]),
            (doc("", "kind = \"push-pull\"\nexchange = \"all\"", ""), vec![], vec!["x.toml:5:12: ", "protocol.exchange = \"all\": must be one of \"digest\", \"full-table\""]),
            (doc("", "exchange = \"full-table\"", ""), vec![], vec!["x.toml:5:12: ", "protocol.exchange = \"full-table\": only applies to kind = \"push-pull\", \"rumor\" or \"median-counter\""]),
            (doc("", "kind = \"rumor\"\nmode = \"sideways\"", ""), vec![], vec!["protocol.mode = \"sideways\": must be one of \"push\", \"pull\", \"push-pull\""]),
            (doc("", "kind = \"rumor\"\nk = 0", ""), vec![], vec!["x.toml:5:5: ", "protocol.k = 0: must be between 1 and 250"]),
            (doc("", "kind = \"rumor\"\nk = \"two\"", ""), vec![], vec!["x.toml:5:5: ", "protocol.k = \"two\": expected an integer"]),
            (doc("", "kind = \"rumor\"\nexchange = \"full-table\"", ""), vec![], vec!["protocol.exchange = \"full-table\": only applies with anti_entropy_every"]),
            (doc("", "kind = \"rumor\"\nkk = 2", ""), vec![], vec!["x.toml:5:1: ", "unknown key `kk` in [protocol] (expected one of `kind`, `fanout`, `timing`, `period_ms`, `jitter_ms`, `local_bias`, `mode`, `termination`, `removal`, `k`, `anti_entropy_every`, `exchange`)"]),
            (doc("", "kind = \"median-counter\"\nctr_max = 121", ""), vec![], vec!["protocol.ctr_max = 121: must be between 1 and 120"]),
            (doc("", "k = 2", ""), vec![], vec!["protocol.k = 2: only applies to kind = \"rumor\""]),
            (doc("", "period_ms = 0", ""), vec![], vec!["protocol.period_ms = 0: must be between 1 and 86400000"]),
            (doc("", "period_ms = 86400001", ""), vec![], vec!["protocol.period_ms = 86400001: must be between 1"]),
            (doc("", "period_ms = \"1s\"", ""), vec![], vec!["protocol.period_ms = \"1s\": expected an integer"]),
            (doc("", "timing = \"async\"\nperiod_ms = 100\njitter_ms = 100", ""), vec![], vec!["protocol.jitter_ms = 100: must be at least 0 and less than period_ms (100)"]),
            (doc("", "timing = \"async\"\njitter_ms = -1", ""), vec![], vec!["protocol.jitter_ms = -1: must be at least 0"]),
            (doc("", "jitter_ms = 5", ""), vec![], vec!["protocol.jitter_ms = 5: only applies to timing = \"async\""]),
            // Network.
            (doc("", "", "[network]\nloss = 1.5"), vec![], vec!["x.toml:10:8: ", "network.loss = 1.5: must be a probability in [0, 1]"]),
            (doc("", "", "[network]\nloss = -0.1"), vec![], vec!["network.loss = -0.1: must be a probability in [0, 1]"]),
            (doc("", "", "[network]\nloss = nan"), vec![], vec!["network.loss = nan: must be a probability"]),
            (doc("", "", &latency("{ dist = \"uniform\", min_ms = 90, max_ms = 80 }")), vec![], vec!["network.latency.min_ms = 90.0: must not exceed max_ms (80.0)"]),
            (doc("", "", &latency("{ dist = \"constant\", ms = -1 }")), vec![], vec!["network.latency.ms = -1.0: must be a finite number >= 0"]),
            (doc("", "", &latency("{ dist = \"uniform\", min_ms = -5, max_ms = 5 }")), vec![], vec!["network.latency.min_ms = -5.0: must be a finite number >= 0"]),
            (doc("", "", &latency("{ dist = \"exponential\", mean_ms = 0 }")), vec![], vec!["network.latency.mean_ms = 0.0: must be a finite number > 0"]),
            (doc("", "", &latency("{ dist = \"log-normal\", median_ms = 5, sigma = inf }")), vec![], vec!["network.latency.sigma = inf: must be a finite number >= 0"]),
            (doc("", "", &latency("{ dist = \"log-normal\", median_ms = 5 }")), vec![], vec!["missing required key `network.latency.sigma`"]),
            (doc("", "", &latency("{ dist = \"normal\", ms = 5 }")), vec![], vec!["network.latency.dist = \"normal\": must be one of \"constant\""]),
            (doc("", "", &latency("{ dist = \"constant\", ms = 5, sigma = 1 }")), vec![], vec!["network.latency.sigma = 1.0: is not a parameter of dist = \"constant\" (it takes ms)"]),
            (doc("", "", &latency("{ ms = 5 }")), vec![], vec!["missing required key `network.latency.dist`"]),
            // Crashes.
            (doc("", "", &crash("at_round = 1\nnodes = [3, 10]")), vec![], vec!["crashes[0].nodes[1] = 10: is not a node id: ids run from 0 to nodes - 1 (9)"]),
            (doc("", "", &crash("at_round = 1\nnodes = [-1]")), vec![], vec!["crashes[0].nodes[0] = -1: is not a node id"]),
            (doc("", "", &crash("at_round = 1\nnodes = [3, 7, 3]")), vec![], vec!["crashes[0].nodes = [3, 7, 3]: lists node 3 more than once"]),
            (doc("", "", &crash("at_round = 1\nnodes = []")), vec![], vec!["crashes[0].nodes = []: must name at least one node"]),
            (doc("", "", &crash("at_round = 1\nfraction = 0.1\nnodes = [1]")), vec![], vec!["crashes[0].nodes = [1]: conflicts with crashes[0].fraction = 0.1; set only one"]),
            (doc("", "", &crash("at_round = 1")), vec![], vec!["x.toml:9:1: ", "crashes[0]: missing one of fraction, nodes"]),
            (doc("", "", &crash("fraction = 0.5")), vec![], vec!["crashes[0]: missing one of at_round, at_ms"]),
            (doc("", "", &crash("at_round = 1\nat_ms = 1000\nfraction = 0.5")), vec![], vec!["crashes[0].at_ms = 1000: conflicts with crashes[0].at_round = 1; set only one"]),
            (doc("", "", &crash("at_round = 1\nfraction = 1.5")), vec![], vec!["crashes[0].fraction = 1.5: must be a probability in [0, 1]"]),
            (doc("max_rounds = 10", "", &crash("at_round = 10\nfraction = 0.5")), vec![], vec!["crashes[0].at_round = 10: must be less than max_rounds (10)"]),
            (doc("max_rounds = 10", "", &crash("at_ms = 10000\nfraction = 0.5")), vec![], vec!["crashes[0].at_ms = 10000: must be before the end of the run at 10000 ms"]),
            (doc("", "", &crash("at_ms = -5\nfraction = 0.5")), vec![], vec!["crashes[0].at_ms = -5: must not be negative"]),
            (doc("", "", &crash("at_round = 1\nfraction = 0.5\nrecover_after_rounds = 0")), vec![], vec!["crashes[0].recover_after_rounds = 0: must be greater than 0"]),
            (doc("", "", &crash("at_round = 1\nfraction = 0.5\nrecover_after_ms = 9223372036854775807")), vec![], vec!["crashes[0].recover_after_ms = 9223372036854775807: is beyond the simulator's time range"]),
            (doc("", "", &crash("at_round = 1\nfraction = 0.5\nrecover_after_rounds = 1\nrecover_after_ms = 5")), vec![], vec!["crashes[0].recover_after_ms = 5: conflicts with crashes[0].recover_after_rounds = 1"]),
            // Churn.
            (doc("", "", "[churn]\nmean_downtime_rounds = 1"), vec![], vec!["missing required key `churn.crash_rate`"]),
            (doc("", "", "[churn]\ncrash_rate = 2"), vec![], vec!["churn.crash_rate = 2.0: must be a probability in [0, 1]"]),
            (doc("", "", "[churn]\ncrash_rate = 0.1"), vec![], vec!["churn: missing one of mean_downtime_rounds, mean_downtime_ms"]),
            (doc("", "", "[churn]\ncrash_rate = 0.1\nmean_downtime_ms = 0"), vec![], vec!["churn.mean_downtime_ms = 0: must be greater than 0"]),
            (doc("", "", "[churn]\ncrash_rate = 0.1\nmean_downtime_rounds = 1\nstart_round = 5\nstop_round = 2"), vec![], vec!["churn.stop_round = 2: must not be before the churn start (5000 ms)"]),
            (doc("max_rounds = 10", "", "[churn]\ncrash_rate = 0.1\nmean_downtime_rounds = 1\nstart_round = 20"), vec![], vec!["churn.start_round = 20: must be less than max_rounds (10)"]),
            (doc("max_rounds = 10", "", "[churn]\ncrash_rate = 0.1\nmean_downtime_rounds = 1\nstart_round = 20\nstop_round = 30"), vec![], vec!["x.toml:", "churn.start_round = 20: must be less than max_rounds (10)"]),
            (doc("max_rounds = 10", "", "[churn]\ncrash_rate = 0.1\nmean_downtime_rounds = 1\nstart_ms = 10000"), vec![], vec!["churn.start_ms = 10000: must be before the end of the run at 10000 ms"]),
            // Explicit updates.
            (doc("", "", "[[updates]]\nproduct = \"Q\"\nprice = 1\norigin = 10"), vec![], vec!["updates[1].origin = 10: is not a node id"]),
            (doc("", "", "[[updates]]\nproduct = \"Q\"\nprice = 1\norigin = -1"), vec![], vec!["updates[1].origin = -1: is not a node id"]),
            (doc("max_rounds = 10", "", "[[updates]]\nproduct = \"Q\"\nprice = 1\norigin = 0\nat_round = 10"), vec![], vec!["updates[1].at_round = 10: must be less than max_rounds (10)"]),
            (doc("max_rounds = 10", "", "[[updates]]\nproduct = \"Q\"\nprice = 1\norigin = 0\nat_ms = 10000"), vec![], vec!["updates[1].at_ms = 10000: must be before the end of the run"]),
            (doc("", "", "[[updates]]\nproduct = \"Q\"\nprice = 1\norigin = 0\nat_round = 1\nat_ms = 5"), vec![], vec!["updates[1].at_ms = 5: conflicts with updates[1].at_round = 1"]),
            (doc("", "", "[[updates]]\nprice = 1\norigin = 0"), vec![], vec!["missing required key `updates[1].product`"]),
            (doc("", "", "[[updates]]\nproduct = \"Q\"\norigin = 0"), vec![], vec!["missing required key `updates[1].price`"]),
            (doc("", "", "[[updates]]\nproduct = \"Q\"\nprice = 1"), vec![], vec!["missing required key `updates[1].origin`"]),
            (doc("", "", "[[updates]]\nproduct = \"\"\nprice = 1\norigin = 0"), vec![], vec!["updates[1].product = \"\": must be 1 to 64 characters long"]),
            (doc("", "", "[[updates]]\nproduct = \"Q\"\nprice = -1\norigin = 0"), vec![], vec!["updates[1].price = -1.0: must be a finite number >= 0"]),
            (doc("", "", "[[updates]]\nproduct = \"Q\"\nprice = inf\norigin = 0"), vec![], vec!["updates[1].price = inf: must be a finite number >= 0"]),
            // Workload.
            (no_updates.into(), vec![], vec!["no price updates: add [[updates]] or set workload.updates"]),
            (format!("{no_updates}[workload]\nupdates = 0\n"), vec![], vec!["no price updates"]),
            (doc("", "", "[workload]\nupdates = -1"), vec![], vec!["workload.updates = -1: must be between 0"]),
            (doc("", "", "[workload]\nproducts = 0"), vec![], vec!["workload.products = 0: must be between 1 and 10000000"]),
            (doc("", "", "[workload]\nzipf = -1"), vec![], vec!["workload.zipf = -1.0: must be a finite number >= 0"]),
            (doc("", "", "[workload]\nper_round = 0"), vec![], vec!["workload.per_round = 0.0: must be a finite number > 0"]),
            (doc("", "", "[workload]\nmin_price = 5\nmax_price = 2"), vec![], vec!["workload.min_price = 5.0: must not exceed max_price (2.0)"]),
            (doc("", "", "[workload]\nmin_price = 2000"), vec![], vec!["workload.min_price = 2000.0: must not exceed max_price (1000.0)"]),
            (doc("max_rounds = 10", "", "[workload]\nupdates = 5\nstart_round = 10"), vec![], vec!["workload.start_round = 10: must be less than max_rounds (10)"]),
            // Overlays.
            (doc("", "", "[overlay]\nkind = \"ring\""), vec![], vec!["overlay.kind = \"ring\": must be one of \"full\", \"k-regular\", \"k-out\", \"erdos-renyi\", \"hyparview\""]),
            (doc("", "", "[overlay]\nkind = \"k-regular\""), vec![], vec!["missing required key `overlay.degree`"]),
            (doc("", "", "[overlay]\nkind = \"k-regular\"\ndegree = 0"), vec![], vec!["overlay.degree = 0: must be at least 1 and less than nodes (10)"]),
            (doc("", "", "[overlay]\nkind = \"k-out\"\ndegree = 10"), vec![], vec!["overlay.degree = 10: must be at least 1 and less than nodes (10)"]),
            (doc("nodes = 9", "", "[overlay]\nkind = \"k-regular\"\ndegree = 3"), vec![], vec!["overlay.degree = 3: nodes x degree must be even for a regular graph, and 9 x 3 is odd"]),
            (doc("", "", "[overlay]\ndegree = 3"), vec![], vec!["overlay.degree = 3: only applies to kind = \"k-regular\" or \"k-out\""]),
            (doc("", "", "[overlay]\nkind = \"k-out\"\ndegree = 2\np = 0.5"), vec![], vec!["overlay.p = 0.5: only applies to kind = \"erdos-renyi\""]),
            (doc("", "", "[overlay]\nkind = \"erdos-renyi\"\ndegree = 2"), vec![], vec!["overlay.degree = 2: only applies to kind = \"k-regular\" or \"k-out\""]),
            (doc("", "", "[overlay]\nkind = \"erdos-renyi\""), vec![], vec!["overlay: missing one of mean_degree, p"]),
            (doc("", "", "[overlay]\nkind = \"erdos-renyi\"\nmean_degree = 3\np = 0.5"), vec![], vec!["overlay.p = 0.5: conflicts with overlay.mean_degree = 3.0; set only one"]),
            (doc("", "", "[overlay]\nkind = \"erdos-renyi\"\np = 0"), vec![], vec!["overlay.p = 0.0: must be a probability in (0, 1]"]),
            (doc("", "", "[overlay]\nkind = \"erdos-renyi\"\np = nan"), vec![], vec!["overlay.p = nan: must be a probability in (0, 1]"]),
            (doc("", "", "[overlay]\nkind = \"erdos-renyi\"\nmean_degree = 9.5"), vec![], vec!["overlay.mean_degree = 9.5: must be a finite number > 0 and at most nodes - 1 (9)"]),
            (doc("", "", "[overlay]\nkind = \"full\"\ndegre = 3"), vec![], vec!["unknown key `degre` in [overlay]"]),
            // HyParView in the same table: its keys belong to it alone, and it owns no static key.
            (doc("", "", "[overlay]\nactive_size = 5"), vec![], vec!["overlay.active_size = 5: only applies to kind = \"hyparview\""]),
            (doc("", "", "[overlay]\nkind = \"k-regular\"\ndegree = 4\nwarmup_rounds = 0"), vec![], vec!["overlay.warmup_rounds = 0: only applies to kind = \"hyparview\""]),
            (doc("", "", "[overlay]\nkind = \"hyparview\"\ndegree = 4"), vec![], vec!["overlay.degree = 4: only applies to kind = \"k-regular\" or \"k-out\""]),
            (doc("", "", "[overlay]\nkind = \"hyparview\"\nmean_degree = 4"), vec![], vec!["overlay.mean_degree = 4.0: only applies to kind = \"erdos-renyi\""]),
            (doc("", "", "[overlay]\nkind = \"hyparview\"\nactive_size = 0"), vec![], vec!["overlay.active_size = 0: must be between 1 and 64"]),
            (doc("", "", "[overlay]\nkind = \"hyparview\"\narwl = 2\nprwl = 3"), vec![], vec!["overlay.prwl = 3: must be between 0 and 2"]),
            (doc("", "", "[overlay]\nkind = \"hyparview\"\nactive_size = 2\nshuffle_active = 3"), vec![], vec!["overlay.shuffle_active = 3: must be between 0 and 2"]),
            (doc("", "", "[overlay]\nkind = \"hyparview\"\nshufle_every = 3"), vec![], vec!["unknown key `shufle_every` in [overlay]"]),
            // Plumtree.
            (doc("", "kind = \"plumtree\"", ""), vec![], vec!["protocol.kind = \"plumtree\": needs overlay.kind = \"hyparview\"", "not \"full\""]),
            (doc("", "kind = \"plumtree\"", "[overlay]\nkind = \"k-regular\"\ndegree = 4"), vec![], vec!["protocol.kind = \"plumtree\": needs overlay.kind = \"hyparview\"", "not \"k-regular\""]),
            (doc("", "kind = \"plumtree\"\nanti_entropy_every = 3", "[overlay]\nkind = \"hyparview\""), vec![], vec!["protocol.anti_entropy_every = 3: only applies to kind = \"rumor\" or \"median-counter\""]),
            (doc("", "ihave_timeout = 3", ""), vec![], vec!["protocol.ihave_timeout = 3: only applies to kind = \"plumtree\""]),
            (doc("", "kind = \"plumtree\"\nihave_timeout = 0", "[overlay]\nkind = \"hyparview\""), vec![], vec!["protocol.ihave_timeout = 0: must be between 1 and 1000000"]),
            (doc("", "local_bias = 0.5", "[[regions]]\nname = \"eu\"\nnodes = 10\n[overlay]\nkind = \"hyparview\""), vec![], vec!["protocol.local_bias = 0.5: only applies to overlay kind = \"full\" (this overlay is \"hyparview\")"]),
            // Flooding.
            (doc("", "kind = \"flood\"\nanti_entropy_every = 3", ""), vec![], vec!["protocol.anti_entropy_every = 3: only applies to kind = \"rumor\" or \"median-counter\""]),
            // Regions.
            (doc("", "local_bias = 0.5", ""), vec![], vec!["protocol.local_bias = 0.5: needs [[regions]]"]),
            (doc("", "", "[[regions]]\nname = \"eu\"\nnodes = 4\n[[regions]]\nname = \"us\"\nnodes = 5"), vec![], vec!["regions[1].nodes = 5: region sizes sum to 9 (4 + 5); they must sum to nodes (10)"]),
            (doc("", "", "[[regions]]\nname = \"us-east\"\nnodes = 10"), vec![], vec!["regions[0].name = \"us-east\": may only contain letters, digits and '_'"]),
            (doc("", "", "[[regions]]\nname = \"\"\nnodes = 10"), vec![], vec!["regions[0].name = \"\": must be 1 to 32 characters long"]),
            (doc("", "", "[[regions]]\nname = \"eu\"\nnodes = 5\n[[regions]]\nname = \"eu\"\nnodes = 5"), vec![], vec!["regions[1].name = \"eu\": is already the name of regions[0]"]),
            (doc("", "", "[[regions]]\nname = \"eu\""), vec![], vec!["missing required key `regions[0].nodes`"]),
            (doc("", "", "[[regions]]\nnodes = 10"), vec![], vec!["missing required key `regions[0].name`"]),
            (doc("", "", "[[regions]]\nname = \"eu\"\nnodes = 0"), vec![], vec!["regions[0].nodes = 0: must be between 1 and 10"]),
            (doc("", "", "[[regions]]\nname = \"eu\"\nnodes = 10\nsize = 3"), vec![], vec!["unknown key `size` in regions[0]"]),
            (doc("", "timing = \"async\"", "[region_latency]\n\"eu-us\" = { dist = \"constant\", ms = 5 }"), vec![], vec!["region_latency.eu-us = \"eu-us\": needs [[regions]] to name the regions"]),
            (doc("", "", "[[regions]]\nname = \"eu\"\nnodes = 4\n[[regions]]\nname = \"us\"\nnodes = 6\n[region_latency]\n\"eu-us\" = { dist = \"constant\", ms = 5 }"), vec![], vec!["region_latency.eu-us = \"eu-us\": only applies to timing = \"async\""]),
            (doc("", "timing = \"async\"", "[[regions]]\nname = \"eu\"\nnodes = 4\n[[regions]]\nname = \"us\"\nnodes = 6\n[region_latency]\n\"eu-xx\" = { dist = \"constant\", ms = 5 }"), vec![], vec!["region_latency.eu-xx = \"eu-xx\": must be two region names joined by '-', as in \"eu-eu\" (regions: \"eu\", \"us\")"]),
            (doc("", "timing = \"async\"", "[[regions]]\nname = \"eu\"\nnodes = 4\n[[regions]]\nname = \"us\"\nnodes = 6\n[region_latency]\n\"eu-us\" = { dist = \"constant\", ms = 5 }\n\"us-eu\" = { dist = \"constant\", ms = 6 }"), vec![], vec!["region_latency.us-eu = \"us-eu\": names the same pair as region_latency.eu-us (latency is symmetric)"]),
            (doc("", "timing = \"async\"", "[[regions]]\nname = \"eu\"\nnodes = 10\n[region_latency]\n\"eu-eu\" = { dist = \"constant\", ms = -1 }"), vec![], vec!["region_latency.eu-eu.ms = -1.0: must be a finite number >= 0"]),
            (doc("", "timing = \"async\"", "[[regions]]\nname = \"eu\"\nnodes = 10\n[region_latency]\n\"eu-eu\" = { dist = \"constant\", mss = 1 }"), vec![], vec!["unknown key `mss` in [region_latency.eu-eu]"]),
            (doc("", "local_bias = 0.5", "[[regions]]\nname = \"eu\"\nnodes = 10\n[overlay]\nkind = \"k-out\"\ndegree = 3"), vec![], vec!["protocol.local_bias = 0.5: only applies to overlay kind = \"full\" (this overlay is \"k-out\")"]),
            (doc("", "local_bias = 1.5", "[[regions]]\nname = \"eu\"\nnodes = 10"), vec![], vec!["protocol.local_bias = 1.5: must be a probability in [0, 1]"]),
            // Sizes.
            (doc("", "", "[sizes]\nheader = -1"), vec![], vec!["sizes.header = -1: must not be negative"]),
            // Overrides.
            (doc("", "", ""), vec!["protocl.fanout=3"], vec!["x.toml: --set protocl.fanout=3: unknown key `protocl`"]),
            (doc("", "", ""), vec!["protocol.fanot=3"], vec!["--set protocol.fanot=3: unknown key `fanot` in [protocol]"]),
            (doc("", "", ""), vec!["fanout"], vec!["x.toml: --set fanout: expected KEY=VALUE"]),
            (doc("", "", ""), vec!["=3"], vec!["--set =3: expected KEY=VALUE"]),
            (doc("", "", ""), vec!["protocol.fanout=three"], vec!["--set protocol.fanout=three: protocol.fanout = \"three\": expected an integer"]),
            (doc("", "", ""), vec!["protocol.fanout=1.5"], vec!["--set protocol.fanout=1.5: protocol.fanout = 1.5: expected an integer"]),
            (doc("", "", ""), vec!["network.loss=1.5"], vec!["--set network.loss=1.5: network.loss = 1.5: must be a probability"]),
            (doc("", "", ""), vec!["name.x=1"], vec!["--set name.x=1: `name` is a string, not a table"]),
            (doc("", "", ""), vec!["updates.x=1"], vec!["--set updates.x=1: `updates` is an array: index it with a number"]),
            (doc("", "", ""), vec!["crashes.3.fraction=0.2"], vec!["--set crashes.3.fraction=0.2: `crashes` has 0 entries: index 3 is past its end"]),
            (doc("", "", ""), vec!["protocol..fanout=3"], vec!["--set protocol..fanout=3: `protocol..fanout` has an empty part"]),
            (doc("", "", ""), vec!["network.latency.dist=exponential"], vec!["--set network.latency.dist=exponential: missing required key `network.latency.mean_ms`"]),
            (doc("", "", &crash("at_round = 1\nfraction = 0.5")), vec!["crashes.0={ at_round = 1, at_ms = 5, fraction = 0.5 }"], vec!["--set crashes.0={ at_round = 1, at_ms = 5, fraction = 0.5 }: crashes[0].at_ms = 5: conflicts with"]),
        ];
        assert!(cases.len() >= 30);
        for (text, overrides, wanted) in &cases {
            let message = error(text, overrides);
            assert!(message.starts_with(FILE), "{message:?} does not name the file");
            assert!(!message.contains('\n'), "{message:?} is not one line");
            for wanted in wanted {
                assert!(
                    message.contains(wanted),
                    "{message:?} lacks {wanted:?}\nfrom:\n{text}\nwith {overrides:?}"
                );
            }
        }
    }

    /// Found by the fuzz test: serde accepted an array of the right length in place of a
    /// table, field by field, and one of the wrong length was reported in Rust's words.
    #[test]
    fn a_table_written_as_an_array_is_a_type_error_not_positional_fields() {
        let cases = [
            (
                "output = [false, true]",
                "output = [false, true]: expected a table",
            ),
            ("sizes = [1, 2, 3]", "sizes = [1, 2, 3]: expected a table"),
            ("sizes = [1]", "sizes = [1]: expected a table"),
            ("network = [0.5]", "network = [0.5]: expected a table"),
            ("workload = []", "workload = []: expected a table"),
            (
                "churn = [0.1, 1, 1, true, 0, 0, 9, 9]",
                "churn = [0.1, 1, 1, true, 0, 0, 9, 9]: expected a table",
            ),
            (
                "network = { latency = [\"constant\", 5.0, 1.0, 1.0, 1.0, 1.0, 1.0] }",
                "network.latency = [\"constant\", 5.0",
            ),
            (
                "crashes = [[1, 2, 0.5]]",
                "crashes[0] = [1, 2, 0.5]: expected a table",
            ),
            (
                "crashes = [{ at_round = 1, fraction = 0.5 }, [1]]",
                "crashes[1] = [1]: expected a table",
            ),
            (
                "region_latency = { a-b = [\"constant\", 5.0, 1.0, 1.0, 1.0, 1.0, 1.0] }",
                "region_latency.a-b = [\"constant\", 5.0",
            ),
            (
                "regions = [[\"eu\", 5]]",
                "regions[0] = [\"eu\", 5]: expected a table",
            ),
            (
                "overlay = [\"k-regular\", 4]",
                "overlay = [\"k-regular\", 4]: expected a table",
            ),
            (
                "region_latency = [1]",
                "region_latency = [1]: expected a table",
            ),
        ];
        for (line, wanted) in cases {
            let text = format!("{line}\n{}", doc("", "", ""));
            let message = error(&text, &[]);
            assert!(message.starts_with("scenarios/x.toml:1:"), "{message}");
            assert!(message.contains(wanted), "{message:?} lacks {wanted:?}");
        }
        let message = error(
            &doc(
                "",
                "",
                "[[updates]]\nproduct = \"Q\"\nprice = 1\norigin = 0",
            ),
            &["updates.1=[\"P1\", 1.0, 3, 0]"],
        );
        assert!(
            message.contains("--set updates.1=[\"P1\", 1.0, 3, 0]: updates[1] = [\"P1\", 1.0, 3, 0]: expected a table"),
            "{message}"
        );
        assert_eq!(
            type_problem("invalid length 2, expected struct RawNetwork with 2 elements"),
            "expected a table"
        );
    }

    /// Found by the fuzz test: `--set crashes.x=0` on a file without crashes made `crashes` a
    /// table, and the error spoke serde ("invalid type: map, expected a sequence").
    /// Every key whose value deserializes from a table is in TABLES, and every key whose value
    /// deserializes from an array of tables in ARRAYS_OF_TABLES, found from the raw types
    /// themselves (serde lists a table's keys in its unknown-key error), so a table added to
    /// the file format cannot be forgotten there.
    #[test]
    fn every_table_of_the_schema_is_checked_for_arrays() {
        /// The keys of the table at `table` (`*` standing for a name the user picks), or
        /// `["*"]` for a table that takes any name.
        fn keys_of(table: &str) -> Vec<String> {
            let text = if table.is_empty() {
                "bogus_key = 1".to_owned()
            } else {
                format!("[{}]\nbogus_key = 1", table.replace('*', "any"))
            };
            let message = toml::from_str::<RawScenario>(&text)
                .unwrap_err()
                .message()
                .to_owned();
            match unknown_key_expected(&message) {
                Some(expected) => expected
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_owned)
                    .collect(),
                // Any name is welcome; its value has a type of its own.
                None => vec!["*".to_owned()],
            }
        }
        fn accepts(text: &str) -> bool {
            toml::from_str::<RawScenario>(text).is_ok()
        }
        let mut tables = Vec::new();
        let mut arrays = Vec::new();
        let mut queue = vec![String::new()];
        while let Some(table) = queue.pop() {
            for key in keys_of(&table) {
                let path = if table.is_empty() {
                    key.clone()
                } else {
                    format!("{table}.{key}")
                };
                let named = path.replace('*', "any");
                let (parent, leaf) = match named.rsplit_once('.') {
                    Some((parent, leaf)) => (format!("[{parent}]\n"), leaf.to_owned()),
                    None => (String::new(), named.clone()),
                };
                if accepts(&format!("{parent}{leaf} = {{}}")) {
                    tables.push(path.clone());
                    queue.push(path);
                } else if accepts(&format!("{parent}{leaf} = [{{}}]")) {
                    arrays.push(path);
                }
            }
        }
        tables.sort();
        arrays.sort();
        let mut listed: Vec<String> = TABLES.iter().map(|t| t.to_string()).collect();
        listed.sort();
        assert_eq!(tables, listed);
        let mut listed = ARRAYS_OF_TABLES.to_vec();
        listed.sort();
        assert_eq!(arrays, listed);
    }

    #[test]
    fn a_table_created_by_set_where_an_array_belongs_names_key_and_value() {
        assert_eq!(
            error(&doc("", "", ""), &["crashes.x=0"]),
            "scenarios/x.toml: --set crashes.x=0: crashes = { x = 0 }: expected an array"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let depth = 100_000;
        let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let message = error(&format!("name = {nested}"), &[]);
        assert!(message.starts_with("scenarios/x.toml:1:"), "{message}");
        let message = error(&doc("", "", ""), &[&format!("name={nested}")]);
        assert!(message.len() < 400, "{message}");
        assert!(
            message.contains("must be at most 64 characters"),
            "{message}"
        );
    }

    /// Each case: the file, the whole message. The TOML reader said only "duplicate key".
    #[rustfmt::skip]
    #[test]
    fn a_duplicate_names_the_key_and_both_places() {
        let cases = [
            ("name = \"a\"\nname = \"b\"\n", "x.toml:2:1: duplicate key `name` (first written at line 1, column 1)"),
            ("[protocol]\nfanout = 2\nkind = \"push\"\nfanout = 3\n", "x.toml:4:1: duplicate key `protocol.fanout` (first written at line 2, column 1)"),
            ("[protocol]\nkind = \"push\"\n[network]\n[protocol]\n", "x.toml:4:2: duplicate table `[protocol]` (first written at line 1, column 2)"),
            ("protocol.kind = \"push\"\n[protocol]\n", "x.toml:2:2: duplicate table `[protocol]` (first written at line 1, column 1)"),
            ("[network]\nlatency = { dist = \"constant\", ms = 1, ms = 2 }\n", "x.toml:2:40: duplicate key `network.latency.ms` (first written at line 2, column 32)"),
            ("[network.latency]\ndist = \"constant\"\n[network.latency]\n", "x.toml:3:10: duplicate table `[network.latency]` (first written at line 1, column 10)"),
            ("[[crashes]]\nat_round = 1\n[[crashes]]\nat_round = 2\nat_round = 3\n", "x.toml:5:1: duplicate key `crashes[1].at_round` (first written at line 4, column 1)"),
            ("crashes = []\n[[crashes]]\n", "x.toml:2:3: duplicate table `[[crashes]]` (first written at line 1, column 1)"),
            ("[region_latency]\n\"eu-us\" = 1\n'eu-us' = 2\n", "x.toml:3:1: duplicate key `region_latency.eu-us` (first written at line 2, column 1)"),
            ("[sweep]\nnodes = [10]\n\"nodes\" = [20]\n", "x.toml:3:1: duplicate key `sweep.nodes` (first written at line 2, column 1)"),
        ];
        for (text, wanted) in cases {
            assert_eq!(error(text, &[]), format!("scenarios/{wanted}"), "{text}");
        }
    }

    #[test]
    fn a_duplicate_in_a_set_value_names_the_key() {
        assert_eq!(
            error(&doc("", "", ""), &["network={ loss = 0.1, loss = 0.2 }"]),
            "scenarios/x.toml: --set network={ loss = 0.1, loss = 0.2 }: duplicate key \
             `network.loss` in the value"
        );
        assert_eq!(
            error(
                &doc("", "", ""),
                &["updates=[{ product = \"a\" }, { price = 1, price = 2 }]"]
            ),
            "scenarios/x.toml: --set updates=[{ product = \"a\" }, { price = 1, price = 2 }]: \
             duplicate key `updates[1].price` in the value"
        );
    }

    /// The TOML reader's "recursion limit" for a dotted key of too many parts had no position.
    #[test]
    fn a_dotted_key_too_deep_names_its_place() {
        let key = vec!["a"; 100].join(".");
        assert_eq!(
            error(&format!("name = \"t\"\n{key} = 1\n"), &[]),
            "scenarios/x.toml:2:1: invalid TOML: a dotted key of 100 parts is nested too deeply"
        );
        assert_eq!(
            error(&format!("name = \"t\"\n [{key}]\n"), &[]),
            "scenarios/x.toml:2:3: invalid TOML: a dotted key of 100 parts is nested too deeply"
        );
        let inline = format!("name = {}1{}", "{ a = ".repeat(100), " }".repeat(100));
        let message = error(&inline, &[]);
        assert!(message.starts_with("scenarios/x.toml:1:"), "{message}");
    }

    #[test]
    fn long_values_are_cut() {
        let name = "x".repeat(1000);
        let message = error(&doc(&format!("name = \"{name}\""), "", ""), &[]);
        assert!(message.len() < 200, "{message}");
        assert!(
            message.contains("xxx...: must be at most 64 characters"),
            "{message}"
        );
    }

    #[test]
    fn whole_messages() {
        assert_eq!(
            error(&doc("", "fanot = 3", ""), &[]),
            "scenarios/x.toml:5:1: unknown key `fanot` in [protocol] (expected one of `kind`, \
             `fanout`, `timing`, `period_ms`, `jitter_ms`, `local_bias`, `priority`)"
        );
        assert_eq!(
            error(&doc("", "fanout = \"three\"", ""), &[]),
            "scenarios/x.toml:5:10: protocol.fanout = \"three\": expected an integer"
        );
        assert_eq!(
            error(&doc("", "", "[network]\nloss = 1.5"), &[]),
            "scenarios/x.toml:10:8: network.loss = 1.5: must be a probability in [0, 1]"
        );
        assert_eq!(
            error(&doc("", "", ""), &["fanout"]),
            "scenarios/x.toml: --set fanout: expected KEY=VALUE"
        );
    }

    #[test]
    fn a_missing_file_is_named() {
        let message = load(Path::new("scenarios/does-not-exist.toml"), &[])
            .unwrap_err()
            .to_string();
        assert_eq!(
            message,
            "cannot read scenarios/does-not-exist.toml: No such file or directory"
        );
    }

    /// `check /dev/zero` read forever, growing without bound.
    #[test]
    fn a_file_that_never_ends_is_an_error_not_a_hang() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        let message = load(zero, &[]).unwrap_err().to_string();
        assert_eq!(
            message,
            "cannot read /dev/zero: larger than 16 MiB, which no scenario file is"
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_names_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("latin1.toml");
        std::fs::write(&path, b"name = \"ok\"\nproduct = \"caf\xe9\"\n").unwrap();
        let message = load(&path, &[]).unwrap_err().to_string();
        assert!(
            message.ends_with("latin1.toml: not UTF-8 text: invalid byte at line 2, column 15"),
            "{message}"
        );
    }

    #[test]
    fn load_reads_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("example.toml");
        std::fs::write(&path, EXAMPLE).unwrap();
        let scenario = load(&path, &flags(&["trials=3"])).unwrap();
        assert_eq!(scenario.trials, 3);
        std::fs::write(&path, "nodes = [").unwrap();
        let message = load(&path, &[]).unwrap_err().to_string();
        assert!(
            message.starts_with(&format!("{}:1:", path.display())),
            "{message}"
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("abc", 0), (1, 1));
        assert_eq!(line_col("abc\nde", 4), (2, 1));
        assert_eq!(line_col("abc\nde", 6), (2, 3));
        assert_eq!(line_col("é = 1", 3), (1, 3));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    /// serde's wording is what `unknown_key_expected` and `type_problem` read; pin it.
    #[test]
    fn serde_messages_are_translated() {
        assert_eq!(
            unknown_key_expected("unknown field `x`, expected one of `a`, `b`").as_deref(),
            Some("one of `a`, `b`")
        );
        assert_eq!(
            unknown_key_expected("unknown field `x`, expected `a`").as_deref(),
            Some("`a`")
        );
        assert_eq!(unknown_key_expected("missing field `x`"), None);
        assert_eq!(
            type_problem("invalid type: string \"a, expected b\", expected i64"),
            "expected an integer"
        );
        assert_eq!(
            type_problem("invalid type: integer `5`, expected struct RawProtocol"),
            "expected a table"
        );
    }

    /// Values to splice into the example: of every type, at and beyond every boundary.
    const NASTY_VALUES: &[&str] = &[
        "0",
        "1",
        "-1",
        "2",
        "5",
        "1000",
        "1.5",
        "-0.0",
        "0.5",
        "1e400",
        "nan",
        "inf",
        "-inf",
        "9223372036854775807",
        "-9223372036854775808",
        "18446744073709551615",
        "99999999999999999999",
        "\"\"",
        "\"x\"",
        "\"push\"",
        "true",
        "false",
        "[]",
        "[1, 1]",
        "[0, 999, 1000]",
        "{}",
        "{ dist = \"constant\", ms = 5 }",
        "1979-05-27",
        "[[1]]",
        "{ a = { b = 1 } }",
    ];

    /// Every key path of the schema, as `--set` takes it.
    const KEYS: &[&str] = &[
        "name",
        "seed",
        "nodes",
        "trials",
        "max_rounds",
        "protocol",
        "protocol.kind",
        "protocol.fanout",
        "protocol.timing",
        "protocol.period_ms",
        "protocol.jitter_ms",
        "protocol.exchange",
        "network",
        "network.loss",
        "network.latency",
        "network.latency.dist",
        "network.latency.ms",
        "network.latency.min_ms",
        "network.latency.max_ms",
        "network.latency.mean_ms",
        "network.latency.median_ms",
        "network.latency.sigma",
        "crashes",
        "crashes.0",
        "crashes.0.at_round",
        "crashes.0.at_ms",
        "crashes.0.fraction",
        "crashes.0.nodes",
        "crashes.0.nodes.0",
        "crashes.2.at_ms",
        "crashes.0.recover_after_rounds",
        "crashes.0.recover_after_ms",
        "crashes.0.keep_state",
        "churn",
        "churn.crash_rate",
        "churn.mean_downtime_rounds",
        "churn.mean_downtime_ms",
        "churn.keep_state",
        "churn.rejoin",
        "churn.start_round",
        "churn.start_ms",
        "churn.stop_round",
        "churn.stop_ms",
        "updates",
        "updates.0.product",
        "updates.0.price",
        "updates.0.origin",
        "updates.0.at_round",
        "updates.0.at_ms",
        "updates.1.at_ms",
        "workload",
        "workload.products",
        "workload.updates",
        "workload.start_round",
        "workload.start_ms",
        "workload.per_round",
        "workload.zipf",
        "workload.min_price",
        "workload.max_price",
        "overlay",
        "overlay.kind",
        "overlay.active_size",
        "overlay.warmup_rounds",
        "overlay.shuffle_every",
        "protocol.ihave_timeout",
        "sizes",
        "sizes.header",
        "sizes.entry",
        "sizes.digest_entry",
        "output",
        "output.coverage",
        "protocol.local_bias",
        "overlay.degree",
        "overlay.mean_degree",
        "overlay.p",
        "regions",
        "regions.0",
        "regions.0.name",
        "regions.0.nodes",
        "regions.1.nodes",
        "region_latency",
        "region_latency.a-b",
        "region_latency.a-b.dist",
        "bogus",
        "protocol.bogus.deeper",
        "crashes.x",
        "name.x",
    ];

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}", flag in "\\PC{0,40}") {
            let _ = parse(&text, FILE, &[flag]);
        }

        #[test]
        fn arbitrary_overrides_never_panic(
            sets in prop::collection::vec(
                (prop::sample::select(KEYS), prop::sample::select(NASTY_VALUES)),
                1..4,
            )
        ) {
            let overrides: Vec<String> =
                sets.iter().map(|(key, value)| format!("{key}={value}")).collect();
            if let Err(error) = parse(EXAMPLE, FILE, &overrides) {
                let message = error.to_string();
                prop_assert!(message.starts_with(FILE), "{}", message);
                prop_assert!(!message.contains('\n'), "{}", message);
            }
        }

        #[test]
        fn mangled_lines_never_panic(
            line in 0usize..60,
            value in prop::sample::select(NASTY_VALUES),
        ) {
            // Replace the value of one `key = value` line of the example.
            let text: Vec<String> = EXAMPLE
                .lines()
                .enumerate()
                .map(|(i, text)| match text.split_once(" = ") {
                    Some((key, _)) if i == line => format!("{key} = {value}"),
                    _ => text.to_owned(),
                })
                .collect();
            let text = text.join("\n");
            if let Err(error) = parse(&text, FILE, &[]) {
                let message = error.to_string();
                prop_assert!(message.starts_with(FILE), "{}", message);
                prop_assert!(!message.contains('\n'), "{}", message);
            }
        }
    }
}
