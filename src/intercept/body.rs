//! The user name of a login request, read from its body strictly by the declared content type,
//! the way the app's framework (Django/DRF, PHP, Rails/Rack, Java servlets, Go, ASP.NET) reads
//! it. Anything two of those could read differently is refused ([`Ambiguous`], HTTP 400): the
//! gateway must never ask for the second factor of one user while the app signs in another.

pub use super::ambiguous::Ambiguous;
pub use super::media_type::MediaType;
use super::{form, json, multipart};
use crate::config::{BodyKind, UsernameField};

pub use super::form::canonical_field_name;

/// The longest user name accepted, in bytes.
pub const MAX_USERNAME_BYTES: usize = 1024;

/// The user name of a login request, as sent (not trimmed or normalised: the caller
/// canonicalises). `Ok(None)`: the body has no user name (the app will refuse the login).
pub fn login_username(
    kind: BodyKind,
    field: &UsernameField,
    content_type: Option<&str>,
    query: Option<&str>,
    body: &[u8],
) -> Result<Option<String>, Ambiguous> {
    let media = MediaType::parse(content_type.ok_or(Ambiguous::WrongContentType)?)?;
    username_in_query(kind, field, query)?;
    let name = match (kind, field) {
        (BodyKind::Form, UsernameField::Form(name)) => {
            let urlencoded = media.is("application", "x-www-form-urlencoded");
            if !urlencoded && !media.is("multipart", "form-data") {
                return Err(Ambiguous::WrongContentType);
            }
            if urlencoded {
                media.allow_only(&["charset"])?;
                // A JSON document sent as a form: a framework that sniffs the body (or a
                // parser chosen by something else than Content-Type) reads other fields.
                if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
                    return Err(Ambiguous::WrongContentType);
                }
                form::username(body, name)?
            } else {
                multipart::username(&media, body, name)?
            }
        }
        (BodyKind::Json, UsernameField::JsonPointer(pointer)) => {
            let tokens = json::pointer_tokens(pointer).ok_or(Ambiguous::Misconfigured)?;
            if !media.is("application", "json") {
                return Err(Ambiguous::WrongContentType);
            }
            media.allow_only(&["charset"])?;
            json::username(body, &tokens)?
        }
        _ => return Err(Ambiguous::Misconfigured),
    };
    name.map(checked_username).transpose()
}

/// A login's user-name field in the query string as well, in any spelling a stack reads as it:
/// PHP's `$_REQUEST` reads both, and Rails merges the query into `params`, so `?username=` can
/// stand in for the body's. Checked whether or not the body is read.
pub fn username_in_query(
    kind: BodyKind,
    field: &UsernameField,
    query: Option<&str>,
) -> Result<(), Ambiguous> {
    let Some(query) = query else { return Ok(()) };
    match (kind, field) {
        (BodyKind::Form, UsernameField::Form(name)) => form::refuse_in_query(query, name),
        (BodyKind::Json, UsernameField::JsonPointer(pointer)) => {
            let tokens = json::pointer_tokens(pointer).ok_or(Ambiguous::Misconfigured)?;
            match json::pointer_as_field_name(&tokens) {
                Some(name) => form::refuse_in_query(query, &name),
                None => Ok(()),
            }
        }
        _ => Err(Ambiguous::Misconfigured),
    }
}

/// A user name any reader keeps as sent: short, without control or format characters (Python's
/// `str.strip()` removes `\x1c`–`\x1f`, Rust's `trim` does not; a bidi or zero-width character
/// makes two names look the same).
pub fn checked_username(name: String) -> Result<String, Ambiguous> {
    if name.len() > MAX_USERNAME_BYTES {
        return Err(Ambiguous::TooLong);
    }
    if name.chars().any(|c| c.is_control() || is_format(c)) {
        return Err(Ambiguous::ControlCharacter);
    }
    Ok(name)
}

/// Unicode general category Cf (format characters), as of Unicode 16.
fn is_format(c: char) -> bool {
    #[rustfmt::skip]
    const CF: [(u32, u32); 21] = [
        (0xAD, 0xAD), (0x600, 0x605), (0x61C, 0x61C), (0x6DD, 0x6DD), (0x70F, 0x70F),
        (0x890, 0x891), (0x8E2, 0x8E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
        (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
    ];
    let c = u32::from(c);
    CF.iter().any(|&(low, high)| (low..=high).contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: &str = "application/x-www-form-urlencoded";
    const JSON: &str = "application/json";

    fn read(kind: BodyKind, ct: Option<&str>, query: Option<&str>, body: &str) -> Read {
        let field = match kind {
            BodyKind::Form => UsernameField::Form("username".into()),
            BodyKind::Json => UsernameField::JsonPointer("/username".into()),
        };
        login_username(kind, &field, ct, query, body.as_bytes())
    }

    type Read = Result<Option<String>, Ambiguous>;

    fn form(ct: &str, body: &str) -> Read {
        read(BodyKind::Form, Some(ct), None, body)
    }

    fn json(ct: &str, body: &str) -> Read {
        read(BodyKind::Json, Some(ct), None, body)
    }

    fn ok(name: &str) -> Read {
        Ok(Some(name.to_string()))
    }

    #[test]
    fn type_and_subtype_are_case_insensitive_and_spaces_are_optional() {
        for ct in [
            "Application/X-WWW-Form-Urlencoded",
            "application/x-www-form-urlencoded;charset=UTF-8",
            "application/x-www-form-urlencoded ; charset=\"utf8\"",
        ] {
            assert_eq!(form(ct, "username=a"), ok("a"), "{ct}");
        }
        let ct = "APPLICATION/JSON; charset=utf-8";
        assert_eq!(json(ct, r#"{"username":"a"}"#), ok("a"));
    }

    #[test]
    fn a_parameter_given_twice_is_refused() {
        let ct = "multipart/form-data; boundary=AAA; boundary=BBB";
        let body =
            "--AAA\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nbob\r\n--AAA--\r\n";
        assert_eq!(form(ct, body), Err(Ambiguous::DuplicateParameter));
        let ct = "application/json; charset=utf-8; Charset=utf-8";
        assert_eq!(json(ct, "{}"), Err(Ambiguous::DuplicateParameter));
    }

    #[test]
    fn content_type_garbage_is_refused() {
        for ct in [
            "",
            "application",
            "application/",
            "/json",
            "application/json;",
            "application/json;;charset=utf-8",
            "application/json; charset",
            "application/json; charset = utf-8",
            "application/json; charset=\"utf-8",
            "application/json; charset=\"ut\\\"f-8\"",
            "application/json; charset=utf 8",
            "application /json",
            "application/json, text/plain",
        ] {
            assert_eq!(json(ct, "{}"), Err(Ambiguous::ContentTypeSyntax), "{ct:?}");
        }
    }

    #[test]
    fn a_form_rule_reads_only_urlencoded_or_multipart() {
        let body = r#"{"username":"bob"}"#;
        for ct in [
            None,
            Some(JSON),
            Some("text/plain"),
            Some("multipart/mixed; boundary=a"),
        ] {
            let read = read(BodyKind::Form, ct, None, body);
            assert_eq!(read, Err(Ambiguous::WrongContentType), "{ct:?}");
        }
        // The attack: a JSON body declared as a form. DRF parses the form, a parser that
        // sniffs reads the JSON: refused, whichever the app is.
        assert_eq!(form(FORM, body), Err(Ambiguous::WrongContentType));
        assert_eq!(form(FORM, "[1]"), Err(Ambiguous::WrongContentType));
    }

    #[test]
    fn a_json_rule_reads_only_application_json() {
        let body = r#"{"username":"bob"}"#;
        for ct in [
            None,
            Some(FORM),
            Some("text/json"),
            Some("application/vnd.api+json"),
        ] {
            let read = read(BodyKind::Json, ct, None, body);
            assert_eq!(read, Err(Ambiguous::WrongContentType), "{ct:?}");
        }
        assert_eq!(json(JSON, body), ok("bob"));
    }

    #[test]
    fn a_charset_other_than_utf8_is_refused() {
        for cs in ["utf-16", "iso-8859-1", "utf-8-sig", "u8", "\"utf-7\""] {
            let refused = Err(Ambiguous::Charset);
            assert_eq!(
                form(&format!("{FORM}; charset={cs}"), "username=a"),
                refused
            );
            assert_eq!(json(&format!("{JSON}; charset={cs}"), "{}"), refused);
        }
    }

    #[test]
    fn urlencoded_and_json_take_no_parameter_but_charset() {
        let refused = Err(Ambiguous::UnexpectedParameter);
        assert_eq!(form(&format!("{FORM}; boundary=x"), "username=a"), refused);
        assert_eq!(json(&format!("{JSON}; profile=x"), "{}"), refused);
    }

    #[test]
    fn the_user_name_field_in_the_query_is_refused() {
        let refused = Err(Ambiguous::FieldInQuery);
        let form_q = |query, body| read(BodyKind::Form, Some(FORM), Some(query), body);
        for query in [
            "username=b",
            "a=1&user%6Eame=b",
            "x=1;username",
            "username[]=b",
            "Username=x",
        ] {
            assert_eq!(form_q(query, "username=alice"), refused, "{query}");
            assert_eq!(form_q(query, "password=pw"), refused, "{query}");
        }
        assert_eq!(form_q("next=/admin/&user=x", "username=alice"), ok("alice"));
        let query = Some("username=bob");
        assert_eq!(read(BodyKind::Json, Some(JSON), query, "{}"), refused);
        let nested = UsernameField::JsonPointer("/credentials/email".into());
        let query = Some("credentials[email]=bob");
        let read = login_username(BodyKind::Json, &nested, Some(JSON), query, b"{}");
        assert_eq!(read, refused);
    }

    #[test]
    fn a_user_name_with_a_control_or_format_character_is_refused() {
        let bad = "\t \r \n \0 \x1c \x1f \x7f \u{85} \u{9f} \u{ad} \
                   \u{200b} \u{200d} \u{202e} \u{2066} \u{feff} \u{e0041}";
        for bad in bad.split(' ') {
            let name = format!("ali{bad}ce");
            let encoded: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
            let refused = Err(Ambiguous::ControlCharacter);
            assert_eq!(
                form(FORM, &format!("username={encoded}")),
                refused,
                "{bad:?}"
            );
            let body = serde_json::json!({ "username": name }).to_string();
            assert_eq!(json(JSON, &body), refused, "{bad:?}");
        }
    }

    #[test]
    fn a_user_name_longer_than_1024_bytes_is_refused() {
        let longest = "é".repeat(MAX_USERNAME_BYTES / 2);
        let body = serde_json::json!({ "username": longest }).to_string();
        assert_eq!(json(JSON, &body), ok(&longest));
        let body = serde_json::json!({ "username": format!("{longest}a") }).to_string();
        assert_eq!(json(JSON, &body), Err(Ambiguous::TooLong));
    }

    #[test]
    fn the_user_name_comes_back_as_sent() {
        assert_eq!(form(FORM, "username=+Al%C3%AFce+"), ok(" Alïce "));
        assert_eq!(json(JSON, r#"{"username":" ALICE "}"#), ok(" ALICE "));
    }

    #[test]
    fn a_rule_whose_kind_and_field_disagree_is_refused() {
        let field = UsernameField::JsonPointer("/username".into());
        let read = login_username(BodyKind::Form, &field, Some(FORM), None, b"username=a");
        assert_eq!(read, Err(Ambiguous::Misconfigured));
        let field = UsernameField::JsonPointer("username".into());
        let read = login_username(BodyKind::Json, &field, Some(JSON), None, b"{}");
        assert_eq!(read, Err(Ambiguous::Misconfigured));
    }

    #[test]
    fn labels_are_distinct() {
        use Ambiguous::*;
        #[rustfmt::skip]
        let all = [
            WrongContentType, ContentTypeSyntax, DuplicateParameter, UnexpectedParameter, Charset,
            Separator, PercentEncoding, NotUtf8, DuplicateField, FieldSpelling, FieldInQuery,
            MultipartShape, FieldNotText, JsonSyntax, JsonDuplicateKey, JsonNotAString,
            ControlCharacter, TooLong, Misconfigured,
        ];
        let labels: std::collections::BTreeSet<_> = all.iter().map(|a| a.label()).collect();
        assert_eq!(labels.len(), all.len());
    }
}
