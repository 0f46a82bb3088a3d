//! What the fuzz targets share: the filters they run lines through, a
//! scratch directory for targets that must hand the code under test real
//! files, and a clock derived from the input.
//!
//! The filters are written for this crate (not copied from fail2ban) and
//! embedded, so a run depends on nothing installed on the host. Between them
//! they use every feature of both engines the targets should reach:
//! `prefregex`/`<F-CONTENT>`, `<F-MLFID>` connections, `maxlines` buffers,
//! `<SKIPLINES>`, look-around and back-references (the backtracking engine),
//! a custom `datepattern`, `<F-COUNT>` in a native filter.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use bantam_filter::fail2ban::{F2bFilter, F2bFilterSpec};
use bantam_filter::{shipped, Definition, Filter};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// fail2ban filter files (`filter.d/NAME.conf`), by name.
pub const FAIL2BAN_FILTERS: [(&str, &str); 4] = [
    ("common", include_str!("../filters/filter.d/common.conf")),
    ("authd", include_str!("../filters/filter.d/authd.conf")),
    ("connd", include_str!("../filters/filter.d/connd.conf")),
    ("blockd", include_str!("../filters/filter.d/blockd.conf")),
];

/// A native filter file beside the shipped ones, for `<F-COUNT>`, names,
/// `prefregex` and a pinned date format.
pub const NATIVE_FILTER: &str = include_str!("../filters/counted.toml");

/// A directory of this process's own under the system's temporary
/// directory, created empty. The process id keeps parallel fuzzer jobs
/// (`-jobs=N`) out of each other's way.
pub fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bantam-fuzz-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch directory");
    dir
}

/// Writes `files` (paths relative to `dir`) under `dir`.
pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a file has a parent"))
            .expect("create tree directory");
        std::fs::write(&path, text).expect("write tree file");
    }
}

/// The fail2ban filter files as a configuration directory (`filter.d/…`).
pub fn fail2ban_filter_tree(dir: &Path) {
    let files: Vec<(String, &str)> = FAIL2BAN_FILTERS
        .iter()
        .map(|(name, text)| (format!("filter.d/{name}.conf"), *text))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    write_tree(dir, &files);
}

/// Every embedded fail2ban filter but `common` (an include), resolved by
/// bantam's fail2ban reader as a jail would, and compiled.
pub fn fail2ban_filters(zone: &TimeZone) -> Vec<F2bFilter> {
    let dir = scratch_dir("filters");
    fail2ban_filter_tree(&dir);
    let filters = FAIL2BAN_FILTERS[1..]
        .iter()
        .map(|(name, _)| {
            let def = bantam_config::fail2ban::resolve_filter(&dir, name, &[])
                .unwrap_or_else(|e| panic!("embedded fail2ban filter {name}: {e}"));
            let spec: F2bFilterSpec = def.to_spec(name);
            F2bFilter::new(&spec, zone.clone())
                .unwrap_or_else(|e| panic!("embedded fail2ban filter {name}: {e}"))
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    filters
}

/// The shipped filters in every mode, and the embedded native filter.
pub fn native_filters(zone: &TimeZone) -> Vec<Filter> {
    let mut filters = Vec::new();
    for name in shipped::names() {
        let def = shipped::definition(name).expect("shipped filter parses");
        for mode in def.mode_names() {
            let spec = def.spec(name, Some(mode)).expect("shipped mode resolves");
            filters.push(Filter::new(&spec, zone.clone()).expect("shipped filter compiles"));
        }
    }
    let def = Definition::parse("counted", NATIVE_FILTER).expect("embedded native filter parses");
    let spec = def
        .spec("counted", None)
        .expect("embedded native filter resolves");
    filters.push(Filter::new(&spec, zone.clone()).expect("embedded native filter compiles"));
    filters
}

/// A zone with daylight saving time (where the hard cases of reading a
/// local time are), from the system's time zone database, or UTC without
/// one.
pub fn dst_zone() -> TimeZone {
    TimeZone::get("Europe/Berlin").unwrap_or(TimeZone::UTC)
}

/// A "now" between 1970 and 2106 taken from four input bytes, so that year
/// inference and year limits see every season and boundary. The fixed
/// default stands in when the input is shorter.
pub fn now_from(bytes: &[u8]) -> Timestamp {
    match bytes.get(..4) {
        Some(b) => {
            let secs = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            Timestamp::from_second(i64::from(secs)).expect("u32 seconds are in range")
        }
        None => Timestamp::from_second(1_795_000_000).expect("in range"),
    }
}

/// fail2ban-style date templates are compiled for the years up to the end
/// of the decade of "now + 3 years", settled on the first line a filter
/// sees. Recompiling them costs milliseconds, a hundred times a target's
/// whole run on one input, so targets keep a settled copy per decade and
/// clone it: the result is what a fresh copy would do on that input.
pub struct ByDecade<T> {
    base: T,
    settle: fn(&mut T, i32),
    settled: Mutex<HashMap<i32, T>>,
}

impl<T: Clone> ByDecade<T> {
    /// `settle(copy, year)` must do what the first line does when "now"
    /// falls in `year` (the local year in the templates' zone).
    pub fn new(base: T, settle: fn(&mut T, i32)) -> ByDecade<T> {
        ByDecade {
            base,
            settle,
            settled: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh copy, settled for `year`.
    pub fn get(&self, year: i32) -> T {
        let decade = year.saturating_add(3).div_euclid(10);
        let mut settled = self.settled.lock().expect("not poisoned");
        settled
            .entry(decade)
            .or_insert_with(|| {
                let mut copy = self.base.clone();
                (self.settle)(&mut copy, year);
                copy
            })
            .clone()
    }
}

/// The local year of `now` in `zone`.
pub fn year_in(zone: &TimeZone, now: Timestamp) -> i32 {
    i32::from(zone.to_datetime(now).year())
}
