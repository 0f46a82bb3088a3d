//! TEMPORARY stub: replaced by the real date detector.
pub use jiff::Timestamp;
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DateFormat {
    Syslog,
    Asctime,
    Iso8601,
    Clf,
    Epoch,
    EpochMillis,
}
impl DateFormat {
    pub const ALL: [DateFormat; 6] = [
        DateFormat::Syslog,
        DateFormat::Asctime,
        DateFormat::Iso8601,
        DateFormat::Clf,
        DateFormat::Epoch,
        DateFormat::EpochMillis,
    ];
    pub fn name(self) -> &'static str {
        "x"
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownDateFormat(pub String);
impl std::fmt::Display for UnknownDateFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown date format {:?}", self.0)
    }
}
impl std::error::Error for UnknownDateFormat {}
impl std::str::FromStr for DateFormat {
    type Err = UnknownDateFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Err(UnknownDateFormat(s.into()))
    }
}
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DatePattern {
    #[default]
    Auto,
    Pinned(DateFormat),
    None,
}
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateSpan {
    pub start: usize,
    pub end: usize,
    pub format: DateFormat,
}
#[derive(Clone, Debug)]
pub struct DateDetector {
    _z: jiff::tz::TimeZone,
}
impl DateDetector {
    pub fn new(_pattern: DatePattern, zone: jiff::tz::TimeZone) -> Self {
        DateDetector { _z: zone }
    }
    pub fn locate(&mut self, _line: &[u8]) -> Option<DateSpan> {
        None
    }
    pub fn resolve(&mut self, _line: &[u8], _span: DateSpan, _now: Timestamp) -> Option<Timestamp> {
        None
    }
    pub fn hits(&self) -> [u64; 6] {
        [0; 6]
    }
}
