//! Guardian binding (家长绑定): guardians imported with their children are bound already; a
//! class's head teacher also shows a class code (and its QR code) that a guardian enters with
//! the child's name and the last four characters of the child's identity or registry number;
//! the head teacher approves and the binding is made (`directory::roles::bind_guardian`). A
//! guardian with several children sees all of them; ending a binding is audited.

pub mod pages;

use crate::scope;
use chrono::{DateTime, Utc};
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, notify, on_db, on_tx};
use serde::Serialize;

/// Failed attempts a person may make in a day (the last four characters are a small space).
pub const FAILURES_PER_DAY: i64 = 5;
/// How long a class code is good for.
pub const CODE_DAYS: i64 = 30;
/// Letters and digits that cannot be mistaken for one another.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

async fn require_head(cx: &Ctx<'_>, class: NodeId) -> AppResult<()> {
    if scope::heads(cx.actor, class) || scope::administers(cx.db(), cx.actor, class).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("directory.class_not_found"))
    }
}

fn new_code() -> String {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    (0..8)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The class's code and when it expires, made (or made anew) when missing, expired or asked.
pub async fn code(cx: &Ctx<'_>, class: NodeId, renew: bool) -> AppResult<(String, DateTime<Utc>)> {
    require_head(cx, class).await?;
    let current: Option<(String, DateTime<Utc>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT code, expires_at FROM class_codes WHERE class_id = $1",
    ).bind(class).fetch_optional(p).await)?;
    if let Some((c, until)) = current
        && !renew
        && until > cx.now
    {
        return Ok((c, until));
    }
    let code = new_code();
    let until = cx.now + chrono::Duration::days(CODE_DAYS);
    on_db!(cx.db(), p => sqlx::query(
        "INSERT INTO class_codes (class_id, code, created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (class_id) DO UPDATE SET code = excluded.code, created_by = excluded.created_by,
             created_at = excluded.created_at, expires_at = excluded.expires_at",
    ).bind(class).bind(&code).bind(cx.actor.person_id).bind(cx.now).bind(until).execute(p).await.map(|r| r.rows_affected()))?;
    Ok((code, until))
}

async fn fail(cx: &Ctx<'_>, field: &str, key: &str) -> AppError {
    let day = cx.today();
    let _ = on_db!(cx.db(), p => sqlx::query(
        "INSERT INTO binding_failures (person_id, day, failures) VALUES ($1, $2, 1)
         ON CONFLICT (person_id, day) DO UPDATE SET failures = binding_failures.failures + 1",
    ).bind(cx.actor.person_id).bind(day).execute(p).await.map(|r| r.rows_affected()));
    AppError::field(field, key)
}

/// A guardian asks to be bound to a child of the class whose code they were given.
pub async fn request(
    cx: &Ctx<'_>,
    code: &str,
    child_name: &str,
    last4: &str,
    relation: &str,
) -> AppResult<uuid::Uuid> {
    let (failures,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COALESCE(MAX(failures), 0) FROM binding_failures WHERE person_id = $1 AND day = $2",
    ).bind(cx.actor.person_id).bind(cx.today()).fetch_one(p).await)?;
    if failures >= FAILURES_PER_DAY {
        return Err(AppError::field("code", "binding.error.too_many"));
    }
    let mut f = FieldErrors::new();
    let last4 = last4.trim().to_uppercase();
    if last4.chars().count() != 4 {
        f.add("last4", "binding.error.last4");
    }
    if child_name.trim().is_empty() {
        f.add("child_name", "binding.error.name");
    }
    if standards::codes::name(standards::codes::Table::FamilyRelation, relation.trim()).is_none() {
        f.add("relation", "binding.error.relation");
    }
    f.into_result()?;
    let class: Option<(NodeId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT class_id FROM class_codes WHERE code = $1 AND expires_at > $2",
    ).bind(code.trim().to_uppercase()).bind(cx.now).fetch_optional(p).await)?;
    let Some((class,)) = class else {
        return Err(fail(cx, "code", "binding.error.code").await);
    };
    let students: Vec<(PersonId, Option<String>, Option<String>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT p.id, p.id_number, p.registry_no FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND r.role = 'student' AND p.active = TRUE AND p.name = $2",
    ).bind(class).bind(child_name.trim()).fetch_all(p).await)?;
    let ends = |s: &Option<String>| {
        s.as_deref()
            .is_some_and(|v| v.trim().to_uppercase().ends_with(&last4))
    };
    let Some((student, _, _)) = students
        .into_iter()
        .find(|(_, id, reg)| ends(id) || ends(reg))
    else {
        return Err(fail(cx, "child_name", "binding.error.no_match").await);
    };
    if cx
        .actor
        .grants_of(kernel::Role::Guardian)
        .any(|g| g.student_id == Some(student))
    {
        return Err(AppError::field("child_name", "binding.error.already"));
    }
    let pending: Option<(uuid::Uuid,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT id FROM binding_requests WHERE guardian_id = $1 AND student_id = $2 AND state = 'pending'",
    ).bind(cx.actor.person_id).bind(student).fetch_optional(p).await)?;
    if let Some((id,)) = pending {
        return Ok(id);
    }
    let id = uuid::Uuid::now_v7();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO binding_requests (id, class_id, guardian_id, student_id, relation, state, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6)",
    ).bind(id).bind(class).bind(cx.actor.person_id).bind(student).bind(relation.trim()).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let heads: Vec<(PersonId,)> = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'head_teacher'",
    ).bind(class).fetch_all(&mut *c).await)?;
    let link = format!("/bind/class/{class}");
    for (head,) in heads {
        notify::send(
            &mut tx,
            head,
            "notice.binding_requested",
            None,
            Some(&link),
            serde_json::json!({ "name": cx.actor.name }),
            cx.now,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// A request as its class's head teacher sees it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Request {
    pub id: uuid::Uuid,
    pub guardian_name: String,
    pub student_name: String,
    pub relation: String,
    pub state: String,
    pub created_at: DateTime<Utc>,
}

pub async fn requests(cx: &Ctx<'_>, class: NodeId) -> AppResult<Vec<Request>> {
    require_head(cx, class).await?;
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT b.id, g.name AS guardian_name, s.name AS student_name, b.relation, b.state, b.created_at
         FROM binding_requests b JOIN persons g ON g.id = b.guardian_id JOIN persons s ON s.id = b.student_id
         WHERE b.class_id = $1 ORDER BY (b.state = 'pending') DESC, b.created_at DESC LIMIT 100",
    ).bind(class).fetch_all(p).await)?)
}

/// A guardian's own requests.
pub async fn mine(cx: &Ctx<'_>) -> AppResult<Vec<Request>> {
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT b.id, g.name AS guardian_name, s.name AS student_name, b.relation, b.state, b.created_at
         FROM binding_requests b JOIN persons g ON g.id = b.guardian_id JOIN persons s ON s.id = b.student_id
         WHERE b.guardian_id = $1 ORDER BY b.created_at DESC LIMIT 20",
    ).bind(cx.actor.person_id).fetch_all(p).await)?)
}

/// The head teacher approves (the binding is made) or declines; the guardian is told.
pub async fn decide(cx: &Ctx<'_>, id: uuid::Uuid, approve: bool) -> AppResult<NodeId> {
    let row: Option<(NodeId, PersonId, PersonId, String, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT class_id, guardian_id, student_id, relation, state FROM binding_requests WHERE id = $1",
    ).bind(id).fetch_optional(p).await)?;
    let (class, guardian, student, relation, state) =
        row.ok_or(AppError::NotFound("directory.class_not_found"))?;
    require_head(cx, class).await?;
    if state != "pending" {
        return Err(AppError::Conflict(
            "spaces.binding_decided",
            FieldErrors::new(),
        ));
    }
    let mut tx = cx.begin().await?;
    if approve {
        directory::roles::bind_guardian(cx, &mut tx, guardian, student, &relation).await?;
    }
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE binding_requests SET state = $2, decided_by = $3, decided_at = $4 WHERE id = $1",
    ).bind(id).bind(if approve { "approved" } else { "declined" }).bind(cx.actor.person_id).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    notify::send(
        &mut tx,
        guardian,
        if approve {
            "notice.binding_approved"
        } else {
            "notice.binding_declined"
        },
        None,
        Some("/bind"),
        serde_json::json!({}),
        cx.now,
    )
    .await?;
    tx.commit().await?;
    Ok(class)
}

pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/bind", get(pages::form).post(pages::request))
        .route("/bind/unbind", post(pages::unbind))
        .route("/bind/class/{class}", get(pages::class).post(pages::renew))
        .route("/bind/requests/{id}", post(pages::decide))
}
