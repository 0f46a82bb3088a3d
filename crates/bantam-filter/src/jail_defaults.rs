//! A filter's default jail: where its service logs on the usual
//! distributions, which ports it serves, and how many failures in how long
//! are worth a ban. A jail that names the filter and leaves these out gets
//! them (bantam-config does the merging; this crate only parses and checks).
//!
//! ```toml
//! [jail]
//! port = "http,https"
//! logpath = ["/var/log/apache2/error.log", "/var/log/httpd/error_log"]
//! journalmatch = ["journal:_SYSTEMD_UNIT=apache2.service"]
//! maxretry = 5
//! findtime = "10m"
//! bantime = "1h"
//! ```
//!
//! Durations are kept as written (seconds or text such as `"10m"`): their
//! grammar belongs to the configuration crate, which checks them for every
//! shipped filter in its tests.

use serde::Deserialize;

/// The optional `[jail]` table of a filter file.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JailDefaults {
    /// The service's ports, fail2ban style (`"ssh"`, `"http,https"`), for
    /// actions that block per port.
    #[serde(default)]
    pub port: Option<String>,
    /// Candidate log files, one per distribution's layout; the first that
    /// exists is read.
    #[serde(default)]
    pub logpath: Vec<String>,
    /// `journal:FIELD=VALUE` log paths, all read, when none of `logpath`
    /// exists.
    #[serde(default)]
    pub journalmatch: Vec<String>,
    /// Failures within `findtime` that make a ban.
    #[serde(default)]
    pub maxretry: Option<u32>,
    /// The window failures are counted in.
    #[serde(default)]
    pub findtime: Option<DefaultDuration>,
    /// How long a ban lasts.
    #[serde(default)]
    pub bantime: Option<DefaultDuration>,
}

/// A duration as the configuration writes it: seconds, or text (`"10m"`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum DefaultDuration {
    Seconds(i64),
    Text(String),
}

impl JailDefaults {
    /// The log paths a jail reads, given which files exist: the first
    /// existing candidate, else every journal match. Empty when the filter
    /// names neither.
    pub fn logpaths(&self, exists: impl Fn(&str) -> bool) -> Vec<String> {
        match self.logpath.iter().find(|p| exists(p)) {
            Some(path) => vec![path.clone()],
            None if self.journalmatch.is_empty() => self.logpath.iter().take(1).cloned().collect(),
            None => self.journalmatch.clone(),
        }
    }

    /// Why the table cannot be used, if it cannot.
    pub(crate) fn problem(&self) -> Option<String> {
        if let Some(p) = self.logpath.iter().find(|p| !p.starts_with('/')) {
            return Some(format!("jail.logpath {p:?}: must be an absolute path"));
        }
        if let Some(m) = self
            .journalmatch
            .iter()
            .find(|m| !m.strip_prefix("journal:").is_some_and(|f| f.contains('=')))
        {
            return Some(format!(
                "jail.journalmatch {m:?}: must read journal:FIELD=VALUE"
            ));
        }
        if self.maxretry == Some(0) {
            return Some("jail.maxretry: must be at least 1".into());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> JailDefaults {
        JailDefaults {
            logpath: vec!["/var/log/a.log".into(), "/var/log/b.log".into()],
            journalmatch: vec!["journal:_SYSTEMD_UNIT=a.service".into()],
            ..JailDefaults::default()
        }
    }

    #[test]
    fn the_first_existing_file_wins_then_the_journal() {
        let d = defaults();
        assert_eq!(d.logpaths(|_| true), ["/var/log/a.log"]);
        assert_eq!(d.logpaths(|p| p == "/var/log/b.log"), ["/var/log/b.log"]);
        assert_eq!(d.logpaths(|_| false), ["journal:_SYSTEMD_UNIT=a.service"]);
    }

    #[test]
    fn without_a_journal_match_the_first_file_is_waited_for() {
        let d = JailDefaults {
            journalmatch: vec![],
            ..defaults()
        };
        assert_eq!(d.logpaths(|_| false), ["/var/log/a.log"]);
    }

    #[test]
    fn bad_tables_are_named() {
        let bad = |d: JailDefaults| d.problem().unwrap();
        assert!(bad(JailDefaults {
            logpath: vec!["var/log/x".into()],
            ..JailDefaults::default()
        })
        .contains("absolute"));
        assert!(bad(JailDefaults {
            journalmatch: vec!["_SYSTEMD_UNIT=x".into()],
            ..JailDefaults::default()
        })
        .contains("journal:FIELD=VALUE"));
        assert!(bad(JailDefaults {
            maxretry: Some(0),
            ..JailDefaults::default()
        })
        .contains("maxretry"));
    }
}
