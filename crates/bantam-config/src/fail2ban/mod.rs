//! A reader for fail2ban's configuration tree (`/etc/fail2ban`), so that a
//! fail2ban user can run bantam on the configuration they already have.
//!
//! It reproduces what fail2ban's own client resolves (that is the point: a
//! drop-in that reads a file differently bans differently), layer by layer:
//!
//! - [`ini`]: one file, in fail2ban's INI dialect;
//! - [`layers`]: `X.conf` → `X.d/*.conf` → `X.local` → `X.d/*.local`, with
//!   `[INCLUDES]` and the `KNOWN/` record of overridden values;
//! - [`interpolate`]: `%(name)s`, `%(section/name)s`, `%(known/name)s`;
//! - [`tags`]: `<tag>` substitution across a filter's or action's options;
//! - [`params`]: `name[key=value, …]` on use lines;
//! - [`filter`], [`action`], [`jail`]: the three kinds of file, resolved;
//! - [`import`]: the resolved tree written as bantam's native TOML.
//!
//! fail2ban's code was read to learn the behaviour (and is run as an oracle
//! by the tests); none of it is copied.
//!
//! ```no_run
//! use bantam_config::fail2ban::Fail2banTree;
//! let tree = Fail2banTree::load("/etc/fail2ban".as_ref())?;
//! for jail in tree.jails() {
//!     println!("{}: {:?}", jail.name, jail.logpath);
//! }
//! let sshd = tree.filter("sshd", &[("mode".into(), "aggressive".into())])?;
//! # Ok::<(), bantam_config::fail2ban::Fail2banError>(())
//! ```

pub mod action;
mod definition;
pub mod error;
pub mod filter;
pub mod import;
mod ini;
mod interpolate;
pub mod jail;
mod layers;
mod optmap;
mod params;
mod tags;

#[cfg(test)]
mod oracle_tests;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use action::{ActionUse, F2bActionDef};
pub use error::Fail2banError;
pub use filter::F2bFilterDef;
pub use import::render_native_toml;
pub use jail::{F2bJail, FilterUse};

use filter::{FilterReader, FILTER_KEYS};
use optmap::OptMap;

/// The version fail2ban offers as `%(fail2ban_version)s` (the one whose
/// behaviour this reader follows).
const FAIL2BAN_VERSION: &str = "1.0.2";

/// A fail2ban configuration directory, with its enabled jails resolved.
#[derive(Debug)]
pub struct Fail2banTree {
    basedir: PathBuf,
    jails: Vec<F2bJail>,
    skipped: Vec<(String, Fail2banError)>,
    files: Vec<PathBuf>,
}

impl Fail2banTree {
    /// Reads `dir` (e.g. `/etc/fail2ban`) and resolves every enabled jail,
    /// with its filter and actions.
    ///
    /// A jail that cannot be resolved does not fail the whole load: it is
    /// listed in [`skipped`](Self::skipped) with the reason (fail2ban
    /// skips some of these and refuses to start on others; bantam reports
    /// each, by jail, so an import can say what to fix).
    pub fn load(dir: &Path) -> Result<Fail2banTree, Fail2banError> {
        let basedir = PathBuf::from(dir.to_string_lossy().trim_end_matches('/'));
        let mut cfg = layers::load(&basedir, "jail")?.ok_or_else(|| Fail2banError::NotFound {
            dir: basedir.clone(),
            kind: "jail configuration",
            name: "jail".into(),
        })?;
        cfg.defaults.insert("fail2ban_version", FAIL2BAN_VERSION);
        cfg.defaults
            .insert("fail2ban_confpath", basedir.to_string_lossy().into_owned());
        let mut jails = Vec::new();
        let mut skipped = Vec::new();
        for name in jail::jail_names(&cfg) {
            match jail::read_jail(&mut cfg, &basedir, &name) {
                Ok(Some(j)) => jails.push(j),
                Ok(None) => {}
                Err(e) => skipped.push((name, e)),
            }
        }
        Ok(Fail2banTree {
            basedir,
            jails,
            skipped,
            files: cfg.files,
        })
    }

    /// The configuration directory.
    pub fn basedir(&self) -> &Path {
        &self.basedir
    }

    /// The enabled jails that resolved, in file order.
    pub fn jails(&self) -> &[F2bJail] {
        &self.jails
    }

    /// Enabled jails that could not be resolved, with the reason.
    pub fn skipped(&self) -> &[(String, Fail2banError)] {
        &self.skipped
    }

    /// The jail configuration files read, in merge order.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Resolves `filter.d/NAME` with the given parameters (`mode`,
    /// `logtype`, …) as fail2ban does outside any jail (what
    /// `fail2ban-regex` and fail2ban's filter tests see).
    pub fn filter(
        &self,
        name: &str,
        params: &[(String, String)],
    ) -> Result<F2bFilterDef, Fail2banError> {
        resolve_filter(&self.basedir, name, params)
    }

    /// Resolves `action.d/NAME` with the given parameters for `jail` (its
    /// name is the default `name`, its options are visible to the action).
    pub fn action(
        &self,
        name: &str,
        params: &[(String, String)],
        jail: &F2bJail,
    ) -> Result<F2bActionDef, Fail2banError> {
        let params: OptMap = params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        action::resolve(&self.basedir, name, &params, &jail.name, &jail.resolved)
    }
}

/// Resolves `BASEDIR/filter.d/NAME` with the given parameters (`mode`,
/// `logtype`, …) without reading any jail: what `bantam regex` needs for a
/// fail2ban filter file, and what fail2ban-regex does.
pub fn resolve_filter(
    basedir: &Path,
    name: &str,
    params: &[(String, String)],
) -> Result<F2bFilterDef, Fail2banError> {
    let params: OptMap = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut reader = FilterReader::read(basedir, name, params)?;
    reader
        .def
        .load_options(&OptMap::new(), FILTER_KEYS, false)?;
    reader.resolve()
}

/// Where a fail2ban filter file sits: `DIR/filter.d/NAME.conf` → (`DIR`,
/// `NAME`), since its includes (`common.conf`) and `.local` are found
/// relative to the configuration directory. A file outside a `filter.d`
/// uses its own directory. `None` when the path has no file name.
pub fn filter_file_location(path: &Path) -> Option<(PathBuf, String)> {
    let name = path.file_stem()?.to_string_lossy().into_owned();
    let dir = path.parent().unwrap_or(Path::new("."));
    let basedir = if dir.file_name().is_some_and(|n| n == "filter.d") {
        dir.parent().unwrap_or(Path::new("."))
    } else {
        dir
    };
    Some((basedir.to_owned(), name))
}
