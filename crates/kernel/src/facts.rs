//! The fact record: one append-only row per countable event, written inside the transaction of
//! the action it counts, so a fact exists exactly when its action does. Every module records its
//! facts here (`space.opened`, `notice.read`, `leave.requested`, …) and the dashboards compute
//! every indicator from this one table, rolled up the organisation tree from the fact's node.

use crate::ids::{NodeId, PersonId};
use crate::{AppResult, Db, Tx, on_db, on_tx};
use chrono::{DateTime, Utc};

/// A countable event.
#[derive(Debug, Clone)]
pub struct Fact<'a> {
    /// `module.event`, for example `space.opened`.
    pub kind: &'a str,
    /// The class, school or region the fact belongs to.
    pub node_id: NodeId,
    /// Who did it, if a person did.
    pub person_id: Option<PersonId>,
    /// What it is about.
    pub object_id: Option<uuid::Uuid>,
    pub value: i64,
    /// A fact recorded twice with the same key (a retry, a second click) is kept once.
    pub idempotency_key: Option<String>,
}

impl<'a> Fact<'a> {
    /// A fact of value 1 about `object`, kept once per `key`.
    pub fn once(
        kind: &'a str,
        node_id: NodeId,
        person_id: Option<PersonId>,
        object: impl Into<uuid::Uuid>,
        key: String,
    ) -> Self {
        Self {
            kind,
            node_id,
            person_id,
            object_id: Some(object.into()),
            value: 1,
            idempotency_key: Some(key),
        }
    }
}

/// Records `fact` inside `tx`; `false` if one with the same key was recorded before.
pub async fn record(tx: &mut Tx, now: DateTime<Utc>, fact: Fact<'_>) -> AppResult<bool> {
    let n = on_tx!(tx, c => sqlx::query(
        "INSERT INTO facts (id, kind, node_id, person_id, object_id, occurred_at, value, idempotency_key)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idempotency_key) DO NOTHING",
    ).bind(uuid::Uuid::now_v7()).bind(fact.kind).bind(fact.node_id).bind(fact.person_id)
     .bind(fact.object_id).bind(now).bind(fact.value).bind(fact.idempotency_key)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The sum of the values of the facts of `kind` recorded at `node` or below it, in
/// `[from, to)`.
pub async fn sum_under(
    db: &Db,
    kind: &str,
    node: NodeId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<i64> {
    let (n,): (Option<i64>,) = on_db!(db, p => sqlx::query_as(
        "SELECT CAST(SUM(f.value) AS BIGINT) FROM facts f
         JOIN org_closure c ON c.descendant_id = f.node_id AND c.ancestor_id = $2
         WHERE f.kind = $1 AND f.occurred_at >= $3 AND f.occurred_at < $4",
    ).bind(kind).bind(node).bind(from).bind(to).fetch_one(p).await)?;
    Ok(n.unwrap_or(0))
}
