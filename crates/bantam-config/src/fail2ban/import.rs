//! The resolved fail2ban tree written as bantam's native TOML, so a user
//! can switch over and then own a readable configuration.
//!
//! What translates: each enabled jail's log paths, `maxretry`, `findtime`,
//! `bantime`, `ignoreip`, `logtimezone`, the filter (bantam's own when it
//! ships one with the same name and mode, else a reference to the fail2ban
//! filter file), rules the jail adds to its filter, and the backend that
//! works like its firewall action (`banaction`). What does not is
//! kept as a `# not translated: …` comment beside the jail, so nothing is
//! dropped silently: actions other than a firewall ban (mail, reports,
//! Python actions), journal backends, dynamic ban times, custom dates.

use std::fmt::Write as _;

use bantam_filter::shipped;

use super::action::is_firewall_action;
use super::jail::F2bJail;
use super::Fail2banTree;
use crate::backend_kind::BackendKind;
use crate::duration::{parse_bantime, parse_duration};

/// A TOML string (basic or literal, whichever the `toml` crate chooses).
fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A table key: bare when it can be, quoted otherwise.
fn key(s: &str) -> String {
    let bare = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        s.to_owned()
    } else {
        quote(s)
    }
}

fn list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// One line of a comment. Values may hold new lines, and any other control
/// character fail2ban's reader let through (a NUL, a carriage return): TOML
/// forbids those in comments, so they are written escaped, and the import
/// stays a file bantam can read.
fn comment(out: &mut String, text: &str) {
    let mut flat = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => flat.push_str(" ⏎ "),
            '\t' => flat.push(c),
            c if c.is_control() => flat.extend(c.escape_unicode()),
            c => flat.push(c),
        }
    }
    let _ = writeln!(out, "# not translated: {flat}");
}

/// Renders the tree as a bantam configuration file.
pub fn render_native_toml(tree: &Fail2banTree) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported from the fail2ban configuration in {} by bantam.",
        tree.basedir().display()
    );
    out.push_str("# Lines starting \"# not translated:\" name what bantam does not do (yet).\n");
    for (name, err) in tree.skipped() {
        comment(
            &mut out,
            &format!("jail {name} (fail2ban would not run it either: {err})"),
        );
    }
    out.push_str("\n[daemon]\nbackend = \"nftables\"\n");
    for jail in tree.jails() {
        out.push('\n');
        render_jail(tree, jail, &mut out);
    }
    out
}

fn render_jail(tree: &Fail2banTree, jail: &F2bJail, out: &mut String) {
    let _ = writeln!(out, "[jails.{}]", key(&jail.name));
    let mut notes: Vec<String> = Vec::new();
    let mode = jail
        .filter
        .as_ref()
        .and_then(|f| f.params.iter().find(|(k, _)| k == "mode"))
        .map(|(_, v)| v.clone());

    if jail.backend.starts_with("systemd") {
        notes.push(format!(
            "backend = {} (bantam reads log files; the journal is not a source yet)",
            jail.backend
        ));
        if jail.logpath.is_empty() {
            out.push_str("enabled = false\n");
        }
    }

    if let Some(f) = &jail.filter {
        let native = shipped::definition(&f.name).ok().filter(|def| {
            let modes = def.mode_names();
            mode.as_deref().is_none_or(|m| modes.contains(&m))
        });
        if native.is_some() {
            let _ = writeln!(out, "filter = {}", quote(&f.name));
        } else {
            let path = tree
                .basedir()
                .join("filter.d")
                .join(format!("{}.conf", f.name));
            let _ = writeln!(
                out,
                "fail2ban-filter = {}",
                quote(&path.display().to_string())
            );
        }
        if let Some(m) = mode.as_deref().filter(|m| *m != "normal") {
            let _ = writeln!(out, "mode = {}", quote(m));
        }
        for (k, v) in &f.params {
            if k != "mode" {
                notes.push(format!("filter parameter {k} = {v}"));
            }
        }
        jail_rules(tree, jail, out, &mut notes);
    }

    let paths: Vec<String> = jail
        .logpath
        .iter()
        .map(|p| {
            // fail2ban's " tail"/" head" suffix says where to start reading.
            p.strip_suffix(" tail")
                .or_else(|| p.strip_suffix(" head"))
                .unwrap_or(p)
                .to_owned()
        })
        .collect();
    if !paths.is_empty() {
        let _ = writeln!(out, "logpath = {}", list(&paths));
    }
    if let Some(n) = jail.maxretry {
        let _ = writeln!(out, "maxretry = {n}");
    }
    if let Some(t) = &jail.findtime {
        match parse_duration(t) {
            Ok(_) => {
                let _ = writeln!(out, "findtime = {}", quote(t.trim()));
            }
            Err(e) => notes.push(format!("findtime = {t} ({e})")),
        }
    }
    if let Some(t) = &jail.bantime {
        match parse_bantime(t) {
            Ok(_) => {
                let _ = writeln!(out, "bantime = {}", quote(t.trim()));
            }
            Err(e) => notes.push(format!("bantime = {t} ({e})")),
        }
    }
    if !jail.ignoreip.is_empty() {
        let _ = writeln!(out, "ignoreip = {}", list(&jail.ignoreip));
    }
    if let Some(tz) = &jail.logtimezone {
        let _ = writeln!(out, "logtimezone = {}", quote(tz));
    }
    for (k, v) in jail.resolved_options() {
        let untranslated = k.starts_with("bantime.") && v != "False"
            || (k == "ignorecommand" && !v.is_empty())
            || (k == "usedns" && v != "warn" && v != "no");
        if untranslated {
            notes.push(format!("{k} = {v}"));
        }
    }
    let mut banaction: Option<BackendKind> = None;
    for (use_, def) in jail.actions.iter().zip(&jail.action_defs) {
        let params: Vec<String> = use_
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        let shown = if params.is_empty() {
            use_.name.clone()
        } else {
            format!("{}[{}]", use_.name, params.join(", "))
        };
        if def.is_some() && is_firewall_action(&use_.name) {
            // The backend that works like the action, as `run` with
            // `fail2ban-actions = "native"` chooses it; the first wins.
            let kind = BackendKind::for_fail2ban_action(&use_.name);
            match (banaction, kind) {
                (None, Some(kind)) => {
                    banaction = Some(kind);
                    let _ = writeln!(out, "banaction = {}", quote(kind.name()));
                }
                (Some(first), Some(kind)) if kind != first => notes.push(format!(
                    "action {shown} (it would ban in {}; the jail bans in {} only)",
                    kind.name(),
                    first.name()
                )),
                _ => {}
            }
            let _ = writeln!(
                out,
                "# action {shown}: bantam's own firewall backend bans instead (whole host, all ports)"
            );
        } else {
            notes.push(format!("action {shown}"));
        }
    }
    for n in notes {
        comment(out, &n);
    }
}

/// Rules the jail adds to its filter (`failregex = %(known/failregex)s …`)
/// become the native per-jail `failregex`/`ignoreregex`.
fn jail_rules(tree: &Fail2banTree, jail: &F2bJail, out: &mut String, notes: &mut Vec<String>) {
    let Some(f) = &jail.filter else { return };
    let own: Vec<(&str, &str)> = jail
        .resolved_options()
        .filter(|(k, _)| {
            matches!(
                *k,
                "failregex" | "ignoreregex" | "prefregex" | "datepattern" | "maxlines"
            )
        })
        .collect();
    if own.is_empty() {
        return;
    }
    let base = tree.filter(&f.name, &f.params).unwrap_or_default();
    for (k, v) in own {
        let lines: Vec<String> = v
            .split('\n')
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        let (filter_lines, native_key) = match k {
            "failregex" => (&base.failregex, "failregex"),
            "ignoreregex" => (&base.ignoreregex, "ignoreregex"),
            _ => {
                notes.push(format!("the jail's own {k} = {v}"));
                continue;
            }
        };
        let extra: Vec<String> = lines
            .iter()
            .filter(|l| !filter_lines.contains(l))
            .cloned()
            .collect();
        if lines.len() - extra.len() < filter_lines.len() {
            notes.push(format!(
                "the jail replaces the filter's {k} (bantam adds to it)"
            ));
        }
        if !extra.is_empty() {
            let _ = writeln!(out, "{native_key} = {}", list(&extra));
        }
    }
}
