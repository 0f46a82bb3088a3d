//! fail2ban trees as users write them, in temporary directories: what is
//! carried over, what is refused, and what is said to be ignored.

use std::path::{Path, PathBuf};

use super::*;

/// A directory removed on drop.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("bantam-f2bj-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }

    fn write(&self, path: &str, text: &str) -> PathBuf {
        let p = self.0.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const FILTER: &str = "[Definition]\nfailregex = ^bad login from <HOST>$\n";
const MAIL: &str = "[Definition]\nnorestored = 1\nactionban = echo mail <ip>\n";
const FW: &str = "[Definition]\nactionban = echo fw <ip>\nactionunban = echo unfw <ip>\n";

/// A tree with one filter and two actions, and `jail` as `jail.conf`.
fn tree(name: &str, jail: &str) -> Dir {
    let d = Dir::new(name);
    d.write("filter.d/test.conf", FILTER);
    d.write("action.d/mail.conf", MAIL);
    d.write("action.d/fw.conf", FW);
    d.write("jail.conf", jail);
    d.write("log/app.log", "");
    d
}

fn load(d: &Dir) -> Result<(Vec<JailSettings>, Vec<String>), ConfigError> {
    fail2ban_jails(&d.0, Fail2banActions::Commands)
}

#[test]
fn options_read_but_not_honoured_are_said_per_jail() {
    let d = Dir::new("ignored");
    let log = d.write("log/app.log", "");
    d.write("filter.d/test.conf", FILTER);
    d.write(
        "jail.conf",
        &format!(
            "[DEFAULT]\nbantime.increment = true\nbantime.factor = 2\nbantime.maxtime = 1w\n\
             ignorecommand = /bin/false <ip>\nusedns = yes\nlogencoding = latin-1\n\
             maxmatches = 20\nbackend = polling\nfilter = test\nlogpath = {}\n\
             [one]\nenabled = true\n[two]\nenabled = true\nbackend = magic\n",
            log.display()
        ),
    );
    let (jails, warnings) = load(&d).unwrap();
    assert_eq!(jails.len(), 2);
    let conf = d.path("jail.conf");
    for jail in ["one", "two"] {
        for (key, value) in [
            ("ignorecommand", "/bin/false <ip>"),
            ("usedns", "yes"),
            ("logencoding", "latin-1"),
            ("maxmatches", "20"),
        ] {
            let want = format!(
                "fail2ban jail {jail}: {}: [DEFAULT] {key} = {value} is ignored: ",
                conf.display()
            );
            assert_eq!(
                warnings.iter().filter(|w| w.starts_with(&want)).count(),
                1,
                "{want}\n{warnings:#?}"
            );
        }
    }
    let backend = format!(
        "fail2ban jail two: {}: [two] backend = magic is ignored",
        conf.display()
    );
    assert!(
        warnings.iter().any(|w| w.starts_with(&backend)),
        "{warnings:#?}"
    );
    // polling only chooses how a file is watched: honoured.
    assert!(
        !warnings.iter().any(|w| w.contains("backend = polling")),
        "{warnings:#?}"
    );
    // usedns = yes differs from the default: said per jail, not in the summary.
    assert!(
        !warnings.iter().any(|w| w.contains("fail2ban's default")),
        "{warnings:#?}"
    );
    // bantime.* is honoured (fail2ban_policy): not said to be ignored.
    assert!(
        !warnings.iter().any(|w| w.contains("bantime.")),
        "{warnings:#?}"
    );
    assert_eq!(warnings.len(), 2 * 4 + 1, "{warnings:#?}");
}

#[test]
fn fail2ban_defaults_written_out_are_quiet() {
    let d = Dir::new("quiet");
    let log = d.write("log/app.log", "");
    d.write("filter.d/test.conf", FILTER);
    d.write(
        "jail.conf",
        &format!(
            "[DEFAULT]\nbantime.increment = false\nbantime.factor = 1\nignorecommand =\n\
             usedns = no\nlogencoding = auto\nmaxretry = 3\nmaxmatches = %(maxretry)s\n\
             backend = auto\nignoreself = true\nfilter = test\nlogpath = {}\n\
             [one]\nenabled = true\n",
            log.display()
        ),
    );
    let (jails, warnings) = load(&d).unwrap();
    assert_eq!(jails.len(), 1);
    assert_eq!(warnings, Vec::<String>::new());
}

#[test]
fn logpaths_carry_their_origin_and_bad_ones_stop_the_start() {
    let d = tree(
        "logpath",
        "[DEFAULT]\nfilter = test\n[a]\nenabled = true\nlogpath = /no/such/dir/a.log\n",
    );
    let local = d.write(
        "jail.local",
        "[a]\nlogpath = /no/such/dir/b.log\n    /no/such/c.log tail\n",
    );
    let (jails, warnings) = load(&d).unwrap();
    let j = &jails[0];
    assert_eq!(j.logpath, vec!["/no/such/dir/b.log", "/no/such/c.log"]);
    let at = format!("{}: [a] logpath", local.display());
    assert_eq!(j.logpath_origin.len(), 2);
    assert!(j.logpaths().all(|(_, o)| o.to_string() == at));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("\"tail\" on /no/such/c.log is ignored")),
        "{warnings:#?}"
    );
    assert_eq!(
        j.missing_logpaths(),
        vec![
            format!("{at}: /no/such/dir/b.log does not exist (yet); waiting for it"),
            format!("{at}: /no/such/c.log does not exist (yet); waiting for it"),
        ]
    );

    let dir = d.path("log");
    d.write("jail.local", &format!("[a]\nlogpath = {}\n", dir.display()));
    let e = load(&d).unwrap_err().to_string();
    assert_eq!(
        e,
        format!(
            "fail2ban configuration: {at}: {} is a directory; name the log files in it (e.g. {}/*.log)",
            dir.display(),
            dir.display()
        )
    );
    d.write("jail.local", "[a]\nlogpath = log/app.log\n");
    let e = load(&d).unwrap_err().to_string();
    assert!(
        e.ends_with(&format!("{at}: log/app.log is not an absolute path")),
        "{e}"
    );
}

#[test]
fn missing_logs_are_warned_about_at_load() {
    let d = tree(
        "missing",
        "[a]\nenabled = true\nfilter = test\nlogpath = /no/such/a.log\n",
    );
    let conf = d.write(
        "bantam.toml",
        "[jails.native]\nfilter = 'sshd'\nlogpath = ['/no/such/native.log', '-']\n",
    );
    let (settings, warnings) = load_with_fail2ban(Some(&conf), Some(&d.0)).unwrap();
    assert_eq!(settings.jails.len(), 2);
    let jail_conf = d.path("jail.conf");
    let want = [
        format!(
            "{}:3: jails.native.logpath: /no/such/native.log does not exist (yet); waiting for it",
            conf.display()
        ),
        format!(
            "{}: [a] logpath: /no/such/a.log does not exist (yet); waiting for it",
            jail_conf.display()
        ),
    ];
    for w in &want {
        assert!(warnings.contains(w), "{w}\n{warnings:#?}");
    }
}

#[test]
fn norestored_comes_from_the_actions() {
    let d = tree(
        "norestored",
        "[DEFAULT]\nfilter = test\nlogpath = /var/log/x.log\n\
         [mailonly]\nenabled = true\naction = mail\n\
         [both]\nenabled = true\naction = fw\n         mail\n\
         [param]\nenabled = true\naction = fw[norestored=1]\n\
         [none]\nenabled = true\n",
    );
    let (jails, _) = load(&d).unwrap();
    let by = |n: &str| jails.iter().find(|j| j.name == n).unwrap();
    assert!(by("mailonly").norestored);
    assert!(!by("both").norestored, "fw puts bans back");
    let both: Vec<bool> = by("both").actions.iter().map(|a| a.norestored()).collect();
    assert_eq!(both, vec![false, true]);
    assert!(by("param").norestored, "an [Init] value counts");
    assert!(!by("none").norestored, "no action, nothing to skip");
    // In native mode the firewall action is bantam's; mail is all that runs.
    let (jails, _) = fail2ban_jails(&d.0, Fail2banActions::Native).unwrap();
    assert!(!jails.iter().find(|j| j.name == "both").unwrap().norestored);
}

#[test]
fn ignoreself_ignores_this_host() {
    let d = tree(
        "ignoreself",
        "[DEFAULT]\nfilter = test\nlogpath = /var/log/x.log\n\
         [on]\nenabled = true\n[off]\nenabled = true\nignoreself = false\n",
    );
    let (jails, _) = load(&d).unwrap();
    let local: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    let ignores = |n: &str| {
        let j = jails.iter().find(|j| j.name == n).unwrap();
        j.ignoreip.iter().any(|net| net.contains(local))
    };
    assert!(ignores("on"));
    assert!(!ignores("off"));
}

/// Debian's shipped tree with sshd enabled, as installed: nothing of it is
/// reported as ignored, and the one default bantam takes differently
/// (`usedns = warn`) is said once.
#[test]
fn the_stock_tree_is_quiet() {
    let etc = Path::new("/etc/fail2ban");
    if !etc.join("jail.conf").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "/etc/fail2ban missing under CI"
        );
        return;
    }
    let d = Dir::new("stock");
    let status = std::process::Command::new("cp")
        .arg("-a")
        .arg(etc)
        .arg(d.path("etc"))
        .status()
        .unwrap();
    assert!(status.success());
    let log = d.write("auth.log", "");
    d.write(
        "etc/jail.local",
        &format!(
            "[sshd]\nenabled = true\nbackend = auto\nlogpath = {}\n",
            log.display()
        ),
    );
    let (jails, warnings) = fail2ban_jails(&d.path("etc"), Fail2banActions::Commands).unwrap();
    assert!(jails.iter().any(|j| j.name == "sshd"));
    assert!(
        !warnings.iter().any(|w| w.contains("ignored")),
        "{warnings:#?}"
    );
    let summary: Vec<&String> = warnings.iter().filter(|w| w.contains("usedns")).collect();
    assert_eq!(summary.len(), 1, "{warnings:#?}");
    assert!(summary[0].starts_with("fail2ban jails sshd: usedns = warn (fail2ban's default)"));
}

#[test]
fn native_mode_routes_each_jail_to_the_backend_that_works_like_its_action() {
    let d = tree(
        "banaction",
        "[DEFAULT]\nfilter = test\nlogpath = /var/log/x.log\n\
         [ipt]\nenabled = true\naction = iptables-multiport\n\
         [ips]\nenabled = true\naction = iptables-ipset-proto6-allports\n         mail\n\
         [fwd]\nenabled = true\naction = firewallcmd-ipset\n\
         [nft]\nenabled = true\naction = nftables-multiport\n\
         [rich]\nenabled = true\naction = firewallcmd-rich-rules\n\
         [two]\nenabled = true\naction = iptables-multiport\n         nftables-multiport\n\
         [mailonly]\nenabled = true\naction = mail\n",
    );
    for name in [
        "iptables-multiport",
        "iptables-ipset-proto6-allports",
        "firewallcmd-ipset",
        "nftables-multiport",
        "firewallcmd-rich-rules",
    ] {
        d.write(&format!("action.d/{name}.conf"), FW);
    }
    let (jails, warnings) = fail2ban_jails(&d.0, Fail2banActions::Native).unwrap();
    let by = |n: &str| jails.iter().find(|j| j.name == n).unwrap();
    let nft = BackendKind::Nftables;
    assert_eq!(by("ipt").backend(nft), Some(BackendKind::Iptables));
    assert_eq!(by("ips").backend(nft), Some(BackendKind::Ipset));
    assert_eq!(by("ips").actions.len(), 1, "mail still runs as a command");
    assert_eq!(by("fwd").backend(nft), Some(BackendKind::Ipset));
    assert_eq!(by("nft").backend(BackendKind::Route), Some(nft));
    // No backend of ours works like firewalld's rich rules: the daemon's.
    assert_eq!(by("rich").banaction, None);
    assert_eq!(
        by("rich").backend(BackendKind::Route),
        Some(BackendKind::Route)
    );
    assert_eq!(by("two").backend(nft), Some(BackendKind::Iptables));
    assert!(
        warnings.iter().any(|w| w.contains(
            "jail two: actions iptables-multiport and nftables-multiport want different backends"
        )),
        "{warnings:#?}"
    );
    assert_eq!(
        by("mailonly").backend(nft),
        None,
        "bans by its actions only"
    );
    // Commands mode: fail2ban's own commands ban, no backend of ours.
    let (jails, _) = load(&d).unwrap();
    assert!(jails.iter().all(|j| j.backend(nft).is_none()));
}
