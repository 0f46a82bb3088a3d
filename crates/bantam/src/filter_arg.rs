//! Turning the FILTER argument of `bantam regex` into a compiled filter: a
//! shipped filter's name, a filter file, or a literal regex with tags.

use std::path::Path;

use anyhow::{bail, Context, Result};
use bantam_filter::date::{DateFormat, DatePattern};
use bantam_filter::{shipped, Definition, Filter, FilterSpec, RuleSpec};
use jiff::tz::TimeZone;

/// How the user described the filter, for the report's header.
pub struct Described {
    pub filter: Filter,
    pub origin: String,
}

/// Options that override what the filter itself says.
pub struct Overrides<'a> {
    pub mode: Option<&'a str>,
    pub date: Option<&'a str>,
    pub zone: TimeZone,
    pub ignoreregex: Option<&'a str>,
}

pub fn load(arg: &str, overrides: Overrides<'_>) -> Result<Described> {
    let (mut spec, origin) = if shipped::names().any(|n| n == arg) {
        let spec = shipped::definition(arg)?.spec(arg, overrides.mode)?;
        let origin = format!(
            "shipped filter {arg} (mode {})",
            overrides.mode.unwrap_or("default")
        );
        (spec, origin)
    } else if looks_like_path(arg) && Path::new(arg).exists() {
        let text = std::fs::read_to_string(arg)
            .with_context(|| format!("cannot read filter file {arg}"))?;
        let name = Path::new(arg)
            .file_stem()
            .map_or(arg.into(), |s| s.to_string_lossy().into_owned());
        let spec = Definition::parse(arg, &text)?.spec(&name, overrides.mode)?;
        (spec, format!("filter file {arg}"))
    } else {
        if overrides.mode.is_some() {
            bail!("--mode applies to shipped filters and filter files, not to a literal regex");
        }
        (
            FilterSpec::inline("regex", &[arg], &[]),
            format!("literal regex {arg:?}"),
        )
    };
    if let Some(ignore) = overrides.ignoreregex {
        spec.ignoreregex
            .push(RuleSpec::numbered(spec.ignoreregex.len(), ignore));
    }
    if let Some(date) = overrides.date {
        spec.date = match date {
            "auto" => DatePattern::Auto,
            "none" => DatePattern::None,
            other => DatePattern::Pinned(other.parse::<DateFormat>()?),
        };
    }
    let filter = Filter::new(&spec, overrides.zone)?;
    Ok(Described { filter, origin })
}

/// A bare word like `sshd` that is not a shipped filter is more likely a typo
/// than a regex; say so rather than matching nothing.
fn looks_like_path(arg: &str) -> bool {
    arg.contains('/') || arg.ends_with(".toml") || arg.ends_with(".conf") || arg.ends_with(".local")
}

pub fn check_not_a_typo(arg: &str) -> Result<()> {
    let plain_word = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if plain_word && !shipped::names().any(|n| n == arg) {
        bail!(
            "no shipped filter is named {arg:?} (shipped: {}); a literal regex needs an address tag such as <HOST>",
            shipped::names().collect::<Vec<_>>().join(", ")
        );
    }
    if looks_like_path(arg) && !Path::new(arg).exists() && !arg.contains('<') {
        bail!("filter file {arg} does not exist");
    }
    Ok(())
}
