//! Where [`crate::log`]'s events go, chosen once at start (`bantam run
//! --log-level --log-format`):
//!
//! - **journal**: when standard error *is* the journal (`$JOURNAL_STREAM`
//!   names stderr's device and inode, as systemd sets it; a redirected
//!   stderr does not count), events go to journald's native socket with
//!   their fields (`PRIORITY=`, `JAIL=`, `TARGET=`, `BANTAM_EVENT=`, …), so
//!   `journalctl -u bantam JAIL=sshd` works. If the socket refuses, the
//!   line goes to stderr with an sd-daemon `<N>` priority prefix instead.
//! - **json**: one JSON object per line and per event, fields at the top
//!   level (`timestamp`, `level`, `event`, `jail`, `target`, `message`…).
//! - **text**: RFC 3339 time, level, message.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::atomic::{AtomicBool, Ordering};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::Layer;

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Text, or the journal when stderr is the journal.
    Auto,
    Text,
    Json,
}

/// Installs the process-wide subscriber; a second call does nothing.
pub fn init(level: Level, format: LogFormat) {
    let filter = tracing_subscriber::filter::LevelFilter::from_level(level);
    let installed = match format {
        LogFormat::Json => tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(false)
                .with_target(false)
                .with_max_level(filter)
                .with_writer(|| Stderr)
                .finish(),
        ),
        LogFormat::Auto if stderr_is_journal() => tracing::subscriber::set_global_default(
            tracing_subscriber::registry()
                .with(Journal::connect())
                .with(filter),
        ),
        LogFormat::Auto | LogFormat::Text => tracing::subscriber::set_global_default(
            tracing_subscriber::fmt()
                .with_target(false)
                .with_ansi(false)
                .with_max_level(filter)
                .with_writer(|| Stderr)
                .finish(),
        )
        .inspect(|()| TEXT.store(true, Ordering::Relaxed)),
    };
    // Already installed (a test harness): the first one stays.
    let _ = installed;
}

/// Whether the subscriber this module installed writes text lines: then
/// [`text_lines`] may write lines of that format itself.
static TEXT: AtomicBool = AtomicBool::new(false);

/// Writes lines in the text format's own shape, without going through
/// `tracing`, when that is the format in use and `level` is logged;
/// otherwise returns false and writes nothing. For the one event that
/// comes by the hundred thousand (a burst's bans): the formatter escapes
/// every message character by character and formats each field through
/// `Debug`, which was a sixth of the loop's time in a burst of a million.
/// `write` gets the buffer and one time stamp, in the formatter's form.
pub(crate) fn text_lines(level: Level, write: impl FnOnce(&mut Vec<u8>, &str)) -> bool {
    if !TEXT.load(Ordering::Relaxed) || tracing::level_filters::LevelFilter::current() < level {
        return false;
    }
    let stamp = format!("{:.6}", jiff::Timestamp::now());
    let mut text = Vec::new();
    write(&mut text, &stamp);
    // Held by in_one_write if it runs, as the formatter's lines are.
    let _ = Stderr.write_all(&text);
    true
}

thread_local! {
    /// Lines held back by [`in_one_write`] on this thread, if it runs.
    static HELD: RefCell<Option<Vec<u8>>> = const { RefCell::new(None) };
}

/// Runs `log`, and writes the text lines its events make to stderr in one
/// system call at the end, instead of one per event. A burst of 100,000
/// bans logged line by line spent a tenth of its time in `write(2)` (and
/// in the inotify of whoever follows the file). The lines are the same,
/// in the same order; only the syscalls are fewer. Journal entries are
/// unaffected: the native protocol takes one datagram per entry.
pub fn in_one_write<R>(log: impl FnOnce() -> R) -> R {
    let nested = HELD.with(|h| h.borrow().is_some());
    if nested {
        return log();
    }
    HELD.with(|h| *h.borrow_mut() = Some(Vec::new()));
    let _release = Release;
    log()
}

/// Writes out what [`in_one_write`] held when it ends, on return or
/// unwinding alike: a panic inside must not leave this thread's log lines
/// held back for ever.
struct Release;

impl Drop for Release {
    fn drop(&mut self) {
        let text = HELD.with(|h| h.borrow_mut().take()).unwrap_or_default();
        // Nothing sensible to do if stderr is gone.
        let _ = std::io::stderr().lock().write_all(&text);
    }
}

/// Standard error for the text and JSON formats, or the buffer of
/// [`in_one_write`] while it runs. The formatter hands over each event's
/// line in one `write_all`, so a line is never split between the two.
struct Stderr;

impl std::io::Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let held = HELD.with(|h| match h.borrow_mut().as_mut() {
            Some(held) => {
                held.extend_from_slice(buf);
                true
            }
            None => false,
        });
        if held {
            return Ok(buf.len());
        }
        std::io::stderr().write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Whether `$JOURNAL_STREAM` ("DEV:INO") is the file stderr is now.
fn stderr_is_journal() -> bool {
    let Some(value) = std::env::var_os("JOURNAL_STREAM") else {
        return false;
    };
    let Some((dev, ino)) = value.to_str().and_then(|v| v.split_once(':')) else {
        return false;
    };
    // SAFETY: fstat writes into the zeroed struct we own.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(2, &mut st) } != 0 {
        return false;
    }
    dev.parse::<u64>().ok() == Some(st.st_dev) && ino.parse::<u64>().ok() == Some(st.st_ino)
}

const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

/// Sends events to journald's native protocol.
struct Journal {
    socket: Option<UnixDatagram>,
}

impl Journal {
    fn connect() -> Journal {
        let socket = UnixDatagram::unbound()
            .and_then(|s| s.connect(JOURNAL_SOCKET).map(|()| s))
            .ok();
        Journal { socket }
    }
}

/// syslog priority of a level, as journald and sd-daemon prefixes use it.
fn priority(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        _ => 7,
    }
}

/// An event's fields as journal `KEY=value` entries.
#[derive(Default)]
struct Fields {
    message: String,
    entries: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.add(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.add(field, format!("{value:?}"));
    }
}

impl Fields {
    fn add(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            // journald's own namespace for the event kind.
            "event" => self.entries.push(("BANTAM_EVENT".into(), value)),
            name => self.entries.push((name.to_ascii_uppercase(), value)),
        }
    }
}

/// One entry of the native protocol: `KEY=value\n`, or, for a value with
/// a newline, `KEY\n` + little-endian u64 length + value + `\n`.
fn entry(out: &mut Vec<u8>, key: &str, value: &str) {
    if value.contains('\n') {
        out.extend_from_slice(key.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        out.extend_from_slice(value.as_bytes());
    } else {
        let _ = write!(SliceWriter(out), "{key}={value}");
    }
    out.push(b'\n');
}

struct SliceWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for SliceWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl<S: Subscriber> Layer<S> for Journal {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let prio = priority(event.metadata().level());
        let mut datagram = Vec::with_capacity(256);
        entry(&mut datagram, "PRIORITY", &prio.to_string());
        entry(&mut datagram, "SYSLOG_IDENTIFIER", "bantam");
        entry(&mut datagram, "MESSAGE", &fields.message);
        for (key, value) in &fields.entries {
            entry(&mut datagram, key, value);
        }
        let sent = self
            .socket
            .as_ref()
            .is_some_and(|s| s.send(&datagram).is_ok());
        if !sent {
            // The stream is still the journal: at least the priority.
            use std::io::Write;
            let line = format!("<{prio}>{}\n", fields.message);
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_entries_frame_newlines() {
        let mut out = Vec::new();
        entry(&mut out, "JAIL", "sshd");
        entry(&mut out, "MESSAGE", "a\nb");
        let mut expected = b"JAIL=sshd\nMESSAGE\n".to_vec();
        expected.extend_from_slice(&3u64.to_le_bytes());
        expected.extend_from_slice(b"a\nb\n");
        assert_eq!(out, expected);
    }

    #[test]
    fn lines_logged_in_one_write_are_held_until_the_end() {
        let held = in_one_write(|| {
            Stderr.write_all(b"first\n").unwrap();
            in_one_write(|| Stderr.write_all(b"second\n").unwrap());
            HELD.with(|h| h.borrow().clone())
        });
        assert_eq!(held.as_deref(), Some(&b"first\nsecond\n"[..]));
        assert!(HELD.with(|h| h.borrow().is_none()));
    }

    #[test]
    fn a_panic_inside_one_write_releases_the_lines() {
        let _ = std::panic::catch_unwind(|| in_one_write(|| panic!("inside")));
        assert!(HELD.with(|h| h.borrow().is_none()));
    }

    #[test]
    fn a_redirected_stderr_is_not_the_journal() {
        // Whatever stderr is in the test runner, it is not device 0 inode 0.
        std::env::set_var("JOURNAL_STREAM", "0:0");
        assert!(!stderr_is_journal());
        std::env::remove_var("JOURNAL_STREAM");
        assert_eq!(priority(&Level::WARN), 4);
    }
}
