//! [`HostsDeny`]: bans as lines of `/etc/hosts.deny`, for services that
//! still honour TCP wrappers (and for hosts where nothing else is allowed).
//!
//! Our lines live in one block between markers naming our objects, each
//! ban preceded by a comment with its end (Unix seconds, or `never`):
//!
//! ```text
//! # BEGIN bantam (written by bantam: edits inside are lost)
//! # until=1767225600
//! ALL: 192.0.2.7
//! # until=never
//! ALL: [2001:db8::]/32
//! # END bantam
//! ```
//!
//! Every other line of the file is kept byte for byte. Each change writes
//! the whole file to a temporary file beside it, syncs it and renames it
//! over the old one: a reader (sshd forking for a connection) sees the old
//! file or the new one, never half of one. The file holds no timeouts a
//! program enforces, so the daemon lifts bans when they end; setup drops
//! lines whose end has passed.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::backend::{Backend, Repair, Watcher};
use crate::config::BackendConfig;
use crate::error::FirewallError;
use crate::liveness::Liveness;
use crate::target::{BanEntry, Target};

pub struct HostsDeny {
    path: PathBuf,
    name: String,
    liveness: Liveness,
    watcher_taken: bool,
}

impl std::fmt::Debug for HostsDeny {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostsDeny")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Our bans: target → end (Unix seconds; `None` permanent).
type Bans = BTreeMap<Target, Option<u64>>;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl HostsDeny {
    pub fn open(config: &BackendConfig) -> HostsDeny {
        HostsDeny {
            path: config.hosts_deny.clone(),
            name: config.name.clone(),
            liveness: Liveness::default(),
            watcher_taken: false,
        }
    }

    fn begin_marker(&self) -> String {
        format!(
            "# BEGIN {} (written by bantam: edits inside are lost)",
            self.name
        )
    }

    fn end_marker(&self) -> String {
        format!("# END {}", self.name)
    }

    fn io_error(&self, what: &str, source: io::Error) -> FirewallError {
        FirewallError::Io {
            action: format!("{what} {}", self.path.display()),
            source,
        }
    }

    /// The file's other lines (before and after our block) and our bans.
    fn read(&self) -> Result<(Vec<String>, Vec<String>, Bans, bool), FirewallError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(self.io_error("reading", e)),
        };
        let (begin, end) = (self.begin_marker(), self.end_marker());
        let (mut before, mut after, mut bans) = (Vec::new(), Vec::new(), Bans::new());
        let (mut inside, mut found) = (false, false);
        let mut until: Option<u64> = None;
        for line in text.lines() {
            if line == begin {
                (inside, found) = (true, true);
            } else if inside && line == end {
                inside = false;
            } else if inside {
                if let Some(value) = line.strip_prefix("# until=") {
                    until = value.parse().ok();
                } else if let Some(target) = line.strip_prefix("ALL: ").and_then(parse_target) {
                    bans.insert(target, until.take());
                }
            } else if found {
                after.push(line.to_string());
            } else {
                before.push(line.to_string());
            }
        }
        Ok((before, after, bans, found))
    }

    fn write(&self, before: &[String], after: &[String], bans: &Bans) -> Result<(), FirewallError> {
        let mut text = String::new();
        for line in before {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(&self.begin_marker());
        text.push('\n');
        for (target, end) in bans {
            let until = end.map_or("never".to_string(), |e| e.to_string());
            text.push_str(&format!(
                "# until={until}\nALL: {}\n",
                format_target(target)
            ));
        }
        text.push_str(&self.end_marker());
        text.push('\n');
        for line in after {
            text.push_str(line);
            text.push('\n');
        }
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(format!(".bantam-{}", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let mode = fs::metadata(&self.path).map_or(0o644, |m| m.permissions().mode());
        let result = (|| {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(text.as_bytes())?;
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(self.io_error("writing", e));
        }
        Ok(())
    }

    fn change(&mut self, edit: impl FnOnce(&mut Bans)) -> Result<(), FirewallError> {
        let (before, after, mut bans, _) = self.read()?;
        edit(&mut bans);
        self.write(&before, &after, &bans)
    }
}

/// hosts_access(5) syntax: IPv6 in brackets, IPv4 networks as net/mask.
fn format_target(target: &Target) -> String {
    match *target {
        Target::Addr(addr) if addr.is_ipv4() => addr.to_string(),
        Target::Addr(addr) => format!("[{addr}]"),
        Target::Net { addr, prefix } if addr.is_ipv4() => {
            let mask =
                std::net::Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0));
            format!("{addr}/{mask}")
        }
        Target::Net { addr, prefix } => format!("[{addr}]/{prefix}"),
    }
}

fn parse_target(text: &str) -> Option<Target> {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        let (addr, tail) = rest.split_once(']')?;
        let addr: std::net::IpAddr = addr.parse().ok()?;
        return match tail.strip_prefix('/') {
            Some(prefix) => Target::net(addr, prefix.parse().ok()?).canonical().ok(),
            None => Some(Target::Addr(addr)),
        };
    }
    match text.split_once('/') {
        Some((addr, mask)) => {
            let mask: std::net::Ipv4Addr = mask.parse().ok()?;
            let prefix = u32::from(mask).leading_ones() as u8;
            Target::net(addr.parse::<std::net::IpAddr>().ok()?, prefix)
                .canonical()
                .ok()
        }
        None => text.parse().ok(),
    }
}

impl Backend for HostsDeny {
    fn name(&self) -> &'static str {
        "hosts-deny"
    }

    /// Writes our (possibly empty) block, without the bans that ended.
    fn setup(&mut self) -> Result<(), FirewallError> {
        let now = now();
        self.change(|bans| bans.retain(|_, end| end.is_none_or(|e| e > now)))
    }

    fn ban(&mut self, entries: &[BanEntry]) -> Result<(), FirewallError> {
        let entries = entries
            .iter()
            .map(|e| Ok((e.target.canonical()?, e.timeout)))
            .collect::<Result<Vec<_>, FirewallError>>()?;
        let now = now();
        self.change(|bans| {
            for (target, timeout) in &entries {
                let end = timeout.map(|t| now + t.as_secs() + u64::from(t.subsec_nanos() > 0));
                bans.insert(*target, end);
            }
        })?;
        self.liveness.banned(entries.iter().map(|e| e.1));
        Ok(())
    }

    fn unban(&mut self, targets: &[Target]) -> Result<(), FirewallError> {
        let targets = targets
            .iter()
            .map(|t| t.canonical())
            .collect::<Result<Vec<_>, _>>()?;
        self.change(|bans| {
            for target in &targets {
                bans.remove(target);
            }
        })
    }

    fn list(&mut self) -> Result<Vec<BanEntry>, FirewallError> {
        let now = now();
        let (_, _, bans, _) = self.read()?;
        Ok(bans
            .into_iter()
            .filter(|(_, end)| end.is_none_or(|e| e > now))
            .map(|(target, end)| BanEntry::new(target, end.map(|e| Duration::from_secs(e - now))))
            .collect())
    }

    fn flush(&mut self) -> Result<(), FirewallError> {
        self.change(Bans::clear)?;
        self.liveness.cleared();
        Ok(())
    }

    fn teardown(&mut self) -> Result<(), FirewallError> {
        let (before, after, _, found) = self.read()?;
        if !found {
            return Ok(());
        }
        let mut all = before;
        all.extend(after);
        let text: String = all.iter().map(|l| format!("{l}\n")).collect();
        let tmp = self.path.with_extension("bantam-teardown");
        fs::write(&tmp, text)
            .and_then(|()| fs::rename(&tmp, &self.path))
            .map_err(|e| self.io_error("writing", e))?;
        self.liveness.cleared();
        Ok(())
    }

    /// Our block gone, or emptied, while bans should be in it.
    fn verify(&mut self) -> Result<Repair, FirewallError> {
        let (_, _, bans, found) = self.read()?;
        if !found || (bans.is_empty() && self.liveness.live()) {
            self.setup()?;
            let lost = self.liveness.live();
            self.liveness.cleared();
            return Ok(if lost {
                Repair::BansLost
            } else {
                Repair::Rebuilt
            });
        }
        Ok(Repair::Intact)
    }

    fn watcher(&mut self) -> Option<Box<dyn Watcher>> {
        if std::mem::replace(&mut self.watcher_taken, true) {
            return None;
        }
        Some(self.liveness.watcher())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_in_hosts_access_syntax_round_trip() {
        for text in [
            "192.0.2.7",
            "2001:db8::1",
            "203.0.113.0/24",
            "2001:db8::/32",
        ] {
            let target: Target = text.parse().unwrap();
            let written = format_target(&target);
            assert_eq!(parse_target(&written), Some(target), "{written}");
        }
        assert_eq!(
            format_target(&"203.0.113.0/24".parse().unwrap()),
            "203.0.113.0/255.255.255.0"
        );
    }

    #[test]
    fn others_lines_are_kept_and_ours_replaced() {
        let dir = std::env::temp_dir().join(format!("bantam-hd-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("hosts.deny");
        fs::write(&path, "# admin's\nsshd: 198.51.100.9\n").unwrap();
        let config = BackendConfig {
            hosts_deny: path.clone(),
            ..BackendConfig::default()
        };
        let mut backend = HostsDeny::open(&config);
        backend.setup().unwrap();
        let a: Target = "192.0.2.7".parse().unwrap();
        let b: Target = "2001:db8::/32".parse().unwrap();
        backend
            .ban(&[
                BanEntry::timed(a, Duration::from_secs(60)),
                BanEntry::permanent(b),
            ])
            .unwrap();
        backend
            .ban(&[BanEntry::timed(a, Duration::from_secs(600))])
            .unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# admin's\nsshd: 198.51.100.9\n# BEGIN bantam"),
            "{text}"
        );
        assert_eq!(text.matches("ALL: 192.0.2.7").count(), 1, "{text}");
        let listed = backend.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed
            .iter()
            .any(|e| e.target == a && e.timeout.unwrap() > Duration::from_secs(590)));
        backend.unban(&[a]).unwrap();
        assert_eq!(backend.list().unwrap(), [BanEntry::permanent(b)]);
        // An admin removes our block: verify puts it back and asks for the bans.
        fs::write(&path, "# admin's\nsshd: 198.51.100.9\n").unwrap();
        assert_eq!(backend.verify().unwrap(), Repair::BansLost);
        backend.teardown().unwrap();
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "# admin's\nsshd: 198.51.100.9\n"
        );
        fs::remove_dir_all(&dir).unwrap();
    }
}
