//! The fleet's PostgreSQL store: changes appended in one global order,
//! `NOTIFY bantam_changes` after each commit, `LISTEN` on the same
//! connection. Every call is one round trip or one transaction, whatever
//! the number of bans in it (arrays through `unnest`), so a burst of
//! 10,000 bans is one statement.

mod connect;
mod schema;

pub use connect::{FleetDatabase, TlsMode};
pub use schema::SCHEMA_VERSION;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio_postgres::{Client, Row};

use crate::fleet::{ChangeKind, FleetChange, FleetFailure, FleetHost, FleetStore, FleetWrite};
use crate::fleet_error::{FleetError, PgContext};

/// The channel hosts listen on.
const CHANNEL: &str = "bantam_changes";

/// A connected fleet store. Dropping it closes the connection.
pub struct PgFleet {
    client: Client,
    origin: String,
    notes: mpsc::UnboundedReceiver<String>,
}

impl PgFleet {
    /// Connects, brings the schema up to date, claims `origin` for this
    /// role (or finds it already ours) and listens.
    pub async fn connect(db: &FleetDatabase, origin: &str) -> Result<PgFleet, FleetError> {
        let (mut config, tls) = db.parse()?;
        config.application_name(format!("bantam {origin}"));
        let (mut client, notes) = connect::connect(&config, &tls).await?;
        schema::migrate(&mut client).await?;
        let claimed = client
            .execute(
                "INSERT INTO bantam_hosts (origin) VALUES ($1)
                 ON CONFLICT (origin) DO UPDATE SET last_contact = now()",
                &[&origin],
            )
            .await;
        if let Err(e) = claimed {
            if e.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) {
                return Err(FleetError::Postgres {
                    action: "joining the fleet",
                    cause: format!(
                        "server name {origin:?} belongs to another database role \
                         (or this role may not write bantam_hosts)"
                    ),
                });
            }
            return Err(e).doing("joining the fleet");
        }
        client
            .batch_execute(&format!("LISTEN {CHANNEL}"))
            .await
            .doing("listening")?;
        Ok(PgFleet {
            client,
            origin: origin.to_owned(),
            notes,
        })
    }

    /// Applies the migrations only (`bantam fleet migrate`, as the owner);
    /// returns the version found before.
    pub async fn migrate(db: &FleetDatabase) -> Result<i32, FleetError> {
        let (config, tls) = db.parse()?;
        let (mut client, _notes) = connect::connect(&config, &tls).await?;
        schema::migrate(&mut client).await
    }

    /// Wakes when another host wrote a change (the payload is its id);
    /// `None` when the connection is gone.
    pub async fn notified(&mut self) -> Option<String> {
        self.notes.recv().await
    }

    /// Whether the connection has ended (the server went away).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

fn change_of(row: &Row) -> Result<FleetChange, FleetError> {
    let kind: String = row.get(2);
    let kind = ChangeKind::parse(&kind).ok_or_else(|| FleetError::Postgres {
        action: "reading changes",
        cause: format!("unknown change kind {kind:?}"),
    })?;
    let count = |i: usize| u32::try_from(row.get::<_, i32>(i)).unwrap_or(0);
    Ok(FleetChange {
        id: row.get(0),
        origin: row.get(1),
        write: FleetWrite {
            kind,
            jail: row.get(3),
            target: row.get(4),
            start: row.get(5),
            end: row.get(6),
            ban_count: count(7),
            failures: count(8),
        },
    })
}

const CHANGE_COLUMNS: &str =
    "id, origin, kind, jail, target, start_at, end_at, ban_count, failures";

fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

impl FleetStore for PgFleet {
    fn origin(&self) -> &str {
        &self.origin
    }

    async fn publish(&mut self, writes: &[FleetWrite]) -> Result<i64, FleetError> {
        let what = "publishing bans";
        let kinds: Vec<&str> = writes.iter().map(|w| w.kind.as_str()).collect();
        let jails: Vec<&str> = writes.iter().map(|w| w.jail.as_str()).collect();
        let targets: Vec<&str> = writes.iter().map(|w| w.target.as_str()).collect();
        let starts: Vec<Timestamp> = writes.iter().map(|w| w.start).collect();
        let ends: Vec<Option<Timestamp>> = writes.iter().map(|w| w.end).collect();
        let counts: Vec<i32> = writes.iter().map(|w| int(w.ban_count)).collect();
        let failures: Vec<i32> = writes.iter().map(|w| int(w.failures)).collect();
        let tx = self.client.transaction().await.doing(what)?;
        let row = tx
            .query_one(
                "WITH n AS (
                   INSERT INTO bantam_changes
                     (origin, kind, jail, target, start_at, end_at, ban_count, failures)
                   SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[],
                       $5::timestamptz[], $6::timestamptz[], $7::int[], $8::int[])
                   RETURNING id)
                 SELECT COALESCE(max(id), 0) FROM n",
                &[
                    &self.origin,
                    &kinds,
                    &jails,
                    &targets,
                    &starts,
                    &ends,
                    &counts,
                    &failures,
                ],
            )
            .await
            .doing(what)?;
        let last: i64 = row.get(0);
        // Delivered at commit, to every listener, in commit order.
        tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &last.to_string()])
            .await
            .doing(what)?;
        tx.commit().await.doing(what)?;
        Ok(last)
    }

    async fn changes_since(
        &mut self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<FleetChange>, FleetError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM bantam_changes WHERE id > $1 ORDER BY id LIMIT $2"
                ),
                &[&after, &limit],
            )
            .await
            .doing("reading changes")?;
        rows.iter().map(change_of).collect()
    }

    async fn active_bans(&mut self, now: Timestamp) -> Result<Vec<FleetChange>, FleetError> {
        let rows = self
            .client
            .query(
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM (
                       SELECT DISTINCT ON (jail, target) * FROM bantam_changes
                       WHERE kind = 'ban' ORDER BY jail, target, id DESC) c
                     WHERE (end_at IS NULL OR end_at > $1)
                       AND NOT EXISTS (SELECT 1 FROM bantam_changes u
                         WHERE u.kind = 'unban' AND u.target = c.target AND u.id > c.id)
                     ORDER BY jail, target"
                ),
                &[&now],
            )
            .await
            .doing("listing the fleet's bans")?;
        rows.iter().map(change_of).collect()
    }

    async fn touch(&mut self, last_change: i64) -> Result<(), FleetError> {
        self.client
            .execute(
                "UPDATE bantam_hosts SET last_contact = now(),
                   last_change = GREATEST(last_change, $2) WHERE origin = $1",
                &[&self.origin, &last_change],
            )
            .await
            .doing("saying this host is alive")?;
        Ok(())
    }

    async fn hosts(&mut self) -> Result<Vec<FleetHost>, FleetError> {
        let rows = self
            .client
            .query(
                "SELECT origin, last_contact, last_change FROM bantam_hosts ORDER BY origin",
                &[],
            )
            .await
            .doing("listing hosts")?;
        Ok(rows
            .iter()
            .map(|r| FleetHost {
                origin: r.get(0),
                last_contact: r.get(1),
                last_change: r.get(2),
            })
            .collect())
    }

    async fn newest_change(&mut self) -> Result<i64, FleetError> {
        let row = self
            .client
            .query_one("SELECT COALESCE(max(id), 0) FROM bantam_changes", &[])
            .await
            .doing("reading the newest change")?;
        Ok(row.get(0))
    }

    async fn count_failures(
        &mut self,
        jail: &str,
        failures: &[FleetFailure],
        since: Timestamp,
    ) -> Result<Vec<(String, u32)>, FleetError> {
        let what = "counting failures across the fleet";
        let targets: Vec<&str> = failures.iter().map(|f| f.target.as_str()).collect();
        let ats: Vec<Timestamp> = failures.iter().map(|f| f.at).collect();
        let counts: Vec<i32> = failures.iter().map(|f| int(f.count)).collect();
        let tx = self.client.transaction().await.doing(what)?;
        // What no findtime can reach any more: this host's own rows only.
        tx.execute(
            "DELETE FROM bantam_failures WHERE origin = $1 AND jail = $2 AND at < $3",
            &[&self.origin, &jail, &since],
        )
        .await
        .doing(what)?;
        tx.execute(
            "INSERT INTO bantam_failures (origin, jail, target, at, count)
             SELECT $1, $2, * FROM unnest($3::text[], $4::timestamptz[], $5::int[])",
            &[&self.origin, &jail, &targets, &ats, &counts],
        )
        .await
        .doing(what)?;
        tx.commit().await.doing(what)?;
        // After the commit: of two hosts publishing at once, the later
        // one to read sees both.
        let rows = self
            .client
            .query(
                "SELECT target, sum(count)::int FROM bantam_failures
                 WHERE jail = $1 AND target = ANY($2) AND at >= $3 GROUP BY target",
                &[&jail, &targets, &since],
            )
            .await
            .doing(what)?;
        Ok(rows
            .iter()
            .map(|r| (r.get(0), u32::try_from(r.get::<_, i32>(1)).unwrap_or(0)))
            .collect())
    }
}
