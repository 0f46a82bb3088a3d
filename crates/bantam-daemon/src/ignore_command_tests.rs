//! `ignorecommand` with real programs: answers decide, are remembered,
//! and a hanging program holds up only its own address.

use std::time::{Duration, Instant};

use crate::daemon::tests::{batch, failure, harness, jail};

/// A jail whose ignorecommand runs `script` with the address as `$1`.
fn with_command(script: &str, timeout: &str) -> String {
    format!(
        "{}ignorecommand = [\"/bin/sh\", \"-c\", {script:?}, \"sh\", \"<ip>\"]\nignorecommand-timeout = \"{timeout}\"\n",
        jail("sshd", "-", 1)
    )
}

#[tokio::test]
async fn exit_0_spares_the_address_and_the_answer_is_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let runs = dir.path().join("runs");
    let script = format!("echo \"$1\" >> {}; test \"$1\" = 192.0.2.5", runs.display());
    let mut h = harness(&with_command(&script, "5s"));
    let id = h.reader("-");
    let text = failure("192.0.2.5") + &failure("192.0.2.6");
    h.daemon.on_lines(id, batch("-", &text).await);
    // Both wait for their answers: nothing banned yet.
    assert!(h.kernel().is_empty());
    h.pump_answer().await;
    h.pump_answer().await;
    assert_eq!(h.kernel(), ["192.0.2.6"]);
    // Asked again within the TTL: the remembered answer, no new run.
    h.daemon
        .on_lines(id, batch("-", &failure("192.0.2.5")).await);
    assert_eq!(h.kernel(), ["192.0.2.6"]);
    let runs = std::fs::read_to_string(&runs).unwrap();
    assert_eq!(runs.lines().count(), 2, "{runs}");
}

#[tokio::test]
async fn a_hanging_command_delays_only_its_own_address_and_then_it_is_banned() {
    let script = "if [ \"$1\" = 192.0.2.7 ]; then sleep 30; fi; exit 1";
    let mut h = harness(&with_command(script, "1s"));
    let id = h.reader("-");
    let started = Instant::now();
    let text = failure("192.0.2.7") + &failure("192.0.2.8");
    h.daemon.on_lines(id, batch("-", &text).await);
    h.pump_answer().await;
    assert_eq!(h.kernel(), ["192.0.2.8"]);
    // The hung one is killed at its timeout and banned: a broken helper
    // never shields an attacker.
    h.pump_answer().await;
    assert_eq!(h.kernel(), ["192.0.2.7", "192.0.2.8"]);
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(10), "{waited:?}");
}

#[tokio::test]
async fn a_program_that_cannot_start_means_ban() {
    let mut text = jail("sshd", "-", 1);
    text.push_str("ignorecommand = [\"/nonexistent/is-office\", \"<ip>\"]\n");
    let mut h = harness(&text);
    let id = h.reader("-");
    h.daemon
        .on_lines(id, batch("-", &failure("192.0.2.9")).await);
    h.pump_answer().await;
    assert_eq!(h.kernel(), ["192.0.2.9"]);
}
