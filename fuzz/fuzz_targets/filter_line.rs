//! Log text through both filter engines: the shipped native filters (every
//! mode) and fail2ban filters run on fail2ban's semantics. The input is a
//! short log (lines split at `\n`), fed in order to fresh filters, so the
//! state carried from line to line (remembered date format, multi-line
//! buffers, connection ids) is exercised too.
#![no_main]

use std::sync::OnceLock;

use bantam_filter::fail2ban::F2bFilter;
use bantam_filter::failure::MAX_COUNT;
use bantam_filter::{AnyFilter, Filter};
use bantam_fuzz::{dst_zone, fail2ban_filters, native_filters, now_from, year_in, ByDecade};
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;

/// More lines add nothing a longer run would not find, and cost time.
const MAX_LINES: usize = 64;

struct Filters {
    zone: TimeZone,
    native: Vec<Filter>,
    fail2ban: ByDecade<Vec<F2bFilter>>,
}

/// What a fail2ban filter's first line does to its date templates.
fn settle(filters: &mut Vec<F2bFilter>, year: i32) {
    for f in filters {
        f.set_year_limit(year.saturating_add(3))
            .expect("the year limit builds");
    }
}

fn filters() -> &'static Filters {
    static FILTERS: OnceLock<Filters> = OnceLock::new();
    FILTERS.get_or_init(|| {
        let zone = dst_zone();
        Filters {
            native: native_filters(&zone),
            fail2ban: ByDecade::new(fail2ban_filters(&zone), settle),
            zone,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let now = now_from(data);
    let prototypes = filters();
    let all = prototypes
        .native
        .iter()
        .map(|f| AnyFilter::Native(f.clone()))
        .chain(
            prototypes
                .fail2ban
                .get(year_in(&prototypes.zone, now))
                .into_iter()
                .map(AnyFilter::Fail2ban),
        );
    let mut failures = Vec::new();
    for mut filter in all {
        for line in data.split(|&b| b == b'\n').take(MAX_LINES) {
            failures.clear();
            filter.scan(line, now, &mut failures);
            for f in &failures {
                assert!(
                    (1..=MAX_COUNT).contains(&f.count),
                    "count {} out of range",
                    f.count
                );
                // The reported host must print (the daemon logs and stores it).
                let _ = f.host.to_string();
            }
        }
    }
});
