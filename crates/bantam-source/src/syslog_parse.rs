//! One syslog message (RFC 3164 or RFC 5424) → one line as a syslog
//! daemon writes it to a file, `TIMESTAMP HOST PROGRAM[PID]: MESSAGE`, so
//! every filter reads it unchanged, with `host`, `program`, `pid`,
//! `facility`, `severity` and `peer` (the sender's address) as fields.
//!
//! Parsing is lenient, as receivers must be: a message without a valid
//! header is kept whole as the message. What an attacker could use to
//! forge a second line (newlines, NUL) becomes a space: one datagram is
//! one line, always.

use crate::batch::LineMeta;

/// The line and fields of `msg`, received from `peer` (its address, or
/// the socket path). The timestamp is the message's own (either form) or,
/// when it has none, `received_us`.
pub(crate) fn parse(msg: &[u8], peer: &str, received_us: u64) -> (Vec<u8>, LineMeta) {
    let msg = trim_end(msg);
    let (pri, rest) = priority(msg);
    let parts = match rest.strip_prefix(b"1 ") {
        Some(rest5424) => rfc5424(rest5424),
        None => rfc3164(rest),
    };
    let stamp = match parts.stamp {
        Some(s) => String::from_utf8_lossy(s).into_owned(),
        None => crate::stamp::rfc3339_utc(received_us),
    };
    let host = parts.host.map_or_else(|| peer.to_owned(), lossy);
    let mut line = format!("{stamp} {host} ").into_bytes();
    if let Some(program) = parts.program {
        line.extend_from_slice(program);
        if let Some(pid) = parts.pid {
            line.push(b'[');
            line.extend_from_slice(pid);
            line.push(b']');
        }
        line.extend_from_slice(b": ");
    }
    line.extend(parts.message.iter().map(|&b| match b {
        b'\n' | b'\r' | 0 => b' ',
        b => b,
    }));
    let mut fields: Vec<(Box<str>, Box<str>)> = vec![("host".into(), host.into())];
    if let Some(p) = parts.program {
        fields.push(("program".into(), lossy(p).into()));
    }
    if let Some(p) = parts.pid {
        fields.push(("pid".into(), lossy(p).into()));
    }
    if let Some(pri) = pri {
        fields.push(("facility".into(), (pri >> 3).to_string().into()));
        fields.push(("severity".into(), (pri & 7).to_string().into()));
    }
    fields.push(("peer".into(), peer.into()));
    let meta = LineMeta {
        realtime_us: None,
        fields,
    };
    (line, meta)
}

#[derive(Default)]
struct Parts<'a> {
    stamp: Option<&'a [u8]>,
    host: Option<&'a [u8]>,
    program: Option<&'a [u8]>,
    pid: Option<&'a [u8]>,
    message: &'a [u8],
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn trim_end(mut msg: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | 0] = msg {
        msg = rest;
    }
    msg
}

/// `<PRI>` (0–191) and what follows it.
fn priority(msg: &[u8]) -> (Option<u8>, &[u8]) {
    let Some(rest) = msg.strip_prefix(b"<") else {
        return (None, msg);
    };
    let Some(end) = rest.iter().take(4).position(|&b| b == b'>') else {
        return (None, msg);
    };
    match std::str::from_utf8(&rest[..end])
        .ok()
        .and_then(|t| t.parse::<u8>().ok())
    {
        Some(pri) if pri < 192 && end > 0 => (Some(pri), &rest[end + 1..]),
        _ => (None, msg),
    }
}

/// The next space-separated word and the rest after one space.
fn word(s: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memchr(b' ', s) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

fn nil(w: &[u8]) -> Option<&[u8]> {
    (w != b"-" && !w.is_empty()).then_some(w)
}

/// `TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD [MSG]` (after `1 `).
fn rfc5424(s: &[u8]) -> Parts<'_> {
    let (stamp, s) = word(s);
    let (host, s) = word(s);
    let (app, s) = word(s);
    let (procid, s) = word(s);
    let (_msgid, s) = word(s);
    let message = skip_structured_data(s);
    let message = message.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(message);
    Parts {
        stamp: nil(stamp),
        host: nil(host),
        program: nil(app),
        pid: nil(procid),
        message,
    }
}

/// Skips `-` or `[id k="v"…]…` (values may hold `\]` and `\"`) and the
/// space after it.
fn skip_structured_data(s: &[u8]) -> &[u8] {
    if let Some(rest) = s.strip_prefix(b"-") {
        return rest.strip_prefix(b" ").unwrap_or(rest);
    }
    let mut i = 0;
    while s.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        while let Some(&b) = s.get(i) {
            i += 1;
            match b {
                b'\\' if quoted => i += 1,
                b'"' => quoted = !quoted,
                b']' if !quoted => break,
                _ => {}
            }
        }
    }
    let rest = s.get(i..).unwrap_or_default();
    rest.strip_prefix(b" ").unwrap_or(rest)
}

/// `TIMESTAMP [HOSTNAME] TAG[PID]: MSG`, each part optional.
fn rfc3164(s: &[u8]) -> Parts<'_> {
    let mut parts = Parts::default();
    let mut s = s;
    if is_bsd_stamp(s) {
        parts.stamp = Some(&s[..15]);
        s = s[15..].strip_prefix(b" ").unwrap_or(&s[15..]);
    } else if s.len() > 10 && s[..4].iter().all(u8::is_ascii_digit) && s[4] == b'-' {
        let (stamp, rest) = word(s);
        parts.stamp = Some(stamp);
        s = rest;
    }
    // A word that is not a tag (no ':' at its end, no '[') is the host.
    let (first, rest) = word(s);
    let is_tag = first.ends_with(b":") || first.contains(&b'[');
    if !first.is_empty() && !is_tag && !rest.is_empty() && parts.stamp.is_some() {
        parts.host = Some(first);
        s = rest;
    }
    let tag_end = s
        .iter()
        .take(48)
        .position(|&b| b == b':' || b == b'[' || b == b' ');
    match tag_end.map(|i| (i, s[i])) {
        Some((i, b'[')) if i > 0 => {
            let after = &s[i + 1..];
            if let Some(close) = memchr::memchr(b']', after).filter(|&c| c <= 20) {
                if after.get(close + 1) == Some(&b':') {
                    parts.program = Some(&s[..i]);
                    parts.pid = Some(&after[..close]);
                    let msg = &after[close + 2..];
                    parts.message = msg.strip_prefix(b" ").unwrap_or(msg);
                    return parts;
                }
            }
            parts.message = s;
        }
        Some((i, b':')) if i > 0 => {
            parts.program = Some(&s[..i]);
            let msg = &s[i + 1..];
            parts.message = msg.strip_prefix(b" ").unwrap_or(msg);
        }
        _ => parts.message = s,
    }
    parts
}

/// `Mmm dd hh:mm:ss` (the day space-padded).
fn is_bsd_stamp(s: &[u8]) -> bool {
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    s.len() >= 15
        && MONTHS.contains(&&s[..3])
        && s[3] == b' '
        && s[6] == b' '
        && s[9] == b':'
        && s[12] == b':'
        && [4, 5, 7, 8, 10, 11, 13, 14]
            .iter()
            .all(|&i| s[i].is_ascii_digit() || (i == 4 && s[i] == b' '))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(msg: &str) -> (String, LineMeta) {
        let (l, m) = parse(msg.as_bytes(), "198.51.100.9", 1_796_303_339_019_927);
        (String::from_utf8(l).unwrap(), m)
    }

    #[test]
    fn rfc3164_with_and_without_host() {
        let (l, m) = line("<38>Dec  3 13:08:59 web1 sshd[123]: Failed password from 192.0.2.1\n");
        assert_eq!(
            l,
            "Dec  3 13:08:59 web1 sshd[123]: Failed password from 192.0.2.1"
        );
        assert_eq!(m.field("host"), Some("web1"));
        assert_eq!(m.field("program"), Some("sshd"));
        assert_eq!(m.field("pid"), Some("123"));
        assert_eq!(m.field("facility"), Some("4"));
        assert_eq!(m.field("severity"), Some("6"));
        // Local senders (/dev/log) leave the host out: the peer stands in.
        let (l, m) = line("<38>Dec  3 13:08:59 sshd[123]: hi");
        assert_eq!(l, "Dec  3 13:08:59 198.51.100.9 sshd[123]: hi");
        assert_eq!(m.field("host"), Some("198.51.100.9"));
        let (l, _) = line("<13>2026-12-03T13:08:59.1+01:00 db2 cron: job");
        assert_eq!(l, "2026-12-03T13:08:59.1+01:00 db2 cron: job");
    }

    #[test]
    fn rfc5424_with_structured_data_and_bom() {
        let (l, m) = line(
            "<38>1 2026-12-03T13:08:59.5Z web2 sshd 77 - [x@1 a=\"q]\\\"\"][y@2] \u{feff}Invalid user a from 192.0.2.2",
        );
        assert_eq!(
            l,
            "2026-12-03T13:08:59.5Z web2 sshd[77]: Invalid user a from 192.0.2.2"
        );
        assert_eq!(m.field("host"), Some("web2"));
        let (l, _) = line("<38>1 - - app - ID1 - text");
        assert_eq!(l, "2026-12-03T13:08:59.019927+00:00 198.51.100.9 app: text");
    }

    #[test]
    fn garbage_is_kept_as_one_line() {
        let (l, m) = line("no header at all\nforged line from 192.0.2.3");
        assert_eq!(
            l,
            "2026-12-03T13:08:59.019927+00:00 198.51.100.9 no header at all forged line from 192.0.2.3"
        );
        assert_eq!(m.field("program"), None);
        let (l, _) = line("<999>x");
        assert!(l.ends_with(" <999>x"), "{l}");
        let (l, _) = line("");
        assert_eq!(l, "2026-12-03T13:08:59.019927+00:00 198.51.100.9 ");
    }
}
