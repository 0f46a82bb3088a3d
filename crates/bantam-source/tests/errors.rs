//! What is an error at start, and what is not.

mod common;

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

use bantam_source::{FileSource, SourceError, SourceState, StartAt};
use common::{collect, line, runtime, Seen, R};

/// A missing directory used to be an error at start; now it is waited for
/// (see `waiting.rs`), and the state names what is missing.
#[test]
fn missing_directory_is_waited_for_naming_it() -> R {
    let src = FileSource::new("/nonexistent-bantam/nginx/*.log", StartAt::End, &[])?;
    assert_eq!(
        src.state(),
        SourceState::Waiting {
            reason: "no such file or directory: /nonexistent-bantam".into()
        }
    );
    assert!(src.checkpoints().is_empty());
    Ok(())
}

#[test]
fn directory_that_is_a_file_is_an_error_naming_it() -> R {
    let file = tempfile::NamedTempFile::new()?;
    let pattern = format!("{}/x/*.log", file.path().display());
    let err = FileSource::new(&pattern, StartAt::End, &[]).err();
    assert!(
        matches!(err, Some(SourceError::WrongKind { .. })),
        "{err:?}"
    );
    assert_eq!(
        err.and_then(|e| e.path().map(|p| p.to_path_buf())),
        Some(file.path().join("x"))
    );
    Ok(())
}

#[test]
fn wildcard_directory_is_refused() {
    let err = FileSource::new("/var/log/*/access.log", StartAt::End, &[]).err();
    assert!(matches!(err, Some(SourceError::Pattern { .. })), "{err:?}");
}

#[test]
fn glob_matching_nothing_yet_follows_files_created_later() -> R {
    let dir = tempfile::tempdir()?;
    let pattern = format!("{}/*.log", dir.path().display());
    let mut src = FileSource::new(&pattern, StartAt::End, &[])?;
    assert!(src.checkpoints().is_empty());
    let rt = runtime()?;
    let mut seen = Seen::default();
    rt.block_on(async {
        // Not matching: ignored.
        std::fs::write(dir.path().join("notes.txt"), line("x", 0, 1)).map_err(|e| e.to_string())?;
        // Created after the start: read from its first line, StartAt::End
        // notwithstanding (everything in it is new).
        let mut f =
            std::fs::File::create(dir.path().join("site.log")).map_err(|e| e.to_string())?;
        for s in 0..5 {
            f.write_all(line("s", s, 1).as_bytes())
                .map_err(|e| e.to_string())?;
        }
        collect(&mut src, &mut seen, 5, Duration::from_secs(10)).await
    })?;
    seen.assert_exact("s", 5);
    assert!(!seen.by_tag.contains_key("x"));
    assert_eq!(src.checkpoints().len(), 1);
    Ok(())
}

const CHILD: &str = "BANTAM_SOURCE_UNREADABLE_CHILD";

/// Runs in a child without root's powers (see below): prints the error.
#[test]
fn unreadable_child() {
    if let Some(pattern) = std::env::var_os(CHILD) {
        match FileSource::new(&pattern.to_string_lossy(), StartAt::End, &[]) {
            Ok(_) => println!("RESULT ok"),
            Err(e) => println!("RESULT {e}"),
        }
    }
}

#[test]
fn unreadable_file_at_start_is_an_error_naming_it() -> R {
    let dir = tempfile::tempdir()?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))?;
    let log = dir.path().join("auth.log");
    std::fs::write(&log, "secret\n")?;
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o000))?;
    let pattern = format!("{}/*.log", dir.path().display());

    // SAFETY: getuid has no preconditions.
    let root = unsafe { libc::getuid() } == 0;
    let text = if root {
        // Root reads anything: check as `nobody`, from a copy of this test
        // binary that `nobody` may execute.
        let exe = dir.path().join("test-bin");
        std::fs::copy(std::env::current_exe()?, &exe)?;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755))?;
        let out = Command::new(&exe)
            .args([
                "--exact",
                "unreadable_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, &pattern)
            .uid(65534)
            .gid(65534)
            .output()?;
        String::from_utf8(out.stdout.clone())?
            .lines()
            .find_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_owned()))
            .ok_or_else(|| format!("child printed no result: {out:?}"))?
    } else {
        match FileSource::new(&pattern, StartAt::End, &[]) {
            Ok(_) => "ok".to_owned(),
            Err(e) => e.to_string(),
        }
    };
    assert_eq!(
        text,
        format!(
            "cannot open {}: Permission denied (os error 13)",
            log.display()
        )
    );
    Ok(())
}
