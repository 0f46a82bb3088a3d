//! One jail's filter over the tail of each of its sources, and the bans
//! the daemon would make of the failures found, decided by the jail's own
//! tracker (the same `maxretry` within `findtime` as the daemon).

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::Path;

use bantam_config::Settings;
use bantam_filter::{AnyFilter, FieldPath, Fields, Outcome};
use bantam_source::journal_tail::{journal_tail, JournalEntry, JournalQuery};
use bantam_source::tail::{files_of, tail_file};
use jiff::{SignedDuration, Timestamp};

use super::{CheckOptions, JailRow};
use crate::jail::{target_of, Jail};
use crate::tracker::Verdict;

/// A failure found, kept until all sources are read so the tracker sees
/// them in time order whatever source they came from.
struct Found {
    time: Timestamp,
    host: bantam_filter::Host,
    count: u32,
    rule: usize,
}

/// A journal entry's fields for a json filter's field tests (journal field
/// names have no dots: a path is looked up as written).
struct JournalRecord<'a>(&'a JournalEntry);

impl Fields for JournalRecord<'_> {
    fn field(&self, path: &FieldPath) -> Option<Cow<'_, str>> {
        self.0.get(path.as_str()).map(String::from_utf8_lossy)
    }
}

/// The rule names of a filter, for "rules that never matched".
fn rule_ids(filter: &AnyFilter) -> Vec<String> {
    match filter {
        AnyFilter::Native(f) => f.rule_ids().to_vec(),
        AnyFilter::Fail2ban(f) => (1..=f.rule_count()).map(|i| format!("#{i}")).collect(),
    }
}

struct Scan<'a> {
    options: &'a CheckOptions,
    cutoff: Timestamp,
    found: Vec<Found>,
    row: JailRow,
}

impl Scan<'_> {
    fn judge(&mut self, filter: &mut AnyFilter, line: &[u8], at: Timestamp) {
        self.row.lines += 1;
        let mut out = Vec::new();
        filter.scan(line, at, &mut out);
        self.keep(out);
    }

    fn keep(&mut self, failures: Vec<bantam_filter::Failure>) {
        for f in failures {
            if f.time < self.cutoff {
                continue;
            }
            self.found.push(Found {
                time: f.time,
                host: f.host,
                count: f.count,
                rule: f.rule,
            });
        }
    }

    fn files(&mut self, filter: &AnyFilter, logpath: &str) {
        let files = match files_of(logpath) {
            Ok(files) if files.is_empty() => {
                return self.row.errors.push(format!("{logpath}: matches no file"));
            }
            Ok(files) => files,
            Err(e) => return self.row.errors.push(e.to_string()),
        };
        for path in files {
            match tail_file(&path, self.options.lines) {
                Ok(tail) => {
                    let mut filter = filter.clone();
                    for line in &tail.lines {
                        self.judge(&mut filter, line, self.options.now);
                    }
                    self.malformed(&filter);
                }
                Err(e) => self.row.errors.push(e.to_string()),
            }
        }
    }

    fn journal(&mut self, filter: &AnyFilter, logpath: &str, dir: Option<&Path>) {
        let query = JournalQuery {
            directory: dir.map(Path::to_owned),
            max_entries: self.options.lines,
            since: Some(self.options.since),
        };
        let entries = match journal_tail(logpath, &query) {
            Ok(entries) => entries,
            Err(e) => return self.row.errors.push(e.to_string()),
        };
        if entries.is_empty() {
            let ever = JournalQuery {
                max_entries: 1,
                since: None,
                ..query
            };
            if journal_tail(logpath, &ever).is_ok_and(|e| e.is_empty()) {
                let place = dir.map_or("the journal".to_owned(), |d| d.display().to_string());
                self.row.errors.push(format!(
                    "{logpath}: the match selects no entry at all in {place} (a typo in the unit or field?)"
                ));
            }
            return;
        }
        let mut filter = filter.clone();
        for entry in &entries {
            let at = entry
                .realtime_micros()
                .and_then(|us| Timestamp::from_microsecond(us).ok())
                .unwrap_or(self.options.now);
            match &filter {
                AnyFilter::Native(f) if f.is_json() => {
                    self.row.lines += 1;
                    if let Outcome::Failure(found) = f.scan_fields(&JournalRecord(entry), at) {
                        self.keep(vec![found]);
                    }
                }
                _ => {
                    let message = entry.get("MESSAGE").unwrap_or_default();
                    self.judge(&mut filter, message, at);
                }
            }
        }
    }

    fn malformed(&mut self, filter: &AnyFilter) {
        if let AnyFilter::Native(f) = filter {
            self.row.malformed += f.malformed_lines();
        }
    }
}

/// Reads every source of `jail` and judges what it holds.
pub(super) fn scan_jail(jail: &mut Jail, settings: &Settings, options: &CheckOptions) -> JailRow {
    let since = SignedDuration::try_from(options.since).unwrap_or(SignedDuration::MAX);
    let mut scan = Scan {
        options,
        cutoff: options.now.checked_sub(since).unwrap_or(Timestamp::MIN),
        found: Vec::new(),
        row: JailRow {
            jail: jail.settings.name.clone(),
            sources: jail.settings.logpath.clone(),
            ..JailRow::default()
        },
    };
    let mut sampled = false;
    for logpath in &jail.settings.logpath {
        if logpath.starts_with("journal:") {
            let dir = settings.daemon.journal_dir.as_deref();
            scan.journal(&jail.filter, logpath, dir);
            sampled = true;
        } else if logpath == "-"
            || bantam_config::logpath::is_source_uri(logpath)
            || is_fifo(logpath)
        {
            // A stream has no tail to read: nothing to judge, nothing wrong.
        } else {
            scan.files(&jail.filter, logpath);
            sampled = true;
        }
    }
    let mut row = would_ban(jail, scan, options.now);
    if sampled && row.errors.is_empty() && row.failures == 0 {
        row.errors.push(format!(
            "its filter {} found no failure in {} line(s) read from {} (a filter that does not fit the log looks just like a quiet log)",
            jail.filter.name(),
            row.lines,
            row.sources.join(", ")
        ));
    }
    row
}

fn is_fifo(path: &str) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// Feeds the failures to the jail's tracker in time order, as the daemon
/// would, and fills in the counts.
fn would_ban(jail: &mut Jail, mut scan: Scan<'_>, now: Timestamp) -> JailRow {
    let ids = rule_ids(&jail.filter);
    let mut hits = vec![0u64; ids.len()];
    let mut banned = BTreeSet::new();
    scan.found.sort_by_key(|f| f.time);
    for f in &scan.found {
        scan.row.failures += u64::from(f.count);
        if let Some(hit) = hits.get_mut(f.rule) {
            *hit += 1;
        }
        let Some(target) = target_of(&f.host) else {
            continue;
        };
        if jail.ignores(&target) || jail.too_old(f.time, now) {
            continue;
        }
        if let Verdict::Ban { .. } = jail.tracker.record(target, f.time, f.count, b"") {
            banned.insert(f.host.to_string());
        }
    }
    scan.row.would_ban = banned.into_iter().collect();
    scan.row.unmatched_rules = ids
        .into_iter()
        .zip(hits)
        .filter(|(_, n)| *n == 0)
        .map(|(id, _)| id)
        .collect();
    scan.row
}
