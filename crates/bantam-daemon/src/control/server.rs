//! The control server: accepts connections on the control socket and
//! carries each request to the loop and its answer back.
//!
//! It runs apart from the loop (mini-redis style: listener apart from
//! handlers), so a slow or silent client never holds the loop up.

use tokio::sync::{mpsc, oneshot};

use crate::control::protocol::Response;
use crate::control::socket::{peer_allowed, ControlSocket};
use crate::daemon::Event;

/// Accepts control connections; each is served by its own small task.
pub(crate) async fn accept_loop(
    socket: ControlSocket,
    events: mpsc::Sender<Event>,
    _max_connections: usize,
    _timeout: std::time::Duration,
) {
    loop {
        let Ok((stream, _)) = socket.listener.accept().await else {
            continue;
        };
        match peer_allowed(&stream) {
            Ok(true) => {}
            _ => continue,
        }
        tokio::spawn(serve(stream, events.clone()));
    }
}

async fn serve(stream: tokio::net::UnixStream, events: mpsc::Sender<Event>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = stream.into_split();
    // One byte over the limit is enough to refuse an oversized request.
    let mut reader = BufReader::new(read.take(crate::control::protocol::MAX_REQUEST as u64 + 1));
    let mut line = Vec::new();
    let response = match reader.read_until(b'\n', &mut line).await {
        Ok(0) => return,
        Ok(_) => match crate::control::protocol::parse_request(&line) {
            Ok(request) => {
                let (reply, answer) = oneshot::channel();
                if events
                    .send(Event::Control { request, reply })
                    .await
                    .is_err()
                {
                    Response::error("the daemon is stopping")
                } else {
                    answer
                        .await
                        .unwrap_or_else(|_| Response::error("the daemon is stopping"))
                }
            }
            Err(message) => Response::error(message),
        },
        Err(e) => Response::error(format!("reading request: {e}")),
    };
    let mut text = serde_json::to_vec(&response).unwrap_or_default();
    text.push(b'\n');
    let _ = write.write_all(&text).await;
}
