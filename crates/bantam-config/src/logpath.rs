//! `logpath` values: what makes one wrong (an error at start) and what
//! makes one merely absent (a warning; the daemon waits for the file), each
//! said with where the value was written.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::settings::JailSettings;

/// Where a value was written, displayed the way errors locate keys:
/// `FILE:LINE: jails.sshd.logpath` (bantam's TOML) or
/// `FILE: [sshd] logpath` (a fail2ban INI file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Toml {
        path: PathBuf,
        /// 1-based.
        line: usize,
        key: String,
    },
    Fail2ban {
        path: PathBuf,
        section: String,
        key: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Toml { path, line, key } => write!(f, "{}:{line}: {key}", path.display()),
            Origin::Fail2ban { path, section, key } => {
                write!(f, "{}: [{section}] {key}", path.display())
            }
        }
    }
}

/// What makes `path` unusable as a log path, whatever exists on disk
/// later. Relative paths are the caller's business (bantam's TOML anchors
/// them, fail2ban's are refused before this).
pub(crate) fn check(path: &str) -> Result<(), String> {
    if path.trim().is_empty() {
        return Err("empty path".into());
    }
    if path.contains('\0') {
        return Err(format!("{path:?} contains a NUL byte"));
    }
    // A scheme's own rules first (`journal:` needs FIELD=VALUE words, …):
    // a source URI is accepted only once they hold.
    if let Some(result) = crate::logpath_scheme::check(path) {
        return result;
    }
    if path == "-" || is_source_uri(path) {
        return Ok(());
    }
    // A trailing slash names a directory even before it exists.
    if path.ends_with('/') || (!is_glob(path) && Path::new(path).is_dir()) {
        return Err(format!(
            "{path} is a directory; name the log files in it (e.g. {}/*.log)",
            path.trim_end_matches('/')
        ));
    }
    Ok(())
}

/// A log path that names a source other than a file (`journal:…`,
/// `syslog+udp://…`, `cmd:…`): never anchored to a directory, never waited
/// for as a file.
pub fn is_source_uri(path: &str) -> bool {
    crate::logpath_scheme::has_scheme(path)
}

fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// Why `path` cannot be read yet, if it cannot: a file that does not
/// exist, or the directory a glob looks in.
fn missing(path: &str) -> Option<String> {
    if path == "-" || is_source_uri(path) {
        return None;
    }
    if !is_glob(path) {
        return match Path::new(path).symlink_metadata() {
            Ok(_) => None,
            Err(_) => Some(format!("{path} does not exist (yet); waiting for it")),
        };
    }
    let fixed: PathBuf = Path::new(path)
        .components()
        .take_while(|c| !is_glob(&c.as_os_str().to_string_lossy()))
        .collect();
    (!fixed.as_os_str().is_empty() && !fixed.is_dir()).then(|| {
        format!(
            "{path}: directory {} does not exist (yet); waiting for it",
            fixed.display()
        )
    })
}

impl JailSettings {
    /// Each log path with where it was written.
    pub fn logpaths(&self) -> impl Iterator<Item = (&str, &Origin)> {
        self.logpath
            .iter()
            .map(String::as_str)
            .zip(&self.logpath_origin)
    }

    /// One warning per log path that does not exist now, naming where it
    /// was written: `FILE:LINE: jails.sshd.logpath: /var/log/x does not
    /// exist (yet); waiting for it`.
    pub fn missing_logpaths(&self) -> Vec<String> {
        self.logpaths()
            .filter_map(|(path, origin)| missing(path).map(|why| format!("{origin}: {why}")))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_paths_say_why() {
        assert!(check("").unwrap_err().contains("empty"));
        assert!(check("  ").unwrap_err().contains("empty"));
        assert!(check("/var/log/a\0b").unwrap_err().contains("NUL"));
        let e = check("/tmp").unwrap_err();
        assert!(
            e.contains("/tmp is a directory") && e.contains("/tmp/*.log"),
            "{e}"
        );
        assert!(check("/no/such/dir/").unwrap_err().contains("directory"));
        assert!(check("/tmp/*").is_ok(), "a glob is not a directory");
        assert!(check("/no/such/file.log").is_ok(), "absent is not wrong");
        assert!(check("-").is_ok());
        assert!(check("journal:unit=x").unwrap_err().contains("field name"));
        assert!(check("journal:_SYSTEMD_UNIT=ssh.service").is_ok());
        assert_eq!(missing("syslog+unix:///no/such/dir/log"), None);
    }

    #[test]
    fn absent_paths_and_glob_directories() {
        assert!(missing("/no/such/file.log")
            .unwrap()
            .contains("does not exist"));
        assert!(missing("/no/such/*.log")
            .unwrap()
            .contains("directory /no/such "));
        assert_eq!(missing("/tmp/*.nothing-matches-here"), None);
        assert_eq!(missing("/proc/self/status"), None);
        assert_eq!(missing("-"), None);
    }

    #[test]
    fn origins_display_like_errors() {
        let toml = Origin::Toml {
            path: "/etc/bantam/bantam.toml".into(),
            line: 7,
            key: "jails.sshd.logpath".into(),
        };
        assert_eq!(
            toml.to_string(),
            "/etc/bantam/bantam.toml:7: jails.sshd.logpath"
        );
        let ini = Origin::Fail2ban {
            path: "/etc/fail2ban/jail.local".into(),
            section: "sshd".into(),
            key: "logpath".into(),
        };
        assert_eq!(ini.to_string(), "/etc/fail2ban/jail.local: [sshd] logpath");
    }
}
