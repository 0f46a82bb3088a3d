//! `unban --all` lifts at once and answers once the store has moved the
//! bans; the loop bans meanwhile, and what it bans stays.

use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use crate::daemon::tests::{batch, failure, harness, jail, Harness};

/// A harness whose sshd jail has banned `n` addresses of 198.18.0.0/15.
async fn banned(n: u32) -> (Harness, u64) {
    let mut h = harness(&jail("sshd", "-", 1));
    let id = h.reader("-");
    let text: String = (0..n)
        .map(|i| failure(&format!("198.18.{}.{}", i >> 8, i & 255)))
        .collect();
    h.daemon.on_lines(id, batch("-", &text).await);
    h.daemon.recorder.settle();
    assert_eq!(h.kernel().len(), n as usize);
    (h, id)
}

/// The firewall and the book are empty at once; the store's part is a
/// job of the writer's, and the answer waits for it (only the loop sends
/// it, after the job is back). A ban earned meanwhile is written after
/// the move, so it is still there.
#[tokio::test]
async fn the_answer_waits_for_the_store_and_bans_earned_meanwhile_stay() {
    let (mut h, id) = banned(300).await;
    let (reply, mut answer) = oneshot::channel();
    h.daemon.unban_all_parked(reply);
    assert!(h.kernel().is_empty(), "lifted at once");
    assert!(h.daemon.bans.is_empty());
    assert!(answer.try_recv().is_err(), "not before the store's move");

    h.daemon
        .on_lines(id, batch("-", &failure("192.0.2.9")).await);
    assert_eq!(
        h.kernel(),
        ["192.0.2.9"],
        "banned while the move is in flight"
    );

    h.daemon.recorder.settle();
    h.daemon.answer_unban_all();
    let answer = answer.try_recv().expect("answered once the job is back");
    assert!(answer.ok, "{answer:?}");
    assert_eq!(h.stored(), 1, "the meanwhile ban is in the store");
    assert_eq!(h.kernel(), ["192.0.2.9"]);
}

/// A store that cannot take the move (a full disk) makes the answer an
/// error that names it; the firewall is lifted all the same.
#[tokio::test]
async fn a_store_that_refuses_the_move_is_named_in_the_answer() {
    let (mut h, _) = banned(100).await;
    h.full.store(true, Ordering::SeqCst);
    let (reply, mut answer) = oneshot::channel();
    h.daemon.unban_all_parked(reply);
    assert!(h.kernel().is_empty());
    h.daemon.recorder.settle();
    h.daemon.answer_unban_all();
    let answer = answer.try_recv().expect("answered");
    let error = answer.error.expect("an error");
    assert!(error.starts_with("store: "), "{error}");
    assert!(error.contains("No space left"), "{error}");
}
