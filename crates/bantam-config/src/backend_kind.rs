//! [`BackendKind`]: which firewall backend carries a jail's bans, named the
//! way `[daemon] backend` and a jail's `banaction` spell it.
//!
//! The names live here, beside the keys that accept them, so that an error
//! can list them with the file, line and key; `bantam_firewall::open` knows
//! the same names (the daemon's tests check that every one of
//! [`BackendKind::ALL`] is in `bantam_firewall::BACKENDS`), and the config
//! crate stays free of the firewall crate.

/// Which firewall backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackendKind {
    Nftables,
    Ipset,
    Iptables,
    Route,
    HostsDeny,
    DryRun,
}

impl BackendKind {
    /// Every kind, in the order messages list them.
    pub const ALL: [BackendKind; 6] = [
        BackendKind::Nftables,
        BackendKind::Ipset,
        BackendKind::Iptables,
        BackendKind::Route,
        BackendKind::HostsDeny,
        BackendKind::DryRun,
    ];

    /// The name `bantam_firewall::open` knows it by.
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Nftables => "nftables",
            BackendKind::DryRun => "dry-run",
            BackendKind::Ipset => "ipset",
            BackendKind::Iptables => "iptables",
            BackendKind::Route => "route",
            BackendKind::HostsDeny => "hosts-deny",
        }
    }

    /// The kind called `name` (exactly: the keys are names, not patterns).
    pub fn parse(name: &str) -> Option<BackendKind> {
        BackendKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// "nftables, ipset, iptables, route, hosts-deny, dry-run", for errors.
    pub fn names() -> String {
        BackendKind::ALL.map(BackendKind::name).join(", ")
    }

    /// The native backend that does what a fail2ban firewall action does,
    /// for `fail2ban-actions = "native"`: `iptables-ipset-proto6-allports`
    /// and `firewallcmd-ipset` → ipset, `iptables-multiport` and
    /// `ip6tables-*` → iptables, `nftables-multiport` → nftables, `route`
    /// → route. `None`: no backend of ours works that way (`ufw`,
    /// `shorewall`, firewalld's rich rules); such a jail bans through the
    /// daemon's `backend`.
    pub fn for_fail2ban_action(action: &str) -> Option<BackendKind> {
        let action = action.trim();
        let ipset = action.starts_with("ipset")
            || action.starts_with("iptables-ipset")
            || action.starts_with("ip6tables-ipset")
            || action == "firewallcmd-ipset";
        if ipset {
            return Some(BackendKind::Ipset);
        }
        if action.starts_with("iptables") || action.starts_with("ip6tables") {
            return Some(BackendKind::Iptables);
        }
        if action.starts_with("nftables") {
            return Some(BackendKind::Nftables);
        }
        if action == "route" {
            return Some(BackendKind::Route);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in BackendKind::ALL {
            assert_eq!(BackendKind::parse(kind.name()), Some(kind));
        }
        assert_eq!(BackendKind::parse("nft"), None);
        assert_eq!(
            BackendKind::names(),
            "nftables, ipset, iptables, route, hosts-deny, dry-run"
        );
    }

    #[test]
    fn fail2ban_firewall_actions_map_onto_native_backends() {
        use BackendKind::*;
        for (action, native) in [
            ("iptables-multiport", Some(Iptables)),
            ("iptables-allports", Some(Iptables)),
            ("iptables", Some(Iptables)),
            ("ip6tables-multiport", Some(Iptables)),
            ("iptables-ipset-proto6-allports", Some(Ipset)),
            ("iptables-ipset", Some(Ipset)),
            ("ipset", Some(Ipset)),
            ("firewallcmd-ipset", Some(Ipset)),
            ("nftables-multiport", Some(Nftables)),
            ("nftables-allports", Some(Nftables)),
            ("nftables", Some(Nftables)),
            ("route", Some(Route)),
            ("firewallcmd-rich-rules", None),
            ("firewallcmd-multiport", None),
            ("ufw", None),
            ("shorewall", None),
            ("sendmail-whois", None),
        ] {
            assert_eq!(BackendKind::for_fail2ban_action(action), native, "{action}");
        }
    }
}
