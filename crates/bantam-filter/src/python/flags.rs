//! Inline flags: `(?aiLmsux)` at the start, `(?on-off:...)` anywhere.
//!
//! # Why separate
//!
//! Python 3.11 is strict here, and its rules are the kind that get lost in
//! a bigger parser: global flags must come first (an error since 3.11, a
//! warning before; fail2ban rewrites `((?i)x)` to `(?i:x)` before it
//! compiles), `a`, `u` and `L` exclude each other and cannot be turned off,
//! `L` is for bytes patterns only, and a flag may not be both set and
//! cleared. Only `i` survives into the tree as a scoped group: `m`, `s`,
//! `x` and `a` are applied by the parser to the nodes they change.

use super::ast::Node;
use super::parse::{Parser, Result};

impl Parser {
    /// At the flag letters of `(?flags)` or `(?on-off:...)`.
    pub(super) fn flag_group(&mut self, at: usize) -> Result<Option<Node>> {
        let mut on = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_alphabetic) {
            on.push(c);
            self.pos += 1;
        }
        check_flags(&on).map_err(|w| self.error_at(at, w))?;
        if self.eat(')') {
            if self.started {
                return Err(self.error_at(at, "global flags not at the start of the expression"));
            }
            self.apply(&on, true);
            return Ok(None);
        }
        self.started = true;
        let mut off = String::new();
        if self.eat('-') {
            while let Some(c) = self.peek().filter(char::is_ascii_alphabetic) {
                off.push(c);
                self.pos += 1;
            }
            if off.is_empty() {
                return Err(self.error_at(at, "missing flag"));
            }
            check_flags(&off).map_err(|w| self.error_at(at, w))?;
            if off.contains(['a', 'u', 'L']) {
                return Err(self.error_at(
                    at,
                    "bad inline flags: cannot turn off flags 'a', 'u' and 'L'",
                ));
            }
            if on.chars().any(|c| off.contains(c)) {
                return Err(self.error_at(at, "bad inline flags: flag turned on and off"));
            }
        }
        if !self.eat(':') {
            return Err(self.error_at(at, "missing -, : or )"));
        }
        let saved = self.flags;
        self.apply(&on, true);
        self.apply(&off, false);
        let ic = self.flags.ignore_case;
        let body = self.group_body(at);
        self.flags = saved;
        Ok(Some(Node::Group {
            capture: None,
            ignore_case: (ic != saved.ignore_case).then_some(ic),
            body: Box::new(body?),
        }))
    }

    fn apply(&mut self, letters: &str, value: bool) {
        for c in letters.chars() {
            match c {
                'i' => self.flags.ignore_case = value,
                'm' => self.flags.multiline = value,
                's' => self.flags.dotall = value,
                'x' => self.flags.verbose = value,
                'a' => self.flags.ascii = value,
                _ => {} // 'u' is the default for str patterns
            }
        }
    }
}

/// Python's checks on a run of inline flag letters.
fn check_flags(letters: &str) -> std::result::Result<(), String> {
    for c in letters.chars() {
        if !"aiLmsux".contains(c) {
            return Err(format!("unknown flag {c:?}"));
        }
    }
    if letters.contains('L') {
        return Err("bad inline flags: cannot use 'L' flag with a str pattern".into());
    }
    if letters.contains('a') && letters.contains('u') {
        return Err("bad inline flags: flags 'a', 'u' and 'L' are incompatible".into());
    }
    Ok(())
}
