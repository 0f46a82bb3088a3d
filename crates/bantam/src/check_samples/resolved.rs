//! Where the checker gets its filters from: a filter name and an option set
//! (`mode`, `logtype` …) in, a fully resolved filter out.
//!
//! # Why a trait
//!
//! Today the resolution comes from fail2ban itself (a JSON-lines dump made
//! by `scripts/fail2ban-oracle/dump_filters.py`). bantam's own INI reader
//! will be a second source (`--filters DIR`); the checker must not care which
//! one answered, so that the two can be compared line for line.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use bantam_filter::fail2ban::F2bFilterSpec;
use serde::Deserialize;
use serde_json::{Map, Value};

/// Option sets as the sample logs write them (`{"mode": "aggressive"}`).
pub type Options = Map<String, Value>;

/// A filter with every option, include and `%(var)s` resolved.
#[derive(Clone, Debug, Default)]
pub struct ResolvedFilter {
    pub name: String,
    pub prefregex: Option<String>,
    pub failregex: Vec<String>,
    pub ignoreregex: Vec<String>,
    pub datepattern: Option<String>,
    pub maxlines: Option<usize>,
}

impl ResolvedFilter {
    /// The engine's spec, run as fail2ban's sample test runs filters: every
    /// matching rule reported, host names kept raw.
    pub fn to_spec(&self) -> F2bFilterSpec {
        F2bFilterSpec {
            name: self.name.clone(),
            prefregex: self.prefregex.clone(),
            failregex: self.failregex.clone(),
            ignoreregex: self.ignoreregex.clone(),
            datepattern: self.datepattern.clone(),
            maxlines: self.maxlines.unwrap_or(1),
            check_all: true,
            raw_host: true,
        }
    }
}

/// A source of resolved filters.
pub trait FilterSource {
    /// Every filter name the source knows (fail2ban's `filter.d/*.conf`
    /// minus `*common.conf`).
    fn names(&self) -> Vec<String>;
    /// The filter `name` with `options` applied.
    fn resolve(&self, name: &str, options: &Options) -> Result<ResolvedFilter>;
}

/// One line of the dump.
#[derive(Deserialize)]
struct Record {
    filter: String,
    #[serde(default)]
    options: Options,
    prefregex: Option<String>,
    #[serde(default)]
    failregex: Vec<String>,
    #[serde(default)]
    ignoreregex: Vec<String>,
    datepattern: Option<String>,
    maxlines: Option<usize>,
    /// fail2ban could not resolve this combination.
    error: Option<String>,
}

/// fail2ban's own resolution, from the oracle's JSON-lines dump.
pub struct ResolvedFile {
    records: BTreeMap<String, Vec<Record>>,
}

impl ResolvedFile {
    pub fn load(path: &Path) -> Result<ResolvedFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut records: BTreeMap<String, Vec<Record>> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let rec: Record = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: not a filter record", path.display(), i + 1))?;
            records.entry(rec.filter.clone()).or_default().push(rec);
        }
        Ok(ResolvedFile { records })
    }
}

impl FilterSource for ResolvedFile {
    fn names(&self) -> Vec<String> {
        self.records.keys().cloned().collect()
    }

    fn resolve(&self, name: &str, options: &Options) -> Result<ResolvedFilter> {
        let Some(recs) = self.records.get(name) else {
            bail!("filter {name} is not in the resolved file");
        };
        let Some(rec) = recs.iter().find(|r| &r.options == options) else {
            bail!(
                "filter {name} has no resolution for options {}",
                Value::Object(options.clone())
            );
        };
        if let Some(e) = &rec.error {
            bail!("fail2ban could not resolve filter {name}: {e}");
        }
        Ok(ResolvedFilter {
            name: name.to_owned(),
            prefregex: rec.prefregex.clone(),
            failregex: rec.failregex.clone(),
            ignoreregex: rec.ignoreregex.clone(),
            datepattern: rec.datepattern.clone(),
            maxlines: rec.maxlines,
        })
    }
}
