//! The client side, for the CLI: one request, one response.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use crate::control::protocol::{Request, Response};
use crate::error::DaemonError;

/// Sends `request` to the daemon at `socket` and waits for its answer.
pub fn send(socket: &Path, request: &Request) -> Result<Response, DaemonError> {
    let fail = |reason: String| DaemonError::Client {
        path: socket.to_owned(),
        reason,
    };
    let mut stream = UnixStream::connect(socket).map_err(|e| {
        fail(match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                format!("{e} (is bantam running? start it with `bantam run`)")
            }
            std::io::ErrorKind::PermissionDenied => {
                format!("{e} (the socket is for root and bantam's own user)")
            }
            _ => e.to_string(),
        })
    })?;
    // Reload re-reads every log's position and stop waits for the loop: allow
    // time, but never hang forever on a wedged daemon.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut line = serde_json::to_vec(request).map_err(|e| fail(e.to_string()))?;
    line.push(b'\n');
    stream
        .write_all(&line)
        .map_err(|e| fail(format!("sending: {e}")))?;
    let mut reply = String::new();
    BufReader::new(&stream)
        .read_line(&mut reply)
        .map_err(|e| fail(format!("reading the answer: {e}")))?;
    if reply.is_empty() {
        return Err(fail(
            "the daemon closed the connection without answering".into(),
        ));
    }
    serde_json::from_str(&reply).map_err(|e| fail(format!("unreadable answer: {e}")))
}
