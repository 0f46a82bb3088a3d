use super::*;

fn ban(jail: &str, target: &str, end: Option<i64>) -> ActiveBan {
    let target: Target = target.parse().unwrap();
    ActiveBan {
        target,
        record: BanRecord {
            jail: jail.into(),
            target: target.to_string(),
            start: Timestamp::from_second(1_000).unwrap(),
            end: end.map(|s| Timestamp::from_second(s).unwrap()),
            failures: 1,
            ban_count: 1,
            matches: vec![],
            reason: None,
        },
    }
}

fn keys(page: &[ActiveBan]) -> Vec<String> {
    page.iter()
        .map(|b| format!("{}/{}", b.record.jail, b.target))
        .collect()
}

fn book() -> BanBook {
    let mut book = BanBook::default();
    for (jail, target) in [
        ("sshd", "192.0.2.3"),
        ("nginx", "198.51.100.1"),
        ("sshd", "192.0.2.1"),
        ("sshd", "2001:db8::1"),
        ("nginx", "192.0.2.1"),
    ] {
        book.insert(ban(jail, target, Some(2_000)));
    }
    book
}

#[test]
fn pages_follow_jail_then_target_order() {
    let book = book();
    assert_eq!(
        keys(&book.page(None, 10)),
        [
            "nginx/192.0.2.1",
            "nginx/198.51.100.1",
            "sshd/192.0.2.1",
            "sshd/192.0.2.3",
            "sshd/2001:db8::1"
        ]
    );
    assert_eq!(keys(&book.page(None, 2)).len(), 2);
    let t: Target = "198.51.100.1".parse().unwrap();
    assert_eq!(
        keys(&book.page(Some(("nginx", &t)), 2)),
        ["sshd/192.0.2.1", "sshd/192.0.2.3"]
    );
}

#[test]
fn a_cursor_survives_removals_and_inserts() {
    let mut book = book();
    let first = keys(&book.page(None, 2));
    let last: Target = "198.51.100.1".parse().unwrap();
    // The cursor's own ban and the next one go; a ban lands before it.
    book.remove("nginx", &last);
    book.remove("sshd", &"192.0.2.1".parse().unwrap());
    book.insert(ban("nginx", "192.0.2.0", None));
    let rest = keys(&book.page(Some(("nginx", &last)), 10));
    assert_eq!(first, ["nginx/192.0.2.1", "nginx/198.51.100.1"]);
    assert_eq!(rest, ["sshd/192.0.2.3", "sshd/2001:db8::1"]);
    // A cursor in a jail that no longer exists.
    let t: Target = "192.0.2.9".parse().unwrap();
    assert_eq!(keys(&book.page(Some(("other", &t)), 1)), ["sshd/192.0.2.3"]);
}

#[test]
fn counts_and_lookups_stay_consistent() {
    let mut book = book();
    assert_eq!(
        (book.len(), book.count_in("sshd"), book.count_in("x")),
        (5, 3, 0)
    );
    let t: Target = "192.0.2.1".parse().unwrap();
    assert!(book.is_banned("nginx", &t));
    let holders: Vec<&str> = book.holders(&t).map(|(jail, _)| jail).collect();
    assert_eq!(holders, ["nginx", "sshd"]);
    let others: Vec<&str> = book
        .holders_beside(&t, Some("nginx"))
        .map(|(j, _)| j)
        .collect();
    assert_eq!(others, ["sshd"]);
    assert_eq!(book.remove_everywhere(&t).len(), 2);
    assert!(!book.is_banned("nginx", &t));
    assert_eq!((book.len(), book.count_in("nginx")), (3, 1));
    // Re-inserting a key replaces, never duplicates.
    book.insert(ban("sshd", "192.0.2.3", Some(3_000)));
    assert_eq!(book.len(), 3);
    assert_eq!(
        book.next_end(),
        Some(Timestamp::from_second(2_000).unwrap())
    );
    let mut ended = keys(&book.take_ended(Timestamp::from_second(2_500).unwrap(), usize::MAX));
    ended.sort();
    assert_eq!(ended, ["nginx/198.51.100.1", "sshd/2001:db8::1"]);
    assert_eq!(book.len(), 1);
    assert_eq!(keys(&book.page(None, 5)), ["sshd/192.0.2.3"]);
    assert_eq!(book.clear().len(), 1);
    assert!(book.is_empty() && book.page(None, 5).is_empty() && book.next_end().is_none());
}

#[test]
fn ending_bans_are_taken_early_only_in_the_jails_named() {
    let mut book = BanBook::default();
    book.insert(ban("sshd", "192.0.2.1", Some(2_000)));
    book.insert(ban("nginx", "192.0.2.2", Some(2_000)));
    book.insert(ban("sshd", "192.0.2.3", Some(2_005)));
    book.insert(ban("nginx", "192.0.2.4", Some(1_999)));
    let at = |s| Timestamp::from_second(s).unwrap();
    let taken = book.take_ending(at(1_999), at(2_001), &|jail| jail == "sshd", usize::MAX);
    assert_eq!(keys(&taken), ["nginx/192.0.2.4", "sshd/192.0.2.1"]);
    assert_eq!(book.len(), 2, "the other jail's and the later one stay");
    assert!(book.is_banned("nginx", &"192.0.2.2".parse().unwrap()));
}

#[test]
fn ended_bans_are_taken_a_slice_at_a_time_earliest_first() {
    let mut book = BanBook::default();
    for (i, end) in [(1, 2_003), (2, 2_001), (3, 2_002), (4, 3_000)] {
        book.insert(ban("sshd", &format!("192.0.2.{i}"), Some(end)));
    }
    let at = |s| Timestamp::from_second(s).unwrap();
    assert_eq!(
        keys(&book.take_ended(at(2_500), 2)),
        ["sshd/192.0.2.2", "sshd/192.0.2.3"]
    );
    assert_eq!(
        book.next_end(),
        Some(at(2_003)),
        "the rest wait for the next slice"
    );
    assert_eq!(keys(&book.take_ended(at(2_500), 2)), ["sshd/192.0.2.1"]);
    let taken = book.take_ending(at(2_500), at(3_000), &|_| true, 0);
    assert!(taken.is_empty() && book.len() == 1);
}
