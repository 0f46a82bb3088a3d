//! The fleet's schema, versioned: migration N brings version N-1 to N, in
//! one transaction, under an advisory lock so that a hundred hosts
//! starting together migrate once. A host whose schema is current only
//! reads the version, so a host role needs no right to create anything.
//!
//! # Who may write what
//!
//! Row-level security keyed on the connected role: every host logs in as
//! a role of its own (`CREATE ROLE web1 LOGIN IN ROLE bantam_fleet`). A
//! host claims its server name in `bantam_hosts` on first contact, with its
//! role; from then on, rows of `bantam_changes` and `bantam_failures` with
//! that origin can be inserted only by that role. Reading is open to the
//! fleet (every host applies every host's bans). The tables belong to the
//! role that ran the migrations, the administrator, whom RLS does not bind;
//! hosts get only the rights granted below to `bantam_fleet`.

use tokio_postgres::Client;

use crate::fleet_error::{FleetError, PgContext};

/// Any number: the advisory lock's key ("bantam" in ASCII, as an integer).
const LOCK: i64 = 0x62_61_6e_74_61_6d;

/// Migration N (1-based) is `MIGRATIONS[N - 1]`.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE bantam_hosts (
    origin       text PRIMARY KEY,
    role         name NOT NULL DEFAULT current_user,
    last_contact timestamptz NOT NULL DEFAULT now(),
    last_change  bigint NOT NULL DEFAULT 0
);
CREATE TABLE bantam_changes (
    id        bigserial PRIMARY KEY,
    origin    text NOT NULL REFERENCES bantam_hosts (origin),
    kind      text NOT NULL CHECK (kind IN ('ban', 'unban')),
    jail      text NOT NULL,
    target    text NOT NULL,
    start_at  timestamptz NOT NULL,
    end_at    timestamptz,
    ban_count integer NOT NULL,
    failures  integer NOT NULL,
    recorded  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bantam_changes_by_target ON bantam_changes (target, id);
CREATE TABLE bantam_failures (
    id     bigserial PRIMARY KEY,
    origin text NOT NULL REFERENCES bantam_hosts (origin),
    jail   text NOT NULL,
    target text NOT NULL,
    at     timestamptz NOT NULL,
    count  integer NOT NULL
);
CREATE INDEX bantam_failures_by_target ON bantam_failures (jail, target, at);
CREATE INDEX bantam_failures_by_origin ON bantam_failures (origin, jail, at);

ALTER TABLE bantam_hosts ENABLE ROW LEVEL SECURITY;
CREATE POLICY hosts_read ON bantam_hosts FOR SELECT USING (true);
CREATE POLICY hosts_claim ON bantam_hosts FOR INSERT WITH CHECK (role = current_user);
CREATE POLICY hosts_touch ON bantam_hosts FOR UPDATE
    USING (role = current_user) WITH CHECK (role = current_user);

ALTER TABLE bantam_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY changes_read ON bantam_changes FOR SELECT USING (true);
CREATE POLICY changes_own ON bantam_changes FOR INSERT WITH CHECK (EXISTS (
    SELECT 1 FROM bantam_hosts h WHERE h.origin = bantam_changes.origin AND h.role = current_user));

ALTER TABLE bantam_failures ENABLE ROW LEVEL SECURITY;
CREATE POLICY failures_read ON bantam_failures FOR SELECT USING (true);
CREATE POLICY failures_own ON bantam_failures FOR INSERT WITH CHECK (EXISTS (
    SELECT 1 FROM bantam_hosts h WHERE h.origin = bantam_failures.origin AND h.role = current_user));
CREATE POLICY failures_forget ON bantam_failures FOR DELETE USING (EXISTS (
    SELECT 1 FROM bantam_hosts h WHERE h.origin = bantam_failures.origin AND h.role = current_user));

DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'bantam_fleet') THEN
        GRANT SELECT ON bantam_schema TO bantam_fleet;
        GRANT SELECT, INSERT, UPDATE ON bantam_hosts TO bantam_fleet;
        GRANT SELECT, INSERT ON bantam_changes TO bantam_fleet;
        GRANT SELECT, INSERT, DELETE ON bantam_failures TO bantam_fleet;
        GRANT USAGE ON SEQUENCE bantam_changes_id_seq, bantam_failures_id_seq TO bantam_fleet;
    END IF;
END $$;
"#];

/// The version this bantam writes.
pub const SCHEMA_VERSION: i32 = MIGRATIONS.len() as i32;

/// Brings the schema to [`SCHEMA_VERSION`]; returns the version found.
pub(crate) async fn migrate(client: &mut Client) -> Result<i32, FleetError> {
    let found = version(client).await?;
    if found == SCHEMA_VERSION {
        return Ok(found);
    }
    if found > SCHEMA_VERSION {
        return Err(FleetError::Version {
            found,
            known: SCHEMA_VERSION,
        });
    }
    let what = "migrating the schema";
    let tx = client.transaction().await.doing(what)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])
        .await
        .doing(what)?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS bantam_schema (version integer NOT NULL)")
        .await
        .doing(what)?;
    // Read again under the lock: another host may have migrated meanwhile.
    let row = tx
        .query_opt("SELECT version FROM bantam_schema", &[])
        .await
        .doing(what)?;
    let now: i32 = row.map_or(0, |r| r.get(0));
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(now as usize) {
        tx.batch_execute(sql).await.doing(what)?;
        let v = i as i32 + 1;
        tx.execute("DELETE FROM bantam_schema", &[])
            .await
            .doing(what)?;
        tx.execute("INSERT INTO bantam_schema (version) VALUES ($1)", &[&v])
            .await
            .doing(what)?;
    }
    tx.commit().await.doing(what)?;
    Ok(found)
}

async fn version(client: &Client) -> Result<i32, FleetError> {
    let what = "reading the schema version";
    let exists: bool = client
        .query_one("SELECT to_regclass('bantam_schema') IS NOT NULL", &[])
        .await
        .doing(what)?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_opt("SELECT version FROM bantam_schema", &[])
        .await
        .doing(what)?;
    Ok(row.map_or(0, |r| r.get(0)))
}
