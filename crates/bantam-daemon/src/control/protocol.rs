//! The control socket's protocol: JSON lines, one request in, one response
//! out, except `banned`, whose answer is a stream (see [`crate::control`]).
//!
//! Every response carries `"protocol": PROTOCOL`, the major version: it only
//! changes when an older party would misread the newer one. A request may
//! carry it too (absent means 1); a request for a newer protocol is refused
//! saying so, and the client refuses a newer daemon's answers the same way.
//!
//! Requests are small; a line longer than [`MAX_REQUEST`] is refused before
//! it is parsed, so a client cannot make the daemon buffer without bound.
//! Every malformed request gets an error that says what was wrong.

use serde::{Deserialize, Serialize};

use crate::bans::ActiveBan;

/// The protocol's major version, in every response.
pub const PROTOCOL: u32 = 1;

/// Longest request line accepted.
pub const MAX_REQUEST: usize = 64 * 1024;

/// Most bans the loop lists per turn: what one `banned` connection holds in
/// memory at a time, and the longest the loop stays on one listing before
/// serving other events.
pub const PAGE: usize = 128;

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
    /// Current bans in (jail, target) order, streamed: all of them, or at
    /// most `limit`, starting after the key `after`.
    Banned {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<BanKey>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        limit: Option<usize>,
        /// Only this jail's bans.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jail: Option<String>,
    },
    /// Ban these addresses or networks in a jail, now, with the jail's ban
    /// time. `force`: even where the daemon's safety checks would refuse.
    Ban {
        jail: String,
        targets: Vec<String>,
        #[serde(default, skip_serializing_if = "is_false")]
        force: bool,
        /// How long instead of the jail's ban time (0 is refused).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bantime_seconds: Option<u64>,
        /// Why, kept with the ban and in its history.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Lift bans: these targets in every jail (or only in `jail`), or all
    /// of them (in `jail` only, when given).
    Unban {
        #[serde(default)]
        targets: Vec<String>,
        #[serde(default)]
        all: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jail: Option<String>,
    },
    /// Re-read the configuration; bans and log positions are kept.
    Reload {},
    /// Counters for `/metrics` ([`MetricsSnapshot`]).
    Metrics {},
    /// Stop the daemon (bans stay in the kernel, with their timeouts).
    Stop {},
    /// Lift bans here and ask every host of the fleet to lift them.
    FleetUnban { targets: Vec<String> },
    /// The fleet link, the hosts seen, their lag, the queued writes.
    FleetStatus {},
    /// The bans in force across the fleet.
    FleetBanned {},
}

impl Request {
    /// The command's name on the wire, for log lines.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Ping {} => "ping",
            Request::Status { .. } => "status",
            Request::Banned { .. } => "banned",
            Request::Ban { .. } => "ban",
            Request::Unban { .. } => "unban",
            Request::Reload {} => "reload",
            Request::Metrics {} => "metrics",
            Request::Stop {} => "stop",
            Request::FleetUnban { .. } => "fleet-unban",
            Request::FleetStatus {} => "fleet-status",
            Request::FleetBanned {} => "fleet-banned",
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Where a ban listing stands: the (jail, target) of a ban, listed or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BanKey {
    pub jail: String,
    pub target: String,
}

/// The daemon's answer: `{"protocol": 1, "ok": true, "data": …}` or
/// `{"protocol": 1, "ok": false, "error": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    /// 0 when absent: a daemon older than protocol versions.
    #[serde(default)]
    pub protocol: u32,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The loop's answer to one page of `banned`, handed to the connection's
    /// task as is: never on the wire, never a JSON value in memory.
    #[serde(skip)]
    pub(crate) page: Option<BanPage>,
}

impl Response {
    pub fn ok(data: impl Serialize) -> Response {
        Response {
            data: serde_json::to_value(data).ok(),
            ..Response::new(true)
        }
    }

    pub fn error(message: impl Into<String>) -> Response {
        Response {
            error: Some(message.into()),
            ..Response::new(false)
        }
    }

    pub(crate) fn page(page: BanPage) -> Response {
        Response {
            page: Some(page),
            ..Response::new(true)
        }
    }

    fn new(ok: bool) -> Response {
        Response {
            protocol: PROTOCOL,
            ok,
            data: None,
            error: None,
            page: None,
        }
    }

    /// The response as one line for the socket.
    pub(crate) fn line(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec(self).unwrap_or_default();
        text.push(b'\n');
        text
    }
}

/// One page of bans, from the loop to a connection's task.
#[derive(Debug, Clone, Default)]
pub(crate) struct BanPage {
    pub bans: Vec<BanInfo>,
    /// Where the next page starts; `None`: this was the last.
    pub next: Option<BanKey>,
}

/// The data of the line that ends a `banned` stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BanListEnd {
    /// Bans in this stream.
    pub count: usize,
    /// Where to continue (a request with `after` set to it); `None`: the
    /// listing is complete.
    pub next: Option<BanKey>,
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
    let value: serde_json::Value =
        serde_json::from_str(text.trim()).map_err(|e| format!("bad request: {e}"))?;
    let serde_json::Value::Object(mut fields) = value else {
        return Err("bad request: expected a JSON object".into());
    };
    match fields.remove("protocol") {
        None => {}
        Some(v) => match v.as_u64() {
            Some(n) if n <= u64::from(PROTOCOL) => {}
            Some(n) => {
                return Err(format!(
                    "this daemon speaks control protocol {PROTOCOL}, the request protocol {n}: \
                     use the bantam command of the daemon's version (or restart the daemon with the newer one)"
                ))
            }
            None => return Err(format!("bad request: protocol must be a number, not {v}")),
        },
    }
    serde_json::from_value(serde_json::Value::Object(fields))
        .map_err(|e| format!("bad request: {e}"))
}

/// The request as one line for the socket, with the protocol it speaks.
pub fn request_line(request: &Request) -> Vec<u8> {
    let mut value = serde_json::to_value(request).unwrap_or_default();
    if let Some(fields) = value.as_object_mut() {
        fields.insert("protocol".into(), PROTOCOL.into());
    }
    let mut line = serde_json::to_vec(&value).unwrap_or_default();
    line.push(b'\n');
    line
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
    /// With `status JAIL`: the jail's bans (the first [`PAGE`]; `banned`
    /// lists them all), each with its ban count and step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bans: Option<Vec<BanInfo>>,
    /// The backend the jail's bans go to (`banaction`); absent: its
    /// fail2ban actions ban.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
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
    /// The fleet link's state, when `[fleet]` is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fleet: Option<String>,
    /// Notification channels: sent, given up, dropped (queue full).
    #[serde(default)]
    pub notify: Vec<bantam_notify::ChannelStatus>,
}

/// One jail's counters for `/metrics`: its `status`, and more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JailMetrics {
    #[serde(flatten)]
    pub status: JailStatus,
    /// Tracked sources forgotten to stay within `max-tracked`.
    pub evicted: u64,
}

/// What `/metrics` shows, taken on the loop in one short turn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    pub jails: Vec<JailMetrics>,
    pub store_healthy: bool,
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
    /// The escalation step this ban is on (the last step repeats); absent
    /// when the jail does not escalate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
    /// The address logged in within its jail's `[trust]` ttl.
    #[serde(default)]
    pub trusted: bool,
    /// The jail keeps the ban while the address sends packets
    /// (`extend-while-knocking`).
    #[serde(default)]
    pub knocking: bool,
    /// The last log line that counted towards the ban (for syslog and
    /// journal sources it names the sending host); absent for manual bans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_match: Option<String>,
    /// What earned the ban: `log` (its lines), `manual` (`bantam ban`) or
    /// `adopted` (found in the firewall at start).
    #[serde(default)]
    pub origin: String,
    /// Why, for a ban by hand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The reason a ban by hand gets when none was given, so that every ban by
/// hand has one and tells its origin.
pub const MANUAL_REASON: &str = "banned by hand";

impl BanInfo {
    /// See [`BanInfo::origin`].
    pub(crate) fn origin_of(record: &bantam_state::BanRecord) -> &'static str {
        if record.reason.is_some() {
            "manual"
        } else if record.jail == crate::restore::ADOPTED {
            "adopted"
        } else {
            "log"
        }
    }

    pub(crate) fn of(ban: &ActiveBan) -> BanInfo {
        let second = |t: jiff::Timestamp| t.round(jiff::Unit::Second).unwrap_or(t).to_string();
        BanInfo {
            jail: ban.record.jail.clone(),
            target: ban.record.target.clone(),
            start: second(ban.record.start),
            end: ban.record.end.map(second),
            failures: ban.record.failures,
            ban_count: ban.record.ban_count,
            step: None,
            trusted: false,
            knocking: false,
            last_match: ban.record.matches.last().cloned(),
            origin: BanInfo::origin_of(&ban.record).to_owned(),
            reason: ban.record.reason.clone(),
        }
    }

    pub fn key(&self) -> BanKey {
        BanKey {
            jail: self.jail.clone(),
            target: self.target.clone(),
        }
    }
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
                all: true,
                jail: None
            })
        );
        assert_eq!(
            parse_request(br#"{"command":"ban","jail":"sshd","targets":["192.0.2.1"]}"#),
            Ok(Request::Ban {
                jail: "sshd".into(),
                targets: vec!["192.0.2.1".into()],
                force: false,
                bantime_seconds: None,
                reason: None
            })
        );
        assert_eq!(
            parse_request(br#"{"command":"ban","jail":"j","targets":[],"force":true}"#),
            Ok(Request::Ban {
                jail: "j".into(),
                targets: vec![],
                force: true,
                bantime_seconds: None,
                reason: None
            })
        );
    }

    #[test]
    fn banned_takes_an_optional_cursor_and_limit() {
        assert_eq!(
            parse_request(br#"{"command":"banned"}"#),
            Ok(Request::Banned {
                after: None,
                limit: None,
                jail: None
            })
        );
        assert_eq!(
            parse_request(
                br#"{"protocol":1,"command":"banned","after":{"jail":"sshd","target":"192.0.2.1"},"limit":10}"#
            ),
            Ok(Request::Banned {
                after: Some(BanKey {
                    jail: "sshd".into(),
                    target: "192.0.2.1".into()
                }),
                limit: Some(10),
                jail: None
            })
        );
        assert!(
            parse_request(br#"{"command":"banned","after":{"jail":"sshd"}}"#)
                .unwrap_err()
                .contains("missing field `target`")
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
        assert_eq!(
            parse_request(b"[1]").unwrap_err(),
            "bad request: expected a JSON object"
        );
    }

    #[test]
    fn versions_are_checked_both_ways() {
        let newer = parse_request(br#"{"protocol":2,"command":"ping"}"#).unwrap_err();
        assert!(
            newer.contains("speaks control protocol 1, the request protocol 2"),
            "{newer}"
        );
        assert!(parse_request(br#"{"protocol":"x","command":"ping"}"#)
            .unwrap_err()
            .contains("protocol must be a number"));
        // What the client writes, the daemon reads back.
        let request = Request::Ban {
            jail: "sshd".into(),
            targets: vec!["192.0.2.1".into()],
            force: true,
            bantime_seconds: None,
            reason: None,
        };
        let line = request_line(&request);
        assert!(line.starts_with(br#"{"command":"ban""#) && line.ends_with(b"\n"));
        assert!(String::from_utf8_lossy(&line).contains(r#""protocol":1"#));
        assert_eq!(parse_request(&line), Ok(request));
        let with_more = Request::Ban {
            jail: "sshd".into(),
            targets: vec!["192.0.2.1".into()],
            force: false,
            bantime_seconds: Some(3600),
            reason: Some("seen on the web server".into()),
        };
        assert_eq!(parse_request(&request_line(&with_more)), Ok(with_more));
    }

    #[test]
    fn responses_carry_the_protocol() {
        let r = Response::error("no such jail \"x\"");
        let text = String::from_utf8(r.line()).unwrap();
        assert_eq!(
            text,
            "{\"protocol\":1,\"ok\":false,\"error\":\"no such jail \\\"x\\\"\"}\n"
        );
        let back: Response = serde_json::from_str(&text).unwrap();
        assert_eq!((back.protocol, back.ok), (1, false));
        // A page never reaches the wire.
        let page = Response::page(BanPage::default());
        assert_eq!(page.line(), b"{\"protocol\":1,\"ok\":true}\n");
    }
}
