//! Mail to a real SMTP server (aiosmtpd): the server name in the subject,
//! digests, header injection, and a dead or hanging server that never
//! holds up the caller.

mod common;

use std::time::{Duration, Instant};

use common::*;

fn mail_toml(port: u16, extra: &str) -> String {
    format!(
        "[notify.mail]\nurl = 'smtp://127.0.0.1:{port}'\nfrom = 'bantam@example.org'\n\
         to = ['ops@example.org']\n{extra}"
    )
}

#[test]
fn a_ban_mail_names_the_server_in_its_subject() {
    let smtp = smtp_server();
    let n = notifier(&mail_toml(smtp.port, ""), "web-03");
    n.push(ban(
        "203.0.113.7",
        &["Failed password for root from 203.0.113.7"],
    ));
    wait_for("the mail", Duration::from_secs(20), || {
        mails(&smtp).len() == 1
    });
    let mail = &mails(&smtp)[0];
    assert_eq!(
        header(mail, "subject").unwrap(),
        "[bantam web-03] sshd: banned 203.0.113.7 (5 failures)"
    );
    assert!(
        mail.contains("Failed password for root from 203.0.113.7"),
        "{mail}"
    );
    assert!(mail.contains("for 10m after 5 failures"), "{mail}");
    assert_eq!(header(mail, "x-rcptto").unwrap(), "ops@example.org");
    // The server files the mail at the end of DATA, before the client has
    // read the reply and said QUIT: the counters follow a moment later.
    // Waiting for either outcome lets the assertion below say which.
    wait_for("the delivery's outcome", Duration::from_secs(20), || {
        let s = &n.status()[0];
        s.sent + s.failed >= 1
    });
    let status = &n.status()[0];
    assert_eq!(
        (status.channel.as_str(), status.sent, status.failed),
        ("mail", 1, 0)
    );
}

#[test]
fn other_events_say_which_server_too() {
    let smtp = smtp_server();
    let n = notifier(
        &mail_toml(smtp.port, "events = ['start', 'unban', 'stop']\n"),
        "web-03",
    );
    n.push(bantam_notify::Event::JailStart {
        jail: "sshd".into(),
    });
    n.push(ban("203.0.113.8", &[])); // not asked for
    if let bantam_notify::Event::Ban(b) = ban("203.0.113.9", &[]) {
        n.push(bantam_notify::Event::Unban(b));
    }
    n.shutdown(Duration::from_secs(20));
    let subjects: Vec<String> = mails(&smtp)
        .iter()
        .map(|m| header(m, "subject").unwrap())
        .collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(subjects.contains(&"[bantam web-03] sshd: jail started".to_owned()));
    assert!(subjects.contains(&"[bantam web-03] sshd: ban on 203.0.113.9 ended".to_owned()));
}

#[test]
fn a_digest_arrives_once_per_period_with_every_ban() {
    let smtp = smtp_server();
    let n = notifier(&mail_toml(smtp.port, "digest = '2s'\n"), "web-03");
    for i in 1..=3 {
        n.push(ban(&format!("203.0.113.{i}"), &["x"]));
    }
    wait_for("the digest", Duration::from_secs(20), || {
        !mails(&smtp).is_empty()
    });
    // Two more periods pass without bans: nothing more is sent.
    std::thread::sleep(Duration::from_secs(5));
    let all = mails(&smtp);
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(
        header(&all[0], "subject").unwrap(),
        "[bantam web-03] digest: 3 ban(s) in 1 jail(s)"
    );
    for i in 1..=3 {
        assert!(
            all[0].contains(&format!("sshd  203.0.113.{i}  5  1")),
            "{}",
            all[0]
        );
    }
}

#[test]
fn a_log_line_cannot_add_a_header() {
    let smtp = smtp_server();
    let extra = "subject = '[bantam {server}] {jail}: {matches}'\n";
    let n = notifier(&mail_toml(smtp.port, extra), "web-03");
    let line = "Invalid user x\r\nBcc: victim@example.org\r\nX-Evil: \"yes\" from 203.0.113.7";
    n.push(ban("203.0.113.7", &[line]));
    wait_for("the mail", Duration::from_secs(20), || {
        mails(&smtp).len() == 1
    });
    let mail = &mails(&smtp)[0];
    let names: Vec<String> = headers(mail).into_iter().map(|(n, _)| n).collect();
    assert!(!names.contains(&"bcc".to_owned()), "{mail}");
    assert!(!names.contains(&"x-evil".to_owned()), "{mail}");
    assert_eq!(header(mail, "x-rcptto").unwrap(), "ops@example.org");
    let subject = header(mail, "subject").unwrap();
    assert!(subject.starts_with("[bantam web-03] sshd: "), "{subject}");
}

#[test]
fn sendmail_gets_arguments_and_stdin_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("sendmail");
    let log = dir.path().join("out");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > {0}.args\ncat > {0}\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let toml = format!(
        "[notify.mail]\nurl = 'sendmail:{}'\nfrom = 'bantam@example.org'\nto = ['ops@example.org']\n",
        fake.display()
    );
    let n = notifier(&toml, "web-03");
    n.push(ban("203.0.113.7", &["x; rm -rf / $(id)"]));
    n.shutdown(Duration::from_secs(20));
    let args = std::fs::read_to_string(format!("{}.args", log.display())).unwrap();
    assert_eq!(args, "-i\n-f\nbantam@example.org\n--\nops@example.org\n");
    let mail = std::fs::read_to_string(&log).unwrap();
    assert!(
        mail.contains("Subject: [bantam web-03] sshd: banned 203.0.113.7"),
        "{mail}"
    );
    assert!(mail.contains("x; rm -rf / $(id)"), "{mail}");
}

/// A closed port and a server that never answers: pushes return at once,
/// the queue drops its oldest, failures are counted.
#[test]
fn dead_and_hanging_servers_never_hold_the_caller() {
    let closed = free_port();
    let (_hang, hanging) = hanging_server();
    for port in [closed, hanging] {
        let extra = "queue = 4\nretries = 1\ntimeout = '1s'\n";
        let n = notifier(&mail_toml(port, extra), "web-03");
        let start = Instant::now();
        for i in 0..1000 {
            n.push(ban(&format!("198.18.{}.{}", i / 250, i % 250 + 1), &["x"]));
        }
        let took = start.elapsed();
        assert!(
            took < Duration::from_millis(200),
            "1000 pushes took {took:?}"
        );
        let s = &n.status()[0];
        assert!(s.dropped >= 995, "{s:?}");
        wait_for("a failure", Duration::from_secs(20), || {
            n.status()[0].failed >= 1
        });
        assert!(n.status()[0].last_error.is_some());
        let start = Instant::now();
        n.shutdown(Duration::from_secs(2));
        assert!(start.elapsed() < Duration::from_secs(3));
    }
}
