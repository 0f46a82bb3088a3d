//! bantam's TOML configuration, resolved all the way to settings (filters
//! compiled, durations and networks parsed). Bad text must give an error
//! that names the problem, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A directory that does not exist: relative filter files resolve to
    // nothing rather than to whatever the fuzzer's working directory holds.
    let path = Path::new("/nonexistent/bantam-fuzz/bantam.toml");
    if let Err(e) = bantam_config::parse(path, text) {
        let _ = e.to_string();
    }
});
