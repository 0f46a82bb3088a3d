//! Filters read from a fail2ban configuration directory by bantam's own INI
//! reader (`--filters DIR`): the path a real migration takes, judged by the
//! same sample logs as fail2ban's own resolution.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::Value;

use super::resolved::{FilterSource, Options, ResolvedFilter};

pub struct FilterDir {
    /// The directory holding `filter.d` (e.g. /etc/fail2ban).
    basedir: PathBuf,
}

impl FilterDir {
    /// `dir` may be the configuration directory or its `filter.d`.
    pub fn open(dir: &Path) -> Result<FilterDir> {
        let basedir = if dir.file_name().is_some_and(|n| n == "filter.d") {
            dir.parent().unwrap_or(Path::new(".")).to_owned()
        } else {
            dir.to_owned()
        };
        let filter_d = basedir.join("filter.d");
        if !filter_d.is_dir() {
            anyhow::bail!("{}: no filter.d directory", basedir.display());
        }
        Ok(FilterDir { basedir })
    }
}

impl FilterSource for FilterDir {
    fn names(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(self.basedir.join("filter.d")) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|f| f.ends_with(".conf") && !f.ends_with("common.conf") && !f.starts_with('.'))
            .map(|f| f.trim_end_matches(".conf").to_owned())
            .collect();
        names.sort();
        names
    }

    fn resolve(&self, name: &str, options: &Options) -> Result<ResolvedFilter> {
        // Option values reach the reader as fail2ban passes them: text.
        let params: Vec<(String, String)> = options
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect();
        let def = bantam_config::fail2ban::resolve_filter(&self.basedir, name, &params)
            .with_context(|| format!("reading filter {name}"))?;
        Ok(ResolvedFilter {
            name: name.to_owned(),
            prefregex: def.prefregex,
            failregex: def.failregex,
            ignoreregex: def.ignoreregex,
            datepattern: def.datepattern,
            maxlines: def.maxlines,
        })
    }
}
