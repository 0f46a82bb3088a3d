use super::*;

fn t(text: &str) -> Target {
    text.parse().unwrap()
}

fn timed(net: &str, secs: u64) -> BanEntry {
    BanEntry::timed(t(net), Duration::from_secs(secs))
}

fn held(entries: &[BanEntry]) -> Held {
    let mut held = Held::from_listing(&[]);
    held.add_at(entries, 0);
    held
}

#[test]
fn disjoint_networks_are_clear() {
    let mut h = held(&[
        timed("2001:db8:1:1::/64", 60),
        BanEntry::permanent(t("198.51.100.0/24")),
    ]);
    let wanted = [
        timed("2001:db8:1:2::/64", 60),
        timed("2001:db8:1::/64", 60),
        timed("2001:db8:2::/48", 60),
    ];
    assert!(h.all_clear_at(&wanted, 0));
    assert!(h.all_clear_at(&[timed("198.51.101.0/24", 1)], 0));
}

#[test]
fn nesting_either_way_or_equal_is_not_clear() {
    let mut h = held(&[timed("2001:db8:1:1::/64", 60), timed("203.0.113.0/24", 60)]);
    for inside_or_around in [
        "2001:db8:1:1::/64",      // the same
        "2001:db8:1:1:8000::/65", // inside
        "2001:db8:1::/48",        // around
        "2001:db8::/32",
        "203.0.113.128/25",
        "203.0.0.0/16",
    ] {
        assert!(
            !h.all_clear_at(&[timed(inside_or_around, 60)], 0),
            "{inside_or_around}"
        );
    }
}

#[test]
fn nesting_within_one_batch_is_not_clear() {
    let mut h = held(&[]);
    let wanted = [timed("2001:db8:1::/48", 60), timed("2001:db8:1:5::/64", 60)];
    assert!(!h.all_clear_at(&wanted, 0));
}

#[test]
fn ended_networks_touch_until_the_slack_is_over() {
    let mut h = held(&[timed("2001:db8:1:1::/64", 1), timed("2001:db8:1::/48", 1)]);
    let wanted = [timed("2001:db8:1:1::/64", 60)];
    // Ended, but the kernel may not have noticed yet.
    assert!(!h.all_clear_at(&wanted, millis(Duration::from_secs(2))));
    let later = millis(Duration::from_secs(1) + SLACK) + 1;
    assert!(h.all_clear_at(&wanted, later));
    assert!(h.nets.is_empty(), "ended networks are dropped on the way");
}

#[test]
fn permanent_networks_never_end() {
    let mut h = held(&[BanEntry::permanent(t("2001:db8:1::/48"))]);
    assert!(!h.all_clear_at(&[timed("2001:db8:1:1::/64", 1)], u64::MAX - 1));
}

#[test]
fn removed_networks_are_clear() {
    let mut h = held(&[timed("2001:db8:1:1::/64", 60)]);
    // Another network starting at the same address is not the one held.
    h.remove(&[t("2001:db8:1:1::/80")]);
    assert!(!h.all_clear_at(&[timed("2001:db8:1:1::/64", 60)], 0));
    h.remove(&[t("2001:db8:1:1::/64")]);
    assert!(h.all_clear_at(&[timed("2001:db8:1:1::/64", 60)], 0));
}
