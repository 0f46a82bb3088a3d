//! One fail2ban INI file, parsed the way fail2ban's parser (Python's
//! `configparser` in strict mode, with `;` enabled as an inline comment)
//! reads it, so values come out byte for byte as fail2ban sees them:
//!
//! - `key = value` and `key: value`, split at the first `=` or `:`; keys
//!   are lower-cased, section names keep their case;
//! - a line indented deeper than its option line continues the value;
//!   blank lines inside a value are kept, trailing ones dropped;
//! - full-line comments start with `#` or `;`; an inline comment only with
//!   `;` after white space (`#` inside a value is data: regexes use it);
//! - `[DEFAULT]` is the defaults section; a section or key twice in one
//!   file is an error (fail2ban refuses it too).

use std::path::Path;
use std::sync::Arc;

use super::error::Fail2banError;
use super::optmap::OptMap;

/// The sections of one file, in file order.
#[derive(Clone, Debug, Default)]
pub(crate) struct IniFile {
    pub defaults: OptMap,
    pub sections: Vec<(String, OptMap)>,
}

impl IniFile {
    pub fn section(&self, name: &str) -> Option<&OptMap> {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }
}

/// Where the current option is being collected.
enum Target {
    Defaults,
    Section(usize),
}

/// Parses `text`, read from `path` (named in errors and recorded as each
/// value's origin).
pub(crate) fn parse(text: &str, path: &Arc<Path>) -> Result<IniFile, Fail2banError> {
    let mut file = IniFile::default();
    // Values are collected as lines and joined at the end, like configparser.
    let mut pending: Vec<(Target, String, Vec<String>)> = Vec::new();
    let mut current: Option<Target> = None;
    let mut has_option = false;
    let mut indent_level = usize::MAX;
    let mut seen_sections: Vec<String> = Vec::new();
    let mut seen_keys: Vec<(String, String)> = Vec::new();
    let syntax = |line: usize, message: String| Fail2banError::Syntax {
        path: path.to_path_buf(),
        line,
        message,
    };

    for (index, raw) in text.split('\n').enumerate() {
        let lineno = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let comment_start = if line.trim().starts_with(['#', ';']) {
            Some(0)
        } else {
            inline_comment(line)
        };
        let value = line[..comment_start.unwrap_or(line.len())].trim();
        if value.is_empty() {
            // A blank line (not a comment) inside a value is part of it.
            if comment_start.is_none() && current.is_some() && has_option {
                if let Some(last) = pending.last_mut() {
                    last.2.push(String::new());
                }
            }
            continue;
        }
        let indent = line.find(|c: char| !c.is_whitespace()).unwrap_or(0);
        if current.is_some() && has_option && indent > indent_level {
            if let Some(last) = pending.last_mut() {
                last.2.push(value.to_owned());
            }
            continue;
        }
        indent_level = indent;
        if let Some(name) = section_header(value) {
            has_option = false;
            if name == "DEFAULT" {
                current = Some(Target::Defaults);
                continue;
            }
            if seen_sections.iter().any(|s| s == name) {
                return Err(syntax(lineno, format!("section [{name}] appears twice")));
            }
            seen_sections.push(name.to_owned());
            file.sections.push((name.to_owned(), OptMap::new()));
            current = Some(Target::Section(file.sections.len() - 1));
            continue;
        }
        let Some(target) = &current else {
            return Err(syntax(
                lineno,
                format!("{value:?} comes before any [section]"),
            ));
        };
        let Some(delim) = value.find(['=', ':']) else {
            return Err(syntax(
                lineno,
                format!("{value:?} is neither `key = value` nor a [section]"),
            ));
        };
        let key = value[..delim].trim_end().to_lowercase();
        if key.is_empty() {
            return Err(syntax(lineno, format!("{value:?} has no key")));
        }
        let section_name = match target {
            Target::Defaults => "DEFAULT".to_owned(),
            Target::Section(i) => file.sections[*i].0.clone(),
        };
        if seen_keys
            .iter()
            .any(|(s, k)| *s == section_name && *k == key)
        {
            return Err(syntax(
                lineno,
                format!("[{section_name}] {key} is set twice in this file"),
            ));
        }
        seen_keys.push((section_name, key.clone()));
        let first = value[delim + 1..].trim().to_owned();
        let target = match target {
            Target::Defaults => Target::Defaults,
            Target::Section(i) => Target::Section(*i),
        };
        pending.push((target, key, vec![first]));
        has_option = true;
    }

    for (target, key, lines) in pending {
        let value = lines.join("\n").trim_end().to_owned();
        let map = match target {
            Target::Defaults => &mut file.defaults,
            Target::Section(i) => &mut file.sections[i].1,
        };
        map.insert_from(key, value, Some(path.clone()));
    }
    Ok(file)
}

/// Byte offset of an inline `;` comment: one at the start of the line or
/// after white space. `#` is not an inline comment in fail2ban.
fn inline_comment(line: &str) -> Option<usize> {
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        if c == ';' && prev_space {
            return Some(i);
        }
        prev_space = c.is_whitespace();
    }
    None
}

/// `[name]` (anything up to the last `]`; text after it is ignored, as in
/// configparser).
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let end = rest.rfind(']')?;
    (end > 0).then(|| &rest[..end])
}
