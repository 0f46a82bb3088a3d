//! fail2ban jails with `backend = systemd`: their filter's `journalmatch`
//! becomes one `journal:` logpath, read by bantam's journal source.
//!
//! fail2ban adds each line of `journalmatch` as an alternative (OR), and
//! within a line `+` separates alternatives too; words are AND-ed (OR-ed
//! when a field repeats), which is what journalctl does with the same
//! words. So the lines are joined with `+` into one logpath, read by one
//! journalctl: an entry matching two lines is read once.
//!
//! `backend = systemd[journalpath=…, journalfiles=…, journalflags=…]`
//! options are not honoured (said once per jail); `[daemon] journal-dir`
//! is bantam's way to read another directory.

use crate::fail2ban::F2bJail;
use crate::logpath::Origin;

/// The `journal:` logpath for `jail` and where it comes from; `None` (with
/// a warning) when the jail has no `journalmatch`: it would read every
/// entry of the journal, which fail2ban does, but no jail means to.
pub(crate) fn logpath(jail: &F2bJail, warnings: &mut Vec<String>) -> Option<(String, Origin)> {
    if let Some(options) = jail.backend.split_once('[').map(|(_, o)| o) {
        warnings.push(format!(
            "fail2ban jail {}: backend options [{options} are ignored; bantam reads the system journal, or [daemon] journal-dir",
            jail.name
        ));
    }
    let lines: Vec<String> = jail
        .journalmatch
        .iter()
        .map(|line| {
            line.split_whitespace()
                .map(|w| w.trim_matches(|c| c == '\'' || c == '"'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        warnings.push(format!(
            "fail2ban jail {}: backend {} without journalmatch in its filter; not run",
            jail.name, jail.backend
        ));
        return None;
    }
    let origin = jail
        .origins
        .get("backend")
        .cloned()
        .unwrap_or_else(|| Origin::Fail2ban {
            path: "jail.conf".into(),
            section: jail.name.clone(),
            key: "backend".into(),
        });
    Some((format!("journal:{}", lines.join(" + ")), origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_alternatives_of_one_logpath() {
        let jail = F2bJail {
            name: "sshd".into(),
            backend: "systemd[journalflags=1]".into(),
            journalmatch: vec![
                "_SYSTEMD_UNIT=sshd.service + _COMM=sshd".into(),
                "'SYSLOG_IDENTIFIER=sshd'".into(),
            ],
            ..F2bJail::default()
        };
        let mut warnings = Vec::new();
        let (path, origin) = logpath(&jail, &mut warnings).unwrap();
        assert_eq!(
            path,
            "journal:_SYSTEMD_UNIT=sshd.service + _COMM=sshd + SYSLOG_IDENTIFIER=sshd"
        );
        assert_eq!(origin.to_string(), "jail.conf: [sshd] backend");
        assert!(
            warnings[0].contains("journalflags=1] are ignored"),
            "{warnings:?}"
        );
        let bare = F2bJail {
            backend: "systemd".into(),
            ..F2bJail::default()
        };
        assert_eq!(logpath(&bare, &mut warnings), None);
        assert!(warnings[1].contains("without journalmatch"));
    }
}
