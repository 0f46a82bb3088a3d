//! `bantam history ADDR`: every ban of an address the database remembers,
//! with its reason.
//!
//! Read from the state database directly, read-only, not asked of the
//! daemon: it answers whether the daemon runs or not (after a crash is when
//! one asks), it costs the daemon's loop nothing, and it sees the database
//! as it is on disk, older schema included. It needs read access to the
//! state directory (root, or bantam's own user).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use bantam_firewall::Target;
use bantam_state::{HistoryReader, HistoryRecord};
use clap::Args;

#[derive(Args)]
pub struct HistoryArgs {
    /// The address or network (as it was banned: 192.0.2.1, 2001:db8::/48).
    #[arg(value_name = "ADDR")]
    target: String,
    /// The configuration file whose `[daemon] state-dir` holds the database.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The state directory (default /var/lib/bantam); overrides --config.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Print the bans as a JSON array.
    #[arg(long)]
    json: bool,
}

pub fn run(args: HistoryArgs) -> Result<ExitCode> {
    let target = args
        .target
        .parse::<Target>()
        .and_then(Target::canonical)
        .with_context(|| format!("{:?}", args.target))?;
    let dir = match (&args.state_dir, &args.config) {
        (Some(dir), _) => dir.clone(),
        (None, Some(config)) => bantam_config::load(config)?.daemon.state_dir,
        (None, None) => PathBuf::from(bantam_config::daemon_settings::DEFAULT_STATE_DIR),
    };
    let bans = HistoryReader::open_dir(&dir)?.bans_of(&target.to_string())?;
    if args.json {
        let list: Vec<serde_json::Value> = bans.iter().map(as_json).collect();
        println!("{}", serde_json::Value::Array(list));
    } else if bans.is_empty() {
        println!("{target}: never banned (or purged from the history)");
    } else {
        print_table(&bans);
    }
    Ok(ExitCode::SUCCESS)
}

fn second(t: jiff::Timestamp) -> String {
    t.round(jiff::Unit::Second).unwrap_or(t).to_string()
}

fn as_json(ban: &HistoryRecord) -> serde_json::Value {
    serde_json::json!({
        "jail": ban.jail,
        "target": ban.target,
        "start": second(ban.start),
        "end": ban.end.map(second),
        "failures": ban.failures,
        "reason": ban.reason,
    })
}

fn print_table(bans: &[HistoryRecord]) {
    println!(
        "{:<12} {:<21} {:<21} {:>8}  REASON",
        "JAIL", "START", "END", "FAILURES"
    );
    for ban in bans {
        let end = ban.end.map_or_else(|| "permanent".to_owned(), second);
        println!(
            "{:<12} {:<21} {:<21} {:>8}  {}",
            ban.jail,
            second(ban.start),
            end,
            ban.failures,
            ban.reason.as_deref().unwrap_or("")
        );
    }
}
