//! Login rules from the config, applied to requests and to the app's answers.

use http::{header, HeaderMap, Method, StatusCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// An HTML form: `application/x-www-form-urlencoded` or `multipart/form-data`, by the
    /// request's content type (a form's `enctype` decides which a browser sends).
    Form,
    Json,
}

/// Where the user name is in a login request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UsernameField {
    /// A form field name.
    Form(String),
    /// An RFC 6901 JSON pointer, e.g. `/username` or `/credentials/email`.
    JsonPointer(String),
}

/// What a successful login answer looks like; every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SuccessRule {
    /// Status codes that can mean success (empty: any 2xx or 3xx).
    pub statuses: Vec<StatusCode>,
    /// A cookie the app sets on success (e.g. Django's `sessionid`).
    pub set_cookie: Option<String>,
    /// A JSON pointer that must be present and not null in the answer (e.g. `/token`).
    pub json_pointer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRule {
    pub path: String,
    pub method: Method,
    pub body: BodyKind,
    pub username: UsernameField,
    pub success: SuccessRule,
}

impl LoginRule {
    /// Exact path and method: a login route is a specific URL, not a prefix.
    pub fn matches(&self, method: &Method, path: &str) -> bool {
        method == self.method && path == self.path
    }

    /// The user name as typed, trimmed; `None` when the body has none (or more than one, which
    /// is ambiguous and treated as none).
    pub fn username(&self, content_type: Option<&str>, body: &[u8]) -> Option<String> {
        let raw = match &self.username {
            UsernameField::Form(field) => {
                if let Some(boundary) = content_type.and_then(super::multipart::boundary) {
                    let value = super::multipart::text_field(body, boundary, field)?;
                    let trimmed = value.trim();
                    return (!trimmed.is_empty()).then(|| trimmed.to_string());
                }
                let mut values = form_urlencoded::parse(body)
                    .filter(|(k, _)| k == field.as_str())
                    .map(|(_, v)| v.into_owned());
                let first = values.next()?;
                if values.next().is_some() {
                    return None;
                }
                first
            }
            UsernameField::JsonPointer(pointer) => {
                let value: serde_json::Value = serde_json::from_slice(body).ok()?;
                value.pointer(pointer)?.as_str()?.to_string()
            }
        };
        let trimmed = raw.trim();
        (!trimmed.is_empty()).then(|| trimmed.to_string())
    }

    /// Whether the app's answer says the password was right. `body` is the answer's body when
    /// the rule needs it (`json_pointer`), else may be empty.
    pub fn is_success(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> bool {
        self.might_succeed(status, headers)
            && self.success.json_pointer.as_deref().is_none_or(|pointer| {
                serde_json::from_slice::<serde_json::Value>(body)
                    .ok()
                    .and_then(|v| v.pointer(pointer).cloned())
                    .is_some_and(|v| !v.is_null() && v != serde_json::Value::String(String::new()))
            })
    }

    /// What the status and headers alone say: false means a failed login, whose answer can
    /// stream through untouched; true means the body must be read (to check it, or withhold it).
    pub fn might_succeed(&self, status: StatusCode, headers: &HeaderMap) -> bool {
        let status_ok = if self.success.statuses.is_empty() {
            status.is_success() || status.is_redirection()
        } else {
            self.success.statuses.contains(&status)
        };
        let cookie_ok = self
            .success
            .set_cookie
            .as_deref()
            .is_none_or(|name| sets_cookie(headers, name));
        status_ok && cookie_ok
    }
}

/// A `Set-Cookie` that gives `name` a non-empty value (a deletion — empty value, `Max-Age=0` or
/// an expiry in the past — does not count).
pub fn sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    !sets_cookie_value(headers, name).is_empty()
}

/// Every non-empty value the answer's `Set-Cookie` headers give `name`, deletions left out.
pub fn sets_cookie_value(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|line| {
            let mut parts = line.split(';');
            let (cookie, value) = parts.next()?.split_once('=')?;
            // Kept as sent (quotes included): the browser sends it back the same way.
            let value = value.trim();
            if cookie.trim() != name || value.trim_matches('"').is_empty() {
                return None;
            }
            let deleted = parts.any(|attr| {
                let attr = attr.trim().to_ascii_lowercase();
                attr == "max-age=0"
                    || attr.starts_with("max-age=-")
                    || attr.starts_with("expires=thu, 01 jan 1970")
            });
            (!deleted).then(|| value.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn django() -> LoginRule {
        LoginRule {
            path: "/admin/login/".into(),
            method: Method::POST,
            body: BodyKind::Form,
            username: UsernameField::Form("username".into()),
            success: SuccessRule {
                statuses: vec![StatusCode::FOUND],
                set_cookie: Some("sessionid".into()),
                json_pointer: None,
            },
        }
    }

    fn token_api() -> LoginRule {
        LoginRule {
            path: "/api/login".into(),
            method: Method::POST,
            body: BodyKind::Json,
            username: UsernameField::JsonPointer("/credentials/email".into()),
            success: SuccessRule {
                statuses: vec![StatusCode::OK],
                set_cookie: None,
                json_pointer: Some("/token".into()),
            },
        }
    }

    fn cookies(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for line in lines {
            h.append(header::SET_COOKIE, HeaderValue::from_str(line).unwrap());
        }
        h
    }

    #[test]
    fn only_the_exact_route_and_method_match() {
        let r = django();
        assert!(r.matches(&Method::POST, "/admin/login/"));
        assert!(!r.matches(&Method::GET, "/admin/login/"));
        assert!(!r.matches(&Method::POST, "/admin/login/x"));
        assert!(!r.matches(&Method::POST, "/admin/login"));
    }

    #[test]
    fn username_from_a_form() {
        let r = django();
        assert_eq!(
            r.username(None, b"csrfmiddlewaretoken=x&username=+Alice+&password=pw")
                .as_deref(),
            Some("Alice")
        );
        assert_eq!(
            r.username(None, b"username=a%40b.example&password=pw")
                .as_deref(),
            Some("a@b.example")
        );
        assert_eq!(r.username(None, b"password=pw"), None);
        assert_eq!(r.username(None, b"username=&password=pw"), None);
        // Two user names in one login are ambiguous: the app may read either.
        assert_eq!(
            r.username(None, b"username=alice&username=admin&password=pw"),
            None
        );
    }

    #[test]
    fn username_from_a_multipart_form() {
        let r = django();
        let body = b"--xyz\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n Bob \r\n--xyz--\r\n";
        assert_eq!(
            r.username(Some("multipart/form-data; boundary=xyz"), body)
                .as_deref(),
            Some("Bob")
        );
        // The same bytes read as urlencoded would be nonsense: the content type decides.
        assert_eq!(r.username(None, body), None);
    }

    #[test]
    fn username_from_json() {
        let r = token_api();
        assert_eq!(
            r.username(
                None,
                br#"{"credentials":{"email":"bob@example.com","password":"x"}}"#
            )
            .as_deref(),
            Some("bob@example.com")
        );
        assert_eq!(r.username(None, br#"{"credentials":{"email":42}}"#), None);
        assert_eq!(r.username(None, b"not json"), None);
    }

    #[test]
    fn django_success_needs_the_redirect_and_the_session_cookie() {
        let r = django();
        let ok = cookies(&[
            "csrftoken=abc; Path=/",
            "sessionid=s3cr3t; HttpOnly; Path=/; SameSite=Lax",
        ]);
        assert!(r.is_success(StatusCode::FOUND, &ok, b""));
        // Wrong password: Django answers 200 with the form again, no session cookie.
        assert!(!r.is_success(StatusCode::OK, &cookies(&["csrftoken=abc"]), b""));
        // A redirect without a session is not a login.
        assert!(!r.is_success(StatusCode::FOUND, &cookies(&["csrftoken=abc"]), b""));
        // Deleting the cookie is not setting it.
        for deletion in [
            "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
            "sessionid=x; Max-Age=0",
            "sessionid=; Path=/",
        ] {
            assert!(
                !r.is_success(StatusCode::FOUND, &cookies(&[deletion]), b""),
                "{deletion}"
            );
        }
        // Name must match exactly.
        assert!(!r.is_success(StatusCode::FOUND, &cookies(&["sessionid2=x"]), b""));
    }

    #[test]
    fn token_success_needs_the_token_in_the_body() {
        let r = token_api();
        let h = HeaderMap::new();
        assert!(r.is_success(StatusCode::OK, &h, br#"{"token":"abc","user":1}"#));
        assert!(!r.is_success(StatusCode::OK, &h, br#"{"error":"bad credentials"}"#));
        assert!(!r.is_success(StatusCode::OK, &h, br#"{"token":null}"#));
        assert!(!r.is_success(StatusCode::OK, &h, br#"{"token":""}"#));
        assert!(!r.is_success(StatusCode::UNAUTHORIZED, &h, br#"{"token":"abc"}"#));
        assert!(r.might_succeed(StatusCode::OK, &h), "the body decides");
        assert!(!r.might_succeed(StatusCode::UNAUTHORIZED, &h));
    }

    #[test]
    fn without_statuses_any_2xx_or_3xx_counts() {
        let mut r = django();
        r.success.statuses.clear();
        let ok = cookies(&["sessionid=x"]);
        assert!(r.is_success(StatusCode::OK, &ok, b""));
        assert!(r.is_success(StatusCode::SEE_OTHER, &ok, b""));
        assert!(!r.is_success(StatusCode::FORBIDDEN, &ok, b""));
    }
}
