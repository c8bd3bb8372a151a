//! The library's change log (`resource_changes`): every write to a resource appends its id in
//! the same transaction, and each node's search index follows the log from the sequence number
//! its last commit recorded.

use chrono::{DateTime, Utc};
use kernel::{AppResult, ResourceId, Tx, on_tx};

/// Records that `resource` changed (created, edited, shared, rated, deleted, …).
pub async fn record(tx: &mut Tx, resource: ResourceId, at: DateTime<Utc>) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query("INSERT INTO resource_changes (resource_id, at) VALUES ($1, $2)")
        .bind(resource).bind(at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}
