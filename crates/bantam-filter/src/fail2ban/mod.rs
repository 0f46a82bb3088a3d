//! fail2ban's filter semantics, for running fail2ban's own filter files
//! unchanged: Python-dialect patterns (see [`crate::python`]), fail2ban's tag
//! set, its date templates, `prefregex`, multi-line buffers (`maxlines`,
//! `<F-MLFID>` …) and its rule order.
//!
//! Native filters ([`crate::Filter`]) are faster and safer by construction;
//! this module exists so that an admin's years of tuned filters keep working
//! on day one, and so that fail2ban's own sample-log suite can judge us.
//!
//! * [`tags`]: `<HOST>`, `<F-USER>` … → Python-dialect regex text.
//! * `regex`: one rule and the lines of a buffer its match covers.
//! * `gate`: a literal scan that drops lines no failregex can match.
//! * `openers`: the first words of each rule, checked at the text start.
//! * `screen`: one pass that rules out the rules that cannot match.
//! * `mlfid`: multi-line failures tied together by a connection id.
//! * `filter`: the per-line pipeline ([`F2bFilter`]).

pub mod date;
mod filter;
mod gate;
mod groups;
mod mlfid;
mod openers;
mod piece;
mod regex;
mod screen;
pub mod tags;

pub use filter::{F2bFilter, F2bFilterSpec, F2bMatch, HostKind};
