//! `bantam fleet …`, `bantam banned --fleet`, `bantam unban --fleet`: the
//! fleet as the daemon's fleet thread sees it, and the schema set up by
//! the database's owner.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use bantam_daemon::control::Request;
use bantam_state::{FleetDatabase, PgFleet};
use clap::{Args, Subcommand};

use crate::control_cmd::{self, Reach};

#[derive(Subcommand)]
pub enum FleetCommand {
    /// The link to the fleet's database, the hosts seen (last contact, how
    /// many changes behind) and the writes queued here.
    Status {
        #[command(flatten)]
        reach: Reach,
    },
    /// Create or update the fleet's schema (as the database's owner; the
    /// daemons' roles then need only the rights listed in the README).
    Migrate(MigrateArgs),
}

#[derive(Args)]
pub struct MigrateArgs {
    /// postgresql:// URL of the database, logging in as its owner.
    #[arg(long, value_name = "URL")]
    database: String,
    /// A file whose first line is the password.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// An environment variable holding the password.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
}

pub fn run(command: FleetCommand) -> Result<ExitCode> {
    match command {
        FleetCommand::Status { reach } => {
            control_cmd::send(&reach, Request::FleetStatus {}, print_status)
        }
        FleetCommand::Migrate(args) => migrate(args),
    }
}

pub fn banned(reach: &Reach) -> Result<ExitCode> {
    control_cmd::send(reach, Request::FleetBanned {}, print_bans)
}

pub fn unban(reach: &Reach, targets: Vec<String>) -> Result<ExitCode> {
    control_cmd::send(
        reach,
        Request::FleetUnban { targets },
        control_cmd::print_message,
    )
}

fn migrate(args: MigrateArgs) -> Result<ExitCode> {
    let db = FleetDatabase {
        url: args.database,
        password_file: args.password_file,
        password_env: args.password_env,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let found = runtime.block_on(PgFleet::migrate(&db))?;
    let now = bantam_state::postgres::SCHEMA_VERSION;
    match found == now {
        true => println!("fleet schema already at version {now}"),
        false => println!("fleet schema migrated from version {found} to {now}"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_status(data: &serde_json::Value) {
    let text = |k: &str| data[k].to_string();
    println!(
        "server name:  {}",
        data["server_name"].as_str().unwrap_or("?")
    );
    println!("link:         {}", data["link"].as_str().unwrap_or("?"));
    println!(
        "queued:       {} write(s) ({} dropped)",
        text("queued"),
        text("dropped")
    );
    println!(
        "last change:  {} of {}",
        text("last_change"),
        text("newest_change")
    );
    let Some(hosts) = data["hosts"].as_array() else {
        return;
    };
    println!("hosts:        {}", hosts.len());
    for h in hosts {
        println!(
            "  {:<24} last contact {}s ago, {} change(s) behind",
            h["server_name"].as_str().unwrap_or("?"),
            h["seconds_since_contact"],
            h["lag"]
        );
    }
}

fn print_bans(data: &serde_json::Value) {
    let Some(bans) = data.as_array() else {
        println!("{data}");
        return;
    };
    for b in bans {
        let end = b["end"].as_str().unwrap_or("permanent");
        println!(
            "{}\t{}\t{}\tuntil {end}",
            b["jail"].as_str().unwrap_or("?"),
            b["target"].as_str().unwrap_or("?"),
            b["origin"].as_str().unwrap_or("?"),
        );
    }
    println!("{} ban(s) in force across the fleet", bans.len());
}
