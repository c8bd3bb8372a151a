//! A school's retention period for conversations (会话保留期限): its administrators keep
//! conversations for a number of days after their last message (30 days to 10 years), or for
//! ever (the default). Each day the maintenance removes what is older in each school that set
//! one, except a conversation reported and waiting for review. Setting it is audited.

use crate::scope;
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, AppState, Ctx, NodeId, on_db, on_tx};

/// The shortest and longest retention a school may set, in days.
pub const MIN_DAYS: i64 = 30;
pub const MAX_DAYS: i64 = 3_650;

/// The schools the actor administers (at or below their nodes), with their retention in days.
pub async fn schools(cx: &Ctx<'_>) -> AppResult<Vec<(NodeId, String, Option<i64>)>> {
    let mut out = Vec::new();
    for node in cx.actor.admin_nodes() {
        let rows: Vec<(NodeId, String, Option<i64>)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT s.id, s.name, r.days FROM org_closure c JOIN org_nodes s ON s.id = c.descendant_id AND s.kind = 'school'
             LEFT JOIN message_retention r ON r.school_id = s.id
             WHERE c.ancestor_id = $1 ORDER BY s.name LIMIT 500",
        ).bind(node).fetch_all(p).await)?;
        for r in rows {
            if !out
                .iter()
                .any(|o: &(NodeId, String, Option<i64>)| o.0 == r.0)
            {
                out.push(r);
            }
        }
    }
    Ok(out)
}

/// Sets (or, with `None`, removes) a school's retention; audited.
pub async fn set(cx: &Ctx<'_>, school: NodeId, days: Option<i64>) -> AppResult<()> {
    let node = directory::nodes::find(cx.db(), school)
        .await?
        .filter(|n| n.kind == "school")
        .ok_or(AppError::NotFound("directory.node_not_found"))?;
    if !scope::administers(cx.db(), cx.actor, node.id).await? {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    if let Some(d) = days
        && !(MIN_DAYS..=MAX_DAYS).contains(&d)
    {
        return Err(AppError::field("days", "messages.error.retention"));
    }
    let mut tx = cx.begin().await?;
    match days {
        Some(d) => on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO message_retention (school_id, days, set_by, set_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (school_id) DO UPDATE SET days = excluded.days, set_by = excluded.set_by, set_at = excluded.set_at",
        ).bind(school).bind(d).bind(cx.actor.person_id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?,
        None => {
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM message_retention WHERE school_id = $1")
            .bind(school).execute(&mut *c).await.map(|r| r.rows_affected()))?
        }
    };
    cx.audit(
        &mut tx,
        AuditEvent::new("conversation.retention")
            .node(school)
            .detail(serde_json::json!({ "days": days })),
    )
    .await?;
    tx.commit().await
}

/// Removes the conversations whose last message is older than their school's retention (not
/// those reported and waiting for review): their messages, members and the conversation.
/// Returns how many conversations went.
pub async fn purge(state: &AppState, now: DateTime<Utc>) -> AppResult<u64> {
    let schools: Vec<(NodeId, i64)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT school_id, days FROM message_retention",
    ).fetch_all(p).await)?;
    let mut removed = 0;
    for (school, days) in schools {
        let cutoff = now - chrono::Duration::days(days);
        let mut tx = state.db.begin().await?;
        let pick = "SELECT id FROM conversations WHERE school_id = $1 AND last_message_at < $2 AND reported_at IS NULL";
        for sql in [
            format!(
                "DELETE FROM attachments WHERE owner_kind = 'message' AND owner_id IN
                 (SELECT id FROM messages WHERE conversation_id IN ({pick}))"
            ),
            format!("DELETE FROM messages WHERE conversation_id IN ({pick})"),
            format!("DELETE FROM conversation_members WHERE conversation_id IN ({pick})"),
        ] {
            on_tx!(&mut tx, c => sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(school).bind(cutoff)
                .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        removed += on_tx!(&mut tx, c => sqlx::query(
            "DELETE FROM conversations WHERE school_id = $1 AND last_message_at < $2 AND reported_at IS NULL",
        ).bind(school).bind(cutoff).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        tx.commit().await?;
    }
    Ok(removed)
}
