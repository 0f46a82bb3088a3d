//! [`ActionSpec`]: an action's commands as a fail2ban config reader resolved
//! them, and the *static* half of tag substitution.
//!
//! fail2ban substitutes in two steps, and so do we. Static tags (`<name>`,
//! `<port>`, `<chain>`, other commands such as `<actionban>`) come from the
//! action's own settings, written by the administrator: they are trusted,
//! substituted recursively, and may depend on the address family through
//! conditional keys (`chain?family=inet6`). Dynamic tags (`<ip>`,
//! `<matches>`, `<F-USER>` …) come from a ban and are substituted later, once,
//! never recursively, by `shell.rs` — so a log line that contains `<name>` can
//! never expand into anything.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ban_info::{dynamic_trust, Trust};

/// How many rounds of substitution a command may need before we call it
/// self-referencing (fail2ban stops at a similar depth).
const MAX_ROUNDS: usize = 32;

/// A resolved command longer than this is a definition that doubles itself
/// (`a = <a><a>`), not a real command.
const MAX_LEN: usize = 1 << 20;

/// One action as configured: the commands and the values their tags refer to.
#[derive(Clone, Debug, PartialEq)]
pub struct ActionSpec {
    /// The action's name, used in errors (and as the `<name>` tag's value
    /// unless `init` sets `name`, as fail2ban's `[Init]` usually does).
    pub name: String,
    pub actionstart: String,
    pub actionstop: String,
    pub actioncheck: String,
    pub actionban: String,
    pub actionunban: String,
    pub actionflush: String,
    /// `None` (or empty) re-bans with `actionban`, as fail2ban does.
    pub actionreban: Option<String>,
    pub actionrepair: String,
    /// How long one command may run before its process group is killed.
    pub timeout: Duration,
    /// Every other setting (`[Init]` and helper keys of `[Definition]`),
    /// including conditional ones (`port?family=inet6`) and
    /// `actionstart_on_demand`, `actionrepair_on_unban`.
    pub init: BTreeMap<String, String>,
}

impl ActionSpec {
    /// An action with no commands (each operation is then a no-op) and
    /// fail2ban's default timeout of 60 seconds.
    pub fn new(name: impl Into<String>) -> Self {
        ActionSpec {
            name: name.into(),
            actionstart: String::new(),
            actionstop: String::new(),
            actioncheck: String::new(),
            actionban: String::new(),
            actionunban: String::new(),
            actionflush: String::new(),
            actionreban: None,
            actionrepair: String::new(),
            timeout: Duration::from_secs(60),
            init: BTreeMap::new(),
        }
    }

    /// The settings tags are looked up in: `init`, then the commands and
    /// name, which (as in fail2ban) are properties like any other.
    pub(super) fn properties(&self) -> BTreeMap<String, String> {
        let mut props = self.init.clone();
        props
            .entry("name".to_string())
            .or_insert_with(|| self.name.clone());
        props.insert(
            "timeout".to_string(),
            self.timeout.as_secs_f64().to_string(),
        );
        for (key, value) in [
            ("actionstart", &self.actionstart),
            ("actionstop", &self.actionstop),
            ("actioncheck", &self.actioncheck),
            ("actionban", &self.actionban),
            ("actionunban", &self.actionunban),
            ("actionflush", &self.actionflush),
            ("actionrepair", &self.actionrepair),
        ] {
            props.insert(key.to_string(), value.clone());
        }
        match &self.actionreban {
            Some(reban) if !reban.trim().is_empty() => {
                props.insert("actionreban".to_string(), reban.clone());
            }
            _ => {}
        }
        props
    }

    /// A boolean setting of `init` (fail2ban's spellings of true and false).
    pub(super) fn flag(&self, key: &str) -> Option<bool> {
        let value = self.init.get(key)?.trim().to_ascii_lowercase();
        match value.as_str() {
            "1" | "true" | "yes" | "on" => Some(true),
            "0" | "false" | "no" | "off" => Some(false),
            _ => None,
        }
    }

    /// Whether any setting depends on the family: then fail2ban starts the
    /// action per family, on the first ban of that family.
    pub(super) fn has_conditional(&self) -> bool {
        self.init.keys().any(|key| key.contains("?family="))
    }
}

/// The `<tag>` starting at byte `at`, as fail2ban's tag pattern
/// `<([^ <>]+)>` would find it: its name and the byte just past it.
pub(super) fn tag_at(text: &str, at: usize) -> Option<(&str, usize)> {
    let rest = text.get(at..)?.strip_prefix('<')?;
    let len = rest.find([' ', '<', '>'])?;
    if len == 0 || !rest[len..].starts_with('>') {
        return None;
    }
    Some((&rest[..len], at + 1 + len + 1))
}

/// Substitutes the static tags of `text` until none is left (or only
/// unknown and dynamic ones, which stay as they are). `family` selects
/// conditional values (`key?family=inet6`) before plain ones.
pub(super) fn resolve_static(
    text: &str,
    props: &BTreeMap<String, String>,
    family: &str,
) -> Result<String, String> {
    let mut text = text.to_string();
    for _ in 0..MAX_ROUNDS {
        let next = substitute_once(&text, props, family);
        if next.len() > MAX_LEN {
            return Err(format!(
                "tag substitution grows past {MAX_LEN} bytes (self-referencing definition?)"
            ));
        }
        if next == text {
            return Ok(next);
        }
        text = next;
    }
    Err(format!(
        "tags still unresolved after {MAX_ROUNDS} rounds of substitution \
         (self-referencing definition?): {}",
        shorten(&text)
    ))
}

fn substitute_once(text: &str, props: &BTreeMap<String, String>, family: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while let Some(offset) = text[at..].find('<') {
        let start = at + offset;
        out.push_str(&text[at..start]);
        match tag_at(text, start) {
            Some((name, end)) => {
                out.push_str(static_value(name, props, family).unwrap_or(&text[start..end]));
                at = end;
            }
            None => {
                out.push('<');
                at = start + 1;
            }
        }
    }
    out.push_str(&text[at..]);
    out
}

fn static_value<'a>(
    name: &str,
    props: &'a BTreeMap<String, String>,
    family: &str,
) -> Option<&'a str> {
    // Log-derived values always come from the ban: a setting of the same
    // name must not stand in for them (fail2ban keeps these apart too). A
    // setting may give a computed tag its own spelling, as fail2ban allows:
    // firewalld actions set `family = ipv4` / `family?family=inet6 = ipv6`.
    // `bantime` too: fail2ban ignores it as an action setting (jails pass
    // their own), so `<bantime>` is always the ban's.
    if dynamic_trust(name) == Some(Trust::Environment) || name == "bantime" {
        return None;
    }
    if !family.is_empty() {
        if let Some(value) = props.get(&format!("{name}?family={family}")) {
            return Some(value);
        }
    }
    if let Some(value) = props.get(name) {
        return Some(value);
    }
    match name {
        "br" => Some("\n"),
        "sp" => Some(" "),
        _ => None,
    }
}

/// The start of a long text, for an error message.
pub(super) fn shorten(text: &str) -> String {
    const KEEP: usize = 200;
    if text.len() <= KEEP {
        return text.to_string();
    }
    let mut end = KEEP;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn tags_are_found_like_fail2ban_finds_them() {
        assert_eq!(tag_at("<ip>", 0), Some(("ip", 4)));
        assert_eq!(tag_at("a <F-USER> b", 2), Some(("F-USER", 10)));
        assert_eq!(tag_at("<a b>", 0), None);
        assert_eq!(tag_at("<>", 0), None);
        assert_eq!(tag_at("<<x>>", 0), None);
        assert_eq!(tag_at("<<x>>", 1), Some(("x", 4)));
    }

    #[test]
    fn substitutes_recursively_and_leaves_unknown_tags() {
        let p = props(&[
            ("chain", "f2b-<name>"),
            ("name", "sshd"),
            ("cmd", "add <chain> <ip> <unknown><br>done<sp>x"),
        ]);
        assert_eq!(
            resolve_static("<cmd>", &p, "").unwrap(),
            "add f2b-sshd <ip> <unknown>\ndone x"
        );
    }

    #[test]
    fn nested_tags_resolve_inside_out() {
        let p = props(&[("tablename", "f2b"), ("name", "ssh"), ("f2b-ssh", "T")]);
        assert_eq!(resolve_static("<<tablename>-<name>>", &p, "").unwrap(), "T");
    }

    #[test]
    fn conditional_values_win_for_their_family() {
        let p = props(&[("proto", "ip"), ("proto?family=inet6", "ip6")]);
        assert_eq!(resolve_static("<proto>", &p, "inet6").unwrap(), "ip6");
        assert_eq!(resolve_static("<proto>", &p, "inet4").unwrap(), "ip");
        assert_eq!(resolve_static("<proto>", &p, "").unwrap(), "ip");
    }

    #[test]
    fn log_derived_tags_are_never_static() {
        let p = props(&[
            ("matches", "oops"),
            ("F-USER", "oops"),
            ("fid", "oops"),
            ("bantime", "oops"),
        ]);
        assert_eq!(
            resolve_static("<matches> <F-USER> <fid> <bantime>", &p, "").unwrap(),
            "<matches> <F-USER> <fid> <bantime>"
        );
        // Computed ones may be spelt by the action (firewalld's families).
        let p = props(&[("family", "ipv4"), ("family?family=inet6", "ipv6")]);
        assert_eq!(resolve_static("<family>", &p, "inet6").unwrap(), "ipv6");
    }

    #[test]
    fn self_reference_is_an_error_not_a_hang() {
        let loop_ = props(&[("a", "x<a>")]);
        let err = resolve_static("<a>", &loop_, "").unwrap_err();
        assert!(err.contains("self-referencing"), "{err}");
        let doubling = props(&[("a", "<a><a>")]);
        assert!(resolve_static("<a>", &doubling, "").is_err());
    }
}
