//! Dynamic tags → shell text that cannot be subverted by their values.
//!
//! fail2ban pastes a log-derived value into the command when it looks
//! harmless and otherwise writes `$f2bV_matches`, *unquoted*: the value
//! cannot run code, but it is split into words and glob-expanded. We never
//! paste an untrusted value: every untrusted tag becomes a reference to an
//! environment variable, quoted for where it stands, so the shell expands it
//! exactly once into exactly one word:
//!
//! | where the tag is            | written as            |
//! |-----------------------------|-----------------------|
//! | plain command text, `$( )`, `` ` ` `` | `"${f2bV_x}"` |
//! | inside `"…"`                | `${f2bV_x}`           |
//! | inside `'…'`                | `'"${f2bV_x}"'`       |
//! | a here-document body        | `${f2bV_x}`           |
//! | a comment                   | `${f2bV_x}` (inert)   |
//!
//! To know where a tag stands, [`Template::compile`] follows the shell's
//! quoting through the command text. Places where a variable's value would
//! be evaluated again or cannot be referenced (`${…}` words, `$((…))`,
//! quoted here-documents) are refused for untrusted tags, when the action is
//! created rather than at the first ban.

use std::collections::BTreeMap;

use super::ban_info::{dynamic_trust, field_key, Trust};
use super::spec::{shorten, tag_at};

/// A value longer than this is cut: a kernel limit (`MAX_ARG_STRLEN`,
/// 128 KiB per environment string) would otherwise make the ban itself fail,
/// and an attacker must not be able to escape a ban with long log lines.
const MAX_VALUE: usize = 96 * 1024;

/// A command with its dynamic tags located and their quoting decided.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Template {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    /// A trusted tag: its value is written as it is.
    Inline(String),
    /// An untrusted tag: a variable reference in the given form.
    Reference {
        tag: String,
        form: Form,
    },
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Form {
    /// `"${v}"`
    Quoted,
    /// `${v}`
    Bare,
    /// `'"${v}"'`: leaves a single-quoted string and comes back.
    OutOfSingle,
}

/// Where the scanner is, innermost last.
#[derive(Clone, Debug, PartialEq)]
enum Frame {
    /// Command text; `parens` counts open `(` inside a `$(`.
    Code {
        nested: bool,
        parens: u32,
    },
    Backtick,
    Double,
    Single,
    Comment,
    /// `${…}` with the count of open braces.
    Param(u32),
    /// `$((…))` with the count of open parentheses beyond the first two.
    Arith(u32),
    Heredoc {
        delimiter: String,
        expand: bool,
        strip_tabs: bool,
    },
}

/// The shell text and the environment to run it with.
#[derive(Debug, PartialEq)]
pub(super) struct Rendered {
    pub script: String,
    pub env: Vec<(String, String)>,
}

impl Template {
    /// Locates the dynamic tags of `text` (static tags already substituted).
    pub(super) fn compile(text: &str) -> Result<Template, String> {
        let mut scan = Scanner {
            text,
            at: 0,
            stack: vec![Frame::Code {
                nested: false,
                parens: 0,
            }],
            pending: Vec::new(),
            pieces: Vec::new(),
            literal: String::new(),
        };
        scan.run()?;
        let mut pieces = scan.pieces;
        if !scan.literal.is_empty() {
            pieces.push(Piece::Text(scan.literal));
        }
        Ok(Template { pieces })
    }

    /// The script for one ban. `value` gives each dynamic tag's value;
    /// `None` (no ban, or a tag the ban lacks) gives an empty value.
    pub(super) fn render(&self, value: impl Fn(&str) -> Option<String>) -> Rendered {
        let mut script = String::new();
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        let mut env = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => script.push_str(text),
                Piece::Inline(tag) => script.push_str(&value(tag).unwrap_or_default()),
                Piece::Reference { tag, form } => {
                    let name = match names.get(tag) {
                        Some(name) => name.clone(),
                        None => {
                            let name = variable_name(tag, &names);
                            env.push((name.clone(), clean(value(tag).unwrap_or_default())));
                            names.insert(tag.clone(), name.clone());
                            name
                        }
                    };
                    match form {
                        Form::Quoted => script.push_str(&format!("\"${{{name}}}\"")),
                        Form::Bare => script.push_str(&format!("${{{name}}}")),
                        Form::OutOfSingle => script.push_str(&format!("'\"${{{name}}}\"'")),
                    }
                }
            }
        }
        Rendered { script, env }
    }
}

/// `f2bV_` and the tag (captures as `f2bV_F_user`, as fail2ban names them),
/// every other character `_`; numbered if two tags would share a name.
fn variable_name(tag: &str, taken: &BTreeMap<String, String>) -> String {
    let base = match field_key(tag) {
        Some(key) => format!("F_{key}"),
        None => tag.to_string(),
    };
    let base: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let mut name = format!("f2bV_{base}");
    let mut n = 2;
    while taken.values().any(|used| *used == name) {
        name = format!("f2bV_{base}_{n}");
        n += 1;
    }
    name
}

/// A value as it can travel in the environment: without NUL (which no
/// environment string can hold — refusing the ban would let a NUL in a log
/// line prevent it) and cut to [`MAX_VALUE`].
fn clean(mut value: String) -> String {
    if value.contains('\0') {
        value.retain(|c| c != '\0');
    }
    if value.len() > MAX_VALUE {
        let mut end = MAX_VALUE;
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        value.truncate(end);
    }
    value
}

struct Scanner<'a> {
    text: &'a str,
    at: usize,
    stack: Vec<Frame>,
    /// Here-documents opened on the current line, bodies still to come.
    pending: Vec<Frame>,
    pieces: Vec<Piece>,
    literal: String,
}

impl Scanner<'_> {
    fn run(&mut self) -> Result<(), String> {
        while self.at < self.text.len() {
            if self.at_line_start() && self.heredoc_ends_here() {
                continue;
            }
            if let Some((tag, end)) = tag_at(self.text, self.at) {
                if let Some(trust) = dynamic_trust(tag) {
                    self.tag(tag, trust)?;
                    self.at = end;
                    continue;
                }
            }
            self.step();
        }
        Ok(())
    }

    fn rest(&self) -> &str {
        &self.text[self.at..]
    }

    fn top(&self) -> &Frame {
        self.stack
            .last()
            .expect("the outermost frame is never popped")
    }

    fn copy(&mut self, len: usize) {
        self.literal.push_str(&self.text[self.at..self.at + len]);
        self.at += len;
    }

    fn tag(&mut self, tag: &str, trust: Trust) -> Result<(), String> {
        if !self.literal.is_empty() {
            self.pieces
                .push(Piece::Text(std::mem::take(&mut self.literal)));
        }
        if trust == Trust::Inline {
            self.pieces.push(Piece::Inline(tag.to_string()));
            return Ok(());
        }
        let form = match self.top() {
            Frame::Code { .. } | Frame::Backtick => Form::Quoted,
            Frame::Double | Frame::Comment => Form::Bare,
            Frame::Heredoc { expand: true, .. } => Form::Bare,
            Frame::Single => Form::OutOfSingle,
            other => {
                let place = match other {
                    Frame::Param(_) => "a ${…} expansion",
                    Frame::Arith(_) => "an arithmetic $((…)) expansion",
                    _ => "a quoted here-document",
                };
                return Err(format!(
                    "<{tag}> holds text from logs and cannot be passed safely inside {place}: {}",
                    shorten(&self.text[self.at..])
                ));
            }
        };
        self.pieces.push(Piece::Reference {
            tag: tag.to_string(),
            form,
        });
        Ok(())
    }

    fn at_line_start(&self) -> bool {
        self.at == 0 || self.text.as_bytes()[self.at - 1] == b'\n'
    }

    /// At the start of a line inside a here-document: whether this line is
    /// its delimiter (then it is copied and the document closed).
    fn heredoc_ends_here(&mut self) -> bool {
        let Frame::Heredoc {
            delimiter,
            strip_tabs,
            ..
        } = self.top()
        else {
            return false;
        };
        let line_end = self.rest().find('\n').unwrap_or(self.rest().len());
        let mut line = &self.rest()[..line_end];
        if *strip_tabs {
            line = line.trim_start_matches('\t');
        }
        if line != delimiter {
            return false;
        }
        let len = (line_end + 1).min(self.rest().len());
        self.copy(len);
        self.stack.pop();
        true
    }

    /// Copies one character or token and follows the quoting it changes.
    fn step(&mut self) {
        let rest = self.rest();
        let c = rest.chars().next().expect("not at the end");
        let next_is_tag =
            tag_at(self.text, self.at + 1).is_some_and(|(t, _)| dynamic_trust(t).is_some());
        match self.top().clone() {
            Frame::Code { .. } | Frame::Backtick => self.step_code(c, next_is_tag),
            Frame::Double => match c {
                // `"\<tag>"`: a backslash before a letter stays, so the value
                // keeps it: `\\` before our `${…}` says the same.
                '\\' if next_is_tag => {
                    self.literal.push_str("\\\\");
                    self.at += 1;
                }
                '\\' => self.copy(rest.len().min(1 + next_len(rest, 1))),
                '"' => self.pop(1),
                _ => self.expansion(c),
            },
            Frame::Single => {
                if c == '\'' {
                    self.pop(1)
                } else {
                    self.copy(c.len_utf8())
                }
            }
            Frame::Comment => {
                if c == '\n' {
                    self.stack.pop();
                    self.newline();
                } else {
                    self.copy(c.len_utf8())
                }
            }
            Frame::Param(depth) => match c {
                '{' => {
                    self.set_top(Frame::Param(depth + 1));
                    self.copy(1)
                }
                '}' if depth == 0 => self.pop(1),
                '}' => {
                    self.set_top(Frame::Param(depth - 1));
                    self.copy(1)
                }
                '\\' => self.copy(rest.len().min(1 + next_len(rest, 1))),
                _ => self.copy(c.len_utf8()),
            },
            Frame::Arith(depth) => match c {
                '(' => {
                    self.set_top(Frame::Arith(depth + 1));
                    self.copy(1)
                }
                ')' if depth == 0 && rest.starts_with("))") => self.pop(2),
                ')' => {
                    self.set_top(Frame::Arith(depth.saturating_sub(1)));
                    self.copy(1)
                }
                _ => self.copy(c.len_utf8()),
            },
            Frame::Heredoc { expand, .. } => match c {
                '\n' => self.copy(1),
                '\\' if expand => self.copy(rest.len().min(1 + next_len(rest, 1))),
                _ if expand => self.expansion(c),
                _ => self.copy(c.len_utf8()),
            },
        }
    }

    fn step_code(&mut self, c: char, next_is_tag: bool) {
        let rest = self.rest();
        match c {
            // `\<tag>` in command text: the backslash would quote our
            // opening `"`. Unquoted, it only removed itself; so do we.
            '\\' if next_is_tag => self.at += 1,
            '\\' => self.copy(rest.len().min(1 + next_len(rest, 1))),
            '\'' => self.push(Frame::Single, 1),
            '"' => self.push(Frame::Double, 1),
            '`' if *self.top() == Frame::Backtick => self.pop(1),
            '#' if self.word_start() => self.push(Frame::Comment, 1),
            '\n' => self.newline(),
            '(' => {
                if let Frame::Code {
                    nested: true,
                    parens,
                } = *self.top()
                {
                    self.set_top(Frame::Code {
                        nested: true,
                        parens: parens + 1,
                    });
                }
                self.copy(1)
            }
            ')' => match *self.top() {
                Frame::Code {
                    nested: true,
                    parens: 0,
                } => self.pop(1),
                Frame::Code {
                    nested: true,
                    parens,
                } => {
                    self.set_top(Frame::Code {
                        nested: true,
                        parens: parens - 1,
                    });
                    self.copy(1)
                }
                _ => self.copy(1),
            },
            // A here-string (`<<<`) is a word, not a here-document.
            '<' if rest.starts_with("<<<") => self.copy(3),
            '<' if rest.starts_with("<<") => self.heredoc_operator(),
            _ => self.expansion(c),
        }
    }

    /// `$(`, `$((`, `${` and backquotes, which open a frame wherever
    /// expansions happen; anything else is copied.
    fn expansion(&mut self, c: char) {
        let rest = self.rest();
        if rest.starts_with("$((") {
            self.push(Frame::Arith(0), 3)
        } else if rest.starts_with("$(") {
            self.push(
                Frame::Code {
                    nested: true,
                    parens: 0,
                },
                2,
            )
        } else if rest.starts_with("${") {
            self.push(Frame::Param(0), 2)
        } else if c == '`' {
            self.push(Frame::Backtick, 1)
        } else {
            self.copy(c.len_utf8())
        }
    }

    fn word_start(&self) -> bool {
        self.at == 0
            || matches!(
                self.text.as_bytes()[self.at - 1],
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')'
            )
    }

    /// `<<WORD`, `<<-WORD`, `<<'WORD'`: its body starts after this line.
    fn heredoc_operator(&mut self) {
        let mut len = 2;
        let rest = self.rest();
        let strip_tabs = rest[len..].starts_with('-');
        if strip_tabs {
            len += 1;
        }
        len += rest[len..].len() - rest[len..].trim_start_matches([' ', '\t']).len();
        let word_len = rest[len..]
            .find([' ', '\t', '\n', ';', '&', '|', '<', '>', '(', ')'])
            .unwrap_or(rest.len() - len);
        let word = &rest[len..len + word_len];
        let expand = !word.contains(['\'', '"', '\\']);
        let delimiter: String = word
            .chars()
            .filter(|c| !matches!(c, '\'' | '"' | '\\'))
            .collect();
        if !delimiter.is_empty() {
            self.pending.push(Frame::Heredoc {
                delimiter,
                expand,
                strip_tabs,
            });
        }
        self.copy(len + word_len);
    }

    /// A newline in command text: pending here-documents begin.
    fn newline(&mut self) {
        self.copy(1);
        // The first document's body comes first, so it goes on top.
        while let Some(doc) = self.pending.pop() {
            self.stack.push(doc);
        }
    }

    fn push(&mut self, frame: Frame, len: usize) {
        self.copy(len);
        self.stack.push(frame);
    }

    fn pop(&mut self, len: usize) {
        self.copy(len);
        if self.stack.len() > 1 {
            self.stack.pop();
        }
    }

    fn set_top(&mut self, frame: Frame) {
        *self.stack.last_mut().expect("never empty") = frame;
    }
}

/// The byte length of the character at byte `at` of `text` (0 at the end).
fn next_len(text: &str, at: usize) -> usize {
    text[at..].chars().next().map_or(0, char::len_utf8)
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
