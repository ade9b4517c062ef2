//! Multi-step flows the MFA tests share: signing in to the cookie app through the gateway,
//! and a first sign-in through enrollment.

use super::browser::{enrollment_secret, form_value, recovery_codes, totp_now, Browser};
use super::Answer;

pub async fn login(browser: &mut Browser, user: &str, pass: &str) -> Answer {
    browser
        .post_form("/login.php", &[("user", user), ("pass", pass)])
        .await
}

/// The login form posted by a client that asks for JSON (an API client of a form app).
pub async fn login_wanting_json(browser: &mut Browser, user: &str, pass: &str) -> Answer {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("user", user), ("pass", pass)])
        .finish();
    browser
        .request(
            "POST",
            "/login.php",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("accept", "application/json"),
            ],
            body.into_bytes(),
        )
        .await
}

/// A login of `user` brought to the verify page: the form's CSRF token.
pub async fn at_verify(browser: &mut Browser, user: &str, pass: &str) -> String {
    let answer = login(browser, user, pass).await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    form_value(&browser.get("/.mfa/verify").await.text(), "csrf")
}

/// A wrong code's answer: a redirect back to the step's page (Post/Redirect/Get), whose text
/// (fetched here) says what was wrong.
pub async fn after_wrong_code(browser: &mut Browser, answer: &Answer) -> String {
    assert_eq!(answer.status, 303, "{}", answer.text());
    let location = answer.header("location").expect("a redirect").to_string();
    assert!(location.contains("?error="), "{location}");
    let page = browser.get(&location).await;
    assert_eq!(page.status, 200, "{}", page.text());
    page.text()
}

/// A code sent at the verify step.
pub async fn send_code(browser: &mut Browser, csrf: &str, code: &str) -> Answer {
    browser
        .post_form("/.mfa/verify", &[("csrf", csrf), ("code", code)])
        .await
}

/// A first login under `required` policy, through enrollment: returns the TOTP secret and the
/// recovery codes.
pub async fn enroll(browser: &mut Browser, user: &str, pass: &str) -> (String, Vec<String>) {
    let answer = login(browser, user, pass).await;
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/.mfa/enroll"));
    let page = browser.get("/.mfa/enroll").await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("<svg"), "QR code drawn inline");
    assert!(text.contains("otpauth://totp/Intranet:"));
    let secret = enrollment_secret(&text);
    let csrf = form_value(&text, "csrf");
    let code = totp_now(&secret, 0);
    let confirmed = browser
        .post_form("/.mfa/enroll", &[("csrf", &csrf), ("code", &code)])
        .await;
    // Post/Redirect/Get: the codes are on the page the redirect leads to.
    assert_eq!(confirmed.status, 303, "{}", confirmed.text());
    assert_eq!(confirmed.header("location"), Some("/.mfa/enroll"));
    let codes_page = browser.get("/.mfa/enroll").await;
    assert_eq!(codes_page.status, 200, "{}", codes_page.text());
    let codes = recovery_codes(&codes_page.text());
    assert_eq!(codes.len(), 10);
    let csrf = form_value(&codes_page.text(), "csrf");
    let released = browser
        .post_form("/.mfa/enroll/done", &[("csrf", &csrf), ("saved", "yes")])
        .await;
    assert_eq!(released.status, 302, "{}", released.text());
    assert_eq!(released.header("location"), Some("/index.php"));
    (secret, codes)
}

/// `n` separate logins of `user` brought to the verify step, then `code` sent in all of them at
/// once; the statuses of the answers.
pub async fn race_one_code(
    addr: std::net::SocketAddr,
    user: &str,
    pass: &str,
    code: &str,
    n: usize,
) -> Vec<u16> {
    let mut pending = Vec::new();
    for _ in 0..n {
        let mut b = Browser::new(addr);
        login(&mut b, user, pass).await;
        let csrf = form_value(&b.get("/.mfa/verify").await.text(), "csrf");
        pending.push((b, csrf));
    }
    let tasks: Vec<_> = pending
        .into_iter()
        .map(|(mut b, csrf)| {
            let code = code.to_string();
            tokio::spawn(async move {
                b.post_form("/.mfa/verify", &[("csrf", &csrf), ("code", &code)])
                    .await
                    .status
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}
