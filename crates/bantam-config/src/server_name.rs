//! The server's name: one key (`[daemon] server-name`) for everything that
//! names this host, so an admin of many servers reads on a phone which one
//! is under attack.
//!
//! The default is the kernel's host name (`gethostname`), never a DNS
//! lookup: a notification must not wait on, or be steered by, a resolver.

use crate::daemon_settings::DaemonSettings;
use crate::error::ConfigError;
use crate::options::DaemonOptions;
use crate::settings::Cx;

/// The longest name accepted: a DNS name's limit.
const MAX_LEN: usize = 253;

impl DaemonSettings {
    /// The name in use: `server-name` (or `hostname`) when set, else the
    /// kernel's host name.
    pub fn server_name(&self) -> String {
        self.server_name.clone().unwrap_or_else(host_name)
    }
}

/// The kernel's host name (`uname -n`); `localhost` if it cannot be read.
pub fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match (rc, String::from_utf8_lossy(&buf[..len]).trim()) {
        (0, name) if !name.is_empty() => name.to_owned(),
        _ => "localhost".to_owned(),
    }
}

impl Cx<'_> {
    /// `server-name`, or `hostname` (the older key, kept as an alias).
    pub(crate) fn server_name(&self, d: &DaemonOptions) -> Result<Option<String>, ConfigError> {
        let key = "daemon.server-name";
        let Some(name) = &d.server_name else {
            return Ok(d.hostname.clone().filter(|h| !h.is_empty()));
        };
        if d.hostname.as_ref().is_some_and(|h| h != name.get_ref()) {
            let why = "hostname is an alias of server-name: give one of them";
            return Err(self.err(name, key, why.into()));
        }
        let text = name.get_ref();
        if text.is_empty() || text.len() > MAX_LEN || text.chars().any(char::is_control) {
            let why = format!("{text:?}: must be 1 to {MAX_LEN} characters, no control characters");
            return Err(self.err(name, key, why));
        }
        Ok(Some(text.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::settings::parse;

    fn name(text: &str) -> Result<String, String> {
        parse(Path::new("/etc/bantam/bantam.toml"), text)
            .map(|s| s.daemon.server_name())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn written_alias_or_the_kernels() {
        assert_eq!(
            name("[daemon]\nserver-name = 'web-03'\n").unwrap(),
            "web-03"
        );
        assert_eq!(name("[daemon]\nhostname = 'web-04'\n").unwrap(), "web-04");
        let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(name("").unwrap(), kernel.trim());
    }

    #[test]
    fn bad_names_are_refused() {
        assert_eq!(
            name("[daemon]\nserver-name = \"a\\r\\nb\"\n").unwrap_err(),
            "/etc/bantam/bantam.toml:2: daemon.server-name: \"a\\r\\nb\": must be 1 to 253 characters, no control characters"
        );
        assert_eq!(
            name("[daemon]\nserver-name = 'a'\nhostname = 'b'\n").unwrap_err(),
            "/etc/bantam/bantam.toml:2: daemon.server-name: hostname is an alias of server-name: give one of them"
        );
    }
}
