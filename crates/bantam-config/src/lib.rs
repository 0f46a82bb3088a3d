//! bantam's configuration, in three stages (the way ruff does it):
//!
//! 1. [`options`]: the TOML as written, `deny_unknown_fields` everywhere so a
//!    typo is an error, not a silently ignored key;
//! 2. merging: each jail takes what it does not set from `[defaults]`;
//! 3. [`settings`]: resolved values that cannot be invalid (durations parsed,
//!    networks parsed, filters compiled once to prove they compile).
//!
//! fail2ban's names are kept for fail2ban's concepts (`maxretry`,
//! `findtime`, `bantime`, `ignoreip`, `logpath`, `failregex`), so a fail2ban
//! user reads a bantam config without a manual. Every error names the file,
//! the line and the key.

pub mod backend_kind;
pub mod daemon_settings;
pub mod duration;
pub mod error;
pub mod fail2ban;
pub mod fail2ban_jails;
mod fail2ban_journal;
pub mod fail2ban_mail;
mod fail2ban_policy;
mod fail2ban_unhonoured;
pub mod filter_jail;
pub mod fleet_settings;
pub mod layers;
pub mod logpath;
mod logpath_scheme;
pub mod notify_settings;
pub mod options;
mod own_addresses;
pub mod policy;
pub mod policy_trust;
pub mod server_name;
pub mod settings;
pub mod template;

pub use daemon_settings::restart_needed;
pub use duration::BanTime;
pub use error::ConfigError;
pub use fail2ban_jails::load_with_fail2ban;
pub use logpath::Origin;
pub use notify_settings::NotifySettings;
pub use policy_trust::{IgnoreCommand, SubnetSettings, TrustPolicy, TrustSettings};
pub use settings::{
    builtin_default, load, parse, BackendKind, DaemonSettings, Fail2banActions, JailSettings,
    Settings,
};
