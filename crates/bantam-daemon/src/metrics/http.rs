//! Just enough HTTP/1.1 for a scraper and a browser: one request per
//! connection, GET or HEAD, answered and closed. Connections are served one
//! at a time with short timeouts: this is a local endpoint, and a slow
//! client holds up only other scrapes, never the daemon.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::control::protocol::MetricsSnapshot;
use crate::control::Request;
use crate::daemon::Event;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Longest request head read; anything longer is refused.
const MAX_HEAD: usize = 8 * 1024;

pub(crate) fn accept_loop(listener: TcpListener, page: bool, events: mpsc::Sender<Event>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // EMFILE and friends: do not spin.
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        if events.is_closed() {
            return;
        }
        serve(stream, page, &events);
    }
}

/// A response: status line, content type, body.
pub(crate) struct Reply {
    pub status: &'static str,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(status: &'static str, body: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into().into_bytes(),
        }
    }
}

fn serve(stream: TcpStream, page: bool, events: &mpsc::Sender<Event>) {
    let _ = stream.set_read_timeout(Some(TIMEOUT));
    let _ = stream.set_write_timeout(Some(TIMEOUT));
    let Some((method, target)) = read_head(&stream) else {
        return;
    };
    let reply = if method != "GET" && method != "HEAD" {
        Reply::text("405 Method Not Allowed", "read-only: GET only\n")
    } else {
        route(&target, page, events)
    };
    let mut stream = stream;
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n",
        reply.status,
        reply.content_type,
        reply.body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    if method != "HEAD" {
        let _ = stream.write_all(&reply.body);
    }
}

/// The request line's method and target; the headers are read and ignored.
fn read_head(stream: &TcpStream) -> Option<(String, String)> {
    let mut reader = BufReader::new(std::io::Read::take(stream, MAX_HEAD as u64));
    let mut first = String::new();
    reader.read_line(&mut first).ok()?;
    let mut parts = first.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) if line == "\r\n" || line == "\n" => break,
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    Some((method, target))
}

fn route(target: &str, page: bool, events: &mpsc::Sender<Event>) -> Reply {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    match path {
        "/metrics" => metrics(events),
        _ if page => super::page::route(path, query, events)
            .unwrap_or_else(|| Reply::text("404 Not Found", "not found\n")),
        _ => Reply::text("404 Not Found", "not found (only /metrics)\n"),
    }
}

fn metrics(events: &mpsc::Sender<Event>) -> Reply {
    let Some(response) = super::ask(events, Request::Metrics {}) else {
        return Reply::text("503 Service Unavailable", "the daemon is stopping\n");
    };
    let snapshot = response
        .data
        .and_then(|d| serde_json::from_value::<MetricsSnapshot>(d).ok());
    match snapshot {
        Some(s) => Reply {
            status: "200 OK",
            content_type: "text/plain; version=0.0.4; charset=utf-8",
            body: super::render(&s).into_bytes(),
        },
        None => Reply::text("500 Internal Server Error", "no snapshot from the daemon\n"),
    }
}
