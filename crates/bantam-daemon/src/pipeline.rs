//! The ban pipeline: lines → failures → bans, and every ban through one
//! door.
//!
//! A batch of lines goes source → filter → tracker → bans: every ban the
//! batch earns is sent to the firewall in one batch, then written to the
//! store in one transaction, so a burst of 5,000 attackers costs one commit and
//! one netlink message, not 5,000 of each.
//!
//! [`Daemon::apply_bans`] is the only way in for a ban, whatever earned it
//! (log lines, `bantam ban`, later the fleet), and it holds the rules every
//! ban must keep:
//!
//! * **once per jail**: an address already banned in the jail, or earned
//!   twice in one batch (three failures in one write with `maxretry = 1`),
//!   is banned once, runs its actions once, is counted once;
//! * **ban first, record reliably**: the kernel ban never waits for the
//!   store; the records go to the store's own thread, and log positions
//!   are saved only once they are on disk, so a crash in between costs a
//!   re-read, not a ban (see [`crate::recorder`]);
//! * **nothing waits on actions**: they are queued to the jail's thread.

use std::collections::HashSet;

use bantam_firewall::{BanEntry, Target};
use bantam_source::Batch;
use bantam_state::{BanRecord, FilePosition};
use jiff::Timestamp;

use crate::action_worker::OwnedBan;
use crate::daemon::{Daemon, Fields};
use crate::error::chain;
use crate::jail::target_of;
use crate::log;
use crate::tracker::Verdict;

/// A ban that was earned (by lines or by a request), before it is applied.
pub(crate) struct Earned {
    pub target: Target,
    pub failures: u32,
    pub matches: Vec<String>,
    /// Captures of the failure that tipped it (`user`, …), for actions.
    pub fields: Fields,
    /// The tipping rule's own `bantime`, if it has one.
    pub bantime: Option<bantam_config::BanTime>,
    /// For bans by hand: why, and how long instead of the jail's ban time.
    pub by_hand: Option<ByHand>,
}

/// What `bantam ban` adds to a ban.
#[derive(Clone)]
pub(crate) struct ByHand {
    pub reason: String,
    pub lasting: Option<std::time::Duration>,
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
        let started = std::time::Instant::now();
        if batch.dropped_long > 0 {
            self.count_long_lines(&jails, &batch);
        }
        for jail in jails {
            let earned = self.scan(jail, &batch, now);
            let earned = self.screen_ignore_command(jail, earned, now);
            let banned = self.apply_new_bans(jail, earned, now);
            crate::metrics::observe_bans(banned, started.elapsed());
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
        // Failures counted here, for a fleet that counts them too.
        let mut counted = Vec::new();
        for (line, meta) in batch.lines_with_meta() {
            jail.lines_read += 1;
            found.clear();
            // A JSON filter judges a journal entry's or syslog message's
            // fields; every other filter reads the line.
            let judged = meta.is_some_and(|meta| {
                let record = crate::line_record::LineRecord::new(meta, line);
                filter.scan_record(&record, now, &mut found)
            });
            if !judged {
                filter.scan(line, now, &mut found);
            }
            for failure in found.drain(..) {
                if failure.success {
                    jail.on_success(&failure.host, failure.time);
                    continue;
                }
                jail.total_failures += u64::from(failure.count);
                crate::metrics::record_failures(now.as_second(), failure.count);
                let Some(target) = target_of(&failure.host) else {
                    log::warn(&format!(
                        "jail {}: host name {} not banned (names are never resolved)",
                        jail.name(),
                        failure.host
                    ));
                    continue;
                };
                let target = jail.counting_key(target);
                // A rule of weight 0 is noted (total_failures) but never counts.
                if failure.weighted() == 0
                    || jail.ignores(&target)
                    || jail.too_old(failure.time, now)
                    || earned_here.contains(&target)
                    || self.bans.is_banned(jail.name(), &target)
                {
                    continue;
                }
                log::failure(jail.name(), &target);
                counted.push((target, failure.time, failure.count));
                let limit = jail.failure_limit(&target, now);
                let verdict = jail.tracker.record_weighted(
                    target,
                    failure.time,
                    failure.weighted(),
                    line,
                    limit,
                );
                if let Verdict::Ban { failures, matches } = verdict {
                    earned_here.insert(target);
                    earned.push(Earned {
                        target,
                        failures,
                        matches,
                        // Only actions read them: a map per ban otherwise built to be dropped.
                        fields: if jail.has_actions() {
                            fields_of(&failure)
                        } else {
                            Fields::default()
                        },
                        bantime: jail.rule_bantime(failure.rule),
                        by_hand: None,
                    });
                }
            }
        }
        self.fleet_failures(jail_index, counted);
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
        let jail_name = self.jails[jail_index].name();
        let mut seen = HashSet::new();
        let earned: Vec<Earned> = earned
            .into_iter()
            .filter(|e| seen.insert(e.target) && !self.bans.is_banned(jail_name, &e.target))
            .collect();
        self.apply_new_bans(jail_index, earned, now)
    }

    /// [`Daemon::apply_bans`] of bans the caller knows are new: each
    /// target once, none banned in the jail. A scan's bans are, and
    /// checking again cost a lookup in the book per ban (with a million
    /// bans, a few cache misses each) in a burst.
    fn apply_new_bans(&mut self, jail_index: usize, earned: Vec<Earned>, now: Timestamp) -> usize {
        if earned.is_empty() {
            return 0;
        }
        let jail_name = self.jails[jail_index].name().to_owned();
        // How long each lasts (escalation, recidive): one store read.
        let targets: Vec<Target> = earned.iter().map(|e| e.target).collect();
        let names: Vec<String> = targets.iter().map(Target::to_string).collect();
        let plans = self.plan_named_bans(jail_index, &targets, &names, true, now);
        let mut records = Vec::with_capacity(earned.len());
        let mut fields = Vec::with_capacity(earned.len());
        for ((e, plan), name) in earned.into_iter().zip(plans).zip(names) {
            let (record, captured) = record_of(&jail_name, e, name, plan, now);
            records.push(record);
            fields.push(captured);
        }
        if let Some(kind) = self.jails[jail_index].backend {
            // One batch in the jail's backend; a target another jail keeps
            // there longer keeps its longer time.
            let entries: Vec<BanEntry> = targets
                .iter()
                .zip(&records)
                .map(|(t, r)| {
                    let own = self.kernel_timeout(&jail_name, r.end, now);
                    BanEntry::new(*t, self.longest_in(kind, t, own, Some(&jail_name), now))
                })
                .collect();
            if let Err(e) = self.backends.ban(kind, &entries) {
                log::error(&format!(
                    "jail {jail_name}: firewall {}: {}",
                    kind.name(),
                    chain(&e)
                ));
            }
        }
        self.log_bans(&records);
        self.notify_bans(&records);
        self.fleet_publish(&records);
        let count = records.len();
        let jail = &mut self.jails[jail_index];
        jail.total_banned += count as u64;
        let with_matches = jail.has_actions();
        for ((&target, record), fields) in targets.iter().zip(&records).zip(fields) {
            if with_matches {
                jail.ban_action(OwnedBan::of(record, target, false, fields));
            }
            jail.tracker.forget(&target);
            self.bans.insert_copy(target, record, with_matches);
        }
        // To the store's thread, after the kernel ban (see recorder.rs for
        // why a crash before the commit loses nothing).
        self.recorder.record(records);
        self.fold_prefixes(jail_index, &targets, now);
        count
    }

    fn log_bans(&self, records: &[BanRecord]) {
        let events: Vec<log::BanEvent<'_>> = records
            .iter()
            .map(|r| log::BanEvent {
                jail: &r.jail,
                target: &r.target,
                failures: r.failures,
                // From the record: a ban by hand may have its own length.
                bantime: r.end.map(|end| {
                    std::time::Duration::try_from(end.duration_since(r.start)).unwrap_or_default()
                }),
                dry_run: self.options.dry_run,
            })
            .collect();
        log::bans(&events);
    }
}

/// The record of a ban earned now in `jail` (`target`: `e.target` as
/// text), lasting as `plan` says, and the captures its actions see.
fn record_of(
    jail: &str,
    e: Earned,
    target: String,
    plan: crate::escalation::Plan,
    now: Timestamp,
) -> (BanRecord, Fields) {
    // A rule's own (lesser) ban time caps the planned one; a permanent
    // plan (recidive) stays permanent.
    let end = match (e.bantime.map(|b| crate::jail::end_of(b, now)), plan.end) {
        (Some(Some(rule_end)), Some(planned)) => Some(planned.min(rule_end)),
        (_, end) => end,
    };
    // A ban by hand may have its own length, and says why.
    let (end, reason) = match e.by_hand {
        None => (end, None),
        Some(ByHand { reason, lasting }) => {
            (lasting.map_or(end, |d| Some(later(now, d))), Some(reason))
        }
    };
    let record = BanRecord {
        jail: jail.to_owned(),
        target,
        start: now,
        end,
        failures: e.failures,
        ban_count: plan.ban_count,
        matches: e.matches,
        reason,
    };
    (record, e.fields)
}

/// `now` plus `d`, saturating far in the future.
fn later(now: Timestamp, d: std::time::Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d)
        .ok()
        .and_then(|d| now.checked_add(d).ok())
        .unwrap_or(Timestamp::MAX)
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
