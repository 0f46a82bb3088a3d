//! What filters and actions share: a file with `[Definition]` and `[Init]`,
//! resolved with the parameters of the use line and the jail's options.
//!
//! Precedence, as in fail2ban: use-line parameters beat `[Init]`, which
//! beats nothing in `[Definition]` directly but is visible to it as tags;
//! the jail's options are visible to `%(…)s` in `[Definition]`, and an
//! option the jail sets itself is not taken from the file at all (the
//! jail's value is sent instead). `[Init]` values are also offered as
//! `known/NAME`, so a parameter can extend the file's default.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::error::Fail2banError;
use super::layers::{self, split_conditional, Layered};
use super::optmap::OptMap;
use super::tags;

/// A filter or action file being resolved for one use.
pub(crate) struct Definition {
    pub cfg: Layered,
    /// `[Init]` values plus the use line's parameters (which win).
    pub init: OptMap,
    /// The values `%(…)s` in `[Definition]` sees beside the file's own.
    vars: OptMap,
    /// The `[Definition]` options read so far.
    opts: OptMap,
    cache: HashMap<String, Option<String>>,
}

impl Definition {
    /// Reads `SUBDIR/NAME` (`filter.d/sshd`) with the use line's
    /// parameters.
    pub fn read(
        basedir: &Path,
        kind: &'static str,
        subdir: &str,
        name: &str,
        params: OptMap,
    ) -> Result<Definition, Fail2banError> {
        let cfg = layers::load(basedir, &format!("{subdir}/{name}"))?.ok_or_else(|| {
            Fail2banError::NotFound {
                dir: basedir.join(subdir),
                kind,
                name: name.to_owned(),
            }
        })?;
        Ok(Definition {
            cfg,
            init: params,
            vars: OptMap::new(),
            opts: OptMap::new(),
            cache: HashMap::new(),
        })
    }

    /// fail2ban's `getOptions`: reads `keys` from `[Definition]` with the
    /// jail's options `jail` visible, then folds `[Init]` into the init
    /// values. With `all`, every other `[Definition]` (and `[DEFAULT]`)
    /// option is read too (how a jail learns the filter's `known/…`).
    pub fn load_options(
        &mut self,
        jail: &OptMap,
        keys: &[&str],
        all: bool,
    ) -> Result<(), Fail2banError> {
        let vars = jail.merged(&self.init);
        let mut opts = OptMap::new();
        if self.cfg.has_section("Definition") {
            for key in keys {
                if vars.contains(key) {
                    continue;
                }
                if let Some(v) = self.cfg.get("Definition", key, &vars)? {
                    opts.insert(*key, v);
                }
            }
        }
        self.vars = vars;
        if let Some(init) = self.cfg.section("Init").cloned() {
            for key in init.keys() {
                let value = self
                    .cfg
                    .get("Init", key, &OptMap::new())?
                    .unwrap_or_default();
                if !key.starts_with("known/") {
                    self.init.insert(format!("known/{key}"), value.clone());
                }
                if !self.init.contains(key) {
                    self.init.insert(key, value);
                }
            }
        }
        if all {
            if let Some(def) = self.cfg.section("Definition").cloned() {
                let names: Vec<String> = def
                    .keys()
                    .chain(self.cfg.defaults.keys())
                    .map(str::to_owned)
                    .collect();
                for key in names {
                    if opts.contains(&key) {
                        continue;
                    }
                    if let Some(v) = self.cfg.get("Definition", &key, &OptMap::new())? {
                        opts.insert(key, v);
                    }
                }
            }
        }
        self.opts = opts;
        Ok(())
    }

    /// fail2ban's `getCombined`: the options with the init values on top,
    /// tags substituted. Options named in `ignore`, and every option that
    /// has a per-family variant, are left for ban time.
    pub fn combined(&mut self, ignore: &[&str]) -> Result<OptMap, Fail2banError> {
        let combined = self.opts.merged(&self.init);
        if combined.is_empty() {
            return Ok(combined);
        }
        let mut ignored: HashSet<String> = ignore.iter().map(|s| (*s).to_owned()).collect();
        for key in combined.keys() {
            if let Some((base, _)) = split_conditional(key) {
                ignored.insert(base.to_owned());
            }
        }
        let cfg = &self.cfg;
        let vars = &self.vars;
        let cache = &mut self.cache;
        let mut lookup = |name: &str| -> Result<Option<String>, Fail2banError> {
            if let Some(hit) = cache.get(name) {
                return Ok(hit.clone());
            }
            let v = if cfg.has_section("Definition") {
                cfg.get_ex("Definition", name, vars)?
            } else {
                None
            };
            cache.insert(name.to_owned(), v.clone());
            Ok(v)
        };
        match tags::substitute(&combined, &ignored, &mut lookup)? {
            Ok(done) => Ok(done),
            Err(looped) => Err(Fail2banError::Value {
                path: self
                    .cfg
                    .files
                    .last()
                    .cloned()
                    .unwrap_or_else(|| self.cfg.main_file()),
                section: "Definition".into(),
                key: looped.option,
                message: format!(
                    "<{}> refers back to itself (tag loop) in {:?}",
                    looped.tag, looped.value
                ),
            }),
        }
    }

    /// Whether `[Definition]` itself (not `[DEFAULT]`) sets `key`.
    pub fn defines(&self, key: &str) -> bool {
        self.cfg
            .section("Definition")
            .is_some_and(|s| s.contains(key))
    }
}
