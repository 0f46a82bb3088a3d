//! `logpath` values with a scheme (they name no file): what makes one
//! wrong, said at start with where it was written.
//!
//! * `journal:FIELD=VALUE [FIELD=VALUE…] [+ …]`: the systemd journal;
//! * `syslog+udp://ADDR:PORT`, `syslog+tcp://ADDR:PORT`,
//!   `syslog+unix:///PATH`: a syslog receiver;
//! * `cmd:ARGV…`: a command's output, split like shell words, no shell.
//!
//! The source crate reads them (`bantam_source::open_with`); this crate
//! does not depend on it, so these checks repeat its syntax rules, and the
//! tests below keep the two in step with the same examples.

use std::net::SocketAddr;

const SCHEMES: [&str; 5] = [
    "journal:",
    "syslog+udp://",
    "syslog+tcp://",
    "syslog+unix://",
    "cmd:",
];

/// Whether `path` has a scheme (and so is neither anchored nor looked
/// for on disk).
pub(crate) fn has_scheme(path: &str) -> bool {
    SCHEMES.iter().any(|s| path.starts_with(s)) || path.starts_with("syslog+")
}

/// `None` when `path` has no scheme; otherwise whether it is valid.
pub(crate) fn check(path: &str) -> Option<Result<(), String>> {
    if let Some(spec) = path.strip_prefix("journal:") {
        return Some(journal(spec));
    }
    if let Some(spec) = path.strip_prefix("cmd:") {
        return Some(words(spec));
    }
    if let Some(rest) = path
        .strip_prefix("syslog+udp://")
        .or_else(|| path.strip_prefix("syslog+tcp://"))
    {
        return Some(rest.parse::<SocketAddr>().map(drop).map_err(|_| {
            format!("{path}: {rest:?} is not ADDRESS:PORT (e.g. 127.0.0.1:5514, [::1]:5514)")
        }));
    }
    if let Some(rest) = path.strip_prefix("syslog+unix://") {
        let ok = rest.starts_with('/') && rest.len() > 1 && !rest.ends_with('/');
        return Some(ok.then_some(()).ok_or_else(|| {
            format!(
                "{path}: {rest:?} is not an absolute socket path (syslog+unix:///run/bantam/log)"
            )
        }));
    }
    path.starts_with("syslog+").then(|| {
        Err(format!(
            "{path}: unknown syslog transport (syslog+udp://, syslog+tcp:// or syslog+unix://)"
        ))
    })
}

fn journal(spec: &str) -> Result<(), String> {
    let words: Vec<&str> = spec.split_whitespace().collect();
    if words.is_empty() {
        return Err(
            "journal: no match given (journal:FIELD=VALUE, e.g. journal:_SYSTEMD_UNIT=ssh.service)"
                .into(),
        );
    }
    let mut after_match = false;
    for word in words {
        if word == "+" {
            if !after_match {
                return Err("journal: \"+\" must stand between matches".into());
            }
            after_match = false;
            continue;
        }
        let Some((field, _)) = word.split_once('=') else {
            return Err(format!("journal: {word:?} is not FIELD=VALUE"));
        };
        let valid = !field.is_empty()
            && !field.starts_with(|c: char| c.is_ascii_digit())
            && field
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            return Err(format!(
                "journal: {field:?} is not a journal field name (upper-case letters, digits, '_')"
            ));
        }
        after_match = true;
    }
    match after_match {
        true => Ok(()),
        false => Err("journal: \"+\" must stand between matches".into()),
    }
}

/// Quotes closed, no trailing backslash, at least one word.
fn words(spec: &str) -> Result<(), String> {
    let mut chars = spec.chars();
    let mut any = false;
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => continue,
            '\'' if !chars.by_ref().any(|c| c == '\'') => {
                return Err("cmd: unclosed single quote".into());
            }
            '"' => loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => {
                        chars.next();
                    }
                    Some(_) => {}
                    None => return Err("cmd: unclosed double quote".into()),
                }
            },
            '\\' if chars.next().is_none() => return Err("cmd: backslash at the end".into()),
            _ => {}
        }
        any = true;
    }
    match any {
        true => Ok(()),
        false => Err("cmd: no command given (cmd:docker logs -f web)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_and_bad_schemes() {
        for good in [
            "journal:_SYSTEMD_UNIT=ssh.service",
            "journal:_SYSTEMD_UNIT=ssh.service + SYSLOG_IDENTIFIER=sshd",
            "syslog+udp://127.0.0.1:5514",
            "syslog+tcp://[2001:db8::1]:514",
            "syslog+unix:///run/bantam/log",
            "cmd:docker logs -f --since 0s web",
            "cmd:sh -c 'echo \"a\"'",
        ] {
            assert_eq!(check(good), Some(Ok(())), "{good}");
            assert!(has_scheme(good));
        }
        for (bad, says) in [
            ("journal:", "no match"),
            ("journal:unit=ssh", "not a journal field name"),
            ("journal:ssh.service", "not FIELD=VALUE"),
            ("journal:+ A=1", "between"),
            ("syslog+udp://localhost:514", "ADDRESS:PORT"),
            ("syslog+tcp://127.0.0.1", "ADDRESS:PORT"),
            ("syslog+unix://run/log", "absolute"),
            ("syslog+sctp://127.0.0.1:1", "unknown syslog transport"),
            ("cmd:", "no command"),
            ("cmd:echo 'x", "single quote"),
            ("cmd:echo \"x", "double quote"),
        ] {
            let e = check(bad).unwrap().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert_eq!(check("/var/log/auth.log"), None);
        assert!(!has_scheme("/var/log/cmd:x"));
    }
}
