//! The base-data change log (`base_changes`): every write to a school's base data appends the
//! entities it touched, in the same transaction. It is the cursor of the change-feed API and of
//! the push to an upper-level instance, so a consumer that has seen sequence number N has seen
//! every change up to N. Entries name an entity; its current state is read when it is sent, so
//! several changes to one record collapse into one.

use kernel::{AppResult, NodeId, Tx, on_tx};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What kind of record changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// A person's core record (name, ID, phone, …), with their account's existence.
    Person,
    /// A student's registry record, class and family.
    Student,
    /// A staff member's employment record and teaching assignments.
    Staff,
    /// A student's family members (written as part of the student).
    Family,
    /// A node of the tree (school, grade, class).
    Node,
}

impl Entity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Person => "person",
            Self::Student => "student",
            Self::Staff => "staff",
            Self::Family => "family",
            Self::Node => "node",
        }
    }

    /// The entity whose record a role of this kind belongs to.
    pub fn of_role(role: &str) -> Self {
        match role {
            "student" => Self::Student,
            "teacher" | "head_teacher" => Self::Staff,
            _ => Self::Person,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "person" => Self::Person,
            "student" => Self::Student,
            "staff" => Self::Staff,
            "family" => Self::Family,
            "node" => Self::Node,
            _ => return None,
        })
    }
}

/// Takes the change log's turn for the rest of the transaction. A reader that has seen sequence
/// number N must never later meet a smaller one: on PostgreSQL two transactions could take
/// numbers in one order and commit in the other, so writers of the log queue here from their
/// first entry to their commit. (SQLite has one writer at a time anyway.) Take it as late in a
/// transaction as possible.
pub async fn lock(tx: &mut Tx) -> AppResult<()> {
    if let Tx::Postgres(t) = tx {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOG_LOCK)
            .execute(&mut **t)
            .await?;
    }
    Ok(())
}

/// The advisory lock key of the change log ("jy-chlog").
const LOG_LOCK: i64 = 0x6a79_2d63_686c_6f67;

/// Appends one change to the log, inside the caller's transaction. `node` is the school (or
/// region) whose data changed.
pub async fn record(
    tx: &mut Tx,
    at: chrono::DateTime<chrono::Utc>,
    node: NodeId,
    entity: Entity,
    id: Uuid,
) -> AppResult<()> {
    lock(tx).await?;
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO base_changes (at, node_id, entity, entity_id, op) VALUES ($1, $2, $3, $4, 'upsert')",
    ).bind(at).bind(node).bind(entity.as_str()).bind(id).execute(c).await.map(|_| ()))?;
    Ok(())
}

/// Appends a change to a person's core record (the person page's edits).
pub async fn person(
    tx: &mut Tx,
    at: chrono::DateTime<chrono::Utc>,
    node: NodeId,
    id: kernel::PersonId,
) -> AppResult<()> {
    record(tx, at, node, Entity::Person, id.0).await
}

/// Changes gathered during a long transaction (an import) and appended at its end, so the
/// log's turn is held only from there to the commit.
#[derive(Debug, Default)]
pub struct Deferred(Vec<(NodeId, Entity, Uuid)>);

impl Deferred {
    pub fn add(&mut self, node: NodeId, entity: Entity, id: Uuid) {
        self.0.push((node, entity, id));
    }

    /// Appends everything gathered, inside `tx` (just before its commit).
    pub async fn write(self, tx: &mut Tx, at: chrono::DateTime<chrono::Utc>) -> AppResult<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        lock(tx).await?;
        for chunk in self.0.chunks(500) {
            on_tx!(&mut *tx, c => {
                let mut qb = sqlx::QueryBuilder::new("INSERT INTO base_changes (at, node_id, entity, entity_id, op) ");
                qb.push_values(chunk, |mut b, (node, entity, id)| {
                    b.push_bind(at).push_bind(*node).push_bind(entity.as_str()).push_bind(*id).push_bind("upsert");
                });
                qb.build().execute(&mut *c).await.map(|_| ())
            })?;
        }
        Ok(())
    }
}
