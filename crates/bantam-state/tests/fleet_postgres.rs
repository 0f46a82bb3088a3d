//! The fleet store against a real PostgreSQL (started by the test): the
//! schema migrates once, changes come back in order with their origin and
//! wake the other host, a host cannot write in another's name, and
//! failures add up across hosts.

#[path = "../../bantam/tests/support/postgres.rs"]
mod postgres;

use std::time::Duration;

use bantam_state::{ChangeKind, FleetDatabase, FleetFailure, FleetStore, FleetWrite, PgFleet};
use jiff::{SignedDuration, Timestamp};
use postgres::Postgres;

fn root(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs root, and CI must run it"
    );
    eprintln!("skipping {test}: needs root (PostgreSQL runs as nobody)");
    false
}

fn db(url: String) -> FleetDatabase {
    FleetDatabase {
        url,
        password_file: None,
        password_env: None,
    }
}

fn ban(target: &str, end: Option<Timestamp>) -> FleetWrite {
    FleetWrite {
        kind: ChangeKind::Ban,
        jail: "sshd".into(),
        target: target.into(),
        start: Timestamp::now(),
        end,
        ban_count: 1,
        failures: 5,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

#[test]
fn hosts_share_changes_in_their_own_name_only() {
    if !root("hosts_share_changes_in_their_own_name_only") {
        return;
    }
    let pg = Postgres::start();
    pg.fleet_roles(&["host_a", "host_b"]);
    block_on(async {
        // The administrator migrates; the hosts only read the version.
        assert_eq!(PgFleet::migrate(&db(pg.url("bantam"))).await.unwrap(), 0);
        let mut a = PgFleet::connect(&db(pg.url("host_a")), "a.example")
            .await
            .unwrap();
        let mut b = PgFleet::connect(&db(pg.url("host_b")), "b.example")
            .await
            .unwrap();
        let hour = Timestamp::now() + SignedDuration::from_hours(1);
        let past = Timestamp::now() - SignedDuration::from_hours(1);
        let last = a
            .publish(&[
                ban("192.0.2.1", Some(hour)),
                ban("192.0.2.2", Some(past)),
                ban("192.0.2.3", None),
            ])
            .await
            .unwrap();
        let woke = tokio::time::timeout(Duration::from_secs(2), b.notified()).await;
        assert_eq!(woke.unwrap().unwrap(), last.to_string());
        let changes = b.changes_since(0, 100).await.unwrap();
        assert_eq!(changes.len(), 3);
        assert!(changes.iter().all(|c| c.origin == "a.example"));
        assert_eq!(
            changes[0].write.end.map(|t| t.as_second()),
            Some(hour.as_second())
        );
        assert_eq!(b.changes_since(last, 100).await.unwrap(), vec![]);

        // Lifted everywhere by an unban from another host; ended bans are
        // not in force.
        let mut unban = ban("192.0.2.3", None);
        (unban.kind, unban.jail) = (ChangeKind::Unban, String::new());
        b.publish(&[unban]).await.unwrap();
        let active: Vec<_> = a
            .active_bans(Timestamp::now())
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.write.target)
            .collect();
        assert_eq!(active, ["192.0.2.1"]);

        // A second host cannot take a name already claimed.
        let e = PgFleet::connect(&db(pg.url("host_b")), "a.example")
            .await
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("belongs to another database role"),
            "{e}"
        );
        b.touch(last).await.unwrap();
        let hosts = a.hosts().await.unwrap();
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[1].last_change, last);
    });
    // Nor write rows with another's origin behind bantam's back.
    let e = pg.psql_fails(
        "host_b",
        "INSERT INTO bantam_changes (origin, kind, jail, target, start_at, ban_count, failures) \
         VALUES ('a.example', 'ban', 'sshd', '198.51.100.9', now(), 1, 1)",
    );
    assert!(e.contains("row-level security"), "{e}");
    let e = pg.psql_fails("host_b", "DELETE FROM bantam_changes");
    assert!(e.contains("permission denied"), "{e}");
}

#[test]
fn failures_add_up_across_hosts_inside_findtime() {
    if !root("failures_add_up_across_hosts_inside_findtime") {
        return;
    }
    let pg = Postgres::start();
    pg.fleet_roles(&["h1", "h2", "h3"]);
    block_on(async {
        PgFleet::migrate(&db(pg.url("bantam"))).await.unwrap();
        let now = Timestamp::now();
        let since = now - SignedDuration::from_mins(10);
        let failure = |target: &str, at| FleetFailure {
            jail: "sshd".into(),
            target: target.into(),
            at,
            count: 2,
        };
        let mut totals = Vec::new();
        for (i, role) in ["h1", "h2", "h3"].iter().enumerate() {
            let mut host = PgFleet::connect(&db(pg.url(role)), &format!("{role}.example"))
                .await
                .unwrap();
            let old = now - SignedDuration::from_hours(1);
            let sums = host
                .count_failures(
                    "sshd",
                    &[failure("203.0.113.7", now), failure("203.0.113.8", old)],
                    since,
                )
                .await
                .unwrap();
            totals.push((i, sums));
        }
        assert_eq!(totals[2].1, vec![("203.0.113.7".to_owned(), 6)]);
        assert_eq!(totals[0].1, vec![("203.0.113.7".to_owned(), 2)]);
    });
    // Old failures were published but never counted (each host forgets its
    // own such rows at its next batch).
    assert_eq!(
        pg.psql(
            "bantam",
            "bantam",
            "SELECT count(*) FROM bantam_failures WHERE at < now() - interval '30 min'"
        ),
        "3"
    );
}
