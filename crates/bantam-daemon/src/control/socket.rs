//! The control socket's file: created safely, never stolen, cleaned up.
//!
//! * A socket file left by a crash (a power cut, `kill -9`) is *stale*: no one
//!   accepts on it. It is detected by connecting, and replaced.
//! * A socket someone answers on belongs to a running bantam: starting a
//!   second one is refused, naming the socket, instead of stealing it.
//! * Anything at that path that is not a socket is left alone and reported.
//! * The socket is mode 0600 and every peer's credentials are checked
//!   (SO_PEERCRED): only root and the daemon's own user may talk to it.

use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use tokio::net::{UnixListener, UnixStream};

use crate::error::DaemonError;

/// A bound control socket; removes its file when dropped.
pub struct ControlSocket {
    pub listener: UnixListener,
    path: PathBuf,
}

impl ControlSocket {
    /// Binds `path`, replacing a stale socket, refusing a live one.
    pub async fn bind(path: &Path) -> Result<ControlSocket, DaemonError> {
        let fail = |what: &str, e: io::Error| DaemonError::Socket {
            path: path.to_owned(),
            reason: format!("{what}: {e}"),
        };
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                std::fs::create_dir_all(dir).map_err(|e| fail("cannot create its directory", e))?;
                let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
            }
        }
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_socket() => {
                if UnixStream::connect(path).await.is_ok() {
                    return Err(DaemonError::Socket {
                        path: path.to_owned(),
                        reason: "another bantam is running and answers on it (stop it first, or use another socket)"
                            .into(),
                    });
                }
                // Nobody answers: left over from a crash.
                std::fs::remove_file(path)
                    .map_err(|e| fail("cannot remove the stale socket", e))?;
            }
            Ok(_) => {
                return Err(DaemonError::Socket {
                    path: path.to_owned(),
                    reason: "exists and is not a socket; refusing to replace it".into(),
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail("cannot inspect", e)),
        }
        // Create it private from the first instant: no window in which
        // another user could connect before the chmod.
        // SAFETY: umask only changes this process's file-creation mask.
        let old = unsafe { libc::umask(0o177) };
        let bound = UnixListener::bind(path);
        // SAFETY: as above, restoring the previous mask.
        unsafe { libc::umask(old) };
        let listener = bound.map_err(|e| fail("cannot bind", e))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| fail("cannot chmod", e))?;
        Ok(ControlSocket {
            listener,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Refuses to go on when a bantam already answers on `path`. Called before
/// the store and the firewall are touched, so that a second `bantam run`
/// changes nothing; [`ControlSocket::bind`] checks again, race-free.
pub fn ensure_not_running(path: &Path) -> Result<(), DaemonError> {
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(DaemonError::Socket {
            path: path.to_owned(),
            reason:
                "another bantam is running and answers on it (stop it first, or use another socket)"
                    .into(),
        }),
        Err(_) => Ok(()),
    }
}

/// Whether the peer on `stream` may control the daemon: root, or the user
/// the daemon runs as.
pub fn peer_allowed(stream: &UnixStream) -> Result<bool, io::Error> {
    let cred = stream.peer_cred()?;
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    Ok(cred.uid() == 0 || cred.uid() == me)
}
