//! bantam's filter engine: given one log line, say whether it records a
//! failed attempt, from which address, when, and with which fields.
//!
//! # Why a crate of its own
//!
//! This is the part of bantam that sees attacker-controlled text, millions of
//! lines at a time. Keeping it pure (no I/O, no async, no clock: the caller
//! passes "now") makes it possible to fuzz, benchmark and test exhaustively,
//! and lets the daemon, `bantam regex`, and the fail2ban sample checker share
//! one implementation.
//!
//! # Safety against hostile input
//!
//! * Rules run on the linear-time `regex` crate only: no input line can make
//!   matching slow. Tag expansions (`<HOST>` …) use no look-around.
//! * Lines are bytes. Invalid UTF-8 and NUL bytes are ordinary text.
//! * Captured address text is validated by a strict parser
//!   ([`address::parse_addr`]); host names are never resolved.
//! * Shipped rules are anchored on text the service writes, at the end of the
//!   line, so that user-controlled fields cannot inject an address.
//!
//! # Speed
//!
//! Most lines match no rule. For those the cost is a cheap date *location*
//! (no time-zone work) and one pass of a multi-pattern DFA over all rules;
//! captures, address parsing and date conversion happen only for lines that
//! match. See [`Filter::scan`].
//!
//! # Vocabulary
//!
//! fail2ban's names are kept where fail2ban users know them: `failregex`,
//! `ignoreregex`, `prefregex`, `<HOST>`, `<F-USER>`, modes. bantam adds
//! `<F-COUNT>`: a number captured there makes the line count as that many
//! failures (capped at [`failure::MAX_COUNT`]), and success rules
//! (`success = true`, `<F-SUCCESS>`): the verdict of a line is a failure, a
//! success (the source logged in) or nothing; what a success means (trust)
//! is the daemon's business.

pub mod address;
mod any_filter;
pub mod date;
pub mod definition;
pub mod error;
pub mod fail2ban;
pub mod failure;
pub mod fields;
mod filter;
pub mod jail_defaults;
pub mod json_fields;
pub mod python;
mod rules;
pub mod shipped;
pub mod spec;
pub mod structured_definition;
pub mod tags;

pub use address::{Host, Subnet};
pub use any_filter::{failure_host, failure_of, AnyFilter, AnyFilterSpec};
pub use definition::Definition;
pub use error::FilterError;
pub use failure::{Failure, Outcome};
pub use fields::{FieldPath, FieldRules, FieldSpec, Fields};
pub use filter::Filter;
pub use jail_defaults::{DefaultDuration, JailDefaults};
pub use spec::{FilterSpec, RulePolicy, RuleSpec, WEIGHT_ONE};

#[cfg(test)]
mod verdict_tests;
