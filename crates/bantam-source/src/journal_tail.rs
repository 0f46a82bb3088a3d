//! The last entries of the systemd journal that match a `journal:` log
//! path, read once through `journalctl -o export` (for `bantam check`).
//!
//! A `journal:` path holds `FIELD=VALUE` matches separated by spaces, all
//! of which must hold (`journal:_SYSTEMD_UNIT=ssh.service`); several
//! `journal:` paths in a jail are several sources, so they OR as
//! journalctl's `+` does.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::error::SourceError;

/// One journal entry: its fields in the order journalctl wrote them.
#[derive(Debug, Clone, Default)]
pub struct JournalEntry {
    pub fields: Vec<(String, Vec<u8>)>,
}

impl JournalEntry {
    /// The value of field `name`, if the entry has it.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        let hit = self.fields.iter().find(|(n, _)| n == name);
        hit.map(|(_, v)| v.as_slice())
    }

    /// `__REALTIME_TIMESTAMP`: microseconds since the epoch.
    pub fn realtime_micros(&self) -> Option<i64> {
        std::str::from_utf8(self.get("__REALTIME_TIMESTAMP")?)
            .ok()?
            .parse()
            .ok()
    }
}

/// Which journal to read and how much of it.
#[derive(Debug, Clone, Default)]
pub struct JournalQuery {
    /// A directory of journal files instead of the system journal.
    pub directory: Option<PathBuf>,
    /// At most this many entries, the newest.
    pub max_entries: usize,
    /// Only entries newer than this much before now.
    pub since: Option<Duration>,
}

/// The `FIELD=VALUE` matches of a `journal:` log path, or why there are
/// none usable.
pub fn journal_matches(logpath: &str) -> Result<Vec<String>, String> {
    let rest = logpath
        .strip_prefix("journal:")
        .ok_or_else(|| format!("{logpath}: not a journal: path"))?;
    let matches: Vec<String> = rest.split_whitespace().map(str::to_owned).collect();
    for m in &matches {
        let field = m.split_once('=').map(|(f, _)| f).unwrap_or("");
        let valid = !field.is_empty()
            && field
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(format!(
                "{logpath}: {m:?} is not a FIELD=VALUE match (field names are upper case, digits and _)"
            ));
        }
    }
    Ok(matches)
}

/// The newest entries matching `logpath`'s matches, oldest first.
pub fn journal_tail(logpath: &str, query: &JournalQuery) -> Result<Vec<JournalEntry>, SourceError> {
    let matches = journal_matches(logpath).map_err(|reason| SourceError::Journal { reason })?;
    let mut cmd = Command::new("journalctl");
    cmd.args(["-o", "export", "--no-pager", "-q"])
        .arg(format!("--lines={}", query.max_entries.max(1)));
    if let Some(dir) = &query.directory {
        cmd.arg(format!("--directory={}", dir.display()));
    }
    if let Some(since) = query.since {
        cmd.arg(format!("--since=-{}s", since.as_secs().max(1)));
    }
    // Matches are arguments, never shell text.
    cmd.args(&matches);
    let out = cmd
        .output()
        .map_err(|e| SourceError::io(Path::new("journalctl"), "run", e))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(SourceError::Journal {
            reason: format!(
                "journalctl {}: {}",
                matches.join(" "),
                stderr.trim().lines().last().unwrap_or("failed")
            ),
        });
    }
    parse_export(&out.stdout).map_err(|e| SourceError::Journal {
        reason: format!("journalctl -o export: {e}"),
    })
}

/// Journal export format: `NAME=value` lines, or `NAME`, a little-endian
/// 64-bit length and that many bytes for values holding newlines; a blank
/// line ends an entry.
pub fn parse_export(mut data: &[u8]) -> io::Result<Vec<JournalEntry>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut entries = Vec::new();
    let mut entry = JournalEntry::default();
    while !data.is_empty() {
        let nl = memchr::memchr(b'\n', data).unwrap_or(data.len());
        let line = &data[..nl];
        data = data.get(nl + 1..).unwrap_or(&[]);
        if line.is_empty() {
            if !entry.fields.is_empty() {
                entries.push(std::mem::take(&mut entry));
            }
            continue;
        }
        if let Some(eq) = memchr::memchr(b'=', line) {
            let name = String::from_utf8_lossy(&line[..eq]).into_owned();
            entry.fields.push((name, line[eq + 1..].to_vec()));
            continue;
        }
        let len_bytes: [u8; 8] = data
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| bad("truncated binary field"))?;
        let len =
            usize::try_from(u64::from_le_bytes(len_bytes)).map_err(|_| bad("field too long"))?;
        let value = data
            .get(8..8 + len)
            .ok_or_else(|| bad("truncated binary field"))?;
        entry
            .fields
            .push((String::from_utf8_lossy(line).into_owned(), value.to_vec()));
        data = data.get(8 + len + 1..).unwrap_or(&[]);
    }
    if !entry.fields.is_empty() {
        entries.push(entry);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_format_text_and_binary_fields() {
        let mut data =
            b"__REALTIME_TIMESTAMP=1764055269625500\nMESSAGE=Failed password\n\n".to_vec();
        data.extend_from_slice(b"MESSAGE\n");
        data.extend_from_slice(&5u64.to_le_bytes());
        data.extend_from_slice(b"a\nb=c\n_PID=7\n\n");
        let entries = parse_export(&data).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].realtime_micros(), Some(1_764_055_269_625_500));
        assert_eq!(entries[1].get("MESSAGE"), Some(&b"a\nb=c"[..]));
        assert_eq!(entries[1].get("_PID"), Some(&b"7"[..]));
        assert!(parse_export(b"MESSAGE\n\x05\x00").is_err());
    }

    #[test]
    fn matches_are_field_value_pairs() {
        assert_eq!(
            journal_matches("journal:_SYSTEMD_UNIT=ssh.service SYSLOG_IDENTIFIER=sshd").unwrap(),
            ["_SYSTEMD_UNIT=ssh.service", "SYSLOG_IDENTIFIER=sshd"]
        );
        assert!(journal_matches("journal:unit=ssh")
            .unwrap_err()
            .contains("not a FIELD=VALUE"));
        assert!(journal_matches("journal:--since=x").is_err());
    }
}
