//! Why a notification channel cannot start. Delivery failures are not
//! errors of this type: they are retried, counted and logged by the
//! channel's thread.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The SMTP password file cannot be read. The I/O error is printed
    /// here, not returned by `source()`, so it shows once.
    #[error("notify.mail.password-file {}: cannot read: {error}", path.display())]
    PasswordFile {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("notify.mail.password-env: ${0} is not set")]
    PasswordEnv(String),
    /// A mail address or transport the mail library refuses.
    #[error("notify.mail: {0}")]
    Mail(String),
    #[error("notify.webhook: {0}")]
    Webhook(String),
}
