//! Expanding fail2ban-style tags (`<HOST>`, `<F-USER>…</F-USER>`, …) into
//! plain regex syntax for the linear-time `regex` crate.
//!
//! Two choices here matter for safety and speed:
//!
//! * Every capture group a tag creates gets a generated, unique name
//!   (`bt3_ip4`), and its meaning is decided from that name once, at compile
//!   time ([`Role::from_group_name`]). A rule may therefore use `<HOST>` twice,
//!   and no user-written group can collide with ours.
//! * The address expansions use no look-around. fail2ban's `<HOST>` relies on a
//!   look-behind to avoid matching inside a longer token; here the regex is
//!   allowed to be loose and [`crate::address`] decides validity, while the
//!   rule's own anchors decide *which* token is the address. Rules anchor on
//!   the end of the line so that text an attacker controls (a user name) can
//!   never be taken for the source address.

use crate::error::FilterError;

/// IPv4 dotted quad. Validity (octets ≤ 255, no leading zeros) is checked
/// after matching; the trailing ASCII word boundary keeps `192.0.2.1` from
/// being read out of `192.0.2.123`.
const IP4: &str = r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?-u:\b)";
/// IPv6, loosely: a group, then two to seven colon-led groups, then an
/// optional embedded dotted quad; the address parser rejects the junk this
/// admits. Written so that every choice is decided by the next byte (hex
/// digits, `:` and `.` never compete), which keeps capture engines from
/// backtracking inside addresses.
const IP6: &str = r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?:\.[0-9]{1,3}){3})?";
/// A host name, for filters that opted in to names.
const DNS: &str = r"[A-Za-z0-9](?:[A-Za-z0-9_.\-]*[A-Za-z0-9])?";
/// A prefix length.
const CIDR: &str = r"[0-9]{1,3}";

/// What a capture group means to the engine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// An IPv4 address (possibly written v4-mapped).
    Ip4,
    /// An IPv6 address.
    Ip6,
    /// A host name (only where names are allowed).
    Dns,
    /// The prefix length that turns the address into a network.
    Cidr,
    /// The user name the failure is about.
    User,
    /// An identifier that ties lines together (`<F-ID>`).
    Id,
    /// How many failures this line stands for (`<F-COUNT>`).
    Count,
    /// Marks a helper match that is not a failure (`<F-NOFAIL>`).
    NoFail,
    /// Marks a success: the source logged in (`<F-SUCCESS>`).
    Success,
    /// The part of a line `prefregex` hands on to the failure rules.
    Content,
    /// Any other `<F-NAME>` capture, by its lower-case name.
    Field(Box<str>),
}

impl Role {
    /// The meaning of a capture group, from its name. Generated names look
    /// like `bt<n>_<role>`; plain names written by hand in a regex
    /// (`(?P<user>…)`) get the same meanings, the way fail2ban reads them.
    pub fn from_group_name(name: &str) -> Role {
        let base = match name.strip_prefix("bt") {
            Some(rest) => match rest.split_once('_') {
                Some((n, base)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => base,
                _ => name,
            },
            None => name,
        };
        match base {
            "ip4" => Role::Ip4,
            "ip6" => Role::Ip6,
            "dns" => Role::Dns,
            "cidr" => Role::Cidr,
            "user" => Role::User,
            "fid" | "id" => Role::Id,
            "count" => Role::Count,
            "nofail" => Role::NoFail,
            "success" => Role::Success,
            "content" => Role::Content,
            other => Role::Field(other.into()),
        }
    }
}

/// Options that change what tags expand to.
#[derive(Clone, Copy, Debug, Default)]
pub struct TagOptions {
    /// Let `<HOST>` match host names as well as addresses. Off by default:
    /// a name in a log line is whatever the peer claimed, and resolving it
    /// would put DNS on the hot path.
    pub allow_hostnames: bool,
}

/// Expands the tags in `pattern`. Text that looks like a tag but is not one
/// of ours stays as written, as fail2ban leaves unknown tags literal.
pub fn expand(pattern: &str, options: TagOptions) -> Result<String, FilterError> {
    let mut out = String::with_capacity(pattern.len() * 2);
    let mut next_group = 0usize;
    let mut open: Vec<&str> = Vec::new();
    let mut rest = pattern;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let candidate = &rest[at..];
        let Some(close) = candidate.find('>') else {
            out.push_str(candidate);
            rest = "";
            break;
        };
        let tag = &candidate[1..close];
        let mut group = |role: &str| {
            next_group += 1;
            format!("bt{}_{}", next_group - 1, role)
        };
        let expansion = if let Some(name) = tag.strip_prefix("/F-") {
            match open.pop() {
                Some(opened) if opened == name => Some(")".to_owned()),
                Some(opened) => {
                    return Err(FilterError::Tag {
                        pattern: pattern.to_owned(),
                        reason: format!("</F-{name}> closes <F-{opened}>"),
                    })
                }
                None => {
                    return Err(FilterError::Tag {
                        pattern: pattern.to_owned(),
                        reason: format!("</F-{name}> has no opening tag"),
                    })
                }
            }
        } else if let Some(name) = tag.strip_prefix("F-").and_then(|t| t.strip_suffix('/')) {
            Some(
                self_closing_field(name, &mut group, options).ok_or_else(|| FilterError::Tag {
                    pattern: pattern.to_owned(),
                    reason: format!(
                        "<F-{name}/> is not a self-closing tag (try <F-{name}>…</F-{name}>)"
                    ),
                })?,
            )
        } else if let Some(name) = tag.strip_prefix("F-") {
            if !is_field_name(name) {
                None
            } else {
                open.push(name);
                Some(format!("(?P<{}>", group(&field_role(name))))
            }
        } else {
            address_tag(tag, &mut group, options)
        };
        match expansion {
            Some(text) => {
                out.push_str(&text);
                rest = &candidate[close + 1..];
            }
            None => {
                out.push('<');
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
    if let Some(unclosed) = open.pop() {
        return Err(FilterError::Tag {
            pattern: pattern.to_owned(),
            reason: format!("<F-{unclosed}> is never closed"),
        });
    }
    Ok(out)
}

fn is_field_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The group role for `<F-NAME>`: the well-known names map to roles, the rest
/// become fields named in lower case.
fn field_role(name: &str) -> String {
    match name {
        "ID" => "fid".to_owned(),
        other => other.to_ascii_lowercase(),
    }
}

fn address_tag(
    tag: &str,
    group: &mut impl FnMut(&str) -> String,
    options: TagOptions,
) -> Option<String> {
    let addr = |group: &mut dyn FnMut(&str) -> String| {
        format!(
            r"\[?(?:(?:::[fF]{{4}}:)?(?P<{}>{IP4})|(?P<{}>{IP6}))\]?",
            group("ip4"),
            group("ip6")
        )
    };
    Some(match tag {
        "HOST" if options.allow_hostnames => {
            let a = addr(group);
            format!("(?:{a}|(?P<{}>{DNS}))", group("dns"))
        }
        "HOST" | "ADDR" => addr(group),
        "IP4" => format!("(?P<{}>{IP4})", group("ip4")),
        "IP6" => format!("(?P<{}>{IP6})", group("ip6")),
        "DNS" => format!("(?P<{}>{DNS})", group("dns")),
        "CIDR" => format!("(?P<{}>{CIDR})", group("cidr")),
        "SUBNET" => format!(
            r"\[?(?:(?:::[fF]{{4}}:)?(?P<{}>{IP4})|(?P<{}>{IP6}))(?:/(?P<{}>{CIDR}))?\]?",
            group("ip4"),
            group("ip6"),
            group("cidr")
        ),
        _ => return None,
    })
}

fn self_closing_field(
    name: &str,
    group: &mut impl FnMut(&str) -> String,
    options: TagOptions,
) -> Option<String> {
    match name {
        "ID" => Some(format!(r"(?P<{}>\S+)", group("fid"))),
        "PORT" => Some(format!(r"(?P<{}>\w+)", group("port"))),
        "USER" => Some(format!(r"(?P<{}>\S+)", group("user"))),
        "COUNT" => Some(format!(r"(?P<{}>[0-9]+)", group("count"))),
        // Empty: its taking part in the match is what says "success".
        "SUCCESS" => Some(format!("(?P<{}>)", group("success"))),
        "IP4" | "IP6" | "ADDR" | "HOST" | "DNS" | "CIDR" | "SUBNET" => {
            address_tag(name, group, options)
        }
        _ => None,
    }
}

#[cfg(test)]
#[path = "tags_tests.rs"]
mod tests;
