//! `%`-directives in a fail2ban `datepattern`, expanded to regex text.
//!
//! # Why a table of our own
//!
//! fail2ban builds on Python's `_strptime.TimeRE` and overrides many entries
//! with stricter or looser forms (`%d` accepts a space-padded day, `%k` an
//! hour with a leading space, `%Ex*` exact two-digit fields). The patterns
//! here are written from that documented behaviour so that a date template
//! matches exactly the text fail2ban's would, which decides both the time
//! and the span cut out of the line before the rules see it.
//!
//! Every directive becomes a named group whose name is the strptime field
//! letter (`Y`, `m`, `H` …), so the conversion in `strptime` reads fields by
//! name, as fail2ban reads a Python `groupdict`. A field used twice (our own
//! default templates use alternations such as `-%m-%d|/%m/%d` instead of a
//! back-reference) gets a numbered name (`m__1`); [`field_of`] maps it back.
//!
//! The output is valid in Python's dialect and in the `regex` crate's, so
//! the template compiler can hand it to [`crate::python::PyRegex`] together
//! with whatever regex text surrounds it in a user's pattern.

use std::collections::HashMap;

/// The years `%ExY` accepts: fail2ban allows 2000 up to the end of the
/// decade that contains "now + 3 years", so that a four-digit number far in
/// the future is not mistaken for a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct YearLimit {
    /// The last accepted year (always the end of a decade, >= 2009).
    pub last: i32,
}

impl YearLimit {
    /// The limit fail2ban would compute when started at `year`.
    pub fn for_year(year: i32) -> YearLimit {
        YearLimit::through(year.saturating_add(3))
    }

    /// Accept years from 2000 through the end of `year`'s decade.
    pub fn through(year: i32) -> YearLimit {
        let decade_end = year.div_euclid(10) * 10 + 9;
        YearLimit {
            last: decade_end.max(2009),
        }
    }

    /// `%ExY`'s body: one alternative per decade prefix (`200`, `201` …).
    fn body(self) -> String {
        let prefixes: Vec<String> = (200..=self.last / 10).map(|p| p.to_string()).collect();
        format!("(?:{})[0-9]", prefixes.join("|"))
    }
}

/// English names, as fail2ban reads them in the C locale. Index + 1 is the
/// month number; weekday index 0 is Monday.
pub(crate) const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
pub(crate) const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// A name alternation, longest first so that `may`/`march` never cut a
/// longer name short.
fn names(list: &[&str], abbreviated: bool) -> String {
    let mut v: Vec<&str> = list
        .iter()
        .map(|n| if abbreviated { &n[..3] } else { n })
        .collect();
    v.sort_by_key(|n| std::cmp::Reverse(n.len()));
    v.join("|")
}

/// A zone abbreviation: one letter, or three to five.
const ZONE_ABBR: &str = "[A-Z](?:[A-Z]{2,4})?";
/// A numeric offset: `+01`, `+0100`, `+01:00`.
const ZONE_OFFSET: &str = "[+-][01][0-9](?::?[0-9]{2})?";

/// One directive: the text before its group (the optional space of `%k`),
/// the field letter naming the group, and the group's body.
struct Directive {
    lead: &'static str,
    field: char,
    body: String,
}

fn directive(key: &str, years: YearLimit) -> Option<Directive> {
    let d = |field: char, body: &str| Directive {
        lead: "",
        field,
        body: body.to_owned(),
    };
    let spaced = |field: char, body: &str| Directive {
        lead: " ?",
        field,
        body: body.to_owned(),
    };
    Some(match key {
        "d" => d('d', "[12][0-9]|[0 ]?[1-9]|3[01]"),
        "Exd" => d('d', "[12][0-9]|0[1-9]|3[01]"),
        "m" => d('m', "0?[1-9]|1[0-2]"),
        "Exm" => d('m', "0[1-9]|1[0-2]"),
        "Y" => d('Y', "[0-9]{4}"),
        "ExY" => d('Y', &years.body()),
        "y" | "Exy" => d('y', "[0-9]{2}"),
        "H" => d('H', "[01]?[0-9]|2[0-3]"),
        "ExH" => d('H', "[01][0-9]|2[0-3]"),
        "k" => spaced('H', "[0-2]?[0-9]"),
        "Exk" => spaced('H', "[01]?[0-9]|2[0-3]"),
        "I" => d('I', "1[0-2]|0[1-9]|[1-9]"),
        "l" => spaced('I', "1?[0-9]"),
        "Exl" => spaced('I', "1[0-2]|[0-9]"),
        "M" => d('M', "[0-5]?[0-9]"),
        "ExM" => d('M', "[0-5][0-9]"),
        "S" => d('S', "[0-5]?[0-9]|6[01]"),
        "ExS" => d('S', "[0-5][0-9]|6[01]"),
        "f" => d('f', "[0-9]{1,6}"),
        "j" => d(
            'j',
            "36[0-6]|3[0-5][0-9]|[12][0-9]{2}|0[1-9][0-9]|00[1-9]|[1-9][0-9]|0[1-9]|[1-9]",
        ),
        "G" => d('G', "[0-9]{4}"),
        "U" => d('U', "5[0-3]|[0-4][0-9]|[0-9]"),
        "W" => d('W', "5[0-3]|[0-4][0-9]|[0-9]"),
        "V" => d('V', "5[0-3]|0[1-9]|[1-4][0-9]|[0-9]"),
        "w" => d('w', "[0-6]"),
        "u" => d('u', "[1-7]"),
        "a" => d('a', &names(&WEEKDAYS, true)),
        "A" => d('A', &names(&WEEKDAYS, false)),
        "b" => d('b', &names(&MONTHS, true)),
        "B" => d('B', &names(&MONTHS, false)),
        "p" => d('p', "am|pm"),
        "z" => d('z', &format!("Z|UTC|GMT|{ZONE_OFFSET}")),
        "Z" => d('Z', "Z|[A-Z]{3,5}"),
        "ExZ" => d('Z', ZONE_ABBR),
        "Exz" => d('z', &format!("(?:{ZONE_ABBR})?{ZONE_OFFSET}|{ZONE_ABBR}")),
        _ => return None,
    })
}

/// Composite directives, spelled with simple ones (the C locale's forms).
fn composite(key: char) -> Option<&'static str> {
    match key {
        'c' => Some(r"%a\s+%b\s+%d\s+%H:%M:%S\s+%Y"),
        'x' => Some("%m/%d/%y"),
        'X' => Some("%H:%M:%S"),
        _ => None,
    }
}

/// The two-letter `%Ex?` extensions fail2ban defines.
const EXTENDED: &str = "ZzdmHklMSYy";
/// The single-letter directives (besides `%%` and the composites).
const SIMPLE: &str = "dfHIGjmMSUwuVyYzAaBbpZWkl";

/// Whether the pattern names a month or weekday (or AM/PM): fail2ban then
/// compiles the whole template case-insensitively.
pub(crate) fn wants_ignore_case(pattern: &str) -> bool {
    let b = pattern.as_bytes();
    (1..b.len())
        .any(|i| b[i - 1] == b'%' && b"aAbBpc".contains(&b[i]) && (i < 2 || b[i - 2] != b'%'))
}

/// The field a group name stands for: `Y` and `Y__2` are both the year.
/// Called for every group of every date read, so it looks at the name's
/// first character and what follows it, without a substring search.
pub(crate) fn field_of(name: &str) -> Option<char> {
    let c = name.chars().next()?;
    let rest = &name[c.len_utf8()..];
    let single = rest.is_empty() || rest.starts_with("__");
    (single && "dfHIGjmMSUWVwuyYzZaAbBp".contains(c)).then_some(c)
}

/// Expands every `%`-directive in `pattern`, leaving the rest as written.
/// An unknown directive is an error, as in fail2ban (a literal percent sign
/// is written `%%`).
pub(crate) fn expand(pattern: &str, years: YearLimit) -> Result<String, String> {
    let mut used: HashMap<char, usize> = HashMap::new();
    expand_with(pattern, years, &mut used)
}

fn expand_with(
    pattern: &str,
    years: YearLimit,
    used: &mut HashMap<char, usize>,
) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() * 4);
    let mut rest = pattern;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (key, len) = if after.starts_with("Ex")
            && after[2..]
                .chars()
                .next()
                .is_some_and(|c| EXTENDED.contains(c))
        {
            (&after[..3], 3)
        } else {
            match after.chars().next() {
                Some('%') => {
                    out.push('%');
                    rest = &after[1..];
                    continue;
                }
                Some(c) if composite(c).is_some() => {
                    let sub = composite(c).unwrap_or_default();
                    out.push_str(&expand_with(sub, years, used)?);
                    rest = &after[1..];
                    continue;
                }
                Some(c) if SIMPLE.contains(c) => (&after[..c.len_utf8()], c.len_utf8()),
                Some(c) => {
                    return Err(format!(
                        "unknown directive %{c} (a literal percent sign is written %%)"
                    ))
                }
                None => {
                    return Err(
                        "the pattern ends with a lone % (write %% for a percent sign)".into(),
                    )
                }
            }
        };
        let dir = directive(key, years).ok_or_else(|| format!("unknown directive %{key}"))?;
        let n = used.entry(dir.field).or_insert(0);
        let name = if *n == 0 {
            dir.field.to_string()
        } else {
            format!("{}__{}", dir.field, n)
        };
        *n += 1;
        out.push_str(dir.lead);
        out.push_str(&format!("(?P<{name}>{})", dir.body));
        rest = &after[len..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const Y: YearLimit = YearLimit { last: 2029 };

    #[test]
    fn expands_and_numbers_repeated_fields() {
        let r = expand("%m-%d|%m", Y).unwrap();
        assert!(r.contains("(?P<m>"));
        assert!(r.contains("(?P<m__1>"));
        assert_eq!(field_of("m__1"), Some('m'));
        assert_eq!(field_of("_sep"), None);
    }

    #[test]
    fn percent_and_unknown() {
        assert_eq!(expand("100%%", Y).unwrap(), "100%");
        assert!(expand("%Q", Y).is_err());
        assert!(expand("%", Y).is_err());
        assert!(expand("%Exq", Y).is_err());
    }

    #[test]
    fn year_limit_by_decade() {
        assert_eq!(YearLimit::for_year(2026).last, 2029);
        assert_eq!(YearLimit::for_year(2027).last, 2039);
        assert_eq!(YearLimit::for_year(2005).last, 2009);
        assert_eq!(YearLimit::through(2029).body(), "(?:200|201|202)[0-9]");
    }

    #[test]
    fn ignore_case_trigger() {
        assert!(wants_ignore_case("%b %d"));
        assert!(!wants_ignore_case("%%b %d"));
        assert!(!wants_ignore_case("%Y-%m"));
    }
}
