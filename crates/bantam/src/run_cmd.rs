//! `bantam run`: the daemon in the foreground, systemd style.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use bantam_config::{BackendKind, DaemonSettings, Settings};
use bantam_daemon::clock::SystemClock;
use bantam_daemon::log;
use bantam_daemon::log_setup::{self, LogFormat};
use bantam_daemon::{Backends, Daemon, RunOptions};
use bantam_state::SqliteStore;
use clap::Args;

#[derive(Args)]
pub struct RunArgs {
    /// Configuration file (TOML), plus the drop-ins in conf.d/*.toml beside
    /// it. Default: /etc/bantam/bantam.toml (and /etc/bantam/conf.d) when
    /// present; otherwise bantam protects sshd, reading /var/log/auth.log,
    /// /var/log/secure, or the systemd journal.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log what would be banned; touch no firewall and no saved state.
    /// Runs without root.
    #[arg(long)]
    dry_run: bool,
    /// Control socket path (overrides the configuration).
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Also run the enabled jails of a fail2ban configuration directory
    /// (e.g. /etc/fail2ban), read as fail2ban reads it: jail.conf, jail.d,
    /// jail.local, filter.d, action.d.
    #[arg(long, value_name = "DIR")]
    fail2ban_config: Option<PathBuf>,
    /// The least severe messages logged: error, warn, info or debug (debug
    /// adds one line per failure found).
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    log_level: tracing::Level,
    /// auto: the journal with its fields when standard error is the
    /// journal, else text with RFC 3339 times; text; json: one object per
    /// line (events ban, unban, failure, source, error, message).
    #[arg(long, value_name = "FORMAT", default_value = "auto", value_parser = ["auto", "text", "json"])]
    log_format: String,
}

fn log_format(name: &str) -> LogFormat {
    match name {
        "json" => LogFormat::Json,
        "text" => LogFormat::Text,
        _ => LogFormat::Auto,
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Where a dry run that is not root puts its socket: somewhere the user may
/// write, and never the real daemon's path.
fn dry_run_socket() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) => Path::new(&dir).join("bantam-dry-run.sock"),
        // SAFETY: getuid has no preconditions.
        None => PathBuf::from(format!("/tmp/bantam-{}/bantam-dry-run.sock", unsafe {
            libc::getuid()
        })),
    }
}

pub fn run(mut args: RunArgs) -> Result<ExitCode> {
    log_setup::init(args.log_level, log_format(&args.log_format));
    let named = args.config.is_some();
    if !named && args.fail2ban_config.is_none() {
        // Found now and kept, so that a reload re-reads the same files.
        args.config =
            bantam_config::layers::present(Path::new(bantam_config::layers::SYSTEM_CONFIG));
    }
    let (settings, daemon_as_loaded) = settings_for(&args, named)?;
    let options = RunOptions {
        config_path: args.config.clone(),
        fail2ban_config: args.fail2ban_config.clone(),
        dry_run: args.dry_run,
        adopt_kernel_bans: false,
        daemon_as_loaded: Some(daemon_as_loaded),
    };
    // Everything that can be wrong with the configuration is found before
    // anything changes; then a live instance is refused before the store or
    // the firewall is touched.
    let mut prepared = Daemon::prepare(settings, options)?;
    let settings = prepared.settings();
    bantam_daemon::control::socket::ensure_not_running(&settings.daemon.socket)?;
    let store = open_store(settings, args.dry_run)?;
    if store.opened().fresh {
        prepared.adopt_kernel_bans();
    }
    let settings = prepared.settings();
    let backend_config = crate::backend_config::from_settings(&settings.daemon)?;
    // Every backend a jail names, each opened once, before anything runs.
    let backends = Backends::open(
        prepared.default_backend(),
        prepared.backend_kinds(),
        backend_config,
    )
    .map_err(|(kind, e)| {
        anyhow::Error::new(e).context(format!(
            "opening {} (bantam needs root or CAP_NET_ADMIN; try --dry-run)",
            kind.name()
        ))
    })?;
    log::info(&format!(
        "control socket {}{}",
        settings.daemon.socket.display(),
        if args.dry_run { " (dry run)" } else { "" }
    ));
    let daemon = Daemon::new(prepared, Arc::new(SystemClock), Box::new(store), backends);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(daemon.run(std::future::pending()))?;
    Ok(ExitCode::SUCCESS)
}

/// The state database. A dry run keeps its state in memory: recording bans
/// that are not in the firewall would make a later real run restore them.
/// A corrupt database has been moved aside by the store: said loudly, and
/// the run goes on with a new one (a crash loop would protect no one).
fn open_store(settings: &Settings, dry_run: bool) -> Result<SqliteStore> {
    if dry_run {
        return Ok(SqliteStore::open(Path::new(":memory:"))?);
    }
    let store = SqliteStore::open_dir(&settings.daemon.state_dir)?;
    if let Some(q) = &store.opened().quarantined {
        log::error(&format!(
            "the state database was corrupt ({}); it was moved to {} and a new \
             one started. Bans in the firewall are kept and recorded again; ban history \
             (escalation counts) starts over",
            q.reason,
            q.moved_to.display()
        ));
    }
    Ok(store)
}

/// The configuration as this run uses it (the dry run's backend and
/// socket, and `--socket`), and `[daemon]` as the file said it.
fn settings_for(args: &RunArgs, named: bool) -> Result<(Settings, DaemonSettings)> {
    let (mut settings, warnings): (Settings, Vec<String>) =
        bantam_config::load_with_fail2ban(args.config.as_deref(), args.fail2ban_config.as_deref())?;
    for warning in &warnings {
        log::warn(warning);
    }
    let as_loaded = settings.daemon.clone();
    if args.dry_run {
        settings.daemon.backend = BackendKind::DryRun;
        if args.socket.is_none() && ((!named && args.fail2ban_config.is_none()) || !is_root()) {
            settings.daemon.socket = if is_root() {
                PathBuf::from("/run/bantam/bantam-dry-run.sock")
            } else {
                dry_run_socket()
            };
        }
    }
    if let Some(socket) = &args.socket {
        settings.daemon.socket = socket.clone();
    }
    if settings.jails.is_empty() {
        return Err(bantam_config::ConfigError::NoDefault(
            "no enabled jails in the configuration: nothing to do".into(),
        )
        .into());
    }
    Ok((settings, as_loaded))
}
