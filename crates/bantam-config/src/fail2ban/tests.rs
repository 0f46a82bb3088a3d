//! Small fixtures of our own for each feature of fail2ban's configuration
//! language (the oracle tests cover the shipped files; these pin the
//! corners the shipped files do not reach, and the error messages).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::error::Fail2banError;
use super::optmap::OptMap;
use super::{ini, layers, params, tags, Fail2banTree};

/// A configuration tree in a fresh temporary directory, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(name: &str, files: &[(&str, &str)]) -> Tree {
        let dir = std::env::temp_dir().join(format!("bantam-ini-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        Tree(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse(text: &str) -> Result<ini::IniFile, Fail2banError> {
    ini::parse(text, &Arc::from(Path::new("test.conf")))
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).into(), (*v).into()))
        .collect()
}

#[test]
fn ini_dialect() {
    let f = parse(
        "[DEFAULT]\nBase = /var\n\n[S]\nColon: yes\nsemi = a ;comment\nglued = a;b\nhash = a # b\n\
         multi = one\n   two\n\n   three\n# comment line\n   four\n\nafter = x\n",
    )
    .unwrap();
    assert_eq!(f.defaults.get("base"), Some("/var"));
    let s = f.section("S").unwrap();
    assert_eq!(s.get("colon"), Some("yes"));
    assert_eq!(s.get("semi"), Some("a"));
    assert_eq!(s.get("glued"), Some("a;b"));
    assert_eq!(s.get("hash"), Some("a # b"));
    assert_eq!(s.get("multi"), Some("one\ntwo\n\nthree\nfour"));
    assert_eq!(s.get("after"), Some("x"));
    // The first delimiter splits: a value may hold `=` and `:`.
    let f = parse("[S]\nurl = http://x/?a=b\n").unwrap();
    assert_eq!(f.section("S").unwrap().get("url"), Some("http://x/?a=b"));
}

#[test]
fn ini_errors_name_the_line() {
    let e = parse("[S]\na = 1\nA = 2\n").unwrap_err().to_string();
    assert!(e.contains("test.conf:3") && e.contains("set twice"), "{e}");
    let e = parse("a = 1\n").unwrap_err().to_string();
    assert!(
        e.contains("test.conf:1") && e.contains("before any [section]"),
        "{e}"
    );
    let e = parse("[S]\njunk\n").unwrap_err().to_string();
    assert!(e.contains("test.conf:2"), "{e}");
    let e = parse("[S]\n[S]\n").unwrap_err().to_string();
    assert!(e.contains("twice"), "{e}");
}

#[test]
fn layers_in_fail2ban_order_with_known() {
    let t = Tree::new(
        "layers",
        &[
            ("x.conf", "[S]\nv = conf\nlist = a\n"),
            ("x.d/b.conf", "[S]\nv = d-conf-b\n"),
            ("x.d/a.conf", "[S]\nv = d-conf-a\n"),
            ("x.local", "[S]\nv = local\n"),
            ("x.d/a.local", "[S]\nv = d-local\nlist = %(known/list)s b\n"),
            ("x.d/.hidden.local", "[S]\nv = hidden\n"),
        ],
    );
    let cfg = layers::load(t.path(), "x").unwrap().unwrap();
    let names: Vec<String> = cfg
        .files
        .iter()
        .map(|f| f.strip_prefix(t.path()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "x.conf",
            "x.d/a.conf",
            "x.d/b.conf",
            "x.local",
            "x.d/a.local"
        ]
    );
    let none = OptMap::new();
    assert_eq!(
        cfg.get("S", "v", &none).unwrap().as_deref(),
        Some("d-local")
    );
    assert_eq!(cfg.get("S", "list", &none).unwrap().as_deref(), Some("a b"));
    assert!(layers::load(t.path(), "missing").unwrap().is_none());
}

#[test]
fn includes_before_after_local_and_loops() {
    let t = Tree::new(
        "includes",
        &[
            (
                "x.conf",
                "[INCLUDES]\nbefore = sub/common.conf\nafter = last.conf\n[S]\nv = x\nw = x\n",
            ),
            (
                "sub/common.conf",
                "[INCLUDES]\nbefore = ../x.conf\n[S]\nv = common\nc = 1\n",
            ),
            ("sub/common.local", "[S]\nc = 2\n"),
            (
                "last.conf",
                "[INCLUDES]\nbefore = last.conf\n[S]\nw = last\n",
            ),
        ],
    );
    let cfg = layers::load(t.path(), "x").unwrap().unwrap();
    let none = OptMap::new();
    // before: common (then its .local), then x, then after: last.
    assert_eq!(cfg.get("S", "v", &none).unwrap().as_deref(), Some("x"));
    assert_eq!(cfg.get("S", "c", &none).unwrap().as_deref(), Some("2"));
    assert_eq!(cfg.get("S", "w", &none).unwrap().as_deref(), Some("last"));
}

#[test]
fn interpolation_forms() {
    let t = Tree::new(
        "interp",
        &[(
            "x.conf",
            "[DEFAULT]\nport = 22\nwho = default\n[other]\nhost = o.example\n\
             [S]\nwho = s\nself = %(__name__)s\nref = %(other/host)s:%(port)s\n\
             def = %(default/who)s\npct = 100%%\nchain = %(ref)s/%(self)s\nbad = %(nope)s\n",
        )],
    );
    let cfg = layers::load(t.path(), "x").unwrap().unwrap();
    let none = OptMap::new();
    let get = |k: &str| cfg.get("S", k, &none).unwrap().unwrap();
    assert_eq!(get("self"), "S");
    assert_eq!(get("ref"), "o.example:22");
    assert_eq!(get("def"), "default");
    assert_eq!(get("pct"), "100%");
    assert_eq!(get("chain"), "o.example:22/S");
    let vars: OptMap = [("port", "2222")].into_iter().collect();
    assert_eq!(
        cfg.get("S", "ref", &vars).unwrap().unwrap(),
        "o.example:2222"
    );
    let e = cfg.get("S", "bad", &none).unwrap_err().to_string();
    assert!(
        e.contains("x.conf") && e.contains("[S] bad") && e.contains("nope"),
        "{e}"
    );
}

#[test]
fn params_with_quotes_commas_and_groups() {
    let (name, p) = params::extract(r#"act[p="1,2]", q='a b', r=3 ][s=4]"#).unwrap();
    assert_eq!(name, "act");
    let got: Vec<(&str, &str)> = p.iter().collect();
    assert_eq!(got, [("p", "1,2]"), ("q", "a b"), ("r", "3"), ("s", "4")]);
    assert!(params::extract("act[p=1").is_err());
    assert!(params::extract("act[=1]")
        .unwrap_err()
        .contains("key=value"));
    // As in fail2ban, no space before `=`.
    assert!(params::extract("act[r = 3]").is_err());
    let uses = params::split_uses("a[port=\"22, 2222\", x='[y]']\n  b\n c [k=v] d[n=1][m=2]");
    assert_eq!(
        uses,
        [
            "a[port=\"22, 2222\", x='[y]']",
            "b",
            "c [k=v]",
            "d[n=1][m=2]"
        ]
    );
}

#[test]
fn tags_recursive_unknown_and_loops() {
    let map: OptMap = [
        ("a", "<b>-<c>"),
        ("b", "<c>!"),
        ("c", "x"),
        ("d", "<HOST> <a>"),
    ]
    .into_iter()
    .collect();
    let ignore = Default::default();
    let mut none = |_: &str| Ok::<_, ()>(None);
    let out = tags::substitute(&map, &ignore, &mut none).unwrap().unwrap();
    assert_eq!(out.get("a"), Some("x!-x"));
    assert_eq!(out.get("d"), Some("<HOST> x!-x"));
    let looped: OptMap = [("a", "<b>"), ("b", "<a>")].into_iter().collect();
    let err = tags::substitute(&looped, &ignore, &mut none)
        .unwrap()
        .unwrap_err();
    assert_eq!(err.option, "a");
    let mut lookup = |n: &str| Ok::<_, ()>((n == "known/z").then(|| "Z".to_owned()));
    let map: OptMap = [("v", "<known/z><y>")].into_iter().collect();
    let out = tags::substitute(&map, &ignore, &mut lookup)
        .unwrap()
        .unwrap();
    assert_eq!(out.get("v"), Some("Z<y>"));
}

const JAIL_CONF: &str = "\
[DEFAULT]
enabled = false
mode = normal
filter = %(__name__)s[mode=%(mode)s]
bantime = 10m
findtime = 10m
maxretry = 5
port = 0:65535
protocol = tcp
banaction = fw
action = %(banaction)s[port=\"%(port)s\", protocol=\"%(protocol)s\"]

[demo]
enabled = true
port = 22,2222
logpath = /var/log/demo.log
          /var/log/demo-*.log
bantime = 1d12h
maxretry = 3
ignoreip = 192.0.2.1, 198.51.100.0/24 2001:db8::/32
failregex = %(known/failregex)s
            ^jail rule <HOST>$

[off]
logpath = /nowhere
";

const DEMO_FILTER: &str = "\
[INCLUDES]
before = common.conf
[Init]
mode = normal
[Definition]
_pre = ^%(_daemon)s:
failregex = <_pre> bad login from <HOST>$
            <mode-extra>
mode-extra =
journalmatch = _SYSTEMD_UNIT=demo.service
";

const FW_ACTION: &str = "\
[Definition]
actionban = fw add <set> <ip> port <port> proto <protocol> <matches>
actionunban = fw del <set> <ip>
[Init]
name = default
set = set4-<name>
port = 1
[Init?family=inet6]
set = set6-<name>
";

fn demo_tree(name: &str, extra: &[(&str, &str)]) -> Tree {
    let mut files = vec![
        ("jail.conf", JAIL_CONF),
        ("filter.d/common.conf", "[DEFAULT]\n_daemon = \\S+\n"),
        ("filter.d/demo.conf", DEMO_FILTER),
        ("action.d/fw.conf", FW_ACTION),
    ];
    files.extend_from_slice(extra);
    Tree::new(name, &files)
}

#[test]
fn jail_resolution() {
    let t = demo_tree("jail", &[("jail.d/x.local", "[demo]\nmaxretry = 4\n")]);
    let tree = Fail2banTree::load(t.path()).unwrap();
    assert!(tree.skipped().is_empty(), "{:?}", tree.skipped());
    let [jail] = tree.jails() else {
        panic!("one enabled jail expected: {:?}", tree.jails())
    };
    assert_eq!(jail.name, "demo");
    let f = jail.filter.as_ref().unwrap();
    assert_eq!(
        (f.name.as_str(), f.params.clone()),
        ("demo", pairs(&[("mode", "normal")]))
    );
    assert_eq!(jail.logpath, ["/var/log/demo.log", "/var/log/demo-*.log"]);
    assert_eq!(jail.maxretry, Some(4));
    assert_eq!(jail.findtime_duration().unwrap().unwrap().as_secs(), 600);
    assert_eq!(
        jail.bantime_value().unwrap(),
        Some(crate::BanTime::For(std::time::Duration::from_secs(129_600)))
    );
    assert_eq!(
        jail.ignoreip,
        ["192.0.2.1", "198.51.100.0/24", "2001:db8::/32"]
    );
    assert_eq!(jail.port.as_deref(), Some("22,2222"));
    assert_eq!(jail.mode.as_deref(), Some("normal"));
    let def = jail.filter_def.as_ref().unwrap();
    // The filter's rule (tags resolved, empty mode line skipped), then the
    // jail's own, which replaced the filter's via %(known/failregex)s.
    assert_eq!(
        def.failregex,
        [r"^\S+: bad login from <HOST>$", "^jail rule <HOST>$"]
    );
    assert_eq!(def.journalmatch, ["_SYSTEMD_UNIT=demo.service"]);
    assert_eq!(jail.actions.len(), 1);
    assert_eq!(jail.actions[0].name, "fw");
    assert_eq!(
        jail.actions[0].params,
        pairs(&[("port", "22,2222"), ("protocol", "tcp")])
    );
    let act = jail.action_defs[0].as_ref().unwrap();
    // <set> has a per-family variant: left for ban time. <matches> and
    // <ip> are runtime tags.
    assert_eq!(
        act.actionban.as_deref(),
        Some("fw add <set> <ip> port 22,2222 proto tcp <matches>")
    );
    assert_eq!(act.init.get("name").map(String::as_str), Some("demo"));
    assert_eq!(
        act.init.get("set?family=inet6").map(String::as_str),
        Some("set6-demo")
    );
    assert_eq!(act.init.get("set").map(String::as_str), Some("set4-<name>"));
    let again = tree
        .action("fw", &pairs(&[("name", "other")]), jail)
        .unwrap();
    assert_eq!(again.actname, "fw-other");
    assert_eq!(
        again.init.get("set?family=inet6").map(String::as_str),
        Some("set6-other")
    );
}

#[test]
fn filter_modes_and_known_in_filter_local() {
    let t = demo_tree(
        "filter",
        &[(
            "filter.d/demo.local",
            "[Definition]\nmode-extra = ^extra <HOST>$\nignoreregex = ^ignored\n",
        )],
    );
    let tree = Fail2banTree::load(t.path()).unwrap();
    let f = tree.filter("demo", &[]).unwrap();
    assert_eq!(
        f.failregex,
        [r"^\S+: bad login from <HOST>$", "^extra <HOST>$"]
    );
    assert_eq!(f.ignoreregex, ["^ignored"]);
    let e = tree.filter("nope", &[]).unwrap_err().to_string();
    assert!(e.contains("filter") && e.contains("nope"), "{e}");
}

#[test]
fn broken_jails_are_reported_by_name() {
    let t = demo_tree(
        "broken",
        &[(
            "jail.local",
            "[nofilter]\nenabled = true\nfilter = missing\nlogpath = /x\n\
             [badref]\nenabled = true\nfilter = demo\nlogpath = %(undefined)s\n",
        )],
    );
    let tree = Fail2banTree::load(t.path()).unwrap();
    let names: Vec<&str> = tree.jails().iter().map(|j| j.name.as_str()).collect();
    assert_eq!(names, ["demo"]);
    let skipped: Vec<String> = tree
        .skipped()
        .iter()
        .map(|(n, e)| format!("{n}: {e}"))
        .collect();
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert!(
        skipped[0].contains("nofilter") && skipped[0].contains("missing"),
        "{skipped:?}"
    );
    assert!(
        skipped[1].contains("jail.local") && skipped[1].contains("[badref] logpath"),
        "{skipped:?}"
    );
}

/// The import must be TOML, and apart from the one key the integrator has
/// still to add (`fail2ban-filter`), bantam's own options must accept it.
fn check_native(text: &str) -> toml::Table {
    let table: toml::Table = toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let mut stripped = table.clone();
    if let Some(toml::Value::Table(jails)) = stripped.get_mut("jails") {
        for (_, jail) in jails.iter_mut() {
            if let toml::Value::Table(j) = jail {
                j.remove("fail2ban-filter");
            }
        }
    }
    let again = toml::to_string(&stripped).unwrap();
    let _: crate::options::Options =
        toml::from_str(&again).unwrap_or_else(|e| panic!("{e}\n{again}"));
    table
}

/// Found by fuzzing (fuzz target `fail2ban_ini`): a control character in a
/// value that the import keeps as a comment made the import invalid TOML.
#[test]
fn import_comments_escape_control_characters() {
    let t = demo_tree(
        "import-control",
        &[("jail.local", "[demo]\ndatepattern = ^%%Y\0-%%m\r\x7f\tx\n")],
    );
    let tree = Fail2banTree::load(t.path()).unwrap();
    let text = super::render_native_toml(&tree);
    check_native(&text);
    assert!(text.contains("^%Y\\u{0}-%m\\u{d}\\u{7f}\tx"), "{text}");
}

#[test]
fn import_renders_native_toml() {
    let t = demo_tree(
        "import",
        &[
            (
                "filter.d/sshd.conf",
                "[Definition]\nfailregex = ^sshd says <HOST>$\n",
            ),
            (
                "jail.local",
                "[sshd]\nenabled = true\nmode = aggressive\nlogpath = /var/log/auth.log\n\
                 action = fw\n         mailer[dest=\"root@example.org\"]\n\
                 [journal]\nenabled = true\nfilter = demo\nbackend = systemd\n\
                 bantime.increment = true\n",
            ),
            (
                "action.d/mailer.conf",
                "[Definition]\nactionban = mail <dest>\n",
            ),
            ("action.d/nftables-multiport.conf", FW_ACTION),
            (
                "jail.d/banaction.local",
                "[DEFAULT]\nbanaction = nftables-multiport\n",
            ),
        ],
    );
    let tree = Fail2banTree::load(t.path()).unwrap();
    let text = super::render_native_toml(&tree);
    let table = check_native(&text);
    let jails = table["jails"].as_table().unwrap();
    let demo = jails["demo"].as_table().unwrap();
    let demo_filter = t.path().join("filter.d/demo.conf");
    assert_eq!(
        demo["fail2ban-filter"].as_str(),
        Some(demo_filter.to_str().unwrap())
    );
    assert_eq!(demo["bantime"].as_str(), Some("1d12h"));
    assert_eq!(demo["maxretry"].as_integer(), Some(3));
    assert_eq!(demo["failregex"].as_array().unwrap().len(), 1, "{text}");
    // Its firewall action names the backend that works like it.
    assert_eq!(demo["banaction"].as_str(), Some("nftables"), "{text}");
    let sshd = jails["sshd"].as_table().unwrap();
    assert!(
        sshd.get("banaction").is_none(),
        "fw is no firewall family: {text}"
    );
    assert_eq!(sshd["filter"].as_str(), Some("sshd"), "{text}");
    assert_eq!(sshd["mode"].as_str(), Some("aggressive"));
    assert_eq!(jails["journal"]["enabled"].as_bool(), Some(false));
    assert!(
        text.contains("# not translated: action mailer[dest=\"root@example.org\"]"),
        "{text}"
    );
    assert!(
        text.contains("# not translated: backend = systemd"),
        "{text}"
    );
    assert!(
        text.contains("# not translated: bantime.increment = True"),
        "{text}"
    );
    assert!(
        text.contains(
            "# action nftables-multiport[port=\"22,2222\", protocol=\"tcp\"]: bantam's own"
        ),
        "{text}"
    );
    assert!(text.contains("# not translated: action fw\n"), "{text}");
}

#[test]
fn import_of_the_installed_tree_is_valid() {
    let etc = Path::new("/etc/fail2ban");
    if !etc.join("jail.conf").is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "/etc/fail2ban missing under CI"
        );
        return;
    }
    let tree = Fail2banTree::load(etc).unwrap();
    let text = super::render_native_toml(&tree);
    check_native(&text);
}
