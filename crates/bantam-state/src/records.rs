use jiff::Timestamp;

/// One ban: which jail, which source, from when until when, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BanRecord {
    pub jail: String,
    /// The address or network as text (`192.0.2.1`, `2001:db8::/48`).
    pub target: String,
    pub start: Timestamp,
    /// `None`: permanent.
    pub end: Option<Timestamp>,
    /// Failures that led to the ban.
    pub failures: u32,
    /// Which ban of this target this is in the jail (1 for the first).
    pub ban_count: u32,
    /// The log lines that matched (bounded by the daemon).
    pub matches: Vec<String>,
    /// Why, for a ban by hand (`bantam ban --reason`); `None` for bans that
    /// log lines earned.
    pub reason: Option<String>,
}

/// One past or current ban, as the history keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRecord {
    pub jail: String,
    pub target: String,
    pub start: Timestamp,
    /// `None`: permanent.
    pub end: Option<Timestamp>,
    pub failures: u32,
    pub reason: Option<String>,
}

/// How far a log file was read, and how to recognise it again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePosition {
    pub path: String,
    pub dev: u64,
    pub inode: u64,
    pub offset: u64,
    pub fingerprint: u64,
}
