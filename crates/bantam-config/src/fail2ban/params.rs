//! Parameters on use lines: `filter = sshd[mode=aggressive]`,
//! `action = iptables[name=ssh, port="22,2222"][protocol=tcp]`, and action
//! lists with one action per line (or several per line).
//!
//! Values may be quoted with `"` or `'` to hold commas and brackets;
//! unquoted values end at `,` or `]`. Keys keep their case (fail2ban
//! lower-cases them only when it looks them up).

use super::optmap::OptMap;

/// `name[k=v, …][k=v]` → (name, params). The error says where and why.
pub(crate) fn extract(text: &str) -> Result<(String, OptMap), String> {
    let (name, inner) = match text.find('[') {
        None => (text, None),
        Some(open) => {
            let tail = text[open..].trim_end();
            let Some(inner) = tail.strip_prefix('[').and_then(|t| t.strip_suffix(']')) else {
                return Err(format!("{text:?}: `[` without a closing `]` at the end"));
            };
            (&text[..open], Some(inner))
        }
    };
    if name.is_empty() {
        return Err(format!("{text:?}: no name before `[`"));
    }
    let mut params = OptMap::new();
    if let Some(inner) = inner {
        parse_params(inner, &mut params)?;
    }
    Ok((name.to_owned(), params))
}

fn parse_params(text: &str, params: &mut OptMap) -> Result<(), String> {
    let mut rest = text;
    loop {
        let trimmed = rest.trim_start();
        let tail = trimmed.strip_prefix(',').unwrap_or(trimmed);
        if tail.trim().is_empty() {
            return Ok(());
        }
        rest = trimmed;
        let key_len = rest
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
            .unwrap_or(rest.len());
        if key_len == 0 || !rest[key_len..].starts_with('=') {
            return Err(format!("expected `key=value` at {:?}", truncate(rest)));
        }
        let key = &rest[..key_len];
        let after = &rest[key_len + 1..];
        let quoted = after
            .chars()
            .next()
            .filter(|q| *q == '"' || *q == '\'')
            .and_then(|q| {
                after[1..]
                    .find(q)
                    .map(|end| (&after[1..1 + end], &after[end + 2..]))
            });
        let (value, next) = match quoted {
            Some(pair) => pair,
            None => {
                let end = after.find([',', ']']).unwrap_or(after.len());
                (&after[..end], &after[end..])
            }
        };
        params.insert(key.trim(), value.trim());
        rest = if let Some(n) = next.strip_prefix(',') {
            n
        } else if let Some(n) = next.strip_prefix(']') {
            match n.trim_start().strip_prefix('[') {
                Some(n) => n,
                None => return Err(format!("unexpected {:?} after {key}", truncate(next))),
            }
        } else if next.is_empty() {
            return Ok(());
        } else {
            return Err(format!("unexpected {:?} after {key}", truncate(next)));
        };
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(25) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Splits an action list into uses: each is a name with optional `[…]`
/// groups; uses are separated by white space or new lines (brackets and
/// quotes keep their contents together).
pub(crate) fn split_uses(text: &str) -> Vec<String> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].1.is_whitespace() {
            i += 1;
            continue;
        }
        let start = chars[i].0;
        while i < chars.len() && !chars[i].1.is_whitespace() && chars[i].1 != '[' {
            i += 1;
        }
        // Option groups, possibly after white space: `name [a=1] [b=2]`.
        loop {
            let mut j = i;
            while j < chars.len() && chars[j].1.is_whitespace() {
                j += 1;
            }
            if j >= chars.len() || chars[j].1 != '[' {
                break;
            }
            let mut quote: Option<char> = None;
            let mut k = j + 1;
            while k < chars.len() {
                let c = chars[k].1;
                match quote {
                    Some(q) if c == q => quote = None,
                    Some(_) => {}
                    None if c == '"' || c == '\'' => quote = Some(c),
                    None if c == ']' => break,
                    None => {}
                }
                k += 1;
            }
            i = (k + 1).min(chars.len());
        }
        let end = chars.get(i).map(|c| c.0).unwrap_or(text.len());
        out.push(text[start..end].to_owned());
    }
    out
}
