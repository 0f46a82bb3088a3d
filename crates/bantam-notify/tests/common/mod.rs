//! Real servers for the notification tests: aiosmtpd (Debian's
//! python3-aiosmtpd) writing a maildir, a Python HTTP server writing each
//! POST to a file, and servers that refuse or never answer. Each is killed
//! on drop.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bantam_config::NotifySettings;
use bantam_notify::{BanFacts, Event, Notifier};

pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn wait_listening(port: u16) {
    wait_for("the test server", Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

/// aiosmtpd delivering into a maildir (`dir/new/`).
pub fn smtp_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir.path().join("mail"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 -m aiosmtpd (apt install python3-aiosmtpd)");
    wait_listening(port);
    Server { child, port, dir }
}

/// The messages aiosmtpd stored so far, as text.
pub fn mails(server: &Server) -> Vec<String> {
    let new = server.dir.path().join("mail/new");
    let Ok(entries) = std::fs::read_dir(&new) else {
        return Vec::new();
    };
    let mut out: Vec<(PathBuf, String)> = entries
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    out.sort();
    out.into_iter().map(|(_, text)| text).collect()
}

/// A message's headers (unfolded), name lower-cased.
pub fn headers(mail: &str) -> Vec<(String, String)> {
    let head = mail.split("\n\n").next().unwrap_or("");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push_str(line);
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            out.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    out
}

pub fn header(mail: &str, name: &str) -> Option<String> {
    headers(mail)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
}

/// An HTTP server appending each POST as `PATH BODY` (one line) to
/// `dir/posts`; the first `fail_first` requests are answered 500.
pub fn http_server(fail_first: u32) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let script = r#"
import http.server, sys
out, fails = sys.argv[2], [int(sys.argv[3])]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        if fails[0] > 0:
            fails[0] -= 1
            self.send_response(500); self.end_headers(); return
        with open(out, 'ab') as f:
            f.write(self.path.encode() + b' ' + self.headers.get('Content-Type', '').encode() + b' ' + body + b'\n')
        self.send_response(200); self.end_headers(); self.wfile.write(b'ok')
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
"#;
    let child = Command::new("/usr/bin/python3")
        .args(["-c", script, &port.to_string()])
        .arg(dir.path().join("posts"))
        .arg(fail_first.to_string())
        .spawn()
        .unwrap();
    wait_listening(port);
    Server { child, port, dir }
}

/// `(path, content type, body)` of each POST so far.
pub fn posts(server: &Server) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(server.dir.path().join("posts")).unwrap_or_default();
    text.lines()
        .map(|l| {
            let mut parts = l.splitn(3, ' ');
            let path = parts.next().unwrap_or("").to_owned();
            let ctype = parts.next().unwrap_or("").to_owned();
            (path, ctype, parts.next().unwrap_or("").to_owned())
        })
        .collect()
}

/// A server that accepts connections and never says a word.
pub fn hanging_server() -> (std::thread::JoinHandle<()>, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            if held.len() > 1000 {
                break;
            }
        }
    });
    (thread, port)
}

pub fn settings(toml: &str) -> NotifySettings {
    bantam_config::parse(Path::new("/etc/bantam/test.toml"), toml)
        .unwrap_or_else(|e| panic!("{e}"))
        .notify
}

pub fn notifier(toml: &str, server: &str) -> Notifier {
    let mut n = Notifier::new(&settings(toml), server, |m| eprintln!("warn: {m}")).unwrap();
    n.start();
    n
}

pub fn ban(address: &str, matches: &[&str]) -> Event {
    Event::Ban(BanFacts {
        jail: "sshd".into(),
        address: address.into(),
        failures: 5,
        matches: matches.iter().map(|m| m.to_string()).collect(),
        bantime: Some(Duration::from_secs(600)),
        bancount: 1,
        time: jiff::Timestamp::now(),
    })
}
