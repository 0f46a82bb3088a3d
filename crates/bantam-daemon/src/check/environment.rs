//! What the daemon needs from the host besides its logs: a firewall it may
//! change, a place for its control socket, the journal directory it was
//! told to read.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use bantam_config::Settings;

use super::CheckReport;

pub(super) fn check(settings: &Settings, report: &mut CheckReport) {
    firewall(settings, report);
    socket(&settings.daemon.socket, report);
    if let Some(dir) = &settings.daemon.journal_dir {
        if !dir.is_dir() {
            report.problem(format!(
                "[daemon] journal-dir: {} is not a directory",
                dir.display()
            ));
        }
    }
}

/// Every backend the daemon would open: `[daemon] backend` and each
/// jail's `banaction`.
fn firewall(settings: &Settings, report: &mut CheckReport) {
    let default = settings.daemon.backend;
    let mut kinds: std::collections::BTreeSet<_> = settings
        .jails
        .iter()
        .filter_map(|j| j.backend(default))
        .collect();
    kinds.insert(default);
    for kind in kinds {
        let name = kind.name();
        match bantam_firewall::probe(name) {
            Ok(said) => report.notes.push(format!("firewall: {said}")),
            Err(e) => report.problem(format!(
                "firewall: backend {name} cannot be set up: {} (bantam needs root or CAP_NET_ADMIN and nf_tables)",
                crate::error::chain(&e)
            )),
        }
    }
}

/// Whether this process may create entries in `dir` (root's answer is
/// yes, which is also the daemon's).
fn writable(dir: &Path) -> bool {
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path; access has no other
    // preconditions.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

fn socket(path: &Path, report: &mut CheckReport) {
    let shown = path.display();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => report.notes.push(format!(
                    "socket {shown}: a bantam answers on it (a reload would apply this configuration)"
                )),
                Err(_) => report.notes.push(format!(
                    "socket {shown}: stale (nobody answers); the daemon replaces it at start"
                )),
            }
            return;
        }
        Ok(_) => {
            report.problem(format!(
                "[daemon] socket: {shown} exists and is not a socket; the daemon refuses to replace it"
            ));
            return;
        }
        Err(_) => {}
    }
    // The daemon creates missing directories: the nearest existing one
    // must let it.
    let mut dir = path.parent().unwrap_or(Path::new("/"));
    while !dir.exists() {
        dir = dir.parent().unwrap_or(Path::new("/"));
    }
    if !dir.is_dir() || !writable(dir) {
        report.problem(format!(
            "[daemon] socket: cannot create {shown}: {} is not writable",
            dir.display()
        ));
    }
}
