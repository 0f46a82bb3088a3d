use std::path::PathBuf;

/// Why the daemon could not start or keep running.
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
    #[error("control socket {}: {reason}", path.display())]
    Socket { path: PathBuf, reason: String },
    #[error("cannot reach bantam at {}: {reason}", path.display())]
    Client { path: PathBuf, reason: String },
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
mod tests {
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
