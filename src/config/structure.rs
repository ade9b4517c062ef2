//! Reading the YAML into the raw structure with every structural mistake of a file reported in
//! one run (an unknown key, a value of the wrong kind, a missing key). serde stops at the first
//! mistake, so after each one the document is mended where it was — the unknown key removed, a
//! stand-in of the expected kind put in place of a wrong or missing value — and read again. What
//! is later found in a mended place is an echo of the first mistake and is not reported, and
//! the mended places are returned so that checks after this one skip them too.

use super::error::ConfigError;
use super::positions::Positions;
use super::raw::RawConfig;
use serde_yaml::{Mapping, Value};
use std::path::Path;

/// More mistakes than this in one file, and the rest is left for the next run.
const MAX_MISTAKES: usize = 50;

pub(super) struct Read {
    /// The structure, once nothing more is wrong with it (mended or not).
    pub raw: Option<RawConfig>,
    pub errors: Vec<ConfigError>,
    /// Key paths holding a stand-in: later checks of these are echoes.
    pub mended: Vec<String>,
}

impl Read {
    fn is_mended(&self, key: &str) -> bool {
        is_under_any(&self.mended, key)
    }
}

pub(super) fn read(text: &str, path: &Path, positions: &Positions) -> Read {
    let mut read = Read {
        raw: None,
        errors: Vec::new(),
        mended: Vec::new(),
    };
    let mut document: Value = match serde_yaml::from_str(text) {
        Ok(document) => document,
        Err(e) => {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            let message = super::explain_serde_error(&e.to_string());
            read.errors
                .push(ConfigError::at(path, line, column, "", message));
            return read;
        }
    };
    // Each round either succeeds, or mends one place; a place that cannot be mended ends it.
    // The first round reads the text itself; later ones the mended document written out again
    // (read as text, a plain scalar like 30 is still good where text belongs).
    let mut written = text.to_string();
    for round in 0..MAX_MISTAKES * 4 {
        let deserializer = serde_yaml::Deserializer::from_str(&written);
        let error = match serde_path_to_error::deserialize::<_, RawConfig>(deserializer) {
            Ok(raw) => {
                read.raw = Some(raw);
                return read;
            }
            Err(error) => error,
        };
        let key = error.path().to_string();
        let key = if key == "." { String::new() } else { key };
        let inner = error.into_inner();
        // A position serde gives is exact only in the text as written, the first round's.
        let exact = (round == 0)
            .then(|| inner.location())
            .flatten()
            .map(|l| (l.line(), l.column()));
        let full = inner.to_string();
        let message = bare(&full);
        let mistake = Mistake::of(message);
        let target = match &mistake {
            Mistake::Missing(field) => join(&key, field),
            _ => key.clone(),
        };
        if !read.is_mended(&target) {
            if read.errors.len() == MAX_MISTAKES {
                break;
            }
            let (line, column) = exact.unwrap_or_else(|| positions.find(&key));
            read.errors.push(ConfigError::at(
                path,
                line,
                column,
                target.clone(),
                plain(message, &target),
            ));
        }
        let mended = match mistake {
            Mistake::Unknown => remove(&mut document, &key),
            Mistake::Kind(expected) | Mistake::Value(expected) => {
                read.mended.push(target.clone());
                replace(&mut document, &key, stand_in(&expected))
            }
            Mistake::Missing(field) => {
                read.mended.push(target.clone());
                insert(&mut document, &key, &field, Value::String(String::new()))
            }
            Mistake::Other => {
                read.mended.push(target.clone());
                remove(&mut document, &key)
            }
        };
        if !mended {
            break;
        }
        match serde_yaml::to_string(&document) {
            // Aliases are expanded when the document is written out: a file that grows past
            // this is not mended further (its first mistakes are reported).
            Ok(next) if next.len() <= text.len().saturating_mul(4).saturating_add(65_536) => {
                written = next
            }
            _ => break,
        }
    }
    read
}

/// What serde found wrong, by its message.
enum Mistake {
    Unknown,
    /// A value of another kind than `expected` (serde's wording).
    Kind(String),
    /// A value of the right kind but not allowed (a negative count).
    Value(String),
    /// The field of this name is missing.
    Missing(String),
    Other,
}

impl Mistake {
    fn of(message: &str) -> Mistake {
        let expected = || {
            message
                .rsplit_once(", expected ")
                .map(|(_, e)| strip_position(e).to_string())
                .unwrap_or_default()
        };
        if message.starts_with("unknown field `") {
            Mistake::Unknown
        } else if message.starts_with("invalid type: ") {
            Mistake::Kind(expected())
        } else if message.starts_with("invalid value: ") || message.starts_with("invalid length ") {
            Mistake::Value(expected())
        } else if let Some(rest) = message.strip_prefix("missing field `") {
            Mistake::Missing(rest.split('`').next().unwrap_or_default().to_string())
        } else {
            Mistake::Other
        }
    }
}

fn strip_position(text: &str) -> &str {
    text.rfind(" at line ").map_or(text, |cut| &text[..cut])
}

/// serde_yaml's message without its position and the key path it starts some with (both are
/// printed from our own index).
fn bare(message: &str) -> &str {
    let message = strip_position(message);
    match message.split_once(": ") {
        Some((path, rest)) if !path.contains(' ') && !path.contains('`') => rest,
        _ => message,
    }
}

/// serde's message in an operator's words: what kind of value belongs there, and what was found.
pub(super) fn plain(message: &str, key: &str) -> String {
    let message = strip_position(message);
    let found_and_expected = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "));
    if let Some((found, expected)) = found_and_expected.and_then(|m| m.rsplit_once(", expected ")) {
        return format!(
            "expected {}, found {}",
            kind_words(expected, key),
            found_words(found)
        );
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or_default();
        return format!("missing: `{field}` is required here");
    }
    super::explain_serde_error(message)
}

/// serde's name of an expected type, as an operator knows it.
fn kind_words(expected: &str, key: &str) -> String {
    let last = key
        .rsplit(['.', '['])
        .next()
        .unwrap_or(key)
        .trim_end_matches(']');
    let integer = ["usize", "u64", "u32", "u16", "u8", "i64", "i32"];
    let words = if integer.contains(&expected) {
        "a whole number"
    } else if expected == "f64" || expected == "f32" {
        "a number"
    } else if expected == "a boolean" {
        "true or false"
    } else if expected == "a string" && is_duration_key(last) {
        "a duration such as 30s, 5m or 1h"
    } else if expected == "a string" || expected == "path string" {
        "text"
    } else if expected == "a sequence" && last == "hosts" {
        "a list of host names, such as [\"app.example.com\"]"
    } else if expected == "a sequence" && is_path_list_key(last) {
        "a list of paths, such as [/login, /admin/]"
    } else if expected == "a sequence" {
        "a list (one `- item` per line, or [a, b])"
    } else if expected.starts_with("struct ") || expected == "a map" || expected.contains("map") {
        "a section of keys (`key: value` lines, indented below it)"
    } else {
        expected
    };
    words.to_string()
}

fn is_duration_key(last: &str) -> bool {
    last.ends_with("timeout")
        || matches!(
            last,
            "within" | "lock" | "connect" | "response_header" | "idle" | "valid_for"
        )
}

fn is_path_list_key(last: &str) -> bool {
    last.ends_with("paths") || matches!(last, "login" | "logout" | "refuse" | "check")
}

/// serde's description of what was found, as an operator reads it.
fn found_words(found: &str) -> String {
    let quoted = |prefix: &str| {
        found
            .strip_prefix(prefix)
            .map(|rest| rest.trim_matches('`').to_string())
    };
    if let Some(text) = found.strip_prefix("string ") {
        return format!("the text {text}");
    }
    if let Some(n) = quoted("integer ").or_else(|| quoted("floating point ")) {
        return format!("the number {n}");
    }
    if let Some(b) = quoted("boolean ") {
        return b;
    }
    match found {
        "sequence" => "a list".into(),
        "map" => "a section of keys".into(),
        "unit value" => "nothing (an empty value)".into(),
        other => other.into(),
    }
}

/// A value of the expected kind, standing in for a wrong one so reading can go on.
fn stand_in(expected: &str) -> Value {
    if [
        "usize", "u64", "u32", "u16", "u8", "i64", "i32", "f64", "f32",
    ]
    .contains(&expected)
    {
        Value::Number(0.into())
    } else if expected == "a boolean" {
        Value::Bool(false)
    } else if expected == "a sequence" {
        Value::Sequence(Vec::new())
    } else if expected.starts_with("struct ") || expected.contains("map") {
        Value::Mapping(Mapping::new())
    } else {
        Value::String(String::new())
    }
}

fn join(key: &str, field: &str) -> String {
    if key.is_empty() {
        field.to_string()
    } else {
        format!("{key}.{field}")
    }
}

pub(super) fn is_under_any(places: &[String], key: &str) -> bool {
    places.iter().any(|place| {
        key == place
            || (key.starts_with(place.as_str())
                && matches!(key.as_bytes().get(place.len()), Some(b'.' | b'[')))
    })
}

/// One step of a key path: a mapping key or a sequence index.
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn steps(key: &str) -> Option<Vec<Step<'_>>> {
    let mut steps = Vec::new();
    for part in key.split('.').filter(|p| !p.is_empty()) {
        let (name, mut indices) = match part.find('[') {
            Some(at) => (&part[..at], &part[at..]),
            None => (part, ""),
        };
        if !name.is_empty() {
            steps.push(Step::Key(name));
        }
        while let Some(rest) = indices.strip_prefix('[') {
            let (index, after) = rest.split_once(']')?;
            steps.push(Step::Index(index.parse().ok()?));
            indices = after;
        }
    }
    Some(steps)
}

fn child<'v>(value: &'v mut Value, step: &Step<'_>) -> Option<&'v mut Value> {
    match (value, step) {
        (Value::Mapping(map), Step::Key(name)) => map.get_mut(*name),
        (Value::Sequence(items), Step::Index(i)) => items.get_mut(*i),
        (Value::Tagged(tagged), step) => child(&mut tagged.value, step),
        _ => None,
    }
}

fn node<'v>(document: &'v mut Value, key: &str) -> Option<&'v mut Value> {
    let mut here = document;
    for step in steps(key)? {
        here = child(here, &step)?;
    }
    Some(here)
}

fn replace(document: &mut Value, key: &str, with: Value) -> bool {
    match node(document, key) {
        Some(place) if *place != with => {
            *place = with;
            true
        }
        _ => false,
    }
}

fn insert(document: &mut Value, key: &str, field: &str, with: Value) -> bool {
    match node(document, key) {
        Some(Value::Mapping(map)) if !map.contains_key(field) => {
            map.insert(Value::String(field.to_string()), with);
            true
        }
        _ => false,
    }
}

fn remove(document: &mut Value, key: &str) -> bool {
    let Some(steps) = steps(key) else {
        return false;
    };
    let Some((last, parents)) = steps.split_last() else {
        return false;
    };
    let mut here = document;
    for step in parents {
        let Some(next) = child(here, step) else {
            return false;
        };
        here = next;
    }
    match (here, last) {
        (Value::Mapping(map), Step::Key(name)) => map.remove(*name).is_some(),
        (Value::Sequence(items), Step::Index(i)) if *i < items.len() => {
            items.remove(*i);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        let read = read(text, Path::new("g.yaml"), &Positions::index(text));
        read.errors.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn every_structural_mistake_is_reported_in_one_run_in_plain_words() {
        let text = "\
listeners:
  - address: \"127.0.0.1:8080\"
    tls: yes please
limits:
  max_headers: lots
  max_body_bytes: -1
  header_read_timeout: [30]
gateway:
  trusted_proxies: 10.0.0.1
  workerz: 4
apps:
  - name: a
    hosts: [\"*\"]
    upstream: http://127.0.0.1:9000
  - name: b
    upstream: { url: \"http://127.0.0.1:9001\" }
";
        let found = errors(text);
        let expected = [
            "g.yaml:3:10: listeners[0].tls: expected a section of keys (`key: value` lines, indented below it), found the text \"yes please\"",
            "g.yaml:5:3: limits.max_headers: expected a whole number, found the text \"lots\"",
            "g.yaml:6:3: limits.max_body_bytes: expected a whole number, found the number -1",
            "g.yaml:7:3: limits.header_read_timeout: expected a duration such as 30s, 5m or 1h, found a list",
            "g.yaml:9:3: gateway.trusted_proxies: expected a list (one `- item` per line, or [a, b]), found the text \"10.0.0.1\"",
            "g.yaml:10:3: gateway.workerz: unknown key `workerz` (did you mean `workers`?)",
            "g.yaml:14:5: apps[0].upstream: expected a section of keys (`key: value` lines, indented below it), found the text \"http://127.0.0.1:9000\"",
            "g.yaml:15:5: apps[1].hosts: missing: `hosts` is required here",
        ];
        assert_eq!(found, expected, "{found:#?}");
    }

    #[test]
    fn a_correct_file_reads_at_once_and_syntax_errors_keep_their_place() {
        let good = "listeners: []\napps: []\n";
        let read = read(good, Path::new("g.yaml"), &Positions::index(good));
        assert!(read.raw.is_some() && read.errors.is_empty() && read.mended.is_empty());
        let broken = "listeners: [\napps: []\n";
        let found = errors(broken);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with("g.yaml:"), "{found:?}");
    }

    #[test]
    fn mended_places_cover_what_is_below_them() {
        let places = vec!["apps[1].upstream".to_string()];
        assert!(is_under_any(&places, "apps[1].upstream"));
        assert!(is_under_any(&places, "apps[1].upstream.url"));
        assert!(!is_under_any(&places, "apps[1].upstream_x"));
        assert!(!is_under_any(&places, "apps[10].upstream"));
    }
}
