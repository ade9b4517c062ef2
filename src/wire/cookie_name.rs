//! Cookie names compared with configured ones: exactly as sent, or as a stack behind us reads
//! them (case folded as .NET does). A configured name may hold one `*` for a run of letters
//! and digits (a per-site hash, as in WordPress's `wordpress_logged_in_*`).

/// Whether a cookie name, exactly as sent, is the configured `pattern`: equal, where the one
/// `*` a pattern may have stands for one or more ASCII letters and digits (a per-site hash, as in
/// WordPress's `wordpress_logged_in_*`). A `*` never spans `_` or other separators, so
/// `wordpress_*` is not `wordpress_test_cookie`.
pub fn cookie_name_matches(name: &str, pattern: &str) -> bool {
    name_matches(name, pattern, false)
}

/// Whether `name` is `pattern`, where the one `*` a pattern may have stands for one or more
/// ASCII letters and digits; `fold`: compared as .NET's `OrdinalIgnoreCase` does.
pub fn name_matches(name: &str, pattern: &str, fold: bool) -> bool {
    let same = |a: &str, b: &str| {
        if fold {
            same_ignoring_case(a, b)
        } else {
            a == b
        }
    };
    let Some((prefix, suffix)) = pattern.split_once('*') else {
        return same(name, pattern);
    };
    // Simple case mappings are one character to one: counting characters is enough.
    let (p, s, n) = (
        prefix.chars().count(),
        suffix.chars().count(),
        name.chars().count(),
    );
    if n <= p + s {
        return false;
    }
    let at = |k: usize| name.char_indices().nth(k).map_or(name.len(), |(i, _)| i);
    let (start, end) = (at(p), at(n - s));
    match (name.get(..start), name.get(start..end), name.get(end..)) {
        (Some(head), Some(run), Some(tail)) => {
            same(head, prefix)
                && same(tail, suffix)
                && run.chars().all(|c| c.is_ascii_alphanumeric())
        }
        _ => false,
    }
}

/// .NET's `StringComparer.OrdinalIgnoreCase`: characters compared by their simple uppercase
/// mapping, so `ſ` (U+017F) is `S` and `ı` (U+0131) is `I`.
pub fn same_ignoring_case(a: &str, b: &str) -> bool {
    a.chars().map(upper).eq(b.chars().map(upper))
}

/// A character's simple (one to one) uppercase mapping, as .NET's `ToUpperInvariant`.
pub fn upper(c: char) -> char {
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}
