//! Login rules (`mfa.login`) as validated, applied to requests and to the app's answers.

use crate::wire::set_cookie::sets_cookie;
use http::{HeaderMap, Method, StatusCode};

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
    /// Cookies the app sets on success, any one of them (e.g. Django's `sessionid`;
    /// phpMyAdmin's `pmaAuth-1`, `pmaAuth-1_https` over https). Empty: none needed.
    pub set_cookie: Vec<String>,
    /// A JSON pointer that must be present and not null in the answer (e.g. `/token`).
    pub json_pointer: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRule {
    pub path: String,
    /// `path` in the form requests are compared in (`spelling::canonical_path`), without the
    /// leading `*` of a rule that holds anywhere.
    pub route: String,
    /// `*/j_security_check`: the route at the end of any path.
    pub anywhere: bool,
    pub method: Method,
    pub body: BodyKind,
    pub username: UsernameField,
    /// A request here without the user-name field is not a login but an ordinary request
    /// (phpMyAdmin takes a login on any POST to index.php that carries pma_username). Its
    /// answer passes the release gate, which withholds any session it starts.
    pub username_required: bool,
    pub success: SuccessRule,
}

impl LoginRule {
    /// Whether a request is (or may be, to the app) this login. `route` is the request path in
    /// canonical form. Matched liberally: every spelling the app may route to the login
    /// handler, the path info below it, and any method that can carry a body — Django and PHP
    /// dispatch `post` like `POST`, and some apps take a login on any method. Only GET, HEAD
    /// and OPTIONS, which carry no form, are left out.
    pub fn matches(&self, method: &Method, route: &str) -> bool {
        let bodiless = matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS");
        let at = |tail: &str| crate::wire::spelling::same_route_or_below(tail, &self.route);
        (method == self.method || !bodiless)
            && (at(route)
                || self.anywhere
                    && route
                        .match_indices('/')
                        .any(|(i, _)| route.get(i..).is_some_and(at)))
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
        let cookies = &self.success.set_cookie;
        let cookie_ok = cookies.is_empty() || cookies.iter().any(|name| sets_cookie(headers, name));
        status_ok && cookie_ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::set_cookie::answer_setting as cookies;

    fn django() -> LoginRule {
        LoginRule {
            path: "/admin/login/".into(),
            route: "/admin/login/".into(),
            anywhere: false,
            method: Method::POST,
            body: BodyKind::Form,
            username: UsernameField::Form("username".into()),
            username_required: false,
            success: SuccessRule {
                statuses: vec![StatusCode::FOUND],
                set_cookie: vec!["sessionid".into()],
                json_pointer: None,
            },
        }
    }

    #[test]
    fn a_rule_that_holds_anywhere_matches_the_end_of_any_path() {
        let rule = LoginRule {
            path: "*/j_security_check".into(),
            route: "/j_security_check".into(),
            anywhere: true,
            ..django()
        };
        for route in [
            "/j_security_check",
            "/examples/j_security_check",
            "/examples/jsp/security/protected/j_security_check",
            "/examples/j_security_check/",
        ] {
            assert!(rule.matches(&Method::POST, route), "{route}");
        }
        for route in [
            "/examples/j_security_checkx",
            "/examples/xj_security_check",
            "/",
        ] {
            assert!(!rule.matches(&Method::POST, route), "{route}");
        }
        assert!(!rule.matches(&Method::GET, "/examples/j_security_check"));
        let exact = django();
        assert!(!exact.matches(&Method::POST, "/x/admin/login/"));
    }

    fn token_api() -> LoginRule {
        LoginRule {
            path: "/api/login".into(),
            route: "/api/login".into(),
            anywhere: false,
            method: Method::POST,
            body: BodyKind::Json,
            username: UsernameField::JsonPointer("/credentials/email".into()),
            username_required: false,
            success: SuccessRule {
                statuses: vec![StatusCode::OK],
                set_cookie: vec![],
                json_pointer: Some("/token".into()),
            },
        }
    }

    #[test]
    fn every_spelling_and_body_method_of_the_route_matches() {
        use crate::wire::spelling::canonical_path;
        let r = django();
        let post = |path: &str| r.matches(&Method::POST, &canonical_path(path));
        for path in [
            "/admin/login/",
            "/admin/login",
            "/ADMIN/Login/",
            "/admin/login;x=1",
            "/%61dmin/%6Cogin/",
            "/admin/login/x",
        ] {
            assert!(post(path), "{path}");
        }
        assert!(!post("/admin/logins/"));
        assert!(!post("/admin/"));
        let route = canonical_path("/admin/login/");
        assert!(!r.matches(&Method::GET, &route));
        assert!(!r.matches(&Method::HEAD, &route));
        assert!(r.matches(&Method::PUT, &route));
        assert!(r.matches(&Method::from_bytes(b"post").unwrap(), &route));
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
