//! A million saved bans back into an empty kernel table (root, a network
//! namespace): every one is in its set afterwards, with the time it has
//! left. Not timed (bench/million.sh measures); it proves that the fast
//! restore path loses nothing: IPv4 from 198.18.0.0/15, IPv6 from
//! 2001:db8::/32, and networks (/24, /64) in their hash sets.

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bantam_state::{BanRecord, SqliteStore, Store};
use jiff::{SignedDuration, Timestamp};
use support::*;

const BANS: u32 = 1_000_000;
/// The saved bans end between 1 h and about 2 h from now, each its own.
const BASE_SECS: i64 = 3600;

/// The i-th ban: 512 /24s, a /64 in every 100, IPv4 addresses, then IPv6.
fn target(i: u32) -> String {
    if i % 100 == 3 {
        return format!("2001:db8:{:x}:{:x}::/64", 0x8000 + (i >> 16), i & 0xffff);
    }
    if i % 100 == 7 && i / 100 < 512 {
        return format!("198.{}.{}.0/24", 18 + ((i / 100) >> 8), (i / 100) & 255);
    }
    if i < 1 << 17 {
        return format!("198.{}.{}.{}", 18 + (i >> 16), (i >> 8) & 255, i & 255);
    }
    format!("2001:db8::{:x}:{:x}", i >> 16, i & 0xffff)
}

fn save(state: &Path, now: Timestamp) -> HashMap<String, i64> {
    let mut store = SqliteStore::open_dir(state).unwrap();
    let mut ends = HashMap::with_capacity(BANS as usize);
    let records: Vec<BanRecord> = (0..BANS)
        .map(|i| {
            let left = BASE_SECS + i64::from(i % 3600);
            let end = now + SignedDuration::from_secs(left);
            ends.insert(target(i), end.as_second());
            BanRecord {
                jail: "sshd".into(),
                target: target(i),
                start: now,
                end: Some(end),
                failures: 1,
                ban_count: 1,
                matches: vec![],
                reason: None,
            }
        })
        .collect();
    store.record_bans(&records).unwrap();
    ends
}

/// `nft -j list set` of one set: element text → seconds left.
fn kernel_set(net: &Net, set: &str) -> Vec<(String, i64)> {
    let out = net
        .exec(
            &net.server,
            &["nft", "-j", "list", "set", "inet", "bantam", set],
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut found = Vec::new();
    for item in json["nftables"].as_array().unwrap() {
        let Some(elems) = item["set"]["elem"].as_array() else {
            continue;
        };
        for e in elems {
            let elem = &e["elem"];
            let val = &elem["val"];
            let text = match (val.as_str(), set) {
                // A hash set of networks holds each one's first address.
                (Some(addr), "net24") => format!("{addr}/24"),
                (Some(addr), "net64") => format!("{addr}/64"),
                (Some(addr), _) => addr.to_owned(),
                (None, _) => format!(
                    "{}/{}",
                    val["prefix"]["addr"].as_str().unwrap(),
                    val["prefix"]["len"]
                ),
            };
            found.push((text, elem["expires"].as_i64().expect("a timed element")));
        }
    }
    found
}

#[test]
fn a_million_saved_bans_are_all_restored_with_their_time_left() {
    if !require_root("a_million_saved_bans_are_all_restored_with_their_time_left") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let net = Net::new("million", &["198.51.100.1/24"], &["198.51.100.2/24"]);
    let (socket, config, log) = (
        dir.path().join("b.sock"),
        dir.path().join("b.toml"),
        dir.path().join("auth.log"),
    );
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        &config,
        format!(
            "[daemon]\nstate-dir = \"{}\"\nsocket = \"{}\"\n\n[jails.sshd]\nfilter = \"sshd\"\n\
             logpath = [\"{}\"]\n",
            dir.path().join("state").display(),
            socket.display(),
            log.display()
        ),
    )
    .unwrap();
    let now = Timestamp::now();
    let ends = save(&dir.path().join("state"), now);

    let _daemon = Proc(
        net.exec(
            &net.server,
            &[
                bantam().to_str().unwrap(),
                "run",
                "--config",
                config.to_str().unwrap(),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    wait_for(
        "the daemon to restore and answer",
        Duration::from_secs(120),
        || control(&socket, &["status"]).status.success(),
    );

    let mut seen = 0;
    for set in ["addr4", "addr6", "net4", "net6", "net24", "net64"] {
        // The kernel states each element's time left when the dump reaches
        // it, somewhere between these two instants (a million elements take
        // a while to list, longer on a loaded machine): each must fall in
        // that window, give or take the kernel's rounding to seconds.
        let before = Timestamp::now().as_second();
        let elements = kernel_set(&net, set);
        let after = Timestamp::now().as_second() + 1;
        for (text, expires) in elements {
            let end = ends
                .get(&text)
                .unwrap_or_else(|| panic!("{text} in set {set} was never saved"));
            let (most, least) = (end - before, end - after);
            assert!(
                (least - 2..=most + 2).contains(&expires),
                "{text}: {expires} s left in the kernel, {least}..={most} s expected"
            );
            seen += 1;
        }
    }
    // Networks are two elements of an interval set but listed once by nft.
    assert_eq!(seen, ends.len(), "elements in the kernel vs saved bans");
}
