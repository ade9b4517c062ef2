//! A minimal browser for the MFA tests: keeps cookies the way a browser does (name → value,
//! removed by `Max-Age=0`), sends forms, and helps read the gateway's pages.

// Tests time the gateway from outside: the clock rule (clippy.toml) is for the gateway's code.
#![allow(clippy::disallowed_methods)]

use super::{send, Answer};
use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use std::collections::BTreeMap;
use std::net::SocketAddr;

#[derive(Clone)]
pub struct Browser {
    pub addr: SocketAddr,
    pub cookies: BTreeMap<String, String>,
    /// Sent with every request (e.g. `X-Forwarded-For` to appear from another address behind
    /// a trusted proxy).
    pub headers: Vec<(String, String)>,
}

impl Browser {
    pub fn new(addr: SocketAddr) -> Browser {
        Browser {
            addr,
            cookies: BTreeMap::new(),
            headers: Vec::new(),
        }
    }

    /// A browser whose requests come through a trusted proxy from `client`.
    pub fn from_client(addr: SocketAddr, client: &str) -> Browser {
        let mut b = Browser::new(addr);
        b.headers.push(("x-forwarded-for".into(), client.into()));
        b
    }

    fn cookie_header(&self) -> Option<String> {
        (!self.cookies.is_empty()).then(|| {
            self.cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ")
        })
    }

    fn keep(&mut self, answer: &Answer) {
        for line in answer.headers.get_all("set-cookie") {
            let line = line.to_str().unwrap();
            let (pair, attrs) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let deleted = attrs.to_ascii_lowercase().contains("max-age=0");
            if deleted || value.is_empty() {
                self.cookies.remove(name.trim());
            } else {
                self.cookies
                    .insert(name.trim().to_string(), value.trim().to_string());
            }
        }
    }

    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Answer {
        let mut builder = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "app.example");
        if let Some(cookies) = self.cookie_header() {
            builder = builder.header("cookie", cookies);
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        for (k, v) in &self.headers {
            builder = builder.header(k, v);
        }
        let answer = send(
            self.addr,
            builder.body(Full::new(Bytes::from(body))).unwrap(),
        )
        .await;
        self.keep(&answer);
        answer
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        self.request("GET", path, &[("accept", "text/html")], Vec::new())
            .await
    }

    pub async fn post_form(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.request(
            "POST",
            path,
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "text/html"),
            ],
            body.into_bytes(),
        )
        .await
    }

    pub async fn post_json(&mut self, path: &str, body: &serde_json::Value) -> Answer {
        self.request(
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("accept", "application/json"),
            ],
            body.to_string().into_bytes(),
        )
        .await
    }
}

/// The value of `<input … name="NAME" value="…">` on a page.
pub fn form_value(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {page}"))
        + marker.len();
    page[start..].split('"').next().unwrap().to_string()
}

/// The base32 secret shown on the enrollment page (grouped with spaces there).
pub fn enrollment_secret(page: &str) -> String {
    let start =
        page.find("id=\"secret\">").expect("no secret on the page") + "id=\"secret\">".len();
    page[start..].split('<').next().unwrap().replace(' ', "")
}

/// The recovery codes listed on the codes page.
pub fn recovery_codes(page: &str) -> Vec<String> {
    page.split("<li><code>")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_string())
        .collect()
}

/// Base32 (RFC 4648, no padding) → bytes.
pub fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c).expect("base32") as u64;
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// The TOTP code for `secret` (base32) at `offset` seconds from now.
pub fn totp_now(secret: &str, offset: i64) -> String {
    use mfa_gateway::factors::totp::{code_at, TotpParams, TotpSecret};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    code_at(
        &TotpSecret::from_bytes(base32_decode(secret)),
        TotpParams::default(),
        (now + offset) as u64,
    )
    .unwrap()
}
