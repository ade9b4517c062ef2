//! The layout holds: every module of `src/` imports only modules below it in the order the
//! README's "Layout" section writes down, apart from the known exceptions listed here with
//! their reason — which issue 20 is burning down. A new import that points up fails, and so
//! does an exception that is gone (strike it from the list), so the list can only shrink.

use std::collections::BTreeSet;
use std::path::Path;

/// Imports that still point up, each with why, until the layout work removes them. None are
/// left; an exception added here needs its reason.
#[rustfmt::skip]
const KNOWN: &[(&str, &str, &str)] = &[];

/// The order in the README: "Order, bottom to top: a b c …".
fn documented_order() -> Vec<String> {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let layout = readme
        .split("## Layout")
        .nth(1)
        .expect("a Layout section in the README");
    let line = layout
        .lines()
        .find_map(|l| l.strip_prefix("Order, bottom to top:"))
        .expect("an 'Order, bottom to top:' line in the Layout section");
    line.split_whitespace()
        .map(|m| {
            m.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .to_string()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// The modules a file's code (its tests aside) names as `crate::<module>`.
fn named_modules(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    code.match_indices("crate::")
        .map(|(at, m)| {
            code[at + m.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .collect()
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

#[test]
fn every_import_points_down_the_documented_order() {
    let order = documented_order();
    let position = |m: &str| order.iter().position(|o| o == m);
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut up: BTreeSet<(String, String)> = BTreeSet::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let module = dir.file_name().unwrap().to_string_lossy().to_string();
        let from = position(&module)
            .unwrap_or_else(|| panic!("src/{module}/ is not in the README's layout order"));
        let mut files = Vec::new();
        walk(&dir, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for named in named_modules(&text) {
                if let Some(to) = position(&named) {
                    if named != module && to > from {
                        up.insert((module.clone(), named));
                    }
                }
            }
        }
    }
    let known: BTreeSet<(String, String)> = KNOWN
        .iter()
        .map(|(a, b, _)| (a.to_string(), b.to_string()))
        .collect();
    let new: Vec<_> = up.difference(&known).collect();
    assert!(
        new.is_empty(),
        "imports that point up the layout order (README, Layout): {new:?}"
    );
    let gone: Vec<_> = known.difference(&up).collect();
    assert!(
        gone.is_empty(),
        "no longer pointing up: strike from KNOWN: {gone:?}"
    );
}

#[test]
fn no_two_modules_import_each_other_beyond_the_known_exceptions() {
    // Two modules importing each other is one of them pointing up: the order test finds it.
    // This one checks the order itself has no module twice and names every module once.
    let order = documented_order();
    let unique: BTreeSet<&String> = order.iter().collect();
    assert_eq!(unique.len(), order.len(), "{order:?}");
}
