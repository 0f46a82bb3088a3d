//! [`Notifier`]: the daemon's handle on every channel.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bantam_config::notify_settings::{ChannelSettings, EventKind, NotifySettings};
use serde::{Deserialize, Serialize};

use crate::channel::{Sink, Worker};
use crate::digest::DigestBook;
use crate::error::NotifyError;
use crate::event::Event;
use crate::mail::Mailer;
use crate::queue::Queue;
use crate::webhook::Webhook;

/// Where warnings go (the daemon's log).
pub type Warn = fn(&str);

/// One channel's counters, as `bantam status --json` shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelStatus {
    /// `mail` or `webhook`.
    pub channel: String,
    /// Messages waiting.
    pub queued: usize,
    pub sent: u64,
    /// Given up after the retries.
    pub failed: u64,
    /// Dropped unsent because the queue was full (oldest first).
    pub dropped: u64,
    pub last_error: Option<String>,
}

struct Channel {
    name: &'static str,
    settings: ChannelSettings,
    queue: Arc<Queue>,
    /// Until [`Notifier::start`].
    worker: Option<Worker>,
    thread: Option<JoinHandle<()>>,
}

/// Every configured channel. Without any, every call is a no-op.
pub struct Notifier {
    channels: Vec<Channel>,
    warn: Warn,
}

impl Notifier {
    /// Builds the configured channels (addresses parsed, the password read,
    /// TLS set up) without sending anything or starting a thread: a channel
    /// that cannot work stops the start, before anything changes.
    pub fn new(
        settings: &NotifySettings,
        server: &str,
        warn: Warn,
    ) -> Result<Notifier, NotifyError> {
        let mut channels = Vec::new();
        if let Some(mail) = &settings.mail {
            let digest = mail.digest.map(DigestBook::new);
            let sink = Mailer::new(mail, server)?;
            channels.push(Channel::new(
                "mail",
                &mail.channel,
                Box::new(sink),
                digest,
                warn,
            ));
        }
        if let Some(hook) = &settings.webhook {
            let sink = Webhook::new(hook, server)?;
            channels.push(Channel::new(
                "webhook",
                &hook.channel,
                Box::new(sink),
                None,
                warn,
            ));
        }
        Ok(Notifier { channels, warn })
    }

    /// No channel at all.
    pub fn disabled() -> Notifier {
        Notifier {
            channels: Vec::new(),
            warn: |_| {},
        }
    }

    /// Starts each channel's thread. Events pushed before are kept.
    pub fn start(&mut self) {
        for channel in &mut self.channels {
            let Some(worker) = channel.worker.take() else {
                continue;
            };
            let spawned = std::thread::Builder::new()
                .name(format!("notify {}", channel.name))
                .spawn(move || worker.run());
            match spawned {
                Ok(thread) => channel.thread = Some(thread),
                Err(e) => (self.warn)(&format!(
                    "notify {}: cannot start its thread: {e}",
                    channel.name
                )),
            }
        }
    }

    /// Whether any channel reports events of `kind` (so the caller can skip
    /// building them).
    pub fn wants(&self, kind: EventKind) -> bool {
        self.channels
            .iter()
            .any(|c| c.settings.events.contains(&kind))
    }

    /// Queues `event` on every channel that reports it. Never waits for
    /// the network: a full queue drops its oldest message.
    pub fn push(&self, event: Event) {
        for channel in &self.channels {
            let settings = &channel.settings;
            let jail_ok = settings
                .jails
                .as_ref()
                .is_none_or(|jails| jails.iter().any(|j| j == event.jail()));
            if !jail_ok || !settings.events.contains(&event.kind()) {
                continue;
            }
            if let Some(n) = channel.queue.push(event.clone()) {
                if n.is_power_of_two() {
                    (self.warn)(&format!(
                        "notify {}: {} messages behind; the oldest dropped ({n} so far; \
                         bans are in force regardless)",
                        channel.name, settings.queue
                    ));
                }
            }
        }
    }

    pub fn status(&self) -> Vec<ChannelStatus> {
        self.channels
            .iter()
            .map(|c| {
                let counters = &c.queue.counters;
                ChannelStatus {
                    channel: c.name.to_owned(),
                    queued: c.queue.len(),
                    sent: counters.sent.load(Ordering::Relaxed),
                    failed: counters.failed.load(Ordering::Relaxed),
                    dropped: counters.dropped.load(Ordering::Relaxed),
                    last_error: counters
                        .last_error
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone(),
                }
            })
            .collect()
    }

    /// Sends what is queued (one attempt each, a pending digest included)
    /// for at most `wait`, then returns; a thread still talking to a hung
    /// server is left to its timeout.
    pub fn shutdown(mut self, wait: Duration) {
        for channel in &self.channels {
            channel.queue.close();
        }
        let deadline = Instant::now() + wait;
        for channel in &mut self.channels {
            let Some(thread) = channel.thread.take() else {
                continue;
            };
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                (self.warn)(&format!(
                    "notify {}: {} message(s) not sent at shutdown",
                    channel.name,
                    channel.queue.len() + 1
                ));
            }
        }
    }
}

impl Channel {
    fn new(
        name: &'static str,
        settings: &ChannelSettings,
        sink: Box<dyn Sink>,
        digest: Option<DigestBook>,
        warn: Warn,
    ) -> Channel {
        let queue = Arc::new(Queue::new(settings.queue));
        let worker = Worker {
            name,
            queue: queue.clone(),
            sink,
            digest,
            retries: settings.retries,
            warn,
        };
        Channel {
            name,
            settings: settings.clone(),
            queue,
            worker: Some(worker),
            thread: None,
        }
    }
}

impl Drop for Notifier {
    /// Dropped without [`Notifier::shutdown`] (a reload replacing it): the
    /// threads finish their queue in the background.
    fn drop(&mut self) {
        for channel in &self.channels {
            channel.queue.close();
        }
    }
}
