//! A configuration file and its drop-ins: `FILE` plus every `*.toml` in
//! the `conf.d/` directory beside it, merged in lexical order, a later file
//! winning key by key (`[daemon]`, `[defaults]`, and each jail by name), so
//! a package can ship `/etc/bantam/bantam.toml` and an admin or another
//! package adds `/etc/bantam/conf.d/50-nginx.toml` without editing it
//! (fail2ban users know `jail.d`).
//!
//! Every document keeps its own spans: each is parsed from a text padded
//! to where it starts in the joined text, so an error and a relative path
//! name the file the value was written in.

use std::path::{Path, PathBuf};

use toml::Spanned;

use crate::error::ConfigError;
use crate::notify_settings::NotifyOptions;
use crate::options::{DaemonOptions, Options};
use crate::settings::{Cx, Settings};

/// The configuration `bantam` reads when no `--config` is given.
pub const SYSTEM_CONFIG: &str = "/etc/bantam/bantam.toml";

/// The drop-ins of `main`: `conf.d/*.toml` beside it, in lexical order.
pub fn dropins(main: &Path) -> Vec<PathBuf> {
    let dir = main.parent().unwrap_or(Path::new(".")).join("conf.d");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && !p.is_dir())
        .collect();
    found.sort();
    found
}

/// `main` when it or one of its drop-ins exists: the configuration to read
/// when none is named (with `main` = [`SYSTEM_CONFIG`]).
pub fn present(main: &Path) -> Option<PathBuf> {
    (main.exists() || !dropins(main).is_empty()).then(|| main.to_owned())
}

/// Reads `main` and its drop-ins. `main` may be absent when drop-ins
/// exist (they are then the whole configuration).
pub fn load_layered(main: &Path) -> Result<Settings, ConfigError> {
    let mut files = Vec::new();
    let extra = dropins(main);
    match std::fs::read_to_string(main) {
        Ok(text) => files.push((main.to_owned(), text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !extra.is_empty() => {}
        Err(error) => {
            return Err(ConfigError::Read {
                path: main.to_owned(),
                error,
            })
        }
    }
    for path in extra {
        let text = std::fs::read_to_string(&path).map_err(|error| ConfigError::Read {
            path: path.clone(),
            error,
        })?;
        files.push((path, text));
    }
    let mut joined = String::new();
    let mut docs = Vec::new();
    for (path, text) in &files {
        docs.push((path.clone(), joined.len()));
        joined.push_str(text);
    }
    let cx = Cx::new(main, &joined, &docs);
    let mut merged = Options::default();
    for ((_, text), (_, start)) in files.iter().zip(&docs) {
        // Padding with spaces (no newlines) puts this document's spans at
        // its place in `joined` without changing its line numbers.
        let padded = format!("{}{text}", " ".repeat(*start));
        let options: Options = toml::from_str(&padded).map_err(|e| cx.toml_error(&e))?;
        merged = layer(merged, options);
    }
    cx.resolve(merged)
}

/// `later` over `earlier`, key by key.
fn layer(earlier: Options, later: Options) -> Options {
    let mut jails = earlier.jails;
    for (name, jail) in later.jails {
        let merged = match jails.remove(&name) {
            // The jail keeps the place it was first written at.
            Some(old) => Spanned::new(old.span(), jail.into_inner().merged_with(old.get_ref())),
            None => jail,
        };
        jails.insert(name, merged);
    }
    Options {
        daemon: layer_daemon(earlier.daemon, later.daemon),
        defaults: later.defaults.merged_with(&earlier.defaults),
        jails,
        notify: layer_notify(earlier.notify, later.notify),
        fleet: later.fleet.or(earlier.fleet),
    }
}

fn layer_daemon(e: DaemonOptions, l: DaemonOptions) -> DaemonOptions {
    DaemonOptions {
        state_dir: l.state_dir.or(e.state_dir),
        socket: l.socket.or(e.socket),
        max_tracked: l.max_tracked.or(e.max_tracked),
        backend: l.backend.or(e.backend),
        hostname: l.hostname.or(e.hostname),
        server_name: l.server_name.or(e.server_name),
        fail2ban_config: l.fail2ban_config.or(e.fail2ban_config),
        fail2ban_actions: l.fail2ban_actions.or(e.fail2ban_actions),
        fail2ban_mail: l.fail2ban_mail.or(e.fail2ban_mail),
        dbpurgeage: l.dbpurgeage.or(e.dbpurgeage),
        manual_ban_widest_v4: l.manual_ban_widest_v4.or(e.manual_ban_widest_v4),
        manual_ban_widest_v6: l.manual_ban_widest_v6.or(e.manual_ban_widest_v6),
        max_connections: l.max_connections.or(e.max_connections),
        control_timeout: l.control_timeout.or(e.control_timeout),
        journal_dir: l.journal_dir.or(e.journal_dir),
        hooks: l.hooks.or(e.hooks),
        nflog: l.nflog.or(e.nflog),
        metrics: l.metrics.or(e.metrics),
        page: l.page.or(e.page),
    }
}

/// A later file's channel replaces the earlier file's whole (a channel's
/// keys belong together: a new URL with an old password would be wrong).
fn layer_notify(e: Option<NotifyOptions>, l: Option<NotifyOptions>) -> Option<NotifyOptions> {
    match (e, l) {
        (Some(e), Some(l)) => Some(NotifyOptions {
            mail: l.mail.or(e.mail),
            webhook: l.webhook.or(e.webhook),
        }),
        (e, l) => l.or(e),
    }
}

#[cfg(test)]
#[path = "layers_tests.rs"]
mod tests;
