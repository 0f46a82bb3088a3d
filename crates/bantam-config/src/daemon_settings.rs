//! `[daemon]`: resolved, and what a reload can and cannot change.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use bantam_filter::Subnet;
use toml::Spanned;

use crate::error::ConfigError;
use crate::options::{DaemonOptions, DurationValue};
use crate::settings::Cx;

pub use crate::backend_kind::BackendKind;

/// How jails from a fail2ban configuration ban (see the `fail2ban-actions`
/// option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fail2banActions {
    /// Run their `action.d` commands, as fail2ban does.
    #[default]
    Commands,
    /// Firewall actions are carried by bantam's own backends: the one
    /// that works like the action (`BackendKind::for_fail2ban_action`:
    /// iptables-*, ipset, nftables-*, route), else the daemon's `backend`.
    Native,
}

/// `[daemon]`, every value checked. The keys are documented on
/// [`DaemonOptions`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonSettings {
    pub state_dir: PathBuf,
    pub socket: PathBuf,
    pub max_tracked: usize,
    pub backend: BackendKind,
    /// `input`, and `forward` when hooked (checked names).
    pub hooks: Vec<String>,
    pub nflog: Option<crate::options::NflogOptions>,
    pub hostname: Option<String>,
    /// `server-name` (or its alias `hostname`) as written; see
    /// [`DaemonSettings::server_name`] for the name in use.
    pub server_name: Option<String>,
    /// fail2ban configuration directory whose enabled jails also run.
    pub fail2ban_config: Option<PathBuf>,
    pub fail2ban_actions: Fail2banActions,
    pub fail2ban_mail: crate::fail2ban_mail::Fail2banMail,
    /// Ban history older than this is purged (fail2ban's `dbpurgeage`).
    pub dbpurgeage: Duration,
    /// The widest IPv4 network (shortest prefix) `bantam ban` accepts
    /// without `--force`; at least 1, so `/0` always needs it.
    pub manual_ban_widest_v4: u8,
    /// The same for IPv6.
    pub manual_ban_widest_v6: u8,
    /// Control socket connections served at once; more wait.
    pub max_connections: usize,
    /// How long a control connection may stay silent before it is closed.
    pub control_timeout: Duration,
    /// Journal files read instead of the system journal (`journal-dir`).
    pub journal_dir: Option<PathBuf>,
    /// Where `/metrics` is served; `None`: nowhere.
    pub metrics: Option<std::net::SocketAddr>,
    /// Whether the live page is served beside `/metrics`.
    pub page: bool,
}

pub const DEFAULT_STATE_DIR: &str = "/var/lib/bantam";
pub const DEFAULT_SOCKET: &str = "/run/bantam/bantam.sock";
pub const DEFAULT_MAX_TRACKED: usize = 100_000;
/// fail2ban's default `dbpurgeage` (1 day) keeps too little history to
/// see a repeat offender coming back next month; a month of bans is a few
/// megabytes at most.
pub const DEFAULT_DBPURGEAGE: Duration = Duration::from_secs(30 * 86_400);
/// A /16 is 65 536 addresses: a provider's block, still a deliberate act.
/// A /8 is an eighth of a continent and almost certainly a typo.
pub const DEFAULT_MANUAL_BAN_WIDEST_V4: u8 = 16;
/// A /32 is a whole registry allocation to one provider.
pub const DEFAULT_MANUAL_BAN_WIDEST_V6: u8 = 32;
pub const DEFAULT_MAX_CONNECTIONS: usize = 64;
pub const DEFAULT_CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for DaemonSettings {
    fn default() -> DaemonSettings {
        DaemonSettings {
            state_dir: DEFAULT_STATE_DIR.into(),
            socket: DEFAULT_SOCKET.into(),
            max_tracked: DEFAULT_MAX_TRACKED,
            backend: BackendKind::Nftables,
            hooks: vec!["input".to_string()],
            nflog: None,
            hostname: None,
            server_name: None,
            fail2ban_config: None,
            fail2ban_actions: Fail2banActions::Commands,
            fail2ban_mail: crate::fail2ban_mail::Fail2banMail::Commands,
            dbpurgeage: DEFAULT_DBPURGEAGE,
            manual_ban_widest_v4: DEFAULT_MANUAL_BAN_WIDEST_V4,
            manual_ban_widest_v6: DEFAULT_MANUAL_BAN_WIDEST_V6,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            control_timeout: DEFAULT_CONTROL_TIMEOUT,
            journal_dir: None,
            metrics: None,
            page: false,
        }
    }
}

impl DaemonSettings {
    /// Whether `bantam ban NET` must be given `--force`: the network is
    /// wider than the configured limit for its family.
    pub fn manual_ban_needs_force(&self, net: &Subnet) -> bool {
        let widest = match net.addr() {
            IpAddr::V4(_) => self.manual_ban_widest_v4,
            IpAddr::V6(_) => self.manual_ban_widest_v6,
        };
        net.prefix() < widest
    }
}

/// The `[daemon]` keys whose change a reload cannot apply (a restart
/// must), by their names in the file. Empty when a reload applies it all.
///
/// Restart: `state-dir` (the database is opened once, and moving it under
/// a running daemon would split the ban history in two), `socket` (bound
/// once; the CLI would lose the daemon between unbind and bind), `backend`
/// (besides being the default of jails without `banaction`, it holds the
/// bans of jails no longer configured and the adopted ones, whose backend
/// nothing records: switching would strand them). A jail's own
/// `banaction` does apply at a reload: its bans move (see the daemon's
/// `reload.rs`).
///
/// Live: `dbpurgeage` (read at each purge), `max-connections` and
/// `control-timeout` (read per accepted connection), the manual ban limits
/// (read per request), `hostname` (read per notification), `max-tracked`
/// (a cap: a new tracker takes it; a tracker kept across the reload must
/// be trimmed to it, losing only the oldest half-counted sources, which is
/// what the cap exists to drop), `fail2ban-config` and `fail2ban-actions`
/// (they shape jails, and a reload rebuilds the jails).
pub fn restart_needed(old: &DaemonSettings, new: &DaemonSettings) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if old.state_dir != new.state_dir {
        keys.push("state-dir");
    }
    if old.socket != new.socket {
        keys.push("socket");
    }
    if old.backend != new.backend {
        keys.push("backend");
    }
    // Journal readers that stay across a reload keep their journalctl.
    if old.journal_dir != new.journal_dir {
        keys.push("journal-dir");
    }
    if old.hooks != new.hooks {
        keys.push("hooks");
    }
    if old.nflog != new.nflog {
        keys.push("nflog");
    }
    // The listener is bound once, at start.
    if old.metrics != new.metrics || old.page != new.page {
        keys.push("metrics");
    }
    keys
}

impl Cx<'_> {
    pub(crate) fn daemon(&self, d: DaemonOptions) -> Result<DaemonSettings, ConfigError> {
        let base = DaemonSettings::default();
        let server_name = self.server_name(&d)?;
        Ok(DaemonSettings {
            state_dir: d
                .state_dir
                .map_or(base.state_dir, |s| s.into_inner().into()),
            socket: d.socket.map_or(base.socket, |s| s.into_inner().into()),
            max_tracked: self.count(d.max_tracked, "daemon.max-tracked", base.max_tracked)?,
            backend: self.backend(d.backend)?,
            hooks: self.hooks(d.hooks)?,
            nflog: d.nflog.map(Spanned::into_inner),
            hostname: d.hostname,
            server_name,
            fail2ban_config: d.fail2ban_config.map(|p| {
                // Relative to the file that names it, like filter files.
                self.dir_at(p.span().start).join(p.into_inner())
            }),
            fail2ban_actions: self.fail2ban_actions(d.fail2ban_actions)?,
            fail2ban_mail: self.fail2ban_mail(d.fail2ban_mail)?,
            dbpurgeage: self.positive(d.dbpurgeage, "daemon.dbpurgeage", base.dbpurgeage)?,
            manual_ban_widest_v4: self.prefix(
                d.manual_ban_widest_v4,
                "daemon.manual-ban-widest-v4",
                32,
                base.manual_ban_widest_v4,
            )?,
            manual_ban_widest_v6: self.prefix(
                d.manual_ban_widest_v6,
                "daemon.manual-ban-widest-v6",
                128,
                base.manual_ban_widest_v6,
            )?,
            max_connections: self.count(
                d.max_connections,
                "daemon.max-connections",
                base.max_connections,
            )?,
            control_timeout: self.positive(
                d.control_timeout,
                "daemon.control-timeout",
                base.control_timeout,
            )?,
            journal_dir: d
                .journal_dir
                .map(|p| self.dir_at(p.span().start).join(p.into_inner())),
            metrics: self.listen_address(d.metrics)?,
            page: d.page.unwrap_or(false),
        })
    }

    /// `address:port`, numeric (a name would need a resolver at start).
    fn listen_address(
        &self,
        v: Option<Spanned<String>>,
    ) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        let Some(v) = v else {
            return Ok(None);
        };
        v.get_ref().parse().map(Some).map_err(|_| {
            let text = v.get_ref().clone();
            self.err(
                &v,
                "daemon.metrics",
                format!("{text:?}: must be an address and port, such as \"127.0.0.1:9539\""),
            )
        })
    }

    /// A count of at least 1.
    fn count(
        &self,
        v: Option<Spanned<i64>>,
        key: &str,
        default: usize,
    ) -> Result<usize, ConfigError> {
        match v {
            None => Ok(default),
            Some(v) => usize::try_from(*v.get_ref())
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| self.err(&v, key, format!("{}: must be at least 1", v.get_ref()))),
        }
    }

    /// A duration that is not zero (zero would purge everything at once or
    /// close every connection before it speaks).
    fn positive(
        &self,
        v: Option<Spanned<DurationValue>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, ConfigError> {
        let Some(v) = v else { return Ok(default) };
        let d = self.duration(&v, key)?;
        if d.is_zero() {
            return Err(self.err(&v, key, "must be longer than 0".into()));
        }
        Ok(d)
    }

    /// A prefix length from 1 to `max`.
    fn prefix(
        &self,
        v: Option<Spanned<i64>>,
        key: &str,
        max: u8,
        default: u8,
    ) -> Result<u8, ConfigError> {
        match v {
            None => Ok(default),
            Some(v) => u8::try_from(*v.get_ref())
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    let why = format!(
                        "{}: must be a prefix length from 1 to {max} (/0 always needs --force)",
                        v.get_ref()
                    );
                    self.err(&v, key, why)
                }),
        }
    }

    fn backend(&self, v: Option<Spanned<String>>) -> Result<BackendKind, ConfigError> {
        match v {
            None => Ok(BackendKind::Nftables),
            Some(v) => self.backend_kind(&v, "daemon.backend"),
        }
    }

    /// A backend's name (`[daemon] backend`, a jail's `banaction`).
    pub(crate) fn backend_kind(
        &self,
        v: &Spanned<String>,
        key: &str,
    ) -> Result<BackendKind, ConfigError> {
        BackendKind::parse(v.get_ref()).ok_or_else(|| {
            let why = format!(
                "unknown backend {:?} ({})",
                v.get_ref(),
                BackendKind::names()
            );
            self.err(v, key, why)
        })
    }

    fn hooks(&self, v: Option<Spanned<Vec<String>>>) -> Result<Vec<String>, ConfigError> {
        let Some(v) = v else {
            return Ok(vec!["input".to_string()]);
        };
        let hooks = v.get_ref();
        if hooks.is_empty() {
            return Err(self.err(&v, "daemon.hooks", "must name at least one hook".into()));
        }
        if let Some(bad) = hooks
            .iter()
            .find(|h| !matches!(h.as_str(), "input" | "forward"))
        {
            let why = format!("unknown hook {bad:?} (input, forward)");
            return Err(self.err(&v, "daemon.hooks", why));
        }
        Ok(hooks.clone())
    }

    fn fail2ban_actions(&self, v: Option<Spanned<String>>) -> Result<Fail2banActions, ConfigError> {
        let Some(v) = v else {
            return Ok(Fail2banActions::Commands);
        };
        match v.get_ref().as_str() {
            "commands" => Ok(Fail2banActions::Commands),
            "native" => Ok(Fail2banActions::Native),
            other => Err(self.err(
                &v,
                "daemon.fail2ban-actions",
                format!("unknown value {other:?} (commands, native)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::parse;
    use std::path::Path;

    fn daemon(text: &str) -> Result<DaemonSettings, String> {
        parse(Path::new("/etc/bantam/bantam.toml"), text)
            .map(|s| s.daemon)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_written_values() {
        let d = daemon("").unwrap();
        assert_eq!(d, DaemonSettings::default());
        assert_eq!(d.dbpurgeage, Duration::from_secs(30 * 86_400));
        assert_eq!((d.manual_ban_widest_v4, d.manual_ban_widest_v6), (16, 32));
        assert_eq!(d.max_connections, 64);
        assert_eq!(d.control_timeout, Duration::from_secs(10));
        let d = daemon(
            "[daemon]\ndbpurgeage = '1w'\nmanual-ban-widest-v4 = 24\nmanual-ban-widest-v6 = 48\n\
             max-connections = 8\ncontrol-timeout = 3\n",
        )
        .unwrap();
        assert_eq!(d.dbpurgeage, Duration::from_secs(604_800));
        assert_eq!((d.manual_ban_widest_v4, d.manual_ban_widest_v6), (24, 48));
        assert_eq!(d.max_connections, 8);
        assert_eq!(d.control_timeout, Duration::from_secs(3));
    }

    #[test]
    fn bad_values_name_file_line_and_key() {
        let cases = [
            (
                "[daemon]\n\nmanual-ban-widest-v4 = 0\n",
                "/etc/bantam/bantam.toml:3: daemon.manual-ban-widest-v4: 0: must be a prefix length from 1 to 32 (/0 always needs --force)",
            ),
            (
                "[daemon]\nmanual-ban-widest-v6 = 129\n",
                "/etc/bantam/bantam.toml:2: daemon.manual-ban-widest-v6: 129: must be a prefix length from 1 to 128 (/0 always needs --force)",
            ),
            (
                "[daemon]\nmax-connections = 0\n",
                "/etc/bantam/bantam.toml:2: daemon.max-connections: 0: must be at least 1",
            ),
            (
                "[daemon]\ncontrol-timeout = '0s'\n",
                "/etc/bantam/bantam.toml:2: daemon.control-timeout: must be longer than 0",
            ),
            (
                "[daemon]\ndbpurgeage = '30x'\n",
                "/etc/bantam/bantam.toml:2: daemon.dbpurgeage: \"30x\": unknown unit \"x\" (use s, m, h, d, w)",
            ),
            (
                "[daemon]\nmax-tracked = -1\n",
                "/etc/bantam/bantam.toml:2: daemon.max-tracked: -1: must be at least 1",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(daemon(text).unwrap_err(), want);
        }
    }

    #[test]
    fn manual_bans_wider_than_the_limit_need_force() {
        let d = DaemonSettings::default();
        let force = |net: &str| d.manual_ban_needs_force(&net.parse().unwrap());
        assert!(force("198.51.100.0/8"));
        assert!(!force("198.51.100.0/24"));
        assert!(!force("198.18.0.0/16"));
        assert!(force("0.0.0.0/0"));
        assert!(!force("203.0.113.9"));
        // 2001::/16; nothing is banned by this test.
        assert!(force("2001:db8::/16"));
        assert!(!force("2001:db8::/32"));
        assert!(!force("2001:db8:1::/48"));
        assert!(force("::/0"));
        let wide = daemon("[daemon]\nmanual-ban-widest-v4 = 1\n").unwrap();
        assert!(wide.manual_ban_needs_force(&"0.0.0.0/0".parse().unwrap()));
    }

    /// The shipped example, with every commented key of `[daemon]` and
    /// `[defaults]` switched on, says what the defaults are.
    #[test]
    fn the_shipped_example_documents_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/bantam.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut section = "";
        let mut out = String::new();
        for line in text.lines() {
            if line.starts_with('[') {
                section = line.split_whitespace().next().unwrap_or("");
            }
            let on = line
                .strip_prefix("# ")
                .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()) && l.contains(" = "))
                .filter(|_| section == "[daemon]" || section == "[defaults]");
            out.push_str(on.unwrap_or(line));
            out.push('\n');
        }
        let s = parse(&path, &out).unwrap();
        let shipped = DaemonSettings {
            state_dir: s.daemon.state_dir.clone(),
            socket: s.daemon.socket.clone(),
            ..DaemonSettings::default()
        };
        assert_eq!(s.daemon, shipped);
        assert!(s.jails[0].norestored);
        assert_eq!(s.jails[0].banaction, Some(s.daemon.backend));
    }

    #[test]
    fn a_reload_names_what_needs_a_restart() {
        let old = DaemonSettings::default();
        let live = daemon(
            "[daemon]\ndbpurgeage = '1d'\nmax-connections = 2\ncontrol-timeout = 1\n\
             manual-ban-widest-v4 = 8\nmax-tracked = 10\nhostname = 'h'\n",
        )
        .unwrap();
        assert_eq!(restart_needed(&old, &live), Vec::<&str>::new());
        let moved = daemon(
            "[daemon]\nstate-dir = '/srv/bantam'\nsocket = '/run/b.sock'\nbackend = 'dry-run'\n",
        )
        .unwrap();
        assert_eq!(
            restart_needed(&old, &moved),
            vec!["state-dir", "socket", "backend"]
        );
    }
}
