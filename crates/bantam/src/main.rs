//! `bantam`: the command-line front end. Thin by design: argument parsing and
//! presentation live here; everything that decides anything lives in the
//! library crates (see ARCHITECTURE.md).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod backend_config;
mod check_cmd;
mod check_samples;
mod completions_cmd;
mod control_cmd;
mod filter_arg;
mod fleet_cmd;
mod history_cmd;
mod import_cmd;
mod regex_cmd;
mod regex_fail2ban;
mod regex_report;
mod run_cmd;

use bantam_daemon::control::Request;
use bantam_daemon::DaemonError;
use control_cmd::Reach;

/// Ban hosts that fail to authenticate: a fast, safe successor to fail2ban.
///
/// bantam reads logs (files, the journal, pipes), finds failed logins and
/// other abuse with filters, and bans the addresses behind them in
/// nftables for a while. It runs fail2ban's own configurations too. `bantam
/// run` is the daemon; the other commands test filters or ask the running
/// daemon about its jails and bans.
#[derive(Parser)]
#[command(name = "bantam", version = env!("BANTAM_VERSION"), propagate_version = true)]
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
    /// Check the configuration, the host and each jail against the tail of
    /// its real logs (before a start or a reload). Exit 1 on any problem.
    Check(check_cmd::CheckArgs),
    /// Show the jails and their counters; with a jail, also its bans.
    Status {
        /// Only this jail, and list its bans.
        jail: Option<String>,
        #[command(flatten)]
        reach: Reach,
    },
    /// List the current bans with the time they have left, their origin
    /// (log, manual, adopted) and how many times each was banned.
    Banned {
        /// Only the bans of this jail.
        #[arg(long, value_name = "JAIL")]
        jail: Option<String>,
        /// The bans in force across the fleet (from its database).
        #[arg(long)]
        fleet: bool,
        #[command(flatten)]
        reach: Reach,
    },
    /// Ban addresses or networks in a jail now.
    Ban {
        /// The jail to ban in (its actions run, its ban time applies).
        jail: String,
        /// Addresses or networks (192.0.2.1, 2001:db8::/48).
        #[arg(required = true, value_name = "ADDR")]
        targets: Vec<String>,
        /// How long (30m, 1h, 7d) instead of the jail's ban time.
        #[arg(long = "for", value_name = "DURATION", value_parser = bantam_config::duration::parse_duration)]
        lasting: Option<std::time::Duration>,
        /// Why: kept with the ban and in its history (`bantam history`).
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
        /// Ban even where the daemon's safety checks would refuse.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        reach: Reach,
    },
    /// Lift bans on addresses or networks (in every jail), or all bans.
    Unban {
        /// Addresses or networks to lift, as they were banned.
        #[arg(value_name = "ADDR", required_unless_present = "all")]
        targets: Vec<String>,
        /// Lift every ban (of the jail, with --jail).
        #[arg(long, conflicts_with = "targets")]
        all: bool,
        /// Only in this jail; other jails' bans of the same address stay.
        #[arg(long, value_name = "JAIL")]
        jail: Option<String>,
        /// Lift the bans on every host of the fleet too.
        #[arg(long, conflicts_with = "all")]
        fleet: bool,
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
    /// Every ban of an address the database remembers, with its reason
    /// (read from the state database, daemon running or not).
    History(history_cmd::HistoryArgs),
    /// Print a shell completion script (bash, zsh, fish) to standard output.
    Completions(completions_cmd::CompletionsArgs),
    /// Print the man page (roff) to standard output; used to build the
    /// package.
    #[command(hide = true)]
    Manpage,
    /// A fleet of hosts sharing bans through PostgreSQL.
    #[command(subcommand)]
    Fleet(fleet_cmd::FleetCommand),
}

// A ban's records are built on the loop and freed on the store's thread;
// glibc's allocator consolidates and locks on such cross-thread frees, which
// was a sixth of a burst of new attackers. mimalloc frees them to their own
// page without a lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Options of mimalloc 3's `mi_option_e` (the crate names no constants
/// for them; Cargo.lock pins the version).
const MI_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory back to the system as soon as it is free, and committed only as
/// it is used. By default an arena is committed whole up front (an idle
/// daemon held 36 MB, not 17), and freed pages wait 10 ms to be returned:
/// after restoring a million bans the daemon still held 426 MB (glibc:
/// 160), with no wait 105 MB. A burst is as fast either way. This must run before the first
/// allocation reserves an arena, so it is a constructor (priority 102:
/// after mimalloc's own at 101, before Rust's `main`).
extern "C" fn allocator_options() {
    // SAFETY: sets plain integer options of an initialised allocator.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_PURGE_DELAY, 0);
    }
}

#[used]
#[link_section = ".init_array.00102"]
static ALLOCATOR_OPTIONS: extern "C" fn() = allocator_options;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Regex(args) => regex_cmd::run(args),
        Command::Run(args) => run_cmd::run(args),
        Command::Check(args) => check_cmd::run(args),
        Command::CheckSamples(args) => check_samples::run(args),
        Command::ImportFail2ban(args) => import_cmd::run(args),
        Command::Status { jail, reach } => control_cmd::status(&reach, jail),
        Command::Banned {
            fleet: true, reach, ..
        } => fleet_cmd::banned(&reach),
        Command::Banned { jail, reach, .. } => control_cmd::banned(&reach, jail),
        Command::Ban {
            jail,
            targets,
            lasting,
            reason,
            force,
            reach,
        } => control_cmd::send(
            &reach,
            Request::Ban {
                jail,
                targets,
                force,
                bantime_seconds: lasting.map(|d| d.as_secs().max(1)),
                reason,
            },
            control_cmd::print_message,
        ),
        Command::Unban {
            targets,
            fleet: true,
            reach,
            ..
        } => fleet_cmd::unban(&reach, targets),
        Command::Unban {
            targets,
            all,
            jail,
            reach,
            ..
        } => control_cmd::send(
            &reach,
            Request::Unban { targets, all, jail },
            control_cmd::print_message,
        ),
        Command::Reload { reach } => {
            control_cmd::send(&reach, Request::Reload {}, control_cmd::print_message)
        }
        Command::Stop { reach } => {
            control_cmd::send(&reach, Request::Stop {}, control_cmd::print_message)
        }
        Command::History(args) => history_cmd::run(args),
        Command::Completions(args) => completions_cmd::completions::<Cli>(args),
        Command::Manpage => completions_cmd::manpage::<Cli>(),
        Command::Fleet(command) => fleet_cmd::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("bantam: {}", one_line(&err));
            ExitCode::from(exit_code(&err))
        }
    }
}

/// Exit statuses besides 0 (done) and 2 (usage, from clap).
mod status {
    /// Anything else that went wrong.
    pub const FAILURE: u8 = 1;
    /// No daemon answers on the control socket.
    pub const NOT_RUNNING: u8 = 3;
    /// The configuration is wrong: restarting will not help (sysexits'
    /// EX_CONFIG; the systemd unit does not restart on it).
    pub const CONFIG: u8 = 78;
}

fn exit_code(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        match cause.downcast_ref::<DaemonError>() {
            Some(DaemonError::NotRunning { .. }) => return status::NOT_RUNNING,
            // A filter that does not compile or an action that cannot be
            // built is configuration too: restarting will not fix it.
            Some(DaemonError::Config(_) | DaemonError::Filter(_)) => return status::CONFIG,
            _ => {}
        }
        if cause.is::<bantam_config::ConfigError>() || cause.is::<bantam_filter::FilterError>() {
            return status::CONFIG;
        }
    }
    status::FAILURE
}

/// The chain of causes on one line, each said once: an error whose text
/// already includes its source's is not followed by it again.
fn one_line(err: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    fn missing_file() -> std::io::Error {
        std::io::Error::from_raw_os_error(libc::ENOENT)
    }

    #[test]
    fn each_cause_is_printed_once() {
        // ConfigError::Read both prints and returns its io::Error.
        let err = anyhow::Error::from(bantam_config::ConfigError::Read {
            path: "/etc/bantam/bantam.toml".into(),
            error: missing_file(),
        });
        assert_eq!(
            one_line(&err),
            "/etc/bantam/bantam.toml: cannot read: No such file or directory (os error 2)"
        );
        let err = Err::<(), _>(missing_file())
            .context("opening the log")
            .unwrap_err();
        assert_eq!(
            one_line(&err),
            "opening the log: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn every_argument_and_command_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() {
                    missing.push(format!("{path} {} (about)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        use clap::CommandFactory;
        let cmd = Cli::command();
        assert!(cmd.get_about().unwrap().to_string().contains("fail2ban"));
        assert!(cmd
            .get_version()
            .unwrap()
            .starts_with(env!("CARGO_PKG_VERSION")));
        let mut missing = Vec::new();
        walk(&cmd, "bantam", &mut missing);
        assert!(missing.is_empty(), "without help: {missing:#?}");
    }

    #[test]
    fn exit_codes_tell_failures_apart() {
        let config = bantam_config::ConfigError::NoDefault("no log".into());
        assert_eq!(exit_code(&anyhow::Error::from(config)), 78);
        let config = DaemonError::Config(bantam_config::ConfigError::NoDefault("no log".into()));
        assert_eq!(exit_code(&anyhow::Error::from(config)), 78);
        let down = DaemonError::NotRunning {
            path: "/run/bantam/bantam.sock".into(),
            source: missing_file(),
        };
        let down = anyhow::Error::from(down).context("status");
        assert_eq!(exit_code(&down), 3);
        let refused = DaemonError::Refused("no jail named \"x\"".into());
        assert_eq!(exit_code(&anyhow::Error::from(refused)), 1);
        assert_eq!(exit_code(&anyhow::anyhow!("no enabled jails")), 1);
    }
}
