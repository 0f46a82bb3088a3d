//! How long a new ban lasts: the jail's `bantime`, or, with escalation,
//! the step (or `bantime * factor^(n-1)`) of the n-th ban of the address,
//! capped, plus a random extra; with recidive, the n-th ban within its
//! window gets recidive's ban time (permanent: no timeout in the kernel).
//!
//! n counts the address's earlier bans from the store's history (so it
//! survives restarts): in this jail, or in every jail (`across-jails`),
//! within `window`. A whole [`Daemon::apply_bans`] asks the store once per
//! window, not once per address: a burst of 5,000 new bans costs one read
//! of an index (about 8 ms, `bench/ban-counts.sh`). The time decided here
//! goes into the kernel element's timeout and the store's end; no timer of
//! the daemon's waits on it.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use bantam_config::policy::{Escalation, Growth, Recidive};
use bantam_config::BanTime;
use bantam_firewall::Target;
use jiff::{SignedDuration, Timestamp};

use crate::bans::ActiveBan;
use crate::control::protocol::{BanInfo, Response};
use crate::daemon::Daemon;
use crate::error::chain;
use crate::log;

/// Longer than any ban needs to be; growth stops here (the firewall caps
/// timeouts at the kernel's limit anyway).
const LONGEST: Duration = Duration::from_secs(100 * 365 * 86_400);

/// What a new ban gets: which ban of the address it is, and its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan {
    /// With escalation, n (the bans counted in its window, this one
    /// included); without, every ban of the address in the jail.
    pub ban_count: u32,
    /// `None`: permanent.
    pub end: Option<Timestamp>,
}

/// The ban time of the n-th ban under `escalation`, before jitter.
pub(crate) fn escalated(bantime: BanTime, e: &Escalation, n: u32) -> BanTime {
    let n = n.max(1);
    let time = match &e.growth {
        Growth::Steps(steps) => steps[(n as usize - 1).min(steps.len() - 1)],
        Growth::Factor(factor) => {
            let BanTime::For(base) = bantime else {
                return BanTime::Permanent;
            };
            let exponent = i32::try_from(n - 1).unwrap_or(i32::MAX);
            let secs = base.as_secs_f64() * factor.powi(exponent);
            Duration::try_from_secs_f64(secs.min(LONGEST.as_secs_f64())).unwrap_or(LONGEST)
        }
    };
    BanTime::For(e.max.map_or(time, |max| time.min(max)))
}

/// The ban time of a new ban: `n` counted for escalation, `repeat` for
/// recidive; `random` picks the jitter.
pub(crate) fn ban_time(
    bantime: BanTime,
    escalation: Option<&Escalation>,
    recidive: Option<(&Recidive, u32)>,
    n: u32,
    random: u64,
) -> BanTime {
    if let Some((r, repeat)) = recidive {
        if repeat >= r.bans {
            return r.bantime;
        }
    }
    let Some(e) = escalation else {
        return bantime;
    };
    match escalated(bantime, e, n) {
        BanTime::For(d) => BanTime::For(d + jitter(e.jitter, random)),
        BanTime::Permanent => BanTime::Permanent,
    }
}

/// Uniform in [0, max], to the millisecond (the kernel's unit).
fn jitter(max: Duration, random: u64) -> Duration {
    match u64::try_from(max.as_millis()) {
        Ok(0) => Duration::ZERO,
        Ok(ms) => Duration::from_millis(random % (ms + 1)),
        Err(_) => Duration::from_millis(random),
    }
}

/// 64 random bits: SipHash under fresh random keys, so the end of a ban
/// cannot be guessed from the ones before it (no dependency needed).
fn random_bits() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u8(0);
    hasher.finish()
}

fn end_of(start: Timestamp, time: BanTime) -> Option<Timestamp> {
    match time {
        BanTime::Permanent => None,
        BanTime::For(d) => Some(
            start
                .checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
                .unwrap_or(Timestamp::MAX),
        ),
    }
}

fn since(now: Timestamp, window: Option<Duration>) -> Timestamp {
    window
        .and_then(|w| SignedDuration::try_from(w).ok())
        .and_then(|w| now.checked_sub(w).ok())
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .max(Timestamp::UNIX_EPOCH)
}

impl Daemon {
    /// The ban count and end of each new ban of `targets` in jail
    /// `jail_index`, starting `now`. `unbanned_here`: the caller knows
    /// none of them is banned in that jail (saves a lookup each).
    pub(crate) fn plan_bans(
        &mut self,
        jail_index: usize,
        targets: &[Target],
        unbanned_here: bool,
        now: Timestamp,
    ) -> Vec<Plan> {
        let names: Vec<String> = targets.iter().map(Target::to_string).collect();
        self.plan_named_bans(jail_index, targets, &names, unbanned_here, now)
    }

    /// [`Daemon::plan_bans`] for a caller that has the targets' text forms
    /// already (`names[i]` of `targets[i]`): a burst's pipeline makes them
    /// once for the plans and the records (an IPv6 address's text is a
    /// few percent of the loop's time per ban).
    pub(crate) fn plan_named_bans(
        &mut self,
        jail_index: usize,
        targets: &[Target],
        names: &[String],
        unbanned_here: bool,
        now: Timestamp,
    ) -> Vec<Plan> {
        let settings = &self.jails[jail_index].settings;
        let (jail, bantime) = (settings.name.clone(), settings.bantime);
        let (escalation, recidive) = (settings.escalation.clone(), settings.recidive.clone());
        let scope = |across: bool| if across { None } else { Some(jail.as_str()) };
        let counted = match &escalation {
            Some(e) => (scope(e.across_jails), since(now, e.window)),
            None => (Some(jail.as_str()), Timestamp::UNIX_EPOCH),
        };
        // A ban still on its way to disk is of an address banned now
        // (a ban is lifted only once it is on disk: `expiry.rs`, and the
        // other lifts settle first): if none of these is banned anywhere,
        // the last commit counts all of theirs.
        let here = unbanned_here.then_some(jail.as_str());
        let beside = targets
            .iter()
            .all(|t| self.bans.holders_beside(t, here).next().is_none());
        let counts = self.recent_bans(counted.0, names, counted.1, beside);
        let repeats = recidive.as_ref().map(|r| {
            let wanted = (scope(r.across_jails), since(now, Some(r.within)));
            match wanted == counted {
                true => counts.clone(),
                false => self.recent_bans(wanted.0, names, wanted.1, beside),
            }
        });
        counts
            .iter()
            .enumerate()
            .map(|(i, earlier)| {
                let n = earlier + 1;
                let repeat = repeats.as_ref().map(|r| r[i] + 1);
                let rec = recidive.as_ref().zip(repeat);
                let time = ban_time(bantime, escalation.as_ref(), rec, n, random_bits());
                Plan {
                    ban_count: n,
                    end: end_of(now, time),
                }
            })
            .collect()
    }

    /// Bans of each of `names` since `since`; a store that cannot say
    /// counts as "none" rather than holding the bans up.
    fn recent_bans(
        &mut self,
        jail: Option<&str>,
        names: &[String],
        since: Timestamp,
        beside: bool,
    ) -> Vec<u32> {
        match self.recorder.ban_counts_since(jail, names, since, beside) {
            Ok(counts) => counts,
            Err(e) => {
                log::warn(&format!(
                    "counting earlier bans: {}; these bans get their first step",
                    chain(&e)
                ));
                vec![0; names.len()]
            }
        }
    }

    /// The step a ban is on, for `status` and `banned`: `None` when its
    /// jail does not escalate.
    pub(crate) fn step_of(&self, ban: &ActiveBan) -> Option<u32> {
        let jail = self.jails.iter().find(|j| j.name() == ban.record.jail)?;
        let e = jail.settings.escalation.as_ref()?;
        Some(e.step(ban.record.ban_count))
    }

    /// A page of `banned`, each ban with its step.
    pub(crate) fn with_steps(&self, mut response: Response) -> Response {
        if let Some(page) = response.page.as_mut() {
            let jails: Vec<(&str, Option<&Escalation>)> = self
                .jails
                .iter()
                .map(|j| (j.name(), j.settings.escalation.as_ref()))
                .collect();
            for ban in &mut page.bans {
                ban.step = jails
                    .iter()
                    .find(|(name, _)| *name == ban.jail)
                    .and_then(|(_, e)| e.map(|e| e.step(ban.ban_count)));
            }
        }
        response
    }

    /// The bans of one jail for `status JAIL`, with their steps: at most
    /// `limit` (the rest is for `banned`, which pages).
    pub(crate) fn jail_bans(&self, jail: &str, limit: usize) -> Vec<BanInfo> {
        self.bans
            .in_jail(jail)
            .take(limit)
            .map(|ban| {
                let mut info = BanInfo::of(&ban);
                info.step = self.step_of(&ban);
                info
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "escalation_tests.rs"]
mod tests;
