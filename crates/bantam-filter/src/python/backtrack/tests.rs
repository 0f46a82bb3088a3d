//! The program against `regex-automata`'s bounded backtracker, whose
//! answers it must give: fixed cases for each kind of step, and random
//! patterns on random ASCII texts.

use proptest::prelude::*;
use regex_automata::nfa::thompson::backtrack::BoundedBacktracker;
use regex_automata::{Anchored, Input};

use super::{Found, Prog, Scratch};

/// The bounded backtracker's anchored search over `start..end`.
fn reference(pattern: &str, text: &str, start: usize, end: usize) -> Found {
    let bt = BoundedBacktracker::new(pattern).expect("compiles");
    let (mut cache, mut caps) = (bt.create_cache(), bt.create_captures());
    let input = Input::new(text).span(start..end).anchored(Anchored::Yes);
    bt.try_search(&mut cache, &input, &mut caps)
        .expect("short text");
    caps.is_match().then(|| {
        (0..caps.group_len())
            .map(|g| caps.get_group(g).map(|s| (s.start, s.end)))
            .collect()
    })
}

fn ours(pattern: &str, text: &str, start: usize, end: usize) -> Option<Found> {
    let prog = Prog::new(pattern)?;
    prog.search(&mut Scratch::default(), text.as_bytes(), start, end, 0)
}

fn agree(pattern: &str, text: &str) {
    for start in 0..=text.len() {
        for end in start..=text.len() {
            let want = reference(pattern, text, start, end);
            let got = ours(pattern, text, start, end);
            assert_eq!(got, Some(want), "{pattern:?} on {text:?}[{start}..{end}]");
        }
    }
}

#[test]
fn each_kind_of_step_gives_the_backtrackers_spans() {
    let cases = [
        (r"\Aa(b+)c", "abbbc"),
        (r"(a|ab)(c|bcd)(d*)", "abcd"),
        (r"(\S+) from (\S+)", "root from x from y"),
        (
            r"([^:]+) from ([0-9.]+)(?: port \d+)?$",
            "a b from 192.0.2.4 port 22",
        ),
        (r"(.*?) from (.*)", "a from b from c"),
        (r"(a{2,3}?)(a*)", "aaaaa"),
        (r"(?:(a)|b){0,3}(b)", "abab"),
        (r"(?:x(\d)){1,}y", "x1x2x3y"),
        (r"\b(\w+)\b{end-half}", "ab cd"),
        (r"(?m)^(b)$", "a\nb\nc"),
        (r"(?i)(FAILED) for", "failed for"),
        (r"(a+?)(a+)", "aaaa"),
        (r"((?:ab)+)(b?)", "ababab"),
        (r"(?:)(a?)", "b"),
        (r"(é|e)", "e"),
        (r"\Bb", "ab"),
    ];
    for (pattern, text) in cases {
        agree(pattern, text);
    }
}

#[test]
fn loops_whose_body_can_match_empty_are_refused() {
    assert!(Prog::new(r"(a*)*b").is_none());
    assert!(Prog::new(r"(?:a|)+").is_none());
    assert!(Prog::new(r"(?:a?)+").is_none());
    // One optional copy is not a loop.
    assert!(Prog::new(r"(a*)?b").is_some());
}

#[test]
fn texts_that_are_not_ascii_are_left_to_the_backtracker() {
    assert_eq!(ours(r"a(.)", "aé", 0, 3), None);
}

#[test]
fn a_search_over_budget_gives_up() {
    // Exponential for a backtracker without a visited set: each `a` can
    // be either group's.
    let text = format!("{}c", "a".repeat(40));
    let found = ours(r"\A(?:(a)|(a))*b", &text, 0, text.len());
    assert_eq!(found, None);
}

fn atom() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a",
        "b",
        "ab",
        " ",
        ":",
        ".",
        r"\d",
        r"\w",
        r"\s",
        r"\S",
        "[ab]",
        "[^a:]",
        r"\b",
        r"\B",
        "^",
        "$",
        r"\A",
        r"\z",
        "(?m:$)",
        "(?m:^)",
        r"\b{start-half}",
        "(?i:A)",
    ])
}

fn quantifier() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "", "", "", "*", "+", "?", "*?", "+?", "??", "{2}", "{1,3}", "{0,2}?", "{2,}",
    ])
}

fn pattern() -> impl Strategy<Value = String> {
    let leaf = (atom(), quantifier()).prop_map(|(a, q)| format!("(?:{a}){q}"));
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| v.join("|")),
            (inner.clone(), quantifier()).prop_map(|(p, q)| format!("({p}){q}")),
            inner.prop_map(|p| format!("(?:{p})")),
        ]
    })
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!['a', 'b', ' ', ':', '1', '.', '\n']),
        0..9,
    )
    .prop_map(|v| v.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_patterns_give_the_backtrackers_spans(p in pattern(), t in text()) {
        let Some(prog) = Prog::new(&p) else { return Ok(()) };
        let mut scratch = Scratch::default();
        for start in 0..=t.len() {
            let end = t.len();
            let want = reference(&p, &t, start, end);
            if let Some(got) = prog.search(&mut scratch, t.as_bytes(), start, end, 0) {
                prop_assert_eq!(got, want, "{:?} on {:?} from {}", p, t, start);
            }
        }
    }
}
