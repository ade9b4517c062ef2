//! `${VAR}` and `${VAR:-default}` substitution, applied to the raw text before parsing.
//!
//! Substitution works line by line so that every line number in later error messages still
//! points at the line the operator wrote. `$${` stands for a literal `${`.

use super::error::ConfigError;
use std::path::Path;

/// Replaces every placeholder in `text`, looking variables up with `lookup`.
///
/// Every unset variable without a default and every malformed placeholder is reported, not just
/// the first, so one `check-config` run lists them all.
pub fn substitute(
    text: &str,
    file: &Path,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, Vec<ConfigError>> {
    let mut out = String::with_capacity(text.len());
    let mut errors = Vec::new();
    for (index, line) in text.split_inclusive('\n').enumerate() {
        // Comments are copied as they are: they may show the placeholder syntax itself.
        let (content, comment) = line.split_at(comment_start(line));
        substitute_line(content, index + 1, file, &lookup, &mut out, &mut errors);
        out.push_str(comment);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn substitute_line(
    line: &str,
    line_no: usize,
    file: &Path,
    lookup: &impl Fn(&str) -> Option<String>,
    out: &mut String,
    errors: &mut Vec<ConfigError>,
) {
    let mut rest = line;
    let mut consumed = 0;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos..];
        let column = consumed + pos + 1;
        if let Some(tail) = after.strip_prefix("$${") {
            out.push_str("${");
            consumed += pos + 3;
            rest = tail;
            continue;
        }
        let Some(body_start) = after.strip_prefix("${") else {
            out.push('$');
            consumed += pos + 1;
            rest = &after[1..];
            continue;
        };
        let Some(end) = body_start.find('}') else {
            errors.push(ConfigError::at(
                file,
                line_no,
                column,
                "",
                "unclosed `${`: write `${NAME}` or `${NAME:-default}`, or `$${` for a literal `${`",
            ));
            out.push_str(after);
            return;
        };
        let body = &body_start[..end];
        let (name, default) = match body.split_once(":-") {
            Some((name, default)) => (name, Some(default)),
            None => (body, None),
        };
        if !is_variable_name(name) {
            errors.push(ConfigError::at(
                file,
                line_no,
                column,
                "",
                format!(
                    "`${{{body}}}` is not a valid placeholder: variable names use A-Z, 0-9 and _"
                ),
            ));
        } else {
            match (lookup(name).filter(|v| !v.is_empty() || default.is_none()), default) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(default)) => out.push_str(default),
                (None, None) => errors.push(ConfigError::at(
                    file,
                    line_no,
                    column,
                    "",
                    format!("environment variable {name} is not set (write `${{{name}:-default}}` to give a default)"),
                )),
            }
        }
        consumed += pos + 2 + end + 1;
        rest = &body_start[end + 1..];
    }
    out.push_str(rest);
}

/// Byte offset of a YAML comment (`#` at the start or after white space, outside quotes), or
/// the line's length.
fn comment_start(line: &str) -> usize {
    let mut quote: Option<char> = None;
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '#') if previous.is_whitespace() => return i,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
        previous = c;
    }
    line.len()
}

fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, vars: &[(&str, &str)]) -> Result<String, Vec<ConfigError>> {
        substitute(text, Path::new("g.yaml"), |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_string())
        })
    }

    #[test]
    fn set_variable_replaces_placeholder() {
        assert_eq!(run("a: ${X}\n", &[("X", "1")]).unwrap(), "a: 1\n");
    }

    #[test]
    fn default_used_when_unset_or_empty() {
        assert_eq!(run("a: ${X:-d}\n", &[]).unwrap(), "a: d\n");
        assert_eq!(run("a: ${X:-d}\n", &[("X", "")]).unwrap(), "a: d\n");
        assert_eq!(run("a: ${X:-}\n", &[]).unwrap(), "a: \n");
    }

    #[test]
    fn default_may_contain_colons_and_slashes() {
        assert_eq!(
            run("u: ${U:-http://127.0.0.1:8000}\n", &[]).unwrap(),
            "u: http://127.0.0.1:8000\n"
        );
    }

    #[test]
    fn unset_variable_without_default_names_line_and_column() {
        let errors = run("a: 1\nb: ${MISSING}\n", &[]).unwrap_err();
        assert_eq!(errors.len(), 1);
        let text = errors[0].to_string();
        assert!(text.starts_with("g.yaml:2:4: "), "{text}");
        assert!(text.contains("MISSING is not set"), "{text}");
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = run("a: ${A}\nb: ${B}\nc: ${bad name}\n", &[]).unwrap_err();
        assert_eq!(errors.len(), 3);
    }

    #[test]
    fn escaped_placeholder_stays_literal() {
        assert_eq!(run("a: $${X}\n", &[("X", "1")]).unwrap(), "a: ${X}\n");
        assert_eq!(run("a: cost $5\n", &[]).unwrap(), "a: cost $5\n");
    }

    #[test]
    fn comments_are_left_alone() {
        assert_eq!(run("# ${VAR} doc\n", &[]).unwrap(), "# ${VAR} doc\n");
        assert_eq!(
            run("a: ${X} # ${Y}\n", &[("X", "1")]).unwrap(),
            "a: 1 # ${Y}\n"
        );
        assert_eq!(run("a: \"#${X}\"\n", &[("X", "1")]).unwrap(), "a: \"#1\"\n");
    }

    #[test]
    fn unclosed_placeholder_is_an_error() {
        assert!(run("a: ${X\n", &[]).is_err());
    }
}
