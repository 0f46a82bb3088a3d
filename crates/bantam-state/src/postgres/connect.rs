//! From `[fleet] database` to a connection: the URL read as libpq reads it
//! (`sslmode`, `sslrootcert`, Unix-socket hosts), TLS by rustls, the
//! password from a file or the environment, and notifications handed to
//! whoever listens.
//!
//! tokio-postgres knows `sslmode` only up to `require`, and verifies
//! nothing itself: the modes that verify (`verify-ca`, `verify-full`) are
//! taken out of the URL here and carried by the TLS configuration.
//! `verify-ca` is verified as `verify-full` (the stricter): rustls checks
//! the name with the chain, and a fleet names its database host anyway.
//!
//! Defaults follow the "TLS by default": a TCP host without
//! `sslmode` is `verify-full` against the system's roots (or
//! `sslrootcert`); a Unix socket never negotiates TLS (libpq does the same),
//! so it defaults to `disable`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{AsyncMessage, Client, Config, Connection, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::fleet_error::{FleetError, PgContext};

/// Where the fleet's database is and how to log in, as configured.
#[derive(Clone, PartialEq, Eq)]
pub struct FleetDatabase {
    /// `postgresql://user@host/db?sslmode=…` (it may hold a password; it
    /// is never shown: see [`FleetDatabase::redacted`]).
    pub url: String,
    /// A file whose first line is the password, read at each connection
    /// (so it can be rotated).
    pub password_file: Option<PathBuf>,
    /// An environment variable that holds the password.
    pub password_env: Option<String>,
}

impl std::fmt::Debug for FleetDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetDatabase")
            .field("url", &self.redacted())
            .field("password_file", &self.password_file)
            .field("password_env", &self.password_env)
            .finish()
    }
}

/// How TLS is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsMode {
    Disable,
    /// TLS when the server offers it, unverified (libpq's `prefer`).
    Prefer,
    /// TLS, unverified (libpq's `require` without a root certificate).
    Require,
    /// TLS, the chain verified against `roots` (system roots when `None`)
    /// and the host name against the certificate.
    VerifyFull {
        roots: Option<PathBuf>,
    },
}

/// The system's roots, as Debian ships them.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

impl FleetDatabase {
    /// The URL without its password, for messages.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.url.split_once("://") else {
            return "(not a postgresql:// URL)".into();
        };
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        match authority.rsplit_once('@') {
            Some((user, host)) => {
                let user = user.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}{tail}")
            }
            None => self.url.clone(),
        }
    }

    /// The URL as tokio-postgres takes it, and the TLS mode.
    pub fn parse(&self) -> Result<(Config, TlsMode), FleetError> {
        let bad = |m: String| FleetError::Settings(format!("database {}: {m}", self.redacted()));
        if !(self.url.starts_with("postgresql://") || self.url.starts_with("postgres://")) {
            return Err(bad("must be a postgresql:// URL".into()));
        }
        let (base, query) = self.url.split_once('?').unwrap_or((&self.url, ""));
        let mut kept = Vec::new();
        let (mut sslmode, mut rootcert) = (None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "sslmode" => sslmode = Some(decode(v)),
                "sslrootcert" => rootcert = Some(PathBuf::from(decode(v))),
                _ => kept.push(pair),
            }
        }
        let url = match kept.is_empty() {
            true => base.to_owned(),
            false => format!("{base}?{}", kept.join("&")),
        };
        let mut config: Config = url.parse().map_err(|e| bad(format!("{e}")))?;
        let unix = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, Host::Unix(_)));
        let tls = match sslmode.as_deref() {
            None if unix => TlsMode::Disable,
            None | Some("verify-full" | "verify-ca") => TlsMode::VerifyFull { roots: rootcert },
            Some("disable") => TlsMode::Disable,
            Some("allow" | "prefer") => TlsMode::Prefer,
            Some("require") => TlsMode::Require,
            Some(other) => {
                return Err(bad(format!(
                    "sslmode {other:?}: expected disable, prefer, require, verify-ca or verify-full"
                )))
            }
        };
        config.ssl_mode(match tls {
            TlsMode::Disable => SslMode::Disable,
            TlsMode::Prefer => SslMode::Prefer,
            _ => SslMode::Require,
        });
        if let Some(password) = self.password()? {
            config.password(password);
        }
        Ok((config, tls))
    }

    fn password(&self) -> Result<Option<String>, FleetError> {
        if let Some(path) = &self.password_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                FleetError::Settings(format!("password-file {}: {e}", path.display()))
            })?;
            return Ok(Some(text.lines().next().unwrap_or_default().to_owned()));
        }
        if let Some(var) = &self.password_env {
            return match std::env::var(var) {
                Ok(v) => Ok(Some(v)),
                Err(_) => Err(FleetError::Settings(format!(
                    "password-env {var}: not set in the environment"
                ))),
            };
        }
        Ok(None)
    }
}

/// `%2F` → `/` (query values in URLs).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A connected client, and the notifications its connection receives; the
/// receiver closes when the connection ends.
pub(crate) async fn connect(
    config: &Config,
    tls: &TlsMode,
) -> Result<(Client, mpsc::UnboundedReceiver<String>), FleetError> {
    let what = "connecting";
    match tls {
        TlsMode::Disable => {
            let (client, conn) = config.connect(NoTls).await.doing(what)?;
            Ok((client, drive(conn)))
        }
        _ => {
            let tls = MakeRustlsConnect::new(client_config(tls)?);
            let (client, conn) = config.connect(tls).await.doing(what)?;
            Ok((client, drive(conn)))
        }
    }
}

/// Runs the connection on this thread's runtime, passing notification
/// payloads on.
fn drive<S, T>(mut conn: Connection<S, T>) -> mpsc::UnboundedReceiver<String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(Ok(message)) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message {
                if tx.send(n.payload().to_owned()).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

fn client_config(tls: &TlsMode) -> Result<ClientConfig, FleetError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| FleetError::Settings(format!("TLS: {e}")))?;
    let config = match tls {
        TlsMode::VerifyFull { roots } => builder
            .with_root_certificates(load_roots(roots.as_deref())?)
            .with_no_client_auth(),
        _ => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unverified(provider)))
            .with_no_client_auth(),
    };
    Ok(config)
}

fn load_roots(path: Option<&Path>) -> Result<RootCertStore, FleetError> {
    let path = path.unwrap_or(Path::new(SYSTEM_ROOTS));
    let bad = |m: String| FleetError::Settings(format!("sslrootcert {}: {m}", path.display()));
    let mut store = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))? {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        store.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if store.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    Ok(store)
}

/// `sslmode=require`: encrypted, the server's identity not checked (what
/// libpq does without a root certificate). The handshake's signatures
/// are still checked, so the session key belongs to the certificate shown.
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algs = &self.0.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(url: &str) -> FleetDatabase {
        FleetDatabase {
            url: url.into(),
            password_file: None,
            password_env: None,
        }
    }

    #[test]
    fn unix_socket_hosts_default_to_no_tls() {
        let (config, tls) = db("postgresql:///bantam?host=/run/postgresql&user=bantam")
            .parse()
            .unwrap();
        assert_eq!(tls, TlsMode::Disable);
        assert_eq!(config.get_user(), Some("bantam"));
        assert_eq!(config.get_dbname(), Some("bantam"));
    }

    #[test]
    fn tcp_hosts_default_to_verify_full_and_modes_are_honoured() {
        let (_, tls) = db("postgresql://bantam@db.example/bantam").parse().unwrap();
        assert_eq!(tls, TlsMode::VerifyFull { roots: None });
        let (_, tls) =
            db("postgresql://db.example/b?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem")
                .parse()
                .unwrap();
        assert_eq!(
            tls,
            TlsMode::VerifyFull {
                roots: Some("/etc/ca.pem".into())
            }
        );
        let (c, tls) = db("postgresql://db.example/b?sslmode=require")
            .parse()
            .unwrap();
        assert_eq!(
            (tls, c.get_ssl_mode()),
            (TlsMode::Require, SslMode::Require)
        );
        let (c, tls) = db("postgresql://db.example/b?sslmode=disable")
            .parse()
            .unwrap();
        assert_eq!(
            (tls, c.get_ssl_mode()),
            (TlsMode::Disable, SslMode::Disable)
        );
        let e = db("postgresql://db.example/b?sslmode=maybe")
            .parse()
            .unwrap_err();
        assert!(e.to_string().contains("sslmode \"maybe\""), "{e}");
    }

    #[test]
    fn passwords_come_from_a_file_or_the_environment_and_are_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let mut d = db("postgresql://bantam:inurl@db.example/bantam");
        d.password_file = Some(file);
        let (config, _) = d.parse().unwrap();
        assert_eq!(config.get_password(), Some(&b"s3cret"[..]));
        assert_eq!(d.redacted(), "postgresql://bantam@db.example/bantam");
        assert!(!format!("{d:?}").contains("inurl"));
        d.password_file = None;
        d.password_env = Some("BANTAM_TEST_NO_SUCH_VAR".into());
        let e = d.parse().unwrap_err().to_string();
        assert!(
            e.contains("BANTAM_TEST_NO_SUCH_VAR") && !e.contains("inurl"),
            "{e}"
        );
    }

    #[test]
    fn not_a_url_is_refused() {
        let e = db("host=db user=bantam").parse().unwrap_err();
        assert!(e.to_string().contains("postgresql:// URL"), "{e}");
    }
}
