//! `[daemon] fail2ban-mail = "native"`: fail2ban jails' mail actions
//! (`sendmail*`, `mail-whois*`) run as bantam's `[notify.mail]` instead of
//! as shell commands: off the jail's action thread, with the server name in
//! every subject, and with no log line anywhere near a shell.
//!
//! Kept small on purpose: the mail goes where the action said (`dest`,
//! `sender`; fail2ban's local names such as `root` get a domain), through
//! the local `sendmail` as fail2ban's actions do, for the jails that had
//! such an action, on ban, start and stop (what fail2ban's sendmail
//! actions mail). A `[notify.mail]` of the TOML wins: those jails are
//! added to it instead. The whois lookups are not carried over (no network
//! lookups on an attacker's behalf).

use toml::Spanned;

use crate::error::ConfigError;
use crate::fail2ban::F2bActionDef;
use crate::notify_settings::{ChannelSettings, EventKind, MailSettings, MailTransport};
use crate::settings::{Cx, Settings};

/// How fail2ban jails' mail actions run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fail2banMail {
    /// As `action.d` commands, as fail2ban runs them.
    #[default]
    Commands,
    /// As `[notify.mail]`.
    Native,
}

/// Whether fail2ban's action `name` is a mail action bantam can carry.
pub fn is_mail_action(name: &str) -> bool {
    name.starts_with("sendmail") || name.starts_with("mail-whois")
}

/// Moves the mail actions of `settings`' jails to `[notify.mail]`;
/// returns what it did, for the start's messages.
pub(crate) fn map_mail_actions(settings: &mut Settings) -> Vec<String> {
    let mut jails = Vec::new();
    let mut first: Option<F2bActionDef> = None;
    for jail in &mut settings.jails {
        let before = jail.actions.len();
        let (mail, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut jail.actions)
            .into_iter()
            .partition(|a| is_mail_action(&a.actname));
        jail.actions = rest;
        if jail.actions.len() < before {
            jails.push(jail.name.clone());
            first = first.or(mail.into_iter().next());
        }
    }
    let Some(action) = first else {
        return Vec::new();
    };
    let message = format!(
        "fail2ban jail(s) {}: mail actions run as [notify.mail] (fail2ban-mail = \"native\")",
        jails.join(", ")
    );
    match &mut settings.notify.mail {
        Some(mail) => {
            if let Some(only) = &mut mail.channel.jails {
                only.extend(jails);
            }
        }
        None => settings.notify.mail = Some(mail_of(&action, jails)),
    }
    vec![message]
}

fn mail_of(action: &F2bActionDef, jails: Vec<String>) -> MailSettings {
    let value = |key: &str, default: &str| {
        action
            .init
            .get(key)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && !v.contains('<'))
            .unwrap_or_else(|| default.to_owned())
    };
    let with_domain = |name: String, domain: &str| match name.contains('@') {
        true => name,
        false => format!("{name}@{domain}"),
    };
    let host = crate::server_name::host_name();
    let to = value("dest", "root")
        .split([',', ' '])
        .filter(|d| !d.is_empty())
        .map(|d| with_domain(d.to_owned(), "localhost"))
        .collect();
    let defaults = crate::notify_settings::defaults();
    MailSettings {
        transport: MailTransport::Sendmail("/usr/sbin/sendmail".into()),
        from: with_domain(value("sender", "fail2ban"), &host),
        to,
        auth: None,
        subject: defaults.0,
        body: defaults.1,
        digest: None,
        channel: ChannelSettings {
            events: vec![EventKind::Ban, EventKind::Start, EventKind::Stop],
            jails: Some(jails),
            ..defaults.2
        },
    }
}

impl Cx<'_> {
    pub(crate) fn fail2ban_mail(
        &self,
        v: Option<Spanned<String>>,
    ) -> Result<Fail2banMail, ConfigError> {
        let Some(v) = v else {
            return Ok(Fail2banMail::Commands);
        };
        match v.get_ref().as_str() {
            "commands" => Ok(Fail2banMail::Commands),
            "native" => Ok(Fail2banMail::Native),
            other => Err(self.err(
                &v,
                "daemon.fail2ban-mail",
                format!("unknown value {other:?} (commands, native)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::fail2ban_jails::load_with_fail2ban;

    /// A fail2ban tree with one jail using a firewall and a mail action.
    fn tree(dir: &Path) {
        let write = |rel: &str, text: &str| {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write(
            "filter.d/test.conf",
            "[Definition]\nfailregex = ^bad from <HOST>$\n",
        );
        write(
            "action.d/fw.conf",
            "[Definition]\nactionban = echo fw <ip>\n",
        );
        write(
            "action.d/sendmail-whois.conf",
            "[Definition]\nactionban = printf %%s <matches> | sendmail <dest>\n\
             [Init]\ndest = root\nsender = fail2ban\n",
        );
        write("log/app.log", "");
        let log = dir.join("log/app.log");
        write(
            "jail.conf",
            &format!(
                "[app]\nenabled = true\nfilter = test\nlogpath = {}\n\
                 action = fw\n         sendmail-whois[dest=\"ops@example.org\"]\n",
                log.display()
            ),
        );
    }

    fn load(dir: &Path, mode: &str) -> Settings {
        let config = dir.join("bantam.toml");
        let text = format!(
            "[daemon]\nfail2ban-config = \"{}\"\nfail2ban-mail = \"{mode}\"\n",
            dir.display()
        );
        std::fs::write(&config, text).unwrap();
        load_with_fail2ban(Some(&config), None).unwrap().0
    }

    #[test]
    fn mail_actions_become_notify_mail() {
        let dir = tempfile::tempdir().unwrap();
        tree(dir.path());
        let s = load(dir.path(), "commands");
        assert_eq!(s.jails[0].actions.len(), 2);
        assert_eq!(s.notify.mail, None);
        let s = load(dir.path(), "native");
        let names: Vec<&str> = s.jails[0]
            .actions
            .iter()
            .map(|a| a.actname.as_str())
            .collect();
        assert_eq!(names, ["fw"]);
        let mail = s.notify.mail.unwrap();
        assert_eq!(mail.to, ["ops@example.org"]);
        assert!(mail.from.starts_with("fail2ban@"), "{}", mail.from);
        assert_eq!(
            mail.transport,
            MailTransport::Sendmail("/usr/sbin/sendmail".into())
        );
        assert_eq!(mail.channel.jails, Some(vec!["app".to_owned()]));
        assert!(mail.subject.uses("server"));
    }
}
