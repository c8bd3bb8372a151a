//! Read access to the organisation tree's closure table (the directory crate maintains it).

use crate::error::AppResult;
use crate::ids::NodeId;
use crate::{Db, on_db};

/// The node itself and every node above it.
pub async fn ancestors_or_self(db: &Db, node: NodeId) -> AppResult<Vec<NodeId>> {
    let rows: Vec<(NodeId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT ancestor_id FROM org_closure WHERE descendant_id = $1 ORDER BY depth DESC",
    ).bind(node).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Whether `ancestor` is `node` or above it.
pub async fn is_within(db: &Db, node: NodeId, ancestor: NodeId) -> AppResult<bool> {
    let row: Option<(i64,)> = on_db!(db, p => sqlx::query_as(
        "SELECT depth FROM org_closure WHERE ancestor_id = $1 AND descendant_id = $2",
    ).bind(ancestor).bind(node).fetch_optional(p).await)?;
    Ok(row.is_some())
}
