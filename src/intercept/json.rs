//! JSON login bodies (RFC 8259) and the user name at an RFC 6901 pointer. The document is read
//! once, by a serde visitor that keeps only the value at the pointer and refuses what parsers
//! read differently: a key given twice in any object (Python keeps the last, others the
//! first), and on the way to the user name a key that differs from the pointer's only by case
//! (Go's `encoding/json` and ASP.NET match keys ignoring case).

use std::cell::Cell;
use std::collections::BTreeSet;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::ambiguous::Ambiguous;
use super::form::same;

/// The reference tokens of an RFC 6901 pointer (`~1` is `/`, `~0` is `~`); `None` when it is
/// not one.
pub fn pointer_tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    pointer
        .strip_prefix('/')?
        .split('/')
        .map(unescape)
        .collect()
}

/// The form field name Rails reads the same value under (`/a/b` is `a[b]`): its `params`
/// merge the query string with a JSON body.
pub fn pointer_as_field_name(tokens: &[String]) -> Option<String> {
    let (first, rest) = tokens.split_first()?;
    Some(
        rest.iter()
            .fold(first.clone(), |name, t| format!("{name}[{t}]")),
    )
}

/// The string at the pointer: `Ok(None)` when missing or null, refused when the body is not one
/// strict JSON document (BOM, NaN, comments, trailing data, lone surrogates) or the value is not
/// a string (DRF's `CharField` turns 42 into "42").
pub fn username(body: &[u8], tokens: &[String]) -> Result<Option<String>, Ambiguous> {
    let verdict = Cell::new(None);
    let walk = Walk {
        path: Some(tokens),
        verdict: &verdict,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let found = walk
        .deserialize(&mut de)
        .and_then(|found| de.end().map(|()| found));
    match found {
        Ok(Found::Missing) => Ok(None),
        Ok(Found::Text(name)) => Ok(Some(name)),
        Ok(Found::Other) => Err(Ambiguous::JsonNotAString),
        Err(_) => Err(verdict.get().unwrap_or(Ambiguous::JsonSyntax)),
    }
}

fn unescape(token: &str) -> Option<String> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '~' => match chars.next()? {
                '0' => '~',
                '1' => '/',
                _ => return None,
            },
            other => other,
        });
    }
    Some(out)
}

/// An array index token: `0` or digits without a leading zero.
fn array_index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    if !digits || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    token.parse().ok()
}

/// What a value holds at the pointer.
enum Found {
    /// Not there, or null.
    Missing,
    Text(String),
    /// A number, boolean, array or object.
    Other,
}

/// Visits one value. `path` is what is left of the pointer when this value is on the way to
/// the user name (empty: this is it), `None` when it is elsewhere.
#[derive(Clone, Copy)]
struct Walk<'a> {
    path: Option<&'a [String]>,
    /// Why the document was refused, beside serde_json's own error.
    verdict: &'a Cell<Option<Ambiguous>>,
}

impl Walk<'_> {
    fn is_target(self) -> bool {
        self.path.is_some_and(<[String]>::is_empty)
    }

    fn scalar(self) -> Found {
        if self.is_target() {
            Found::Other
        } else {
            Found::Missing
        }
    }

    fn refuse<E: de::Error>(self, why: Ambiguous) -> Result<Found, E> {
        self.verdict.set(Some(why));
        Err(E::custom(why.label()))
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = Found;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Found, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Found, E> {
        Ok(self.scalar())
    }

    fn visit_i64<E>(self, _: i64) -> Result<Found, E> {
        Ok(self.scalar())
    }

    fn visit_u64<E>(self, _: u64) -> Result<Found, E> {
        Ok(self.scalar())
    }

    fn visit_f64<E>(self, _: f64) -> Result<Found, E> {
        Ok(self.scalar())
    }

    fn visit_str<E>(self, v: &str) -> Result<Found, E> {
        Ok(if self.is_target() {
            Found::Text(v.to_owned())
        } else {
            Found::Missing
        })
    }

    fn visit_unit<E>(self) -> Result<Found, E> {
        Ok(Found::Missing)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        let next = match self.path {
            Some([token, rest @ ..]) => array_index(token).map(|i| (i, rest)),
            _ => None,
        };
        let mut found = Found::Missing;
        let mut index = 0usize;
        loop {
            let path = next.filter(|&(i, _)| i == index).map(|(_, rest)| rest);
            let Some(value) = seq.next_element_seed(Walk { path, ..self })? else {
                break;
            };
            if path.is_some() {
                found = value;
            }
            index = index.saturating_add(1);
        }
        Ok(if self.is_target() {
            Found::Other
        } else {
            found
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let next = match self.path {
            Some([token, rest @ ..]) => Some((token, rest)),
            _ => None,
        };
        let mut seen = BTreeSet::new();
        let mut found = Found::Missing;
        while let Some(key) = map.next_key::<String>()? {
            let path = match next {
                Some((token, rest)) if *token == key => Some(rest),
                Some((token, _)) if same(token, &key) => {
                    return self.refuse(Ambiguous::FieldSpelling)
                }
                _ => None,
            };
            if !seen.insert(key) {
                return self.refuse(Ambiguous::JsonDuplicateKey);
            }
            let value = map.next_value_seed(Walk { path, ..self })?;
            if path.is_some() {
                found = value;
            }
        }
        Ok(if self.is_target() {
            Found::Other
        } else {
            found
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(pointer: &str, body: &str) -> Result<Option<String>, Ambiguous> {
        username(body.as_bytes(), &pointer_tokens(pointer).unwrap())
    }

    fn read(body: &str) -> Result<Option<String>, Ambiguous> {
        at("/username", body)
    }

    #[test]
    fn the_string_at_the_pointer_is_read() {
        let body = r#"{"credentials":{"email":"bob@example.com","password":"x"},"remember":true}"#;
        assert_eq!(
            at("/credentials/email", body),
            Ok(Some("bob@example.com".into()))
        );
        assert_eq!(
            at("/a~1b/m~0n", r#"{"a/b":{"m~n":"x"}}"#),
            Ok(Some("x".into()))
        );
        assert_eq!(
            at("/users/1", r#"{"users":["a","b"]}"#),
            Ok(Some("b".into()))
        );
        assert_eq!(at("", r#" "alice" "#), Ok(Some("alice".into())));
        assert_eq!(
            read("{\"username\":\"al\\u00efce\\n\"}\n"),
            Ok(Some("alïce\n".into()))
        );
    }

    #[test]
    fn a_missing_or_null_user_name_is_none() {
        assert_eq!(read(r#"{"password":"x"}"#), Ok(None));
        assert_eq!(read(r#"{"username":null}"#), Ok(None));
        assert_eq!(read(r#"["username"]"#), Ok(None));
        assert_eq!(at("/users/01", r#"{"users":["a","b"]}"#), Ok(None));
        assert_eq!(at("/users/-", r#"{"users":["a","b"]}"#), Ok(None));
        assert_eq!(at("/a/b", r#"{"a":"b"}"#), Ok(None));
    }

    #[test]
    fn a_user_name_that_is_not_a_string_is_refused() {
        for value in [
            "42",
            "4.2",
            "-1",
            "true",
            "[]",
            r#"["alice"]"#,
            r#"{"first":"alice"}"#,
        ] {
            let body = format!(r#"{{"username":{value}}}"#);
            assert_eq!(read(&body), Err(Ambiguous::JsonNotAString), "{value}");
        }
    }

    #[test]
    fn a_duplicate_key_in_any_object_is_refused() {
        for body in [
            r#"{"username":"alice","username":"bob"}"#,
            r#"{"x":{"y":1,"y":2},"username":"alice"}"#,
            r#"{"username":"alice","l":[0,{"k":1,"k":1}]}"#,
            r#"{"username":{"a":1,"a":2}}"#,
            r#"{"username":"alice","user\u006eame":"bob"}"#,
        ] {
            assert_eq!(read(body), Err(Ambiguous::JsonDuplicateKey), "{body}");
        }
    }

    #[test]
    fn a_key_on_the_path_spelled_in_another_case_is_refused() {
        for body in [
            r#"{"USERNAME":"bob"}"#,
            r#"{"username":"alice","UserName":"bob"}"#,
            r#"{"u\u017fername":"bob"}"#,
        ] {
            assert_eq!(read(body), Err(Ambiguous::FieldSpelling), "{body}");
        }
        let nested = r#"{"Credentials":{"email":"bob"}}"#;
        assert_eq!(
            at("/credentials/email", nested),
            Err(Ambiguous::FieldSpelling)
        );
        assert_eq!(
            at("/key", "{\"\u{212a}ey\":\"bob\"}"),
            Err(Ambiguous::FieldSpelling)
        );
        // Elsewhere, keys differing by case are no business of ours.
        let off_path = r#"{"Password":"x","password":"y","username":"alice"}"#;
        assert_eq!(read(off_path), Ok(Some("alice".into())));
    }

    #[test]
    fn anything_but_one_strict_json_document_is_refused() {
        for body in [
            "\u{feff}{\"username\":\"alice\"}",
            r#"{"username":"alice","n":NaN}"#,
            r#"{"username":"alice"} // me"#,
            r#"{"username":"alice"} x"#,
            r#"{"username":"alice"}{"username":"bob"}"#,
            r#"{"username":"\ud800"}"#,
            r#"{"username":"alice","x":"\udc00"}"#,
            r#"{'username':'alice'}"#,
            r#"{"username":"alice",}"#,
            r#"{"username":"alice","n":1e400}"#,
            "",
        ] {
            assert_eq!(read(body), Err(Ambiguous::JsonSyntax), "{body}");
        }
        assert_eq!(
            username(b"{\"username\":\"al\xe9ce\"}", &["username".into()]),
            Err(Ambiguous::JsonSyntax)
        );
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert_eq!(read(&deep), Err(Ambiguous::JsonSyntax));
    }

    #[test]
    fn pointers_follow_rfc_6901() {
        assert_eq!(
            pointer_tokens("/a~1b/~0/"),
            Some(vec!["a/b".into(), "~".into(), String::new()])
        );
        assert_eq!(pointer_tokens(""), Some(vec![]));
        assert_eq!(pointer_tokens("username"), None);
        assert_eq!(pointer_tokens("/a~2"), None);
        assert_eq!(pointer_tokens("/a~"), None);
        let tokens = pointer_tokens("/credentials/email").unwrap();
        assert_eq!(
            pointer_as_field_name(&tokens).as_deref(),
            Some("credentials[email]")
        );
        assert_eq!(pointer_as_field_name(&[]), None);
    }
}
