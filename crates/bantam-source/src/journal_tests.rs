//! The journal source against real journal files, written by
//! `systemd-journal-remote` (Debian `systemd-journal-remote`) and read by
//! the real journalctl.

use super::*;
use std::io::Write;
use std::process::{Command, Stdio};

type R = Result<(), Box<dyn std::error::Error>>;

const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// Appends entries (unit, message) to DIR/remote.journal.
fn append(dir: &Path, entries: &[(&str, &str)]) -> std::io::Result<()> {
    let mut export = String::new();
    for (unit, message) in entries {
        let now = crate::stamp::now_us();
        export.push_str(&format!(
            "__REALTIME_TIMESTAMP={now}\n_HOSTNAME=web1\nSYSLOG_IDENTIFIER=sshd\n_PID=4242\n\
             _SYSTEMD_UNIT={unit}\nMESSAGE={message}\n\n"
        ));
    }
    let mut child = Command::new(JOURNAL_REMOTE)
        .arg(format!("--output={}", dir.join("remote.journal").display()))
        .arg("-")
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or_else(|| std::io::Error::other("no stdin"))?
        .write_all(export.as_bytes())?;
    let status = child.wait()?;
    if !status.success() {
        return Err(std::io::Error::other(format!("journal-remote: {status}")));
    }
    Ok(())
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
}

/// Reads batches until `n` lines came; returns them and the last
/// checkpoint.
async fn read_lines(
    src: &mut JournalSource,
    n: usize,
) -> Result<(Vec<(String, LineMeta)>, Option<Checkpoint>), SourceError> {
    let mut lines = Vec::new();
    let mut checkpoint = None;
    while lines.len() < n {
        let batch = src.next_batch().await?;
        for (line, meta) in batch.lines_with_meta() {
            let meta = meta.cloned().unwrap_or_default();
            lines.push((String::from_utf8_lossy(line).into_owned(), meta));
        }
        checkpoint = batch.checkpoint.or(checkpoint);
    }
    Ok((lines, checkpoint))
}

fn needs_journal_remote() -> bool {
    if Path::new(JOURNAL_REMOTE).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{JOURNAL_REMOTE} missing (Debian package systemd-journal-remote)"
    );
    eprintln!("skipping: {JOURNAL_REMOTE} missing");
    false
}

#[test]
fn unit_match_follow_and_resume_from_the_cursor() -> R {
    if !needs_journal_remote() {
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    append(
        dir.path(),
        &[
            (
                "ssh.service",
                "Failed password for root from 192.0.2.1 port 22 ssh2",
            ),
            (
                "cron.service",
                "Failed password for root from 192.0.2.99 port 22 ssh2",
            ),
            (
                "ssh.service",
                "Failed password for root from 192.0.2.2 port 22 ssh2",
            ),
        ],
    )?;
    let logpath = "journal:_SYSTEMD_UNIT=ssh.service";
    let rt = runtime()?;
    let checkpoint = rt.block_on(async {
        let mut src = JournalSource::new(logpath, Some(dir.path()), &[])?;
        let (lines, _) = read_lines(&mut src, 2).await?;
        assert!(
            lines[0].0.ends_with(
                " web1 sshd[4242]: Failed password for root from 192.0.2.1 port 22 ssh2"
            ),
            "{}",
            lines[0].0
        );
        assert!(lines[1].0.contains("192.0.2.2"));
        let meta = &lines[0].1;
        assert_eq!(meta.field("_SYSTEMD_UNIT"), Some("ssh.service"));
        assert_eq!(meta.field("_PID"), Some("4242"));
        assert!(meta.realtime_us.is_some_and(|t| t > 1_700_000_000_000_000));
        // Appended while we follow.
        append(
            dir.path(),
            &[(
                "ssh.service",
                "Failed password for root from 192.0.2.3 port 22 ssh2",
            )],
        )?;
        let (lines, checkpoint) = read_lines(&mut src, 1).await?;
        assert_eq!(lines.len(), 1);
        assert!(lines[0].0.contains("192.0.2.3"));
        Ok::<_, Box<dyn std::error::Error>>(checkpoint.ok_or("no checkpoint")?)
    })?;
    assert_eq!(checkpoint.path, Path::new(logpath));
    // Written while we were down; then a restart from the checkpoint.
    append(
        dir.path(),
        &[
            (
                "cron.service",
                "Failed password for root from 192.0.2.98 port 22 ssh2",
            ),
            (
                "ssh.service",
                "Failed password for root from 192.0.2.4 port 22 ssh2",
            ),
        ],
    )?;
    rt.block_on(async {
        let mut src = JournalSource::new(logpath, Some(dir.path()), &[checkpoint])?;
        let (lines, _) = read_lines(&mut src, 1).await?;
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].0.contains("192.0.2.4"), "{}", lines[0].0);
        Ok(())
    })
}

#[test]
fn journalctl_exit_is_reported_and_restarted() -> R {
    let dir = tempfile::tempdir()?;
    let rt = runtime()?;
    rt.block_on(async {
        let mut src = JournalSource::new("journal:SYSLOG_IDENTIFIER=sshd", Some(dir.path()), &[])?;
        // A journalctl that cannot follow (here: not journalctl at all).
        src.journalctl = PathBuf::from("false");
        let err = src.next_batch().await.err().ok_or("no error")?;
        assert!(
            err.to_string().contains("journalctl exited with status 1"),
            "{err}"
        );
        assert!(matches!(src.state(), SourceState::Waiting { .. }));
        Ok(())
    })
}

#[test]
fn matches_and_cursors() {
    assert_eq!(
        parse_journal_matches("_SYSTEMD_UNIT=ssh.service + SYSLOG_IDENTIFIER=sshd").unwrap(),
        ["_SYSTEMD_UNIT=ssh.service", "+", "SYSLOG_IDENTIFIER=sshd"]
    );
    assert!(parse_journal_matches("").unwrap_err().contains("no match"));
    assert!(parse_journal_matches("unit=x")
        .unwrap_err()
        .contains("\"unit\""));
    assert!(parse_journal_matches("ssh.service")
        .unwrap_err()
        .contains("FIELD=VALUE"));
    assert!(parse_journal_matches("A=1 +")
        .unwrap_err()
        .contains("between"));
    let cursor = "s=2b765914832a4389a3424457ee346e55;i=1f;b=00;m=0;t=661ba766e5e97;x=a6";
    let cp = checkpoint_of(Path::new("journal:A=1"), cursor).unwrap();
    assert_eq!(
        cursor_of(&cp),
        "s=2b765914832a4389a3424457ee346e55;i=1f;t=661ba766e5e97"
    );
    assert_eq!(checkpoint_of(Path::new("x"), "garbage"), None);
}
