//! The client side, for the CLI: one request, one response; or, for
//! `banned`, one request and a stream of bans read as they come.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::control::protocol::{
    request_line, BanInfo, BanKey, BanListEnd, Request, Response, PROTOCOL,
};
use crate::error::DaemonError;

/// Sends `request` to the daemon at `socket` and waits for its answer.
/// (`banned` answers with a stream: use [`Client::banned`].)
pub fn send(socket: &Path, request: &Request) -> Result<Response, DaemonError> {
    let mut client = Client::connect(socket)?;
    client.write(request)?;
    client.response()
}

/// A connection to the daemon.
pub struct Client {
    path: PathBuf,
    reader: BufReader<UnixStream>,
    line: String,
}

impl Client {
    /// Connects; [`DaemonError::NotRunning`] when nothing listens there.
    pub fn connect(socket: &Path) -> Result<Client, DaemonError> {
        let stream = UnixStream::connect(socket).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                DaemonError::NotRunning {
                    path: socket.to_owned(),
                    source: e,
                }
            }
            std::io::ErrorKind::PermissionDenied => DaemonError::Client {
                path: socket.to_owned(),
                reason: format!("{e} (the socket is for root and bantam's own user)"),
            },
            _ => DaemonError::Client {
                path: socket.to_owned(),
                reason: e.to_string(),
            },
        })?;
        // Reload re-reads every log's position and stop waits for the loop:
        // allow time, but never hang forever on a wedged daemon.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
        Ok(Client {
            path: socket.to_owned(),
            reader: BufReader::new(stream),
            line: String::new(),
        })
    }

    /// Lists the current bans after `after` (all, or at most `limit`),
    /// reading them from the daemon one at a time.
    pub fn banned(
        self,
        after: Option<BanKey>,
        limit: Option<usize>,
    ) -> Result<BanStream, DaemonError> {
        self.banned_in(None, after, limit)
    }

    /// [`Client::banned`], of one jail's bans when `jail` is given.
    pub fn banned_in(
        mut self,
        jail: Option<String>,
        after: Option<BanKey>,
        limit: Option<usize>,
    ) -> Result<BanStream, DaemonError> {
        self.write(&Request::Banned { after, limit, jail })?;
        let header = self.response()?;
        if !header.ok {
            return Err(refusal(header));
        }
        Ok(BanStream {
            client: self,
            count: 0,
            end: None,
        })
    }

    fn fail(&self, reason: impl Into<String>) -> DaemonError {
        DaemonError::Client {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    fn write(&mut self, request: &Request) -> Result<(), DaemonError> {
        self.reader
            .get_mut()
            .write_all(&request_line(request))
            .map_err(|e| self.fail(format!("sending: {e}")))
    }

    /// The next line as JSON; `None` when the daemon closed the connection.
    fn next_value(&mut self) -> Result<Option<Value>, DaemonError> {
        self.line.clear();
        match self.reader.read_line(&mut self.line) {
            Ok(0) => Ok(None),
            Ok(_) => serde_json::from_str(&self.line)
                .map(Some)
                .map_err(|e| self.fail(format!("unreadable answer: {e}"))),
            Err(e) => Err(self.fail(format!("reading the answer: {e}"))),
        }
    }

    fn response(&mut self) -> Result<Response, DaemonError> {
        match self.next_value()? {
            Some(value) => self.parse_response(value),
            None => Err(self.fail("the daemon closed the connection without answering")),
        }
    }

    /// A response line, refused if it is of a protocol this client does
    /// not know (checked before its shape, which may be what changed).
    fn parse_response(&self, value: Value) -> Result<Response, DaemonError> {
        match value.get("protocol").and_then(Value::as_u64) {
            Some(n) if n == u64::from(PROTOCOL) => {}
            Some(n) if n > u64::from(PROTOCOL) => {
                return Err(self.fail(format!(
                    "the daemon speaks control protocol {n}, newer than this bantam's {PROTOCOL}: \
                     use the bantam command installed with the running daemon"
                )))
            }
            _ => {
                return Err(self.fail(format!(
                    "the daemon predates control protocol {PROTOCOL} (an older bantam): \
                     restart it with this version"
                )))
            }
        }
        serde_json::from_value(value).map_err(|e| self.fail(format!("unreadable answer: {e}")))
    }
}

/// The daemon's refusal, as it worded it.
fn refusal(response: Response) -> DaemonError {
    DaemonError::Refused(
        response
            .error
            .unwrap_or_else(|| "the daemon refused without saying why".into()),
    )
}

/// The bans of a `banned` answer, in (jail, target) order. After the last
/// one, [`BanStream::end`] says whether the list is complete.
pub struct BanStream {
    client: Client,
    count: usize,
    end: Option<BanListEnd>,
}

impl BanStream {
    /// The list's last line, once every ban has been read.
    pub fn end(&self) -> Option<&BanListEnd> {
        self.end.as_ref()
    }

    fn next_ban(&mut self) -> Result<Option<BanInfo>, DaemonError> {
        if self.end.is_some() {
            return Ok(None);
        }
        let Some(value) = self.client.next_value()? else {
            return Err(self.client.fail(format!(
                "the daemon closed the connection before the end of the list ({} bans read)",
                self.count
            )));
        };
        if value.get("ok").is_some() {
            let response = self.client.parse_response(value)?;
            if !response.ok {
                return Err(refusal(response));
            }
            let end = response.data.unwrap_or_default();
            let end = serde_json::from_value(end)
                .map_err(|e| self.client.fail(format!("unreadable end of list: {e}")))?;
            self.end = Some(end);
            return Ok(None);
        }
        self.count += 1;
        serde_json::from_value(value)
            .map(Some)
            .map_err(|e| self.client.fail(format!("unreadable ban: {e}")))
    }
}

impl Iterator for BanStream {
    type Item = Result<BanInfo, DaemonError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_ban().transpose()
    }
}
