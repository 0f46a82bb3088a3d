//! `bantam check`: everything a start or a reload would trip over, found
//! before it happens, and what each jail's filter makes of the tail of its
//! real logs.
//!
//! Nothing changes: no firewall table, no store, no socket. Each problem is
//! one line naming the file and key, the path, or the jail; the report is
//! "clean" only when there is none. Notes are things worth knowing that are
//! not wrong (a stale socket the daemon will replace, a stream source that
//! cannot be sampled).
//!
//! A jail whose filter finds no failure in what was read is a problem: the
//! usual cause is a filter that does not fit the log (another date format,
//! another program name), which otherwise looks exactly like a quiet log.

mod environment;
mod scan;

use std::time::Duration;

use bantam_config::Settings;
use jiff::Timestamp;
use serde::Serialize;

use crate::jail::Jail;

/// How much of each log to read.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// At most this many lines (journal entries) per log path.
    pub lines: usize,
    /// Failures older than this (before `now`) are not counted.
    pub since: Duration,
    pub now: Timestamp,
}

impl Default for CheckOptions {
    fn default() -> CheckOptions {
        CheckOptions {
            lines: 10_000,
            since: Duration::from_secs(86_400),
            now: Timestamp::now(),
        }
    }
}

/// What one jail's filter found in its logs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct JailRow {
    pub jail: String,
    /// Its log paths as configured.
    pub sources: Vec<String>,
    /// Lines (journal entries) read.
    pub lines: u64,
    /// Failures within `since`.
    pub failures: u64,
    /// Addresses the daemon would ban now: `maxretry` failures within
    /// `findtime` before now, `ignoreip` left out.
    pub would_ban: Vec<String>,
    /// Failure rules that matched no line read.
    pub unmatched_rules: Vec<String>,
    /// JSON lines that were not an object (json filters).
    pub malformed: u64,
    /// What went wrong reading its sources (also in the report's problems).
    pub errors: Vec<String>,
}

/// The whole answer.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    /// True when there is no problem.
    pub ok: bool,
    pub problems: Vec<String>,
    pub notes: Vec<String>,
    pub jails: Vec<JailRow>,
}

impl CheckReport {
    fn problem(&mut self, message: String) {
        self.problems.push(message);
    }
}

/// Checks `settings` (already loaded: a configuration that does not load is
/// the caller's first and only problem) and reads each jail's logs.
/// `warnings` are what loading said (absent logs, fail2ban jails not run).
pub fn check(settings: &Settings, warnings: &[String], options: &CheckOptions) -> CheckReport {
    let mut report = CheckReport {
        notes: warnings.to_vec(),
        ..CheckReport::default()
    };
    if settings.jails.is_empty() {
        report.problem("no enabled jails in the configuration: nothing to do".into());
    }
    environment::check(settings, &mut report);
    for jail_settings in &settings.jails {
        let backend = jail_settings.backend(settings.daemon.backend);
        match Jail::new(jail_settings.clone(), settings.daemon.max_tracked, backend) {
            Ok(mut jail) => {
                let row = scan::scan_jail(&mut jail, settings, options);
                for e in &row.errors {
                    report.problem(format!("jail {}: {e}", row.jail));
                }
                report.jails.push(row);
            }
            Err(e) => report.problem(format!(
                "jail {}: {}",
                jail_settings.name,
                crate::error::chain(&e)
            )),
        }
    }
    report.ok = report.problems.is_empty();
    report
}
