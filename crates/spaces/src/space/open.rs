//! Opening spaces (开通): a person opens their own (a teacher's, a student's, a guardian's); a
//! head teacher or an administrator opens a class's, school's or region's; an administrator
//! opens every space below their node in bulk. Each opening is recorded (who, when, for whom)
//! and counted once in the fact record, because opening rates are a target.

use super::model::{Kind, defaults};
use super::{Space, of_node, of_person};
use crate::scope;
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{
    AppError, AppResult, ColumnId, Ctx, NodeId, PersonId, Role, SpaceId, Tx, on_db, on_tx,
};

/// Inserts a space with its default columns and the columns its regions added.
#[allow(clippy::too_many_arguments)]
async fn insert(
    cx: &Ctx<'_>,
    tx: &mut Tx,
    kind: Kind,
    node: NodeId,
    person: Option<PersonId>,
    title: &str,
) -> AppResult<SpaceId> {
    let id = SpaceId::new();
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO spaces (id, kind, node_id, person_id, title, opened_at, opened_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    ).bind(id).bind(kind.as_str()).bind(node).bind(person).bind(title).bind(cx.now).bind(cx.actor.person_id)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let mut position = 0i64;
    for d in defaults(kind) {
        position += 1;
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO space_columns (id, space_id, key, title, content, visibility, position, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        ).bind(ColumnId::new()).bind(id).bind(d.key).bind(d.key).bind(d.content)
         .bind(d.visibility.for_kind(kind).as_str()).bind(position).bind(cx.now)
         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    let templates: Vec<(uuid::Uuid, String, String)> = on_tx!(tx, c => sqlx::query_as(
        "SELECT t.id, t.title, t.visibility FROM column_templates t
         JOIN org_closure oc ON oc.ancestor_id = t.region_id AND oc.descendant_id = $1
         WHERE t.space_kind = $2 ORDER BY t.created_at",
    ).bind(node).bind(kind.as_str()).fetch_all(&mut *c).await)?;
    for (template, title, visibility) in templates {
        position += 1;
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO space_columns (id, space_id, template_id, title, content, visibility, position, created_at)
             VALUES ($1, $2, $3, $4, 'posts', $5, $6, $7)",
        ).bind(ColumnId::new()).bind(id).bind(template).bind(&title).bind(&visibility).bind(position).bind(cx.now)
         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    let owner = person.map(|p| p.0).unwrap_or(node.0);
    facts::record(
        tx,
        cx.now,
        Fact::once(
            "space.opened",
            node,
            person,
            id.0,
            format!("space.opened:{}:{owner}", kind.as_str()),
        ),
    )
    .await?;
    Ok(id)
}

/// The node a person's space belongs to: their school (or region).
async fn home_node(db: &kernel::Db, person: PersonId) -> AppResult<NodeId> {
    let (org,): (NodeId,) = on_db!(db, p => sqlx::query_as(
        "SELECT org_id FROM persons WHERE id = $1",
    ).bind(person).fetch_one(p).await)?;
    Ok(org)
}

async fn person_name(db: &kernel::Db, person: PersonId) -> AppResult<String> {
    let (name,): (String,) = on_db!(db, p => sqlx::query_as(
        "SELECT name FROM persons WHERE id = $1",
    ).bind(person).fetch_one(p).await)?;
    Ok(name)
}

/// The kinds of personal space the actor's roles give them.
pub fn own_kinds(actor: &kernel::Actor) -> Vec<Kind> {
    let mut kinds = Vec::new();
    if actor.has_role(Role::Teacher) || actor.has_role(Role::HeadTeacher) {
        kinds.push(Kind::Teacher);
    }
    if actor.has_role(Role::Student) {
        kinds.push(Kind::Student);
    }
    if actor.has_role(Role::Guardian) {
        kinds.push(Kind::Guardian);
    }
    kinds
}

/// Opens the actor's own spaces (those not yet open); returns them all.
pub async fn open_mine(cx: &Ctx<'_>) -> AppResult<Vec<Space>> {
    let me = cx.actor.person_id;
    let kinds = own_kinds(cx.actor);
    if kinds.is_empty() {
        return Err(AppError::Forbidden);
    }
    let node = home_node(cx.db(), me).await?;
    let title = person_name(cx.db(), me).await?;
    let mut tx = cx.begin().await?;
    for kind in &kinds {
        if of_person(cx.db(), me, *kind).await?.is_none() {
            let id = insert(cx, &mut tx, *kind, node, Some(me), &title).await?;
            cx.audit(
                &mut tx,
                AuditEvent::new("space.open").object("space", id).node(node),
            )
            .await?;
        }
    }
    tx.commit().await?;
    let mut out = Vec::new();
    for kind in kinds {
        if let Some(s) = of_person(cx.db(), me, kind).await? {
            out.push(s);
        }
    }
    Ok(out)
}

/// Opens a region's, school's or class's own space: its administrators, or a class's head
/// teacher.
pub async fn open_node(cx: &Ctx<'_>, node: NodeId) -> AppResult<SpaceId> {
    let n = directory::nodes::find(cx.db(), node)
        .await?
        .ok_or(AppError::NotFound("directory.node_not_found"))?;
    let kind = match n.kind.as_str() {
        "class" => Kind::Class,
        "school" => Kind::School,
        "grade" => return Err(AppError::BadRequest("spaces.no_grade_space")),
        _ => Kind::Region,
    };
    let allowed = scope::administers(cx.db(), cx.actor, node).await?
        || (kind == Kind::Class && scope::heads(cx.actor, node));
    if !allowed {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    if let Some(s) = of_node(cx.db(), node).await? {
        return Ok(s.id);
    }
    let title = scope::label(cx.db(), node).await?.unwrap_or(n.name);
    let mut tx = cx.begin().await?;
    let id = insert(cx, &mut tx, kind, node, None, &title).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("space.open").object("space", id).node(node),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// What a bulk opening did, per kind.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct Bulk {
    pub regions: u64,
    pub schools: u64,
    pub classes: u64,
    pub teachers: u64,
    pub students: u64,
    pub guardians: u64,
}

/// How many spaces one transaction of a bulk opening writes.
const BATCH: usize = 200;

/// An administrator opens every space at and below their node that is not open yet: the
/// regions', schools' and classes' spaces and, of the kinds asked, the teachers', students'
/// and guardians'. Written in batches, each with its audit record, so a large district keeps
/// what was done if interrupted and a second run finishes the rest.
pub async fn open_all(cx: &Ctx<'_>, node: NodeId, people: &[Kind]) -> AppResult<Bulk> {
    if !scope::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    let mut bulk = Bulk::default();
    // Nodes without a space.
    let nodes: Vec<(NodeId, String, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT n.id, n.kind, n.name FROM org_closure c JOIN org_nodes n ON n.id = c.descendant_id
         WHERE c.ancestor_id = $1 AND n.active = TRUE AND n.kind <> 'grade'
           AND NOT EXISTS (SELECT 1 FROM spaces s WHERE s.node_id = n.id AND s.person_id IS NULL)
         ORDER BY c.depth",
    ).bind(node).fetch_all(p).await)?;
    let mut todo: Vec<(Kind, NodeId, Option<PersonId>, String)> = Vec::new();
    for (id, kind, name) in nodes {
        let k = match kind.as_str() {
            "class" => Kind::Class,
            "school" => Kind::School,
            _ => Kind::Region,
        };
        let title = scope::label(cx.db(), id).await?.unwrap_or(name);
        todo.push((k, id, None, title));
    }
    for kind in people {
        let sql = match kind {
            Kind::Teacher => "SELECT DISTINCT p.id, p.org_id, p.name FROM org_closure c JOIN role_assignments r ON r.node_id = c.descendant_id
                 JOIN persons p ON p.id = r.person_id AND p.active = TRUE
                 WHERE c.ancestor_id = $1 AND r.role IN ('teacher', 'head_teacher')
                   AND NOT EXISTS (SELECT 1 FROM spaces s WHERE s.person_id = p.id AND s.kind = 'teacher')",
            Kind::Student => "SELECT DISTINCT p.id, p.org_id, p.name FROM org_closure c JOIN role_assignments r ON r.node_id = c.descendant_id
                 JOIN persons p ON p.id = r.person_id AND p.active = TRUE
                 WHERE c.ancestor_id = $1 AND r.role = 'student'
                   AND NOT EXISTS (SELECT 1 FROM spaces s WHERE s.person_id = p.id AND s.kind = 'student')",
            Kind::Guardian => "SELECT DISTINCT p.id, p.org_id, p.name FROM org_closure c JOIN role_assignments r ON r.node_id = c.descendant_id
                 JOIN role_assignments g ON g.student_id = r.person_id AND g.role = 'guardian'
                 JOIN persons p ON p.id = g.person_id AND p.active = TRUE
                 WHERE c.ancestor_id = $1 AND r.role = 'student'
                   AND NOT EXISTS (SELECT 1 FROM spaces s WHERE s.person_id = p.id AND s.kind = 'guardian')",
            _ => continue,
        };
        let rows: Vec<(PersonId, NodeId, String)> =
            on_db!(cx.db(), p => sqlx::query_as(sql).bind(node).fetch_all(p).await)?;
        for (person, org, name) in rows {
            todo.push((*kind, org, Some(person), name));
        }
    }
    for batch in todo.chunks(BATCH) {
        let mut tx = cx.begin().await?;
        for (kind, node, person, title) in batch {
            insert(cx, &mut tx, *kind, *node, *person, title).await?;
            match kind {
                Kind::Region => bulk.regions += 1,
                Kind::School => bulk.schools += 1,
                Kind::Class => bulk.classes += 1,
                Kind::Teacher => bulk.teachers += 1,
                Kind::Student => bulk.students += 1,
                Kind::Guardian => bulk.guardians += 1,
            }
        }
        cx.audit(
            &mut tx,
            AuditEvent::new("space.open_all")
                .object("node", node)
                .node(node)
                .detail(serde_json::json!({ "opened": batch.len() })),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(bulk)
}
