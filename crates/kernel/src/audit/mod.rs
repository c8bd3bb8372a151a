//! The audit log: written in the same transaction as the action it records, never updated,
//! removed only by the retention job once archived. Tamper-evident: each server node chains
//! what it wrote (`chain`), a signed anchor covers every chain (`anchor`), and `verify` proves
//! it or names the first broken entry.

pub mod anchor;
pub mod chain;
pub mod names;
pub mod retention;
pub mod verify;

use std::sync::OnceLock;

use crate::actor::Actor;
use crate::error::AppResult;
use crate::ids::{AuditId, NodeId, PersonId};
use crate::{Db, Tx, on_tx};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Where a request came from, for the audit record and the logs.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// For actions started from the command line.
    pub fn cli() -> Self {
        Self {
            request_id: format!("cli-{}", uuid::Uuid::now_v7()),
            ip: None,
            user_agent: Some("jiaoyun-cli".into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

/// One thing that happened.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// A dotted action name: `auth.login`, `node.create`, `person.view_personal_data`, …
    pub action: &'static str,
    pub object_type: Option<&'static str>,
    pub object_id: Option<String>,
    /// The node whose administrators may read this entry.
    pub node_id: Option<NodeId>,
    pub outcome: Outcome,
    pub detail: Option<serde_json::Value>,
}

impl AuditEvent {
    pub fn new(action: &'static str) -> Self {
        Self {
            action,
            object_type: None,
            object_id: None,
            node_id: None,
            outcome: Outcome::Success,
            detail: None,
        }
    }
    pub fn object(mut self, kind: &'static str, id: impl ToString) -> Self {
        self.object_type = Some(kind);
        self.object_id = Some(id.to_string());
        self
    }
    pub fn node(mut self, node: NodeId) -> Self {
        self.node_id = Some(node);
        self
    }
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// Who did it, as recorded (the actor may be unknown, e.g. a failed login).
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub id: Option<PersonId>,
    pub name: Option<&'a str>,
}

impl<'a> From<&'a Actor> for Who<'a> {
    fn from(a: &'a Actor) -> Self {
        if a.is_system() {
            Self {
                id: None,
                name: Some("system"),
            }
        } else {
            Self {
                id: Some(a.person_id),
                name: Some(&a.name),
            }
        }
    }
}

/// The name of this server node's chain, set once at start (`Config::node_name`); one process
/// is one node.
static WRITER: OnceLock<String> = OnceLock::new();

pub fn set_writer(name: &str) {
    let _ = WRITER.set(name.to_owned());
}

pub fn writer() -> &'static str {
    WRITER.get().map_or("local", String::as_str)
}

/// Writes the record inside the caller's transaction.
pub async fn record(
    tx: &mut Tx,
    now: DateTime<Utc>,
    who: Who<'_>,
    meta: &RequestMeta,
    ev: AuditEvent,
) -> AppResult<()> {
    let detail = ev.detail.map(|d| d.to_string());
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO audit_log (id, at, actor_id, actor_name, ip, user_agent, action, object_type,
                                object_id, node_id, outcome, request_id, detail, writer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(AuditId::new())
    .bind(now)
    .bind(who.id)
    .bind(who.name)
    .bind(meta.ip.as_deref())
    .bind(meta.user_agent.as_deref())
    .bind(ev.action)
    .bind(ev.object_type)
    .bind(ev.object_id.as_deref())
    .bind(ev.node_id)
    .bind(ev.outcome.as_str())
    .bind(meta.request_id.as_str())
    .bind(detail.as_deref())
    .bind(writer())
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// One record to write with others ([`record_all`]).
pub struct Entry<'a> {
    pub at: DateTime<Utc>,
    pub who: Who<'a>,
    pub meta: &'a RequestMeta,
    pub event: &'a AuditEvent,
}

/// Writes many records inside the caller's transaction, a few statements for all (the token
/// endpoint's group commit).
pub async fn record_all(tx: &mut Tx, entries: &[Entry<'_>]) -> AppResult<()> {
    for chunk in entries.chunks(500) {
        on_tx!(&mut *tx, c => {
            let mut qb = sqlx::QueryBuilder::new(
                "INSERT INTO audit_log (id, at, actor_id, actor_name, ip, user_agent, action, object_type,
                                        object_id, node_id, outcome, request_id, detail, writer) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(AuditId::new())
                    .push_bind(e.at)
                    .push_bind(e.who.id)
                    .push_bind(e.who.name)
                    .push_bind(e.meta.ip.as_deref())
                    .push_bind(e.meta.user_agent.as_deref())
                    .push_bind(e.event.action)
                    .push_bind(e.event.object_type)
                    .push_bind(e.event.object_id.as_deref())
                    .push_bind(e.event.node_id)
                    .push_bind(e.event.outcome.as_str())
                    .push_bind(e.meta.request_id.as_str())
                    .push_bind(e.event.detail.as_ref().map(|d| d.to_string()))
                    .push_bind(writer());
            });
            qb.build().execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// Records an event that has no other write to share a transaction with (a failed login,
/// a view of personal data).
pub async fn record_alone(
    db: &Db,
    now: DateTime<Utc>,
    who: Who<'_>,
    meta: &RequestMeta,
    ev: AuditEvent,
) -> AppResult<()> {
    let mut tx = db.begin().await?;
    record(&mut tx, now, who, meta, ev).await?;
    tx.commit().await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: AuditId,
    pub at: DateTime<Utc>,
    pub actor_id: Option<PersonId>,
    pub actor_name: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub action: String,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub node_id: Option<NodeId>,
    pub outcome: String,
    pub request_id: Option<String>,
    pub detail: Option<String>,
    /// The server node that wrote it: the hash chain that holds it.
    pub writer: Option<String>,
}

/// Every column of an entry, for `SELECT … FROM audit_log l`.
pub const ENTRY_COLUMNS: &str = "l.id, l.at, l.actor_id, l.actor_name, l.ip, l.user_agent, l.action, l.object_type, l.object_id, l.node_id, l.outcome, l.request_id, l.detail, l.writer";
