//! The filter crate's error type. Every variant names the thing that is wrong
//! (the rule, the pattern, the key) so that a user reading one line of output
//! knows what to fix.

/// Why a filter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A tag was malformed (an unclosed `<F-USER>`, say).
    #[error("bad tag in pattern {pattern:?}: {reason}")]
    Tag { pattern: String, reason: String },
    /// A rule's regex does not compile.
    #[error("{what} does not compile: {reason} (pattern: {pattern})")]
    Regex {
        what: String,
        pattern: String,
        reason: String,
    },
    /// A failure rule can never say who failed.
    #[error("{what} has no address tag (<HOST>, <ADDR>, <IP4>, <IP6>, <SUBNET>) and no <F-ID> or <F-NOFAIL>: it could never name a source (pattern: {pattern})")]
    NoHost { what: String, pattern: String },
    /// A filter definition file is not valid.
    #[error("filter {name}: {reason}")]
    Definition { name: String, reason: String },
    /// A filter definition's TOML does not parse.
    #[error("filter {name}: {source}")]
    Toml {
        name: String,
        #[source]
        source: Box<toml::de::Error>,
    },
    /// No shipped filter has this name.
    #[error("no shipped filter is named {name:?} (shipped: {known})")]
    UnknownFilter { name: String, known: String },
    /// The filter has no mode of this name.
    #[error("filter {filter} has no mode {mode:?} (modes: {known})")]
    UnknownMode {
        filter: String,
        mode: String,
        known: String,
    },
}

/// Regex syntax errors explain themselves over several lines with a caret
/// under the culprit; errors here are one line, so keep the line that says
/// what is wrong.
pub(crate) fn syntax_reason(err: &regex_syntax::Error) -> String {
    let text = err.to_string();
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(&text);
    last.trim().trim_start_matches("error: ").to_owned()
}
