//! [`FirewallError`]: what failed, in words an operator can act on.
//!
//! Every message starts with the change or query that failed, naming the
//! kernel object ("adding 5000 elements to set inet bantam addr4"), then the
//! kernel's own errno text, then — for the errnos that have a usual cause — a
//! hint. A batch is all-or-nothing, so when the kernel points at one element
//! (extended ACK) that element is named too: it is the one to look at.

use std::io;

use crate::target::Target;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FirewallError {
    /// The kernel refused a change or a query.
    #[error("{action}: {}", kernel_detail(*.errno, .element, .kernel_message))]
    Kernel {
        /// What we asked for, e.g. "adding 2 elements to set inet bantam addr4".
        action: String,
        /// The positive errno the kernel answered.
        errno: i32,
        /// The element the kernel pointed at, when it did.
        element: Option<Target>,
        /// Extended-ACK text, when the kernel gave one.
        kernel_message: Option<String>,
    },

    /// A system call on our netlink socket failed.
    #[error("{action}: {source}{}", errno_hint(source.raw_os_error()))]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },

    /// The kernel answered something we cannot make sense of.
    #[error("{action}: {detail}")]
    Protocol { action: String, detail: String },

    #[error("invalid ban target {target}: {reason}")]
    InvalidTarget {
        target: String,
        reason: &'static str,
    },

    #[error("invalid table name {name:?}: {reason}")]
    InvalidName { name: String, reason: &'static str },

    /// The backend was used before [`Backend::setup`](crate::Backend::setup)
    /// (dry run only: the kernel reports this case itself).
    #[error("{action}: backend {backend} is not set up (call setup first)")]
    NotSetUp {
        backend: &'static str,
        action: String,
    },

    #[error("{0}")]
    Unsupported(String),

    /// A fail2ban-style command action could not be prepared or failed
    /// when run (see [`crate::command`]).
    #[error("action {action}: {verb}: {problem}")]
    Action {
        /// The action's name, e.g. "nftables-multiport".
        action: String,
        /// The operation: "actionban", "actionstart", …
        verb: &'static str,
        #[source]
        problem: ActionProblem,
    },
}

/// Why one command of a command action did not succeed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ActionProblem {
    /// The command text cannot be built: a self-referencing tag, or a log
    /// value placed where it cannot be passed safely.
    #[error("{0}")]
    Template(String),

    /// `/bin/sh` could not be started.
    #[error("cannot run /bin/sh: {0}")]
    Spawn(#[source] io::Error),

    /// The command ran and failed.
    #[error("{}{}", exit_text(*.code, *.signal), stderr_text(.stderr))]
    Failed {
        /// The shell's exit code, when it exited.
        code: Option<i32>,
        /// The signal that ended it, when one did.
        signal: Option<i32>,
        /// The start of what it wrote to standard error.
        stderr: String,
    },

    /// The command ran longer than the action's timeout; its whole process
    /// group was killed.
    #[error("timed out after {}s, process group killed{}", .after.as_secs_f64(), stderr_text(.stderr))]
    Timeout {
        after: std::time::Duration,
        stderr: String,
    },
}

fn exit_text(code: Option<i32>, signal: Option<i32>) -> String {
    match (code, signal) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "failed".to_string(),
    }
}

fn stderr_text(stderr: &str) -> String {
    let stderr = stderr.trim_end();
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

impl FirewallError {
    /// The kernel's errno, for callers that handle one case (say ENOENT).
    pub fn errno(&self) -> Option<i32> {
        match self {
            FirewallError::Kernel { errno, .. } => Some(*errno),
            FirewallError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

fn kernel_detail(errno: i32, element: &Option<Target>, kernel_message: &Option<String>) -> String {
    let mut text = errno_text(errno);
    if let Some(message) = kernel_message {
        text.push_str(": ");
        text.push_str(message);
    }
    match (errno, element) {
        // About one element, "exists" means it collides with another one.
        (libc::EEXIST | libc::ENOTEMPTY, Some(_)) => {
            text.push_str(" (overlaps an element already in the set)")
        }
        _ => text.push_str(&errno_hint(Some(errno))),
    }
    if let Some(element) = element {
        text.push_str(&format!(" [element {element}]"));
    }
    text
}

/// The C library's text for `errno`, without Rust's " (os error N)" suffix:
/// the number means nothing to an operator reading a log.
pub(crate) fn errno_text(errno: i32) -> String {
    let text = io::Error::from_raw_os_error(errno).to_string();
    match text.strip_suffix(&format!(" (os error {errno})")) {
        Some(bare) => bare.to_string(),
        None => text,
    }
}

/// The usual cause of the errnos nf_tables answers, as " (hint)".
fn errno_hint(errno: Option<i32>) -> String {
    let hint = match errno {
        Some(libc::EPERM) | Some(libc::EACCES) => "are you root / CAP_NET_ADMIN?",
        Some(libc::ENOENT) => "table or set missing: has setup run?",
        Some(libc::EEXIST) => "exists with a different definition: run teardown first",
        Some(libc::ENOTEMPTY) => "overlaps an element already in the set",
        Some(libc::EMSGSIZE) => "batch larger than the socket send buffer",
        Some(libc::ENOBUFS) => "socket receive buffer overrun",
        Some(libc::EOPNOTSUPP) | Some(libc::EPROTONOSUPPORT) => {
            "not supported by this kernel (nf_tables missing?)"
        }
        _ => return String::new(),
    };
    format!(" ({hint})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_error_reads_like_a_sentence() {
        let err = FirewallError::Kernel {
            action: "adding 5000 elements to set inet bantam addr4".into(),
            errno: libc::EPERM,
            element: None,
            kernel_message: None,
        };
        assert_eq!(
            err.to_string(),
            "adding 5000 elements to set inet bantam addr4: Operation not permitted \
             (are you root / CAP_NET_ADMIN?)"
        );
        let err = FirewallError::Kernel {
            action: "adding 2 elements to set inet bantam net4".into(),
            errno: libc::ENOTEMPTY,
            element: Some("203.0.113.0/25".parse().unwrap()),
            kernel_message: None,
        };
        assert!(err
            .to_string()
            .ends_with("(overlaps an element already in the set) [element 203.0.113.0/25]"));
    }
}
