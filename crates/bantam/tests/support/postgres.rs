//! A real PostgreSQL for a test: Debian's binaries, `initdb` in a temporary
//! directory as the unprivileged `nobody` (PostgreSQL refuses root),
//! listening only on a Unix socket in that directory, which every network
//! namespace can reach. Stopped (immediately) on drop.
//!
//! Shared by bantam-state's and bantam's tests (`#[path]`).

#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = "/usr/lib/postgresql/15/bin";
/// Only names the socket file: no TCP port is opened.
const PORT: &str = "5499";

pub struct Postgres {
    dir: tempfile::TempDir,
}

fn as_nobody(program: &str, args: &[&str]) -> Output {
    let out = Command::new("runuser")
        .args(["-u", "nobody", "--", &format!("{BIN}/{program}")])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("runuser {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Postgres {
    /// A new cluster with a database `bantam` owned by the superuser
    /// `bantam` (trust authentication: it is reachable only through a
    /// socket in a private directory).
    pub fn start() -> Postgres {
        assert!(
            Path::new(BIN).join("initdb").exists(),
            "PostgreSQL 15 is not installed (apt-get install postgresql)"
        );
        let dir = tempfile::Builder::new()
            .prefix("bantam-pg")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.path().join("sock")).unwrap();
        for p in [dir.path().to_owned(), dir.path().join("sock")] {
            std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
        }
        let pg = Postgres { dir };
        as_nobody(
            "initdb",
            &[
                "-D",
                &pg.data(),
                "-U",
                "bantam",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        pg.start_again();
        pg.psql("postgres", "bantam", "CREATE DATABASE bantam");
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().join("sock")
    }

    /// (Re)starts the server after [`Postgres::stop`].
    pub fn start_again(&self) {
        let options = format!(
            "-k {} -p {PORT} -c listen_addresses='' -c fsync=off -c max_connections=400",
            self.socket_dir().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        as_nobody(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-w",
                "-l",
                &log,
                "-o",
                &options,
                "start",
            ],
        );
    }

    pub fn stop(&self) {
        as_nobody("pg_ctl", &["-D", &self.data(), "-w", "-m", "fast", "stop"]);
    }

    /// The URL a host logs in with as `user`.
    pub fn url(&self, user: &str) -> String {
        format!(
            "postgresql:///bantam?host={}&port={PORT}&user={user}",
            self.socket_dir().display()
        )
    }

    /// Runs `sql` as `user` in `db`; returns the unaligned output.
    pub fn psql(&self, db: &str, user: &str, sql: &str) -> String {
        let sock = self.socket_dir().display().to_string();
        let out = as_nobody(
            "psql",
            &[
                "-h",
                &sock,
                "-p",
                PORT,
                "-U",
                user,
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Like [`Postgres::psql`] but expects failure; returns the error text.
    pub fn psql_fails(&self, user: &str, sql: &str) -> String {
        let sock = self.socket_dir().display().to_string();
        let out = Command::new("runuser")
            .args(["-u", "nobody", "--", &format!("{BIN}/psql")])
            .args(["-h", &sock, "-p", PORT, "-U", user, "-d", "bantam"])
            .args(["-v", "ON_ERROR_STOP=1", "-Atc", sql])
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{sql:?} as {user} should have failed"
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// The fleet's group role and one login role per host, as the README
    /// says to set them up.
    pub fn fleet_roles(&self, hosts: &[&str]) {
        let mut sql = String::from("CREATE ROLE bantam_fleet NOLOGIN;");
        for h in hosts {
            sql.push_str(&format!("CREATE ROLE {h} LOGIN IN ROLE bantam_fleet;"));
        }
        self.psql("bantam", "bantam", &sql);
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "nobody", "--", &format!("{BIN}/pg_ctl")])
            .args(["-D", &self.data(), "-m", "immediate", "stop"])
            .output();
    }
}
