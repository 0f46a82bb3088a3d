//! `%(name)s` interpolation, as fail2ban's parser does it when a value is
//! read (never when it is parsed, so a later layer can change what an
//! earlier value expands to):
//!
//! - `%(name)s`: the option from the caller's extra values, then the
//!   section, then `[DEFAULT]`; `%%` is a literal `%`;
//! - `%(__name__)s`: the section's name (a jail's name, in `jail.conf`);
//! - `%(SECTION/name)s`: the raw option of another section, falling back to
//!   `[DEFAULT]`; `%(default/name)s`: from `[DEFAULT]`;
//! - `%(known/name)s`: the value the option had before the current layer
//!   overrode it (falling back to `[DEFAULT]`);
//! - at most 10 levels deep, as Python's parser allows.
//!
//! A referenced value is expanded in the context of the section being read,
//! not the one it came from: fail2ban behaves so, and `jail.conf` relies on
//! it (`action_` names `%(port)s` and each jail sets its own port).

use std::path::PathBuf;

use super::error::Fail2banError;
use super::layers::Layered;
use super::optmap::OptMap;

const MAX_DEPTH: usize = 10;

impl Layered {
    /// The raw (uninterpolated) value, looked up in `vars`, the section and
    /// `[DEFAULT]`. `None` if the section or option is missing.
    pub fn get_raw(&self, section: &str, option: &str, vars: &OptMap) -> Option<(String, PathBuf)> {
        let option = option.to_lowercase();
        // Python lower-cases the keys of the extra values; the last wins.
        let var = vars
            .entries()
            .iter()
            .rev()
            .find(|e| e.key.to_lowercase() == option);
        if let Some(e) = var {
            return Some((e.value.clone(), self.main_file()));
        }
        let own = if section == "DEFAULT" {
            None
        } else {
            Some(self.section(section)?)
        };
        let entry = own
            .and_then(|s| s.entry(&option))
            .or_else(|| self.defaults.entry(&option))?;
        let file = entry
            .file
            .as_ref()
            .map(|f| f.to_path_buf())
            .unwrap_or_else(|| self.main_file());
        Some((entry.value.clone(), file))
    }

    /// The interpolated value of `option` in `section`; `None` if the
    /// section or the option does not exist.
    pub fn get(
        &self,
        section: &str,
        option: &str,
        vars: &OptMap,
    ) -> Result<Option<String>, Fail2banError> {
        let Some((raw, file)) = self.get_raw(section, option, vars) else {
            return Ok(None);
        };
        let ctx = Context {
            cfg: self,
            section,
            option,
            vars,
            file,
        };
        let mut out = String::new();
        ctx.expand(&raw, 1, &mut out)?;
        Ok(Some(out))
    }

    /// fail2ban's `get_ex`: like [`get`](Self::get), but `SECTION/name`,
    /// `default/name` and `known/name` are read from that section first.
    pub fn get_ex(
        &self,
        section: &str,
        option: &str,
        vars: &OptMap,
    ) -> Result<Option<String>, Fail2banError> {
        if let Some((sec, opt)) = split_section_option(option) {
            if !opt.contains(char::is_whitespace) && !opt.contains('>') {
                let lower = sec.to_lowercase();
                let known = format!("KNOWN/{section}");
                let order: Vec<&str> = match lower.as_str() {
                    "known" => vec![known.as_str(), section],
                    "default" => vec!["DEFAULT"],
                    _ => vec![sec],
                };
                for s in order {
                    if let Some(v) = self.get(s, opt, &OptMap::new())? {
                        return Ok(Some(v));
                    }
                }
            }
        }
        self.get(section, option, vars)
    }

    /// The raw value `%(SECTION/name)s` stands for, when it is not an
    /// ordinary option.
    fn section_ref(&self, section: &str, sec: &str, opt: &str) -> Option<String> {
        let lower = sec.to_lowercase();
        let found = match lower.as_str() {
            "default" => None,
            "known" => self
                .section(&format!("KNOWN/{section}"))
                .and_then(|s| s.get(opt)),
            _ => Some(
                self.section(sec)?
                    .get(opt)
                    .or_else(|| self.defaults.get(opt))?,
            ),
        };
        found.or_else(|| self.defaults.get(opt)).map(str::to_owned)
    }
}

/// `SECTION/name` with SECTION made of word characters and `-`.
pub(crate) fn split_section_option(name: &str) -> Option<(&str, &str)> {
    let slash = name.find('/')?;
    let (sec, opt) = (&name[..slash], &name[slash + 1..]);
    let word = !sec.is_empty()
        && sec
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    (word && !opt.is_empty()).then_some((sec, opt))
}

/// What one `get` interpolates against.
struct Context<'a> {
    cfg: &'a Layered,
    section: &'a str,
    option: &'a str,
    vars: &'a OptMap,
    file: PathBuf,
}

impl Context<'_> {
    fn error(&self, message: String) -> Fail2banError {
        Fail2banError::Value {
            path: self.file.clone(),
            section: self.section.to_owned(),
            key: self.option.to_owned(),
            message,
        }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        let lower = name.to_lowercase();
        if lower == "__name__" {
            return Some(self.section.to_owned());
        }
        if let Some((v, _)) = self.cfg.get_raw(self.section, &lower, self.vars) {
            return Some(v);
        }
        let (sec, opt) = split_section_option(name)?;
        self.cfg.section_ref(self.section, sec, opt)
    }

    fn expand(&self, text: &str, depth: usize, out: &mut String) -> Result<(), Fail2banError> {
        if depth > MAX_DEPTH {
            return Err(self.error(format!(
                "%(…)s references nest deeper than {MAX_DEPTH} (a loop?)"
            )));
        }
        let mut rest = text;
        while let Some(p) = rest.find('%') {
            out.push_str(&rest[..p]);
            rest = &rest[p..];
            if let Some(after) = rest.strip_prefix("%%") {
                out.push('%');
                rest = after;
            } else if let Some(after) = rest.strip_prefix("%(") {
                let Some(close) = after
                    .find(')')
                    .filter(|c| after[c + 1..].starts_with('s') && *c > 0)
                else {
                    return Err(self.error(format!("bad interpolation reference in {rest:?}")));
                };
                let name = &after[..close];
                rest = &after[close + 2..];
                let Some(value) = self.lookup(name) else {
                    return Err(
                        self.error(format!("%({name})s refers to an option that is not set"))
                    );
                };
                if value.contains('%') {
                    self.expand(&value, depth + 1, out)?;
                } else {
                    out.push_str(&value);
                }
            } else {
                return Err(self.error(format!("'%' must be followed by '%' or '(' in {rest:?}")));
            }
        }
        out.push_str(rest);
        Ok(())
    }
}
