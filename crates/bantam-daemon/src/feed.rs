//! One task per log: reads batches from whatever kind of source a `logpath`
//! names ([`bantam_source::open`]) and forwards them to the daemon's loop.

use bantam_source::{Checkpoint, Source, SourceError};
use tokio::sync::mpsc;

use crate::daemon::Event;

/// Opens sources; kept so that `daemon.rs` compiles unchanged until it
/// calls [`bantam_source::open`] itself.
pub enum LogSource {}

impl LogSource {
    /// See [`bantam_source::open`].
    pub fn open(pattern: &str, checkpoints: &[Checkpoint]) -> Result<Box<dyn Source>, SourceError> {
        bantam_source::open(pattern, checkpoints)
    }
}

/// Forwards a source's batches to the loop until it ends, fails, or the loop
/// goes away.
pub(crate) async fn feed(
    mut source: Box<dyn Source>,
    jail: usize,
    generation: u64,
    events: mpsc::Sender<Event>,
) {
    loop {
        let event = match source.next_batch().await {
            Ok(Some(batch)) => Event::Lines {
                jail,
                generation,
                batch,
            },
            Ok(None) => return,
            Err(e) => Event::SourceFailed {
                jail,
                generation,
                error: e.to_string(),
            },
        };
        let failed = matches!(event, Event::SourceFailed { .. });
        if events.send(event).await.is_err() || failed {
            return;
        }
    }
}
