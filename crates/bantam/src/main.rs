//! `bantam`: the command-line front end. Thin by design: argument parsing and
//! presentation live here; everything that decides anything lives in the
//! library crates (see ARCHITECTURE.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod check_samples;
mod control_cmd;
mod filter_arg;
mod import_cmd;
mod regex_cmd;
mod regex_fail2ban;
mod regex_report;
mod run_cmd;

use bantam_daemon::control::Request;
use control_cmd::Reach;

/// Ban hosts that fail to authenticate: a fast, safe successor to fail2ban.
#[derive(Parser)]
#[command(name = "bantam", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Test a filter against a log file or a single line (the successor of
    /// fail2ban-regex).
    Regex(regex_cmd::RegexArgs),
    /// Judge the fail2ban engine with fail2ban's annotated sample logs.
    CheckSamples(check_samples::CheckSamplesArgs),
    /// Print a fail2ban configuration directory as bantam's native TOML.
    ImportFail2ban(import_cmd::ImportArgs),
    /// Run the daemon in the foreground (systemd style).
    Run(run_cmd::RunArgs),
    /// Show the jails and their counters.
    Status {
        /// Only this jail.
        jail: Option<String>,
        #[command(flatten)]
        reach: Reach,
    },
    /// List the current bans.
    Banned {
        #[command(flatten)]
        reach: Reach,
    },
    /// Ban addresses or networks in a jail now.
    Ban {
        jail: String,
        #[arg(required = true, value_name = "ADDR")]
        targets: Vec<String>,
        #[command(flatten)]
        reach: Reach,
    },
    /// Lift bans on addresses or networks (in every jail), or all bans.
    Unban {
        #[arg(value_name = "ADDR", required_unless_present = "all")]
        targets: Vec<String>,
        /// Lift every ban.
        #[arg(long, conflicts_with = "targets")]
        all: bool,
        #[command(flatten)]
        reach: Reach,
    },
    /// Re-read the configuration; bans and log positions are kept.
    Reload {
        #[command(flatten)]
        reach: Reach,
    },
    /// Stop the daemon; bans stay in the firewall until they end.
    Stop {
        #[command(flatten)]
        reach: Reach,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Regex(args) => regex_cmd::run(args),
        Command::Run(args) => run_cmd::run(args),
        Command::CheckSamples(args) => check_samples::run(args),
        Command::ImportFail2ban(args) => import_cmd::run(args),
        Command::Status { jail, reach } => {
            control_cmd::send(&reach, Request::Status { jail }, control_cmd::print_status)
        }
        Command::Banned { reach } => {
            control_cmd::send(&reach, Request::Banned {}, control_cmd::print_banned)
        }
        Command::Ban {
            jail,
            targets,
            reach,
        } => control_cmd::send(
            &reach,
            Request::Ban {
                jail,
                targets,
                force: false,
            },
            control_cmd::print_message,
        ),
        Command::Unban {
            targets,
            all,
            reach,
        } => control_cmd::send(
            &reach,
            Request::Unban { targets, all },
            control_cmd::print_message,
        ),
        Command::Reload { reach } => {
            control_cmd::send(&reach, Request::Reload {}, control_cmd::print_message)
        }
        Command::Stop { reach } => {
            control_cmd::send(&reach, Request::Stop {}, control_cmd::print_message)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            // One line a user can act on: the chain of causes, joined.
            eprintln!("bantam: {err:#}");
            ExitCode::from(2)
        }
    }
}
