//! A shipped filter's default jail (its `[jail]` table, see
//! [`bantam_filter::jail_defaults`]) filling what a jail leaves out.
//!
//! Order, most specific first: the jail's own key, then `[defaults]`, then
//! the filter's `[jail]`, then bantam's built-in values. `[defaults]` wins
//! over the filter because the user wrote it; the filter only knows the
//! usual distributions.
//!
//! Filled values carry the span of the jail's `filter = "…"`, so an error or
//! a warning about them points at the line that chose the filter.

use std::path::Path;

use bantam_filter::{shipped, DefaultDuration, JailDefaults};
use toml::Spanned;

use crate::options::{DurationValue, JailOptions, OneOrMany};

/// The `[jail]` table of the shipped filter `name`, if it is one and has it.
pub fn shipped_jail(name: &str) -> Option<JailDefaults> {
    if !shipped::names().any(|n| n == name) {
        return None;
    }
    shipped::definition(name).ok()?.jail
}

/// The log paths a jail naming the shipped filter `name` reads when it sets
/// none, given which files exist (`None`: the filter offers none).
pub fn default_logpaths(name: &str, exists: impl Fn(&str) -> bool) -> Option<Vec<String>> {
    let paths = shipped_jail(name)?.logpaths(exists);
    (!paths.is_empty()).then_some(paths)
}

/// `o` (already merged with `[defaults]`) with the gaps its shipped filter
/// fills. A jail reading a fail2ban filter gets nothing from here.
pub(crate) fn fill(mut o: JailOptions, exists: impl Fn(&str) -> bool) -> JailOptions {
    if o.fail2ban_filter.is_some() {
        return o;
    }
    let Some(filter) = &o.filter else { return o };
    let Some(jail) = shipped_jail(filter.get_ref()) else {
        return o;
    };
    let span = filter.span();
    let at = |v| Spanned::new(span.clone(), v);
    if o.logpath.is_none() {
        let paths = jail.logpaths(exists);
        if !paths.is_empty() {
            o.logpath = Some(at(OneOrMany::Many(paths)));
        }
    }
    if o.maxretry.is_none() {
        o.maxretry = jail
            .maxretry
            .map(|n| Spanned::new(span.clone(), i64::from(n)));
    }
    if o.findtime.is_none() {
        o.findtime = jail
            .findtime
            .map(|d| Spanned::new(span.clone(), duration(d)));
    }
    if o.bantime.is_none() {
        o.bantime = jail
            .bantime
            .map(|d| Spanned::new(span.clone(), duration(d)));
    }
    o
}

/// Whether the jail's log paths came from its filter (for the key errors
/// and warnings name).
pub(crate) fn fills_logpath(o: &JailOptions) -> bool {
    o.logpath.is_none()
        && o.fail2ban_filter.is_none()
        && o.filter
            .as_ref()
            .and_then(|f| shipped_jail(f.get_ref()))
            .is_some_and(|j| !j.logpath.is_empty() || !j.journalmatch.is_empty())
}

/// Whether `path` exists on this host (what the daemon's start sees).
pub(crate) fn exists(path: &str) -> bool {
    Path::new(path).exists()
}

fn duration(d: DefaultDuration) -> DurationValue {
    match d {
        DefaultDuration::Seconds(n) => DurationValue::Seconds(n),
        DefaultDuration::Text(t) => DurationValue::Text(t),
    }
}

#[cfg(test)]
#[path = "filter_jail_tests.rs"]
mod tests;
