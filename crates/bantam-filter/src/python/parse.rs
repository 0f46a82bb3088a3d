//! A parser for Python 3.11's `re` grammar (str patterns).
//!
//! # Why a real parser
//!
//! Rewriting a Python pattern with regexes over its text cannot tell a `[`
//! inside a class from one outside, a `{` that starts a repetition from a
//! literal one, or `\1` from an octal escape. This parser follows Python's
//! own decisions, construct by construct, and rejects what Python rejects
//! with a message that names the construct and its position (in characters,
//! as Python counts).

use std::collections::HashMap;

use super::ast::{Assert, Class, ClassItem, Node, Perl, RepeatKind};
use super::escape::{self, Escape};
use super::PyFlags;

/// A pattern Python would reject, or one we cannot run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseError {
    /// Character offset in the pattern.
    pub at: usize,
    pub what: String,
}

pub(crate) type Result<T> = std::result::Result<T, ParseError>;

/// The parsed pattern.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub node: Node,
    /// Capture names by index; index 0 (the whole match) has none.
    pub names: Vec<Option<String>>,
    /// Case-insensitive from the start (flag or leading `(?i)`).
    pub ignore_case: bool,
}

/// The flags in force at a point of the pattern.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Flags {
    pub ignore_case: bool,
    pub multiline: bool,
    pub dotall: bool,
    pub verbose: bool,
    pub ascii: bool,
}

pub(crate) struct Parser {
    pub(crate) chars: Vec<char>,
    pub(crate) pos: usize,
    pub(super) flags: Flags,
    pub(super) names: Vec<Option<String>>,
    pub(super) by_name: HashMap<String, usize>,
    /// Groups opened and not yet closed: a back-reference to one is an
    /// error in Python.
    pub(super) open: Vec<usize>,
    /// Conditionals may name a group defined later; checked at the end.
    forward_refs: Vec<(usize, usize)>,
    /// Anything but global flags seen yet: global flags must come first.
    pub(super) started: bool,
}

/// Parses `pattern` with the initial `flags`.
pub(crate) fn parse(pattern: &str, flags: PyFlags) -> Result<Parsed> {
    let mut p = Parser {
        chars: pattern.chars().collect(),
        pos: 0,
        flags: Flags {
            ignore_case: flags.ignore_case,
            multiline: flags.multiline,
            dotall: flags.dotall,
            verbose: false,
            ascii: false,
        },
        names: vec![None],
        by_name: HashMap::new(),
        open: Vec::new(),
        forward_refs: Vec::new(),
        started: false,
    };
    let node = p.alternation()?;
    if p.pos < p.chars.len() {
        // Only a `)` can stop the top-level alternation early.
        return Err(p.error_at(p.pos, "unbalanced parenthesis"));
    }
    for (at, group) in p.forward_refs.iter().copied() {
        if group >= p.names.len() {
            return Err(p.error_at(at, "invalid group reference"));
        }
    }
    Ok(Parsed {
        node,
        names: p.names,
        ignore_case: p.flags.ignore_case || flags.ignore_case,
    })
}

impl Parser {
    pub(crate) fn error_at(&self, at: usize, what: impl Into<String>) -> ParseError {
        ParseError {
            at,
            what: what.into(),
        }
    }

    pub(crate) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(crate) fn peek_at(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    pub(crate) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn ascii(&self) -> bool {
        self.flags.ascii
    }

    /// In verbose mode, whitespace and `#` comments between tokens are
    /// nothing at all.
    fn skip_verbose(&mut self) {
        if !self.flags.verbose {
            return;
        }
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += 1;
            } else if c == '#' {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn alternation(&mut self) -> Result<Node> {
        let mut branches = vec![self.sequence()?];
        while self.eat('|') {
            self.started = true;
            branches.push(self.sequence()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    /// Items up to `|`, `)` or the end. Quantifiers apply to the last item,
    /// as in Python (where a `(?#...)` comment between the two is nothing).
    fn sequence(&mut self) -> Result<Node> {
        let mut items: Vec<Node> = Vec::new();
        loop {
            self.skip_verbose();
            let Some(c) = self.peek() else { break };
            if c == '|' || c == ')' {
                break;
            }
            let at = self.pos;
            if let Some((min, max, len)) = self.repeat_here() {
                self.pos += len;
                let kind = if self.eat('?') {
                    RepeatKind::Lazy
                } else if self.eat('+') {
                    RepeatKind::Possessive
                } else {
                    RepeatKind::Greedy
                };
                let last = match items.pop() {
                    None | Some(Node::Assert(_)) => {
                        return Err(self.error_at(at, "nothing to repeat"))
                    }
                    Some(Node::Repeat { .. }) => {
                        return Err(self.error_at(at, "multiple repeat"));
                    }
                    Some(node) => node,
                };
                if let Some(max) = max {
                    if max < min {
                        return Err(self.error_at(at, "min repeat greater than max repeat"));
                    }
                }
                items.push(Node::Repeat {
                    body: Box::new(last),
                    min,
                    max,
                    kind,
                });
                continue;
            }
            if let Some(node) = self.atom()? {
                items.push(node);
            }
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// A quantifier at the cursor: (min, max, length in chars). A `{` that
    /// does not form `{m}`, `{m,}`, `{,n}`, `{m,n}` or `{,}` is not one (it
    /// is a literal `{`), exactly as Python decides.
    fn repeat_here(&self) -> Option<(u32, Option<u32>, usize)> {
        match self.peek()? {
            '*' => return Some((0, None, 1)),
            '+' => return Some((1, None, 1)),
            '?' => return Some((0, Some(1), 1)),
            '{' => {}
            _ => return None,
        }
        let mut i = self.pos + 1;
        let digits = |i: &mut usize| {
            let start = *i;
            while self.chars.get(*i).is_some_and(char::is_ascii_digit) {
                *i += 1;
            }
            self.chars[start..*i].iter().collect::<String>()
        };
        let lo = digits(&mut i);
        let hi = if self.chars.get(i) == Some(&',') {
            i += 1;
            Some(digits(&mut i))
        } else {
            None
        };
        if self.chars.get(i) != Some(&'}') {
            return None;
        }
        if lo.is_empty() && hi.is_none() {
            // `{}` is literal.
            return None;
        }
        // Python accepts counts below 2**32 - 1; beyond any engine's size
        // limit anyway, so cap rather than overflow (the engine reports it).
        let num = |s: &str| s.parse::<u32>().unwrap_or(u32::MAX);
        let min = if lo.is_empty() { 0 } else { num(&lo) };
        let max = match hi {
            None => Some(min),
            Some(h) if h.is_empty() => None,
            Some(h) => Some(num(&h)),
        };
        Some((min, max, i + 1 - self.pos))
    }

    /// One item; `None` for things that produce nothing (comments, global
    /// flags).
    fn atom(&mut self) -> Result<Option<Node>> {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Ok(None);
        };
        self.pos += 1;
        if c == '(' {
            return self.group(at);
        }
        self.started = true;
        Ok(Some(match c {
            '[' => Node::Class(self.class(at)?),
            '.' => Node::Dot {
                dotall: self.flags.dotall,
            },
            '^' => Node::Assert(Assert::Start {
                multiline: self.flags.multiline,
            }),
            '$' => Node::Assert(Assert::End {
                multiline: self.flags.multiline,
            }),
            '\\' => self.escape_outside(at)?,
            c => Node::Literal(c),
        }))
    }

    fn escape_outside(&mut self, at: usize) -> Result<Node> {
        let ascii = self.flags.ascii;
        match escape::parse(self, at, false)? {
            Escape::Char(c) => Ok(Node::Literal(c)),
            Escape::Perl(kind, negated) => Ok(Node::Perl(Perl {
                kind,
                negated,
                ascii,
            })),
            Escape::Assert(a) => Ok(Node::Assert(a)),
            Escape::Group(n) => {
                if n >= self.names.len() {
                    return Err(self.error_at(at, "invalid group reference"));
                }
                if self.open.contains(&n) {
                    return Err(self.error_at(at, "cannot refer to an open group"));
                }
                Ok(Node::BackRef(n))
            }
        }
    }

    fn class(&mut self, at: usize) -> Result<Class> {
        let negated = self.eat('^');
        let start = self.pos;
        let mut items = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error_at(at, "unterminated character set"));
            };
            // `]` first is literal; an unescaped `[` is always literal.
            if c == ']' && self.pos != start {
                self.pos += 1;
                break;
            }
            let first = self.class_atom()?;
            if self.peek() == Some('-') {
                let dash = self.pos;
                self.pos += 1;
                match self.peek() {
                    None => return Err(self.error_at(at, "unterminated character set")),
                    Some(']') => {
                        // `[a-]`: the dash is literal.
                        items.push(first);
                        items.push(ClassItem::Char('-'));
                        continue;
                    }
                    Some(_) => {
                        let second = self.class_atom()?;
                        match (first, second) {
                            (ClassItem::Char(lo), ClassItem::Char(hi)) if lo <= hi => {
                                items.push(ClassItem::Range(lo, hi));
                            }
                            _ => return Err(self.error_at(dash, "bad character range")),
                        }
                        continue;
                    }
                }
            }
            items.push(first);
        }
        Ok(Class { negated, items })
    }

    fn class_atom(&mut self) -> Result<ClassItem> {
        let at = self.pos;
        let Some(c) = self.peek() else {
            return Err(self.error_at(at, "unterminated character set"));
        };
        self.pos += 1;
        if c != '\\' {
            return Ok(ClassItem::Char(c));
        }
        match escape::parse(self, at, true)? {
            Escape::Char(c) => Ok(ClassItem::Char(c)),
            Escape::Perl(kind, negated) => Ok(ClassItem::Perl(Perl {
                kind,
                negated,
                ascii: self.flags.ascii,
            })),
            Escape::Assert(_) | Escape::Group(_) => Err(self.error_at(at, "bad escape in class")),
        }
    }

    /// After `(`.
    fn group(&mut self, at: usize) -> Result<Option<Node>> {
        if !self.eat('?') {
            self.started = true;
            return self.capture(at, None).map(Some);
        }
        let Some(c) = self.peek() else {
            return Err(self.error_at(at, "unexpected end of pattern"));
        };
        self.pos += 1;
        if c != '#' && !c.is_ascii_alphabetic() && c != '-' {
            self.started = true;
        }
        match c {
            ':' => {
                let body = self.group_body(at)?;
                Ok(Some(Node::Group {
                    capture: None,
                    ignore_case: None,
                    body: Box::new(body),
                }))
            }
            'P' => self.p_group(at),
            '#' => {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == ')' {
                        return Ok(None);
                    }
                }
                Err(self.error_at(at, "missing ), unterminated comment"))
            }
            '=' | '!' => self.look(at, false, c == '!'),
            '<' => match self.peek() {
                Some(c @ ('=' | '!')) => {
                    self.pos += 1;
                    self.look(at, true, c == '!')
                }
                _ => Err(self.error_at(at, "unknown extension ?<")),
            },
            '>' => {
                let body = self.group_body(at)?;
                Ok(Some(Node::Atomic(Box::new(body))))
            }
            '(' => self.conditional(at).map(Some),
            c if c.is_ascii_alphabetic() || c == '-' => {
                self.pos -= 1;
                self.flag_group(at)
            }
            c => Err(self.error_at(at, format!("unknown extension ?{c}"))),
        }
    }

    /// The body of a group and its closing `)`.
    pub(super) fn group_body(&mut self, at: usize) -> Result<Node> {
        let body = self.alternation()?;
        if !self.eat(')') {
            return Err(self.error_at(at, "missing ), unterminated subpattern"));
        }
        Ok(body)
    }

    fn capture(&mut self, at: usize, name: Option<String>) -> Result<Node> {
        let index = self.names.len();
        if let Some(name) = &name {
            if self.by_name.insert(name.clone(), index).is_some() {
                return Err(self.error_at(at, format!("redefinition of group name {name:?}")));
            }
        }
        self.names.push(name);
        self.open.push(index);
        let body = self.group_body(at)?;
        self.open.retain(|&g| g != index);
        Ok(Node::Group {
            capture: Some(index),
            ignore_case: None,
            body: Box::new(body),
        })
    }

    /// After `(?P`: `<name>...)` or `=name)`.
    fn p_group(&mut self, at: usize) -> Result<Option<Node>> {
        if self.eat('<') {
            let name = self.name_until('>', at)?;
            return self.capture(at, Some(name)).map(Some);
        }
        if self.eat('=') {
            let name = self.name_until(')', at)?;
            let Some(&group) = self.by_name.get(&name) else {
                return Err(self.error_at(at, format!("unknown group name {name:?}")));
            };
            if self.open.contains(&group) {
                return Err(self.error_at(at, "cannot refer to an open group"));
            }
            return Ok(Some(Node::BackRef(group)));
        }
        Err(self.error_at(at, "unknown extension ?P"))
    }

    /// A group name up to `end`, checked as Python checks it (an
    /// identifier).
    fn name_until(&mut self, end: char, at: usize) -> Result<String> {
        let mut name = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error_at(at, "missing group name terminator")),
                Some(c) if c == end => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    name.push(c);
                    self.pos += 1;
                }
            }
        }
        if name.is_empty() {
            return Err(self.error_at(at, "missing group name"));
        }
        if !is_identifier(&name) {
            return Err(self.error_at(at, format!("bad character in group name {name:?}")));
        }
        Ok(name)
    }

    fn look(&mut self, at: usize, behind: bool, negative: bool) -> Result<Option<Node>> {
        let body = self.group_body(at)?;
        if behind {
            let (lo, hi) = body.width();
            if hi != Some(lo) {
                return Err(self.error_at(at, "look-behind requires fixed-width pattern"));
            }
        }
        Ok(Some(Node::Look {
            behind,
            negative,
            body: Box::new(body),
        }))
    }

    /// After `(?(`: `id)yes|no)`.
    fn conditional(&mut self, at: usize) -> Result<Node> {
        let mut id = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error_at(at, "missing ), unterminated name")),
                Some(')') => {
                    self.pos += 1;
                    break;
                }
                Some(c) => {
                    id.push(c);
                    self.pos += 1;
                }
            }
        }
        let group = if is_identifier(&id) {
            match self.by_name.get(&id) {
                Some(&g) => g,
                None => return Err(self.error_at(at, format!("unknown group name {id:?}"))),
            }
        } else if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
            match id.parse::<usize>() {
                Ok(0) | Err(_) => return Err(self.error_at(at, "bad group number")),
                Ok(g) => {
                    self.forward_refs.push((at, g));
                    g
                }
            }
        } else {
            return Err(self.error_at(at, format!("bad character in group name {id:?}")));
        };
        let yes = self.sequence()?;
        let no = if self.eat('|') {
            let no = self.sequence()?;
            if self.peek() == Some('|') {
                return Err(self.error_at(at, "conditional backref with more than two branches"));
            }
            no
        } else {
            Node::Empty
        };
        if !self.eat(')') {
            return Err(self.error_at(at, "missing ), unterminated subpattern"));
        }
        Ok(Node::Cond {
            group,
            yes: Box::new(yes),
            no: Box::new(no),
        })
    }
}

/// Python's `str.isidentifier`, close enough: a letter or `_` first, then
/// letters, digits or `_` (Unicode's XID classes differ on a few marks).
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}
