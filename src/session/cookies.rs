//! The cookies the gateway sets, with the attributes ASVS 3.4 asks for: HttpOnly, SameSite,
//! Path=/, and on TLS the `__Host-` prefix with Secure (no Domain), so a sibling subdomain or a
//! plain-HTTP response cannot plant or overwrite them.

use http::HeaderValue;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// The pending-login cookie: only ever needed by the gateway's own pages.
    Strict,
    /// The session cookie: links from other sites into the app keep working.
    Lax,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCookie {
    /// The base name, e.g. `mfa_session`; `__Host-` is added on TLS.
    pub name: std::borrow::Cow<'static, str>,
    pub same_site: SameSite,
    pub tls: bool,
}

impl GatewayCookie {
    pub fn full_name(&self) -> String {
        if self.tls {
            format!("__Host-{}", self.name)
        } else {
            self.name.to_string()
        }
    }

    /// `Set-Cookie` giving the cookie `value` for `max_age` seconds (`None`: a browser-session
    /// cookie). The value must be a cookie-safe token (base64url is).
    pub fn set(&self, value: &str, max_age: Option<i64>) -> Option<HeaderValue> {
        if value.is_empty()
            || !value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return None;
        }
        let mut line = format!(
            "{}={value}; Path=/; HttpOnly; SameSite={}",
            self.full_name(),
            self.same_site_text()
        );
        if self.tls {
            line.push_str("; Secure");
        }
        if let Some(age) = max_age {
            line.push_str(&format!("; Max-Age={age}"));
        }
        HeaderValue::from_str(&line).ok()
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn clear(&self) -> HeaderValue {
        let secure = if self.tls { "; Secure" } else { "" };
        let line = format!(
            "{}=; Path=/; HttpOnly; SameSite={}{secure}; Max-Age=0",
            self.full_name(),
            self.same_site_text()
        );
        HeaderValue::from_str(&line).unwrap_or_else(|_| HeaderValue::from_static("mfa=; Max-Age=0"))
    }

    fn same_site_text(&self) -> &'static str {
        match self.same_site {
            SameSite::Strict => "Strict",
            SameSite::Lax => "Lax",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_cookies_use_the_host_prefix_and_secure() {
        let c = GatewayCookie {
            name: "mfa_session".into(),
            same_site: SameSite::Lax,
            tls: true,
        };
        assert_eq!(
            c.set("abc_-.1", Some(3600)).unwrap(),
            "__Host-mfa_session=abc_-.1; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=3600"
        );
        assert_eq!(
            c.clear(),
            "__Host-mfa_session=; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=0"
        );
    }

    #[test]
    fn plain_http_cookies_cannot_use_the_prefix() {
        let c = GatewayCookie {
            name: "mfa_pending".into(),
            same_site: SameSite::Strict,
            tls: false,
        };
        assert_eq!(
            c.set("t", None).unwrap(),
            "mfa_pending=t; Path=/; HttpOnly; SameSite=Strict"
        );
    }

    #[test]
    fn values_that_could_inject_attributes_are_refused() {
        let c = GatewayCookie {
            name: "mfa_session".into(),
            same_site: SameSite::Lax,
            tls: true,
        };
        for bad in ["a;Domain=evil", "a b", "a\r\nSet-Cookie: x=y", "a=b", ""] {
            assert!(c.set(bad, None).is_none(), "{bad:?}");
        }
    }
}
