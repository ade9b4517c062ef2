//! `Cookie` headers read by every stack the gateway models (`session::stacks`) against the
//! gateway's own reading. Input: `Cookie` header lines, one per `\n`.
//!
//! Checks, for a few session cookie names (plain, PHP-mangled, `__Host-`, a `*` pattern): when
//! any stack finds the name in a line (or in the lines joined with `; ` or `, `, as servers
//! join repeated headers), a pair the gateway splits out of that line reads as it
//! (`cookie_pairs` + `cookie_name_reads_as`); and once the gateway has stripped every such pair
//! (`strip_cookies`), no stack finds it in what is left.
#![no_main]

use http::header;
use libfuzzer_sys::fuzz_target;
use mfa_gateway::session::credentials::{cookie_name_reads_as, cookie_pairs, strip_cookies};
use mfa_gateway::session::stacks::Stack;

const TARGETS: [&str; 8] = [
    "sessionid",
    "PHPSESSID",
    "JSESSIONID",
    "__Host-sid",
    "app_session",
    "wp.session",
    "wordpress_logged_in_*",
    ".AspNetCore.Session",
];

fn lines(headers: &http::HeaderMap) -> Vec<String> {
    let lines: Vec<String> = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_string))
        .collect();
    let mut all = lines.clone();
    if lines.len() > 1 {
        all.push(lines.join("; "));
        all.push(lines.join(", "));
    }
    all
}

fuzz_target!(|data: &[u8]| {
    let headers = mfa_gateway_fuzz::header_lines(data, header::COOKIE, &[]);
    for target in TARGETS {
        let caught = cookie_pairs(&headers).any(|(n, _)| cookie_name_reads_as(n, target));
        for line in lines(&headers) {
            for stack in Stack::ALL {
                if stack.finds(&stack.parse(&line), target) {
                    assert!(
                        caught,
                        "{stack:?} reads {target:?} in {line:?}, the gateway does not"
                    );
                }
            }
        }
        let mut stripped = headers.clone();
        strip_cookies(&mut stripped, |n| cookie_name_reads_as(n, target));
        for line in lines(&stripped) {
            for stack in Stack::ALL {
                assert!(
                    !stack.finds(&stack.parse(&line), target),
                    "{stack:?} still reads {target:?} in {line:?} after stripping"
                );
            }
        }
    }
});
