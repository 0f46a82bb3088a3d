//! The shipped `scanner` filter end to end: a real nginx in a network
//! namespace, a real crawl of its small static site (every page and asset,
//! broken links and a member's typos included) by one address, the probe
//! list from another, and the dry-run daemon reading nginx's access log with
//! a jail that names only the filter (log path set here; maxretry, findtime
//! and bantime from the filter's default jail). The prober is banned, the
//! crawler never.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use support::{control, dry_run, require_root, wait_control, wait_for, Net, Proc};

const SERVER: &str = "192.0.2.1";
const CRAWLER: &str = "192.0.2.21";
const TYPIST: &str = "192.0.2.30";
const PROBER: &str = "192.0.2.66";

const PROBES: &[&str] = &[
    "/phpMyAdmin-2.5.6/main.php",
    "/phpmyadmin/index.php",
    "/pma/",
    "/.env",
    "/.git/config",
    "/cgi-bin/test-cgi",
    "/wp-login.php",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
];

const TYPOS: &[&str] = &[
    "/contcat.html",
    "/blog/frist-post.html",
    "/index.php",
    "/admin",
    "/login",
    "/favicon.ico",
    "/apple-touch-icon.png",
    "/.well-known/security.txt",
    "/search?q=phpmyadmin+tutorial",
    "/blog/how-to-secure-.env-files.html",
    "/docs/git-tutorial.html",
];

fn page(site: &Path, path: &str, links: &[&str]) {
    let mut html = String::from(
        "<html><head><link rel=stylesheet href=/css/site.css><script src=/site.js></script></head><body><img src=/img/logo.png>",
    );
    for l in links {
        html += &format!("<a href=\"{l}\">{l}</a>");
    }
    let file = site.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, html + "</body></html>").unwrap();
}

fn site(dir: &Path) {
    let site = dir.join("site");
    page(
        &site,
        "/index.html",
        &["/about.html", "/blog/", "/docs/guide.html"],
    );
    page(&site, "/about.html", &["/", "/docs/"]);
    page(
        &site,
        "/blog/index.html",
        &["/blog/first-post.html", "/blog/old-post.html"],
    );
    page(
        &site,
        "/blog/first-post.html",
        &["/blog/", "/img/photo.jpg"],
    );
    page(&site, "/docs/index.html", &["/docs/guide.html"]);
    // /docs/install.html and /blog/old-post.html are broken links.
    page(&site, "/docs/guide.html", &["/docs/", "/docs/install.html"]);
    for (f, text) in [
        ("css/site.css", "body{background:url(/img/bg.png)}"),
        ("site.js", "1;"),
        ("img/logo.png", "png"),
        ("img/bg.png", "png"),
        ("img/photo.jpg", "jpg"),
        ("robots.txt", "User-agent: *\n"),
    ] {
        let path = site.join(f);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn start_nginx(net: &Net, dir: &Path) -> Proc {
    let d = dir.display();
    let conf = format!(
        "user root;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\n\
         http {{\n client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;\n \
         uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n access_log {d}/access.log combined;\n \
         server {{ listen {SERVER}:8080; root {d}/site; }}\n}}\n"
    );
    std::fs::create_dir_all(dir.join("tmp")).unwrap();
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let conf = dir.join("nginx.conf");
    let child = net
        .exec(&net.server, &["nginx", "-c", conf.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let proc = Proc(child);
    wait_for("nginx", Duration::from_secs(10), || {
        get(net, CRAWLER, "/robots.txt").is_some()
    });
    proc
}

/// One GET from `from`; the status, if the server answered.
fn get(net: &Net, from: &str, path: &str) -> Option<String> {
    let out = net
        .exec(
            &net.client,
            &[
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "5",
                "--path-as-is",
                "--interface",
                from,
                &format!("http://{SERVER}:8080{path}"),
            ],
        )
        .output()
        .unwrap();
    let code = String::from_utf8_lossy(&out.stdout).into_owned();
    (code != "000" && !code.is_empty()).then_some(code)
}

fn banned(socket: &Path) -> String {
    String::from_utf8_lossy(&control(socket, &["banned", "--json"]).stdout).into_owned()
}

#[test]
fn a_crawl_bans_nothing_and_the_probe_list_bans_the_prober() {
    if !require_root("a_crawl_bans_nothing_and_the_probe_list_bans_the_prober") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    site(dir.path());
    let net = Net::new(
        "scan",
        &["192.0.2.1/24"],
        &["192.0.2.21/24", "192.0.2.30/24", "192.0.2.66/24"],
    );
    let _nginx = start_nginx(&net, dir.path());

    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n[jails.web]\nfilter = \"scanner\"\nlogpath = \"{}\"\n",
            dir.path().join("state").display(),
            socket.display(),
            dir.path().join("access.log").display()
        ),
    )
    .unwrap();
    let _daemon = dry_run(&config, &socket, Stdio::null());
    wait_control(&socket);

    let crawl_dir = dir.path().join("crawl");
    let status = net
        .exec(
            &net.client,
            &[
                "wget",
                "-q",
                "-r",
                "-l",
                "6",
                "-p",
                "-P",
                crawl_dir.to_str().unwrap(),
                "--bind-address",
                CRAWLER,
                &format!("http://{SERVER}:8080/"),
            ],
        )
        .status()
        .unwrap();
    // wget exits 8 when some links were broken, as they are here on purpose.
    assert!(matches!(status.code(), Some(0 | 8)), "wget: {status}");
    assert!(crawl_dir
        .join(format!("{SERVER}:8080/docs/guide.html"))
        .exists());
    for typo in TYPOS {
        assert!(get(&net, TYPIST, typo).is_some(), "{typo}");
    }
    for probe in PROBES {
        assert_eq!(get(&net, PROBER, probe).as_deref(), Some("404"), "{probe}");
    }
    wait_for("the prober's ban", Duration::from_secs(15), || {
        banned(&socket).contains(PROBER)
    });
    // The log is read in order: the crawl and the typos came before the
    // probes, so they have been judged by now.
    let bans = banned(&socket);
    assert!(!bans.contains(CRAWLER), "the crawler was banned: {bans}");
    assert!(
        !bans.contains(TYPIST),
        "a member's typos were banned: {bans}"
    );
    let log = std::fs::read_to_string(dir.path().join("access.log")).unwrap();
    let crawled = log.lines().filter(|l| l.starts_with(CRAWLER)).count();
    assert!(crawled >= 12, "the crawl made only {crawled} requests");
    assert!(log
        .lines()
        .any(|l| l.starts_with(CRAWLER) && l.contains("\" 404 ")));
}
