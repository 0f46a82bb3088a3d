//! Standard input, for real: the test binary runs itself as a child with
//! a pipe on its stdin.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use bantam_source::{StdinSource, MAX_LINE_BYTES};
use common::R;

const CHILD: &str = "BANTAM_SOURCE_STDIN_CHILD";

/// Only does something in the child: echoes every line read from stdin as
/// `GOT <line>`, dropped over-long lines as `DROPPED <count>`, then `END`.
#[test]
fn stdin_child() -> R {
    if std::env::var_os(CHILD).is_none() {
        return Ok(());
    }
    let rt = common::runtime()?;
    rt.block_on(async {
        let mut src = StdinSource::stdin();
        let mut out = std::io::stdout().lock();
        // The harness may have printed "test stdin_child ... " already.
        writeln!(out)?;
        while let Some(batch) = src.next_batch().await? {
            for l in batch.lines() {
                writeln!(out, "GOT {}", String::from_utf8_lossy(l))?;
            }
            if batch.dropped_long > 0 {
                writeln!(out, "DROPPED {}", batch.dropped_long)?;
            }
        }
        writeln!(out, "END")?;
        Ok(())
    })
}

#[test]
fn stdin_lines_until_eof() -> R {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--exact", "stdin_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    {
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        for i in 0..500 {
            writeln!(stdin, "line {i}")?;
        }
        // An unterminated last line, then EOF.
        write!(stdin, "last")?;
    }
    let out = child.wait_with_output()?;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    let got: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("GOT "))
        .collect();
    let want: Vec<String> = (0..500)
        .map(|i| format!("line {i}"))
        .chain(["last".to_owned()])
        .collect();
    assert_eq!(got, want);
    assert!(text.lines().any(|l| l == "END"));
    Ok(())
}

#[test]
fn stdin_drops_an_overlong_line_whole() -> R {
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--exact", "stdin_child", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    // The pipe holds 64 KiB and the child reads while we write: a thread.
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut long = vec![b'a'; MAX_LINE_BYTES];
        long.extend_from_slice(b"Failed password for root from 192.0.2.9 port 22");
        long.resize(3 * MAX_LINE_BYTES, b'b');
        stdin.write_all(&long)?;
        stdin.write_all(b"\nnormal line\n")
    });
    let out = child.wait_with_output()?;
    writer.join().map_err(|_| "writer panicked")??;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout)?;
    let got: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("GOT "))
        .collect();
    assert_eq!(got, ["normal line"]);
    let dropped: u64 = text
        .lines()
        .filter_map(|l| l.strip_prefix("DROPPED "))
        .map(str::parse::<u64>)
        .sum::<Result<u64, _>>()?;
    assert_eq!(dropped, 1);
    Ok(())
}
