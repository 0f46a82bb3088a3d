//! Log text cannot become shell code: hostile values in every untrusted
//! tag, in every quoting context, stay inert (no marker file appears) and
//! reach the command byte for byte (it writes them to files we read back).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bantam_firewall::command::{ActionSpec, BanInfo, CommandAction};

/// Payloads an attacker can put in a user name or a log line. Each would
/// create `MARKER` if the shell evaluated it.
fn payloads(marker: &Path) -> Vec<String> {
    let m = marker.display();
    vec![
        format!("; touch {m}"),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("' ; touch {m}; '"),
        format!("\" ; touch {m}; \""),
        format!("x\ntouch {m}\n"),
        format!("$IFS touch$IFS{m}"),
        format!("\\\"; touch {m}; #"),
        format!("'\"$(touch {m})\"'"),
        "*  ?  [a] ~ {a,b} <ip> %s %b \\n \\\\".to_string(),
        format!("}}; touch {m}; ${{x"),
        "; rm -rf /".to_string(),
    ]
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("bt-inject-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A ban whose every untrusted value is `payload` (matches hold it twice,
/// as two lines).
fn hostile_ban(payload: &str) -> BanInfo {
    let mut ban = BanInfo::new("192.0.2.66".parse().unwrap());
    ban.fid = payload.to_string();
    ban.matches = vec![payload.to_string(), payload.to_string()];
    ban.ipmatches = vec![payload.to_string()];
    ban.ipjailmatches = vec![payload.to_string()];
    ban.fields.insert("user".into(), payload.to_string());
    ban.fields.insert("fid".into(), payload.to_string());
    ban
}

/// The action writes each tag to its own file, from a different quoting
/// context each time, the way real action files use them.
fn writer(dir: &Scratch) -> ActionSpec {
    let f = |name: &str| dir.file(name).display().to_string();
    let mut spec = ActionSpec::new("writer");
    spec.actionban = [
        // bare word
        format!("printf %s <matches> > '{}'", f("matches")),
        // inside double quotes, after other text
        format!("printf %s \"<F-USER>\" > '{}'", f("user")),
        // inside single quotes (the nginx-block-map style)
        format!("printf '%s' '<fid>' > '{}'", f("fid")),
        // inside $( ) inside double quotes (the abuseipdb style)
        format!(
            "v=\"$(printf '%s' \"<ipmatches>\")\"; printf %s \"$v\" > '{}'",
            f("ipmatches")
        ),
        // inside backquotes
        format!(
            "v=`printf %s <ipjailmatches>`; printf %s \"$v\" > '{}'",
            f("ipjailmatches")
        ),
        // a capture by its fail2ban id name, and the trusted address inline
        format!("printf '%s %s' <F-ID> <ip> > '{}'", f("id")),
    ]
    .join("\n");
    spec.timeout = Duration::from_secs(10);
    spec
}

fn read(path: PathBuf) -> String {
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn hostile_values_arrive_byte_exact_and_run_nothing() {
    let dir = Scratch::new("exact");
    let marker = dir.file("MARKER");
    let mut action = CommandAction::new(writer(&dir)).unwrap();
    action.start().unwrap();
    for payload in payloads(&marker) {
        let ban = hostile_ban(&payload);
        action
            .ban(&ban)
            .unwrap_or_else(|e| panic!("{payload:?}: {e}"));
        assert!(!marker.exists(), "payload {payload:?} ran a command");
        // Command substitution drops trailing newlines; that is the shell's
        // doing, not ours, so compare without them there.
        let trimmed = payload.trim_end_matches('\n');
        assert_eq!(read(dir.file("matches")), format!("{payload}\n{payload}"));
        assert_eq!(read(dir.file("user")), payload);
        assert_eq!(read(dir.file("fid")), payload);
        assert_eq!(read(dir.file("ipmatches")), trimmed);
        assert_eq!(read(dir.file("ipjailmatches")), trimmed);
        let id = format!("{payload} 192.0.2.66");
        assert_eq!(read(dir.file("id")), id, "{payload:?}");
    }
}

#[test]
fn hostile_values_in_unban_and_reban_too() {
    let dir = Scratch::new("unban");
    let marker = dir.file("MARKER");
    let mut spec = ActionSpec::new("unbanner");
    let out = dir.file("out").display().to_string();
    spec.actionban = "true".into();
    // printf, not echo: dash's echo interprets backslashes itself.
    spec.actionunban = format!("printf '%s %s\\n' <F-USER> <matches> > '{out}'");
    spec.actionreban = Some(format!("printf '%s\\n' \"<F-USER>\" > '{out}'"));
    let mut action = CommandAction::new(spec).unwrap();
    for payload in payloads(&marker) {
        let ban = hostile_ban(&payload);
        action.ban(&ban).unwrap();
        action.unban(&ban).unwrap();
        assert!(!marker.exists(), "payload {payload:?} ran a command");
        assert_eq!(
            read(dir.file("out")),
            format!("{payload} {payload}\n{payload}\n")
        );
        action.reban(&ban).unwrap();
        assert!(!marker.exists(), "payload {payload:?} ran a command");
        assert_eq!(read(dir.file("out")), format!("{payload}\n"));
    }
}

#[test]
fn a_hostile_value_cannot_make_the_ban_fail() {
    // A NUL cannot travel in an environment string; a very long value would
    // exceed the kernel's limit. Both must still ban.
    let dir = Scratch::new("nul");
    let out = dir.file("out").display().to_string();
    let mut spec = ActionSpec::new("robust");
    spec.actionban = format!("printf %s <matches> > '{out}'");
    let mut action = CommandAction::new(spec).unwrap();
    let mut ban = BanInfo::new("192.0.2.67".parse().unwrap());
    ban.matches = vec!["a\0b".into()];
    action.ban(&ban).unwrap();
    assert_eq!(read(dir.file("out")), "ab");
    ban.matches = vec!["x".repeat(1 << 20)];
    action.ban(&ban).unwrap();
    assert!(!read(dir.file("out")).is_empty());
}
