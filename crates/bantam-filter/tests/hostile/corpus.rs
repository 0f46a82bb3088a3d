//! Adversarial log lines: what an attacker can make a service write.
//!
//! Shared by the hostile-input test and by `examples/hostile_corpus.rs`,
//! which writes the corpus to a file for the benchmark (worst per-line time).
//!
//! Addresses: 198.51.100.0/24 are the real sources sshd appended;
//! 203.0.113.0/24 are addresses an attacker injected into fields it controls
//! and must never be reported.

/// One adversarial line and the source that must be reported for it, if any
/// rule matches (None: whatever happens, no failure is expected in normal
/// mode; a failure for an injected address is always wrong).
pub struct Case {
    pub line: Vec<u8>,
    pub real_host: Option<&'static str>,
    /// The line is a genuine failure even in the default mode: a filter that
    /// misses it is too strict (and the test would prove nothing).
    pub must_fail: bool,
}

fn case(line: impl Into<Vec<u8>>, real_host: Option<&'static str>) -> Case {
    Case {
        line: line.into(),
        real_host,
        must_fail: false,
    }
}

fn failure(line: impl Into<Vec<u8>>, real_host: &'static str) -> Case {
    Case {
        line: line.into(),
        real_host: Some(real_host),
        must_fail: true,
    }
}

const SYSLOG: &str = "Nov 25 07:21:09 bt-server sshd[4242]: ";
const INJECT4: &str = "203.0.113.9";
const INJECT6: &str = "2001:db8:bad::9";

/// User names an attacker may send, each trying to plant an address.
fn injecting_users() -> Vec<String> {
    vec![
        format!("admin from {INJECT4} port 22"),
        format!("admin from {INJECT4} port 22 ssh2"),
        format!("root from {INJECT4}"),
        format!("x from {INJECT6} port 22"),
        format!("x {INJECT4} port 22: Too many authentication failures [preauth]"),
        format!("a from {INJECT4} not allowed because listed in DenyUsers"),
        format!("a\\012Nov 25 07:21:09 bt-server sshd[1]: Failed password for root from {INJECT4} port 22 ssh2"),
        format!("[{INJECT6}]"),
        format!("::ffff:{INJECT4}"),
        format!("{INJECT4}"),
    ]
}

pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let real = "198.51.100.7";
    for user in injecting_users() {
        for shape in [
            format!("Failed password for {user} from {real} port 4242 ssh2"),
            format!("Failed password for invalid user {user} from {real} port 4242 ssh2"),
            format!("Failed keyboard-interactive/pam for invalid user {user} from {real} port 4242 ssh2"),
            format!("Invalid user {user} from {real} port 4242"),
            format!("User {user} from {real} not allowed because not listed in AllowUsers"),
            format!("error: maximum authentication attempts exceeded for invalid user {user} from {real} port 4242 ssh2 [preauth]"),
        ] {
            out.push(failure(format!("{SYSLOG}{shape}"), real));
            out.push(failure(shape.clone(), real));
        }
        // Pre-auth shapes: failures only in the wider modes, and then only
        // for the real address.
        for shape in [
            format!("Disconnecting invalid user {user} {real} port 4242: Too many authentication failures [preauth]"),
            format!("Connection closed by invalid user {user} {real} port 4242 [preauth]"),
            format!("Disconnected from authenticating user {user} {real} port 4242 [preauth]"),
            format!("Received disconnect from {real} port 4242:11: {user} [preauth]"),
            format!("Bad protocol version identification '{user}' from {real} port 4242"),
            format!("banner exchange: Connection from {real} port 4242: {user}"),
        ] {
            out.push(case(format!("{SYSLOG}{shape}"), Some(real)));
        }
        // Not sshd's own framing: another program's message, or a user line
        // that merely contains sshd-looking text.
        out.push(case(format!("Nov 25 07:21:09 bt-server myapp[1]: Failed password for {user} from {INJECT4} port 22 ssh2"), None));
        out.push(case(format!("Nov 25 07:21:09 bt-server sudo: {user} : Failed password for root from {INJECT4} port 22 ssh2"), None));
    }
    let long = "a".repeat(100_000);
    out.push(failure(
        format!("{SYSLOG}Failed password for invalid user {long} from {real} port 4242 ssh2"),
        real,
    ));
    out.push(failure(
        format!("{SYSLOG}Invalid user {long} from {real} port 4242"),
        real,
    ));
    for piece in [
        format!("from {INJECT4} port 22 "),
        "Failed password for ".to_owned(),
        "Invalid user ".to_owned(),
        ":".to_owned(),
        "1.".to_owned(),
        "1:".to_owned(),
        "[".to_owned(),
        " ".to_owned(),
        "a ".to_owned(),
        "<F-USER>".to_owned(),
        "\u{fffd}".to_owned(),
    ] {
        let repeated = piece.repeat(100_000 / piece.len());
        out.push(case(format!("{SYSLOG}{repeated}"), None));
        out.push(failure(
            format!("{SYSLOG}Failed password for {repeated} from {real} port 4242 ssh2"),
            real,
        ));
        // sshd always appends the real address after the user name (which it
        // cuts to 100 bytes, so syslog never truncates the address away).
        out.push(failure(
            format!("{SYSLOG}Invalid user {repeated} from {real} port 4242"),
            real,
        ));
        out.push(case(repeated, None));
    }
    let mut binary = SYSLOG.as_bytes().to_vec();
    binary.extend_from_slice(
        b"Failed password for invalid user \xff\xfe\x00\x01\x80 from 198.51.100.7 port 4242 ssh2",
    );
    out.push(failure(binary, real));
    let mut nul_host = SYSLOG.as_bytes().to_vec();
    nul_host.extend_from_slice(
        b"Failed password for root from 198.51.100.7\x00203.0.113.9 port 4242 ssh2",
    );
    out.push(case(nul_host, None));
    out.push(case(vec![0u8; 100_000], None));
    out.push(case(
        (0..=255u8).cycle().take(100_000).collect::<Vec<u8>>(),
        None,
    ));
    out.push(case(b"\xff".repeat(100_000), None));
    out.push(case("Nov 25 07:21:0", None));
    out.push(case(
        "Nov 25 99:99:99 bt-server sshd[1]: Failed password for root from 198.51.100.7 port 1 ssh2",
        Some(real),
    ));
    out.push(case("<999999>1 2026-13-45T25:61:61.9999999999+99:99 h sshd 1 - - Invalid user x from 198.51.100.7", Some(real)));
    out.push(failure(
        format!(
            "{SYSLOG}Failed password for root from 198.51.100.7 port {} ssh2",
            "9".repeat(100_000)
        ),
        real,
    ));
    out.push(failure(
        format!(
            "{SYSLOG}Failed password for root from 198.51.100.7 port 22 ssh2{}",
            " ".repeat(100_000)
        ),
        real,
    ));
    out
}
