//! The configuration file: substitution, YAML parsing and validation. An operator's typo must
//! give an error with a place, never a panic. Input: the file's text.
//!
//! Checks: no panic (also while formatting the errors), and every error's line lies in the file
//! (or just past its end, where serde_yaml reports what is missing from a document).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Err(errors) = mfa_gateway::config::load_str(text, Path::new("fuzz.yaml"), |_| None) else {
        return;
    };
    let _ = errors.to_string();
    // YAML ends a line at LF, CR LF or a lone CR; libyaml (serde_yaml) also at NEL, LS and PS.
    let breaks = ['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'];
    let end = text.replace("\r\n", "\n").split(breaks).count() + 1;
    for error in &errors.0 {
        assert!(
            error.line <= end,
            "an error points past the end of the file: {error}"
        );
    }
});
