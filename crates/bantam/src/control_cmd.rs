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
pub fn banned(reach: &Reach, jail: Option<String>) -> Result<ExitCode> {
    let bans = Client::connect(&reach.socket()?)?.banned_in(jail, None, None)?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match print_bans(bans, reach.json, &mut out).and_then(|()| Ok(out.flush()?)) {
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        other => other.map(|()| ExitCode::SUCCESS),
    }
}

fn print_bans(bans: BanStream, json: bool, out: &mut impl Write) -> Result<()> {
    let now = jiff::Timestamp::now();
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
                    "{:<12} {:<40} {:>10} {:<8} {:>8} {:>5} {:>4} {:<16}  REASON",
                    "JAIL", "TARGET", "LEFT", "ORIGIN", "FAILURES", "BANS", "STEP", "FLAGS"
                )?;
            }
            let step = ban.step.map_or_else(|| "-".to_owned(), |s| s.to_string());
            writeln!(
                out,
                "{:<12} {:<40} {:>10} {:<8} {:>8} {:>5} {:>4} {:<16}  {}",
                ban.jail,
                ban.target,
                time_left(ban.end.as_deref(), now),
                ban.origin,
                ban.failures,
                ban.ban_count,
                step,
                flags(&ban),
                ban.reason.as_deref().unwrap_or("")
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

/// `trusted` (logged in within its jail's trust ttl), `knocking` (sent
/// packets since the ban started: it will be extended), or `-`.
fn flags(ban: &bantam_daemon::control::BanInfo) -> String {
    let flags: Vec<&str> = [(ban.trusted, "trusted"), (ban.knocking, "knocking")]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
    match flags.is_empty() {
        true => "-".to_owned(),
        false => flags.join(","),
    }
}

/// What is left of a ban ending at `end` (RFC 3339), in the largest
/// units, at most two ("1h20m", "3d4h"); `permanent` without an end.
pub(crate) fn time_left(end: Option<&str>, now: jiff::Timestamp) -> String {
    let Some(end) = end else {
        return "permanent".into();
    };
    let Ok(end) = end.parse::<jiff::Timestamp>() else {
        return end.to_owned();
    };
    let secs = end.duration_since(now).as_secs().max(0) as u64;
    let full = human_duration(Duration::from_secs(secs));
    // human_duration writes every unit ("1h2m3s"); two are enough to read.
    let mut units = 0;
    let mut short = String::new();
    for c in full.chars() {
        short.push(c);
        if c.is_ascii_alphabetic() {
            units += 1;
            if units == 2 {
                break;
            }
        }
    }
    short
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

/// `status JAIL`: the jail, then its bans (as `banned --jail` lists them).
pub fn status(reach: &Reach, jail: Option<String>) -> Result<ExitCode> {
    let code = send(reach, Request::Status { jail: jail.clone() }, print_status)?;
    let Some(jail) = jail.filter(|_| !reach.json) else {
        return Ok(code);
    };
    println!("  bans:");
    banned(reach, Some(jail))
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
        match &j.backend {
            Some(backend) => println!("  backend:  {backend}"),
            None => println!("  backend:  none (its fail2ban actions ban)"),
        }
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
        "  {:<40} {:<27} {:>5} {:>4}  FLAGS",
        "TARGET", "UNTIL", "BANS", "STEP"
    );
    for ban in bans {
        let until = ban.end.as_deref().unwrap_or("permanent");
        let step = ban.step.map_or_else(|| "-".to_owned(), |s| s.to_string());
        println!(
            "  {:<40} {:<27} {:>5} {:>4}  {}",
            ban.target,
            until,
            ban.ban_count,
            step,
            flags(ban)
        );
    }
    if total > bans.len() {
        println!("  … {} more: see bantam banned", total - bans.len());
    }
}
