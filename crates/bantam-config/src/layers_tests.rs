use std::fs;
use std::time::Duration;

use super::*;
use crate::settings::builtin_sshd_logpaths;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn drop_ins_win_key_by_key_in_lexical_order() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "bantam.toml",
        "[daemon]\nmax-tracked = 10\nsocket = '/run/a.sock'\n\n[defaults]\nmaxretry = 3\n\n\
         [jails.sshd]\nfilter = 'sshd'\nlogpath = '/var/log/auth.log'\nfindtime = '1h'\n",
    );
    write(
        dir.path(),
        "conf.d/20-late.toml",
        "[daemon]\nmax-tracked = 30\n[jails.sshd]\nmaxretry = 9\n",
    );
    write(
        dir.path(),
        "conf.d/10-early.toml",
        "[daemon]\nmax-tracked = 20\nhostname = 'h1'\n[jails.sshd]\nmaxretry = 7\nbantime = '2h'\n\
         [jails.web]\nfailregex = ['denied <HOST>']\nlogpath = 'web.log'\n",
    );
    write(dir.path(), "conf.d/ignored.conf", "not toml at all [");
    let s = load_layered(&main).unwrap();
    assert_eq!(s.daemon.max_tracked, 30, "the last drop-in wins");
    assert_eq!(
        s.daemon.hostname.as_deref(),
        Some("h1"),
        "earlier keys stay"
    );
    assert_eq!(s.daemon.socket, Path::new("/run/a.sock"));
    let sshd = s.jails.iter().find(|j| j.name == "sshd").unwrap();
    assert_eq!(sshd.maxretry, 9);
    assert_eq!(
        sshd.findtime,
        Duration::from_secs(3600),
        "main file's key kept"
    );
    assert_eq!(sshd.bantime, crate::BanTime::For(Duration::from_secs(7200)));
    let web = s.jails.iter().find(|j| j.name == "web").unwrap();
    assert_eq!(web.maxretry, 3, "[defaults] of the main file apply");
    // A relative path is relative to the file that wrote it.
    let conf_d = dir.path().join("conf.d");
    assert_eq!(web.logpath, [conf_d.join("web.log").to_string_lossy()]);
    assert_eq!(
        web.logpath_origin[0].to_string(),
        format!(
            "{}:9: jails.web.logpath",
            conf_d.join("10-early.toml").display()
        )
    );
}

#[test]
fn an_error_in_a_drop_in_names_that_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let main = write(
        dir.path(),
        "bantam.toml",
        "# a comment\n\n[jails.sshd]\nfilter = 'sshd'\nlogpath = '/var/log/auth.log'\n",
    );
    let bad = write(
        dir.path(),
        "conf.d/50-x.toml",
        "\n[jails.sshd]\nmaxretry = 0\n",
    );
    let e = load_layered(&main).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "{}:3: jails.sshd.maxretry: 0: must be 1 to 1000000",
            bad.display()
        )
    );
    fs::write(&bad, "[jails.sshd]\nmaxretry = \n").unwrap();
    let e = load_layered(&main).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:2: toml: ", bad.display())),
        "{e}"
    );
    // Errors in the main file still name it.
    fs::write(&bad, "").unwrap();
    fs::write(
        &main,
        "[jails.sshd]\nfilter = 'sshd'\nlogpath = '/x'\nbantime = 'soon'\n",
    )
    .unwrap();
    let e = load_layered(&main).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("{}:4: jails.sshd.bantime", main.display())),
        "{e}"
    );
}

#[test]
fn drop_ins_alone_are_a_configuration_and_nothing_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("bantam.toml");
    assert_eq!(present(&main), None);
    let e = load_layered(&main).unwrap_err().to_string();
    assert!(e.contains("cannot read"), "{e}");
    write(
        dir.path(),
        "conf.d/sshd.toml",
        "[jails.sshd]\nfilter = 'sshd'\nlogpath = '/var/log/auth.log'\n",
    );
    assert_eq!(present(&main), Some(main.clone()));
    assert_eq!(load_layered(&main).unwrap().jails.len(), 1);
}

#[test]
fn without_auth_log_or_secure_sshd_is_read_from_the_journal() {
    assert_eq!(
        builtin_sshd_logpaths(|p| p == "/var/log/secure"),
        ["/var/log/secure"]
    );
    assert_eq!(builtin_sshd_logpaths(|_| true), ["/var/log/auth.log"]);
    let journal = builtin_sshd_logpaths(|_| false);
    assert_eq!(
        journal,
        [
            "journal:_SYSTEMD_UNIT=ssh.service",
            "journal:_SYSTEMD_UNIT=sshd.service"
        ]
    );
    // Such paths pass the settings unchanged: never anchored to a directory.
    let text = "[jails.sshd]\nfilter = 'sshd'\nlogpath = ['journal:_SYSTEMD_UNIT=ssh.service']\n";
    let s = crate::settings::parse(Path::new("/etc/bantam/bantam.toml"), text).unwrap();
    assert_eq!(s.jails[0].logpath, ["journal:_SYSTEMD_UNIT=ssh.service"]);
    assert!(s.jails[0].missing_logpaths().is_empty());
}
