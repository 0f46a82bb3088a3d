//! The commands that talk to a running daemon over its control socket.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Result};
use bantam_daemon::control::client::{self, BanStream, Client};
use bantam_daemon::control::{Request, Response, Status};
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

/// `banned`: prints the bans as they arrive, so that neither the daemon
/// nor this process ever holds the whole list (with `--json`, one JSON
/// array written element by element).
pub fn banned(reach: &Reach) -> Result<ExitCode> {
    let bans = Client::connect(&reach.socket()?)?.banned(None, None)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match print_bans(bans, reach.json, &mut out).and_then(|()| Ok(out.flush()?)) {
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        other => other.map(|()| ExitCode::SUCCESS),
    }
}

fn print_bans(bans: BanStream, json: bool, out: &mut impl Write) -> Result<()> {
    let mut count = 0;
    if json {
        write!(out, "[")?;
    }
    for ban in bans {
        let ban = ban?;
        if json {
            // Through a JSON value: keys in the order `--json` always had.
            let sep = if count == 0 { "" } else { "," };
            write!(out, "{sep}{}", serde_json::to_value(&ban)?)?;
        } else {
            if count == 0 {
                writeln!(
                    out,
                    "{:<12} {:<40} {:<27} {:>8} {:>5} {:>4}",
                    "JAIL", "TARGET", "UNTIL", "FAILURES", "BANS", "STEP"
                )?;
            }
            let until = ban.end.unwrap_or_else(|| "permanent".into());
            let step = ban.step.map_or_else(|| "-".to_owned(), |s| s.to_string());
            writeln!(
                out,
                "{:<12} {:<40} {:<27} {:>8} {:>5} {:>4}",
                ban.jail, ban.target, until, ban.failures, ban.ban_count, step
            )?;
        }
        count += 1;
    }
    if json {
        writeln!(out, "]")?;
    } else if count == 0 {
        writeln!(out, "no bans")?;
    }
    Ok(())
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
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
    if let Some(fleet) = &status.fleet {
        println!("fleet: {fleet}");
    }
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
        if let Some(bans) = &j.bans {
            print_jail_bans(bans, j.currently_banned);
        }
    }
}

/// `status JAIL`: the jail's bans with their count and step (`-`: the
/// jail does not escalate).
fn print_jail_bans(bans: &[bantam_daemon::control::BanInfo], total: usize) {
    if bans.is_empty() {
        return;
    }
    println!(
        "  {:<40} {:<27} {:>5} {:>4}",
        "TARGET", "UNTIL", "BANS", "STEP"
    );
    for ban in bans {
        let until = ban.end.as_deref().unwrap_or("permanent");
        let step = ban.step.map_or_else(|| "-".to_owned(), |s| s.to_string());
        println!(
            "  {:<40} {:<27} {:>5} {:>4}",
            ban.target, until, ban.ban_count, step
        );
    }
    if total > bans.len() {
        println!("  … {} more: see bantam banned", total - bans.len());
    }
}
