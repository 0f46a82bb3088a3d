//! fail2ban's tag set (`<HOST>`, `<F-USER>…</F-USER>`, `<SKIPLINES>` …),
//! expanded into Python-dialect regex text.
//!
//! # Why group names follow fail2ban's, not bantam's native scheme
//!
//! The native engine ([`crate::tags`]) gives every generated group a unique
//! name. fail2ban filters, however, are written against fail2ban's result
//! dictionary: `<F-ALT_USER>` fills `user`, `(?P<mlfid>…)` written by hand
//! works like `<F-MLFID>`, and `prefregex` groups merge with failregex groups
//! by name. To run those filters unchanged the expansions must produce the
//! very names fail2ban produces (`ip4`, `ip6`, `dns`, `fid`, `cidr`, `user`,
//! `mlfid`, `skiplines0` …), so that is what this module does.
//!
//! # The expansions
//!
//! Written for this project (not taken from fail2ban), loose on purpose and
//! free of look-around so that the patterns can stay on the linear engine.
//! They accept what fail2ban's accept for the addresses that occur in real
//! logs: dotted quads, optionally `::ffff:`-mapped; IPv6 with `::`
//! compression, optionally in brackets; DNS names made of word characters,
//! dots and dashes.
//!
//! Unknown tags stay literal text, as in fail2ban (`<W>` in a date pattern,
//! `<HTML>` in a log line …).

/// A dotted quad. Range checks happen later, when the daemon parses the
/// captured text strictly.
const IP4: &str = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}";
/// IPv6, loosely: up to eight groups of hex digits separated by `:`, with
/// `::` compression, ending in a hex digit or in `::`. Each step is decided
/// by the next byte (hex digit or `:`), so no engine has to guess. A bare
/// `a:b` is accepted as fail2ban accepts it; `a:` and `:` are not.
const IP6: &str = r"(?:[0-9A-Fa-f]{1,4}:|:)(?:[0-9A-Fa-f]{0,4}:){0,6}(?:[0-9A-Fa-f]{1,4}|:)";
/// A DNS name (or anything name-like a service logs in its place). The final
/// character must be a word character so that a sentence's full stop is not
/// taken into the name.
const DNS: &str = r"[\w.^-]*\w";

/// An expanded pattern and what the expansion learned about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expanded {
    /// Python-dialect regex text.
    pub pattern: String,
    /// How many `<SKIPLINES>` tags were expanded (`skiplines0` …).
    pub skiplines: usize,
}

/// The ip4 alternative, optionally written v4-mapped.
fn ip4_group() -> String {
    format!(r"(?:::[fF]{{4}}:)?(?P<ip4>{IP4})")
}

fn ip6_group() -> String {
    format!(r"(?P<ip6>{IP6})")
}

/// `<ADDR>`: an IP address, IPv6 optionally bracketed.
fn addr() -> String {
    format!(r"\[?(?:{}|{})\]?", ip4_group(), ip6_group())
}

/// `<HOST>`: an address or a DNS name, in that order of preference.
fn host() -> String {
    format!(r"(?:{}|(?P<dns>{DNS}))", addr())
}

/// `<SUBNET>`: an address with an optional prefix length.
fn subnet() -> String {
    format!(
        r"\[?(?:{}|{})(?:/(?P<cidr>[0-9]+))?\]?",
        ip4_group(),
        ip6_group()
    )
}

/// The expansion of a fixed tag (`HOST`, `F-ID/` …), by its name inside the
/// angle brackets.
fn fixed(tag: &str) -> Option<String> {
    Some(match tag {
        "HOST" => host(),
        "ADDR" | "F-ADDR/" => addr(),
        "IP4" | "F-IP4/" => ip4_group(),
        "IP6" | "F-IP6/" => ip6_group(),
        "DNS" | "F-DNS/" => format!(r"(?P<dns>{DNS})"),
        "SUBNET" | "F-SUBNET/" => subnet(),
        "CIDR" | "F-CIDR/" => r"(?P<cidr>[0-9]+)".to_owned(),
        "F-ID/" => r"(?P<fid>\S+)".to_owned(),
        "F-PORT/" => r"(?P<fport>\w+)".to_owned(),
        _ => return None,
    })
}

/// The result-dictionary key of an `<F-NAME>` capture: lower case, with the
/// two short names fail2ban maps (`ID` → `fid`, `PORT` → `fport`).
pub fn field_key(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "id" => "fid".to_owned(),
        "port" => "fport".to_owned(),
        _ => lower,
    }
}

/// Whether `name` is a custom-field tag name (`F-` then upper-case letters,
/// digits, `_` or `-`), returning the part after `F-`.
fn custom_name(name: &str) -> Option<&str> {
    let rest = name.strip_prefix("F-")?;
    let ok = !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    ok.then_some(rest)
}

/// Finds the next tag-shaped token (`<name>`, `</name>`, `<name/>`, name of
/// word characters and dashes) at or after `from`: (start, end).
fn next_tag(text: &str, from: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(off) = memchr::memchr(b'<', &bytes[i..]) {
        let start = i + off;
        let mut j = start + 1;
        if bytes.get(j) == Some(&b'/') {
            j += 1;
        }
        let name_start = j;
        while let Some(c) = text[j..].chars().next() {
            if c.is_alphanumeric() || c == '_' || c == '-' {
                j += c.len_utf8();
            } else {
                break;
            }
        }
        if j > name_start {
            if bytes.get(j) == Some(&b'/') {
                j += 1;
            }
            if bytes.get(j) == Some(&b'>') {
                return Some((start, j + 1));
            }
        }
        i = start + 1;
    }
    None
}

/// Expands every tag in `regex`.
pub fn expand(regex: &str) -> Expanded {
    let mut out = String::with_capacity(regex.len() * 2);
    let mut opened: Vec<String> = Vec::new();
    let mut skiplines = 0;
    let mut pos = 0;
    while let Some((start, end)) = next_tag(regex, pos) {
        out.push_str(&regex[pos..start]);
        let tag = &regex[start..end];
        let inner = &tag[1..tag.len() - 1];
        out.push_str(&expand_one(tag, inner, &mut opened, &mut skiplines));
        pos = end;
    }
    out.push_str(&regex[pos..]);
    Expanded {
        pattern: global_flags_to_local(&out),
        skiplines,
    }
}

fn expand_one(tag: &str, inner: &str, opened: &mut Vec<String>, skiplines: &mut usize) -> String {
    if inner == "SKIPLINES" {
        let n = *skiplines;
        *skiplines += 1;
        // The lines between two parts of a multi-line rule, kept so that
        // they can be handed back to the buffer as not part of the match.
        return format!(r"\n(?P<skiplines{n}>(?:.*\n)*?)");
    }
    if let Some(x) = fixed(inner) {
        return x;
    }
    if let Some(name) = inner.strip_prefix('/').and_then(custom_name) {
        // A closing tag closes a group only if one was opened with that name;
        // otherwise it is text.
        return if opened.iter().any(|o| o == name) {
            ")".to_owned()
        } else {
            tag.to_owned()
        };
    }
    if let Some(name) = custom_name(inner) {
        opened.push(name.to_owned());
        return format!("(?P<{}>", field_key(name));
    }
    tag.to_owned()
}

/// fail2ban filters write `((?i)…)` meaning "case-insensitive inside this
/// group"; Python 3.11 rejects global flags that are not at the start, so
/// fail2ban rewrites them to the scoped form `(?i:…)`. Do the same.
fn global_flags_to_local(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = String::with_capacity(p.len());
    let mut i = 0;
    while i < b.len() {
        let escaped = i > 0 && b[i - 1] == b'\\';
        if b[i] == b'(' && !escaped {
            let after = if p[i + 1..].starts_with("?:(") {
                i + 3
            } else {
                i + 1
            };
            if p[after..].starts_with("(?") {
                let letters = p[after + 2..]
                    .bytes()
                    .take_while(|c| c.is_ascii_lowercase())
                    .count();
                let close = after + 2 + letters;
                if letters > 0 && b.get(close) == Some(&b')') {
                    out.push_str("(?");
                    out.push_str(&p[after + 2..close]);
                    out.push(':');
                    i = close + 1;
                    continue;
                }
            }
        }
        let c = p[i..].chars().next().unwrap_or('\0');
        out.push(c);
        i += c.len_utf8().max(1);
    }
    out
}

#[cfg(test)]
#[path = "tags_tests.rs"]
mod tests;
