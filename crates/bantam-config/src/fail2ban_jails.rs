//! The jails of a fail2ban configuration tree as bantam [`JailSettings`]:
//! the same resolved settings a native TOML jail gives, so the daemon does
//! not know (or care) where a jail came from.
//!
//! What cannot be carried over is said, jail by jail, as a warning the
//! daemon prints at start: a systemd-backend jail without `journalmatch`
//! (with one, it reads the journal: see `fail2ban_journal`), a Python
//! action, an `ignoreip`
//! host name (names are never resolved), and every option read but not
//! honoured (`ignorecommand`, … see `fail2ban_unhonoured`).
//! `bantime.increment` and friends, and the `recidive` jail, run on
//! bantam's own escalation and recidive (`fail2ban_policy`). A jail whose filter, times or log paths are
//! wrong stops the start, naming the jail (or file, section and key) and
//! the problem.

use std::path::Path;
use std::time::Duration;

use bantam_filter::fail2ban::F2bFilter;
use bantam_filter::{AnyFilterSpec, Subnet};
use jiff::tz::{Offset, TimeZone};

use crate::duration::BanTime;
use crate::error::ConfigError;
use crate::fail2ban::action::is_firewall_action;
use crate::fail2ban::jail::{as_bool, F2bJail};
use crate::fail2ban::{F2bActionDef, Fail2banTree};
use crate::fail2ban_unhonoured;
use crate::logpath::Origin;
use crate::settings::{BackendKind, Fail2banActions, JailSettings, Settings};

/// fail2ban's defaults when jail.conf leaves a value out.
const MAXRETRY: u32 = 5;
const FINDTIME: Duration = Duration::from_secs(600);
const BANTIME: Duration = Duration::from_secs(600);

/// The jails of `dir`, and what was left out and why.
pub fn fail2ban_jails(
    dir: &Path,
    mode: Fail2banActions,
) -> Result<(Vec<JailSettings>, Vec<String>), ConfigError> {
    let tree = Fail2banTree::load(dir).map_err(|e| ConfigError::Fail2ban(e.to_string()))?;
    let mut warnings = Vec::new();
    for (jail, why) in tree.skipped() {
        warnings.push(format!("fail2ban jail {jail} not run: {why}"));
    }
    let mut jails = Vec::new();
    let mut converted = Vec::new();
    let own = crate::own_addresses::own_addresses();
    let mut recidive = None;
    for jail in tree.jails() {
        if crate::fail2ban_policy::is_recidive(jail) {
            let r = crate::fail2ban_policy::recidive(jail)?;
            warnings.push(crate::fail2ban_policy::recidive_notice(jail, &r));
            recidive = Some(r);
            continue;
        }
        if let Some(settings) = jail_settings(jail, mode, &own, &mut warnings)? {
            jails.push(settings);
            converted.push(jail);
        }
    }
    for settings in &mut jails {
        settings.recidive = recidive.clone();
    }
    warnings.extend(fail2ban_unhonoured::default_warnings(&converted));
    Ok((jails, warnings))
}

/// The configuration as `bantam run` reads it: the TOML file (or, with no
/// file and no fail2ban tree, the built-in default), plus the enabled jails
/// of the fail2ban tree given here or by `[daemon] fail2ban-config`.
/// Returns the warnings to print at start.
pub fn load_with_fail2ban(
    config: Option<&Path>,
    fail2ban: Option<&Path>,
) -> Result<(Settings, Vec<String>), ConfigError> {
    let mut settings = match config {
        Some(path) => crate::settings::load(path)?,
        None if fail2ban.is_some() => crate::settings::parse(Path::new("(defaults)"), "")?,
        None => match crate::layers::present(Path::new(crate::layers::SYSTEM_CONFIG)) {
            Some(system) => crate::settings::load(&system)?,
            None => crate::settings::builtin_default()?,
        },
    };
    if let Some(dir) = fail2ban {
        settings.daemon.fail2ban_config = Some(dir.to_owned());
    }
    let Some(dir) = settings.daemon.fail2ban_config.clone() else {
        let warnings = missing_logpaths(&settings);
        return Ok((settings, warnings));
    };
    let (jails, mut warnings) = fail2ban_jails(&dir, settings.daemon.fail2ban_actions)?;
    for jail in jails {
        if settings.jails.iter().any(|j| j.name == jail.name) {
            return Err(ConfigError::Fail2ban(format!(
                "jail {} is defined both in the bantam configuration and in {}",
                jail.name,
                dir.display()
            )));
        }
        settings.jails.push(jail);
    }
    if settings.daemon.fail2ban_mail == crate::fail2ban_mail::Fail2banMail::Native {
        warnings.extend(crate::fail2ban_mail::map_mail_actions(&mut settings));
    }
    warnings.extend(missing_logpaths(&settings));
    Ok((settings, warnings))
}

/// A log that does not exist yet is waited for, but said at every start
/// and reload: a typo in a path would otherwise look like a quiet log.
fn missing_logpaths(settings: &Settings) -> Vec<String> {
    settings
        .jails
        .iter()
        .flat_map(|j| j.missing_logpaths())
        .collect()
}

fn invalid(jail: &F2bJail, message: String) -> ConfigError {
    ConfigError::Fail2ban(format!("jail {}: {message}", jail.name))
}

fn jail_settings(
    jail: &F2bJail,
    mode: Fail2banActions,
    own: &[Subnet],
    warnings: &mut Vec<String>,
) -> Result<Option<JailSettings>, ConfigError> {
    let (logpath, logpath_origin) = if jail.backend.starts_with("systemd") {
        // The journal, through `journalmatch` (see fail2ban_journal.rs).
        let Some((path, origin)) = crate::fail2ban_journal::logpath(jail, warnings) else {
            return Ok(None);
        };
        crate::logpath::check(&path).map_err(|m| invalid(jail, format!("{origin}: {m}")))?;
        (vec![path], vec![origin])
    } else {
        if jail.logpath.is_empty() {
            warnings.push(format!("fail2ban jail {}: no logpath; not run", jail.name));
            return Ok(None);
        }
        logpaths(jail, warnings)?
    };
    warnings.extend(fail2ban_unhonoured::warnings(jail));
    let Some(def) = &jail.filter_def else {
        return Err(invalid(jail, "no filter".into()));
    };
    let filter_name = jail
        .filter
        .as_ref()
        .map_or_else(|| jail.name.clone(), |f| f.name.clone());
    let mut spec = def.to_spec(&filter_name);
    if let Some(datepattern) = &jail.datepattern {
        spec.datepattern = Some(datepattern.clone());
    }
    let zone = match jail.logtimezone.as_deref().map(str::trim) {
        None | Some("") => TimeZone::try_system().unwrap_or(TimeZone::UTC),
        Some(text) => log_zone(text).ok_or_else(|| {
            invalid(
                jail,
                format!("logtimezone {text:?} is not a time zone or UTC offset"),
            )
        })?,
    };
    // Compile now: a filter that cannot run must stop the start, not the
    // first log line.
    F2bFilter::new(&spec, zone.clone()).map_err(|e| invalid(jail, e.to_string()))?;
    let findtime = jail
        .findtime_duration()
        .map_err(|e| invalid(jail, format!("findtime: {e}")))?
        .unwrap_or(FINDTIME);
    let bantime = jail
        .bantime_value()
        .map_err(|e| invalid(jail, format!("bantime: {e}")))?
        .unwrap_or(BanTime::For(BANTIME));
    let mut ignoreip = Vec::new();
    // fail2ban's `ignoreself` (default true): this host's own addresses,
    // as they are now (a reload sees new ones).
    if jail.options.get("ignoreself").is_none_or(|v| as_bool(v)) {
        ignoreip.extend_from_slice(own);
    }
    for text in &jail.ignoreip {
        match text.parse::<Subnet>() {
            Ok(net) => ignoreip.push(net),
            Err(_) => warnings.push(format!(
                "fail2ban jail {}: ignoreip {text:?} skipped (host names are never resolved)",
                jail.name
            )),
        }
    }
    let mut actions: Vec<F2bActionDef> = Vec::new();
    let mut replaced = Vec::new();
    for (usage, def) in jail.actions.iter().zip(&jail.action_defs) {
        match def {
            None => warnings.push(format!(
                "fail2ban jail {}: Python action {} is not supported; skipped",
                jail.name, usage.name
            )),
            Some(_) if mode == Fail2banActions::Native && is_firewall_action(&usage.name) => {
                replaced.push(usage.name.as_str());
            }
            Some(def) => actions.push(def.clone()),
        }
    }
    let banaction = native_backend(jail, &replaced, warnings);
    // fail2ban skips each `norestored` action for a restored ban; the jail
    // as a whole does when all of its actions do.
    let norestored = !actions.is_empty() && actions.iter().all(F2bActionDef::norestored);
    Ok(Some(JailSettings {
        name: jail.name.clone(),
        filter: AnyFilterSpec::Fail2ban(spec),
        zone,
        logpath,
        logpath_origin,
        maxretry: jail.maxretry.unwrap_or(MAXRETRY),
        findtime,
        bantime,
        ignoreip,
        actions,
        native_ban: !replaced.is_empty(),
        banaction,
        norestored,
        escalation: crate::fail2ban_policy::escalation(jail, bantime, warnings)?,
        recidive: None,
        trust_policy: crate::policy_trust::TrustPolicy::plain(),
    }))
}

/// The backend that stands in for a jail's replaced firewall actions:
/// the one that works like the first of them that has one (an ipset
/// action's bans go to bantam's ipset sets); `None` (the daemon's
/// `backend`) when none has. Two actions that want different backends
/// cannot both be honoured: the first wins, and it is said.
fn native_backend(
    jail: &F2bJail,
    replaced: &[&str],
    warnings: &mut Vec<String>,
) -> Option<BackendKind> {
    let mut mapped = replaced
        .iter()
        .filter_map(|name| Some((*name, BackendKind::for_fail2ban_action(name)?)));
    let (first, kind) = mapped.next()?;
    for (name, other) in mapped.filter(|(_, k)| *k != kind) {
        warnings.push(format!(
            "fail2ban jail {}: actions {first} and {name} want different backends; \
             the jail bans in {} only (not {})",
            jail.name,
            kind.name(),
            other.name()
        ));
    }
    Some(kind)
}

/// The jail's log paths, checked, with their origin. A relative path is
/// refused: fail2ban resolves it against its server's working directory,
/// which bantam cannot know, and guessing would watch another file.
/// fail2ban's ` head`/` tail` suffix is taken off; `tail` (start at the
/// end of the file) is not honoured, and said so.
fn logpaths(
    jail: &F2bJail,
    warnings: &mut Vec<String>,
) -> Result<(Vec<String>, Vec<Origin>), ConfigError> {
    let origin = jail
        .origins
        .get("logpath")
        .cloned()
        .unwrap_or_else(|| Origin::Fail2ban {
            path: "jail.conf".into(),
            section: jail.name.clone(),
            key: "logpath".into(),
        });
    let bad = |message: String| ConfigError::Fail2ban(format!("{origin}: {message}"));
    let mut paths = Vec::new();
    for line in &jail.logpath {
        let (path, option) = match line.rsplit_once(char::is_whitespace) {
            Some((p, o)) if o.eq_ignore_ascii_case("tail") || o.eq_ignore_ascii_case("head") => {
                (p.trim_end(), Some(o.to_lowercase()))
            }
            _ => (line.as_str(), None),
        };
        if option.as_deref() == Some("tail") {
            warnings.push(format!(
                "fail2ban jail {}: {origin}: \"tail\" on {path} is ignored: bantam reads a new log from its start (failures older than findtime do not count)",
                jail.name
            ));
        }
        crate::logpath::check(path).map_err(bad)?;
        if !path.starts_with('/') {
            return Err(bad(format!("{path} is not an absolute path")));
        }
        paths.push(path.to_owned());
    }
    let origins = vec![origin; paths.len()];
    Ok((paths, origins))
}

/// fail2ban's `logtimezone`: a zone name, `UTC`, or `UTC+HHMM`/`UTC-HH:MM`.
fn log_zone(text: &str) -> Option<TimeZone> {
    if let Some(offset) = text
        .strip_prefix("UTC")
        .or_else(|| text.strip_prefix("GMT"))
    {
        if offset.is_empty() {
            return Some(TimeZone::UTC);
        }
        let (sign, digits) = match offset.as_bytes()[0] {
            b'+' => (1, &offset[1..]),
            b'-' => (-1, &offset[1..]),
            _ => return None,
        };
        let digits: String = digits.chars().filter(|c| *c != ':').collect();
        if !(1..=4).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = if digits.len() <= 2 {
            (digits.parse::<i32>().ok()?, 0)
        } else {
            let split = digits.len() - 2;
            (
                digits[..split].parse::<i32>().ok()?,
                digits[split..].parse::<i32>().ok()?,
            )
        };
        let seconds = sign * (h * 3600 + m * 60);
        return Offset::from_seconds(seconds).ok().map(TimeZone::fixed);
    }
    TimeZone::get(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_zones_as_fail2ban_writes_them() {
        assert_eq!(log_zone("UTC"), Some(TimeZone::UTC));
        let plus2 = TimeZone::fixed(Offset::from_seconds(7200).unwrap());
        assert_eq!(log_zone("UTC+0200"), Some(plus2.clone()));
        assert_eq!(log_zone("UTC+02:00"), Some(plus2));
        assert_eq!(
            log_zone("UTC-5"),
            Some(TimeZone::fixed(Offset::from_seconds(-18000).unwrap()))
        );
        assert!(log_zone("Europe/Berlin").is_some());
        assert_eq!(log_zone("UTC+x"), None);
        assert_eq!(log_zone("Mars/Olympus"), None);
    }
}

#[cfg(test)]
#[path = "fail2ban_jails_tests.rs"]
mod jails_tests;
