//! Notifications through the daemon (a dry run reading standard input, no
//! root needed): a ban reaches a real SMTP server (aiosmtpd) and a real
//! HTTP server with the server name, jail start and stop are mailed, a log
//! line with quotes and a CR cannot break the JSON, and the channels'
//! counters are in `status --json`.

mod support;

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::{control, dry_run, wait_control, wait_for};

/// A child process killed on drop.
struct Kill(Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn listening(port: u16) {
    wait_for("a test server", Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
}

fn smtp_server(dir: &Path, port: u16) -> Kill {
    let child = Command::new("/usr/bin/python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(dir)
        .spawn()
        .expect("python3 -m aiosmtpd (apt install python3-aiosmtpd)");
    listening(port);
    Kill(child)
}

/// Appends each POST's body as one line to `out`.
fn http_server(out: &Path, port: u16) -> Kill {
    let script = r#"
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        with open(sys.argv[2], 'ab') as f:
            f.write(body + b'\n')
        self.send_response(200); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()
"#;
    let child = Command::new("/usr/bin/python3")
        .args(["-c", script, &port.to_string()])
        .arg(out)
        .spawn()
        .unwrap();
    listening(port);
    Kill(child)
}

fn subjects(maildir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(maildir.join("new")) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| std::fs::read_to_string(e.unwrap().path()).ok())
        .filter_map(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Subject: ").map(str::to_owned))
        })
        .collect()
}

#[test]
fn bans_and_jail_events_are_mailed_and_posted_with_the_server_name() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp_port, http_port) = (free_port(), free_port());
    let maildir = dir.path().join("mail");
    let posts = dir.path().join("posts");
    let _smtp = smtp_server(&maildir, smtp_port);
    let _http = http_server(&posts, http_port);
    let socket = dir.path().join("bantam.sock");
    let config = dir.path().join("bantam.toml");
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nserver-name = \"web-03\"\n\
             [jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"-\"]\nmaxretry = 1\n\
             [notify.mail]\nurl = \"smtp://127.0.0.1:{smtp_port}\"\nfrom = \"bantam@example.org\"\n\
             to = [\"ops@example.org\"]\nevents = [\"ban\", \"start\", \"stop\"]\n\
             [notify.webhook]\nurl = \"http://127.0.0.1:{http_port}/hook\"\n",
            dir.path().join("state").display()
        ),
    )
    .unwrap();
    let mut daemon = dry_run(&config, &socket, Stdio::piped());
    wait_control(&socket);
    let line = "Failed password for invalid user a\"b\r\\ from 203.0.113.7 port 4242 ssh2\n";
    let mut stdin = daemon.0.stdin.take().unwrap();
    stdin.write_all(line.as_bytes()).unwrap();
    stdin.flush().unwrap();
    wait_for("the webhook", Duration::from_secs(20), || posts.exists());
    let body = std::fs::read_to_string(&posts).unwrap();
    let json: serde_json::Value = serde_json::from_str(body.lines().next().unwrap()).unwrap();
    assert_eq!(json["server"], "web-03");
    assert_eq!(json["event"], "ban");
    assert_eq!(json["address"], "203.0.113.7");
    let matched = json["matches"][0].as_str().unwrap();
    assert!(
        matched.contains("invalid user a\"b\u{FFFD}\\ from"),
        "{matched}"
    );
    let want = [
        "[bantam web-03] sshd: jail started",
        "[bantam web-03] sshd: banned 203.0.113.7 (1 failures)",
    ];
    wait_for("the mails", Duration::from_secs(20), || {
        want.iter()
            .all(|w| subjects(&maildir).iter().any(|s| s == w))
    });
    let out = control(&socket, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let channels = status["notify"].as_array().unwrap();
    assert_eq!(channels.len(), 2, "{status}");
    assert_eq!(channels[1]["channel"], "webhook");
    assert_eq!(channels[1]["sent"], 1);
    assert_eq!(channels[1]["dropped"], 0);
    // Standard input's reader ends with the pipe.
    drop(stdin);
    assert!(control(&socket, &["stop"]).status.success());
    let _ = daemon.0.wait();
    let stopped = "[bantam web-03] sshd: jail stopped".to_owned();
    assert!(
        subjects(&maildir).contains(&stopped),
        "{:?}",
        subjects(&maildir)
    );
}
