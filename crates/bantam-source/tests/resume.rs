//! Restarts: a source started from the checkpoints of the previous one
//! reads exactly the lines that one did not hand out, also when the file
//! was rotated in between.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bantam_source::{Checkpoint, FileSource, StartAt};
use common::{append, assert_quiet, collect, line, runtime, Seen, R};

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(150);

fn write_lines(path: &Path, tag: &str, seqs: std::ops::Range<u64>) -> std::io::Result<()> {
    let mut f = append(path)?;
    for s in seqs {
        f.write_all(line(tag, s, 10).as_bytes())?;
    }
    Ok(())
}

/// Runs a source until it handed out `want` lines and then stays quiet;
/// returns what it saw and the checkpoints of its last batches, as the
/// daemon would have stored them.
fn run_source(
    pattern: &str,
    start: StartAt,
    cps: &[Checkpoint],
    want: usize,
) -> Result<(Seen, Vec<Checkpoint>), Box<dyn std::error::Error>> {
    let rt = runtime()?;
    let mut src = FileSource::new(pattern, start, cps)?;
    let mut seen = Seen::default();
    let mut stored = std::collections::BTreeMap::new();
    rt.block_on(async {
        let result = tokio::time::timeout(WAIT, async {
            while seen.total < want {
                let batch = src.next_batch().await?;
                seen.add(&batch);
                if let Some(cp) = &batch.checkpoint {
                    stored.insert(cp.path.clone(), cp.clone());
                }
            }
            Ok::<_, bantam_source::SourceError>(())
        })
        .await;
        match result {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!("timed out with {} of {want} lines", seen.total)),
        }?;
        assert_quiet(&mut src, QUIET).await;
        Ok::<_, String>(())
    })?;
    // A clean shutdown's view agrees with the last batches'.
    for cp in src.checkpoints() {
        assert_eq!(
            stored.get(&cp.path),
            Some(&cp),
            "checkpoints() and the last batch disagree"
        );
    }
    Ok((seen, stored.into_values().collect()))
}

#[test]
fn restart_reads_only_new_lines() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    let pattern = log.display().to_string();
    write_lines(&log, "a", 0..10)?;
    let (seen, cps) = run_source(&pattern, StartAt::Beginning, &[], 10)?;
    seen.assert_exact("a", 10);

    write_lines(&log, "a", 10..25)?;
    let (seen, _) = run_source(&pattern, StartAt::Beginning, &cps, 15)?;
    assert_eq!(seen.by_tag["a"], (10..25).collect::<Vec<_>>());
    Ok(())
}

#[test]
fn partial_line_at_stop_is_read_whole_after_restart() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    let pattern = log.display().to_string();
    write_lines(&log, "a", 0..3)?;
    let l3 = line("a", 3, 30);
    append(&log)?.write_all(&l3.as_bytes()[..20])?;
    let (seen, cps) = run_source(&pattern, StartAt::Beginning, &[], 3)?;
    seen.assert_exact("a", 3);

    append(&log)?.write_all(&l3.as_bytes()[20..])?;
    let (seen, _) = run_source(&pattern, StartAt::Beginning, &cps, 1)?;
    assert_eq!(seen.by_tag["a"], [3]);
    Ok(())
}

#[test]
fn rename_create_while_down_loses_and_repeats_nothing() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    let pattern = log.display().to_string();
    write_lines(&log, "a", 0..10)?;
    let (_, cps) = run_source(&pattern, StartAt::Beginning, &[], 10)?;

    // While down: more lines, then logrotate, then the service's new lines.
    write_lines(&log, "a", 10..20)?;
    fs::rename(&log, dir.path().join("auth.log.1"))?;
    write_lines(&log, "a", 20..30)?;
    let (seen, _) = run_source(&pattern, StartAt::End, &cps, 20)?;
    assert_eq!(seen.by_tag["a"], (10..30).collect::<Vec<_>>());
    Ok(())
}

#[test]
fn copytruncate_while_down_loses_and_repeats_nothing() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    let pattern = log.display().to_string();
    write_lines(&log, "a", 0..10)?;
    let (_, cps) = run_source(&pattern, StartAt::Beginning, &[], 10)?;

    write_lines(&log, "a", 10..20)?;
    fs::copy(&log, dir.path().join("auth.log-20240101"))?;
    fs::OpenOptions::new().write(true).open(&log)?.set_len(0)?;
    // More than before, so only the first line tells it was truncated.
    write_lines(&log, "a", 20..60)?;
    let (seen, _) = run_source(&pattern, StartAt::End, &cps, 40)?;
    assert_eq!(seen.by_tag["a"], (10..60).collect::<Vec<_>>());
    Ok(())
}

#[test]
fn delete_recreate_while_down_reads_the_new_file_from_its_start() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    let pattern = log.display().to_string();
    write_lines(&log, "a", 0..10)?;
    let (_, cps) = run_source(&pattern, StartAt::Beginning, &[], 10)?;

    fs::remove_file(&log)?;
    // Very likely the same inode number again: the fingerprint tells.
    write_lines(&log, "b", 0..30)?;
    let (seen, _) = run_source(&pattern, StartAt::End, &cps, 30)?;
    seen.assert_exact("b", 30);
    Ok(())
}

#[test]
fn rotated_while_down_before_the_new_file_exists() -> R {
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    let pattern = log.display().to_string();
    write_lines(&log, "a", 0..5)?;
    let (_, cps) = run_source(&pattern, StartAt::Beginning, &[], 5)?;

    write_lines(&log, "a", 5..8)?;
    fs::rename(&log, dir.path().join("auth.log.1"))?;
    // Start with no auth.log at all: the old generation is still read.
    let rt = runtime()?;
    let mut src = FileSource::new(&pattern, StartAt::End, &cps)?;
    let mut seen = Seen::default();
    rt.block_on(async {
        collect(&mut src, &mut seen, 3, WAIT).await?;
        write_lines(&log, "a", 8..12).map_err(|e| e.to_string())?;
        collect(&mut src, &mut seen, 7, WAIT).await?;
        assert_quiet(&mut src, QUIET).await;
        Ok::<_, String>(())
    })?;
    assert_eq!(seen.by_tag["a"], (5..12).collect::<Vec<_>>());
    Ok(())
}

#[test]
fn start_policy_applies_to_files_without_checkpoint_only() -> R {
    let dir = tempfile::tempdir()?;
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    let pattern = format!("{}/*.log", dir.path().display());
    write_lines(&a, "a", 0..5)?;
    let (_, cps) = run_source(&pattern, StartAt::Beginning, &[], 5)?;

    write_lines(&a, "a", 5..7)?;
    write_lines(&b, "b", 0..4)?; // existed before the start, no checkpoint
    let rt = runtime()?;
    let mut src = FileSource::new(&pattern, StartAt::End, &cps)?;
    let mut seen = Seen::default();
    rt.block_on(async {
        collect(&mut src, &mut seen, 2, WAIT).await?;
        write_lines(&b, "b", 4..6).map_err(|e| e.to_string())?;
        let c = dir.path().join("c.log"); // appears later: read whole
        write_lines(&c, "c", 0..3).map_err(|e| e.to_string())?;
        collect(&mut src, &mut seen, 7, WAIT).await?;
        assert_quiet(&mut src, QUIET).await;
        Ok::<_, String>(())
    })?;
    assert_eq!(seen.by_tag["a"], [5, 6]);
    assert_eq!(seen.by_tag["b"], [4, 5]);
    seen.assert_exact("c", 3);
    Ok(())
}
