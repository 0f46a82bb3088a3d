use std::path::Path;
use std::time::Duration;

use crate::{parse, BanTime, ConfigError, Settings};

fn parse_str(text: &str) -> Result<Settings, ConfigError> {
    parse(Path::new("/etc/bantam/bantam.toml"), text)
}

fn jail(extra: &str) -> String {
    format!("[jails.sshd]\nfilter = \"sshd\"\nlogpath = [\"/var/log/auth.log\"]\n{extra}")
}

#[test]
fn defaults_count_ipv6_per_64_and_trust_nobody() {
    let s = parse_str(&jail("")).unwrap();
    let p = &s.jails[0].trust_policy;
    assert_eq!(p.trust, None);
    assert_eq!(p.subnet.ipv6_prefix, 64);
    assert!(!p.subnet.prefix_bans);
    assert!(!p.extend_while_knocking);
    assert!(p
        .ignoreself
        .iter()
        .any(|n| n.contains("127.0.0.1".parse().unwrap())));
}

#[test]
fn the_documented_keys_resolve() {
    let s = parse_str(&jail(
        "extend-while-knocking = true\nignorecommand = [\"/bin/true\", \"<ip>\"]\n\
         [jails.sshd.trust]\nttl = \"2h\"\ntolerance = 4\n\
         [jails.sshd.subnet]\nipv6-prefix = 56\nipv4-prefix = 24\naddresses = 5\nwithin = \"1h\"\n",
    ))
    .unwrap();
    let p = &s.jails[0].trust_policy;
    let trust = p.trust.unwrap();
    assert_eq!((trust.ttl, trust.tolerance), (Duration::from_secs(7200), 4));
    assert_eq!(
        (
            p.subnet.ipv6_prefix,
            p.subnet.ipv4_prefix,
            p.subnet.addresses
        ),
        (56, 24, 5)
    );
    assert!(p.subnet.prefix_bans && p.extend_while_knocking);
    assert_eq!(
        p.ignorecommand.as_ref().unwrap().argv,
        ["/bin/true", "<ip>"]
    );
}

#[test]
fn bad_values_name_file_line_and_key() {
    let cases = [
        (
            "[jails.sshd.subnet]\nipv6-prefix = 129\n",
            5,
            "jails.sshd.subnet.ipv6-prefix",
        ),
        (
            "[jails.sshd.subnet]\nipv4-prefix = 0\n",
            5,
            "jails.sshd.subnet.ipv4-prefix",
        ),
        (
            "[jails.sshd.trust]\ntolerance = 0\n",
            5,
            "jails.sshd.trust.tolerance",
        ),
        ("[jails.sshd.trust]\nttl = -5\n", 5, "jails.sshd.trust.ttl"),
        (
            "[jails.sshd.subnet]\nwithin = \"-1h\"\n",
            5,
            "jails.sshd.subnet.within",
        ),
        (
            "ignorecommand = [\"true\"]\n",
            4,
            "jails.sshd.ignorecommand",
        ),
        ("ignorecommand = []\n", 4, "jails.sshd.ignorecommand"),
    ];
    for (extra, line, key) in cases {
        let err = parse_str(&jail(extra)).unwrap_err().to_string();
        let want = format!("/etc/bantam/bantam.toml:{line}: {key}: ");
        assert!(err.starts_with(&want), "{extra:?}: {err}");
    }
}

#[test]
fn rule_weights_and_bantimes_are_checked_with_the_jail() {
    let dir = std::env::temp_dir().join(format!("bantam-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let filter = |weight: &str, bantime: &str| {
        format!(
            "description = \"t\"\n[[failregex]]\nid = \"r\"\nweight = {weight}\nbantime = \"{bantime}\"\nregex = '^x <HOST>$'\n"
        )
    };
    let config = dir.join("bantam.toml");
    let text = "[jails.t]\nfilter = \"t.toml\"\nlogpath = [\"/var/log/t.log\"]\n";
    std::fs::write(dir.join("t.toml"), filter("0.5", "30s")).unwrap();
    let s = parse(&config, text).unwrap();
    assert_eq!(
        s.jails[0].trust_policy.rule_bantimes,
        [Some(BanTime::For(Duration::from_secs(30)))]
    );
    std::fs::write(dir.join("t.toml"), filter("-1", "30s")).unwrap();
    let err = parse(&config, text).unwrap_err().to_string();
    assert!(
        err.contains(":2: jails.t.filter:") && err.contains("weight -1"),
        "{err}"
    );
    std::fs::write(dir.join("t.toml"), filter("1", "-3s")).unwrap();
    let err = parse(&config, text).unwrap_err().to_string();
    assert!(
        err.contains(":2: jails.t.filter: rule \"r\": bantime"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
