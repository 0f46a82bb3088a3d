//! Filters compiled into the binary, so `filter = "sshd"` works with no files
//! installed. Each lives in `filters/NAME.toml` with its fixtures beside it
//! in `filters/NAME/`.

use crate::definition::Definition;
use crate::error::FilterError;

/// Name and text of every shipped filter.
pub const SHIPPED: &[(&str, &str)] = &[
    ("sshd", include_str!("../filters/sshd.toml")),
    ("apache-auth", include_str!("../filters/apache-auth.toml")),
    (
        "apache-badbots",
        include_str!("../filters/apache-badbots.toml"),
    ),
    (
        "nginx-http-auth",
        include_str!("../filters/nginx-http-auth.toml"),
    ),
    (
        "nginx-limit-req",
        include_str!("../filters/nginx-limit-req.toml"),
    ),
    ("scanner", include_str!("../filters/scanner.toml")),
    ("webmin-auth", include_str!("../filters/webmin-auth.toml")),
    ("wordpress", include_str!("../filters/wordpress.toml")),
    ("dropbear", include_str!("../filters/dropbear.toml")),
    ("postfix", include_str!("../filters/postfix.toml")),
    ("dovecot", include_str!("../filters/dovecot.toml")),
    ("proftpd", include_str!("../filters/proftpd.toml")),
    ("vsftpd", include_str!("../filters/vsftpd.toml")),
    ("pure-ftpd", include_str!("../filters/pure-ftpd.toml")),
    ("mysqld-auth", include_str!("../filters/mysqld-auth.toml")),
    ("exim", include_str!("../filters/exim.toml")),
    ("openvpn", include_str!("../filters/openvpn.toml")),
    ("asterisk", include_str!("../filters/asterisk.toml")),
];

/// The names of the shipped filters.
pub fn names() -> impl Iterator<Item = &'static str> {
    SHIPPED.iter().map(|(name, _)| *name)
}

/// The definition of the shipped filter `name`.
pub fn definition(name: &str) -> Result<Definition, FilterError> {
    let (_, text) =
        SHIPPED
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| FilterError::UnknownFilter {
                name: name.to_owned(),
                known: names().collect::<Vec<_>>().join(", "),
            })?;
    Definition::parse(name, text)
}
