use super::*;

#[test]
fn every_shipped_language_has_every_message_and_parses() {
    let english = ids(Lang::En);
    assert!(english.len() > 100, "{}", english.len());
    for lang in Lang::ALL {
        assert_eq!(parses(lang), Ok(()), "{} does not parse", lang.code());
        let these = ids(lang);
        let missing: Vec<&String> = english.iter().filter(|id| !these.contains(id)).collect();
        let extra: Vec<&String> = these.iter().filter(|id| !english.contains(id)).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: missing {missing:?}, not in English {extra:?}",
            lang.code()
        );
        // Every message formats without an error (a misspelt variable, a missing default).
        for id in &english {
            let text = Tr::new(lang).args(
                id,
                &[
                    ("user", Arg::Text("u")),
                    ("app", Arg::Text("a")),
                    ("issuer", Arg::Text("i")),
                    ("time", Arg::Text("t")),
                    ("until", Arg::Text("t")),
                    ("wait", Arg::Text("w")),
                    ("address", Arg::Text("x")),
                    ("id", Arg::Text("r")),
                    ("field", Arg::Text("f")),
                    ("count", Arg::Number(2)),
                    ("minutes", Arg::Number(2)),
                    ("status", Arg::Number(404)),
                ],
            );
            assert!(
                !text.contains('{') && !text.is_empty(),
                "{}: {id}: {text}",
                lang.code()
            );
        }
    }
}

/// Every message id the templates and the code ask for exists (in English, so in all).
#[test]
fn every_message_asked_for_exists() {
    let english = ids(Lang::En);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut sources = Vec::new();
    for dir in ["templates", "src"] {
        let mut stack = vec![root.join(dir)];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            } else if path.extension().is_some_and(|e| e == "html" || e == "rs") {
                sources.push(path);
            }
        }
    }
    let call = regex::Regex::new(r#"\.(?:t|t1|n|nt|args|args2)\(\s*"([a-z0-9-]+)""#).unwrap();
    let mut asked = 0;
    for file in sources {
        if file.ends_with("i18n/tests.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for found in call.captures_iter(&text) {
            asked += 1;
            let id = &found[1];
            assert!(
                english.iter().any(|e| e == id),
                "{}: {id} is not in en.ftl",
                file.display()
            );
        }
    }
    assert!(asked > 80, "only {asked} uses found");
}

#[test]
fn the_language_follows_accept_language() {
    for (header, expected) in [
        (None, Lang::En),
        (Some("de-DE,de;q=0.9,en;q=0.8"), Lang::De),
        (
            Some("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"),
            Lang::Fr,
        ),
        (Some("pt-BR, es;q=0.5, en;q=0.4"), Lang::Es),
        (Some("en;q=0.5, de;q=0.8"), Lang::De),
        (Some("de;q=0, es"), Lang::Es),
        (Some("ja, zh"), Lang::En),
        (Some("de;q=2, fr;q=abc, es;q=0.25"), Lang::Es),
        (Some(""), Lang::En),
    ] {
        assert_eq!(negotiate(header), expected, "{header:?}");
    }
    assert_eq!(Lang::of_tag("ES-mx"), Some(Lang::Es));
    assert_eq!(Lang::of_tag("deu"), None);
}

#[test]
fn plurals_and_fallbacks() {
    let de = Tr::new(Lang::De);
    assert_eq!(de.n("attempts-left", "count", 1u32), "Noch 1 Versuch.");
    assert_eq!(de.n("attempts-left", "count", 3u32), "Noch 3 Versuche.");
    assert_eq!(
        Tr::new(Lang::Fr).n("error-title", "status", 404u16),
        "Page introuvable"
    );
    assert_eq!(Tr::new(Lang::Es).t("no-such-message"), "no-such-message");
    assert_eq!(de.lang(), "de");
}
