//! What teachers, students and guardians see first: classes, rosters and children.

pub mod api;
pub mod pages;

use crate::model::Node;
use crate::nodes;
use kernel::authz::{self, Permission};
use kernel::{AppError, AppResult, Ctx, NodeId, PersonId, Role, on_db};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Member {
    pub person_id: PersonId,
    pub name: String,
    pub gender: String,
    /// Masked.
    pub registry_no: Option<String>,
    pub role: String,
    pub subject: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Roster {
    pub class: Node,
    pub school_name: String,
    pub grade_name: String,
    pub teachers: Vec<Member>,
    pub students: Vec<Member>,
}

/// A class's roster, for its teachers and the administrators above it.
pub async fn roster(cx: &Ctx<'_>, class_id: NodeId) -> AppResult<Roster> {
    let db = cx.db();
    let class = nodes::find(db, class_id)
        .await?
        .ok_or(AppError::NotFound("directory.class_not_found"))?;
    if class.kind.as_str() != "class" {
        return Err(AppError::NotFound("directory.class_not_found"));
    }
    authz::require_visible(
        db,
        cx.actor,
        Permission::ViewRoster,
        class_id,
        "directory.class_not_found",
    )
    .await?;
    let members: Vec<Member> = on_db!(db, p => sqlx::query_as(
        "SELECT p.id AS person_id, p.name, p.gender, p.registry_no, r.role, r.subject
         FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND p.active = TRUE AND r.role IN ('student', 'teacher', 'head_teacher')
         ORDER BY r.role, p.name",
    ).bind(class_id).fetch_all(p).await)?;
    let (mut students, teachers): (Vec<Member>, Vec<Member>) =
        members.into_iter().partition(|m| m.role == "student");
    for s in &mut students {
        s.registry_no = s
            .registry_no
            .as_deref()
            .map(kernel::privacy::mask_id_number);
    }
    let school_name = match class.school_id {
        Some(s) => nodes::find(db, s)
            .await?
            .map(|n| n.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    let grade_name = match class.parent_id {
        Some(g) => nodes::find(db, g)
            .await?
            .map(|n| n.name)
            .unwrap_or_default(),
        None => String::new(),
    };
    Ok(Roster {
        class,
        school_name,
        grade_name,
        teachers,
        students,
    })
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ClassCard {
    pub class_id: NodeId,
    pub class_name: String,
    pub grade_name: String,
    pub school_name: String,
    pub role: String,
    pub subject: Option<String>,
    pub students: i64,
}

/// The classes the actor teaches, heads or studies in.
/// A class the actor both heads and teaches in is shown once, as head teacher with the subject.
pub async fn my_classes(cx: &Ctx<'_>) -> AppResult<Vec<ClassCard>> {
    let rows: Vec<ClassCard> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT c.id AS class_id, c.name AS class_name, g.name AS grade_name, s.name AS school_name, r.role, r.subject,
                (SELECT COUNT(*) FROM role_assignments x WHERE x.node_id = c.id AND x.role = 'student') AS students
         FROM role_assignments r
         JOIN org_nodes c ON c.id = r.node_id AND c.kind = 'class' AND c.active = TRUE
         JOIN org_nodes g ON g.id = c.parent_id
         JOIN org_nodes s ON s.id = c.school_id
         WHERE r.person_id = $1 AND r.role IN ('teacher', 'head_teacher', 'student')
         ORDER BY s.name, g.grade_code, c.name, r.role",
    ).bind(cx.actor.person_id).fetch_all(p).await)?;
    let mut cards: Vec<ClassCard> = Vec::with_capacity(rows.len());
    for row in rows {
        match cards.iter_mut().find(|c| c.class_id == row.class_id) {
            Some(card) => {
                if row.role == "head_teacher" {
                    card.role = row.role;
                }
                if card.subject.is_none() {
                    card.subject = row.subject;
                }
            }
            None => cards.push(row),
        }
    }
    Ok(cards)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Child {
    pub person_id: PersonId,
    pub name: String,
    pub relation: Option<String>,
    pub school_name: String,
    pub class_id: Option<NodeId>,
    pub class_name: Option<String>,
    pub head_teacher: Option<String>,
}

/// A guardian's children, with their class and head teacher.
pub async fn my_children(cx: &Ctx<'_>) -> AppResult<Vec<Child>> {
    if !cx.actor.has_role(Role::Guardian) {
        return Ok(Vec::new());
    }
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT s.id AS person_id, s.name, r.relation, o.name AS school_name, c.id AS class_id, c.name AS class_name,
                (SELECT t.name FROM role_assignments h JOIN persons t ON t.id = h.person_id
                 WHERE h.node_id = c.id AND h.role = 'head_teacher' LIMIT 1) AS head_teacher
         FROM role_assignments r
         JOIN persons s ON s.id = r.student_id AND s.active = TRUE
         JOIN org_nodes o ON o.id = s.org_id
         LEFT JOIN role_assignments sr ON sr.person_id = s.id AND sr.role = 'student'
         LEFT JOIN org_nodes c ON c.id = sr.node_id
         WHERE r.person_id = $1 AND r.role = 'guardian'
         ORDER BY s.name",
    ).bind(cx.actor.person_id).fetch_all(p).await)?)
}

/// The classes' pages and API.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/classes", get(pages::mine))
        .route("/classes/{id}", get(pages::roster))
        .route("/classes/{id}/accounts", post(pages::issue_accounts))
        .merge(api::routes())
}
