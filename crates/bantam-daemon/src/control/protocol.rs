//! The control socket's protocol: one JSON object per line each way.
//!
//! Requests are small; a line longer than [`MAX_REQUEST`] is refused before
//! it is parsed, so a client cannot make the daemon buffer without bound.
//! Every malformed request gets an error that says what was wrong.

use serde::{Deserialize, Serialize};

/// Longest request line accepted.
pub const MAX_REQUEST: usize = 64 * 1024;

/// What a client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Request {
    /// Is the daemon there? (Variants without fields are written `{}` so
    /// that unknown fields are refused for them too.)
    Ping {},
    /// Jails and their counters; one jail when named.
    Status {
        #[serde(default)]
        jail: Option<String>,
    },
    /// Every current ban.
    Banned {},
    /// Ban these addresses or networks in a jail, now, with the jail's ban time.
    Ban {
        jail: String,
        targets: Vec<String>,
        /// Ban even what the safety checks refuse (wide networks, loopback,
        /// this host's addresses, ignoreip).
        #[serde(default)]
        force: bool,
    },
    /// Lift bans: these targets in every jail, or all of them.
    Unban {
        #[serde(default)]
        targets: Vec<String>,
        #[serde(default)]
        all: bool,
    },
    /// Re-read the configuration; bans and log positions are kept.
    Reload {},
    /// Stop the daemon (bans stay in the kernel, with their timeouts).
    Stop {},
}

/// The daemon's answer: `{"ok": true, "data": …}` or `{"ok": false, "error": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Response {
    pub fn ok(data: impl Serialize) -> Response {
        Response {
            ok: true,
            data: serde_json::to_value(data).ok(),
            error: None,
        }
    }

    pub fn error(message: impl Into<String>) -> Response {
        Response {
            ok: false,
            data: None,
            error: Some(message.into()),
        }
    }
}

/// Parses one request line, with an error a person can act on.
pub fn parse_request(line: &[u8]) -> Result<Request, String> {
    if line.len() > MAX_REQUEST {
        return Err(format!(
            "request too long ({} bytes, at most {MAX_REQUEST})",
            line.len()
        ));
    }
    let text = std::str::from_utf8(line).map_err(|_| "request is not UTF-8".to_owned())?;
    serde_json::from_str(text.trim()).map_err(|e| format!("bad request: {e}"))
}

/// One jail's counters, as `status` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailStatus {
    pub name: String,
    pub filter: String,
    pub logpath: Vec<String>,
    pub maxretry: u32,
    pub findtime_seconds: u64,
    /// `None`: permanent.
    pub bantime_seconds: Option<u64>,
    pub tracked: usize,
    pub currently_banned: usize,
    pub total_banned: u64,
    pub total_failures: u64,
    pub lines_read: u64,
    /// Lines over the length limit, dropped whole (never split).
    #[serde(default)]
    pub long_lines_dropped: u64,
    /// Action jobs dropped because the actions fell too far behind.
    #[serde(default)]
    pub actions_dropped: u64,
    /// Each log source and what it is doing.
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
}

/// A log source as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStatus {
    pub logpath: String,
    /// `following`, `waiting: …`, `failed: … (retrying)`, `ended`.
    pub state: String,
}

/// `status` as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    pub backend: String,
    pub dry_run: bool,
    /// `None` when healthy; otherwise why the store is not taking writes
    /// (bans go on and are kept in memory meanwhile).
    #[serde(default)]
    pub store: Option<String>,
    pub jails: Vec<JailStatus>,
}

/// One current ban, as `banned` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanInfo {
    pub jail: String,
    pub target: String,
    /// RFC 3339.
    pub start: String,
    /// RFC 3339; `None`: permanent.
    pub end: Option<String>,
    pub failures: u32,
    pub ban_count: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse() {
        assert_eq!(
            parse_request(br#"{"command":"ping"}"#),
            Ok(Request::Ping {})
        );
        assert_eq!(
            parse_request(br#"{"command":"status"}"#),
            Ok(Request::Status { jail: None })
        );
        assert_eq!(
            parse_request(br#"{"command":"unban","all":true}"#),
            Ok(Request::Unban {
                targets: vec![],
                all: true
            })
        );
        assert_eq!(
            parse_request(br#"{"command":"ban","jail":"sshd","targets":["192.0.2.1"]}"#),
            Ok(Request::Ban {
                jail: "sshd".into(),
                targets: vec!["192.0.2.1".into()],
                force: false
            })
        );
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        assert!(parse_request(b"nope")
            .unwrap_err()
            .starts_with("bad request"));
        assert!(parse_request(br#"{"command":"explode"}"#)
            .unwrap_err()
            .contains("unknown variant `explode`"));
        assert!(parse_request(br#"{"command":"ban"}"#)
            .unwrap_err()
            .contains("missing field `jail`"));
        assert!(parse_request(br#"{"command":"ping","x":1}"#)
            .unwrap_err()
            .contains("unknown field `x`"));
        assert_eq!(parse_request(b"\xff").unwrap_err(), "request is not UTF-8");
        assert!(parse_request(&vec![b' '; MAX_REQUEST + 1])
            .unwrap_err()
            .starts_with("request too long"));
    }

    #[test]
    fn responses_round_trip() {
        let r = Response::error("no such jail \"x\"");
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(text, r#"{"ok":false,"error":"no such jail \"x\""}"#);
    }
}
