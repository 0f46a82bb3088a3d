//! `banned`, paged: the loop lists one page of at most [`PAGE`] bans per
//! turn ([`page`]); the connection's task asks for page after page and
//! writes each out before asking for the next ([`stream`]).
//!
//! So a listing of 100,000 bans costs the loop many short turns with other
//! events served in between, a connection holds one page in memory, and a
//! client that reads slowly fills its own socket buffer and stalls only its
//! own task. Pages follow (jail, target) order and resume after the last
//! key sent, so bans lifted or added meanwhile never make a page repeat or
//! skip the bans that stayed.
//!
//! On the wire (JSON lines):
//!
//! ```text
//! → {"command":"banned","after":{"jail":"sshd","target":"192.0.2.1"},"limit":1000}
//! ← {"protocol":1,"ok":true,"data":{"stream":"bans"}}
//! ← {"jail":"sshd","target":"192.0.2.7","start":"…","end":"…","failures":5,"ban_count":1}
//! ← … one line per ban …
//! ← {"protocol":1,"ok":true,"data":{"count":2,"next":null}}
//! ```
//!
//! A refusal before the list starts is the usual single error line; the
//! last line is always a response (it has `ok`), ban lines never are. No
//! last line means the list was cut short.

use std::time::Duration;

use bantam_firewall::Target;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc;

use crate::bans::{ActiveBan, BanBook};
use crate::control::protocol::{BanInfo, BanKey, BanListEnd, BanPage, Request, Response, PAGE};
use crate::control::server::{ask, reply};
use crate::daemon::Event;

/// On the loop: at most `limit` (and [`PAGE`]) bans after `after`, of
/// one jail's when `jail` is given.
pub(crate) fn page_of(
    book: &BanBook,
    jail: Option<&str>,
    after: Option<&BanKey>,
    limit: Option<usize>,
    flags: &dyn Fn(&ActiveBan) -> (bool, bool),
) -> Response {
    match jail {
        None => page(book, after, limit, flags),
        Some(jail) => {
            // A cursor from another jail (there is none in a one-jail
            // listing) starts the jail from its beginning.
            let after = after.filter(|key| key.jail == jail);
            let from = BanKey {
                jail: jail.to_owned(),
                target: String::new(),
            };
            let mut response = page(book, Some(after.unwrap_or(&from)), limit, flags);
            if let Some(page) = &mut response.page {
                let before = page.bans.len();
                page.bans.retain(|b| b.jail == jail);
                if page.bans.len() < before {
                    page.next = None;
                }
            }
            response
        }
    }
}

/// On the loop: at most `limit` (and [`PAGE`]) bans after `after`.
/// `flags` says whether a ban's address is trusted and whether it is
/// extended while knocking.
pub(crate) fn page(
    book: &BanBook,
    after: Option<&BanKey>,
    limit: Option<usize>,
    flags: &dyn Fn(&ActiveBan) -> (bool, bool),
) -> Response {
    let limit = limit.unwrap_or(PAGE).clamp(1, PAGE);
    let after = match after {
        None => None,
        // The start of a jail: before any of its targets.
        Some(key) if key.target.is_empty() => Some((key.jail.as_str(), None)),
        Some(key) => match key.target.parse::<Target>() {
            Ok(target) => Some((key.jail.as_str(), Some(target))),
            Err(e) => return Response::error(format!("after: target {:?}: {e}", key.target)),
        },
    };
    // One more than asked tells whether another page follows.
    let found = match &after {
        Some((jail, None)) => book.page_from(jail, limit + 1),
        Some((jail, Some(target))) => book.page(Some((jail, target)), limit + 1),
        None => book.page(None, limit + 1),
    };
    let more = found.len() > limit;
    let bans: Vec<BanInfo> = found
        .iter()
        .take(limit)
        .map(|ban| {
            let (trusted, knocking) = flags(ban);
            BanInfo {
                trusted,
                knocking,
                ..BanInfo::of(ban)
            }
        })
        .collect();
    let next = if more {
        bans.last().map(BanInfo::key)
    } else {
        None
    };
    Response::page(BanPage { bans, next })
}

/// In a connection's task: the whole answer to one `banned` request.
pub(crate) async fn stream(
    write: &mut OwnedWriteHalf,
    events: &mpsc::Sender<Event>,
    (after, limit, jail): (Option<BanKey>, Option<usize>, Option<String>),
    timeout: Duration,
) {
    if limit == Some(0) {
        reply(write, &Response::error("limit must be at least 1"), timeout).await;
        return;
    }
    let mut left = limit.unwrap_or(usize::MAX);
    let mut page = match next_page(events, &jail, after, left).await {
        Ok(page) => page,
        Err(refusal) => return reply(write, &refusal, timeout).await,
    };
    let header = Response::ok(serde_json::json!({ "stream": "bans" }));
    if !send(write, header.line(), timeout).await {
        return;
    }
    let mut count = 0;
    let end = loop {
        count += page.bans.len();
        left -= page.bans.len();
        if !send(write, lines(&page.bans), timeout).await {
            return;
        }
        let next = page.next.take();
        if next.is_none() || left == 0 {
            break Response::ok(BanListEnd { count, next });
        }
        page = match next_page(events, &jail, next, left).await {
            Ok(page) => page,
            Err(refusal) => break refusal,
        };
    };
    reply(write, &end, timeout).await;
}

async fn next_page(
    events: &mpsc::Sender<Event>,
    jail: &Option<String>,
    after: Option<BanKey>,
    left: usize,
) -> Result<BanPage, Response> {
    let request = Request::Banned {
        after,
        limit: Some(left.min(PAGE)),
        jail: jail.clone(),
    };
    let mut response = ask(events, request).await;
    match response.page.take() {
        Some(page) if response.ok => Ok(page),
        _ if !response.ok => Err(response),
        _ => Err(Response::error("the daemon answered a page without bans")),
    }
}

fn lines(bans: &[BanInfo]) -> Vec<u8> {
    let mut text = Vec::with_capacity(bans.len() * 128);
    for ban in bans {
        // Plain structs of strings and numbers: serializing cannot fail.
        let _ = serde_json::to_writer(&mut text, ban);
        text.push(b'\n');
    }
    text
}

/// Writes `bytes`; false if the client is gone or took longer than
/// `timeout` to make room for them.
async fn send(write: &mut OwnedWriteHalf, bytes: Vec<u8>, timeout: Duration) -> bool {
    matches!(
        tokio::time::timeout(timeout, write.write_all(&bytes)).await,
        Ok(Ok(()))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_flags(_: &ActiveBan) -> (bool, bool) {
        (false, false)
    }
    const NO_FLAGS: fn(&ActiveBan) -> (bool, bool) = no_flags;
    use crate::bans::ActiveBan;
    use bantam_state::BanRecord;

    fn book(n: u32) -> BanBook {
        let mut book = BanBook::default();
        for i in 0..n {
            let target: Target = format!("198.18.{}.{}", i / 256, i % 256).parse().unwrap();
            let start = jiff::Timestamp::from_second(1_700_000_000).unwrap();
            book.insert(ActiveBan {
                target,
                record: BanRecord {
                    jail: "sshd".into(),
                    target: target.to_string(),
                    start,
                    end: None,
                    failures: 3,
                    ban_count: 1,
                    matches: vec![],
                    reason: None,
                },
            });
        }
        book
    }

    #[test]
    fn pages_chain_through_the_whole_book() {
        let book = book(1_203);
        let (mut after, mut seen) = (None, Vec::new());
        loop {
            let page = page(&book, after.as_ref(), None, &NO_FLAGS).page.unwrap();
            assert!(page.bans.len() <= PAGE);
            seen.extend(page.bans.iter().map(|b| b.target.clone()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 1_203);
        let mut sorted = seen.clone();
        sorted.sort_by_key(|t| t.parse::<Target>().unwrap());
        sorted.dedup();
        assert_eq!(seen, sorted, "in order, no repeats");
    }

    #[test]
    fn the_last_page_says_so_and_limits_hold() {
        let book = book(10);
        let all = page(&book, None, Some(10), &NO_FLAGS).page.unwrap();
        assert_eq!((all.bans.len(), all.next), (10, None));
        let some = page(&book, None, Some(4), &NO_FLAGS).page.unwrap();
        assert_eq!(some.next.as_ref().unwrap().target, "198.18.0.3");
        assert_eq!(some.bans[0].start, "2023-11-14T22:13:20Z");
        let huge = page(&book, None, Some(usize::MAX), &NO_FLAGS).page.unwrap();
        assert_eq!(huge.bans.len(), 10);
        let bad = BanKey {
            jail: "sshd".into(),
            target: "nope".into(),
        };
        let refused = page(&book, Some(&bad), None, &NO_FLAGS);
        assert!(!refused.ok && refused.error.unwrap().contains("\"nope\""));
    }

    #[test]
    fn one_jail_pages_stay_in_the_jail() {
        let mut book = book(300);
        for (jail, target) in [("aaa", "192.0.2.1"), ("zzz", "192.0.2.2")] {
            let mut ban = book.iter().next().unwrap().clone();
            ban.target = target.parse().unwrap();
            ban.record.jail = jail.into();
            ban.record.target = target.into();
            book.insert(ban);
        }
        let (mut after, mut seen) = (None, 0);
        loop {
            let page = page_of(&book, Some("sshd"), after.as_ref(), None, &NO_FLAGS)
                .page
                .unwrap();
            assert!(page.bans.iter().all(|b| b.jail == "sshd"));
            seen += page.bans.len();
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, 300);
        let other = page_of(&book, Some("zzz"), None, None, &NO_FLAGS)
            .page
            .unwrap();
        assert_eq!((other.bans.len(), other.next), (1, None));
        let none = page_of(&book, Some("nope"), None, None, &NO_FLAGS)
            .page
            .unwrap();
        assert!(none.bans.is_empty() && none.next.is_none());
    }

    #[test]
    fn networks_and_v6_keys_round_trip_as_cursors() {
        for text in ["2001:db8::/48", "2001:db8::1", "192.0.2.0/24"] {
            let t: Target = text.parse().unwrap();
            assert_eq!(t.to_string().parse::<Target>().unwrap(), t, "{text}");
        }
    }
}
