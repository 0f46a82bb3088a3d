//! Mail: SMTP through lettre (STARTTLS or TLS with rustls, no OpenSSL), or
//! the local `sendmail` binary.
//!
//! Header safety does not rest on the mail library alone: a subject is
//! rendered, then every control character in it becomes a space, so a
//! user name `x\r\nBcc: …` captured from a log can never start a header.
//! Bodies are plain text with log lines cleaned of control characters.
//! `sendmail` gets an argument vector (recipients from the configuration,
//! after `--`) and the message on standard input: no shell, ever.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bantam_config::notify_settings::{
    MailAuth, MailSettings, MailTransport, PasswordSource, SmtpTls,
};
use bantam_config::template::Template;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{Message, SmtpTransport, Transport};

use crate::channel::{Failure, Outgoing, Sink};
use crate::digest::Report;
use crate::error::NotifyError;
use crate::event::{clean_line, header_line, Event};

/// Longest subject kept; mail clients show far less anyway.
const SUBJECT_MAX: usize = 200;

pub(crate) struct Mailer {
    transport: Way,
    from: Mailbox,
    to: Vec<Mailbox>,
    subject: Template,
    body: Template,
    server: String,
    timeout: Duration,
}

enum Way {
    Smtp(Box<SmtpTransport>),
    Sendmail(PathBuf),
}

impl Mailer {
    pub fn new(settings: &MailSettings, server: &str) -> Result<Mailer, NotifyError> {
        let mailbox = |text: &str| {
            text.parse::<Mailbox>()
                .map_err(|e| NotifyError::Mail(format!("{text:?}: {e}")))
        };
        let timeout = settings.channel.timeout;
        let transport = match &settings.transport {
            MailTransport::Sendmail(path) => Way::Sendmail(path.clone()),
            MailTransport::Smtp { host, port, tls } => {
                let smtp = smtp(host, *port, *tls, settings.auth.as_ref(), server, timeout)?;
                Way::Smtp(Box::new(smtp))
            }
        };
        Ok(Mailer {
            transport,
            from: mailbox(&settings.from)?,
            to: settings
                .to
                .iter()
                .map(|t| mailbox(t))
                .collect::<Result<_, _>>()?,
            subject: settings.subject.clone(),
            body: settings.body.clone(),
            server: server.to_owned(),
            timeout,
        })
    }

    /// Subject and body of `message`.
    fn texts(&self, message: &Outgoing) -> (String, String) {
        let prefix = format!("[bantam {}]", self.server);
        match message {
            Outgoing::Event(Event::Ban(ban)) => (
                self.subject.render(|f| ban.field(f, &self.server)),
                self.body.render(|f| ban.field(f, &self.server)),
            ),
            Outgoing::Event(other) => {
                let line = other.summary();
                (
                    format!("{prefix} {line}"),
                    format!("{line} (on {})\n", self.server),
                )
            }
            Outgoing::Digest(report) => digest_texts(&prefix, report),
        }
    }

    fn message(&self, subject: &str, body: String) -> Result<Message, Failure> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(header_line(subject, SUBJECT_MAX))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .body(body)
            .map_err(|e| Failure::permanent(format!("cannot build the message: {e}")))
    }
}

impl Sink for Mailer {
    fn send(&mut self, message: &Outgoing) -> Result<(), Failure> {
        let (subject, body) = self.texts(message);
        let mail = self.message(&subject, body)?;
        match &self.transport {
            Way::Smtp(smtp) => smtp.send(&mail).map(drop).map_err(|e| {
                // 5xx answers are final (a refused recipient); the rest
                // (refused connection, timeout, 4xx) may pass later.
                match e.is_permanent() {
                    true => Failure::permanent(format!("SMTP: {e}")),
                    false => Failure::transient(format!("SMTP: {e}")),
                }
            }),
            Way::Sendmail(path) => {
                let from = self.from.email.to_string();
                let to: Vec<String> = self.to.iter().map(|m| m.email.to_string()).collect();
                sendmail(path, &from, &to, &mail.formatted(), self.timeout)
            }
        }
    }
}

fn smtp(
    host: &str,
    port: u16,
    tls: SmtpTls,
    auth: Option<&MailAuth>,
    server: &str,
    timeout: Duration,
) -> Result<SmtpTransport, NotifyError> {
    let params = || {
        TlsParameters::new(host.to_owned())
            .map_err(|e| NotifyError::Mail(format!("TLS for {host}: {e}")))
    };
    let mut builder = SmtpTransport::builder_dangerous(host)
        .port(port)
        .timeout(Some(timeout))
        .hello_name(hello_name(server));
    builder = match tls {
        SmtpTls::Off => builder.tls(Tls::None),
        SmtpTls::Opportunistic => builder.tls(Tls::Opportunistic(params()?)),
        SmtpTls::Required => builder.tls(Tls::Required(params()?)),
        SmtpTls::Wrapper => builder.tls(Tls::Wrapper(params()?)),
    };
    if let Some(auth) = auth {
        builder = builder.credentials(Credentials::new(auth.user.clone(), password(auth)?));
    }
    Ok(builder.build())
}

/// The EHLO name: the server name when it is a host name, else
/// `localhost` (a display name such as `web 03 (Paris)` is fine in a
/// subject but not in SMTP's greeting).
fn hello_name(server: &str) -> ClientId {
    let host_like = !server.is_empty()
        && server
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    ClientId::Domain(if host_like { server } else { "localhost" }.to_owned())
}

/// Read once at start; kept only inside the transport, never logged.
fn password(auth: &MailAuth) -> Result<String, NotifyError> {
    match &auth.password {
        PasswordSource::File(path) => std::fs::read_to_string(path)
            .map(|p| p.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|error| NotifyError::PasswordFile {
                path: path.clone(),
                error,
            }),
        PasswordSource::Env(name) => {
            std::env::var(name).map_err(|_| NotifyError::PasswordEnv(name.clone()))
        }
    }
}

/// Runs `sendmail -i -f FROM -- TO…` with the message on stdin, killed at
/// `timeout`.
fn sendmail(
    path: &PathBuf,
    from: &str,
    to: &[String],
    message: &[u8],
    timeout: Duration,
) -> Result<(), Failure> {
    let mut child = Command::new(path)
        .args(["-i", "-f", from, "--"])
        .args(to)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::transient(format!("{}: {e}", path.display())))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A sendmail that exits early closes the pipe: its status says why.
        let _ = stdin.write_all(message);
    }
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
                }
                let why = clean_line(err.trim());
                return Err(Failure::transient(format!(
                    "{}: {status}: {why}",
                    path.display()
                )));
            }
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure::transient(format!(
                    "{}: no answer within {timeout:?}, killed",
                    path.display()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(Failure::transient(format!("{}: {e}", path.display()))),
        }
    }
}

fn digest_texts(prefix: &str, report: &Report) -> (String, String) {
    let jails = report.per_jail();
    let total = report.total_bans();
    let subject = format!("{prefix} digest: {total} ban(s) in {} jail(s)", jails.len());
    let stamp = |t: Option<jiff::Timestamp>| t.map_or_else(String::new, |t| t.to_string());
    let mut body = format!(
        "From {} to {}: {total} ban(s), {} ended.\n\n",
        stamp(report.since),
        stamp(report.until),
        report.unbans
    );
    for (jail, count) in &jails {
        body.push_str(&format!("  {jail}: {count}\n"));
    }
    body.push_str("\ntime                  jail  address  failures  ban#\n");
    for ban in &report.bans {
        body.push_str(&format!(
            "{}  {}  {}  {}  {}\n",
            ban.time.round(jiff::Unit::Second).unwrap_or(ban.time),
            ban.jail,
            ban.address,
            ban.failures,
            ban.bancount
        ));
    }
    if report.more > 0 {
        body.push_str(&format!("… and {} more, not listed\n", report.more));
    }
    (subject, body)
}
