//! Filters (`filter.d/NAME.conf`) resolved as fail2ban's filter reader
//! resolves them: `[Definition]` read with the use line's parameters
//! (`mode`, `logtype`, …) and `[Init]`, tags substituted, multi-line
//! `failregex`/`ignoreregex` split one rule per line with empty lines
//! skipped. `<HOST>` and the other matching tags stay for the engine.

use std::path::Path;

use super::definition::Definition;
use super::error::Fail2banError;
use super::optmap::OptMap;

/// The `[Definition]` options fail2ban reads from a filter.
pub(crate) const FILTER_KEYS: &[&str] = &[
    "usedns",
    "prefregex",
    "ignoreregex",
    "failregex",
    "maxlines",
    "datepattern",
    "journalmatch",
];

/// A filter as fail2ban hands it to its matching engine.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct F2bFilterDef {
    /// Applied before the failregexes; they then match what it captured in
    /// `<F-CONTENT>`.
    pub prefregex: Option<String>,
    /// One rule per entry (a multi-line value split, empty lines skipped).
    pub failregex: Vec<String>,
    pub ignoreregex: Vec<String>,
    /// Lines kept together for multi-line rules.
    pub maxlines: Option<usize>,
    /// `{^LN-BEG}`, a strftime-like pattern, or a regex; `None` = automatic.
    pub datepattern: Option<String>,
    /// systemd journal matches, one entry per line (`_SYSTEMD_UNIT=sshd.service`).
    pub journalmatch: Vec<String>,
    /// `yes`, `warn`, `no`, `raw`.
    pub usedns: Option<String>,
}

impl F2bFilterDef {
    /// The engine's description of this filter, named `name`: what a jail,
    /// `bantam regex` and the native `fail2ban-filter` key all run.
    pub fn to_spec(&self, name: &str) -> bantam_filter::fail2ban::F2bFilterSpec {
        bantam_filter::fail2ban::F2bFilterSpec {
            name: name.to_owned(),
            prefregex: self.prefregex.clone(),
            failregex: self.failregex.clone(),
            ignoreregex: self.ignoreregex.clone(),
            datepattern: self.datepattern.clone(),
            maxlines: self.maxlines.unwrap_or(1),
            ..Default::default()
        }
    }

    /// Adds the filter options present in `opts` the way fail2ban's command
    /// stream applies them: rules accumulate, single values replace.
    pub(crate) fn apply(&mut self, opts: &OptMap) {
        for (key, value) in opts.iter() {
            match key {
                "failregex" => self.failregex.extend(lines(value)),
                "ignoreregex" => self.ignoreregex.extend(lines(value)),
                "journalmatch" => self.journalmatch.extend(lines(value)),
                "prefregex" => self.prefregex = Some(value.to_owned()),
                "datepattern" => self.datepattern = Some(value.to_owned()),
                "usedns" => self.usedns = Some(value.to_owned()),
                // fail2ban drops a maxlines that is not a number (with a
                // warning) and keeps the default.
                "maxlines" => {
                    if let Ok(n) = value.trim().parse() {
                        self.maxlines = Some(n);
                    }
                }
                _ => {}
            }
        }
    }
}

fn lines(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split('\n')
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
}

/// A filter file opened for one jail (or for a test, with no jail).
pub(crate) struct FilterReader {
    pub def: Definition,
}

impl FilterReader {
    pub fn read(basedir: &Path, name: &str, params: OptMap) -> Result<FilterReader, Fail2banError> {
        Ok(FilterReader {
            def: Definition::read(basedir, "filter", "filter.d", name, params)?,
        })
    }

    /// Sets `logtype` from the jail's backend unless the use line or the
    /// filter's `[Definition]` chose one (journal for systemd backends).
    pub fn apply_backend(&mut self, backend: &str) {
        let chosen = self.def.init.get("logtype").is_some_and(|v| !v.is_empty());
        if !chosen && !self.def.defines("logtype") {
            let logtype = if backend.starts_with("systemd") {
                "journal"
            } else {
                "file"
            };
            self.def.init.insert("logtype", logtype);
        }
    }

    /// The resolved filter (after [`Definition::load_options`]).
    pub fn resolve(&mut self) -> Result<F2bFilterDef, Fail2banError> {
        let opts = self.def.combined(&[])?;
        let mut out = F2bFilterDef::default();
        out.apply(&opts);
        Ok(out)
    }
}
