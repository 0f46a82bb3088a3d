//! Jails (`jail.conf`, `jail.d/`, `jail.local`), resolved as fail2ban's jail
//! reader does, in its two passes:
//!
//! 1. `enabled`, `backend` and `filter` are read; a disabled jail stops
//!    here (its other options may be broken: fail2ban never reads them);
//! 2. the filter is read, and all its options are offered to the jail as
//!    `known/NAME` (so `failregex = %(known/failregex)s …` extends it);
//! 3. the jail's options are read, the filter re-read with them (a jail's
//!    own `failregex`, `datepattern`, … replaces the filter's), and each
//!    action of the `action` list resolved with the jail's options.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::action::{self, ActionUse, F2bActionDef};
use super::error::Fail2banError;
use super::filter::{F2bFilterDef, FilterReader, FILTER_KEYS};
use super::layers::Layered;
use super::optmap::OptMap;
use super::params;
use crate::duration::{parse_bantime, parse_duration, BanTime};
use crate::logpath::Origin;

/// How a jail names its filter: `sshd[mode=aggressive]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterUse {
    pub name: String,
    pub params: Vec<(String, String)>,
}

/// An enabled jail, resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct F2bJail {
    pub name: String,
    pub filter: Option<FilterUse>,
    /// The filter as fail2ban would run it for this jail: the filter file's
    /// rules plus (or replaced by) the jail's own.
    pub filter_def: Option<F2bFilterDef>,
    /// Paths and globs, one per line of `logpath` (unexpanded).
    pub logpath: Vec<String>,
    pub backend: String,
    pub maxretry: Option<u32>,
    /// As written (`10m`, `1d12h`, `600`); see [`F2bJail::findtime_duration`].
    pub findtime: Option<String>,
    /// As written (`-1` = permanent); see [`F2bJail::bantime_value`].
    pub bantime: Option<String>,
    pub ignoreip: Vec<String>,
    /// `port`, `protocol`, `chain`: the jail's values; where the jail's
    /// value is a tag for the actions (`chain = <known/chain>`), the value
    /// its first action resolved it to.
    pub port: Option<String>,
    pub protocol: Option<String>,
    pub chain: Option<String>,
    pub banaction: Option<String>,
    pub banaction_allports: Option<String>,
    pub actions: Vec<ActionUse>,
    /// Each action of `actions`, resolved; `None` for Python actions
    /// (`NAME.py`), which bantam cannot run.
    pub action_defs: Vec<Option<F2bActionDef>>,
    pub logtimezone: Option<String>,
    pub datepattern: Option<String>,
    pub journalmatch: Vec<String>,
    pub usedns: Option<String>,
    /// The filter's mode: the `mode` on the filter line, else the jail's.
    pub mode: Option<String>,
    /// Every option of the jail's section (and `[DEFAULT]`) that resolves,
    /// by name: everything the fields above do not cover.
    pub options: BTreeMap<String, String>,
    /// Where each of `options` was written: the file and section (the
    /// jail's or `DEFAULT`) of the value that won.
    pub origins: BTreeMap<String, Origin>,
    /// The options as fail2ban hands them to filters and actions.
    pub(crate) resolved: OptMap,
}

impl F2bJail {
    pub fn findtime_duration(&self) -> Result<Option<Duration>, String> {
        self.findtime.as_deref().map(parse_duration).transpose()
    }

    pub fn bantime_value(&self) -> Result<Option<BanTime>, String> {
        self.bantime.as_deref().map(parse_bantime).transpose()
    }

    /// The jail's resolved options (what `action()` needs).
    pub fn resolved_options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.resolved.iter()
    }
}

/// How fail2ban converts a jail option after reading it.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Int,
    Bool,
}

/// The jail options fail2ban reads, in its order, with their defaults.
const FIRST_PASS: &[(&str, Kind, Option<&str>)] = &[
    ("enabled", Kind::Bool, Some("False")),
    ("backend", Kind::Text, Some("auto")),
    ("filter", Kind::Text, Some("")),
];

const SECOND_PASS: &[(&str, Kind, Option<&str>)] = &[
    ("enabled", Kind::Bool, Some("False")),
    ("backend", Kind::Text, Some("auto")),
    ("maxretry", Kind::Int, None),
    ("maxmatches", Kind::Int, None),
    ("findtime", Kind::Text, None),
    ("bantime", Kind::Text, None),
    ("bantime.increment", Kind::Bool, None),
    ("bantime.factor", Kind::Text, None),
    ("bantime.formula", Kind::Text, None),
    ("bantime.multipliers", Kind::Text, None),
    ("bantime.maxtime", Kind::Text, None),
    ("bantime.rndtime", Kind::Text, None),
    ("bantime.overalljails", Kind::Bool, None),
    ("ignorecommand", Kind::Text, None),
    ("ignoreself", Kind::Bool, None),
    ("ignoreip", Kind::Text, None),
    ("ignorecache", Kind::Text, None),
    ("filter", Kind::Text, Some("")),
    ("logtimezone", Kind::Text, None),
    ("logencoding", Kind::Text, None),
    ("logpath", Kind::Text, None),
    ("action", Kind::Text, Some("")),
    ("usedns", Kind::Text, None),
    ("prefregex", Kind::Text, None),
    ("ignoreregex", Kind::Text, None),
    ("failregex", Kind::Text, None),
    ("maxlines", Kind::Int, None),
    ("datepattern", Kind::Text, None),
    ("journalmatch", Kind::Text, None),
];

/// Python's truth words for `enabled = …` (and every boolean option).
pub(crate) fn as_bool(v: &str) -> bool {
    matches!(
        v.trim().to_lowercase().as_str(),
        "1" | "on" | "true" | "yes"
    )
}

/// Reads `keys` of the jail section the way fail2ban's `getOptions` does,
/// values converted and written back as Python prints them.
fn read_options(
    cfg: &Layered,
    jail: &str,
    keys: &[(&str, Kind, Option<&str>)],
) -> Result<OptMap, Fail2banError> {
    let mut out = OptMap::new();
    for (key, kind, default) in keys {
        let value = match cfg.get(jail, key, &OptMap::new())? {
            Some(v) => v,
            None => match default {
                Some(d) => (*d).to_owned(),
                None => continue,
            },
        };
        let value = match kind {
            Kind::Text => value,
            Kind::Bool => if as_bool(&value) { "True" } else { "False" }.to_owned(),
            // A bad number is dropped with a warning in fail2ban.
            Kind::Int => match value.trim().parse::<i64>() {
                Ok(n) => n.to_string(),
                Err(_) => continue,
            },
        };
        out.insert(*key, value);
    }
    Ok(out)
}

fn to_pairs(map: &OptMap) -> Vec<(String, String)> {
    map.iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Where option `key` of `jail` was written: the file and section (the
/// jail's, else `DEFAULT`); the main file when neither says (a value the
/// reader set itself).
fn located(cfg: &Layered, jail: &str, key: &str) -> (PathBuf, String) {
    let file_of = |e: &super::optmap::Entry| e.file.as_ref().map(|f| f.to_path_buf());
    let (path, section) = match cfg.section(jail).and_then(|s| s.entry(key)) {
        Some(e) => (file_of(e), jail),
        None => match cfg.defaults.entry(key) {
            Some(e) => (file_of(e), "DEFAULT"),
            None => (None, jail),
        },
    };
    (path.unwrap_or_else(|| cfg.main_file()), section.to_owned())
}

fn origin(cfg: &Layered, jail: &str, key: &str) -> Origin {
    let (path, section) = located(cfg, jail, key);
    Origin::Fail2ban {
        path,
        section,
        key: key.to_owned(),
    }
}

/// A jail that fail2ban would skip ("wrong configuration").
fn jail_error(cfg: &Layered, jail: &str, key: &str, message: String) -> Fail2banError {
    let (path, section) = located(cfg, jail, key);
    Fail2banError::Value {
        path,
        section,
        key: key.to_owned(),
        message,
    }
}

/// Resolves jail `name`; `Ok(None)` if it is not enabled. `cfg` gains the
/// filter's `known/…` options in the jail's section, as in fail2ban.
pub(crate) fn read_jail(
    cfg: &mut Layered,
    basedir: &Path,
    name: &str,
) -> Result<Option<F2bJail>, Fail2banError> {
    let first = read_options(cfg, name, FIRST_PASS)?;
    if first.get("enabled") != Some("True") {
        return Ok(None);
    }
    let backend = first.get("backend").unwrap_or("auto").to_owned();
    let filter_text = first.get("filter").unwrap_or("").to_owned();
    let mut filter = None;
    let mut filter_use = None;
    if !filter_text.is_empty() {
        let (fname, fparams) = params::extract(&filter_text)
            .map_err(|m| jail_error(cfg, name, "filter", format!("invalid filter: {m}")))?;
        filter_use = Some(FilterUse {
            name: fname.clone(),
            params: to_pairs(&fparams),
        });
        let mut reader = FilterReader::read(basedir, &fname, fparams)
            .map_err(|e| jail_error(cfg, name, "filter", e.to_string()))?;
        reader.apply_backend(&backend);
        reader.def.load_options(&first, FILTER_KEYS, true)?;
        let known = reader.def.combined(&[])?;
        let section = cfg.section_mut(name);
        for (k, v) in known.iter() {
            if !k.starts_with("known/") && k != "__name__" {
                section.insert(format!("known/{k}"), v);
            }
        }
        filter = Some(reader);
    }

    let opts = read_options(cfg, name, SECOND_PASS)?;
    let filter_def = match &mut filter {
        Some(reader) => {
            reader.def.load_options(&opts, FILTER_KEYS, false)?;
            let mut def = reader.resolve()?;
            def.apply(&opts);
            Some(def)
        }
        None => None,
    };

    let mut actions = Vec::new();
    let mut action_defs = Vec::new();
    for text in params::split_uses(opts.get("action").unwrap_or("")) {
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let (aname, aparams) = params::extract(text)
            .map_err(|m| jail_error(cfg, name, "action", format!("invalid action: {m}")))?;
        actions.push(ActionUse {
            name: aname.clone(),
            params: to_pairs(&aparams),
        });
        if aname.ends_with(".py") {
            action_defs.push(None);
        } else {
            action_defs.push(Some(action::resolve(
                basedir, &aname, &aparams, name, &opts,
            )?));
        }
    }

    let extra = |key: &str| cfg.get(name, key, &OptMap::new()).ok().flatten();
    let mut options = BTreeMap::new();
    let mut origins = BTreeMap::new();
    if let Some(section) = cfg.section(name) {
        let keys: Vec<&str> = section.keys().chain(cfg.defaults.keys()).collect();
        for key in keys {
            if key.starts_with("known/") {
                continue;
            }
            if let Some(v) = extra(key) {
                options.insert(key.to_owned(), v);
                origins.insert(key.to_owned(), origin(cfg, name, key));
            }
        }
    }
    let text = |key: &str| opts.get(key).map(str::to_owned);
    // `chain = <known/chain>` in jail.conf is a tag for the action to fill:
    // report what the first action made of it.
    let for_action = |key: &str| {
        let v = extra(key)?;
        if !v.contains('<') {
            return Some(v);
        }
        let resolved = action_defs
            .iter()
            .flatten()
            .find_map(|a: &F2bActionDef| a.init.get(key).cloned());
        Some(resolved.unwrap_or(v))
    };
    // The mode the filter runs in is the one on the filter line.
    let mode = filter_use
        .as_ref()
        .and_then(|f| f.params.iter().find(|(k, _)| k == "mode"))
        .map(|(_, v)| v.clone())
        .or_else(|| extra("mode"));
    Ok(Some(F2bJail {
        name: name.to_owned(),
        filter: filter_use,
        journalmatch: filter_def
            .as_ref()
            .map(|f| f.journalmatch.clone())
            .unwrap_or_default(),
        filter_def,
        logpath: opts
            .get("logpath")
            .unwrap_or("")
            .split('\n')
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        backend,
        maxretry: opts.get("maxretry").and_then(|v| v.parse().ok()),
        findtime: text("findtime"),
        bantime: text("bantime"),
        ignoreip: opts
            .get("ignoreip")
            .unwrap_or("")
            .split([' ', ',', '\n'])
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect(),
        port: for_action("port"),
        protocol: for_action("protocol"),
        chain: for_action("chain"),
        banaction: extra("banaction"),
        banaction_allports: extra("banaction_allports"),
        actions,
        action_defs,
        logtimezone: text("logtimezone"),
        datepattern: text("datepattern"),
        usedns: text("usedns"),
        mode,
        options,
        origins,
        resolved: opts,
    }))
}

/// The jail sections of a merged `jail` configuration, in order.
pub(crate) fn jail_names(cfg: &Layered) -> Vec<String> {
    cfg.sections
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| !n.starts_with("KNOWN/") && n != "INCLUDES")
        .collect()
}
