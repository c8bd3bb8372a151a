//! Who reaches whom: the nodes a person may address (the classes they teach, what they
//! administer), a guardian's children, and the people of a class.

use kernel::authz;
use kernel::{Actor, AppResult, Ctx, Db, NodeId, PersonId, Role, on_db};
use serde::Serialize;

/// A node a person may address, with the names that make it recognisable.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Addressable {
    pub id: NodeId,
    pub kind: String,
    /// `上城区实验小学 一年级 (1)班`: the school, grade and class names as far as they apply.
    pub label: String,
}

/// Whether the actor teaches or heads the class.
pub fn teaches(actor: &Actor, class: NodeId) -> bool {
    actor
        .grants
        .iter()
        .any(|g| matches!(g.role, Role::Teacher | Role::HeadTeacher) && g.node_id == class)
}

/// Whether the actor heads the class.
pub fn heads(actor: &Actor, class: NodeId) -> bool {
    actor
        .grants_of(Role::HeadTeacher)
        .any(|g| g.node_id == class)
}

/// Whether the actor administers the node or a node above it.
pub async fn administers(db: &Db, actor: &Actor, node: NodeId) -> AppResult<bool> {
    authz::administers(db, actor, node).await
}

/// A node's label: its school, grade and class names (or its own name for a region or school).
pub async fn label(db: &Db, node: NodeId) -> AppResult<Option<String>> {
    let rows: Vec<(String, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT n.kind, n.name FROM org_closure c JOIN org_nodes n ON n.id = c.ancestor_id
         WHERE c.descendant_id = $1 AND n.kind IN ('school', 'grade', 'class')
         ORDER BY c.depth DESC",
    ).bind(node).fetch_all(p).await)?;
    if rows.is_empty() {
        let own: Option<(String,)> = on_db!(db, p => sqlx::query_as(
            "SELECT name FROM org_nodes WHERE id = $1",
        ).bind(node).fetch_optional(p).await)?;
        return Ok(own.map(|o| o.0));
    }
    Ok(Some(
        rows.into_iter()
            .map(|(_, n)| n)
            .collect::<Vec<_>>()
            .join(" "),
    ))
}

/// The nodes the actor may send a notice to: the classes they teach, and what they administer
/// with the nodes just below it (a school's grades and classes, a region's schools or districts).
pub async fn addressable(cx: &Ctx<'_>) -> AppResult<Vec<Addressable>> {
    let db = cx.db();
    let mut out: Vec<Addressable> = Vec::new();
    let push = |a: Addressable, out: &mut Vec<Addressable>| {
        if !out.iter().any(|o| o.id == a.id) {
            out.push(a);
        }
    };
    for g in &cx.actor.grants {
        if matches!(g.role, Role::Teacher | Role::HeadTeacher)
            && g.node_kind == "class"
            && let Some(label) = label(db, g.node_id).await?
        {
            push(
                Addressable {
                    id: g.node_id,
                    kind: "class".into(),
                    label,
                },
                &mut out,
            );
        }
    }
    for admin in cx.actor.admin_nodes() {
        // A school: itself, its grades and classes; a region: itself and the level below.
        let rows: Vec<(NodeId, String, i64)> = on_db!(db, p => sqlx::query_as(
            "SELECT n.id, n.kind, c.depth FROM org_closure c JOIN org_nodes n ON n.id = c.descendant_id
             WHERE c.ancestor_id = $1 AND n.active = TRUE
               AND (c.depth = 0 OR (c.depth = 1 AND n.kind <> 'grade' AND n.kind <> 'class')
                    OR (n.kind IN ('grade', 'class') AND n.school_id = $1))
             ORDER BY c.depth, n.kind, n.name",
        ).bind(admin).fetch_all(p).await)?;
        for (id, kind, _) in rows {
            if let Some(label) = label(db, id).await? {
                push(Addressable { id, kind, label }, &mut out);
            }
        }
    }
    Ok(out)
}

/// Whether the actor may address `audience` at `node`: administrators anything at or below
/// their node, teachers the students and guardians of their classes.
pub async fn may_address(cx: &Ctx<'_>, node: NodeId, staff: bool) -> AppResult<bool> {
    if administers(cx.db(), cx.actor, node).await? {
        return Ok(true);
    }
    Ok(!staff && teaches(cx.actor, node))
}

/// A guardian's children with their class and school.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Child {
    pub student_id: PersonId,
    pub name: String,
    pub class_id: NodeId,
    pub class_label: String,
    pub school_id: NodeId,
}

pub async fn children(cx: &Ctx<'_>) -> AppResult<Vec<Child>> {
    if !cx.actor.has_role(Role::Guardian) {
        return Ok(Vec::new());
    }
    let rows: Vec<(PersonId, String, NodeId, Option<NodeId>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT s.id, s.name, sr.node_id, c.school_id
         FROM role_assignments r
         JOIN persons s ON s.id = r.student_id AND s.active = TRUE
         JOIN role_assignments sr ON sr.person_id = s.id AND sr.role = 'student'
         JOIN org_nodes c ON c.id = sr.node_id AND c.kind = 'class'
         WHERE r.person_id = $1 AND r.role = 'guardian'
         ORDER BY s.name",
    ).bind(cx.actor.person_id).fetch_all(p).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for (student_id, name, class_id, school_id) in rows {
        let class_label = label(cx.db(), class_id).await?.unwrap_or_default();
        if !out.iter().any(|c: &Child| c.student_id == student_id) {
            out.push(Child {
                student_id,
                name,
                class_id,
                class_label,
                school_id: school_id.unwrap_or(class_id),
            });
        }
    }
    Ok(out)
}

/// The students of a class (active), by name.
pub async fn students(db: &Db, class: NodeId) -> AppResult<Vec<(PersonId, String)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT p.id, p.name FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND r.role = 'student' AND p.active = TRUE ORDER BY p.name",
    ).bind(class).fetch_all(p).await)?)
}

/// The teachers (and head teacher) of a class.
pub async fn teachers(db: &Db, class: NodeId) -> AppResult<Vec<PersonId>> {
    let rows: Vec<(PersonId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT DISTINCT r.person_id FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.node_id = $1 AND r.role IN ('teacher', 'head_teacher') AND p.active = TRUE",
    ).bind(class).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The guardians of a student.
pub async fn guardians(db: &Db, student: PersonId) -> AppResult<Vec<PersonId>> {
    let rows: Vec<(PersonId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT r.person_id FROM role_assignments r JOIN persons p ON p.id = r.person_id
         WHERE r.student_id = $1 AND r.role = 'guardian' AND p.active = TRUE",
    ).bind(student).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// The class a student is in, with its school.
pub async fn class_of(db: &Db, student: PersonId) -> AppResult<Option<(NodeId, NodeId)>> {
    let row: Option<(NodeId, Option<NodeId>)> = on_db!(db, p => sqlx::query_as(
        "SELECT c.id, c.school_id FROM role_assignments r JOIN org_nodes c ON c.id = r.node_id
         WHERE r.person_id = $1 AND r.role = 'student' AND c.kind = 'class' LIMIT 1",
    ).bind(student).fetch_optional(p).await)?;
    Ok(row.map(|(c, s)| (c, s.unwrap_or(c))))
}
