//! [`ElementUpdates`]: what the running kernel does with an element that
//! is added again or deleted while absent, which decides whether a ban of
//! addresses must read the set first. Apart from the backend because the
//! knock sets (`nft::knock`) obey the same rule.

/// How the kernel handles re-banning and unbanning single addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementUpdates {
    /// Linux 6.12+: adding an element that exists replaces its timeout, and
    /// `DESTROYSETELEM` deletes without failing on absent elements. Bans and
    /// unbans of addresses are write-only: no read of a 100,000-element set.
    InKernel,
    /// Any kernel: read the set, delete the elements present, add — one batch.
    ReadFirst,
}

impl ElementUpdates {
    /// Chooses from the running kernel's version. A distribution kernel that
    /// backported the features but kept an older number gets `ReadFirst`,
    /// which is slower but correct; the reverse cannot happen.
    pub fn detect() -> ElementUpdates {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        Self::for_release(&release)
    }

    fn for_release(release: &str) -> ElementUpdates {
        let mut numbers = release.trim().split(|c: char| !c.is_ascii_digit());
        let mut next = || numbers.next().and_then(|n| n.parse::<u32>().ok());
        match (next(), next()) {
            (Some(major), Some(minor)) if (major, minor) >= (6, 12) => ElementUpdates::InKernel,
            _ => ElementUpdates::ReadFirst,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(
            ElementUpdates::for_release("6.18.44-fc-v669\n"),
            ElementUpdates::InKernel
        );
        assert_eq!(
            ElementUpdates::for_release("6.12.0"),
            ElementUpdates::InKernel
        );
        assert_eq!(
            ElementUpdates::for_release("7.0.1"),
            ElementUpdates::InKernel
        );
        assert_eq!(
            ElementUpdates::for_release("6.11.9-arch1"),
            ElementUpdates::ReadFirst
        );
        assert_eq!(
            ElementUpdates::for_release("6.1.0-28-amd64"),
            ElementUpdates::ReadFirst
        );
        assert_eq!(
            ElementUpdates::for_release("5.14.0-427.el9.x86_64"),
            ElementUpdates::ReadFirst
        );
        assert_eq!(ElementUpdates::for_release(""), ElementUpdates::ReadFirst);
    }
}
