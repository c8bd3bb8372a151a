//! The library's change log (`resource_changes`): every write to a resource appends its id in
//! the same transaction, and each node's search index follows the log from the sequence number
//! its last commit recorded.
//!
//! A follower that has seen sequence number N must never later meet a smaller one. On
//! PostgreSQL two transactions could take numbers in one order and commit in the other, so a
//! writer takes a transaction-level advisory lock before its entry and holds it to its commit
//! (SQLite has one writer at a time anyway). Record the change as late in the transaction as
//! you can.

use chrono::{DateTime, Utc};
use kernel::{AppResult, ResourceId, Tx, on_tx};

/// The advisory lock key of the resource change log ("jy-rslog").
const LOG_LOCK: i64 = 0x6a79_2d72_736c_6f67;

/// Records that `resource` changed (created, edited, shared, rated, deleted, …).
pub async fn record(tx: &mut Tx, resource: ResourceId, at: DateTime<Utc>) -> AppResult<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOG_LOCK)
            .execute(&mut **t)
            .await?;
    }
    on_tx!(tx, c => sqlx::query("INSERT INTO resource_changes (resource_id, at) VALUES ($1, $2)")
        .bind(resource).bind(at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
