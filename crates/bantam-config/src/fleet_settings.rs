//! `[fleet]`: bans shared with other hosts through PostgreSQL.
//!
//! ```toml
//! [fleet]
//! database = "postgresql://web1@db.internal/bantam?sslmode=verify-full"
//! password-file = "/etc/bantam/fleet.password"   # or password-env = "BANTAM_PG"
//! share = ["sshd"]          # jails whose bans are published (default: all)
//! accept-from = ["*"]       # server names whose bans this host applies
//! count-failures = false    # fleet-wide maxretry
//! queue-size = 100000       # writes kept while the database is unreachable
//! ```
//!
//! The host's name in the fleet is `[daemon] server-name`.

use std::path::PathBuf;

use serde::Deserialize;
use toml::Spanned;

use crate::error::ConfigError;
use crate::settings::{Cx, JailSettings};

/// `[fleet]` as written.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FleetOptions {
    /// libpq-style URL: `postgresql://user@host/db?sslmode=…`, or a Unix
    /// socket `postgresql:///bantam?host=/run/postgresql&user=bantam`.
    pub database: Option<Spanned<String>>,
    /// A file whose first line is the password (relative to this file).
    pub password_file: Option<Spanned<String>>,
    /// An environment variable holding the password.
    pub password_env: Option<Spanned<String>>,
    /// Jails whose bans are published (default: every jail).
    pub share: Option<Spanned<Vec<String>>>,
    /// Server names whose bans this host applies; `*` is any (default).
    pub accept_from: Option<Vec<String>>,
    /// Publish failures of shared jails and ban at maxretry summed over
    /// the fleet.
    pub count_failures: Option<bool>,
    /// Most writes kept locally while the database is unreachable.
    pub queue_size: Option<Spanned<i64>>,
}

/// `[fleet]`, checked.
#[derive(Clone, PartialEq, Eq)]
pub struct FleetSettings {
    pub database: String,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    /// `None`: every jail.
    pub share: Option<Vec<String>>,
    pub accept_from: Vec<String>,
    pub count_failures: bool,
    pub queue_size: usize,
}

pub const DEFAULT_QUEUE_SIZE: usize = 100_000;

impl std::fmt::Debug for FleetSettings {
    // The URL may hold a password: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetSettings")
            .field("share", &self.share)
            .field("accept_from", &self.accept_from)
            .field("count_failures", &self.count_failures)
            .finish_non_exhaustive()
    }
}

impl FleetSettings {
    /// Whether bans of `jail` are published.
    pub fn shares(&self, jail: &str) -> bool {
        self.share
            .as_ref()
            .is_none_or(|s| s.iter().any(|j| j == jail))
    }

    /// Whether bans published by `origin` are applied here.
    pub fn accepts(&self, origin: &str) -> bool {
        self.accept_from.iter().any(|a| a == "*" || a == origin)
    }
}

impl Cx<'_> {
    pub(crate) fn fleet(
        &self,
        f: Option<FleetOptions>,
        jails: &[JailSettings],
    ) -> Result<Option<FleetSettings>, ConfigError> {
        let Some(f) = f else { return Ok(None) };
        let Some(database) = f.database else {
            return Err(ConfigError::NoDefault(
                "[fleet] needs database (a postgresql:// URL)".into(),
            ));
        };
        let url = database.get_ref();
        if !(url.starts_with("postgresql://") || url.starts_with("postgres://")) {
            return Err(self.err(
                &database,
                "fleet.database",
                "must be a postgresql:// URL".into(),
            ));
        }
        if let (Some(file), Some(_)) = (&f.password_file, &f.password_env) {
            return Err(self.err(
                file,
                "fleet.password-file",
                "give password-file or password-env, not both".into(),
            ));
        }
        if let Some(share) = &f.share {
            if let Some(unknown) = share
                .get_ref()
                .iter()
                .find(|name| !jails.iter().any(|j| &j.name == *name))
            {
                return Err(self.err(
                    share,
                    "fleet.share",
                    format!("no enabled jail named {unknown:?}"),
                ));
            }
        }
        let queue_size = match &f.queue_size {
            None => DEFAULT_QUEUE_SIZE,
            Some(v) => usize::try_from(*v.get_ref())
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| self.err(v, "fleet.queue-size", "must be at least 1".into()))?,
        };
        Ok(Some(FleetSettings {
            database: database.into_inner(),
            password_file: f
                .password_file
                .map(|p| self.dir_at(p.span().start).join(p.into_inner())),
            password_env: f.password_env.map(Spanned::into_inner),
            share: f.share.map(Spanned::into_inner),
            accept_from: f.accept_from.unwrap_or_else(|| vec!["*".into()]),
            count_failures: f.count_failures.unwrap_or(false),
            queue_size,
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::settings::Settings;

    fn load(text: &str) -> Result<Settings, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bantam.toml");
        std::fs::write(&path, text).unwrap();
        crate::settings::load(&path).map_err(|e| e.to_string())
    }

    const JAILS: &str = "[jails.sshd]\nfilter = 'sshd'\nlogpath = '/var/log/auth.log'\n\
                         [jails.web]\nfilter = 'sshd'\nlogpath = '/var/log/auth.log'\n";

    #[test]
    fn defaults_share_everything_and_accept_everyone() {
        let s = load(&format!(
            "[daemon]\nserver-name = 'web1'\n[fleet]\ndatabase = 'postgresql:///bantam?host=/run/postgresql'\n{JAILS}"
        ))
        .unwrap();
        let fleet = s.fleet.unwrap();
        assert!(fleet.shares("sshd") && fleet.shares("web"));
        assert!(fleet.accepts("anyone"));
        assert!(!fleet.count_failures);
        assert_eq!(s.daemon.server_name(), "web1");
        assert!(!format!("{fleet:?}").contains("postgresql"));
    }

    #[test]
    fn share_accept_from_and_count_failures_are_read() {
        let s = load(&format!(
            "[fleet]\ndatabase = 'postgresql://db/b'\nshare = ['sshd']\naccept-from = ['web2']\n\
             count-failures = true\npassword-file = 'pw'\n{JAILS}"
        ))
        .unwrap();
        let fleet = s.fleet.unwrap();
        assert!(fleet.shares("sshd") && !fleet.shares("web"));
        assert!(fleet.accepts("web2") && !fleet.accepts("web3"));
        assert!(fleet.count_failures);
        assert!(fleet.password_file.unwrap().is_absolute());
        assert!(!s.daemon.server_name().is_empty());
    }

    #[test]
    fn mistakes_name_the_key() {
        let e = load(&format!(
            "[fleet]\ndatabase = 'postgresql://db/b'\nshare = ['ftp']\n{JAILS}"
        ))
        .unwrap_err();
        assert!(e.contains("fleet.share") && e.contains("ftp"), "{e}");
        let e = load(&format!("[fleet]\ndatabase = 'mysql://db'\n{JAILS}")).unwrap_err();
        assert!(e.contains("fleet.database"), "{e}");
        let e = load(&format!("[fleet]\nshare = ['sshd']\n{JAILS}")).unwrap_err();
        assert!(e.contains("needs database"), "{e}");
        let e = load(&format!(
            "[fleet]\ndatabase = 'postgresql://db/b'\nsecret = 1\n{JAILS}"
        ))
        .unwrap_err();
        assert!(e.contains("secret"), "{e}");
    }
}
