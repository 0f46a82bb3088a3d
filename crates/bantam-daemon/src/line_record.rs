//! A structured source's line as a record for `format = "json"` filters.
//!
//! A journal entry or a syslog message arrives with named fields beside its
//! text (`_SYSTEMD_UNIT`, `_HOSTNAME`, `SYSLOG_IDENTIFIER`, …; `host`,
//! `program`, `facility`). A JSON filter names them exactly as it names the
//! paths of a JSON line (`fields.address = "REMOTE_ADDR"`,
//! `when._SYSTEMD_UNIT = ["caddy.service"]`), so one filter language covers
//! both. The entry's own fields come first: they were written by the
//! journal or the syslog receiver, not by the logging program.
//!
//! A program that logs JSON to the journal (a container under Docker's
//! journald driver, Caddy under systemd) puts the object in its message:
//! paths that are not fields of the entry are looked up in that object,
//! parsed once per line and only when asked for.
//!
//! The adapter lives here, not in the filter crate, because the filter
//! crate does not know the source crate's types (and must not: it stays
//! pure and free of source dependencies).

use std::borrow::Cow;
use std::cell::OnceCell;

use bantam_filter::json_fields::JsonFields;
use bantam_filter::{FieldPath, Fields};
use bantam_source::LineMeta;

/// One line with its fields.
pub(crate) struct LineRecord<'a> {
    meta: &'a LineMeta,
    line: &'a [u8],
    message: OnceCell<Option<JsonFields>>,
}

impl<'a> LineRecord<'a> {
    pub(crate) fn new(meta: &'a LineMeta, line: &'a [u8]) -> LineRecord<'a> {
        LineRecord {
            meta,
            line,
            message: OnceCell::new(),
        }
    }

    /// The message as a JSON object, if the whole of it is one. The line
    /// is written as `TIME HOST IDENT[PID]: MESSAGE`, and the header (a
    /// time, a host name, an identifier) holds no `": "`: the message
    /// starts after the first one. Only a message that is an object from
    /// its first byte to its last counts, so a program's text that merely
    /// quotes JSON an attacker wrote is never read as fields.
    fn message(&self) -> Option<&JsonFields> {
        self.message
            .get_or_init(|| {
                let at = self.line.windows(2).position(|w| w == b": ")?;
                let message = &self.line[at + 2..];
                message
                    .starts_with(b"{")
                    .then(|| JsonFields::parse(message))
                    .flatten()
            })
            .as_ref()
    }
}

impl Fields for LineRecord<'_> {
    fn field(&self, path: &FieldPath) -> Option<Cow<'_, str>> {
        if let Some(value) = self.meta.field(path.as_str()) {
            return Some(Cow::Borrowed(value));
        }
        if path.as_str() == "__REALTIME_TIMESTAMP" {
            // Seconds with a fraction: the filter's time parser reads it.
            let us = self.meta.realtime_us?;
            return Some(Cow::Owned(format!(
                "{}.{:06}",
                us / 1_000_000,
                us % 1_000_000
            )));
        }
        self.message()?.field(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> LineMeta {
        LineMeta {
            realtime_us: Some(1_764_055_269_625_500),
            fields: vec![
                ("_SYSTEMD_UNIT".into(), "caddy.service".into()),
                ("REMOTE_ADDR".into(), "192.0.2.7".into()),
            ],
        }
    }

    fn get(record: &LineRecord<'_>, path: &str) -> Option<String> {
        let path = FieldPath::parse(path).unwrap();
        record.field(&path).map(Cow::into_owned)
    }

    #[test]
    fn entry_fields_then_the_json_message() {
        let meta = meta();
        let line = br#"2026-11-25T07:21:09.625500+00:00 web caddy[7]: {"request":{"remote_ip":"198.51.100.4"},"status":401}"#;
        let r = LineRecord::new(&meta, line);
        assert_eq!(get(&r, "_SYSTEMD_UNIT").as_deref(), Some("caddy.service"));
        assert_eq!(get(&r, "REMOTE_ADDR").as_deref(), Some("192.0.2.7"));
        assert_eq!(
            get(&r, "request.remote_ip").as_deref(),
            Some("198.51.100.4")
        );
        assert_eq!(get(&r, "status").as_deref(), Some("401"));
        assert_eq!(
            get(&r, "__REALTIME_TIMESTAMP").as_deref(),
            Some("1764055269.625500")
        );
        assert_eq!(get(&r, "nope"), None);
    }

    #[test]
    fn a_text_message_has_only_the_entry_fields() {
        let meta = meta();
        let line =
            br#"2026-11-25T07:21:09.625500+00:00 web sshd[7]: Invalid user x: {"status":401}"#;
        let r = LineRecord::new(&meta, line);
        assert_eq!(get(&r, "status"), None);
        assert_eq!(get(&r, "REMOTE_ADDR").as_deref(), Some("192.0.2.7"));
    }
}
