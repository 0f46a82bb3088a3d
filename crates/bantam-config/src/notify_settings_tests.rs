use std::path::Path;
use std::time::Duration;

use super::*;
use crate::settings::parse;

fn notify(text: &str) -> Result<NotifySettings, String> {
    parse(Path::new("/etc/bantam/bantam.toml"), text)
        .map(|s| s.notify)
        .map_err(|e| e.to_string())
}

const MAIL: &str = "[notify.mail]\nurl = 'smtp://mail.example.org:587'\n\
                    from = 'bantam@example.org'\nto = ['ops@example.org']\n";

#[test]
fn nothing_configured_is_no_channel() {
    assert_eq!(notify("").unwrap(), NotifySettings::default());
}

#[test]
fn mail_defaults() {
    let mail = notify(MAIL).unwrap().mail.unwrap();
    assert_eq!(
        mail.transport,
        MailTransport::Smtp {
            host: "mail.example.org".into(),
            port: 587,
            tls: SmtpTls::Opportunistic
        }
    );
    assert_eq!(mail.to, ["ops@example.org"]);
    assert_eq!(mail.subject.to_string(), DEFAULT_SUBJECT);
    assert_eq!(mail.channel.events, [EventKind::Ban]);
    assert_eq!(mail.channel.queue, 1000);
    assert_eq!(mail.channel.retries, 5);
    assert_eq!(mail.channel.timeout, Duration::from_secs(10));
    assert_eq!(mail.digest, None);
    assert_eq!(mail.auth, None);
}

#[test]
fn transports_tls_and_auth() {
    let with = |extra: &str| notify(&format!("{MAIL}{extra}")).map(|n| n.mail.unwrap());
    let m = with("user = 'u'\npassword-env = 'SMTP_PW'\n").unwrap();
    assert!(matches!(
        m.transport,
        MailTransport::Smtp {
            tls: SmtpTls::Required,
            ..
        }
    ));
    assert_eq!(
        m.auth.unwrap().password,
        PasswordSource::Env("SMTP_PW".into())
    );
    let m = with("user = 'u'\npassword-file = 'pw'\n").unwrap();
    assert_eq!(
        m.auth.unwrap().password,
        PasswordSource::File("/etc/bantam/pw".into())
    );
    let m = with("starttls = 'off'\n").unwrap();
    assert!(matches!(
        m.transport,
        MailTransport::Smtp {
            tls: SmtpTls::Off,
            ..
        }
    ));
    let smtps = notify(&MAIL.replace("smtp://mail.example.org:587", "smtps://[2001:db8::25]"));
    let smtps = smtps.unwrap().mail.unwrap().transport;
    assert_eq!(
        smtps,
        MailTransport::Smtp {
            host: "2001:db8::25".into(),
            port: 465,
            tls: SmtpTls::Wrapper
        }
    );
    let local = notify(&MAIL.replace("smtp://mail.example.org:587", "sendmail"));
    assert_eq!(
        local.unwrap().mail.unwrap().transport,
        MailTransport::Sendmail("/usr/sbin/sendmail".into())
    );
}

#[test]
fn digests() {
    let with = |extra: &str| notify(&format!("{MAIL}{extra}")).map(|n| n.mail.unwrap().digest);
    assert_eq!(
        with("digest = 'daily'\ndigest-at = '07:30'\n").unwrap(),
        Some(Digest::Daily {
            hour: 7,
            minute: 30
        })
    );
    assert_eq!(
        with("digest = 'daily'\n").unwrap(),
        Some(Digest::Daily { hour: 0, minute: 0 })
    );
    assert_eq!(
        with("digest = 3\n").unwrap(),
        Some(Digest::Every(Duration::from_secs(3)))
    );
    assert_eq!(
        with("digest = '1h'\ndigest-at = '07:30'\n").unwrap_err(),
        "/etc/bantam/bantam.toml:6: notify.mail.digest-at: applies to digest = \"daily\" only"
    );
    assert_eq!(
        with("digest = 'daily'\ndigest-at = '24:00'\n").unwrap_err(),
        "/etc/bantam/bantam.toml:6: notify.mail.digest-at: \"24:00\": expected HH:MM (00:00 to 23:59)"
    );
}

#[test]
fn mistakes_name_file_line_and_key() {
    let cases = [
        (
            format!("{MAIL}subject = '{{jail}} banned {{adress}}'\n"),
            "/etc/bantam/bantam.toml:5: notify.mail.subject: unknown field {adress} (known: jail, address, failures, matches, bantime, bancount, server)",
        ),
        (
            format!("{MAIL}subject = '{{jail}} banned {{address}}'\n"),
            "/etc/bantam/bantam.toml:5: notify.mail.subject: must name {server}: every subject says which server it is from",
        ),
        (
            MAIL.replace("smtp://mail.example.org:587", "http://x"),
            "/etc/bantam/bantam.toml:2: notify.mail.url: \"http://x\": use smtp://HOST:PORT, smtps://HOST:PORT or sendmail",
        ),
        (
            MAIL.replace("['ops@example.org']", "[\"ops@example.org\\r\\nBcc: x@example.org\"]"),
            "/etc/bantam/bantam.toml:4: notify.mail.to: \"ops@example.org\\r\\nBcc: x@example.org\" is not a mail address (user@domain)",
        ),
        (
            format!("{MAIL}user = 'u'\n"),
            "/etc/bantam/bantam.toml:5: notify.mail.user: needs password-file or password-env",
        ),
        (
            format!("{MAIL}events = ['ban', 'unbanned']\n"),
            "/etc/bantam/bantam.toml:5: notify.mail.events: unknown event \"unbanned\" (ban, unban, start, stop)",
        ),
        (
            "[notify.mail]\nurl = 'sendmail'\nto = ['a@example.org']\n".to_owned(),
            "/etc/bantam/bantam.toml:1: notify.mail.from: missing",
        ),
        (
            "[notify.webhook]\nurl = 'ftp://x'\n".to_owned(),
            "/etc/bantam/bantam.toml:2: notify.webhook.url: \"ftp://x\": must be an http:// or https:// URL",
        ),
        (
            "[notify.webhook]\nurl = 'https://x.example.org/'\nformat = 'teams'\n".to_owned(),
            "/etc/bantam/bantam.toml:3: notify.webhook.format: unknown format \"teams\" (json, slack, discord, ntfy)",
        ),
        (
            "[notify.webhook]\nurl = 'https://x.example.org/'\nqueue = 0\n".to_owned(),
            "/etc/bantam/bantam.toml:3: notify.webhook.queue: 0: must be 1 to 1000000",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(notify(&text).unwrap_err(), want, "{text}");
    }
}

#[test]
fn webhook_settings() {
    let w = notify(
        "[notify.webhook]\nurl = 'https://ntfy.example.org/bans'\nformat = 'ntfy'\n\
         events = ['ban', 'start']\njails = ['sshd']\nretries = 0\ntimeout = '2s'\n",
    )
    .unwrap()
    .webhook
    .unwrap();
    assert_eq!(w.format, WebhookFormat::Ntfy);
    assert_eq!(w.channel.events, [EventKind::Ban, EventKind::Start]);
    assert_eq!(w.channel.jails.as_deref(), Some(&["sshd".to_owned()][..]));
    assert_eq!(w.channel.retries, 0);
    assert_eq!(w.channel.timeout, Duration::from_secs(2));
    assert_eq!(w.text.to_string(), DEFAULT_TEXT);
}

/// The commented `[notify.*]` example of dist/bantam.toml, switched on,
/// is a valid configuration (one password source of the two).
#[test]
fn the_shipped_notify_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist/bantam.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("# [notify.mail]").unwrap();
    let on: String = text[start..]
        .lines()
        .filter(|l| !l.starts_with("# password-env"))
        .map(|l| format!("{}\n", l.strip_prefix("# ").unwrap_or("")))
        .collect();
    let n = notify(&on).unwrap();
    let mail = n.mail.unwrap();
    assert_eq!(
        mail.digest,
        Some(Digest::Daily {
            hour: 7,
            minute: 30
        })
    );
    assert_eq!(n.webhook.unwrap().format, WebhookFormat::Slack);
}
