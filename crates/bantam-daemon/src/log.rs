//! Messages to standard error, which systemd puts in the journal. Under
//! systemd (`$JOURNAL_STREAM` set) each line starts with its syslog priority
//! (`<3>` error, `<4>` warning, `<6>` info) so the journal files it right.

use std::io::Write;
use std::sync::OnceLock;

fn journal() -> bool {
    static JOURNAL: OnceLock<bool> = OnceLock::new();
    *JOURNAL.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some())
}

fn emit(priority: u8, label: &str, message: &str) {
    let line = if journal() {
        format!("<{priority}>{message}\n")
    } else {
        format!("bantam: {label}{message}\n")
    };
    // Nothing sensible to do if stderr is gone.
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

pub fn info(message: &str) {
    emit(6, "", message);
}

pub fn warn(message: &str) {
    emit(4, "warning: ", message);
}

pub fn error(message: &str) {
    emit(3, "error: ", message);
}

/// Many lines in one write (a batch of bans), so that 5,000 bans are not
/// 5,000 system calls.
pub fn info_many(messages: &[String]) {
    let mut text = String::new();
    for m in messages {
        if journal() {
            text.push_str("<6>");
        } else {
            text.push_str("bantam: ");
        }
        text.push_str(m);
        text.push('\n');
    }
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}
