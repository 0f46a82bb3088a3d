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
