//! `[notify.mail]` and `[notify.webhook]`: options as written, and the
//! checked settings `bantam-notify` runs from.
//!
//! Secrets stay out of the settings: a password is named by where it lives
//! (a file or an environment variable) and read by `bantam-notify` when it
//! starts, so a `Debug` print of the settings, a reload diff or an error
//! message can never carry it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::error::ConfigError;
use crate::options::{DurationValue, OneOrMany};
use crate::settings::Cx;
use crate::template::Template;

/// `[notify]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NotifyOptions {
    pub mail: Option<Spanned<MailOptions>>,
    pub webhook: Option<Spanned<WebhookOptions>>,
}

/// `[notify.mail]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MailOptions {
    /// `smtp://host:port` (STARTTLS when offered; required with a
    /// password), `smtps://host:port` (TLS from the first byte), `sendmail`
    /// (`/usr/sbin/sendmail`) or `sendmail:/path/to/sendmail`.
    pub url: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<OneOrMany>>,
    /// SMTP user; needs `password-file` or `password-env`.
    pub user: Option<Spanned<String>>,
    pub password_file: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    /// `auto` (default), `required` or `off`, for `smtp://`.
    pub starttls: Option<Spanned<String>>,
    pub subject: Option<Spanned<String>>,
    pub body: Option<Spanned<String>>,
    pub events: Option<Spanned<Vec<String>>>,
    pub jails: Option<Vec<String>>,
    /// `daily`, or a period such as `1h` (`30s` in tests): one summary mail
    /// per period instead of a mail per ban and unban.
    pub digest: Option<Spanned<DurationValue>>,
    /// `HH:MM` local time a daily digest is sent (default `00:00`).
    pub digest_at: Option<Spanned<String>>,
    pub queue: Option<Spanned<i64>>,
    pub retries: Option<Spanned<i64>>,
    pub timeout: Option<Spanned<DurationValue>>,
}

/// `[notify.webhook]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WebhookOptions {
    pub url: Option<Spanned<String>>,
    /// `json` (default), `slack`, `discord` or `ntfy`.
    pub format: Option<Spanned<String>>,
    pub text: Option<Spanned<String>>,
    pub events: Option<Spanned<Vec<String>>>,
    pub jails: Option<Vec<String>>,
    pub queue: Option<Spanned<i64>>,
    pub retries: Option<Spanned<i64>>,
    pub timeout: Option<Spanned<DurationValue>>,
}

/// The keys every channel section has, as written.
struct ChannelKeys<'a> {
    events: Option<&'a Spanned<Vec<String>>>,
    jails: Option<&'a Vec<String>>,
    queue: Option<&'a Spanned<i64>>,
    retries: Option<&'a Spanned<i64>>,
    timeout: Option<&'a Spanned<DurationValue>>,
}

/// Notification channels; `None` where not configured.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySettings {
    pub mail: Option<MailSettings>,
    pub webhook: Option<WebhookSettings>,
}

/// What a channel reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Ban,
    Unban,
    Start,
    Stop,
}

/// What every channel has: which events, how much it buffers, how hard it
/// tries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSettings {
    pub events: Vec<EventKind>,
    /// Only these jails' events (`None`: every jail).
    pub jails: Option<Vec<String>>,
    /// Messages waiting before the oldest is dropped.
    pub queue: usize,
    /// Attempts after the first before a message is given up.
    pub retries: u32,
    /// One attempt's limit (connect, talk, answer).
    pub timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// STARTTLS if the server offers it.
    Opportunistic,
    /// STARTTLS or fail.
    Required,
    /// Plain text (a relay on localhost).
    Off,
    /// TLS from the first byte (`smtps://`).
    Wrapper,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTransport {
    Smtp {
        host: String,
        port: u16,
        tls: SmtpTls,
    },
    /// The local MTA's `sendmail` binary, run without a shell.
    Sendmail(PathBuf),
}

/// Where the SMTP password is read from at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    File(PathBuf),
    Env(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAuth {
    pub user: String,
    pub password: PasswordSource,
}

/// When digests go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// Every day at this local time (hour, minute).
    Daily { hour: u8, minute: u8 },
    /// Every period, counted from the start.
    Every(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    pub transport: MailTransport,
    pub from: String,
    pub to: Vec<String>,
    pub auth: Option<MailAuth>,
    /// Names `{server}`: every subject says which server.
    pub subject: Template,
    pub body: Template,
    pub digest: Option<Digest>,
    pub channel: ChannelSettings,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    Slack,
    Discord,
    Ntfy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookSettings {
    pub url: String,
    pub format: WebhookFormat,
    pub text: Template,
    pub channel: ChannelSettings,
}

pub const DEFAULT_SUBJECT: &str =
    "[bantam {server}] {jail}: banned {address} ({failures} failures)";
pub const DEFAULT_BODY: &str = "bantam on {server} banned {address} in jail {jail} for {bantime} \
after {failures} failures (ban number {bancount} of this address).\n\nMatched lines:\n{matches}\n";
pub const DEFAULT_TEXT: &str = "[{server}] {jail}: banned {address} ({failures} failures)";
const DEFAULT_QUEUE: usize = 1000;
const DEFAULT_RETRIES: u32 = 5;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The default subject, body and channel (for mappings that build a
/// channel without a TOML section).
pub(crate) fn defaults() -> (Template, Template, ChannelSettings) {
    let parse = |t| Template::parse(t).expect("the defaults parse");
    let channel = ChannelSettings {
        events: vec![EventKind::Ban],
        jails: None,
        queue: DEFAULT_QUEUE,
        retries: DEFAULT_RETRIES,
        timeout: DEFAULT_TIMEOUT,
    };
    (parse(DEFAULT_SUBJECT), parse(DEFAULT_BODY), channel)
}

impl Cx<'_> {
    pub(crate) fn notify(&self, n: Option<NotifyOptions>) -> Result<NotifySettings, ConfigError> {
        let Some(n) = n else {
            return Ok(NotifySettings::default());
        };
        Ok(NotifySettings {
            mail: n.mail.map(|m| self.mail(m)).transpose()?,
            webhook: n.webhook.map(|w| self.webhook(w)).transpose()?,
        })
    }

    fn mail(&self, section: Spanned<MailOptions>) -> Result<MailSettings, ConfigError> {
        let key = |k: &str| format!("notify.mail.{k}");
        let m = section.get_ref();
        let url = self.required(&section, &m.url, &key("url"))?;
        let transport = self.transport(url, m.starttls.as_ref(), m.user.is_some())?;
        let from = self.required(&section, &m.from, &key("from"))?;
        check_address(from.get_ref()).map_err(|e| self.err(from, &key("from"), e))?;
        let to_value = self.required(&section, &m.to, &key("to"))?;
        let to = to_value.get_ref().clone().into_vec();
        if to.is_empty() {
            return Err(self.err(to_value, &key("to"), "no recipient given".into()));
        }
        for address in &to {
            check_address(address).map_err(|e| self.err(to_value, &key("to"), e))?;
        }
        let subject = self.template(m.subject.as_ref(), DEFAULT_SUBJECT, &key("subject"))?;
        if !subject.uses("server") {
            let at = m.subject.as_ref().expect("the default names {server}");
            let why = "must name {server}: every subject says which server it is from";
            return Err(self.err(at, &key("subject"), why.into()));
        }
        Ok(MailSettings {
            transport,
            from: from.get_ref().clone(),
            to,
            auth: self.auth(m)?,
            subject,
            body: self.template(m.body.as_ref(), DEFAULT_BODY, &key("body"))?,
            digest: self.digest(m)?,
            channel: self.channel(
                "notify.mail",
                ChannelKeys {
                    events: m.events.as_ref(),
                    jails: m.jails.as_ref(),
                    queue: m.queue.as_ref(),
                    retries: m.retries.as_ref(),
                    timeout: m.timeout.as_ref(),
                },
            )?,
        })
    }

    fn webhook(&self, section: Spanned<WebhookOptions>) -> Result<WebhookSettings, ConfigError> {
        let key = |k: &str| format!("notify.webhook.{k}");
        let w = section.get_ref();
        let url = self.required(&section, &w.url, &key("url"))?;
        let text = url.get_ref();
        if !(text.starts_with("http://") || text.starts_with("https://"))
            || text.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            let why = format!("{text:?}: must be an http:// or https:// URL");
            return Err(self.err(url, &key("url"), why));
        }
        let format = match w.format.as_ref().map(|f| f.get_ref().as_str()) {
            None | Some("json") => WebhookFormat::Json,
            Some("slack") => WebhookFormat::Slack,
            Some("discord") => WebhookFormat::Discord,
            Some("ntfy") => WebhookFormat::Ntfy,
            Some(other) => {
                let at = w.format.as_ref().expect("matched Some");
                let why = format!("unknown format {other:?} (json, slack, discord, ntfy)");
                return Err(self.err(at, &key("format"), why));
            }
        };
        Ok(WebhookSettings {
            url: text.clone(),
            format,
            text: self.template(w.text.as_ref(), DEFAULT_TEXT, &key("text"))?,
            channel: self.channel(
                "notify.webhook",
                ChannelKeys {
                    events: w.events.as_ref(),
                    jails: w.jails.as_ref(),
                    queue: w.queue.as_ref(),
                    retries: w.retries.as_ref(),
                    timeout: w.timeout.as_ref(),
                },
            )?,
        })
    }

    fn required<'v, S, T>(
        &self,
        section: &Spanned<S>,
        value: &'v Option<Spanned<T>>,
        key: &str,
    ) -> Result<&'v Spanned<T>, ConfigError> {
        value
            .as_ref()
            .ok_or_else(|| self.err(section, key, "missing".into()))
    }

    fn template(
        &self,
        value: Option<&Spanned<String>>,
        default: &str,
        key: &str,
    ) -> Result<Template, ConfigError> {
        match value {
            None => Ok(Template::parse(default).expect("the defaults parse")),
            Some(v) => Template::parse(v.get_ref()).map_err(|e| self.err(v, key, e)),
        }
    }

    fn transport(
        &self,
        url: &Spanned<String>,
        starttls: Option<&Spanned<String>>,
        auth: bool,
    ) -> Result<MailTransport, ConfigError> {
        let key = "notify.mail.url";
        let text = url.get_ref().as_str();
        if text == "sendmail" {
            return Ok(MailTransport::Sendmail("/usr/sbin/sendmail".into()));
        }
        if let Some(path) = text.strip_prefix("sendmail:") {
            if !path.starts_with('/') {
                let why = format!("{text:?}: sendmail:PATH needs an absolute path");
                return Err(self.err(url, key, why));
            }
            return Ok(MailTransport::Sendmail(path.into()));
        }
        let (rest, default_port, wrapper) = match text.split_once("://") {
            Some(("smtp", rest)) => (rest, 25, false),
            Some(("smtps", rest)) => (rest, 465, true),
            _ => {
                let why = format!("{text:?}: use smtp://HOST:PORT, smtps://HOST:PORT or sendmail");
                return Err(self.err(url, key, why));
            }
        };
        let (host, port) = host_port(rest.trim_end_matches('/'), default_port)
            .map_err(|e| self.err(url, key, e))?;
        let tls = match (wrapper, starttls.map(|s| s.get_ref().as_str())) {
            (true, None) => SmtpTls::Wrapper,
            (true, Some(_)) => {
                let at = starttls.expect("matched Some");
                let why = "smtps:// is TLS from the start; starttls applies to smtp://";
                return Err(self.err(at, "notify.mail.starttls", why.into()));
            }
            // A password is never sent in clear text unless asked to.
            (false, None | Some("auto")) if auth => SmtpTls::Required,
            (false, None | Some("auto")) => SmtpTls::Opportunistic,
            (false, Some("required")) => SmtpTls::Required,
            (false, Some("off")) => SmtpTls::Off,
            (false, Some(other)) => {
                let at = starttls.expect("matched Some");
                let why = format!("unknown value {other:?} (auto, required, off)");
                return Err(self.err(at, "notify.mail.starttls", why));
            }
        };
        Ok(MailTransport::Smtp { host, port, tls })
    }

    fn auth(&self, m: &MailOptions) -> Result<Option<MailAuth>, ConfigError> {
        let key = "notify.mail.user";
        let password = match (&m.password_file, &m.password_env) {
            (Some(f), None) => Some(PasswordSource::File(
                // Relative to the file that names it, like filter files.
                self.path
                    .parent()
                    .unwrap_or(Path::new("."))
                    .join(f.get_ref()),
            )),
            (None, Some(e)) => Some(PasswordSource::Env(e.get_ref().clone())),
            (Some(f), Some(_)) => {
                let why = "give password-file or password-env, not both";
                return Err(self.err(f, "notify.mail.password-file", why.into()));
            }
            (None, None) => None,
        };
        match (&m.user, password) {
            (Some(user), Some(password)) => Ok(Some(MailAuth {
                user: user.get_ref().clone(),
                password,
            })),
            (None, None) => Ok(None),
            (Some(user), None) => {
                let why = "needs password-file or password-env";
                Err(self.err(user, key, why.into()))
            }
            (None, Some(_)) => {
                let at = m.password_file.as_ref().or(m.password_env.as_ref());
                let at = at.expect("a password source was given");
                Err(self.err(at, key, "a password without a user".into()))
            }
        }
    }

    fn digest(&self, m: &MailOptions) -> Result<Option<Digest>, ConfigError> {
        let daily = matches!(
            m.digest.as_ref().map(|d| d.get_ref()),
            Some(DurationValue::Text(t)) if t == "daily"
        );
        if let (Some(at), false) = (&m.digest_at, daily) {
            let why = "applies to digest = \"daily\" only";
            return Err(self.err(at, "notify.mail.digest-at", why.into()));
        }
        let Some(value) = &m.digest else {
            return Ok(None);
        };
        if daily {
            let (hour, minute) = match &m.digest_at {
                None => (0, 0),
                Some(at) => clock_time(at.get_ref())
                    .map_err(|e| self.err(at, "notify.mail.digest-at", e))?,
            };
            return Ok(Some(Digest::Daily { hour, minute }));
        }
        let period = self.duration(value, "notify.mail.digest")?;
        if period.is_zero() {
            let why = "must be \"daily\" or a period longer than 0";
            return Err(self.err(value, "notify.mail.digest", why.into()));
        }
        Ok(Some(Digest::Every(period)))
    }

    fn channel(
        &self,
        section: &str,
        keys: ChannelKeys<'_>,
    ) -> Result<ChannelSettings, ConfigError> {
        let ChannelKeys {
            events,
            jails,
            queue,
            retries,
            timeout,
        } = keys;
        let events = match events {
            None => vec![EventKind::Ban],
            Some(list) => list
                .get_ref()
                .iter()
                .map(|e| match e.as_str() {
                    "ban" => Ok(EventKind::Ban),
                    "unban" => Ok(EventKind::Unban),
                    "start" => Ok(EventKind::Start),
                    "stop" => Ok(EventKind::Stop),
                    other => Err(self.err(
                        list,
                        &format!("{section}.events"),
                        format!("unknown event {other:?} (ban, unban, start, stop)"),
                    )),
                })
                .collect::<Result<_, _>>()?,
        };
        let bounded = |v: Option<&Spanned<i64>>, key: &str, min: i64, max: i64, default: i64| {
            let Some(v) = v else { return Ok(default) };
            match *v.get_ref() {
                n if (min..=max).contains(&n) => Ok(n),
                n => Err(self.err(
                    v,
                    &format!("{section}.{key}"),
                    format!("{n}: must be {min} to {max}"),
                )),
            }
        };
        let timeout = match timeout {
            None => DEFAULT_TIMEOUT,
            Some(t) => match self.duration(t, &format!("{section}.timeout"))? {
                d if d.is_zero() => {
                    let why = "must be longer than 0".to_owned();
                    return Err(self.err(t, &format!("{section}.timeout"), why));
                }
                d => d,
            },
        };
        Ok(ChannelSettings {
            events,
            jails: jails.cloned(),
            queue: bounded(queue, "queue", 1, 1_000_000, DEFAULT_QUEUE as i64)? as usize,
            retries: bounded(retries, "retries", 0, 100, i64::from(DEFAULT_RETRIES))? as u32,
            timeout,
        })
    }
}

/// `host`, `host:port`, `[v6]:port`.
fn host_port(text: &str, default_port: u16) -> Result<(String, u16), String> {
    let bad = || format!("{text:?}: expected HOST or HOST:PORT");
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or_else(bad)?;
        (host, after.strip_prefix(':'))
    } else {
        match text.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (text, None),
        }
    };
    let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '_');
    if host.is_empty() || !host.chars().all(valid) {
        return Err(bad());
    }
    let port = match port {
        None => default_port,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?,
    };
    Ok((host.to_owned(), port))
}

/// A mail address as the envelope and headers take it: one `@`, nothing
/// that could end a header or an argument.
fn check_address(address: &str) -> Result<(), String> {
    let ok = address.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && !domain.is_empty() && !domain.contains('@')
    }) && !address.starts_with('-')
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | '"'));
    match ok {
        true => Ok(()),
        false => Err(format!("{address:?} is not a mail address (user@domain)")),
    }
}

fn clock_time(text: &str) -> Result<(u8, u8), String> {
    let bad = || format!("{text:?}: expected HH:MM (00:00 to 23:59)");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let hour = h.parse::<u8>().ok().filter(|h| *h < 24).ok_or_else(bad)?;
    let minute = m.parse::<u8>().ok().filter(|m| *m < 60).ok_or_else(bad)?;
    Ok((hour, minute))
}

#[cfg(test)]
#[path = "notify_settings_tests.rs"]
mod tests;
