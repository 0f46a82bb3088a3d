//! Rewriting the conditionals and guarded dots of fail2ban's filters into
//! patterns the linear engine runs, with exactly the same matches.
//!
//! # Why
//!
//! fail2ban's sshd filter, the one nearly every user runs, writes its user
//! names as `(?:(?! from ).)*?` and chooses its tail with conditionals
//! (`(?(cond_user): |…)`). Both need a backtracker, and the failregex that
//! matches most of a real auth.log ("Failed password for …") has both: on
//! fancy-regex it costs several times what the rest of the filter costs.
//! Neither construct is beyond a finite automaton, only beyond the `regex`
//! crate's syntax, so they are rewritten here, and only where the rewrite
//! provably keeps every match and every group span as Python's `re` gives
//! them; anything else stays on the backtracker.
//!
//! # Conditionals: distribute the choice
//!
//! Whether group `g` took part is decided by the branch a path took at the
//! alternation (or `?`) holding `g`. `X (A|B) Y` is `X (A Y | B Y)` with
//! the same preference order (a backtracker tries every continuation of `A`
//! before `B`, and so does the distributed form; the `regex` crate keeps
//! that order, leftmost-first), and once `Y` is copied into each branch,
//! every `(?(g)yes|no)` in it is known and replaced by its branch. Copies of
//! a capture group get numbers of their own; [`Linear::groups`] maps them
//! back, and of several copies only the one on the path taken participates.
//! Groups inside repetitions, look-arounds or atomic groups are left alone.
//!
//! # Guarded dots: the language, not the loop
//!
//! `(?:(?!LIT).)*` repeats "a character where `LIT` does not start". When
//! what follows is `LIT` itself (`…)*? from <HOST>` with `LIT` = ` from `),
//! the loop can only stop at the first `LIT` after its start, whatever its
//! greed: one way to match, so any regex for the same set of strings gives
//! the same spans. Followed by the end of the line, likewise. That set is
//! regular: strings in which no `LIT` starts, including one that would
//! straddle into the text that follows (known, as it is literal). It is
//! built as the Knuth–Morris–Pratt automaton of `LIT` and turned into a
//! regex by state elimination.

use super::ast::{Assert, Class, ClassItem, Node, RepeatKind};

/// Most alternatives one pattern may be distributed into: sshd's worst
/// rule needs 4. Past this the copies would cost more than backtracking.
const MAX_BRANCHES: usize = 32;

/// A pattern the linear engine can run in place of a backtracking one.
#[derive(Debug)]
pub(crate) struct Linear {
    pub node: Node,
    /// For each capture group of `node` by position (0: the whole match),
    /// the group of the original pattern it stands for.
    pub groups: Vec<usize>,
}

/// The linear form of `node`, if it has one that keeps every match.
/// `None` for patterns that need no rewrite (already linear) and for those
/// this cannot rewrite exactly.
pub(crate) fn linearize(node: &Node) -> Option<Linear> {
    if !node.needs_backtracking() || node.has_empty_loop() {
        return None;
    }
    let refs = cond_groups(node);
    let node = if refs.is_empty() {
        node.clone()
    } else {
        let mut alts: Vec<Node> = split(node, &refs, &Vec::new())?
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        if alts.len() == 1 {
            alts.pop()?
        } else {
            Node::Alt(alts)
        }
    };
    let node = unguard(&node, &[])?;
    if node.needs_backtracking() {
        return None;
    }
    let mut groups = vec![0];
    let node = renumber(node, &mut groups);
    Some(Linear { node, groups })
}

/// Groups whose participation a conditional tests.
fn cond_groups(node: &Node) -> Vec<usize> {
    let mut out = Vec::new();
    visit(node, &mut |n| {
        if let Node::Cond { group, .. } = n {
            out.push(*group);
        }
    });
    out
}

fn visit(node: &Node, f: &mut dyn FnMut(&Node)) {
    f(node);
    match node {
        Node::Group { body, .. }
        | Node::Look { body, .. }
        | Node::Atomic(body)
        | Node::Repeat { body, .. } => visit(body, f),
        Node::Cond { yes, no, .. } => {
            visit(yes, f);
            visit(no, f);
        }
        Node::Concat(v) | Node::Alt(v) => v.iter().for_each(|n| visit(n, f)),
        _ => {}
    }
}

/// Which tested groups took part so far on a path (latest entry wins; a
/// group not listed has not).
type Known = Vec<(usize, bool)>;

fn took_part(known: &Known, group: usize) -> bool {
    known
        .iter()
        .rev()
        .find(|(g, _)| *g == group)
        .is_some_and(|(_, on)| *on)
}

/// Whether `node` holds a conditional or a tested group.
fn touches(node: &Node, refs: &[usize]) -> bool {
    let mut hit = false;
    visit(node, &mut |n| match n {
        Node::Cond { .. } => hit = true,
        Node::Group {
            capture: Some(c), ..
        } if refs.contains(c) => hit = true,
        _ => {}
    });
    hit
}

/// `node` as its alternatives in preference order, each with no
/// conditional left and with what it decides about tested groups.
fn split(node: &Node, refs: &[usize], known: &Known) -> Option<Vec<(Node, Known)>> {
    match node {
        Node::Cond { group, yes, no } => {
            let branch = if took_part(known, *group) { yes } else { no };
            split(branch, refs, known)
        }
        _ if !touches(node, refs) => Some(vec![(node.clone(), known.clone())]),
        Node::Group {
            capture,
            ignore_case: None,
            body,
        } => {
            let alts = split(body, refs, known)?;
            Some(
                alts.into_iter()
                    .map(|(b, mut k)| {
                        if let Some(c) = capture.filter(|c| refs.contains(c)) {
                            k.push((c, true));
                        }
                        let group = Node::Group {
                            capture: *capture,
                            ignore_case: None,
                            body: Box::new(b),
                        };
                        (group, k)
                    })
                    .collect(),
            )
        }
        Node::Alt(branches) => {
            let mut out = Vec::new();
            for b in branches {
                out.extend(split(b, refs, known)?);
            }
            (out.len() <= MAX_BRANCHES).then_some(out)
        }
        Node::Repeat {
            body,
            min: 0,
            max: Some(1),
            kind,
        } => {
            let taken = (**body).clone();
            let alts = match kind {
                RepeatKind::Greedy => vec![taken, Node::Empty],
                RepeatKind::Lazy => vec![Node::Empty, taken],
                RepeatKind::Possessive => return None,
            };
            split(&Node::Alt(alts), refs, known)
        }
        Node::Concat(items) => split_seq(items, refs, known),
        // A tested group inside a repetition, a look-around, an atomic or
        // a case-insensitive group: left to the backtracker.
        _ => None,
    }
}

/// A sequence's alternatives: the first item's, each followed by the rest's
/// (which may depend on what the first decided), in that order.
fn split_seq(items: &[Node], refs: &[usize], known: &Known) -> Option<Vec<(Node, Known)>> {
    let Some((first, rest)) = items.split_first() else {
        return Some(vec![(Node::Empty, known.clone())]);
    };
    let mut out = Vec::new();
    for (a, k) in split(first, refs, known)? {
        for (r, k2) in split_seq(rest, refs, &k)? {
            out.push((Node::Concat(vec![a.clone(), r]), k2));
            if out.len() > MAX_BRANCHES {
                return None;
            }
        }
    }
    Some(out)
}

/// Replaces every guarded dot loop whose end is fixed by what follows it
/// (`follow`: the nodes after `node`, innermost first).
fn unguard(node: &Node, follow: &[&Node]) -> Option<Node> {
    Some(match node {
        Node::Concat(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                let mut after: Vec<&Node> = items[i + 1..].iter().collect();
                after.extend_from_slice(follow);
                out.push(unguard(item, &after)?);
            }
            Node::Concat(out)
        }
        Node::Group {
            capture,
            ignore_case: None,
            body,
        } => Node::Group {
            capture: *capture,
            ignore_case: None,
            body: Box::new(unguard(body, follow)?),
        },
        Node::Alt(branches) => Node::Alt(
            branches
                .iter()
                .map(|b| unguard(b, follow))
                .collect::<Option<_>>()?,
        ),
        Node::Repeat {
            body,
            min: 0,
            max: None,
            kind: RepeatKind::Greedy | RepeatKind::Lazy,
        } => match guarded_dot(body) {
            Some((lit, dotall)) => avoid(&lit, dotall, follow)?,
            None => node.clone(),
        },
        other => other.clone(),
    })
}

/// `(?!LIT).` (possibly in a non-capturing group): `LIT` and the dot's
/// `dotall`.
fn guarded_dot(body: &Node) -> Option<(Vec<char>, bool)> {
    match body {
        Node::Group {
            capture: None,
            ignore_case: None,
            body,
        } => guarded_dot(body),
        Node::Concat(items) => match items.as_slice() {
            [Node::Look {
                behind: false,
                negative: true,
                body,
            }, Node::Dot { dotall }] => Some((literal_text(body)?, *dotall)),
            _ => None,
        },
        _ => None,
    }
}

/// The characters of a pattern made of literals only.
fn literal_text(node: &Node) -> Option<Vec<char>> {
    let mut out = Vec::new();
    let mut ok = true;
    visit(node, &mut |n| match n {
        Node::Literal(c) => out.push(*c),
        Node::Concat(_)
        | Node::Group {
            capture: None,
            ignore_case: None,
            ..
        } => {}
        _ => ok = false,
    });
    (ok && !out.is_empty()).then_some(out)
}

/// What surely comes next: its literal characters, then whether the first
/// thing after them is the end of the line.
fn lookahead(follow: &[&Node]) -> (Vec<char>, bool) {
    let mut text = Vec::new();
    for node in follow {
        if let Some(end) = leading(node, &mut text) {
            return (text, end);
        }
    }
    // The end of the pattern: anything may follow.
    (text, false)
}

/// Appends `node`'s literal prefix to `text`; `Some(at_end)` once something
/// that is not a literal is met (`at_end`: it is `$` or `\Z`).
fn leading(node: &Node, text: &mut Vec<char>) -> Option<bool> {
    match node {
        Node::Literal(c) => {
            text.push(*c);
            None
        }
        Node::Empty => None,
        Node::Group {
            ignore_case: None,
            body,
            ..
        } => leading(body, text),
        Node::Concat(items) => items.iter().find_map(|n| leading(n, text)),
        Node::Assert(Assert::End { .. } | Assert::TextEnd) => Some(text.is_empty()),
        _ => Some(false),
    }
}

/// The set of strings a guarded loop over `LIT` can match, where only one
/// length can lead on to `follow`; `None` when `follow` does not pin it.
fn avoid(lit: &[char], dotall: bool, follow: &[&Node]) -> Option<Node> {
    let (next, at_end) = lookahead(follow);
    let forbidden_ends: Vec<usize> = if next.len() >= lit.len() && next[..lit.len()] == *lit {
        // `LIT` follows: the loop ends at its first occurrence. A loop
        // text ending in `LIT[..k]` would let `LIT` start inside it when
        // the text after begins with `LIT[k..]`.
        (1..lit.len())
            .filter(|&k| next.starts_with(&lit[k..]))
            .collect()
    } else if at_end && !dotall && !lit.contains(&'\n') {
        // The line's end follows: the loop takes the rest of the line, and
        // nothing after it can complete a `LIT`.
        Vec::new()
    } else {
        return None;
    };
    Some(Node::Group {
        capture: None,
        ignore_case: None,
        body: Box::new(Automaton::new(lit, dotall, &forbidden_ends).to_regex()),
    })
}

/// The KMP automaton of strings in which `lit` never starts: state `k`
/// means the text read ends with `lit[..k]` (the longest such `k`).
struct Automaton {
    lit: Vec<char>,
    dotall: bool,
    /// `accept[k]`: a text may end in state `k`.
    accept: Vec<bool>,
}

impl Automaton {
    fn new(lit: &[char], dotall: bool, forbidden_ends: &[usize]) -> Automaton {
        let accept = (0..lit.len())
            .map(|k| {
                // Every prefix of `lit` the text ends with, in state `k`.
                !(1..=k).any(|j| forbidden_ends.contains(&j) && lit[..k].ends_with(&lit[..j]))
            })
            .collect();
        Automaton {
            lit: lit.to_vec(),
            dotall,
            accept,
        }
    }

    /// The state after reading `c` in state `k`; `None`: `lit` is complete.
    fn step(&self, k: usize, c: char) -> Option<usize> {
        let mut read: Vec<char> = self.lit[..k].to_vec();
        read.push(c);
        let next = (0..=read.len())
            .rev()
            .find(|&j| j <= self.lit.len() && read.ends_with(&self.lit[..j]))
            .unwrap_or(0);
        (next < self.lit.len()).then_some(next)
    }

    /// State elimination: a regex for the accepted texts.
    fn to_regex(&self) -> Node {
        let n = self.lit.len();
        let (start, end) = (n, n + 1);
        let mut edges: Vec<Vec<Option<Node>>> = vec![vec![None; n + 2]; n + 2];
        edges[start][0] = Some(Node::Empty);
        for (k, row) in edges.iter_mut().enumerate().take(n) {
            if self.accept[k] {
                row[end] = Some(Node::Empty);
            }
            for (to, class) in self.transitions(k) {
                row[to] = Some(class);
            }
        }
        for k in (0..n).rev() {
            let loop_ = edges[k][k].take().map(|body| Node::Repeat {
                body: Box::new(body),
                min: 0,
                max: None,
                kind: RepeatKind::Greedy,
            });
            for i in (0..n + 2).filter(|&i| i != k) {
                let Some(into) = edges[i][k].take() else {
                    continue;
                };
                for j in (0..n + 2).filter(|&j| j != k) {
                    let Some(out) = edges[k][j].clone() else {
                        continue;
                    };
                    let mut path = vec![into.clone()];
                    path.extend(loop_.clone());
                    path.push(out);
                    let path = Node::Concat(path);
                    edges[i][j] = Some(match edges[i][j].take() {
                        Some(Node::Alt(mut v)) => {
                            v.push(path);
                            Node::Alt(v)
                        }
                        Some(other) => Node::Alt(vec![other, path]),
                        None => path,
                    });
                }
            }
            edges[k].iter_mut().for_each(|e| *e = None);
        }
        edges[start][end].take().unwrap_or(Node::Empty)
    }

    /// Edges out of state `k`: target state and the characters that lead
    /// there, as one node each.
    fn transitions(&self, k: usize) -> Vec<(usize, Node)> {
        let mut chars: Vec<char> = self.lit.clone();
        chars.sort_unstable();
        chars.dedup();
        let mut by_target: Vec<(usize, Vec<ClassItem>)> = Vec::new();
        let mut add =
            |to: usize, item: ClassItem| match by_target.iter_mut().find(|(t, _)| *t == to) {
                Some((_, items)) => items.push(item),
                None => by_target.push((to, vec![item])),
            };
        for &c in &chars {
            if let Some(to) = self.step(k, c) {
                add(to, ClassItem::Char(c));
            }
        }
        let mut edges: Vec<(usize, Node)> = by_target
            .into_iter()
            .map(|(to, items)| {
                let node = match items.as_slice() {
                    [ClassItem::Char(c)] => Node::Literal(*c),
                    _ => Node::Class(Class {
                        negated: false,
                        items,
                    }),
                };
                (to, node)
            })
            .collect();
        // Any other character restarts the search for `lit`.
        let mut excluded: Vec<ClassItem> = chars.iter().map(|&c| ClassItem::Char(c)).collect();
        if !self.dotall {
            excluded.push(ClassItem::Char('\n'));
        }
        let other = Node::Class(Class {
            negated: true,
            items: excluded,
        });
        match edges.iter_mut().find(|(to, _)| *to == 0) {
            Some((_, node)) => *node = Node::Alt(vec![node.clone(), other]),
            None => edges.push((0, other)),
        }
        edges
    }
}

/// Numbers capture groups by position, as the translation writes them,
/// recording each one's original number.
fn renumber(node: Node, groups: &mut Vec<usize>) -> Node {
    match node {
        Node::Group {
            capture,
            ignore_case,
            body,
        } => {
            let capture = capture.map(|orig| {
                groups.push(orig);
                groups.len() - 1
            });
            Node::Group {
                capture,
                ignore_case,
                body: Box::new(renumber(*body, groups)),
            }
        }
        Node::Repeat {
            body,
            min,
            max,
            kind,
        } => Node::Repeat {
            body: Box::new(renumber(*body, groups)),
            min,
            max,
            kind,
        },
        Node::Concat(v) => Node::Concat(v.into_iter().map(|n| renumber(n, groups)).collect()),
        Node::Alt(v) => Node::Alt(v.into_iter().map(|n| renumber(n, groups)).collect()),
        other => other,
    }
}

#[cfg(test)]
#[path = "linearize_tests.rs"]
mod tests;
