//! The rewrite against the backtracker it replaces: same matches, same
//! group spans, on every short text over an alphabet chosen to hit the
//! corner cases (the guarded literal's pieces, spaces, line ends).

use super::super::{parse, translate, PyFlags, PyRegex};
use super::linearize;

/// The pattern as the backtracker runs it, without any rewrite.
fn backtracker(pattern: &str) -> fancy_regex::Regex {
    let parsed = parse::parse(pattern, PyFlags::default()).expect("parses");
    let target = translate::Target {
        dollar: translate::Dollar::LookAhead,
        empty_text: false,
        relaxed: false,
        ascii: false,
    };
    let t = translate::translate(&parsed.node, parsed.ignore_case, target);
    fancy_regex::Regex::new(&t).expect("compiles")
}

fn spans_of(re: &fancy_regex::Regex, text: &str) -> Option<Vec<Option<(usize, usize)>>> {
    let caps = re.captures(text).expect("within the limit")?;
    Some(
        (0..caps.len())
            .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
            .collect(),
    )
}

/// Every text up to `len` characters over `alphabet`.
fn texts(alphabet: &[&str], len: usize) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut layer = vec![String::new()];
    for _ in 0..len {
        layer = layer
            .iter()
            .flat_map(|t| alphabet.iter().map(move |a| format!("{t}{a}")))
            .collect();
        out.extend(layer.iter().cloned());
    }
    out
}

fn assert_same(pattern: &str, alphabet: &[&str], len: usize) {
    let re = PyRegex::new(pattern, PyFlags::default()).expect("compiles");
    assert_eq!(
        re.engine(),
        super::super::EngineKind::Linear,
        "{pattern} should run on the linear engine"
    );
    let reference = backtracker(pattern);
    for text in texts(alphabet, len) {
        let want = spans_of(&reference, &text);
        let got = re.search(&text).expect("linear never gives up");
        let got = got.map(|m| {
            (0..want.as_ref().map_or(0, Vec::len))
                .map(|i| m.get(i))
                .collect()
        });
        assert_eq!(got, want, "pattern {pattern:?} on {text:?}");
    }
}

#[test]
fn a_lazy_guarded_loop_before_its_literal_is_linear_and_exact() {
    assert_same(
        r"^u (?P<user>(?:(?!ab).)*?)ab(\w)",
        &["a", "b", "x", " "],
        7,
    );
    // The literal has a border (`aba`): a loop text ending in `ab` would
    // let `aba` start inside it.
    assert_same(r"^(?P<user>(?:(?!aba).)*?)aba(\w)?", &["a", "b", "x"], 8);
}

#[test]
fn a_greedy_guarded_loop_to_the_end_is_linear_and_exact() {
    assert_same(r"^(x)(?:(?:(?! f).)*)$", &["x", " ", "f", "\n"], 7);
}

#[test]
fn conditionals_distributed_keep_preference_and_groups() {
    assert_same(
        r"^(?P<inv>i )?(?P<u>(?P<cu>\w+)|(?(inv)(?:(?! f).)*?|[^:]+)) f (?P<h>\w)(?(cu) |(?:(?:(?! f).)*)$)",
        &["i", " ", "f", "x", ":"],
        8,
    );
}

#[test]
fn fail2bans_sshd_failed_rule_runs_linear() {
    // fail2ban 1.0.2's sshd "Failed ..." failregex shape, expanded.
    let pattern = r"^Failed (?:(?P<nofail>publickey)|\S+) for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from (?P<ip>\S+)(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)";
    let re = PyRegex::new(pattern, PyFlags::default()).expect("compiles");
    assert_eq!(re.engine(), super::super::EngineKind::Linear);
    let reference = backtracker(pattern);
    for line in [
        "Failed password for root from 192.0.2.1 port 22 ssh2",
        "Failed password for invalid user a b from 192.0.2.2 port 22 ssh2",
        "Failed password for invalid user x from 198.51.100.1 from 192.0.2.3 port 22 ssh2",
        "Failed password for bob from 192.0.2.4 port 22 ssh2: RSA SHA256:x",
        "Failed publickey for invalid user  from 192.0.2.5 port 22 ssh2",
        "Failed password for a from b from 203.0.113.9 port 22 ssh2",
        "Failed none for invalid user from 192.0.2.6 port 1 ssh2 from x",
    ] {
        let want = spans_of(&reference, line);
        let got = re.search(line).unwrap();
        let got = got.map(|m| {
            (0..want.as_ref().map_or(0, Vec::len))
                .map(|i| m.get(i))
                .collect()
        });
        assert_eq!(got, want, "{line}");
    }
}

#[test]
fn what_cannot_be_pinned_stays_on_the_backtracker() {
    for pattern in [
        // Nothing literal follows the loop.
        r"^(?:(?!ab).)*?(\w)",
        // A tested group inside a repetition.
        r"^(?:(a)|b)+(?(1)c|d)",
        r"(?<=a)b",
    ] {
        let parsed = parse::parse(pattern, PyFlags::default()).unwrap();
        assert!(linearize(&parsed.node).is_none(), "{pattern}");
    }
}
