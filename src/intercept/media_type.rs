//! The declared media type of a login body, read strictly.

use super::ambiguous::Ambiguous;

/// A media type (RFC 9110 §8.3.1), read strictly: `type/subtype` tokens, then `; name=value`
/// parameters with a token or a quoted-string value without escapes or `;`. Names compare
/// case-insensitively; a parameter given twice is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType<'a> {
    type_: &'a str,
    subtype: &'a str,
    params: Vec<(&'a str, &'a str)>,
}

impl<'a> MediaType<'a> {
    /// The parameters as sent: (name, value without its quotes).
    pub fn params(&self) -> &[(&'a str, &'a str)] {
        &self.params
    }

    pub fn parse(value: &'a str) -> Result<Self, Ambiguous> {
        let syntax = Ambiguous::ContentTypeSyntax;
        let mut pieces = value.split(';').map(|p| p.trim_matches(OWS));
        let essence = pieces.next().ok_or(syntax)?;
        let (type_, subtype) = essence.split_once('/').ok_or(syntax)?;
        if !is_token(type_) || !is_token(subtype) {
            return Err(syntax);
        }
        let mut params: Vec<(&str, &str)> = Vec::new();
        for piece in pieces {
            let (name, value) = piece.split_once('=').ok_or(syntax)?;
            let value = match value.strip_prefix('"') {
                Some(quoted) => quoted
                    .strip_suffix('"')
                    .filter(|v| v.bytes().all(is_plain_quoted_byte))
                    .ok_or(syntax)?,
                None if is_token(value) => value,
                None => return Err(syntax),
            };
            if !is_token(name) {
                return Err(syntax);
            }
            if params.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
                return Err(Ambiguous::DuplicateParameter);
            }
            params.push((name, value));
        }
        Ok(Self {
            type_,
            subtype,
            params,
        })
    }

    /// Whether this is `type/subtype` (case-insensitive).
    pub fn is(&self, type_: &str, subtype: &str) -> bool {
        self.type_.eq_ignore_ascii_case(type_) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    /// The value of parameter `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|&(_, v)| v)
    }

    /// Refuses parameters not in `allowed` (lower case), and a charset other than UTF-8.
    pub fn allow_only(&self, allowed: &[&str]) -> Result<(), Ambiguous> {
        let unexpected = self
            .params
            .iter()
            .any(|(n, _)| !allowed.iter().any(|a| n.eq_ignore_ascii_case(a)));
        if unexpected {
            return Err(Ambiguous::UnexpectedParameter);
        }
        match self.param("charset") {
            Some(c) if !c.eq_ignore_ascii_case("utf-8") && !c.eq_ignore_ascii_case("utf8") => {
                Err(Ambiguous::Charset)
            }
            _ => Ok(()),
        }
    }
}

/// Optional whitespace (RFC 9110 §5.6.3).
const OWS: [char; 2] = [' ', '\t'];

/// RFC 9110 §5.6.2 `token`.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// RFC 9110 `qdtext` less obs-text; `"` and `\` (whose escapes parsers undo differently) are
/// refused.
fn is_plain_quoted_byte(b: u8) -> bool {
    b == b'\t' || ((b' '..=b'~').contains(&b) && b != b'"' && b != b'\\')
}
