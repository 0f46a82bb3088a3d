//! `[daemon] metrics = "127.0.0.1:9539"`: Prometheus text on `/metrics`
//! (and, with `[daemon] page = true`, the live page), served by one thread
//! of its own.
//!
//! The thread never touches the loop's state: for each scrape it asks the
//! loop for a snapshot through the same channel as control requests
//! ([`Request::Metrics`]), a short turn like `status`, and formats it on
//! its own time. The ban latency histogram is atomics the pipeline bumps.

mod http;
mod latency;
mod page;
mod per_minute;
mod render;

use std::net::{SocketAddr, TcpListener};

use tokio::sync::{mpsc, oneshot};

use crate::control::{Request, Response};
use crate::daemon::Event;
use crate::error::DaemonError;

pub(crate) use latency::observe_bans;
pub(crate) use per_minute::record_failures;
pub use render::render;

/// Binds `addr` and serves it on a thread until the process ends.
pub(crate) fn serve(
    addr: SocketAddr,
    page: bool,
    events: mpsc::Sender<Event>,
) -> Result<(), DaemonError> {
    let listener = TcpListener::bind(addr)
        .map_err(|e| DaemonError::Runtime(format!("metrics listener on {addr}: {e}")))?;
    std::thread::Builder::new()
        .name("bantam-metrics".into())
        .spawn(move || http::accept_loop(listener, page, events))
        .map_err(|e| DaemonError::Runtime(format!("metrics thread: {e}")))?;
    crate::log::info(&format!(
        "metrics on http://{addr}/metrics{}",
        if page { " (live page on /)" } else { "" }
    ));
    Ok(())
}

/// Asks the loop, from this thread; `None` when the daemon is stopping.
pub(crate) fn ask(events: &mpsc::Sender<Event>, request: Request) -> Option<Response> {
    let (reply, answer) = oneshot::channel();
    events
        .blocking_send(Event::Control { request, reply })
        .ok()?;
    answer.blocking_recv().ok()
}
