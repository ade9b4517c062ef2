//! A `User-Agent` as a person recognises it ("Firefox", "Android"), for the lists of sessions
//! and remembered browsers. Display only: the text is the client's own, so nothing is decided
//! by it. The few families people use cover the list; anything else shows its first product
//! token (`curl`, `python-requests`), so an API client is still told apart from a browser.

/// The browser (or client program) and the device family a `User-Agent` names; empty when it
/// names none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    pub browser: String,
    pub device: &'static str,
}

/// Browser families, most specific first: Edge and Opera also say "Chrome", Chrome also says
/// "Safari".
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("OPR/", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
];

/// Device families, most specific first: iOS says "like Mac OS X", Android says "Linux".
const DEVICES: &[(&str, &str)] = &[
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Macintosh", "macOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
];

pub fn describe(user_agent: &str) -> Agent {
    let browser = BROWSERS
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map(|(_, name)| (*name).to_string())
        .unwrap_or_else(|| product(user_agent));
    let device = DEVICES
        .iter()
        .find(|(token, _)| user_agent.contains(token))
        .map_or("", |(_, name)| name);
    Agent { browser, device }
}

/// The first product token's name (`curl` of `curl/8.5.0`), bounded, printable only.
fn product(user_agent: &str) -> String {
    user_agent
        .split(['/', ' '])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_families_people_use_are_named() {
        for (ua, browser, device) in [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge", "Windows"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox", "Linux"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari", "iPhone"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome", "Android"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari", "macOS"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", "Opera", "macOS"),
            ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1", "Chrome", "iPad"),
            ("curl/8.5.0", "curl", ""),
            ("python-requests/2.32.3", "python-requests", ""),
            ("", "", ""),
        ] {
            assert_eq!(
                describe(ua),
                Agent { browser: browser.into(), device },
                "{ua}"
            );
        }
    }

    #[test]
    fn an_unknown_agent_is_shown_bounded_and_printable() {
        let agent = describe(&format!("\u{1b}[31m{}", "x".repeat(500)));
        assert_eq!(agent.browser, format!("[31m{}", "x".repeat(36)));
    }
}
