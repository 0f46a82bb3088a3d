//! A control-socket request line: parsing never panics, and whatever parses
//! survives a round trip through the daemon's own JSON form unchanged.
#![no_main]

use bantam_daemon::control::protocol::{parse_request, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = parse_request(data) else {
        return;
    };
    let json = serde_json::to_vec(&request).expect("a Request serializes");
    let again: Request = parse_request(&json).expect("a serialized Request parses");
    assert_eq!(request, again, "round trip changed the request");
});
