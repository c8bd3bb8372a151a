//! Reviewers besides administrators: a school's administrator appoints teachers of the school
//! as 教研组长, a district's or city's administrator appoints 教研员 from the staff of the
//! region; either optionally for one subject (then they review only resources of it).

use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, on_db, on_tx};
use serde::{Deserialize, Serialize};

/// An appointed reviewer.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Reviewer {
    pub node_id: NodeId,
    pub person_id: PersonId,
    pub name: String,
    pub org_name: String,
    /// A JY/T 1001 course code, or none for every subject.
    pub subject: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = ReviewerAppointment)]
pub struct Appointment {
    pub person_id: PersonId,
    /// Only this subject (a JY/T 1001 course code); none for every subject.
    pub subject: Option<String>,
}

/// A person who could be appointed at a node.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
#[schema(as = ReviewerCandidate)]
pub struct Candidate {
    pub person_id: PersonId,
    pub name: String,
    pub org_name: String,
}

/// The node kinds reviewers are appointed at.
async fn reviewing_node(cx: &Ctx<'_>, node: NodeId) -> AppResult<String> {
    let row: Option<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT kind FROM org_nodes WHERE id = $1 AND active = TRUE",
    ).bind(node).fetch_optional(p).await)?;
    let (kind,) = row.ok_or(AppError::NotFound("directory.node_not_found"))?;
    if !kernel::authz::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    if !matches!(kind.as_str(), "school" | "district" | "city") {
        return Err(AppError::field("node_id", "error.resources.reviewer_node"));
    }
    Ok(kind)
}

/// The reviewers appointed at a node (its administrators only).
pub async fn list(cx: &Ctx<'_>, node: NodeId) -> AppResult<Vec<Reviewer>> {
    reviewing_node(cx, node).await?;
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT rr.node_id, rr.person_id, p.name, o.name AS org_name, rr.subject, rr.created_at
         FROM resource_reviewers rr JOIN persons p ON p.id = rr.person_id JOIN org_nodes o ON o.id = p.org_id
         WHERE rr.node_id = $1 ORDER BY p.name, rr.person_id",
    ).bind(node).fetch_all(p).await)?)
}

/// The staff who may be appointed at a node: teachers of the school, or staff of the region's
/// schools and offices, by name (at most 1,000).
pub async fn candidates(cx: &Ctx<'_>, node: NodeId) -> AppResult<Vec<Candidate>> {
    reviewing_node(cx, node).await?;
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT p.id AS person_id, p.name, o.name AS org_name FROM persons p
         JOIN org_closure c ON c.descendant_id = p.org_id AND c.ancestor_id = $1
         JOIN org_nodes o ON o.id = p.org_id
         WHERE p.active = TRUE AND EXISTS (SELECT 1 FROM role_assignments ra WHERE ra.person_id = p.id
                                           AND ra.role IN ('teacher', 'head_teacher', 'admin'))
         ORDER BY o.name, p.name, p.id LIMIT 1000",
    ).bind(node).fetch_all(p).await)?)
}

/// Appoints (or re-appoints, with a new subject) a reviewer at a node.
pub async fn appoint(cx: &Ctx<'_>, node: NodeId, a: Appointment) -> AppResult<Reviewer> {
    let kind = reviewing_node(cx, node).await?;
    let mut errors = FieldErrors::new();
    let subject = a
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if subject.is_some_and(|s| s.len() > 8 || !s.chars().all(|c| c.is_ascii_alphanumeric())) {
        errors.add("subject", "error.resources.subject_invalid");
    }
    let staff: Option<(i32,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT 1 FROM persons p JOIN org_closure c ON c.descendant_id = p.org_id AND c.ancestor_id = $2
         WHERE p.id = $1 AND p.active = TRUE AND EXISTS (SELECT 1 FROM role_assignments ra WHERE ra.person_id = p.id
                                                         AND ra.role IN ('teacher', 'head_teacher', 'admin'))",
    ).bind(a.person_id).bind(node).fetch_optional(p).await)?;
    if staff.is_none() {
        errors.add("person_id", "error.resources.reviewer_not_staff");
    }
    errors.into_result()?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO resource_reviewers (node_id, person_id, subject, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (node_id, person_id) DO UPDATE SET subject = excluded.subject",
    ).bind(node).bind(a.person_id).bind(subject).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("resource.reviewer_appoint")
            .object("person", a.person_id)
            .node(node)
            .detail(serde_json::json!({ "subject": subject, "level": kind })),
    )
    .await?;
    tx.commit().await?;
    list(cx, node)
        .await?
        .into_iter()
        .find(|r| r.person_id == a.person_id)
        .ok_or(AppError::NotFound("directory.person_not_found"))
}

/// Ends an appointment.
pub async fn dismiss(cx: &Ctx<'_>, node: NodeId, person: PersonId) -> AppResult<()> {
    reviewing_node(cx, node).await?;
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "DELETE FROM resource_reviewers WHERE node_id = $1 AND person_id = $2",
    ).bind(node).bind(person).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound("directory.person_not_found"));
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("resource.reviewer_dismiss")
            .object("person", person)
            .node(node),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The nodes the actor may appoint reviewers at: the schools and regions they administer.
pub async fn appointing_nodes(cx: &Ctx<'_>) -> AppResult<Vec<(NodeId, String, String)>> {
    let mut out = Vec::new();
    for n in cx.actor.admin_nodes() {
        let row: Option<(NodeId, String, String)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT id, name, kind FROM org_nodes WHERE id = $1 AND active = TRUE AND kind IN ('school', 'district', 'city')",
        ).bind(n).fetch_optional(p).await)?;
        out.extend(row);
    }
    Ok(out)
}
