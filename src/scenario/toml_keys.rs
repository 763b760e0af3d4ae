//! Where each key of a TOML text sits in the document: the full path of every key token
//! (`protocol.fanout`, `crashes[1].at_round`), for the errors that the TOML reader reports by
//! position alone. Its "duplicate key" names no key, and its "recursion limit" for a dotted key
//! of too many parts has no position at all; with this walk over the parser's events both can
//! name the key and where it is, and where it was first written.
//!
//! The walk runs only after the reader has failed, so its cost never touches a valid file.

use std::collections::BTreeMap;
use std::ops::Range;

use toml_parser::Source;
use toml_parser::parser::{Event, EventKind};

use super::error::{KeyPath, Written};

/// One key token of the text: its full path in the document, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct KeyToken {
    pub path: KeyPath,
    pub span: Range<usize>,
    pub written: Written,
    /// The number of dotted parts of the key this token is the first part of; 0 for a later
    /// part.
    pub parts: usize,
}

/// Every key token of `text`, in text order. `value_of` is `None` for a whole document; for a
/// single value (the VALUE of `--set KEY=VALUE`), it is the path of KEY, which the value's keys
/// are under.
pub(super) fn key_tokens(text: &str, value_of: Option<&KeyPath>) -> Vec<KeyToken> {
    let source = Source::new(text);
    let tokens = source.lex().into_vec();
    let mut events: Vec<Event> = Vec::new();
    match value_of {
        None => toml_parser::parser::parse_document(&tokens, &mut events, &mut ()),
        Some(_) => toml_parser::parser::parse_value(&tokens, &mut events, &mut ()),
    }
    Walk::new(value_of.cloned()).run(&source, &events)
}

/// The duplicate written at `offset` (where the TOML reader's "duplicate key" points), and the
/// token that first wrote the same key, if there is one before it.
pub(super) fn duplicate_at(
    tokens: &[KeyToken],
    offset: usize,
) -> Option<(&KeyToken, Option<&KeyToken>)> {
    let duplicate = tokens.iter().find(|token| token.span.start == offset)?;
    let first = tokens
        .iter()
        .take_while(|token| token.span.start < offset)
        .find(|token| token.path == duplicate.path);
    Some((duplicate, first))
}

/// The first key with the most dotted parts: what the reader's "recursion limit" is about.
pub(super) fn deepest_key(tokens: &[KeyToken]) -> Option<&KeyToken> {
    tokens
        .iter()
        .filter(|token| token.parts > 0)
        .fold(None, |best: Option<&KeyToken>, token| match best {
            Some(best) if best.parts >= token.parts => Some(best),
            _ => Some(token),
        })
}

/// A table or array that the events are inside of, written inline.
enum Frame {
    Table(KeyPath),
    /// `next` is the index of the element being read.
    Array {
        path: KeyPath,
        next: usize,
    },
}

struct Walk {
    /// The table of the last `[header]` (with the index of the element for `[[header]]`).
    header: KeyPath,
    /// Inside a header: whether it is an `[[array]]` one.
    in_header: Option<bool>,
    /// The parts of the key being read, decoded, with their spans.
    key: Vec<(String, Range<usize>)>,
    /// The path of the value that comes next, after `KEY =`.
    value_of: Option<KeyPath>,
    frames: Vec<Frame>,
    /// Elements so far of each array of tables, by path.
    arrays: BTreeMap<String, usize>,
    tokens: Vec<KeyToken>,
}

impl Walk {
    fn new(value_of: Option<KeyPath>) -> Walk {
        Walk {
            header: KeyPath::root(),
            in_header: None,
            key: Vec::new(),
            value_of,
            frames: Vec::new(),
            arrays: BTreeMap::new(),
            tokens: Vec::new(),
        }
    }

    fn run(mut self, source: &Source<'_>, events: &[Event]) -> Vec<KeyToken> {
        for event in events {
            let span = event.span().start()..event.span().end();
            match event.kind() {
                EventKind::StdTableOpen => self.open_header(false),
                EventKind::ArrayTableOpen => self.open_header(true),
                EventKind::StdTableClose | EventKind::ArrayTableClose => self.close_header(),
                EventKind::SimpleKey => {
                    let mut decoded = String::new();
                    if let Some(raw) = source.get(event) {
                        raw.decode_key(&mut decoded, &mut ());
                    }
                    self.key.push((decoded, span));
                }
                EventKind::KeyValSep => {
                    let base = match self.frames.last() {
                        Some(Frame::Table(path)) => path.clone(),
                        // Recovery from a malformed text: keys have no place in an array.
                        Some(Frame::Array { path, .. }) => path.clone(),
                        None => self.header.clone(),
                    };
                    let path = self.record_key(base, Written::Key);
                    self.value_of = Some(path);
                }
                EventKind::InlineTableOpen => {
                    let path = self.next_value();
                    self.frames.push(Frame::Table(path));
                }
                EventKind::ArrayOpen => {
                    let path = self.next_value();
                    self.frames.push(Frame::Array { path, next: 0 });
                }
                EventKind::Scalar => {
                    self.next_value();
                }
                EventKind::InlineTableClose | EventKind::ArrayClose => {
                    self.frames.pop();
                }
                EventKind::ValueSep => {
                    if let Some(Frame::Array { next, .. }) = self.frames.last_mut() {
                        *next += 1;
                    }
                }
                EventKind::KeySep
                | EventKind::Whitespace
                | EventKind::Comment
                | EventKind::Newline
                | EventKind::Error => {}
            }
        }
        self.tokens
    }

    fn open_header(&mut self, array: bool) {
        self.in_header = Some(array);
        self.key.clear();
        self.frames.clear();
        self.value_of = None;
    }

    fn close_header(&mut self) {
        let array = self.in_header.take().unwrap_or(false);
        let written = if array {
            Written::ArrayOfTables
        } else {
            Written::Table
        };
        let mut path = self.record_key(KeyPath::root(), written);
        if array {
            let count = self.arrays.entry(path.to_string()).or_insert(0);
            *count += 1;
            path = path.index(*count - 1);
        }
        self.header = path;
    }

    /// Records the parts of the key just read, under `base`, and returns the key's path. A part
    /// that names an array of tables means its last element, as in TOML's `[[a]]` then `[a.b]`.
    fn record_key(&mut self, base: KeyPath, written: Written) -> KeyPath {
        let parts = std::mem::take(&mut self.key);
        let count = parts.len();
        let mut path = base;
        for (i, (key, span)) in parts.into_iter().enumerate() {
            path = path.key(&key);
            self.tokens.push(KeyToken {
                path: path.clone(),
                span,
                written,
                parts: if i == 0 { count } else { 0 },
            });
            if i + 1 < count
                && let Some(&elements) = self.arrays.get(&path.to_string())
            {
                path = path.index(elements - 1);
            }
        }
        path
    }

    /// The path of the value that starts now: the key's it follows, or the next element of the
    /// array it is in.
    fn next_value(&mut self) -> KeyPath {
        if let Some(path) = self.value_of.take() {
            return path;
        }
        match self.frames.last() {
            Some(Frame::Array { path, next }) => path.index(*next),
            Some(Frame::Table(path)) => path.clone(),
            None => KeyPath::root(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(text: &str) -> Vec<String> {
        key_tokens(text, None)
            .iter()
            .map(|token| token.path.to_string())
            .collect()
    }

    #[test]
    fn every_key_gets_its_full_path() {
        let text = "name = \"a\"\n\
                    [protocol]\nkind = \"push\"\n\
                    [network]\nlatency = { dist = \"constant\", ms = 5 }\n\
                    [[crashes]]\nat_round = 1\n\
                    [[crashes]]\nnodes = [1, 2]\n\
                    [region_latency]\n\"eu-us\".dist = \"constant\"\n\
                    [sweep]\nx = [{ a = 1 }, { b = [[], { c = 2 }] }]\n";
        assert_eq!(
            paths(text),
            [
                "name",
                "protocol",
                "protocol.kind",
                "network",
                "network.latency",
                "network.latency.dist",
                "network.latency.ms",
                "crashes",
                "crashes[0].at_round",
                "crashes",
                "crashes[1].nodes",
                "region_latency",
                "region_latency.eu-us",
                "region_latency.eu-us.dist",
                "sweep",
                "sweep.x",
                "sweep.x[0].a",
                "sweep.x[1].b",
                "sweep.x[1].b[1].c",
            ]
        );
    }

    #[test]
    fn a_header_under_an_array_of_tables_means_its_last_element() {
        assert_eq!(
            paths("[[a]]\n[[a]]\n[a.b]\nc = 1\n[[a.d]]\ne = 1\n"),
            [
                "a",
                "a",
                "a",
                "a[1].b",
                "a[1].b.c",
                "a",
                "a[1].d",
                "a[1].d[0].e"
            ]
        );
    }

    #[test]
    fn a_value_is_walked_under_its_key() {
        let key = KeyPath::from("network");
        let tokens = key_tokens("{ loss = 0.1, latency = { ms = 1 } }", Some(&key));
        let paths: Vec<String> = tokens.iter().map(|t| t.path.to_string()).collect();
        assert_eq!(
            paths,
            ["network.loss", "network.latency", "network.latency.ms"]
        );
    }

    #[test]
    fn the_duplicate_and_its_first_writing_are_found() {
        let text = "[protocol]\nfanout = 2\nkind = \"push\"\nfanout = 3\n";
        let tokens = key_tokens(text, None);
        let offset = text.rfind("fanout").unwrap();
        let (duplicate, first) = duplicate_at(&tokens, offset).unwrap();
        assert_eq!(duplicate.path.to_string(), "protocol.fanout");
        assert_eq!(first.unwrap().span.start, text.find("fanout").unwrap());
    }

    #[test]
    fn the_deepest_key_is_the_first_of_the_most_parts() {
        let text = "a.b = 1\nc.d.e = 2\nf.g.h = 3\n";
        let tokens = key_tokens(text, None);
        let deepest = deepest_key(&tokens).unwrap();
        assert_eq!((deepest.path.to_string().as_str(), deepest.parts), ("c", 3));
    }
}
