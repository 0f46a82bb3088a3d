//! `bantam`: the command-line front end. Thin by design: argument parsing and
//! presentation live here; everything that decides anything lives in the
//! library crates (see ARCHITECTURE.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod filter_arg;
mod regex_cmd;
mod regex_report;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Regex(args) => regex_cmd::run(args),
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
