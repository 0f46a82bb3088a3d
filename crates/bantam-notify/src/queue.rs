//! A channel's bounded queue: the loop pushes without waiting; when full,
//! the oldest message goes.
//!
//! Why drop the oldest: under a flood of bans the messages queued first are
//! the least useful by the time a slow server takes them, and the newest
//! ban is the one an admin wants to see. The ban itself is in the kernel
//! whatever happens here; a dropped message is counted, never silent.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use crate::event::Event;

/// What a channel's counters say, shared by the loop and the thread.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub last_error: Mutex<Option<String>>,
}

pub(crate) struct Queue {
    state: Mutex<State>,
    changed: Condvar,
    capacity: usize,
    pub counters: Counters,
}

struct State {
    items: VecDeque<Event>,
    closing: bool,
}

/// What the worker gets from [`Queue::pop`].
pub(crate) enum Pop {
    Item(Event),
    /// The deadline passed with nothing queued.
    Due,
    /// Closing and empty.
    Closed,
}

impl Queue {
    pub fn new(capacity: usize) -> Queue {
        Queue {
            state: Mutex::new(State {
                items: VecDeque::with_capacity(capacity.min(1024)),
                closing: false,
            }),
            changed: Condvar::new(),
            capacity,
            counters: Counters::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not stop notifications, let alone bans.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `event`; returns how many were dropped so far if this push
    /// dropped one. The lock is only ever held for a queue operation, never
    /// across I/O, so this does not wait on the network.
    pub fn push(&self, event: Event) -> Option<u64> {
        let mut state = self.lock();
        let mut dropped = None;
        if state.items.len() >= self.capacity {
            state.items.pop_front();
            dropped = Some(self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1);
        }
        state.items.push_back(event);
        drop(state);
        self.changed.notify_one();
        dropped
    }

    /// The next message; waits until one comes, `deadline` passes, or the
    /// queue is closed and empty.
    pub fn pop(&self, deadline: Option<Instant>) -> Pop {
        let mut state = self.lock();
        loop {
            if let Some(item) = state.items.pop_front() {
                return Pop::Item(item);
            }
            if state.closing {
                return Pop::Closed;
            }
            state = match deadline {
                None => self.changed.wait(state).unwrap_or_else(|p| p.into_inner()),
                Some(at) => {
                    let Some(left) = at.checked_duration_since(Instant::now()) else {
                        return Pop::Due;
                    };
                    let (s, _) = self
                        .changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(|p| p.into_inner());
                    s
                }
            };
        }
    }

    /// Sleeps until `until` unless the queue closes first (a retry's
    /// back-off must not hold a shutdown). Returns whether it is closing.
    pub fn sleep_unless_closed(&self, until: Instant) -> bool {
        let mut state = self.lock();
        while !state.closing {
            let Some(left) = until.checked_duration_since(Instant::now()) else {
                break;
            };
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        state.closing
    }

    pub fn close(&self) {
        self.lock().closing = true;
        self.changed.notify_all();
    }

    pub fn is_closing(&self) -> bool {
        self.lock().closing
    }

    pub fn len(&self) -> usize {
        self.lock().items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(jail: &str) -> Event {
        Event::JailStart { jail: jail.into() }
    }

    #[test]
    fn full_queue_drops_the_oldest_and_counts() {
        let q = Queue::new(2);
        assert_eq!(q.push(start("a")), None);
        assert_eq!(q.push(start("b")), None);
        assert_eq!(q.push(start("c")), Some(1));
        assert_eq!(q.len(), 2);
        let next = |q: &Queue| match q.pop(Some(Instant::now())) {
            Pop::Item(e) => e.jail().to_owned(),
            Pop::Due => "due".into(),
            Pop::Closed => "closed".into(),
        };
        assert_eq!(next(&q), "b");
        assert_eq!(next(&q), "c");
        assert_eq!(next(&q), "due");
        q.close();
        assert_eq!(next(&q), "closed");
        assert!(q.sleep_unless_closed(Instant::now() + std::time::Duration::from_secs(60)));
    }
}
