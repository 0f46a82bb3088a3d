//! The Python-regex translator and its engines: a pattern (with flags) is
//! compiled, then searched in a text. Compiling may refuse a pattern (with a
//! reason); searching may give up at the backtracking limit; neither may
//! panic, and a match must lie inside the text on character boundaries.
//!
//! Input: one flag byte, the pattern, a NUL, the text.
#![no_main]

use bantam_filter::python::{PyFlags, PyRegex};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flag_byte, rest)) = data.split_first() else {
        return;
    };
    let (pattern, text) = match rest.iter().position(|&b| b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (rest, &b""[..]),
    };
    let (Ok(pattern), Ok(text)) = (std::str::from_utf8(pattern), std::str::from_utf8(text)) else {
        return;
    };
    let flags = PyFlags {
        multiline: flag_byte & 1 != 0,
        ignore_case: flag_byte & 2 != 0,
        dotall: flag_byte & 4 != 0,
    };
    let re = match PyRegex::new(pattern, flags) {
        Ok(re) => re,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let _ = (re.translated(), re.screen_pattern(), re.engine());
    let start = usize::from(flag_byte >> 3) % (text.len() + 2);
    for at in [0, start] {
        let Ok(Some(m)) = re.search_at(text, at) else {
            continue;
        };
        for i in 0..re.group_names().len() {
            if let Some((s, e)) = m.get(i) {
                assert!(
                    s <= e && e <= text.len(),
                    "group {i} span {s}..{e} outside the text"
                );
                assert!(
                    text.is_char_boundary(s) && text.is_char_boundary(e),
                    "group {i} span {s}..{e} splits a character"
                );
            }
        }
        let (s, _) = m.span();
        // Positions before the start are out of bounds for a search from there.
        let from = (at..=text.len())
            .find(|&p| text.is_char_boundary(p))
            .unwrap_or(text.len());
        assert!(
            s >= from,
            "match at {s} starts before the search start {at}"
        );
    }
});
