//! fail2ban's filter semantics, for running fail2ban's own filter files
//! unchanged: Python-dialect patterns (see [`crate::python`]), fail2ban's tag
//! set, its date templates, `prefregex`, multi-line buffers (`maxlines`,
//! `<F-MLFID>` …) and its rule order.
//!
//! Native filters ([`crate::Filter`]) are faster and safer by construction;
//! this module exists so that an admin's years of tuned filters keep working
//! on day one, and so that fail2ban's own sample-log suite can judge us.

pub mod date;
