//! The tamper-evident chain of an audit file: every line is a JSON object that carries its
//! sequence number, the SHA-256 of the line before it, and an HMAC over itself under the audit
//! key, so an edited, removed, inserted or reordered line shows.
//!
//! A line is `{…fields…,"prev":"<hex>","seq":N,"mac":"<hex>"}`: the MAC covers the text up to
//! the `,"mac"` that ends it (with the closing brace).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `prev` of a chain's first line.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const MAC_MARK: &str = ",\"mac\":\"";

use crate::ops::hex::hex;

/// The hash the next line names as `prev`.
pub fn line_hash(line: &str) -> String {
    hex(&Sha256::digest(line.as_bytes()))
}

/// Where a chain stands: the next line's number and the hash it must name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub seq: u64,
    pub prev: String,
}

impl Position {
    pub fn start() -> Position {
        Position {
            seq: 1,
            prev: GENESIS.to_string(),
        }
    }

    /// The position after `line` (a line this chain wrote), so a restarted writer goes on.
    pub fn after(line: &str) -> Option<Position> {
        let value: Value = serde_json::from_str(line).ok()?;
        Some(Position {
            seq: value.get("seq")?.as_u64()? + 1,
            prev: line_hash(line),
        })
    }
}

/// One chained line for `fields` at `position`; `mac` signs text with the audit key.
pub fn seal(
    mut fields: Map<String, Value>,
    position: &Position,
    mac: impl Fn(&[u8]) -> [u8; 32],
) -> String {
    fields.insert("seq".into(), Value::from(position.seq));
    fields.insert("prev".into(), Value::from(position.prev.clone()));
    // serde_json's map keeps keys sorted: the same fields always give the same text.
    let body = Value::Object(fields).to_string();
    let open = body.strip_suffix('}').unwrap_or(&body);
    let signed = format!("{open}}}");
    format!("{open}{MAC_MARK}{}\"}}", hex(&mac(signed.as_bytes())))
}

/// What is wrong with a chain, at which line (1-based, in the file as it is now).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("line {0}: not a sealed audit record")]
    Malformed(usize),
    #[error("line {0}: its MAC does not match: the record was edited or forged")]
    BadMac(usize),
    #[error(
        "line {0}: does not follow the line before it (a line was removed, inserted or moved)"
    )]
    OutOfChain(usize),
}

impl Broken {
    /// The line (1-based) where the chain breaks.
    pub fn line(&self) -> usize {
        match self {
            Broken::Malformed(n) | Broken::BadMac(n) | Broken::OutOfChain(n) => *n,
        }
    }

    /// What is wrong there, without the line number.
    pub fn reason(&self) -> &'static str {
        match self {
            Broken::Malformed(_) => "not a sealed audit record",
            Broken::BadMac(_) => "its MAC does not match: the record was edited or forged",
            Broken::OutOfChain(_) => {
                "does not follow the record before it (a record was removed, inserted or moved)"
            }
        }
    }
}

/// Checks every line of a file; the number of records when the chain holds. The first line may
/// continue an earlier file (after log rotation): its `prev` is taken as given.
pub fn verify<'a>(
    lines: impl IntoIterator<Item = &'a str>,
    mac: impl Fn(&[u8]) -> [u8; 32],
) -> Result<usize, Broken> {
    let mut expected: Option<Position> = None;
    let mut count = 0;
    for (index, line) in lines.into_iter().enumerate() {
        let number = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let cut = line.rfind(MAC_MARK).ok_or(Broken::Malformed(number))?;
        let (head, tail) = line.split_at(cut);
        let sent = tail
            .strip_prefix(MAC_MARK)
            .and_then(|t| t.strip_suffix("\"}"))
            .ok_or(Broken::Malformed(number))?;
        let signed = format!("{head}}}");
        let computed = hex(&mac(signed.as_bytes()));
        // Constant time is not needed here (the verifier holds the key), but cheap.
        let equal: bool =
            subtle::ConstantTimeEq::ct_eq(computed.as_bytes(), sent.as_bytes()).into();
        if !equal {
            return Err(Broken::BadMac(number));
        }
        let value: Value = serde_json::from_str(line).map_err(|_| Broken::Malformed(number))?;
        let seq = value
            .get("seq")
            .and_then(Value::as_u64)
            .ok_or(Broken::Malformed(number))?;
        let prev = value
            .get("prev")
            .and_then(Value::as_str)
            .ok_or(Broken::Malformed(number))?;
        if let Some(expected) = &expected {
            if seq != expected.seq || prev != expected.prev {
                return Err(Broken::OutOfChain(number));
            }
        }
        expected = Some(Position {
            seq: seq + 1,
            prev: line_hash(line),
        });
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mac(data: &[u8]) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(b"test audit key").unwrap();
        m.update(data);
        m.finalize().into_bytes().into()
    }

    fn chain(n: usize) -> Vec<String> {
        let mut position = Position::start();
        (0..n)
            .map(|i| {
                let fields = json!({ "event": "verify_succeeded", "user": format!("u{i}") });
                let line = seal(fields.as_object().unwrap().clone(), &position, mac);
                position = Position::after(&line).unwrap();
                line
            })
            .collect()
    }

    fn check(lines: &[String]) -> Result<usize, Broken> {
        verify(lines.iter().map(String::as_str), mac)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let lines = chain(5);
        assert_eq!(check(&lines), Ok(5));
        assert!(lines[0].contains(&format!("\"prev\":\"{GENESIS}\"")));
        assert!(lines[2].ends_with("\"}"));
    }

    #[test]
    fn an_edited_field_is_found_by_its_mac() {
        let mut lines = chain(5);
        lines[2] = lines[2].replace("\"u2\"", "\"u9\"");
        assert_eq!(check(&lines), Err(Broken::BadMac(3)));
    }

    #[test]
    fn a_removed_line_breaks_the_chain_where_it_was() {
        let mut lines = chain(5);
        lines.remove(1);
        assert_eq!(check(&lines), Err(Broken::OutOfChain(2)));
    }

    #[test]
    fn an_inserted_line_is_found() {
        // Forged without the key.
        let mut lines = chain(4);
        let forged = seal(
            json!({ "event": "x" }).as_object().unwrap().clone(),
            &Position::after(&lines[1]).unwrap(),
            |_| [0u8; 32],
        );
        lines.insert(2, forged);
        assert_eq!(check(&lines), Err(Broken::BadMac(3)));
        // A genuine line copied in again.
        let mut lines = chain(4);
        let copy = lines[0].clone();
        lines.insert(2, copy);
        assert_eq!(check(&lines), Err(Broken::OutOfChain(3)));
    }

    #[test]
    fn swapped_lines_are_found() {
        let mut lines = chain(5);
        lines.swap(1, 3);
        assert_eq!(check(&lines), Err(Broken::OutOfChain(2)));
    }

    #[test]
    fn a_chain_continued_after_rotation_verifies_on_its_own() {
        let lines = chain(6);
        assert_eq!(check(&lines[3..]), Ok(3));
        assert_eq!(check(&["not json".to_string()]), Err(Broken::Malformed(1)));
    }
}
