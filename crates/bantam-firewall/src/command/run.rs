//! Running one command: `/bin/sh -c`, a clean environment, a time limit.
//!
//! * **Environment.** Only `PATH` and the action's `f2bV_*` values: the
//!   daemon's own environment (credentials, `LD_PRELOAD`, locale) is none of
//!   a command's business, and a fixed environment makes the behaviour the
//!   same under systemd and from a shell.
//! * **Time limit.** The command runs in a process group of its own, so on
//!   timeout the whole group is killed — the shell *and* whatever it started
//!   (`sleep`, a hung `curl`, a pipeline). A plain kill of the shell would
//!   leave those running and holding the action's locks.
//! * **Errors.** Standard error is captured (its start) for the error
//!   message; standard output is discarded, as fail2ban does.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::error::ActionProblem;

/// The search path commands get: the usual system directories, sbin first
/// because firewall tools live there.
const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// How much of standard error an error message keeps.
const STDERR_KEEP: usize = 4096;

/// After SIGTERM on timeout, how long the group gets before SIGKILL.
const GRACE: Duration = Duration::from_millis(500);

/// After the shell exits, how long we wait for standard error to close: a
/// background process it started may hold the pipe open for ever.
const STDERR_LINGER: Duration = Duration::from_millis(200);

/// Runs `script` with `/bin/sh -c` and the given extra environment.
pub(super) fn run(
    script: &str,
    env: &[(String, String)],
    timeout: Duration,
) -> Result<(), ActionProblem> {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", PATH)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        // A new group whose id is the shell's pid: killpg reaches all of it.
        .process_group(0);
    let mut child = command.spawn().map_err(ActionProblem::Spawn)?;
    let pgid = child.id() as libc::pid_t;

    let mut stderr_pipe = child.stderr.take().expect("stderr is piped");
    let (stderr_tx, stderr_rx) = mpsc::channel();
    thread::spawn(move || {
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        // Read to the end so the command never blocks on a full pipe, but
        // keep only the start.
        while let Ok(n) = stderr_pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            let room = STDERR_KEEP.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        let _ = stderr_tx.send(String::from_utf8_lossy(&kept).into_owned());
    });

    let (status_tx, status_rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = status_tx.send(child.wait());
    });

    let started = Instant::now();
    let status = match status_rx.recv_timeout(timeout) {
        Ok(status) => status,
        Err(_) => {
            kill_group(pgid, libc::SIGTERM);
            if status_rx.recv_timeout(GRACE).is_err() {
                kill_group(pgid, libc::SIGKILL);
                let _ = status_rx.recv();
            }
            // Anything left in the group holds no pipe we wait for: kill it.
            kill_group(pgid, libc::SIGKILL);
            let stderr = stderr_rx.recv_timeout(STDERR_LINGER).unwrap_or_default();
            return Err(ActionProblem::Timeout {
                after: started.elapsed().min(timeout),
                stderr,
            });
        }
    };
    let status = status.map_err(ActionProblem::Spawn)?;
    let stderr = stderr_rx.recv_timeout(STDERR_LINGER).unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    Err(ActionProblem::Failed {
        code: status.code(),
        signal: status.signal(),
        stderr,
    })
}

#[allow(unsafe_code)] // killpg has no safe wrapper in std
fn kill_group(pgid: libc::pid_t, signal: libc::c_int) {
    // SAFETY: killpg has no memory-safety preconditions; an already empty
    // group gives ESRCH, which is what we want to ignore.
    unsafe {
        libc::killpg(pgid, signal);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn success_and_failure_with_stderr() {
        run("true", &[], Duration::from_secs(5)).unwrap();
        match run("echo oops >&2; exit 3", &[], Duration::from_secs(5)) {
            Err(ActionProblem::Failed { code, stderr, .. }) => {
                assert_eq!(code, Some(3));
                assert_eq!(stderr, "oops\n");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn environment_is_clean() {
        let script = r#"test -z "$HOME" && test "$PATH" = /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin && test "$f2bV_x" = "a b""#;
        run(script, &env(&[("f2bV_x", "a b")]), Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let dir = std::env::temp_dir().join(format!("bt-run-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let marker = dir.join("survived");
        // A grandchild that would write the marker after the timeout.
        let script = format!("(sleep 1; touch '{}') & sleep 30", marker.display());
        let started = Instant::now();
        let err = run(&script, &[], Duration::from_millis(200)).unwrap_err();
        assert!(matches!(err, ActionProblem::Timeout { .. }), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
        thread::sleep(Duration::from_millis(1300));
        assert!(
            !marker.exists(),
            "a process of the group survived the timeout"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_background_process_holding_stderr_does_not_block() {
        let started = Instant::now();
        run("sleep 3 >/dev/null & exit 0", &[], Duration::from_secs(10)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
