//! Random small patterns from a grammar of the Python dialect, on random
//! texts, against Python's own `re`: every case's verdict (refused, no
//! match, or the span of every group) must be Python's.
//!
//! # Why batched, without shrinking
//!
//! One `python3` process answers all cases at once (starting one per case
//! would make a useful number of cases take minutes). The values come from
//! proptest's strategies and a deterministic runner, so a failure is
//! reproducible; instead of shrinking, the shortest failing cases are shown.

mod py_oracle;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use py_oracle::{ask, disagreements, has_empty_loop, python, Case};

/// How many cases: `BANTAM_PY_CASES` to ask for more.
fn count() -> usize {
    std::env::var("BANTAM_PY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

/// The same cases every run, unless `BANTAM_PY_SEED` (a number) asks for
/// others.
fn seed() -> [u8; 32] {
    let n: u64 = std::env::var("BANTAM_PY_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&n.to_le_bytes());
    seed
}

fn atom() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "a", "b", "é", "1", " ", "-", "<", ">", "_", ".", r"\d", r"\w", r"\s", r"\W", r"\S", r"\D",
        r"\b", r"\B", "^", "$", r"\A", r"\Z", r"\n", r"\<", r"\>", "[ab]", r"[^a\n]", "[a-c]",
        r"[\w-]", "[[a]", "[]a]", r"[\s\d]", r"[^\W_]", "x{", "{}", "(?i:A)", "(?s:.)", r"\x61",
        r"\141", r"\1", "(?P=g)",
    ])
    .prop_map(str::to_owned)
}

fn quantifier() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "", "", "", "*", "+", "?", "*?", "+?", "??", "{2}", "{1,2}", "{,2}", "{2,}", "{1,2}?",
        "*+", "++", "{,}",
    ])
    .prop_map(str::to_owned)
}

fn pattern() -> impl Strategy<Value = String> {
    let leaf = (atom(), quantifier()).prop_map(|(a, q)| {
        // Python refuses to repeat an assertion; keep most cases useful.
        if ["^", "$", r"\A", r"\Z", r"\b", r"\B"].contains(&a.as_str()) {
            a
        } else {
            a + &q
        }
    });
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|v| v.concat()),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("(?:{a}|{b})")),
            (inner.clone(), quantifier()).prop_map(|(a, q)| format!("({a}){q}")),
            (inner.clone(), quantifier()).prop_map(|(a, q)| format!("(?:{a}){q}")),
            inner.clone().prop_map(|a| format!("(?P<g>{a})")),
            inner.clone().prop_map(|a| format!("(?={a})")),
            inner.clone().prop_map(|a| format!("(?!{a})")),
            inner.clone().prop_map(|a| format!("(?>{a})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("(?<=a){a}(?<!b){b}")),
        ]
    })
}

fn case() -> impl Strategy<Value = Case> {
    (
        pattern(),
        prop::sample::select(vec!["", "", "i", "m", "s", "ms"]),
        "[ab\né 1_<>A-]{0,10}",
    )
        .prop_map(|(p, f, t)| Case::new(&p, f, &t))
}

/// `X(.+)$`, the shape of fail2ban's `prefregex`, which is searched as
/// `X` and one more character (`python::tail`); texts with a `\n` in them
/// keep the whole pattern.
fn rest_of_line_case() -> impl Strategy<Value = Case> {
    (
        pattern(),
        prop::sample::select(vec!["", "^", r"\A"]),
        prop::sample::select(vec!["", "", "i", "s"]),
        "[ab é 1_<>A-]{0,10}",
        prop::sample::select(vec!["", "", "\n", "\n\n", "\nb"]),
    )
        .prop_map(|(p, anchor, f, t, end)| Case::new(&format!("{anchor}{p}(.+)$"), f, &(t + end)))
}

/// Whether a reported disagreement is about a pattern with a possessive
/// quantifier (the generator writes `+` after a quantifier only for those).
fn possessive(disagreement: &str) -> bool {
    let pattern = disagreement.lines().next().unwrap_or_default();
    ["*+", "++", "?+", "}+"].iter().any(|q| pattern.contains(q))
}

#[test]
fn random_patterns_agree_with_python() {
    check_against_python(case(), count());
}

#[test]
fn random_rest_of_line_patterns_agree_with_python() {
    check_against_python(rest_of_line_case(), count() / 2);
}

fn check_against_python(strategy: impl Strategy<Value = Case>, count: usize) {
    let Some(py) = python() else { return };
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed()),
    );
    let cases: Vec<Case> = (0..count)
        .map(|_| strategy.new_tree(&mut runner).expect("a case").current())
        .collect();
    let answers = ask(&py, &cases);
    // Disagreements are worked out per case to set the documented ones
    // aside with a count, so that any other shows.
    let mut python_bug = Vec::new();
    let mut empty_loops = Vec::new();
    let mut bad = Vec::new();
    for (case, answer) in cases.iter().zip(&answers) {
        for d in disagreements(std::slice::from_ref(case), std::slice::from_ref(answer)) {
            if possessive(&d) {
                python_bug.push(d);
            } else if has_empty_loop(case) {
                empty_loops.push(d);
            } else {
                bad.push(d);
            }
        }
    }
    if let Some(first) = empty_loops.first() {
        eprintln!(
            "{} disagreements in loops whose body can match empty left aside \
             (PyRegex::has_empty_loop), e.g.\n{first}",
            empty_loops.len()
        );
    }
    bad.sort_by_key(String::len);
    if !python_bug.is_empty() {
        eprintln!(
            "{} disagreements under a possessive quantifier left aside (CPython gh-106052, \
             fixed in 3.11.5: `x*+` must equal `(?>x*)`, as ours does)",
            python_bug.len()
        );
    }
    let errors = answers.iter().filter(|a| a["error"].is_string()).count();
    let matched = answers.iter().filter(|a| a["match"].is_array()).count();
    eprintln!(
        "{} random cases: {errors} refused by Python, {matched} matching, {} disagreeing",
        cases.len(),
        bad.len()
    );
    assert!(
        bad.is_empty(),
        "{} of {} disagree with Python; the shortest:\n{}",
        bad.len(),
        cases.len(),
        bad.iter().take(12).cloned().collect::<Vec<_>>().join("\n")
    );
}
