//! Unit tests for the translator's traps, with expected results checked
//! against Python 3.11 by hand (the oracle tests recheck them live).

use super::*;

fn re(p: &str) -> PyRegex {
    PyRegex::new(p, PyFlags::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn span(p: &str, text: &str) -> Option<(usize, usize)> {
    re(p)
        .search(text)
        .expect("within the limit")
        .map(|m| m.span())
}

fn reason(p: &str) -> String {
    match PyRegex::new(p, PyFlags::default()) {
        Ok(_) => panic!("{p:?} should not compile"),
        Err(e) => e.reason,
    }
}

#[test]
fn engine_is_linear_unless_a_construct_needs_backtracking() {
    // A conditional on a group outside any repetition is distributed into
    // the linear engine's syntax (`linearize`).
    for p in [
        r"^a$",
        r"(?P<host>\S+)\s*$",
        r"a{,3}\Z",
        r"(?i)x",
        r"\<x\>",
        "(x)?(?(1)a|b)",
    ] {
        assert_eq!(re(p).engine(), EngineKind::Linear, "{p}");
    }
    for p in [
        "a(?=b)",
        "a(?!b)",
        "(?<=a)b",
        "(?<!a)b",
        "(?P<a>x)(?P=a)",
        r"(x)\1",
        "(x)*(?(1)a|b)",
        "(?>a)",
        "a*+",
    ] {
        assert_eq!(re(p).engine(), EngineKind::Backtracking, "{p}");
    }
}

#[test]
fn python_dollar_matches_before_a_final_newline_only() {
    assert_eq!(span("a$", "a"), Some((0, 1)));
    assert_eq!(span("a$", "a\n"), Some((0, 1)));
    assert_eq!(span("a$", "a\nb"), None);
    assert_eq!(span("a$", "a\n\n"), None);
    // Texts with a final `\n` and another: the exact (backtracking) form.
    assert_eq!(span("a$", "x\na\n"), Some((2, 3)));
    assert_eq!(span("a$", "a\nb\n"), None);
    // A `\n` consumed before `$`.
    assert_eq!(span(r"a\s$", "a\n"), Some((0, 2)));
    assert_eq!(span(r"a\Z", "a\n"), None);
}

#[test]
fn multiline_anchors_work_per_line() {
    let m = PyRegex::new(
        "^b$",
        PyFlags {
            multiline: true,
            ..PyFlags::default()
        },
    )
    .expect("compiles");
    assert_eq!(
        m.search("a\nb\nc").expect("limit").map(|m| m.span()),
        Some((2, 3))
    );
}

#[test]
fn angle_brackets_and_braces_are_literal_where_python_says_so() {
    assert_eq!(span(r"\<HOST\>", "<HOST>"), Some((0, 6)));
    assert_eq!(span("a{", "a{"), Some((0, 2)));
    assert_eq!(span("{foo}", "{foo}"), Some((0, 5)));
    assert_eq!(span("x{1,2", "x{1,2"), Some((0, 5)));
    assert_eq!(span("xa{,2}", "xaaa"), Some((0, 3)));
    assert_eq!(span("[[a]+", "[a["), Some((0, 3)));
    assert_eq!(span("[a&&b]+", "&&"), Some((0, 2)));
}

#[test]
fn groups_keep_their_python_names_and_numbers() {
    let r = re(r"(?P<user>\w+)(x)?@(?P<host>\S+)");
    let names: Vec<_> = r.group_names().iter().map(|n| n.as_deref()).collect();
    assert_eq!(names, [None, Some("user"), None, Some("host")]);
    let m = r.search("root@192.0.2.1").expect("limit").expect("match");
    assert_eq!(m.name("user"), Some((0, 4)));
    assert_eq!(m.get(2), None);
    assert_eq!(m.name("host"), Some((5, 14)));
    let named: Vec<_> = m.named().collect();
    assert_eq!(named, [("user", (0, 4)), ("host", (5, 14))]);
}

#[test]
fn errors_name_the_construct() {
    assert!(reason("(?P<a>x)(?P<a>y)").contains("redefinition of group name \"a\""));
    assert!(reason(r"\N{DIGIT ONE}").contains(r"\N{...}"));
    assert!(reason(r"\q").contains(r"bad escape \q"));
    assert!(reason("a**").contains("multiple repeat"));
    assert!(reason("(?<=a+)b").contains("look-behind"));
    assert!(reason("a(?i)b").contains("global flags"));
    assert!(reason("(?P=nope)").contains("unknown group name \"nope\""));
    assert!(reason("(a").contains("position 0"));
}

#[test]
fn hostile_input_hits_the_limit_instead_of_running_on() {
    // Exponential for a backtracker: every `a` can be either branch, and
    // the back-reference keeps the loop in fancy-regex's VM (under a
    // look-ahead alone fancy-regex hands the loop to the linear engine).
    let r = re(r"^(a|a)*\1b");
    assert_eq!(r.engine(), EngineKind::Backtracking);
    // `c` gets past the linear screen (`^(a|a)*.*b`); without it the
    // screen alone answers.
    let text = "a".repeat(40) + "cb";
    assert_eq!(r.search(&text), Err(LimitExceeded));
    assert_eq!(r.search(&"a".repeat(40)), Ok(None));
}

#[test]
fn odd_starts_never_panic() {
    let r = re("b");
    assert_eq!(r.search_at("ab", 9), Ok(None));
    // Inside `é`: counts from the next character.
    assert_eq!(
        r.search_at("éb", 1).expect("limit").map(|m| m.span()),
        Some((2, 3))
    );
}

#[test]
fn no_pattern_panics_the_parser() {
    // Every prefix of some tricky patterns: each compiles or is refused.
    for p in [
        r"(?P<a>x)(?(a)[\]-]|(?<=\x41))*+\1{2,}?$",
        r"(?x:[#\s]#c\n)(?i-s:\u00e9\U0001F600\012)",
        "[^]\\",
    ] {
        for end in p.char_indices().map(|(i, _)| i).chain([p.len()]) {
            let _ = PyRegex::new(&p[..end], PyFlags::default());
        }
    }
}

proptest::proptest! {
    /// Any string of regex syntax compiles or is refused, and searching
    /// with what compiles returns, never panics.
    #[test]
    fn arbitrary_syntax_never_panics(
        p in r"[()\[\]{}?*+|^$\\.aPbBdDwWsSAZNxuU<>=!:#,0-9 -]{0,16}",
        text in r"[a0 \n<>-]{0,8}",
    ) {
        if let Ok(re) = PyRegex::new(&p, PyFlags::default()) {
            let _ = re.search(&text);
            let _ = re.search_at(&text, 1);
        }
    }
}

#[test]
fn ascii_texts_take_the_ascii_form_with_the_same_meaning() {
    // The ASCII form only ever sees ASCII texts; Unicode ones keep the
    // Unicode tables (Arabic-Indic digits are `\d` in Python).
    assert_eq!(span(r"\d+", "port 2022"), Some((5, 9)));
    assert_eq!(span(r"\d+", "port \u{661}\u{662}"), Some((5, 9)));
    assert_eq!(span(r"\w+\b", "user_1 x"), Some((0, 6)));
    assert_eq!(span(r"\S+$", "a b\u{e9}"), Some((2, 5)));
    assert_eq!(span(r"(?i)K\S", "xk!"), Some((1, 3)));
    assert_eq!(span(r"(?i)k", "\u{212a}"), Some((0, 3)));
    assert_eq!(span(r"a.c", "a\nc"), None);
}
