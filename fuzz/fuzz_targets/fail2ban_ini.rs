//! fail2ban's configuration language, read by bantam's fail2ban reader:
//! INI dialect, layers and includes, interpolation, tags, parameters.
//!
//! The input's first byte picks what the rest becomes in a fixed tree:
//! even, `jail.local` over a `jail.conf` with three jails, the whole tree
//! loaded and imported as native TOML (which must be valid TOML); odd,
//! `filter.d/fuzz.local` over a small filter, resolved and compiled, and
//! run over a few lines.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bantam_config::fail2ban::{render_native_toml, resolve_filter, Fail2banTree};
use bantam_filter::fail2ban::F2bFilter;
use bantam_fuzz::{fail2ban_filter_tree, scratch_dir, write_tree};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

const LINES: [&str; 3] = [
    "2026-11-25 07:21:09 host fuzzd[12]: bad login from 192.0.2.7",
    "Nov 25 07:21:10 host authd[34]: Failed password for root from 198.51.100.9 port 22 ssh2",
    "host connd: conn 5: connect from 203.0.113.4",
];

fn tree() -> &'static PathBuf {
    static TREE: OnceLock<PathBuf> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = scratch_dir("ini");
        fail2ban_filter_tree(&dir);
        write_tree(
            &dir,
            &[
                ("jail.conf", include_str!("../tree/jail.conf")),
                ("paths.conf", include_str!("../tree/paths.conf")),
                ("action.d/fw.conf", include_str!("../tree/fw.conf")),
                ("action.d/notify.conf", include_str!("../tree/notify.conf")),
                (
                    "filter.d/fuzz.conf",
                    "[INCLUDES]\nbefore = common.conf\n[Definition]\n_daemon = fuzzd\n\
                     failregex = %(_frame)sbad login from <HOST>$\n",
                ),
            ],
        );
        dir
    })
}

fn jails(dir: &Path, text: &str) {
    std::fs::write(dir.join("jail.local"), text).expect("write jail.local");
    let Ok(tree) = Fail2banTree::load(dir) else {
        return;
    };
    for (_, e) in tree.skipped() {
        let _ = e.to_string();
    }
    let native = render_native_toml(&tree);
    if let Err(e) = native.parse::<toml::Table>() {
        panic!("the import is not TOML: {e}\n{native}");
    }
}

fn filter(dir: &Path, text: &str) {
    std::fs::write(dir.join("filter.d/fuzz.local"), text).expect("write fuzz.local");
    let params = [("mode".to_owned(), "aggressive".to_owned())];
    let def = match resolve_filter(dir, "fuzz", &params) {
        Ok(def) => def,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let Ok(mut f) = F2bFilter::new(&def.to_spec("fuzz"), TimeZone::UTC) else {
        return;
    };
    let now = Timestamp::from_second(1_795_000_000).expect("in range");
    for line in LINES {
        let _ = f.process_line(line, now);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    // fail2ban reads files as text; bantam replaces invalid UTF-8.
    let text = String::from_utf8_lossy(rest);
    let dir = tree();
    if which & 1 == 0 {
        let _ = std::fs::remove_file(dir.join("filter.d/fuzz.local"));
        jails(dir, &text);
    } else {
        let _ = std::fs::remove_file(dir.join("jail.local"));
        filter(dir, &text);
    }
});
