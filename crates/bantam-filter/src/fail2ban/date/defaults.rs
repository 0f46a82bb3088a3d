//! fail2ban's default date templates, and the `datepattern` keywords that
//! pull them in: `{^LN-BEG}`, `{DEFAULT}`, `{DATE}`.
//!
//! # Why this order
//!
//! The order is a preference: when two templates find a date at the same
//! place, the earlier one wins, and a date at the start of a line is
//! preferred to one inside the message (where an attacker could write
//! one). So the list starts with a line-start copy of every template that
//! is not already anchored (weighted 100 so that it stays ahead when the
//! detector reorders), followed by the templates themselves.
//!
//! The formats are the ones fail2ban recognises; they are spelled in our
//! directive language (a consistent separator is an alternation rather
//! than a back-reference, so the default list never needs a backtracking
//! engine for that).

use super::template::{has_placeholder, Recipe};

/// One default: a `%`-pattern, or the `EPOCH`/`TAI64N` keywords.
const DEFAULTS: [&str; 17] = [
    // ISO 8601 and its relatives: 2005-01-23T21:59:59.981746+01:00,
    // 2005/01/23 21:59:59, syslog-ng's 2006.12.21 06:43:20.
    r"%ExY(?:-%m-%d|/%m/%d|\.%m\.%d)(?:T| {1,2})%H:%M:%S(?:[.,]%f)?(?:\s*%z)?",
    // asctime, optional weekday, fraction and trailing year.
    r"(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    // asctime with the year after the day.
    r"(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?",
    // Day first: 23/01/2005 21:59:59, 17-07-08 17:23:25.
    r"%d(?:-%m-|/%m/)(?:%ExY|%Exy) %k:%M:%S",
    // Apache and friends: 31/Oct/2006:09:22:55 -0000, 26-Jul-2007 15:20:52.252.
    r"%d(?:-%b-|/%b/)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?",
    // cPanel: 05/20/2008:01:57:39.
    r"%m/%d/%ExY:%H:%M:%S",
    // Month first with a dash: 01-27-2012 16:22:44.252.
    r"%m-%d-%ExY %k:%M:%S(?:\.%f)?",
    "EPOCH",
    // A time alone, at the line start.
    r"{^LN-BEG}%H:%M:%S",
    // <09/16/08@05:03:30>
    r"^<%m/%d/%Exy@%H:%M:%S>",
    // MySQL: 130322 11:46:11.
    r"%Exy%Exm%Exd {1,2}%H:%M:%S",
    // Tomcat: Jul 3, 2013 10:31:10 AM.
    r"%b %d, %ExY %I:%M:%S %p",
    // ASSP: Apr-27-13 02:33:06.
    r"^%b-%d-%Exy %k:%M:%S",
    // Compact ISO: 20050123T215959, 20050123 215959.
    r"%ExY%Exm%Exd(?:T| {1,2})%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?",
    // asctime after a zone name (monit): PDT Apr 16 21:05:29.
    r"(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    // asctime after an offset: +00:00 Jan 23 21:59:59.011 2005.
    r"(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?",
    "TAI64N",
];

fn is_anchored(text: &str) -> bool {
    text.starts_with("{^LN-BEG}") || text.starts_with('^')
}

fn recipe(text: &str) -> Recipe {
    match text {
        "EPOCH" => Recipe::Epoch {
            line_begin: false,
            long: false,
        },
        "TAI64N" => Recipe::Tai64n { line_begin: false },
        _ => Recipe::Pattern(text.to_owned()),
    }
}

fn line_start_copy(text: &str) -> Recipe {
    match text {
        "EPOCH" => Recipe::Epoch {
            line_begin: true,
            long: false,
        },
        "TAI64N" => Recipe::Tai64n { line_begin: true },
        _ => Recipe::Pattern(format!("{{^LN-BEG}}{text}")),
    }
}

/// The full default list with weights: line-start copies, then originals.
pub(crate) fn full() -> Vec<(Recipe, f64)> {
    let copies = DEFAULTS
        .iter()
        .filter(|t| !is_anchored(t))
        .map(|t| (line_start_copy(t), 100.0));
    let originals = DEFAULTS.iter().map(|t| (recipe(t), 1.0));
    copies.chain(originals).collect()
}

/// `{DATE}` in a user's line: every default (not the line-start copies)
/// substituted for the placeholder, boundaries removed. The keyword
/// defaults are substituted by name, as fail2ban does, which makes them
/// literal text.
pub(crate) fn with_date(line: &str) -> Vec<Recipe> {
    DEFAULTS
        .iter()
        .map(|t| {
            let name = match *t {
                "EPOCH" => "Epoch",
                "TAI64N" => "TAI64N",
                p => unbound(p),
            };
            classify(&replace_date(line, name))
        })
        .collect()
}

/// A pattern without its boundary markers, to be placed inside another.
fn unbound(p: &str) -> &str {
    let p = p.strip_prefix("{UNB}").unwrap_or(p);
    let p = p.strip_prefix("{^LN-BEG}").unwrap_or(p);
    let p = [r"(?:^|\b|\W)", r"(^|\b|\W)"]
        .iter()
        .find_map(|b| p.strip_prefix(b))
        .unwrap_or(p);
    p.strip_suffix(r"(?=\b|\W|$)").unwrap_or(p)
}

/// Replaces every unescaped `{DATE}` (any case) with `with`.
pub(crate) fn replace_date(line: &str, with: &str) -> String {
    let mut out = String::with_capacity(line.len() + with.len());
    let mut rest = line;
    let mut prev_backslash = false;
    while !rest.is_empty() {
        if !prev_backslash
            && rest
                .get(..6)
                .is_some_and(|h| h.eq_ignore_ascii_case("{DATE}"))
        {
            out.push_str(with);
            rest = &rest[6..];
            prev_backslash = false;
            continue;
        }
        let c = rest.chars().next().unwrap_or_default();
        prev_backslash = c == '\\';
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The key fail2ban files a pattern under: the text itself when it holds
/// a directive, upper case otherwise (keywords are case-insensitive).
pub(crate) fn key(line: &str) -> String {
    if line.contains('%') {
        line.to_owned()
    } else {
        line.to_uppercase()
    }
}

/// What a single template line is: an epoch, TAI64N, or a pattern.
pub(crate) fn classify(line: &str) -> Recipe {
    let key = key(line);
    if key.contains("EPOCH") {
        if has_placeholder(line) {
            return Recipe::EpochPattern {
                text: line.to_owned(),
                long: key.contains("LEPOCH"),
            };
        }
        for (word, long) in [("EPOCH", false), ("LEPOCH", true)] {
            if key == word {
                return Recipe::Epoch {
                    line_begin: false,
                    long,
                };
            }
            if key == format!("{{^LN-BEG}}{word}") || key == format!("^{word}") {
                return Recipe::Epoch {
                    line_begin: true,
                    long,
                };
            }
        }
    }
    match key.as_str() {
        "TAI64N" => Recipe::Tai64n { line_begin: false },
        "{^LN-BEG}TAI64N" | "^TAI64N" => Recipe::Tai64n { line_begin: true },
        _ => Recipe::Pattern(line.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_list_shape() {
        let l = full();
        assert_eq!(l.len(), 31);
        assert_eq!(l.iter().filter(|(_, w)| *w == 100.0).count(), 14);
    }

    #[test]
    fn date_placeholder() {
        assert_eq!(replace_date(r"^x{date}\{DATE}", "D"), r"^xD\{DATE}");
        let r = with_date("^<W>{DATE}");
        assert_eq!(r.len(), 17);
        assert_eq!(r[7], Recipe::Pattern("^<W>Epoch".into()));
        assert_eq!(r[8], Recipe::Pattern("^<W>%H:%M:%S".into()));
    }

    #[test]
    fn keywords() {
        assert_eq!(
            classify("{^LN-BEG}Epoch"),
            Recipe::Epoch {
                line_begin: true,
                long: false
            }
        );
        assert!(matches!(
            classify("^x {LEPOCH}"),
            Recipe::EpochPattern { long: true, .. }
        ));
        assert_eq!(classify("tai64n"), Recipe::Tai64n { line_begin: false });
    }
}
