//! The live page (placeholder until it is written).

use tokio::sync::mpsc;

use super::http::Reply;
use crate::daemon::Event;

pub(crate) fn route(_path: &str, _query: &str, _events: &mpsc::Sender<Event>) -> Option<Reply> {
    None
}
