//! The ban pipeline: lines → failures → bans, and every ban through one
//! door.
//!
//! A batch of lines goes source → filter → tracker → bans: every ban the
//! batch earns is written to the store in one transaction, then sent to the
//! firewall in one batch, so a burst of 5,000 attackers costs one commit and
//! one netlink message, not 5,000 of each.
//!
//! [`Daemon::apply_bans`] is the only way in for a ban, whatever earned it
//! (log lines, `bantam ban`, later the fleet), and it holds the rules every
//! ban must keep:
//!
//! * **once per jail**: an address already banned in the jail, or earned
//!   twice in one batch (three failures in one write with `maxretry = 1`),
//!   is banned once, runs its actions once, is counted once;
//! * **ban first, record reliably**: the store is written first when it
//!   works (so that a crash leaves no kernel ban the store does not know),
//!   but a failing store never stops the kernel ban (see
//!   [`crate::recorder`]);
//! * **nothing waits on actions**: they are queued to the jail's thread.

use std::collections::HashSet;

use bantam_firewall::{BanEntry, Target};
use bantam_source::Batch;
use bantam_state::{BanRecord, FilePosition};
use jiff::Timestamp;

use crate::action_worker::OwnedBan;
use crate::bans::ActiveBan;
use crate::daemon::{remaining, Daemon, Fields};
use crate::error::chain;
use crate::jail::{human_duration, target_of};
use crate::log;
use crate::tracker::Verdict;

/// A ban that was earned (by lines or by a request), before it is applied.
pub(crate) struct Earned {
    pub target: Target,
    pub failures: u32,
    pub matches: Vec<String>,
    /// Captures of the failure that tipped it (`user`, …), for actions.
    pub fields: Fields,
}

impl Daemon {
    /// Gives a batch to every jail that reads its source, then keeps its
    /// position (written once the batch's bans are recorded).
    pub(crate) fn on_lines(&mut self, source: u64, batch: Batch) {
        let Some((_, reader)) = self.readers.by_id(source) else {
            // From a reader a reload stopped.
            return;
        };
        let jails = reader.jails.clone();
        let now = self.clock.now();
        if batch.dropped_long > 0 {
            self.count_long_lines(&jails, &batch);
        }
        for jail in jails {
            let earned = self.scan(jail, &batch, now);
            self.apply_bans(jail, earned, now);
        }
        if let Some(cp) = batch.checkpoint {
            self.recorder.save_position(FilePosition {
                path: cp.path.to_string_lossy().into_owned(),
                dev: cp.dev,
                inode: cp.inode,
                offset: cp.offset,
                fingerprint: cp.fingerprint,
            });
            self.positions.insert(cp.path.clone(), cp);
        }
    }

    /// Lines over the length limit were dropped whole by the source: never
    /// split, so a failure-shaped text planted deep in a long field cannot
    /// be judged as a line of its own. Counted per jail; the first bytes of
    /// the first one are logged once per jail, so a flood is one message.
    fn count_long_lines(&mut self, jails: &[usize], batch: &Batch) {
        for &index in jails {
            let jail = &mut self.jails[index];
            if jail.long_lines == 0 {
                let sample = batch.dropped_sample.as_deref().unwrap_or_default();
                log::warn(&format!(
                    "jail {}: {}: dropped a line longer than {} bytes, starting {:?} \
                     (further ones are only counted, in status)",
                    jail.name(),
                    batch.path.display(),
                    bantam_source::MAX_LINE_BYTES,
                    String::from_utf8_lossy(sample)
                ));
            }
            jail.long_lines += batch.dropped_long;
        }
    }

    /// Filters the batch's lines for one jail and returns the bans they
    /// earn, each target once.
    fn scan(&mut self, jail_index: usize, batch: &Batch, now: Timestamp) -> Vec<Earned> {
        let jail = &mut self.jails[jail_index];
        let filter = self
            .filters
            .entry((jail_index, batch.path.clone()))
            .or_insert_with(|| jail.filter.clone());
        let mut earned = Vec::new();
        let mut earned_here: HashSet<Target> = HashSet::new();
        let mut found = Vec::new();
        for line in batch.lines() {
            jail.lines_read += 1;
            found.clear();
            filter.scan(line, now, &mut found);
            for failure in found.drain(..) {
                jail.total_failures += u64::from(failure.count);
                let Some(target) = target_of(&failure.host) else {
                    log::warn(&format!(
                        "jail {}: host name {} not banned (names are never resolved)",
                        jail.name(),
                        failure.host
                    ));
                    continue;
                };
                if jail.ignores(&target)
                    || jail.too_old(failure.time, now)
                    || earned_here.contains(&target)
                    || self.bans.is_banned(jail.name(), &target)
                {
                    continue;
                }
                let verdict = jail
                    .tracker
                    .record(target, failure.time, failure.count, line);
                if let Verdict::Ban { failures, matches } = verdict {
                    earned_here.insert(target);
                    earned.push(Earned {
                        target,
                        failures,
                        matches,
                        fields: fields_of(&failure),
                    });
                }
            }
        }
        earned
    }

    /// Bans `earned` in jail `jail_index`: one store transaction, one
    /// firewall batch. Returns how many were new bans.
    pub(crate) fn apply_bans(
        &mut self,
        jail_index: usize,
        earned: Vec<Earned>,
        now: Timestamp,
    ) -> usize {
        let jail_name = self.jails[jail_index].name().to_owned();
        let end = self.jails[jail_index].ban_end(now);
        let mut records = Vec::with_capacity(earned.len());
        let mut fields = Vec::with_capacity(earned.len());
        let mut seen = HashSet::new();
        for e in earned {
            if !seen.insert(e.target) || self.bans.is_banned(&jail_name, &e.target) {
                continue;
            }
            let name = e.target.to_string();
            let ban_count = self.previous_bans(&jail_name, &name) + 1;
            records.push((
                e.target,
                BanRecord {
                    jail: jail_name.clone(),
                    target: name,
                    start: now,
                    end,
                    failures: e.failures,
                    ban_count,
                    matches: e.matches,
                },
            ));
            fields.push(e.fields);
        }
        if records.is_empty() {
            return 0;
        }
        // Store first (when it works); the kernel ban never waits for it.
        self.recorder
            .record(records.iter().map(|(_, r)| r.clone()).collect());
        if self.jails[jail_index].native_ban {
            let entries: Vec<BanEntry> = records
                .iter()
                .map(|(target, _)| BanEntry::new(*target, remaining(end, now)))
                .collect();
            if let Err(e) = self.backend.ban(&entries) {
                log::error(&format!("jail {jail_name}: firewall: {}", chain(&e)));
            }
        }
        self.log_bans(jail_index, &records);
        let count = records.len();
        let jail = &mut self.jails[jail_index];
        jail.total_banned += count as u64;
        for ((target, mut record), fields) in records.into_iter().zip(fields) {
            jail.ban_action(OwnedBan::of(&record, target, false, fields));
            if !jail.has_actions() {
                record.matches = Vec::new(); // see BanBook: only actions read them
            }
            jail.tracker.forget(&target);
            self.bans.insert(ActiveBan { target, record });
        }
        count
    }

    /// How many times `target` was banned in `jail` before; a store that
    /// cannot say counts as "never" rather than holding the ban up.
    fn previous_bans(&mut self, jail: &str, target: &str) -> u32 {
        self.recorder
            .store()
            .ban_count(Some(jail), target)
            .unwrap_or(0)
    }

    fn log_bans(&self, jail_index: usize, records: &[(Target, BanRecord)]) {
        let jail = &self.jails[jail_index];
        let span = match jail.settings.bantime {
            bantam_config::BanTime::Permanent => "permanently".to_owned(),
            bantam_config::BanTime::For(d) => format!("for {}", human_duration(d)),
        };
        let verb = if self.options.dry_run {
            "would ban"
        } else {
            "banned"
        };
        let messages: Vec<String> = records
            .iter()
            .map(|(_, r)| {
                format!(
                    "{}: {verb} {} {span} ({} failures)",
                    r.jail, r.target, r.failures
                )
            })
            .collect();
        log::info_many(&messages);
    }
}

/// The captures of the failure that earned the ban: what fail2ban's actions
/// see as `<F-USER>`, `<F-…>`, `<fid>`.
fn fields_of(failure: &bantam_filter::Failure) -> Fields {
    let mut fields: Fields = failure
        .fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if let Some(user) = &failure.user {
        fields.insert("user".into(), user.to_string());
    }
    if let Some(id) = &failure.id {
        fields.insert("fid".into(), id.to_string());
    }
    fields
}
