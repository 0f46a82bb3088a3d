//! Actions (`action.d/NAME.conf`) resolved as fail2ban's action reader
//! resolves them for a jail: the use line's parameters, `name` defaulting
//! to the jail's name, `[Init]` values, the jail's options visible to
//! `%(…)s`, then tags substituted except those only known at ban time
//! (`<matches>`, `<bantime>`, `<ip>`, per-family options, …).

use std::collections::BTreeMap;
use std::path::Path;

use super::definition::Definition;
use super::error::Fail2banError;
use super::optmap::OptMap;

/// The `[Definition]` options fail2ban reads from an action.
pub(crate) const ACTION_KEYS: &[&str] = &[
    "actionstart",
    "actionstart_on_demand",
    "actionstop",
    "actionflush",
    "actionreload",
    "actioncheck",
    "actionrepair",
    "actionrepair_on_unban",
    "actionban",
    "actionprolong",
    "actionreban",
    "actionunban",
    "norestored",
];

/// Tags fail2ban fills only when it runs a command.
const RUNTIME_TAGS: &[&str] = &[
    "matches",
    "ipmatches",
    "ipjailmatches",
    "timeout",
    "bantime",
];

/// One action of a jail, as used there: `iptables-multiport[port=ssh]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActionUse {
    /// The file name under `action.d` without `.conf` (or `NAME.py`).
    pub name: String,
    /// The bracketed parameters, in order, values unquoted.
    pub params: Vec<(String, String)>,
}

/// An action resolved for a jail: the commands with every tag known before
/// a ban substituted (`<ip>`, `<bantime>`, … remain).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct F2bActionDef {
    /// The action's name in the jail (`actname`: the file name, made
    /// unique when one jail uses a file twice).
    pub actname: String,
    pub actionstart: Option<String>,
    pub actionstop: Option<String>,
    pub actioncheck: Option<String>,
    pub actionban: Option<String>,
    pub actionunban: Option<String>,
    pub actionflush: Option<String>,
    pub actionreban: Option<String>,
    pub actionprolong: Option<String>,
    pub actionreload: Option<String>,
    pub actionrepair: Option<String>,
    /// Every `[Definition]` command option above, by name (plus the
    /// boolean switches such as `norestored`).
    pub commands: BTreeMap<String, String>,
    /// `[Init]` values and parameters (`name`, `port`, `protocol`,
    /// `chain`, …), tags substituted where they are known.
    pub init: BTreeMap<String, String>,
    /// The same, as fail2ban sends them (tags not yet substituted).
    pub init_raw: BTreeMap<String, String>,
}

impl F2bActionDef {
    /// Whether fail2ban skips this action for a ban restored at start
    /// (`norestored = 1`: shipped in the `[Definition]` of the mail and
    /// report actions; an `[Init]` value or use-line parameter also counts).
    pub fn norestored(&self) -> bool {
        let value = self
            .commands
            .get("norestored")
            .or_else(|| self.init.get("norestored"));
        value.is_some_and(|v| super::jail::as_bool(v))
    }
}

/// Resolves `action.d/NAME` for the jail `jail_name` whose resolved
/// options are `jail_opts`.
pub(crate) fn resolve(
    basedir: &Path,
    name: &str,
    params: &OptMap,
    jail_name: &str,
    jail_opts: &OptMap,
) -> Result<F2bActionDef, Fail2banError> {
    let mut params = params.clone();
    let instance = match params.get("name") {
        Some(n) => n.to_owned(),
        None => {
            params.insert("name", jail_name);
            jail_name.to_owned()
        }
    };
    let actname = match params.get("actname") {
        Some(a) => a.to_owned(),
        None => {
            // One jail may use a file twice under different names.
            let mut a = name.to_owned();
            if instance != jail_name {
                match instance.strip_prefix(jail_name) {
                    Some(rest) => a.push_str(rest),
                    None => {
                        a.push('-');
                        a.push_str(&instance);
                    }
                }
            }
            params.insert("actname", a.clone());
            a
        }
    };
    let mut def = Definition::read(basedir, "action", "action.d", name, params)?;
    def.load_options(jail_opts, ACTION_KEYS, false)?;
    let opts = def.combined(RUNTIME_TAGS)?;
    let mut out = F2bActionDef {
        actname,
        ..F2bActionDef::default()
    };
    for (key, value) in opts.iter() {
        if key.starts_with("known/") {
            continue;
        }
        if ACTION_KEYS.contains(&key) {
            out.commands.insert(key.to_owned(), value.to_owned());
            let slot = match key {
                "actionstart" => &mut out.actionstart,
                "actionstop" => &mut out.actionstop,
                "actioncheck" => &mut out.actioncheck,
                "actionban" => &mut out.actionban,
                "actionunban" => &mut out.actionunban,
                "actionflush" => &mut out.actionflush,
                "actionreban" => &mut out.actionreban,
                "actionprolong" => &mut out.actionprolong,
                "actionreload" => &mut out.actionreload,
                "actionrepair" => &mut out.actionrepair,
                _ => continue,
            };
            *slot = Some(value.to_owned());
        }
    }
    for (key, value) in def.init.iter() {
        if ACTION_KEYS.contains(&key) || key.starts_with("known/") {
            continue;
        }
        out.init_raw.insert(key.to_owned(), value.to_owned());
        let resolved = opts.get(key).unwrap_or(value);
        out.init.insert(key.to_owned(), resolved.to_owned());
    }
    Ok(out)
}

/// Whether a fail2ban action only bans in the firewall (iptables, ipset,
/// nftables, firewalld …): what bantam's own nftables backend can stand in
/// for, in `fail2ban-actions = "native"` and in `import-fail2ban`.
pub fn is_firewall_action(name: &str) -> bool {
    const FAMILIES: &[&str] = &[
        "iptables",
        "ip6tables",
        "ipset",
        "nftables",
        "firewallcmd",
        "shorewall",
        "ufw",
        "route",
    ];
    FAMILIES.iter().any(|f| name.starts_with(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firewall_families_are_recognised() {
        assert!(is_firewall_action("nftables-multiport"));
        assert!(is_firewall_action("iptables-allports"));
        assert!(is_firewall_action("firewallcmd-ipset"));
        assert!(!is_firewall_action("sendmail-whois"));
    }
}
