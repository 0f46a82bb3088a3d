//! Stage one: the configuration file exactly as written. Every field is
//! optional here (a jail may inherit it from `[defaults]`); values that need
//! checking keep their position in the file so errors can point at the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// Daemon-wide settings.
    #[serde(default)]
    pub daemon: DaemonOptions,
    /// Values every jail inherits unless it sets its own (fail2ban's
    /// `[DEFAULT]`).
    #[serde(default)]
    pub defaults: JailOptions,
    /// The jails, by name.
    #[serde(default)]
    pub jails: BTreeMap<String, Spanned<JailOptions>>,
    /// Mail and webhook notifications (`[notify.mail]`, `[notify.webhook]`).
    pub notify: Option<crate::notify_settings::NotifyOptions>,
    /// Bans shared with other hosts (see [`crate::fleet_settings`]).
    #[serde(default)]
    pub fleet: Option<crate::fleet_settings::FleetOptions>,
}

/// `[daemon]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DaemonOptions {
    /// Directory of the SQLite database (bans, history, file positions).
    pub state_dir: Option<Spanned<String>>,
    /// Path of the control socket the CLI talks to.
    pub socket: Option<Spanned<String>>,
    /// The most addresses a jail tracks at once; the oldest are forgotten
    /// first, so memory stays bounded under a botnet.
    pub max_tracked: Option<Spanned<i64>>,
    /// Firewall backend: `nftables` (default), `ipset`, `iptables`,
    /// `route`, `hosts-deny` or `dry-run`.
    pub backend: Option<Spanned<String>>,
    /// Where the backend's chains see packets: `["input"]` (default) or
    /// `["input", "forward"]` (containers, VMs, routed traffic).
    pub hooks: Option<Spanned<Vec<String>>>,
    /// Dropped packets of banned addresses logged to an NFLOG group:
    /// `{ group = 5, prefix = "bantam", rate = "10/second" }`.
    pub nflog: Option<Spanned<NflogOptions>>,
    /// Name of the host in notifications (default: the system host name).
    pub hostname: Option<String>,
    /// The name of this host in everything that names it (notification
    /// subjects, SMTP greeting, fail2ban's `<fq-hostname>`); default: the
    /// kernel's host name, never looked up in DNS. `hostname` is its alias.
    pub server_name: Option<Spanned<String>>,
    /// A fail2ban configuration directory (`/etc/fail2ban`) whose enabled
    /// jails run beside the jails of this file, read as fail2ban reads it
    /// (jail.conf, jail.d, jail.local, filter.d, action.d).
    pub fail2ban_config: Option<Spanned<String>>,
    /// How fail2ban jails ban: `commands` (default) runs their `action.d`
    /// commands as fail2ban would; `native` puts the addresses of jails whose
    /// actions are firewall actions (iptables, ipset, nftables, firewalld)
    /// in bantam's own backends instead (the one that works like the
    /// action: `iptables-ipset-*` → ipset, `iptables-*` → iptables,
    /// `nftables-*` → nftables, `route`; else `backend`), and runs only
    /// their other actions (mail, webhooks) as commands.
    pub fail2ban_actions: Option<Spanned<String>>,
    /// How fail2ban jails' mail actions (`sendmail*`, `mail-whois*`) run:
    /// `commands` (default) as fail2ban would, `native` as `[notify.mail]`.
    pub fail2ban_mail: Option<Spanned<String>>,
    /// Ban history older than this is purged from the database (fail2ban's
    /// name; default `30d`). Active bans are never purged.
    pub dbpurgeage: Option<Spanned<DurationValue>>,
    /// The widest IPv4 network `bantam ban` accepts without `--force`, as
    /// a prefix length (default 16: a /24 is accepted, a /8 refused).
    /// 1 to 32; a /0 always needs `--force`.
    pub manual_ban_widest_v4: Option<Spanned<i64>>,
    /// The same for IPv6 (default 32), 1 to 128.
    pub manual_ban_widest_v6: Option<Spanned<i64>>,
    /// Control socket connections served at once (default 64); the next
    /// waits, so a stuck client cannot exhaust the daemon's descriptors.
    pub max_connections: Option<Spanned<i64>>,
    /// How long a control connection may stay silent (default `10s`)
    /// before the daemon closes it.
    pub control_timeout: Option<Spanned<DurationValue>>,
    /// `journal:` logpaths read the journal files in this directory
    /// (`journalctl --directory`) instead of the system journal: a
    /// container's journal, a copy, tests.
    pub journal_dir: Option<Spanned<String>>,
    /// Address and port of the Prometheus endpoint (`/metrics`), e.g.
    /// `127.0.0.1:9539`; absent: no listener.
    pub metrics: Option<Spanned<String>>,
    /// Also serve the read-only live page (`/`) on the metrics listener
    /// (default false).
    pub page: Option<bool>,
}

/// `nflog = { group, prefix, rate }`; checked by the firewall crate when
/// the backend opens (rate syntax, prefix length).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NflogOptions {
    pub group: i64,
    #[serde(default)]
    pub prefix: String,
    #[serde(default = "default_nflog_rate")]
    pub rate: String,
}

fn default_nflog_rate() -> String {
    "10/second".to_string()
}

/// A number of seconds, or a duration string such as `10m` or `1d12h`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DurationValue {
    Seconds(i64),
    Text(String),
}

/// One path or several.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => s.split_whitespace().map(str::to_owned).collect(),
            OneOrMany::Many(v) => v,
        }
    }
}

/// `[jails.NAME]` and `[defaults]`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JailOptions {
    /// Whether the jail runs (default true: a jail you wrote is one you want).
    pub enabled: Option<bool>,
    /// A shipped filter name (`sshd`) or a bantam filter file (`.toml`).
    pub filter: Option<Spanned<String>>,
    /// A fail2ban filter file (`/etc/fail2ban/filter.d/NAME.conf`), run
    /// unchanged on fail2ban's semantics, instead of `filter`. `mode` and the
    /// jail's `failregex`/`ignoreregex` (Python dialect then) apply to it.
    pub fail2ban_filter: Option<Spanned<String>>,
    /// The filter's mode, e.g. `aggressive` for sshd.
    pub mode: Option<Spanned<String>>,
    /// Failure rules written in the jail, with tags; added to the filter's.
    pub failregex: Option<Vec<Spanned<String>>>,
    /// Ignore rules written in the jail; added to the filter's.
    pub ignoreregex: Option<Vec<Spanned<String>>>,
    /// Log files and globs to watch (or `-`, standard input). A relative
    /// path is relative to this file's directory, like filter files: never
    /// to the daemon's working directory, which differs between a shell and
    /// systemd. A path that does not exist yet is waited for (with a
    /// warning); a directory, an empty path or a NUL byte is an error.
    pub logpath: Option<Spanned<OneOrMany>>,
    /// Failures within `findtime` that earn a ban.
    pub maxretry: Option<Spanned<i64>>,
    /// The window failures are counted in.
    pub findtime: Option<Spanned<DurationValue>>,
    /// How long a ban lasts; `-1` or `permanent` for no end.
    pub bantime: Option<Spanned<DurationValue>>,
    /// Addresses and networks never banned.
    pub ignoreip: Option<Spanned<OneOrMany>>,
    /// Time zone of log dates written without an offset (default: system).
    pub logtimezone: Option<Spanned<String>>,
    /// Pin the date format: auto, none, syslog, asctime, iso8601, clf, epoch, epoch-ms.
    pub datepattern: Option<Spanned<String>>,
    /// The firewall backend this jail's bans go to: `nftables`, `ipset`,
    /// `iptables`, `route`, `hosts-deny` or `dry-run` (fail2ban's key;
    /// default: `[daemon] backend`). Jails on different backends ban side
    /// by side; an address banned by two of them is in both.
    pub banaction: Option<Spanned<String>>,
    /// On restart, put this jail's restored bans back in the firewall but
    /// do not run its actions (mail, webhooks) for them again (fail2ban's
    /// `norestored`; default false).
    pub norestored: Option<bool>,
    /// Each further ban of an address lasts longer (see [`crate::policy`]).
    pub escalation: Option<Spanned<crate::policy::EscalationOptions>>,
    /// The n-th ban within a window lasts much longer, or for ever.
    pub recidive: Option<Spanned<crate::policy::RecidiveOptions>>,
    /// `[jails.NAME.trust]`: addresses that logged in get more failures.
    pub trust: Option<Spanned<crate::policy_trust::TrustOptions>>,
    /// `[jails.NAME.subnet]`: per-prefix counting and prefix bans.
    pub subnet: Option<Spanned<crate::policy_trust::SubnetOptions>>,
    /// A banned address stays banned until silent for its ban time.
    pub extend_while_knocking: Option<bool>,
    /// A program (argv, no shell; `<ip>` replaced) whose exit 0 means
    /// "never ban this address".
    pub ignorecommand: Option<Spanned<Vec<String>>>,
    /// How long an `ignorecommand` answer is remembered (default 5m).
    pub ignorecommand_ttl: Option<Spanned<DurationValue>>,
    /// How long `ignorecommand` may run (default 10s).
    pub ignorecommand_timeout: Option<Spanned<DurationValue>>,
    /// Never ban this host's own addresses (default true).
    pub ignoreself: Option<bool>,
}

impl JailOptions {
    /// This jail's values, with `defaults` filling the gaps.
    pub fn merged_with(self, defaults: &JailOptions) -> JailOptions {
        let d = defaults.clone();
        JailOptions {
            enabled: self.enabled.or(d.enabled),
            filter: self.filter.or(d.filter),
            fail2ban_filter: self.fail2ban_filter.or(d.fail2ban_filter),
            mode: self.mode.or(d.mode),
            failregex: self.failregex.or(d.failregex),
            ignoreregex: self.ignoreregex.or(d.ignoreregex),
            logpath: self.logpath.or(d.logpath),
            maxretry: self.maxretry.or(d.maxretry),
            findtime: self.findtime.or(d.findtime),
            bantime: self.bantime.or(d.bantime),
            ignoreip: self.ignoreip.or(d.ignoreip),
            logtimezone: self.logtimezone.or(d.logtimezone),
            datepattern: self.datepattern.or(d.datepattern),
            banaction: self.banaction.or(d.banaction),
            norestored: self.norestored.or(d.norestored),
            escalation: self.escalation.or(d.escalation),
            recidive: self.recidive.or(d.recidive),
            trust: self.trust.or(d.trust),
            subnet: self.subnet.or(d.subnet),
            extend_while_knocking: self.extend_while_knocking.or(d.extend_while_knocking),
            ignorecommand: self.ignorecommand.or(d.ignorecommand),
            ignorecommand_ttl: self.ignorecommand_ttl.or(d.ignorecommand_ttl),
            ignorecommand_timeout: self.ignorecommand_timeout.or(d.ignorecommand_timeout),
            ignoreself: self.ignoreself.or(d.ignoreself),
        }
    }
}
