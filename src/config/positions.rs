//! Where each key of a YAML document sits, so that errors found after parsing (a bad URL, an
//! unreadable certificate) can still point at a line and column.

use std::collections::HashMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

/// Key path (`apps[1].upstream.url`) → 1-based (line, column) of the key, or of the item for
/// sequence entries.
#[derive(Debug, Default)]
pub struct Positions {
    places: HashMap<String, (usize, usize)>,
}

impl Positions {
    /// Indexes `text`; a document the YAML parser rejects yields an empty index (serde reports
    /// the syntax error with its own position).
    pub fn index(text: &str) -> Self {
        let mut walker = Walker::default();
        let mut parser = Parser::new_from_str(text);
        if parser.load(&mut walker, false).is_err() {
            return Positions::default();
        }
        Positions {
            places: walker.places,
        }
    }

    /// Position of `key`, or of its closest ancestor that exists (a missing key is reported where
    /// it should have been written).
    pub fn find(&self, key: &str) -> (usize, usize) {
        let mut key = key;
        loop {
            if let Some(place) = self.places.get(key) {
                return *place;
            }
            match key.rfind(['.', '[']) {
                Some(cut) => key = &key[..cut],
                None => return (1, 1),
            }
        }
    }
}

enum Frame {
    /// `item` is set while a mapping that is a sequence entry has no key yet: the entry's
    /// position is taken from its first key, since the parser marks the mapping start elsewhere.
    Mapping {
        path: String,
        key: Option<String>,
        item: Option<String>,
    },
    Sequence {
        path: String,
        next: usize,
    },
}

#[derive(Default)]
struct Walker {
    stack: Vec<Frame>,
    places: HashMap<String, (usize, usize)>,
}

impl Walker {
    /// The path of the value that the next event starts, recording its position; `None` when the
    /// event is a mapping key.
    fn enter_value(&mut self, mark: Marker, scalar: Option<&str>) -> Option<String> {
        let place = (mark.line(), mark.col() + 1);
        match self.stack.last_mut() {
            None => Some(String::new()),
            Some(Frame::Sequence { path, next }) => {
                let item = format!("{path}[{next}]");
                *next += 1;
                self.places.insert(item.clone(), place);
                Some(item)
            }
            Some(Frame::Mapping { path, key, item }) => match key.take() {
                Some(k) => Some(if path.is_empty() {
                    k
                } else {
                    format!("{path}.{k}")
                }),
                None => {
                    let k = scalar.unwrap_or("?").to_string();
                    let full = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    self.places.insert(full, place);
                    if let Some(item) = item.take() {
                        self.places.insert(item, place);
                    }
                    *key = Some(k);
                    None
                }
            },
        }
    }
}

impl MarkedEventReceiver for Walker {
    fn on_event(&mut self, event: Event, mark: Marker) {
        match event {
            Event::Scalar(value, ..) => {
                self.enter_value(mark, Some(&value));
            }
            Event::Alias(_) => {
                self.enter_value(mark, None);
            }
            Event::MappingStart(..) => {
                let in_sequence = matches!(self.stack.last(), Some(Frame::Sequence { .. }));
                if let Some(path) = self.enter_value(mark, None) {
                    let item = in_sequence.then(|| path.clone());
                    self.stack.push(Frame::Mapping {
                        path,
                        key: None,
                        item,
                    });
                }
            }
            Event::SequenceStart(..) => {
                if let Some(path) = self.enter_value(mark, None) {
                    self.stack.push(Frame::Sequence { path, next: 0 });
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "listeners:\n  - address: a\napps:\n  - name: x\n    upstream:\n      url: u\n  - name: y\n    upstream:\n      url: v\n";

    #[test]
    fn nested_keys_have_their_line_and_column() {
        let p = Positions::index(DOC);
        assert_eq!(p.find("apps"), (3, 1));
        assert_eq!(p.find("apps[1]"), (7, 5));
        assert_eq!(p.find("apps[1].name"), (7, 5));
        assert_eq!(p.find("apps[1].upstream.url"), (9, 7));
        assert_eq!(p.find("listeners[0].address"), (2, 5));
    }

    #[test]
    fn missing_key_falls_back_to_its_parent() {
        let p = Positions::index(DOC);
        assert_eq!(p.find("apps[1].upstream.timeouts.connect"), (8, 5));
    }
}
