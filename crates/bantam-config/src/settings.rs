//! Stages two and three: merge each jail with `[defaults]`, then resolve it
//! into settings whose every value has been checked. Code that receives a
//! [`Settings`] never validates anything again.

use std::path::{Path, PathBuf};
use std::time::Duration;

use bantam_filter::date::{DateFormat, DatePattern};
use bantam_filter::{shipped, AnyFilterSpec, Definition, Filter, FilterSpec, RuleSpec, Subnet};
use jiff::tz::TimeZone;
use toml::Spanned;

pub use crate::daemon_settings::{
    BackendKind, DaemonSettings, Fail2banActions, DEFAULT_MAX_TRACKED, DEFAULT_SOCKET,
    DEFAULT_STATE_DIR,
};
use crate::duration::{parse_bantime, parse_duration, BanTime};
use crate::error::{line_of, ConfigError};
use crate::fail2ban::F2bActionDef;
use crate::logpath::Origin;
use crate::options::{DurationValue, JailOptions, OneOrMany, Options};
use bantam_filter::fail2ban::{F2bFilter, F2bFilterSpec};

/// Everything the daemon needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    pub daemon: DaemonSettings,
    pub jails: Vec<JailSettings>,
    /// `[notify.*]`: mail and webhooks.
    pub notify: crate::notify_settings::NotifySettings,
    /// `[fleet]`, when bans are shared.
    pub fleet: Option<crate::fleet_settings::FleetSettings>,
}

#[derive(Debug, Clone)]
pub struct JailSettings {
    pub name: String,
    /// The compile-checked filter description (compile it per log source):
    /// native, or a fail2ban filter run unchanged.
    pub filter: AnyFilterSpec,
    /// Where dates without an offset are read in.
    pub zone: TimeZone,
    /// Log files, globs, FIFOs or `-` (standard input), checked: none is
    /// empty, a directory or holds a NUL; a relative one in bantam's TOML
    /// has been made absolute. One may not exist yet (see
    /// [`JailSettings::missing_logpaths`]).
    pub logpath: Vec<String>,
    /// Where each of `logpath` was written (same length and order; see
    /// [`JailSettings::logpaths`]).
    pub logpath_origin: Vec<Origin>,
    pub maxretry: u32,
    pub findtime: Duration,
    pub bantime: BanTime,
    pub ignoreip: Vec<Subnet>,
    /// fail2ban `action.d` actions this jail runs, resolved for it.
    pub actions: Vec<F2bActionDef>,
    /// Whether bantam's own firewall backend carries this jail's bans
    /// (always for native jails; for fail2ban jails, see
    /// [`Fail2banActions`]).
    pub native_ban: bool,
    /// The backend that carries this jail's bans (`banaction`); `None`:
    /// the daemon's `backend` (see [`JailSettings::backend`]).
    pub banaction: Option<BackendKind>,
    /// On restart, restored bans go back in the firewall but the jail's
    /// actions are not run for them. For a fail2ban jail: every one of its
    /// actions says `norestored` (see [`F2bActionDef::norestored`] for the
    /// per-action answer).
    pub norestored: bool,
    /// Ban times that grow with each ban of an address.
    pub escalation: Option<crate::policy::Escalation>,
    /// The built-in recidive.
    pub recidive: Option<crate::policy::Recidive>,
    /// Trust, subnets, knocking, ignorecommand, ignoreself, rule ban times.
    pub trust_policy: crate::policy_trust::TrustPolicy,
}

impl JailSettings {
    /// The backend this jail's bans go to, given the daemon's `backend`;
    /// `None`: the jail bans only through its fail2ban actions.
    pub fn backend(&self, default: BackendKind) -> Option<BackendKind> {
        self.native_ban.then(|| self.banaction.unwrap_or(default))
    }
}

const DEFAULT_MAXRETRY: u32 = 5;
const DEFAULT_FINDTIME: Duration = Duration::from_secs(600);
const DEFAULT_BANTIME: BanTime = BanTime::For(Duration::from_secs(600));
const DEFAULT_IGNOREIP: &[&str] = &["127.0.0.0/8", "::1"];
/// Where the built-in default looks for sshd's log, in order.
pub const SSHD_LOGS: &[&str] = &["/var/log/auth.log", "/var/log/secure"];

/// Reads and resolves a configuration file and its drop-ins (the `*.toml`
/// of the `conf.d/` directory beside it; see [`crate::layers`]).
pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    crate::layers::load_layered(path)
}

/// Resolves configuration text; `path` is used in errors and to find
/// relative filter files.
pub fn parse(path: &Path, text: &str) -> Result<Settings, ConfigError> {
    let docs = [(path.to_owned(), 0)];
    let cx = Cx::new(path, text, &docs);
    let options: Options = toml::from_str(text).map_err(|e| cx.toml_error(&e))?;
    cx.resolve(options)
}

/// Where the built-in default reads sshd's messages on a host that logs to
/// the systemd journal only (Debian 12, Fedora): the unit is `ssh.service`
/// on Debian and Ubuntu, `sshd.service` elsewhere.
pub const SSHD_JOURNAL: &[&str] = &[
    "journal:_SYSTEMD_UNIT=ssh.service",
    "journal:_SYSTEMD_UNIT=sshd.service",
];

/// The configuration used when none is given: protect sshd, reading the
/// first of [`SSHD_LOGS`] that exists, or the journal ([`SSHD_JOURNAL`])
/// when none does.
pub fn builtin_default() -> Result<Settings, ConfigError> {
    let logs = builtin_sshd_logpaths(|p| Path::new(p).exists());
    let quoted: Vec<String> = logs.iter().map(|l| format!("{l:?}")).collect();
    let text = format!(
        "[jails.sshd]\nfilter = \"sshd\"\nlogpath = [{}]\n",
        quoted.join(", ")
    );
    parse(Path::new("(built-in default)"), &text)
}

/// The built-in sshd jail's log paths, given which files exist: the sshd
/// filter's default jail ([`SSHD_LOGS`], else [`SSHD_JOURNAL`]).
pub fn builtin_sshd_logpaths(exists: impl Fn(&str) -> bool) -> Vec<String> {
    crate::filter_jail::default_logpaths("sshd", exists).unwrap_or_default()
}

pub(crate) struct Cx<'a> {
    pub(crate) path: &'a Path,
    /// Every document (the file, then its drop-ins) one after the other:
    /// spans are offsets in this text, so a value names its own file.
    text: &'a str,
    /// Each document's path and where it starts in `text`, in order.
    docs: &'a [(PathBuf, usize)],
}

impl<'a> Cx<'a> {
    pub(crate) fn new(path: &'a Path, text: &'a str, docs: &'a [(PathBuf, usize)]) -> Cx<'a> {
        Cx { path, text, docs }
    }

    /// The file and 1-based line of a byte offset.
    fn locate(&self, offset: usize) -> (&Path, usize) {
        let (path, start) = self
            .docs
            .iter()
            .rev()
            .find(|(_, start)| *start <= offset)
            .map_or((self.path, 0), |(p, s)| (p.as_path(), *s));
        let end = offset.min(self.text.len());
        (
            path,
            line_of(&self.text[start.min(end)..end], end - start.min(end)),
        )
    }

    /// The directory relative paths written at `offset` are relative to.
    pub(crate) fn dir_at(&self, offset: usize) -> &Path {
        self.locate(offset).0.parent().unwrap_or(Path::new("."))
    }

    pub(crate) fn toml_error(&self, e: &toml::de::Error) -> ConfigError {
        let offset = e.span().map_or(0, |s| s.start);
        self.err_at(offset, "toml", e.message().to_owned())
    }

    fn err_at(&self, offset: usize, key: &str, message: String) -> ConfigError {
        let (path, line) = self.locate(offset);
        ConfigError::Invalid {
            path: path.to_owned(),
            line,
            key: key.to_owned(),
            message,
        }
    }

    pub(crate) fn err<T>(&self, value: &Spanned<T>, key: &str, message: String) -> ConfigError {
        self.err_at(value.span().start, key, message)
    }

    pub(crate) fn resolve(&self, options: Options) -> Result<Settings, ConfigError> {
        let daemon = self.daemon(options.daemon)?;
        self.default_policy(&options.defaults)?;
        if let Some(banaction) = &options.defaults.banaction {
            self.backend_kind(banaction, "defaults.banaction")?;
        }
        let mut jails = Vec::new();
        for (name, jail) in options.jails {
            let line = jail.span().start;
            let inherited = jail.get_ref().logpath.is_none();
            let merged = jail.into_inner().merged_with(&options.defaults);
            if merged.enabled == Some(false) {
                continue;
            }
            let from_filter = crate::filter_jail::fills_logpath(&merged);
            let merged = crate::filter_jail::fill(merged, crate::filter_jail::exists);
            let logpath_key = match (inherited, from_filter) {
                (true, true) => format!("jails.{name}.filter (its default logpath)"),
                (true, false) => "defaults.logpath".to_owned(),
                (false, _) => format!("jails.{name}.logpath"),
            };
            jails.push(self.jail(&name, line, &logpath_key, merged)?);
        }
        let notify = self.notify(options.notify)?;
        let fleet = self.fleet(options.fleet, &jails)?;
        Ok(Settings {
            daemon,
            jails,
            notify,
            fleet,
        })
    }

    pub(crate) fn duration(
        &self,
        value: &Spanned<DurationValue>,
        key: &str,
    ) -> Result<Duration, ConfigError> {
        match value.get_ref() {
            DurationValue::Seconds(n) if *n >= 0 => Ok(Duration::from_secs(*n as u64)),
            DurationValue::Seconds(n) => {
                Err(self.err(value, key, format!("{n}: must not be negative")))
            }
            DurationValue::Text(t) => parse_duration(t).map_err(|m| self.err(value, key, m)),
        }
    }

    pub(crate) fn bantime(
        &self,
        value: &Spanned<DurationValue>,
        key: &str,
    ) -> Result<BanTime, ConfigError> {
        match value.get_ref() {
            DurationValue::Seconds(-1) => Ok(BanTime::Permanent),
            DurationValue::Seconds(n) if *n >= 0 => {
                Ok(BanTime::For(Duration::from_secs(*n as u64)))
            }
            DurationValue::Seconds(n) => Err(self.err(
                value,
                key,
                format!("{n}: use -1 or \"permanent\" for no end"),
            )),
            DurationValue::Text(t) => parse_bantime(t).map_err(|m| self.err(value, key, m)),
        }
    }

    fn jail(
        &self,
        name: &str,
        line: usize,
        logpath_key: &str,
        o: JailOptions,
    ) -> Result<JailSettings, ConfigError> {
        let key = |k: &str| format!("jails.{name}.{k}");
        let zone = match &o.logtimezone {
            None => TimeZone::try_system().unwrap_or(TimeZone::UTC),
            Some(z) => TimeZone::get(z.get_ref()).map_err(|e| {
                self.err(
                    z,
                    &key("logtimezone"),
                    format!("unknown time zone {:?}: {e}", z.get_ref()),
                )
            })?,
        };
        let filter = match &o.fail2ban_filter {
            Some(path) => AnyFilterSpec::Fail2ban(self.fail2ban_filter(name, path, &o, &zone)?),
            None => AnyFilterSpec::Native(self.filter(name, line, &o, zone.clone())?),
        };
        let Some(logpath) = &o.logpath else {
            return Err(self.err_at(
                line,
                &key("logpath"),
                "missing: which logs should this jail read?".into(),
            ));
        };
        let (logpath, logpath_origin) = self.logpath(logpath, logpath_key)?;
        let maxretry = match &o.maxretry {
            None => DEFAULT_MAXRETRY,
            Some(v) if (1..=1_000_000).contains(v.get_ref()) => *v.get_ref() as u32,
            Some(v) => {
                return Err(self.err(
                    v,
                    &key("maxretry"),
                    format!("{}: must be 1 to 1000000", v.get_ref()),
                ))
            }
        };
        let findtime = match &o.findtime {
            None => DEFAULT_FINDTIME,
            Some(v) => self.duration(v, &key("findtime"))?,
        };
        let bantime = match &o.bantime {
            None => DEFAULT_BANTIME,
            Some(v) => self.bantime(v, &key("bantime"))?,
        };
        let ignoreip = match &o.ignoreip {
            None => DEFAULT_IGNOREIP
                .iter()
                .filter_map(|s| s.parse().ok())
                .collect(),
            Some(v) => v
                .get_ref()
                .clone()
                .into_vec()
                .iter()
                .map(|s| {
                    s.parse::<Subnet>()
                        .map_err(|e| self.err(v, &key("ignoreip"), e.to_string()))
                })
                .collect::<Result<_, _>>()?,
        };
        let trust_policy = self.trust_policy(name, &o, &filter)?;
        Ok(JailSettings {
            name: name.to_owned(),
            filter,
            zone,
            logpath,
            logpath_origin,
            maxretry,
            findtime,
            bantime,
            ignoreip,
            actions: Vec::new(),
            native_ban: true,
            banaction: o
                .banaction
                .as_ref()
                .map(|v| self.backend_kind(v, &key("banaction")))
                .transpose()?,
            norestored: o.norestored.unwrap_or(false),
            escalation: o
                .escalation
                .as_ref()
                .map(|e| self.escalation(e, &key("escalation"), bantime))
                .transpose()?,
            recidive: o
                .recidive
                .as_ref()
                .map(|r| self.recidive(r, &key("recidive")))
                .transpose()?,
            trust_policy,
        })
    }

    /// The checked paths, relative ones anchored at this file's directory
    /// (made absolute, so a later change of working directory cannot move
    /// them), each with its origin.
    fn logpath(
        &self,
        value: &Spanned<OneOrMany>,
        key: &str,
    ) -> Result<(Vec<String>, Vec<Origin>), ConfigError> {
        let paths = value.get_ref().clone().into_vec();
        if paths.is_empty() {
            return Err(self.err(value, key, "no paths given".into()));
        }
        let (written_in, line) = self.locate(value.span().start);
        let origin = Origin::Toml {
            path: written_in.to_owned(),
            line,
            key: key.to_owned(),
        };
        let mut out = Vec::new();
        for path in paths {
            crate::logpath::check(&path).map_err(|m| self.err(value, key, m))?;
            let anchored = match path == "-"
                || Path::new(&path).is_absolute()
                || crate::logpath::is_source_uri(&path)
            {
                true => path,
                false => {
                    let joined = self.dir_at(value.span().start).join(&path);
                    let absolute = std::path::absolute(&joined).unwrap_or(joined);
                    let text = absolute.to_string_lossy().into_owned();
                    // Anchoring may make `.` a directory: check again.
                    crate::logpath::check(&text).map_err(|m| self.err(value, key, m))?;
                    text
                }
            };
            out.push(anchored);
        }
        let origins = vec![origin; out.len()];
        Ok((out, origins))
    }

    /// `fail2ban-filter = "…/filter.d/NAME.conf"`: read as fail2ban reads it
    /// (includes, `.local`, `[Init]`, `mode`) and compiled now, so a broken
    /// one stops the start with its file and rule named.
    fn fail2ban_filter(
        &self,
        name: &str,
        path: &Spanned<String>,
        o: &JailOptions,
        zone: &TimeZone,
    ) -> Result<F2bFilterSpec, ConfigError> {
        let key = format!("jails.{name}.fail2ban-filter");
        if o.filter.is_some() {
            return Err(self.err(
                path,
                &key,
                "give filter or fail2ban-filter, not both".into(),
            ));
        }
        let file = self.dir_at(path.span().start).join(path.get_ref());
        let (basedir, stem) = crate::fail2ban::filter_file_location(&file)
            .filter(|_| file.is_file())
            .ok_or_else(|| self.err(path, &key, format!("{} is not a file", file.display())))?;
        let params: Vec<(String, String)> = o
            .mode
            .as_ref()
            .map(|m| vec![("mode".to_owned(), m.get_ref().clone())])
            .unwrap_or_default();
        let def = crate::fail2ban::resolve_filter(&basedir, &stem, &params)
            .map_err(|e| self.err(path, &key, e.to_string()))?;
        let mut spec = def.to_spec(&stem);
        spec.failregex
            .extend(o.failregex.iter().flatten().map(|r| r.get_ref().clone()));
        spec.ignoreregex
            .extend(o.ignoreregex.iter().flatten().map(|r| r.get_ref().clone()));
        F2bFilter::new(&spec, zone.clone()).map_err(|e| self.err(path, &key, e.to_string()))?;
        Ok(spec)
    }

    fn filter(
        &self,
        name: &str,
        line: usize,
        o: &JailOptions,
        zone: TimeZone,
    ) -> Result<FilterSpec, ConfigError> {
        let key = |k: &str| format!("jails.{name}.{k}");
        let mode = o.mode.as_ref().map(|m| m.get_ref().as_str());
        let mut spec = match &o.filter {
            Some(f) => self.named_filter(f, mode, &key("filter"))?,
            None if o.failregex.is_some() => FilterSpec {
                name: name.to_owned(),
                ..FilterSpec::default()
            },
            None => {
                return Err(self.err_at(
                    line,
                    &key("filter"),
                    "missing: give a filter name or inline failregex".into(),
                ))
            }
        };
        for r in o.failregex.iter().flatten() {
            spec.failregex
                .push(RuleSpec::numbered(spec.failregex.len(), r.get_ref()));
        }
        for r in o.ignoreregex.iter().flatten() {
            spec.ignoreregex
                .push(RuleSpec::numbered(spec.ignoreregex.len(), r.get_ref()));
        }
        if let Some(p) = &o.datepattern {
            spec.date = match p.get_ref().as_str() {
                "auto" => DatePattern::Auto,
                "none" => DatePattern::None,
                other => DatePattern::Pinned(
                    other
                        .parse::<DateFormat>()
                        .map_err(|e| self.err(p, &key("datepattern"), e.to_string()))?,
                ),
            };
        }
        // Compile now so that a bad rule stops the start, pointing at its line.
        if let Err(e) = Filter::new(&spec, zone) {
            let at = o
                .failregex
                .as_ref()
                .and_then(|v| v.first())
                .map(|v| v.span().start)
                .or_else(|| o.filter.as_ref().map(|f| f.span().start))
                .unwrap_or(line);
            return Err(self.err_at(at, &key("failregex"), e.to_string()));
        }
        Ok(spec)
    }

    fn named_filter(
        &self,
        f: &Spanned<String>,
        mode: Option<&str>,
        key: &str,
    ) -> Result<FilterSpec, ConfigError> {
        let name = f.get_ref();
        if shipped::names().any(|n| n == name) {
            let def = shipped::definition(name).map_err(|e| self.err(f, key, e.to_string()))?;
            return def
                .spec(name, mode)
                .map_err(|e| self.err(f, key, e.to_string()));
        }
        let path = self.dir_at(f.span().start).join(name);
        if !name.ends_with(".toml") {
            return Err(self.err(
                f,
                key,
                format!(
                    "{name:?} is neither a shipped filter ({}) nor a .toml filter file",
                    shipped::names().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let text = std::fs::read_to_string(&path).map_err(|e| {
            self.err(
                f,
                key,
                format!("cannot read filter file {}: {e}", path.display()),
            )
        })?;
        let stem = path
            .file_stem()
            .map_or_else(|| name.clone(), |s| s.to_string_lossy().into_owned());
        let def = Definition::parse(&path.display().to_string(), &text)
            .map_err(|e| self.err(f, key, e.to_string()))?;
        def.spec(&stem, mode)
            .map_err(|e| self.err(f, key, e.to_string()))
    }
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
