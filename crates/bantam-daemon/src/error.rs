//! The daemon's errors, and its client's.
//!
//! Each wrapper either prints its cause or returns it from `source()`,
//! never both, so `{err:#}` (which joins the chain) says everything once.

use std::path::PathBuf;

/// Why the daemon could not start or keep running, or a client could not
/// get an answer from it.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Config(#[from] bantam_config::ConfigError),
    #[error(transparent)]
    State(#[from] bantam_state::StateError),
    #[error(transparent)]
    Firewall(#[from] bantam_firewall::FirewallError),
    #[error(transparent)]
    Source(#[from] bantam_source::SourceError),
    #[error(transparent)]
    Filter(#[from] bantam_filter::FilterError),
    #[error(transparent)]
    Notify(#[from] bantam_notify::NotifyError),
    #[error("control socket {}: {reason}", path.display())]
    Socket { path: PathBuf, reason: String },
    /// Nothing listens at the socket (no file, or no process behind it).
    #[error("cannot reach bantam at {} (is bantam running? start it with `bantam run`)", path.display())]
    NotRunning {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot reach bantam at {}: {reason}", path.display())]
    Client { path: PathBuf, reason: String },
    /// The daemon answered, and refused: its message as it gave it.
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Runtime(String),
}

/// An error with its causes, each said once: `outer: cause: root cause`.
///
/// Error types differ in whether their message already includes their
/// source's; a cause whose text the line already holds is not repeated, so
/// the log never reads `No such file or directory: No such file or
/// directory`.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let said = cause.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        next = cause.source();
    }
    text
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading {path}")]
    struct Quiet {
        path: &'static str,
        #[source]
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading {path}: {source}")]
    struct Loud {
        path: &'static str,
        #[source]
        source: std::io::Error,
    }

    fn enoent() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::ENOENT)
    }

    #[test]
    fn each_cause_is_said_once_whichever_way_the_error_prints() {
        let quiet = chain(&Quiet {
            path: "/x",
            source: enoent(),
        });
        let loud = chain(&Loud {
            path: "/x",
            source: enoent(),
        });
        assert_eq!(quiet, loud);
        assert_eq!(quiet.matches("No such file").count(), 1, "{quiet}");
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    /// One of each variant, with causes as they occur.
    fn every_variant() -> Vec<DaemonError> {
        let path = PathBuf::from("/run/bantam/bantam.sock");
        let gone = || std::io::Error::from_raw_os_error(libc::ENOENT);
        vec![
            bantam_config::ConfigError::NoDefault("no log to follow".into()).into(),
            bantam_state::StateError::Version {
                path: path.clone(),
                found: 9,
                known: 1,
            }
            .into(),
            bantam_firewall::FirewallError::Protocol {
                action: "list".into(),
                detail: "short reply".into(),
            }
            .into(),
            bantam_source::SourceError::Pattern {
                pattern: "/var/log/[".into(),
                reason: "unclosed bracket",
            }
            .into(),
            bantam_filter::FilterError::Definition {
                name: "sshd".into(),
                reason: "no failregex".into(),
            }
            .into(),
            DaemonError::Socket {
                path: path.clone(),
                reason: format!("cannot bind: {}", gone()),
            },
            DaemonError::NotRunning {
                path: path.clone(),
                source: gone(),
            },
            DaemonError::Client {
                path,
                reason: "the daemon closed the connection without answering".into(),
            },
            DaemonError::Refused("no jail named \"x\"".into()),
            DaemonError::Runtime("SIGHUP handler: invalid argument".into()),
            bantam_notify::NotifyError::PasswordFile {
                path: "/etc/bantam/smtp-password".into(),
                error: gone(),
            }
            .into(),
        ]
    }

    /// Fails to compile when a variant is added: add it to `every_variant`.
    fn _every_variant_is_listed(e: &DaemonError) {
        match e {
            DaemonError::Config(_)
            | DaemonError::State(_)
            | DaemonError::Firewall(_)
            | DaemonError::Source(_)
            | DaemonError::Filter(_)
            | DaemonError::Socket { .. }
            | DaemonError::NotRunning { .. }
            | DaemonError::Client { .. }
            | DaemonError::Refused(_)
            | DaemonError::Runtime(_)
            | DaemonError::Notify(_) => {}
        }
    }

    #[test]
    fn no_error_prints_its_cause_twice() {
        let all = every_variant();
        assert_eq!(all.len(), 11);
        for err in &all {
            let mut link: &dyn std::error::Error = err;
            while let Some(cause) = link.source() {
                let (outer, inner) = (link.to_string(), cause.to_string());
                assert!(
                    !outer.contains(&inner),
                    "{err:?}: {outer:?} repeats its source {inner:?}"
                );
                link = cause;
            }
        }
        let not_running = &all[6];
        assert!(not_running.source().is_some());
        assert_eq!(
            format!("{not_running}: {}", not_running.source().unwrap()),
            "cannot reach bantam at /run/bantam/bantam.sock (is bantam running? start it with \
             `bantam run`): No such file or directory (os error 2)"
        );
    }
}
