//! Login request bodies: the user name the gateway asks a second factor for must be the one the
//! app signs in. Input: a `LoginInput` (content type, query, body, user name field, body kind);
//! either readable, as the seeds are (see `LoginInput::from_text`), or any bytes through
//! `arbitrary`.
//!
//! Checks: no panic; an accepted user name is short and free of control characters; and for
//! urlencoded and JSON bodies, a user name the gateway reads is the one a plain reader of that
//! format finds (`form_urlencoded`, `serde_json`'s pointer), and "no user name" means the plain
//! reader finds none either.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use mfa_gateway::intercept::body::{login_username, MediaType, MAX_USERNAME_BYTES};
use mfa_gateway::config::{BodyKind, UsernameField};

#[derive(Debug, Clone, Copy, Arbitrary)]
enum Kind {
    Form,
    Json,
    /// A rule whose body kind and field disagree (the config refuses these; the reader must
    /// too, without panicking).
    FormWithPointer,
    JsonWithFormField,
}

#[derive(Debug, Arbitrary)]
struct LoginInput {
    kind: Kind,
    content_type: Option<String>,
    query: Option<String>,
    field: String,
    body: Vec<u8>,
}

impl LoginInput {
    /// The readable form of the seeds: `Name: value` lines (`kind` is `form`, `json`,
    /// `form-pointer` or `json-field`; `content-type` and `query` may be left out), a blank
    /// line, then the body as is.
    ///
    /// ```text
    /// kind: form
    /// content-type: application/x-www-form-urlencoded
    /// query: next=/admin/
    /// field: username
    ///
    /// csrfmiddlewaretoken=abc&username=alice&password=pw
    /// ```
    fn from_text(data: &[u8]) -> Option<Self> {
        let split = data.windows(2).position(|w| w == b"\n\n");
        let (head, body) = match split {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &[][..]),
        };
        let head = std::str::from_utf8(head).ok()?;
        let mut input = LoginInput {
            kind: Kind::Form,
            content_type: None,
            query: None,
            field: String::new(),
            body: body.to_vec(),
        };
        for line in head.lines() {
            let (name, value) = line.split_once(": ")?;
            match name {
                "kind" => {
                    input.kind = match value {
                        "form" => Kind::Form,
                        "json" => Kind::Json,
                        "form-pointer" => Kind::FormWithPointer,
                        "json-field" => Kind::JsonWithFormField,
                        _ => return None,
                    }
                }
                "content-type" => input.content_type = Some(value.to_string()),
                "query" => input.query = Some(value.to_string()),
                "field" => input.field = value.to_string(),
                _ => return None,
            }
        }
        Some(input)
    }
}

fuzz_target!(|data: &[u8]| {
    let input = match data.strip_prefix(b"kind: ") {
        Some(_) => LoginInput::from_text(data),
        None => LoginInput::arbitrary_take_rest(Unstructured::new(data)).ok(),
    };
    let Some(input) = input else { return };
    let (kind, field) = match input.kind {
        Kind::Form => (BodyKind::Form, UsernameField::Form(input.field.clone())),
        Kind::Json => (
            BodyKind::Json,
            UsernameField::JsonPointer(input.field.clone()),
        ),
        Kind::FormWithPointer => (
            BodyKind::Form,
            UsernameField::JsonPointer(input.field.clone()),
        ),
        Kind::JsonWithFormField => (BodyKind::Json, UsernameField::Form(input.field.clone())),
    };
    let read = login_username(
        kind,
        &field,
        input.content_type.as_deref(),
        input.query.as_deref(),
        &input.body,
    );
    let Ok(name) = read else { return };
    if let Some(name) = &name {
        assert!(
            name.len() <= MAX_USERNAME_BYTES,
            "an over-long user name was accepted"
        );
        assert!(
            !name.chars().any(char::is_control),
            "a user name with a control character was accepted: {name:?}"
        );
    }
    let media = input
        .content_type
        .as_deref()
        .and_then(|ct| MediaType::parse(ct).ok());
    let Some(media) = media else {
        panic!("a user name was read from a request without a well-formed content type");
    };
    match input.kind {
        // An empty field name is left out: no framework reads a user name from it, and the
        // gateway reads none (the config should refuse `username_field: ""`).
        Kind::Form if input.field.is_empty() => {}
        Kind::Form if media.is("application", "x-www-form-urlencoded") => {
            let values: Vec<String> = form_urlencoded::parse(&input.body)
                .filter(|(n, _)| *n == *input.field)
                .map(|(_, v)| v.into_owned())
                .collect();
            match &name {
                Some(name) => assert_eq!(
                    values,
                    [name.clone()],
                    "the gateway read {name:?}, a plain form parser reads {values:?}"
                ),
                None => assert!(
                    values.is_empty(),
                    "the gateway read no user name, a plain form parser reads {values:?}"
                ),
            }
        }
        Kind::Json => {
            let plain: serde_json::Value = match serde_json::from_slice(&input.body) {
                Ok(value) => value,
                Err(e) => panic!("the gateway read a JSON body serde_json refuses: {e}"),
            };
            let at = plain.pointer(&input.field);
            match &name {
                Some(name) => assert_eq!(
                    at,
                    Some(&serde_json::Value::String(name.clone())),
                    "the gateway read {name:?}, the pointer finds {at:?}"
                ),
                None => assert!(
                    at.is_none_or(serde_json::Value::is_null),
                    "the gateway read no user name, the pointer finds {at:?}"
                ),
            }
        }
        _ => {}
    }
});
