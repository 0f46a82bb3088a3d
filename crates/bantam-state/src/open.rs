//! Opening the database file, and telling the daemon what was found.
//!
//! Two findings change what the daemon does at start:
//!
//! - **fresh**: no bantam state was there (no file, an empty file, or a
//!   database without bantam's schema). The bans already in the kernel's
//!   table are then the only record of who is banned, and the daemon adopts
//!   them instead of removing them as strays.
//! - **quarantined**: the file was corrupt. It is moved aside, with its
//!   `-wal` and `-shm`, and a new empty database takes its place, so the
//!   daemon starts (and says so loudly) instead of failing, which under
//!   systemd's `Restart=on-failure` would be a crash loop that bans no one.
//!
//! Only SQLite's own verdicts count as corruption (not a database,
//! malformed or with an unreadable schema, `PRAGMA quick_check` not "ok").
//! A locked or newer-schema database, or an I/O error, is an error and
//! nothing is moved: the file may well be sound, and replacing it would
//! lose good bans.
//!
//! The file holds matched log lines, so bantam creates it `0600` itself
//! before SQLite opens it; SQLite then gives `-wal` and `-shm` the database
//! file's mode, whatever the umask.

use std::ffi::CString;
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode};

use crate::error::{io_error, SqlContext, StateError};

/// What [`SqliteStore::open`](crate::SqliteStore::open) found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// No bantam state was there: the file did not exist, was empty, had no
    /// bantam schema, or was corrupt and moved aside. The kernel's bans are
    /// then the only record, and the daemon should adopt them.
    pub fresh: bool,
    /// Set when a corrupt database was moved aside.
    pub quarantined: Option<Quarantine>,
}

/// A corrupt database that was moved aside.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quarantine {
    /// The database's new name (`bantam.db.corrupt-<unix seconds>`); its
    /// `-wal` and `-shm`, when there were any, sit beside it with their
    /// usual suffixes, so `sqlite3 <moved_to>` sees what bantam saw.
    pub moved_to: PathBuf,
    /// SQLite's verdict.
    pub reason: String,
}

/// The files SQLite keeps beside a database.
const COMPANIONS: [&str; 3] = ["-wal", "-shm", "-journal"];

/// Creates `dir` (`0700`) when missing; an existing one is left as it is.
pub(crate) fn prepare_dir(dir: &Path) -> Result<(), StateError> {
    let dir_error = |cause| StateError::Directory {
        path: dir.to_owned(),
        cause,
    };
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(dir_error)?;
    // The mode above went through the umask.
    std::fs::set_permissions(dir, Permissions::from_mode(0o700)).map_err(dir_error)
}

/// Makes sure the database can be written and exists, `0600`.
///
/// One check, before SQLite: SQLite's own report of a read-only file is
/// "attempt to write a readonly database", without the path or the OS
/// reason, and it comes only at the first write.
pub(crate) fn prepare_file(path: &Path) -> Result<(), StateError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // SQLite creates `-wal` and `-shm` beside the database.
    writable(dir).map_err(|cause| match refused(&cause) {
        true => not_writable(dir, "state directory", cause),
        false => io_error(path, "checking its directory", cause),
    })?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(|cause| match refused(&cause) {
            true => not_writable(path, "state database", cause),
            false => io_error(path, "creating", cause),
        })?;
    restrict(path)
}

/// Whether the OS refused to let us write (rather than, say, the directory
/// not existing).
fn refused(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EROFS | libc::EACCES | libc::EPERM | libc::ETXTBSY)
    )
}

fn not_writable(path: &Path, what: &'static str, cause: io::Error) -> StateError {
    StateError::NotWritable {
        path: path.to_owned(),
        what,
        cause,
    }
}

/// Whether this process (its effective ids) may write `path`. Unlike mode
/// bits, this also sees a read-only mount or an immutable file, which stop
/// root too.
fn writable(path: &Path) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let rc = unsafe { libc::faccessat(libc::AT_FDCWD, c.as_ptr(), libc::W_OK, libc::AT_EACCESS) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Takes group and other access away from a database (and companions)
/// created by an older bantam under a lax umask.
fn restrict(path: &Path) -> Result<(), StateError> {
    for p in std::iter::once(path.to_owned()).chain(COMPANIONS.map(|s| with_suffix(path, s))) {
        let mode = match std::fs::metadata(&p) {
            Ok(m) => m.permissions().mode(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&p, "reading permissions", e)),
        };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&p, Permissions::from_mode(mode & 0o700))
                .map_err(|e| io_error(&p, "restricting permissions to the owner", e))?;
        }
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// What SQLite says about a database it could open.
pub(crate) enum Health {
    Sound { version: i64 },
    Corrupt(String),
}

/// Opens `path` and examines it without writing to it.
pub(crate) fn examine(path: &Path) -> Result<(Connection, Health), StateError> {
    let conn = Connection::open(path).doing(path, "opening")?;
    // Another bantam (a CLI reading status) may hold a lock briefly.
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .doing(path, "opening")?;
    // Closing must not checkpoint a WAL into a file about to be moved
    // aside: what is quarantined is what was found.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
        .doing(path, "opening")?;
    match health(&conn) {
        Ok(Health::Sound { version }) => {
            // Sound: closing may checkpoint and remove the WAL again.
            conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false)
                .doing(path, "opening")?;
            Ok((conn, Health::Sound { version }))
        }
        Ok(corrupt) => Ok((conn, corrupt)),
        Err(e) if is_corruption(&e) => Ok((conn, Health::Corrupt(e.to_string()))),
        Err(e) => Err(StateError::Sqlite {
            path: path.to_owned(),
            action: "checking the database",
            cause: e,
        }),
    }
}

fn health(conn: &Connection) -> rusqlite::Result<Health> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let mut stmt = conn.prepare("PRAGMA quick_check(5)")?;
    let verdict: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if verdict.len() == 1 && verdict[0] == "ok" {
        Ok(Health::Sound { version })
    } else {
        Ok(Health::Corrupt(format!(
            "quick_check: {}",
            verdict.join("; ").replace('\n', " ")
        )))
    }
}

fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// Moves `path` and its companions aside, companions first: a `-wal` left
/// behind would be replayed into the new database that takes the name.
pub(crate) fn quarantine(path: &Path, reason: String) -> Result<Quarantine, StateError> {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let moved_to = free_name(path, secs);
    for suffix in COMPANIONS {
        let from = with_suffix(path, suffix);
        match std::fs::rename(&from, with_suffix(&moved_to, suffix)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&from, "moving a corrupt database aside", e)),
        }
    }
    std::fs::rename(path, &moved_to)
        .map_err(|e| io_error(path, "moving a corrupt database aside", e))?;
    if let Some(dir) = moved_to.parent() {
        // The renames are what keeps the corrupt file from being reopened.
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(Quarantine { moved_to, reason })
}

/// `<path>.corrupt-<secs>`, or with `.N` appended when taken (two in the
/// same second).
fn free_name(path: &Path, secs: u64) -> PathBuf {
    let base = with_suffix(path, &format!(".corrupt-{secs}"));
    let taken = |p: &Path| {
        p.symlink_metadata().is_ok()
            || COMPANIONS
                .iter()
                .any(|s| with_suffix(p, s).symlink_metadata().is_ok())
    };
    if !taken(&base) {
        return base;
    }
    (1u32..)
        .map(|n| with_suffix(&base, &format!(".{n}")))
        .find(|p| !taken(p))
        .unwrap_or(base)
}
