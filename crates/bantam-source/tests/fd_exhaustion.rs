//! Out of file descriptors in the middle of a rotation: the source reports
//! the failure (naming the path and the operation), and once descriptors
//! are free again, the next call picks up where it stopped: no line lost,
//! none repeated. Alone in its binary: it exhausts the process's
//! descriptors, which would make any test running beside it fail.

mod common;

use std::fs::{self, File};
use std::io::Write;
use std::time::Duration;

use bantam_source::{FileSource, SourceState, StartAt};
use common::{append, assert_quiet, collect, line, runtime, Seen, R};

/// Opens `/dev/null` until the process is out of descriptors.
fn exhaust_descriptors() -> Result<Vec<File>, Box<dyn std::error::Error>> {
    let mut held = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => held.push(f),
            Err(e) if e.raw_os_error() == Some(libc::EMFILE) => return Ok(held),
            Err(e) => return Err(e.into()),
        }
    }
}

fn write(f: &mut File, tag: &str, seqs: std::ops::Range<u64>) -> std::io::Result<()> {
    for s in seqs {
        f.write_all(line(tag, s, 10).as_bytes())?;
    }
    Ok(())
}

#[test]
fn rotation_while_out_of_descriptors_recovers_without_loss() -> R {
    // A low limit, so that exhausting it is quick.
    let limit = libc::rlimit {
        rlim_cur: 256,
        rlim_max: 256,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    let dir = tempfile::tempdir()?;
    let log = dir.path().join("auth.log");
    let mut old = append(&log)?;
    write(&mut old, "a", 0..10)?;
    let mut src = FileSource::new(&log.to_string_lossy(), StartAt::Beginning, &[])?;
    let rt = runtime()?;
    let mut seen = Seen::default();
    rt.block_on(collect(&mut src, &mut seen, 10, Duration::from_secs(10)))?;

    // logrotate's rename + create; the service writes on to the old file,
    // then reopens and writes to the new one.
    fs::rename(&log, dir.path().join("auth.log.1"))?;
    let mut new = File::create(&log)?;
    write(&mut old, "a", 10..15)?;
    write(&mut new, "b", 0..5)?;
    let held = exhaust_descriptors()?;
    eprintln!("holding {} descriptors", held.len());

    let err = rt.block_on(async {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), src.next_batch()).await {
                Ok(Ok(batch)) => seen.add(&batch),
                Ok(Err(e)) => return Ok(e),
                Err(_) => return Err("no error while out of descriptors"),
            }
        }
    })?;
    let text = err.to_string();
    eprintln!("{text}");
    assert!(
        text.starts_with(&format!("cannot open {}: ", log.display())),
        "{text}"
    );
    assert_eq!(err.path(), Some(log.as_path()));
    assert!(
        matches!(src.state(), SourceState::Waiting { reason } if reason == text),
        "{:?}",
        src.state()
    );

    // The daemon's back-off: descriptors get freed, it calls again.
    drop(held);
    rt.block_on(collect(&mut src, &mut seen, 20, Duration::from_secs(10)))?;
    rt.block_on(assert_quiet(&mut src, Duration::from_millis(300)));
    seen.assert_exact("a", 15);
    seen.assert_exact("b", 5);
    assert_eq!(src.state(), SourceState::Following);
    assert_eq!(src.checkpoints().len(), 1);
    Ok(())
}
