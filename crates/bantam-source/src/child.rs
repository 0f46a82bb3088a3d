//! A child process whose output is a log: `journalctl` for the journal
//! source, the user's command for `cmd:`.
//!
//! # Never outliving bantam
//!
//! The child leads a process group of its own, and dropping a [`Child`]
//! kills the whole group (`docker logs` and its helpers, a shell pipeline's
//! members), then reaps the child. If bantam dies without dropping it
//! (SIGKILL, a crash), `PR_SET_PDEATHSIG` has the kernel send the child
//! SIGTERM. The kernel sends that signal when the *thread* that forked
//! exits, not the process: children are spawned from the runtime's worker
//! threads (inside `next_batch`), which live as long as the runtime.
//!
//! # Output
//!
//! The log is the read end of one pipe; with `merge_stderr`, the child's
//! standard error is the same pipe, so both streams keep their relative
//! order. Read through tokio, the pipe costs nothing while the child is
//! quiet. The end of the log is the end of the pipe (every writer closed
//! it): only then is the child's status collected, so no timer is needed
//! and no SIGCHLD handler.

use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};

use tokio::net::unix::pipe;

/// A running child, killed with its process group on drop.
#[derive(Debug)]
pub(crate) struct Child {
    inner: std::process::Child,
    reaped: bool,
}

impl Child {
    /// Starts `argv` (no shell) with standard input from /dev/null and
    /// standard output (and, with `merge_stderr`, standard error) into the
    /// returned pipe. Must be called on a tokio runtime with I/O enabled.
    pub(crate) fn spawn(
        argv: &[String],
        merge_stderr: bool,
    ) -> io::Result<(Child, pipe::Receiver)> {
        let Some((program, args)) = argv.split_first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
        };
        let (reader, writer) = io::pipe()?;
        let stderr = if merge_stderr {
            Stdio::from(writer.try_clone()?)
        } else {
            Stdio::inherit()
        };
        let parent = std::process::id();
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(stderr)
            .process_group(0);
        // SAFETY: between fork and exec only async-signal-safe calls:
        // prctl, getppid and _exit.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent died before prctl took effect: nobody would
                // ever signal us.
                if libc::getppid() != parent as libc::pid_t {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        // `command` holds the write ends; it is dropped at the end of this
        // function, so the pipe ends when the child's copies close.
        let inner = command.spawn()?;
        let receiver = pipe::Receiver::from_owned_fd(OwnedFd::from(reader))?;
        Ok((
            Child {
                inner,
                reaped: false,
            },
            receiver,
        ))
    }

    /// Called once its output ended: kills what is left of the group
    /// (a child that closed its output but lingers) and reaps the child.
    pub(crate) fn finish(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.inner.try_wait()? {
            self.kill_group();
            self.reaped = true;
            return Ok(status);
        }
        self.kill_group();
        let status = self.inner.wait()?;
        self.reaped = true;
        Ok(status)
    }

    fn kill_group(&self) {
        // SAFETY: kill has no memory preconditions; a negative pid names
        // the group the child leads.
        unsafe {
            libc::kill(-(self.inner.id() as libc::pid_t), libc::SIGKILL);
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_group();
            // SIGKILL cannot be caught: the wait is immediate.
            let _ = self.inner.wait();
        }
    }
}

/// "exited with status 1", "killed by signal 9", for messages.
pub(crate) fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "ended".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn output_and_status_of_both_streams() -> Result<(), Box<dyn std::error::Error>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async {
            let argv: Vec<String> = ["sh", "-c", "echo out; echo err >&2; exit 3"]
                .map(String::from)
                .to_vec();
            let (mut child, mut pipe) = Child::spawn(&argv, true)?;
            let mut text = String::new();
            pipe.read_to_string(&mut text).await?;
            assert_eq!(text, "out\nerr\n");
            assert_eq!(describe(child.finish()?), "exited with status 3");
            Ok(())
        })
    }

    #[test]
    fn drop_kills_the_whole_group() -> Result<(), Box<dyn std::error::Error>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        rt.block_on(async {
            let argv: Vec<String> = ["sh", "-c", "sleep 300 & echo $!; wait"]
                .map(String::from)
                .to_vec();
            let (child, mut pipe) = Child::spawn(&argv, true)?;
            let mut buf = [0u8; 32];
            let n = pipe.read(&mut buf).await?;
            let grandchild: i32 = std::str::from_utf8(&buf[..n])?.trim().parse()?;
            drop(child);
            // The grandchild was killed; once its parent (gone too) no
            // longer holds it, it is reaped by init.
            let gone = (0..100).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                    .map_or(true, |s| s.contains(") Z "))
            });
            assert!(gone, "grandchild {grandchild} survived");
            Ok(())
        })
    }
}
