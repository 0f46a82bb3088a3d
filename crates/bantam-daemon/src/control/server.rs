//! The control server: accepts connections on the control socket and
//! carries each request to the loop and its answer back.
//!
//! It runs apart from the loop (mini-redis style: listener apart from
//! handlers), so a slow or silent client never holds the loop up. Its own
//! resources are bounded too: at most `max_connections` at once (see
//! [`limits`](crate::control::limits) for who gives way at the cap), a
//! request line within [`MAX_REQUEST`] that must arrive within `timeout`,
//! answers a client must take within `timeout`, and accept errors waited
//! out with back-off instead of retried in a tight loop.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::UnixStream;
use tokio::sync::{mpsc, oneshot};

use crate::control::banned;
use crate::control::limits::{Backoff, Slot, Slots};
use crate::control::protocol::{parse_request, Request, Response, MAX_REQUEST};
use crate::control::socket::{peer_allowed, ControlSocket};
use crate::daemon::Event;

/// Accepts control connections; each is served by its own small task.
pub(crate) async fn accept_loop(
    socket: ControlSocket,
    events: mpsc::Sender<Event>,
    max_connections: usize,
    timeout: Duration,
) {
    let slots = Slots::new(max_connections);
    let mut backoff = Backoff::default();
    loop {
        let stream = match socket.listener.accept().await {
            Ok((stream, _)) => {
                backoff.succeeded();
                stream
            }
            Err(e) => {
                if let Some(pause) = backoff.failed(&e, tokio::time::Instant::now()) {
                    tokio::time::sleep(pause).await;
                }
                continue;
            }
        };
        if !matches!(peer_allowed(&stream), Ok(true)) {
            continue;
        }
        match slots.admit() {
            Some((slot, evicted)) => {
                tokio::spawn(serve(stream, events.clone(), slot, evicted, timeout));
            }
            None => refuse(&stream, slots.max()),
        }
    }
}

/// Tells a connection over the cap why it is closed. A fresh socket's
/// buffer is empty, so this never waits; if it cannot write, the close says
/// enough.
fn refuse(stream: &UnixStream, max: usize) {
    let refusal = Response::error(format!(
        "busy: all {max} control connections are answering requests; try again"
    ));
    let _ = stream.try_write(&refusal.line());
}

async fn serve(
    stream: UnixStream,
    events: mpsc::Sender<Event>,
    mut slot: Slot,
    evicted: oneshot::Receiver<()>,
    timeout: Duration,
) {
    let (read, mut write) = stream.into_split();
    let request = tokio::select! {
        request = read_request(read, timeout) => request,
        _ = evicted => None,
    };
    if !slot.start() {
        let evicted = Response::error(
            "closed: the control connection limit was reached and this connection had sent no request",
        );
        return reply(&mut write, &evicted, timeout).await;
    }
    let Some(request) = request else {
        return;
    };
    match request {
        Err(message) => reply(&mut write, &Response::error(message), timeout).await,
        Ok(Request::Banned { after, limit, jail }) => {
            banned::stream(&mut write, &events, (after, limit, jail), timeout).await
        }
        Ok(request) => {
            let response = ask(&events, request).await;
            reply(&mut write, &response, timeout).await
        }
    }
}

/// The request line, parsed; `None` if the client left without one.
async fn read_request(
    read: tokio::net::unix::OwnedReadHalf,
    timeout: Duration,
) -> Option<Result<Request, String>> {
    // One byte over the limit is enough to refuse an oversized request.
    let mut reader = BufReader::new(read.take(MAX_REQUEST as u64 + 1));
    let mut line = Vec::new();
    match tokio::time::timeout(timeout, reader.read_until(b'\n', &mut line)).await {
        Err(_) => Some(Err(format!(
            "no complete request within {}s; closing",
            timeout.as_secs_f64()
        ))),
        Ok(Ok(0)) => None,
        Ok(Ok(_)) => Some(parse_request(&line)),
        Ok(Err(e)) => Some(Err(format!("reading request: {e}"))),
    }
}

/// Hands `request` to the loop and waits for its answer.
pub(crate) async fn ask(events: &mpsc::Sender<Event>, request: Request) -> Response {
    let (reply, answer) = oneshot::channel();
    if events
        .send(Event::Control { request, reply })
        .await
        .is_err()
    {
        return Response::error("the daemon is stopping");
    }
    answer
        .await
        .unwrap_or_else(|_| Response::error("the daemon is stopping"))
}

/// Writes one response line, giving up on a client that does not take it
/// within `timeout`.
pub(crate) async fn reply(write: &mut OwnedWriteHalf, response: &Response, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, write.write_all(&response.line())).await;
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
