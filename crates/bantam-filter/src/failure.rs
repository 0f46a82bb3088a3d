//! What the engine says about one line.

use jiff::Timestamp;

use crate::address::Host;

/// A failed attempt found in a log line: who, when, how many times, and the
/// fields the rule captured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// Index of the failure rule that matched, in the filter's order.
    pub rule: usize,
    /// The source to ban.
    pub host: Host,
    /// When it happened: the line's own date, or the arrival time when the
    /// line has none (see `dated`).
    pub time: Timestamp,
    /// Whether `time` came from the line.
    pub dated: bool,
    /// How many failures the line stands for: 1, or what `<F-COUNT>` captured.
    pub count: u32,
    /// What one of those failures weighs, in [`crate::WEIGHT_ONE`]ths (the
    /// rule's `weight`; 0: the match counts for nothing).
    pub weight: u32,
    /// A success rule matched: the source logged in. Not a failure.
    pub success: bool,
    /// The user name the line names, if any.
    pub user: Option<Box<str>>,
    /// `<F-ID>`, if captured.
    pub id: Option<Box<str>>,
    /// Every other `<F-NAME>` capture, in pattern order, names in lower case.
    pub fields: Vec<(Box<str>, Box<str>)>,
}

/// The verdict on one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No failure rule matched.
    Missed,
    /// A failure rule matched, but so did ignore rule `rule`.
    Ignored { rule: usize },
    /// A rule matched through `<F-NOFAIL>`: a helper line, not a failure.
    NoFail { rule: usize, host: Option<Host> },
    /// A failure rule matched but what it captured is not a usable address
    /// (`999.1.1.1`, a name where names are not allowed).
    Invalid { rule: usize },
    /// A failure.
    Failure(Failure),
    /// A success rule matched: the source logged in (`success` is set).
    Success(Failure),
}

impl Outcome {
    /// The failure, if this is one.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Failure(f) => Some(f),
            _ => None,
        }
    }
}

impl Failure {
    /// Failures this line counts as, in [`crate::WEIGHT_ONE`]ths: count ×
    /// weight, saturating (both are capped, so it cannot overflow u64).
    pub fn weighted(&self) -> u64 {
        u64::from(self.count) * u64::from(self.weight)
    }
}

/// Ceiling for `<F-COUNT>`: a number in a log line is attacker-influenced in
/// some services, and one line must not be able to stand for billions.
pub const MAX_COUNT: u32 = 10_000;
