//! The commands that talk to a running daemon over its control socket.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use bantam_daemon::control::client;
use bantam_daemon::control::{BanInfo, Request, Response, Status};
use bantam_daemon::jail::human_duration;
use clap::Args;

/// How to find the daemon.
#[derive(Args, Clone)]
pub struct Reach {
    /// The configuration file whose `[daemon] socket` to use.
    #[arg(long, value_name = "FILE", global = true)]
    config: Option<PathBuf>,
    /// The control socket (default /run/bantam/bantam.sock).
    #[arg(long, value_name = "PATH", global = true)]
    socket: Option<PathBuf>,
    /// Print the daemon's answer as JSON.
    #[arg(long, global = true)]
    json: bool,
}

impl Reach {
    fn socket(&self) -> Result<PathBuf> {
        if let Some(s) = &self.socket {
            return Ok(s.clone());
        }
        if let Some(c) = &self.config {
            return Ok(bantam_config::load(c)?.daemon.socket);
        }
        Ok(PathBuf::from(bantam_config::settings::DEFAULT_SOCKET))
    }
}

/// Sends `request`; prints the answer (as JSON with `--json`, else with
/// `human`). A refusal from the daemon is an error exit.
pub fn send(
    reach: &Reach,
    request: Request,
    human: impl FnOnce(&serde_json::Value),
) -> Result<ExitCode> {
    let response: Response = client::send(&reach.socket()?, &request)?;
    if !response.ok {
        bail!(
            "{}",
            response
                .error
                .unwrap_or_else(|| "the daemon refused without saying why".into())
        );
    }
    let data = response.data.unwrap_or(serde_json::Value::Null);
    if reach.json {
        println!("{data}");
    } else {
        human(&data);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn print_message(data: &serde_json::Value) {
    match data.as_str() {
        Some(s) => println!("{s}"),
        None => println!("{data}"),
    }
}

pub fn print_status(data: &serde_json::Value) {
    let Ok(status) = serde_json::from_value::<Status>(data.clone()) else {
        println!("{data}");
        return;
    };
    println!(
        "backend: {}{}",
        status.backend,
        if status.dry_run { " (dry run)" } else { "" }
    );
    for j in status.jails {
        let secs = |s: u64| human_duration(Duration::from_secs(s));
        let bantime = j.bantime_seconds.map_or("permanent".to_owned(), secs);
        println!("jail {} (filter {})", j.name, j.filter);
        println!("  logs:     {}", j.logpath.join(", "));
        println!(
            "  policy:   {} failures within {}, ban {bantime}",
            j.maxretry,
            secs(j.findtime_seconds)
        );
        println!(
            "  now:      {} banned, {} tracked",
            j.currently_banned, j.tracked
        );
        println!(
            "  total:    {} banned, {} failures, {} lines read",
            j.total_banned, j.total_failures, j.lines_read
        );
    }
}

pub fn print_banned(data: &serde_json::Value) {
    let Ok(bans) = serde_json::from_value::<Vec<BanInfo>>(data.clone()) else {
        println!("{data}");
        return;
    };
    if bans.is_empty() {
        println!("no bans");
        return;
    }
    println!(
        "{:<12} {:<40} {:<27} {:>8} {:>5}",
        "JAIL", "TARGET", "UNTIL", "FAILURES", "BANS"
    );
    for b in bans {
        let until = b.end.unwrap_or_else(|| "permanent".into());
        println!(
            "{:<12} {:<40} {:<27} {:>8} {:>5}",
            b.jail, b.target, until, b.failures, b.ban_count
        );
    }
}
