//! The pages in every shipped language: one walk per language through a first sign-in
//! (enrollment, recovery codes), a second one with a wrong code, and a missing page, with the
//! browser asking for that language; and an app that names its own language.

mod common;

use common::apps::start_cookie_app;
use common::browser::{enrollment_secret, form_value, recovery_codes, totp_now, Browser};
use common::flows::{after_wrong_code, login};
use common::Gateway;
use mfa_gateway::i18n::{Lang, Tr};

/// What a reader of each language sees first, written here as a speaker would expect it (not
/// read from the message files, so a page in the wrong language fails).
fn enroll_heading(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "Set up your authenticator app",
        Lang::De => "Authenticator-App einrichten",
        Lang::Fr => "Configurez votre application d&#39;authentification",
        Lang::Es => "Configure su aplicación de autenticación",
    }
}

fn accept_language(lang: Lang) -> &'static str {
    match lang {
        Lang::En => "en-GB,en;q=0.9",
        Lang::De => "de-AT,de;q=0.9,en;q=0.5",
        Lang::Fr => "fr-CA,fr;q=0.9,en;q=0.5",
        Lang::Es => "es-MX,es;q=0.9,en;q=0.5",
    }
}

async fn walk(gw: &Gateway, lang: Lang, user: &str, pass: &str) {
    let t = Tr::new(lang);
    let escaped = |text: String| text.replace('\'', "&#39;");
    let mut b = Browser::new(gw.addr);
    b.headers
        .push(("accept-language".into(), accept_language(lang).into()));
    assert_eq!(login(&mut b, user, pass).await.status, 303);
    let page = b.get("/.mfa/enroll").await.text();
    assert!(
        page.contains(&format!("<html lang=\"{}\">", lang.code())),
        "{page}"
    );
    assert!(
        page.contains(enroll_heading(lang)),
        "{}: {page}",
        lang.code()
    );
    assert!(page.contains(&escaped(t.t("enroll-add"))), "{page}");
    let secret = enrollment_secret(&page);
    let csrf = form_value(&page, "csrf");
    let confirmed = b
        .post_form(
            "/.mfa/enroll",
            &[("csrf", &csrf), ("code", &totp_now(&secret, 0))],
        )
        .await;
    assert_eq!(confirmed.status, 303);
    let codes = b.get("/.mfa/enroll").await.text();
    assert!(codes.contains(&escaped(t.t("codes-heading"))), "{codes}");
    assert_eq!(recovery_codes(&codes).len(), 10);
    let done = b
        .post_form(
            "/.mfa/enroll/done",
            &[("csrf", &form_value(&codes, "csrf")), ("saved", "yes")],
        )
        .await;
    assert_eq!(done.status, 302);

    // A second sign-in: the code page, a wrong code and what it says, in the same language.
    let mut again = Browser::new(gw.addr);
    again
        .headers
        .push(("accept-language".into(), accept_language(lang).into()));
    login(&mut again, user, pass).await;
    let page = again.get("/.mfa/verify").await.text();
    assert!(page.contains(&escaped(t.t("challenge-heading"))), "{page}");
    let wrong = again
        .post_form(
            "/.mfa/verify",
            &[("csrf", &form_value(&page, "csrf")), ("code", "000000")],
        )
        .await;
    let shown = after_wrong_code(&mut again, &wrong).await;
    let expected = format!(
        "{} {}",
        t.t("code-wrong"),
        t.n("attempts-left", "count", 4u32)
    );
    assert!(shown.contains(&escaped(expected)), "{shown}");

    // A missing page says so in the language too.
    let missing = again.get("/.mfa/nothing-here").await;
    assert_eq!(missing.status, 404);
    let text = missing.text();
    assert!(
        text.contains(&format!("<html lang=\"{}\">", lang.code())),
        "{text}"
    );
    assert!(text.contains(&escaped(t.t("error-home"))), "{text}");
}

async fn walk_alone(lang: Lang) {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&common::cookie_app_config(
        app.addr,
        "",
        "      policy: required",
    ));
    walk(&gw, lang, "alice", "secret").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn german() {
    walk_alone(Lang::De).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn french() {
    walk_alone(Lang::Fr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spanish() {
    walk_alone(Lang::Es).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn english_by_default_and_an_app_can_name_its_language() {
    let app = start_cookie_app().await;
    let gw = Gateway::start(&common::cookie_app_config(
        app.addr,
        "",
        "      policy: required",
    ));
    walk(&gw, Lang::En, "alice", "secret").await;
    // A language the gateway does not ship: English.
    let mut b = Browser::new(gw.addr);
    b.headers
        .push(("accept-language".into(), "ja,zh;q=0.8".into()));
    login(&mut b, "bob", "hunter2").await;
    assert!(b
        .get("/.mfa/enroll")
        .await
        .text()
        .contains("<html lang=\"en\">"));

    // The app's own choice wins over the browser's.
    let gw = Gateway::start(&common::cookie_app_config(
        app.addr,
        "",
        "      policy: required\n      language: fr",
    ));
    let mut b = Browser::new(gw.addr);
    b.headers.push(("accept-language".into(), "de".into()));
    login(&mut b, "carol", "pw").await;
    let page = b.get("/.mfa/enroll").await.text();
    assert!(page.contains(enroll_heading(Lang::Fr)), "{page}");
}
