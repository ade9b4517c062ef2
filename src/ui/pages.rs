//! The gateway's own HTML pages (askama templates in `templates/`, escaped by default), and the
//! two static assets they use, served from the binary.

use crate::i18n::Tr;
use askama::Template;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

/// What every page shows in its frame.
pub struct Frame<'a> {
    pub t: Tr,
    pub app_name: &'a str,
    /// The reserved prefix, e.g. `/.mfa/`: forms and assets live under it.
    pub prefix: &'a str,
    /// Whether the app has a logo (served at `{prefix}assets/logo`).
    pub logo: bool,
}

#[derive(Template)]
#[template(path = "challenge.html")]
pub struct ChallengePage<'a> {
    /// The language the page speaks.
    pub t: Tr,
    pub app_name: &'a str,
    pub prefix: &'a str,
    pub logo: bool,
    pub user: &'a str,
    pub issuer: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "invite.html")]
pub struct InvitePage<'a> {
    /// The language the page speaks.
    pub t: Tr,
    pub app_name: &'a str,
    pub prefix: &'a str,
    pub logo: bool,
    pub user: &'a str,
    pub csrf: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "enroll.html")]
pub struct EnrollPage<'a> {
    /// The language the page speaks.
    pub t: Tr,
    pub app_name: &'a str,
    pub prefix: &'a str,
    pub logo: bool,
    pub user: &'a str,
    pub qr_svg: &'a str,
    pub secret_grouped: &'a str,
    pub otpauth_uri: &'a str,
    pub csrf: &'a str,
    /// The form's target below the prefix (`enroll`, or `settings/authenticator`).
    pub action: &'a str,
    /// For a replacement from the settings: the signed setup token that carries the secret.
    pub setup: Option<&'a str>,
    /// Ask also for a current code of the factor the new app replaces (the old app's code, or
    /// a recovery code).
    pub ask_current: bool,
    /// Where "Cancel" leads in the settings (at sign-in, "Start over" ends the login).
    pub back_link: &'a str,
    /// At sign-in: minutes until the login expires, said on the page.
    pub valid_minutes: Option<u64>,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage<'a> {
    /// The language the page speaks.
    pub t: Tr,
    pub app_name: &'a str,
    pub prefix: &'a str,
    pub logo: bool,
    pub user: &'a str,
    pub totp_since: Option<String>,
    pub totp_last_used: Option<String>,
    pub remaining: u32,
    /// The recovery codes were made and never shown: new ones are offered first.
    pub codes_unseen: bool,
    pub can_remove: bool,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    /// The app's start page, for the way back.
    pub home_page: &'a str,
    /// The user's live sessions, newest use first.
    pub sessions: Vec<SessionRow>,
    /// The browsers remembered for the user, newest use first.
    pub devices: Vec<DeviceRow>,
}

/// One of the user's sessions, as the settings page lists it.
pub struct SessionRow {
    /// What names it in a form (and in the audit trail).
    pub id: String,
    pub app: String,
    /// "Firefox · Linux", or what the `User-Agent` names.
    pub browser: String,
    pub address: String,
    pub started: String,
    pub last_seen: String,
    /// The session of the browser looking at the page.
    pub current: bool,
}

/// One remembered browser, as the settings page lists it.
pub struct DeviceRow {
    pub id: String,
    pub browser: String,
    pub address: String,
    pub since: String,
    pub last_used: String,
    /// The browser looking at the page.
    pub current: bool,
}

/// "Firefox · Linux": a browser and its device family, either may be unknown.
pub fn browser_label(browser: &str, device: &str) -> String {
    match (browser.is_empty(), device.is_empty()) {
        (false, false) => format!("{browser} \u{b7} {device}"),
        (false, true) => browser.to_string(),
        (true, false) => device.to_string(),
        (true, true) => "?".to_string(),
    }
}

/// A question asked before something that cannot be undone: a form that posts to `action`
/// with the CSRF token, and a way back.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct ConfirmPage<'a> {
    /// The language the page speaks.
    pub t: Tr,
    pub app_name: &'a str,
    pub prefix: &'a str,
    pub logo: bool,
    pub title: &'a str,
    pub message: &'a str,
    pub action: &'a str,
    pub csrf: &'a str,
    /// The confirming button's text.
    pub button: &'a str,
    pub back_link: &'a str,
}

#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub struct RecoveryCodesPage<'a> {
    /// The language the page speaks.
    pub t: Tr,
    pub app_name: &'a str,
    pub prefix: &'a str,
    pub logo: bool,
    pub codes: &'a [String],
    /// The codes as a percent-encoded `text/plain` document for the download link.
    pub download_text: &'a str,
    pub file_name: &'a str,
    /// The form's target below the prefix.
    pub action: &'a str,
    pub csrf: &'a str,
    /// Said above the codes (after new codes replaced old ones).
    pub notice: Option<&'a str>,
}

/// The downloadable recovery-codes file, and its name: which app and account the codes are
/// for, when they were made, and where to use them.
pub fn recovery_file(t: Tr, app: &str, user: &str, codes: &[String], now: i64) -> (String, String) {
    let date = crate::ops::time::rfc3339(now);
    let day = date.get(..10).unwrap_or(&date);
    let list: Vec<String> = codes
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{:>2}. {c}", i + 1))
        .collect();
    let made = date.replace('T', " ");
    let text = format!(
        "{}\n{}\n{}\n\n{}\n{}\n\n{}\n",
        t.t1("file-heading", "app", app),
        t.t1("file-account", "user", user),
        t.t1("file-made", "time", made.trim_end_matches('Z')),
        t.t1("file-use", "app", app),
        t.t("file-once"),
        list.join("\n")
    );
    let name = format!("{}-{}-recovery-codes-{day}.txt", slug(app), slug(user));
    (text, name)
}

/// A file-name part: lowercase letters, digits and single dashes.
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-');
    if out.is_empty() {
        "account".into()
    } else {
        out.chars().take(40).collect()
    }
}

/// `GET {prefix}logout`: a question, never the sign-out itself (a link or an image on any
/// site can send a GET); the button posts the form with the session's CSRF token.
#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage<'a> {
    /// The language the page speaks.
    pub t: Tr,
    pub app_name: &'a str,
    pub prefix: &'a str,
    pub logo: bool,
    pub user: &'a str,
    pub csrf: &'a str,
    /// Where "Stay signed in" leads (the app).
    pub back_link: &'a str,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    /// The language the page speaks.
    pub t: Tr,
    pub app_name: &'a str,
    pub prefix: &'a str,
    pub logo: bool,
    pub title: &'a str,
    pub message: &'a str,
    /// Where the one button ("Sign in again") leads; none when there is nothing to do but
    /// wait.
    pub link: Option<&'a str>,
    /// The button's message id.
    pub button: &'a str,
}

impl<'a> MessagePage<'a> {
    pub fn new(frame: &Frame<'a>, title: &'a str, message: &'a str, link: &'a str) -> Self {
        MessagePage {
            t: frame.t,
            app_name: frame.app_name,
            prefix: frame.prefix,
            logo: frame.logo,
            title,
            message,
            link: Some(link),
            button: "sign-in-again",
        }
    }

    /// A page with no way on: a lock, which signing in again cannot lift.
    pub fn waiting(frame: &Frame<'a>, title: &'a str, message: &'a str) -> Self {
        MessagePage {
            link: None,
            ..MessagePage::new(frame, title, message, "")
        }
    }
}

/// A rendered page with the gateway's security headers. A template that fails to render (it
/// cannot with these types, but the error exists) gives a bare 500 rather than a panic.
pub fn html(status: StatusCode, page: &impl Template) -> Response<Bytes> {
    let (status, body) = match page.render() {
        Ok(text) => (status, Bytes::from(text)),
        Err(error) => {
            tracing::error!(%error, "page template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Bytes::new())
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    super::security_headers::apply(response.headers_mut());
    response
}

/// The page's stylesheet and script, by file name under `{prefix}assets/`.
pub fn asset(name: &str) -> Option<Response<Bytes>> {
    let (body, content_type): (&'static str, &'static str) = match name {
        "style.css" => (
            include_str!("../../assets/style.css"),
            "text/css; charset=utf-8",
        ),
        "app.js" => (
            include_str!("../../assets/app.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return None,
    };
    let mut response = Response::new(Bytes::from_static(body.as_bytes()));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(response)
}

/// A Unix time as a UTC date and minute, e.g. `2026-11-27 03:52 UTC`.
pub fn utc(unix: i64) -> String {
    let (year, month, day, hour, minute, _) = crate::ops::time::civil(unix);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02} UTC")
}

/// The app's logo. Its own policy forbids everything active: an SVG opened directly runs no
/// script.
pub fn logo(logo: &crate::config::Logo) -> Response<Bytes> {
    let mut response = Response::new(logo.bytes.clone());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(logo.content_type),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// Percent-encodes the recovery codes file for a `data:` URL.
pub fn data_url_text(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_supplied_text_is_escaped() {
        let page = ChallengePage {
            t: Tr::default(),
            app_name: "<App>",
            prefix: "/.mfa/",
            logo: false,
            user: "<script>alert(1)</script>",
            issuer: "I",
            csrf: "c",
            error: Some("bad & wrong"),
        };
        let text = page.render().unwrap();
        assert!(!text.contains("<script>alert"));
        assert!(!text.contains("<App>"));
        assert!(
            text.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{text}"
        );
        assert!(text.contains("bad &#38; wrong"), "{text}");
        assert!(text.contains("aria-invalid=\"true\""));
    }

    #[test]
    fn the_code_field_suits_one_time_codes_on_a_phone() {
        let page = ChallengePage {
            t: Tr::default(),
            app_name: "A",
            prefix: "/.mfa/",
            logo: true,
            user: "u",
            issuer: "I",
            csrf: "c",
            error: None,
        };
        let text = page.render().unwrap();
        assert!(text.contains("autocomplete=\"one-time-code\""));
        assert!(text.contains("inputmode=\"numeric\""));
        assert!(text.contains("<label for=\"code\">"));
        assert!(text.contains("name=\"viewport\""));
        assert!(text.contains("src=\"/.mfa/assets/logo\""));
        assert!(!text.contains("aria-invalid"));
        // Whatever the server takes (123 456, 123-456, a recovery code) can be typed or pasted.
        assert!(!text.contains("pattern="), "{text}");
    }

    #[test]
    fn the_recovery_file_says_what_the_codes_are_for() {
        let codes = vec!["abcd-efgh-jkmn".to_string(), "pqrs-tuvw-xyz2".to_string()];
        let (text, name) = recovery_file(
            Tr::default(),
            "Acme Intranet",
            "Alice.B@example.org",
            &codes,
            1_764_460_800,
        );
        assert_eq!(
            name,
            "acme-intranet-alice-b-example-org-recovery-codes-2025-11-30.txt"
        );
        for part in [
            "Recovery codes for Acme Intranet",
            "Account: Alice.B@example.org",
            "Made: 2025-11-30 00:00:00 (UTC)",
            "Lost your phone? Use a recovery code",
            " 1. abcd-efgh-jkmn\n 2. pqrs-tuvw-xyz2",
            "replaces all of these",
        ] {
            assert!(text.contains(part), "{part:?} not in {text}");
        }
        assert_eq!(slug("../..").as_str(), "account");
    }

    #[test]
    fn the_replacement_form_asks_for_a_current_code_only_when_told() {
        let page = |ask_current| EnrollPage {
            t: Tr::default(),
            app_name: "A",
            prefix: "/.mfa/",
            logo: false,
            user: "u",
            qr_svg: "<svg></svg>",
            secret_grouped: "ABCD EFGH",
            otpauth_uri: "otpauth://totp/x",
            csrf: "c",
            action: "settings/authenticator",
            setup: Some("t"),
            ask_current,
            back_link: "/.mfa/settings",
            valid_minutes: None,
            error: None,
        };
        let asked = page(true).render().unwrap();
        assert!(asked.contains("name=\"current_code\""), "{asked}");
        assert!(asked.contains("name=\"setup\" value=\"t\""));
        assert!(!page(false).render().unwrap().contains("current_code"));
    }

    #[test]
    fn the_logout_page_only_posts_with_the_csrf_token() {
        let text = LogoutPage {
            t: Tr::default(),
            app_name: "A",
            prefix: "/.mfa/",
            logo: false,
            user: "<u>",
            csrf: "tok",
            back_link: "/",
        }
        .render()
        .unwrap();
        assert!(
            text.contains("<form method=\"post\" action=\"/.mfa/logout\">"),
            "{text}"
        );
        assert!(text.contains("name=\"csrf\" value=\"tok\""));
        assert!(text.contains("&#60;u&#62;"));
    }

    #[test]
    fn assets_are_served_from_the_binary() {
        assert!(asset("style.css").is_some());
        assert!(asset("app.js").is_some());
        assert!(asset("../Cargo.toml").is_none());
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc(1_795_751_475), "2026-11-27 03:51 UTC");
        assert_eq!(utc(-60), "1969-12-31 23:59 UTC");
    }

    #[test]
    fn download_text_survives_a_data_url() {
        assert_eq!(data_url_text("a b\nc+d"), "a%20b%0Ac%2Bd");
    }
}
