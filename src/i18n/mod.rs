//! The languages the gateway's pages speak: Fluent message files (`locales/*.ftl`, built into
//! the binary), the language a request gets (its `Accept-Language`, or the app's own choice),
//! and the lookup of one message in it. A message missing in a language falls back to English,
//! so a page never shows an id; the test suite makes sure none is missing.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;

/// A shipped language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Lang {
    #[default]
    En,
    De,
    Fr,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::De, Lang::Fr, Lang::Es];

    /// The language tag, as in `<html lang>` and the config.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
            Lang::Es => "es",
        }
    }

    /// A shipped language for a tag (`de`, `de-AT`, `DE`); `None` for others.
    pub fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../locales/en.ftl"),
            Lang::De => include_str!("../../locales/de.ftl"),
            Lang::Fr => include_str!("../../locales/fr.ftl"),
            Lang::Es => include_str!("../../locales/es.ftl"),
        }
    }
}

/// The language for a request's `Accept-Language`: the shipped one with the highest weight
/// (the first listed among equals), English when none is shipped. Tags weighted 0 are refused
/// ones; malformed entries are skipped.
pub fn negotiate(accept_language: Option<&str>) -> Lang {
    let Some(header) = accept_language else {
        return Lang::En;
    };
    let mut best: Option<(u16, Lang)> = None;
    // A header is short; an absurd one is read only as far as this.
    for entry in header.split(',').take(32) {
        let mut parts = entry.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let weight = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(Some(1000), quality);
        let (Some(weight), Some(lang)) = (weight, Lang::of_tag(tag)) else {
            continue;
        };
        if weight > 0 && best.is_none_or(|(w, _)| weight > w) {
            best = Some((weight, lang));
        }
    }
    best.map_or(Lang::En, |(_, lang)| lang)
}

/// A quality value (`0`, `0.8`, `1.000`) in thousandths.
fn quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static [Bundle; 4] {
    static BUNDLES: OnceLock<[Bundle; 4]> = OnceLock::new();
    BUNDLES.get_or_init(|| Lang::ALL.map(bundle))
}

fn bundle(lang: Lang) -> Bundle {
    let id = lang.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: pages are left-to-right, and the marks
    // would end up in copied text.
    bundle.set_use_isolating(false);
    // A shipped file that does not parse keeps what did (the suite fails on it anyway).
    let resource = FluentResource::try_new(lang.source().to_string()).unwrap_or_else(|(r, _)| r);
    let _ = bundle.add_resource(resource);
    bundle
}

/// A number a message can count by (templates hand over fields and references alike).
pub trait Count {
    fn count(&self) -> u64;
}

impl Count for u64 {
    fn count(&self) -> u64 {
        *self
    }
}

impl Count for u32 {
    fn count(&self) -> u64 {
        u64::from(*self)
    }
}

impl Count for u16 {
    fn count(&self) -> u64 {
        u64::from(*self)
    }
}

impl<T: Count> Count for &T {
    fn count(&self) -> u64 {
        (*self).count()
    }
}

/// An argument of a message.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Text(&'a str),
    Number(u64),
}

/// Messages in one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tr {
    lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    pub fn lang(&self) -> &'static str {
        self.lang.code()
    }

    /// The message `id`.
    pub fn t(&self, id: &str) -> String {
        self.args(id, &[])
    }

    /// The message `id` with one argument.
    pub fn t1(&self, id: &str, name: &str, value: &str) -> String {
        self.args(id, &[(name, Arg::Text(value))])
    }

    /// The message `id` with two text arguments.
    pub fn args2(&self, id: &str, a: &str, a_value: &str, b: &str, b_value: &str) -> String {
        self.args(id, &[(a, Arg::Text(a_value)), (b, Arg::Text(b_value))])
    }

    /// The message `id` with a number argument (plural forms pick by it).
    pub fn n(&self, id: &str, name: &str, value: impl Count) -> String {
        self.args(id, &[(name, Arg::Number(value.count()))])
    }

    /// The message `id` with a number and a text argument.
    pub fn nt(&self, id: &str, n: &str, n_value: impl Count, t: &str, t_value: &str) -> String {
        self.args(
            id,
            &[(n, Arg::Number(n_value.count())), (t, Arg::Text(t_value))],
        )
    }

    /// The message `id` with its arguments; English when this language lacks it, the id when
    /// no language has it.
    pub fn args(&self, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Text(text) => fluent.set(*name, FluentValue::from(*text)),
                Arg::Number(n) => fluent.set(*name, FluentValue::from(*n)),
            }
        }
        let all = bundles();
        for lang in [self.lang, Lang::En] {
            let Some(bundle) = all.get(lang as usize) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, Some(&fluent), &mut errors);
            return text.into_owned();
        }
        tracing::warn!(id, "message missing in every language");
        id.to_string()
    }
}

/// Every message id of a shipped language's file (a message starts a line with its id).
pub fn ids(lang: Lang) -> Vec<String> {
    lang.source()
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()))
        .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim().to_string()))
        .collect()
}

/// Whether a shipped language's file parses without an error.
pub fn parses(lang: Lang) -> Result<(), String> {
    FluentResource::try_new(lang.source().to_string())
        .map(|_| ())
        .map_err(|(_, errors)| format!("{errors:?}"))
}

#[cfg(test)]
mod tests;
