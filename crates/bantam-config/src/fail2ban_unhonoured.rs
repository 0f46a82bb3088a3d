//! What a fail2ban jail asks for that bantam does not do, said per jail.
//!
//! Only values that differ from fail2ban's own default are reported (the
//! default is what fail2ban does when the option is absent), so a stock
//! `jail.conf` stays quiet: its `ignorecommand` is empty. (`bantime.*`
//! is honoured: see `fail2ban_policy`.) A default that bantam itself does not
//! honour (`usedns = warn`) is said once for all jails, not once per jail.

use crate::fail2ban::F2bJail;
use crate::logpath::Origin;

/// How fail2ban reads an option, for comparing with its default.
#[derive(Clone, Copy)]
enum Default {
    Text(&'static str),
}

/// Options fail2ban reads that bantam ignores, with fail2ban's default and
/// what is lost.
const IGNORED: &[(&str, Default, &str)] = &[
    (
        "ignorecommand",
        Default::Text(""),
        "no command is run to decide whether to ignore an address",
    ),
    (
        "ignorecache",
        Default::Text(""),
        "there is no ignorecommand to cache",
    ),
];

/// Backends that only choose how fail2ban notices a file grew: bantam
/// follows files its own way, with the same result.
const FILE_BACKENDS: &[&str] = &["auto", "pyinotify", "gamin", "polling"];

/// Encodings whose bytes bantam's filters read as fail2ban would (`auto`
/// is the locale's, UTF-8 on any current system).
const ENCODINGS: &[&str] = &["auto", "utf-8", "utf8", "ascii", "us-ascii"];

fn same(value: &str, default: Default) -> bool {
    match default {
        Default::Text(t) => {
            let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            words(value) == words(t)
        }
    }
}

/// One warning per option of `jail` that is set, differs from fail2ban's
/// default, and is not honoured.
pub(crate) fn warnings(jail: &F2bJail) -> Vec<String> {
    let mut out = Vec::new();
    let mut say = |key: &str, value: &str, why: &str| {
        let at = jail
            .origins
            .get(key)
            .map_or_else(|| key.to_owned(), Origin::to_string);
        out.push(format!(
            "fail2ban jail {}: {at} = {} is ignored: {why}",
            jail.name,
            value.trim()
        ));
    };
    for (key, default, why) in IGNORED {
        if let Some(value) = jail.options.get(*key) {
            if !same(value, *default) {
                say(key, value, why);
            }
        }
    }
    if let Some(value) = jail.options.get("usedns") {
        let v = value.trim().to_lowercase();
        if v != "no" && v != "warn" {
            say(
                "usedns",
                value,
                "host names are never resolved nor banned; failures naming one are dropped (as usedns = no)",
            );
        }
    }
    if let Some(value) = jail.options.get("logencoding") {
        if !ENCODINGS.contains(&value.trim().to_lowercase().as_str()) {
            say("logencoding", value, "logs are read as UTF-8");
        }
    }
    let maxretry = jail.maxretry.unwrap_or(5);
    if let Some(value) = jail.options.get("maxmatches") {
        // fail2ban's jail.conf default is `%(maxretry)s`.
        if value.trim().parse::<u32>().ok() != Some(maxretry) {
            say(
                "maxmatches",
                value,
                "<matches> holds the last few matched lines bantam keeps per address",
            );
        }
    }
    let backend = jail.backend.trim();
    if !backend.starts_with("systemd") && !FILE_BACKENDS.contains(&backend) {
        say(
            "backend",
            backend,
            "bantam follows log files its own way (as backend = auto)",
        );
    }
    out
}

/// One warning for all `jails` that keep a fail2ban default bantam does
/// not honour, or `None`.
pub(crate) fn default_warnings(jails: &[&F2bJail]) -> Vec<String> {
    let names: Vec<&str> = jails
        .iter()
        .filter(|j| {
            j.options
                .get("usedns")
                .is_none_or(|v| v.trim().eq_ignore_ascii_case("warn"))
        })
        .map(|j| j.name.as_str())
        .collect();
    if names.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "fail2ban jails {}: usedns = warn (fail2ban's default) is taken as usedns = no: host names in logs are never resolved, failures naming one are dropped",
        names.join(", ")
    )]
}
