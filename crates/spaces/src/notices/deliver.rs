//! The runner that works out a notice's recipients from its targets, on any node: it claims a
//! queued notice with a lease (a node that dies mid-way leaves it to another after the lease),
//! inserts the recipients with one statement per target, and marks the notice sent, all in one
//! transaction, so a notice is delivered completely or not at all and never twice.

use super::Audience;
use kernel::facts::{self, Fact};
use kernel::outbox::{Message, To};
use kernel::{AppResult, AppState, NodeId, NoticeId, PersonId, on_db, on_tx};
use std::time::Duration;

/// Wakes this node's runner when a notice is sent here (others find it within a second).
#[derive(Default)]
pub struct Wake(pub tokio::sync::Notify);

const LEASE_SECONDS: i64 = 300;

pub async fn runner(state: AppState) {
    let wake = state.cache::<Wake>();
    loop {
        match deliver_queued(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(notices = n, "notices delivered"),
            Err(e) => tracing::error!(error = %e, "notice delivery failed"),
        }
        tokio::select! {
            _ = wake.0.notified() => {},
            _ = tokio::time::sleep(Duration::from_secs(1)) => {},
        }
    }
}

/// Delivers every queued notice whose lease is free; returns how many.
pub async fn deliver_queued(state: &AppState) -> AppResult<usize> {
    let mut done = 0;
    loop {
        let now = state.clock.now();
        let next: Option<(NoticeId,)> = on_db!(&state.db, p => sqlx::query_as(
            "SELECT id FROM notices WHERE state = 'queued' AND (lease_until IS NULL OR lease_until < $1)
             ORDER BY created_at LIMIT 1",
        ).bind(now).fetch_optional(p).await)?;
        let Some((id,)) = next else {
            return Ok(done);
        };
        let claimed = on_db!(&state.db, p => sqlx::query(
            "UPDATE notices SET lease_until = $2
             WHERE id = $1 AND state = 'queued' AND (lease_until IS NULL OR lease_until < $3)",
        ).bind(id).bind(now + chrono::Duration::seconds(LEASE_SECONDS)).bind(now)
         .execute(p).await.map(|r| r.rows_affected()))?;
        if claimed == 1 {
            deliver(state, id).await?;
            done += 1;
        }
    }
}

const GUARDIANS: &str = "INSERT INTO notice_recipients (notice_id, person_id, class_id, student_id)
     SELECT $1, g.person_id, s.node_id, s.person_id
     FROM org_closure oc
     JOIN role_assignments s ON s.node_id = oc.descendant_id AND s.role = 'student'
     JOIN persons sp ON sp.id = s.person_id AND sp.active = TRUE
     JOIN role_assignments g ON g.student_id = s.person_id AND g.role = 'guardian'
     JOIN persons gp ON gp.id = g.person_id AND gp.active = TRUE
     WHERE oc.ancestor_id = $2
     ON CONFLICT (notice_id, person_id) DO NOTHING";

const STUDENTS: &str = "INSERT INTO notice_recipients (notice_id, person_id, class_id, student_id)
     SELECT $1, s.person_id, s.node_id, s.person_id
     FROM org_closure oc
     JOIN role_assignments s ON s.node_id = oc.descendant_id AND s.role = 'student'
     JOIN persons sp ON sp.id = s.person_id AND sp.active = TRUE
     WHERE oc.ancestor_id = $2
     ON CONFLICT (notice_id, person_id) DO NOTHING";

const STAFF: &str = "INSERT INTO notice_recipients (notice_id, person_id)
     SELECT DISTINCT $1, r.person_id
     FROM org_closure oc
     JOIN role_assignments r ON r.node_id = oc.descendant_id AND r.role IN ('teacher', 'head_teacher', 'admin')
     JOIN persons p ON p.id = r.person_id AND p.active = TRUE
     WHERE oc.ancestor_id = $2
     ON CONFLICT (notice_id, person_id) DO NOTHING";

async fn deliver(state: &AppState, id: NoticeId) -> AppResult<()> {
    let targets: Vec<(NodeId, String)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT node_id, audience FROM notice_targets WHERE notice_id = $1",
    ).bind(id).fetch_all(p).await)?;
    let (node, sender, title, body, sender_name): (NodeId, PersonId, String, String, String) = on_db!(&state.db, p => sqlx::query_as(
        "SELECT n.node_id, n.sender_id, n.title, n.body, p.name FROM notices n JOIN persons p ON p.id = n.sender_id WHERE n.id = $1",
    ).bind(id).fetch_one(p).await)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    for (target, audience) in targets {
        let sql = match Audience::parse(&audience) {
            Some(Audience::Guardians) => GUARDIANS,
            Some(Audience::Students) => STUDENTS,
            Some(Audience::Staff) => STAFF,
            None => continue,
        };
        on_tx!(&mut tx, c => sqlx::query(sql).bind(id).bind(target)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    // The sender is never their own recipient.
    on_tx!(&mut tx, c => sqlx::query(
        "DELETE FROM notice_recipients WHERE notice_id = $1 AND person_id = $2",
    ).bind(id).bind(sender).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let (count,): (i64,) = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM notice_recipients WHERE notice_id = $1",
    ).bind(id).fetch_one(&mut *c).await)?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE notices SET state = 'sent', recipients = $2, sent_at = $3, lease_until = NULL WHERE id = $1",
    ).bind(id).bind(count).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    // Outside the platform too, on every channel each recipient is reached on.
    let excerpt: String = body.chars().take(80).collect();
    kernel::outbox::enqueue(
        state,
        &mut tx,
        now,
        To::Query {
            sql: "SELECT person_id FROM notice_recipients WHERE notice_id = $1",
            arg: id.0,
        },
        &Message {
            kind: "notice",
            dedup_key: &format!("notice:{id}"),
            title: &title,
            body: &crate::outside_text(
                "outbox_text.notice_body",
                &[("sender", &sender_name), ("text", &excerpt)],
            ),
            link: Some(&format!("/notices/{id}")),
        },
    )
    .await?;
    facts::record(
        &mut tx,
        now,
        Fact {
            kind: "notice.sent",
            node_id: node,
            person_id: Some(sender),
            object_id: Some(id.0),
            value: count,
            idempotency_key: Some(format!("notice.sent:{id}")),
        },
    )
    .await?;
    tx.commit().await
}
