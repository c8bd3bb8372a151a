//! Role assignments: admin of a region or school; teacher (of a subject) or head teacher of a
//! class; student in a class; guardian of a student.

use crate::model::{NodeKind, Person, RoleView};
use crate::{nodes, people};
use kernel::audit::AuditEvent;
use kernel::authz::{self, Permission, PersonPermission};
use kernel::{
    AppError, AppResult, Ctx, Db, FieldErrors, NodeId, PersonId, Role, RoleId, Tx, on_db, on_tx,
};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewGrant {
    /// admin, teacher, head_teacher, student or guardian.
    pub role: String,
    /// The node the role applies to: a region or school (admin) or a class (teacher, head
    /// teacher, student). Not used for guardians.
    pub node_id: Option<NodeId>,
    /// Teachers: the subject (JY/T 1001 course code, e.g. 13 语文, 14 数学).
    pub subject: Option<String>,
    /// Guardians: the child, by id …
    pub student_id: Option<PersonId>,
    /// … or by registry number.
    pub student_registry_no: Option<String>,
    /// Guardians: GB/T 4761 relationship (51 father, 52 mother, …).
    pub relation: Option<String>,
}

pub async fn list_for(db: &Db, person: PersonId) -> AppResult<Vec<RoleView>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT r.id, r.person_id, r.role, r.node_id,
                CASE WHEN g.id IS NULL THEN n.name ELSE g.name || ' ' || n.name END AS node_name,
                n.kind AS node_kind, r.subject, r.student_id, s.name AS student_name, r.relation
         FROM role_assignments r JOIN org_nodes n ON n.id = r.node_id
         LEFT JOIN org_nodes g ON g.id = n.parent_id AND n.kind = 'class'
         LEFT JOIN persons s ON s.id = r.student_id
         WHERE r.person_id = $1 ORDER BY r.created_at, r.role, r.id",
    ).bind(person).fetch_all(p).await)?)
}

/// Assigns a role in its own transaction.
pub async fn assign(cx: &Ctx<'_>, person: PersonId, grant: NewGrant) -> AppResult<RoleId> {
    let p = people::get_visible(cx, person).await?;
    if !authz::may_person(
        cx.db(),
        cx.actor,
        PersonPermission::Manage,
        person,
        p.org_id,
    )
    .await?
    {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    let id = assign_in(cx, &mut tx, &p, grant).await?;
    tx.commit().await?;
    Ok(id)
}

fn invalid(field: &str, key: &str) -> AppError {
    AppError::field(field, key)
}

/// Assigns a role inside the caller's transaction (used when creating a person).
pub async fn assign_in(
    cx: &Ctx<'_>,
    tx: &mut Tx,
    person: &Person,
    grant: NewGrant,
) -> AppResult<RoleId> {
    let db = cx.db();
    let role = Role::parse(&grant.role).ok_or_else(|| invalid("role", "error.invalid_choice"))?;
    let subject = grant
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let (node_id, student_id) = if role == Role::Guardian {
        let child = match (
            grant.student_id,
            grant
                .student_registry_no
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty()),
        ) {
            (Some(id), _) => people::find(db, id).await?,
            (None, Some(no)) => {
                let no = crate::validate::normalize_code(no).to_uppercase();
                let row: Option<(PersonId,)> = on_db!(db, p => sqlx::query_as("SELECT id FROM persons WHERE registry_no = $1")
                    .bind(no).fetch_optional(p).await)?;
                match row {
                    Some((id,)) => people::find(db, id).await?,
                    None => None,
                }
            }
            (None, None) => return Err(invalid("student_registry_no", "error.required")),
        };
        // Only a child the administrator manages can be linked; others look the same as unknown.
        let child = match child {
            Some(c)
                if authz::may_person(db, cx.actor, PersonPermission::Manage, c.id, c.org_id)
                    .await? =>
            {
                c
            }
            _ => {
                return Err(invalid(
                    "student_registry_no",
                    "error.directory.person_not_found",
                ));
            }
        };
        if child.id == person.id {
            return Err(invalid("student_registry_no", "error.guardian_of_self"));
        }
        (child.org_id, Some(child.id))
    } else {
        let node_id = grant
            .node_id
            .ok_or_else(|| invalid("node_id", "error.required"))?;
        let node = nodes::find(db, node_id)
            .await?
            .ok_or_else(|| invalid("node_id", "error.directory.node_not_found"))?;
        if !authz::may(db, cx.actor, Permission::ManagePeople, node_id).await? {
            return Err(invalid("node_id", "error.directory.node_not_found"));
        }
        let kind = node.kind();
        let fits = match role {
            Role::Admin => kind.is_some_and(|k| k.is_region() || k == NodeKind::School),
            _ => kind == Some(NodeKind::Class),
        };
        if !fits || !node.active {
            return Err(invalid("node_id", "error.role_node_kind"));
        }
        if role == Role::Student && node.school_id != Some(person.org_id) {
            return Err(invalid("node_id", "error.student_other_school"));
        }
        if role == Role::Teacher && subject.is_none() {
            return Err(invalid("subject", "error.required"));
        }
        (node_id, None)
    };

    // One class per student, one head teacher per class, no duplicates.
    let (dupes,): (i64,) = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM role_assignments WHERE
            (person_id = $1 AND role = $2 AND node_id = $3 AND COALESCE(subject, '') = COALESCE($4, '') AND ($5 IS NULL OR student_id = $5))
            OR ($2 = 'student' AND person_id = $1 AND role = 'student')
            OR ($2 = 'head_teacher' AND role = 'head_teacher' AND node_id = $3)",
    ).bind(person.id).bind(role.as_str()).bind(node_id).bind(&subject).bind(student_id).fetch_one(c).await)?;
    if dupes > 0 {
        let code = match role {
            Role::Student => "directory.already_in_class",
            Role::HeadTeacher => "directory.class_has_head_teacher",
            _ => "directory.duplicate_role",
        };
        let mut f = FieldErrors::new();
        f.add("role", &format!("error.{code}"));
        return Err(AppError::Conflict(code, f));
    }
    let id = RoleId::new();
    let relation = grant
        .relation
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    on_tx!(&mut *tx, c => sqlx::query(
        "INSERT INTO role_assignments (id, person_id, role, node_id, subject, student_id, relation, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    ).bind(id).bind(person.id).bind(role.as_str()).bind(node_id).bind(&subject).bind(student_id).bind(&relation).bind(cx.now)
    .execute(c).await.map(|r| r.rows_affected()))?;
    let entity = crate::changes::Entity::of_role(role.as_str());
    crate::changes::record(tx, cx.now, person.org_id, entity, person.id.0).await?;
    cx.audit(tx, AuditEvent::new("role.assign").object("person", person.id).node(person.org_id).detail(serde_json::json!({
        "role_id": id, "role": role.as_str(), "node_id": node_id, "subject": subject, "student_id": student_id,
    }))).await?;
    Ok(id)
}

pub async fn remove(cx: &Ctx<'_>, person: PersonId, role_id: RoleId) -> AppResult<()> {
    let p = people::get_visible(cx, person).await?;
    let db = cx.db();
    if !authz::may_person(db, cx.actor, PersonPermission::Manage, person, p.org_id).await? {
        return Err(AppError::Forbidden);
    }
    let row: Option<(String, NodeId)> = on_db!(db, c => sqlx::query_as("SELECT role, node_id FROM role_assignments WHERE id = $1 AND person_id = $2")
        .bind(role_id).bind(person).fetch_optional(c).await)?;
    let (role, node) = row.ok_or(AppError::NotFound("directory.role_not_found"))?;
    if !authz::may(db, cx.actor, Permission::ManagePeople, node).await? {
        return Err(AppError::Forbidden);
    }
    // Administrators cannot remove their own administration (ask the level above).
    if person == cx.actor.person_id && role == "admin" {
        return Err(AppError::Forbidden);
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM role_assignments WHERE id = $1")
        .bind(role_id).execute(c).await.map(|r| r.rows_affected()))?;
    let entity = crate::changes::Entity::of_role(&role);
    crate::changes::record(&mut tx, cx.now, p.org_id, entity, person.0).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("role.remove")
            .object("person", person)
            .node(p.org_id)
            .detail(serde_json::json!({ "role_id": role_id, "role": role, "node_id": node })),
    )
    .await?;
    tx.commit().await
}

/// Binds a guardian's account to a child (家长绑定), in the caller's transaction: what a class's
/// head teacher does when approving a guardian's request, or an administrator of the child's
/// school. The guardian role is scoped to the child's school; the family record gains the
/// guardian. Audited as `guardian.bind`.
pub async fn bind_guardian(
    cx: &Ctx<'_>,
    tx: &mut Tx,
    guardian: PersonId,
    student: PersonId,
    relation: &str,
) -> AppResult<RoleId> {
    let db = cx.db();
    let child = people::find(db, student)
        .await?
        .ok_or(AppError::NotFound("directory.person_not_found"))?;
    let class: Option<(NodeId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'student' LIMIT 1",
    ).bind(student).fetch_optional(p).await)?;
    let heads = class.is_some_and(|(c,)| {
        cx.actor
            .grants_of(Role::HeadTeacher)
            .any(|g| g.node_id == c)
    });
    if !heads && !authz::administers(db, cx.actor, child.org_id).await? {
        return Err(AppError::Forbidden);
    }
    if guardian == student {
        return Err(invalid("student_id", "error.guardian_of_self"));
    }
    let (already,): (i64,) = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT COUNT(*) FROM role_assignments WHERE person_id = $1 AND role = 'guardian' AND student_id = $2",
    ).bind(guardian).bind(student).fetch_one(c).await)?;
    if already > 0 {
        let mut f = FieldErrors::new();
        f.add("student_id", "error.directory.duplicate_role");
        return Err(AppError::Conflict("directory.duplicate_role", f));
    }
    let id = RoleId::new();
    on_tx!(&mut *tx, c => sqlx::query(
        "INSERT INTO role_assignments (id, person_id, role, node_id, student_id, relation, created_at)
         VALUES ($1, $2, 'guardian', $3, $4, $5, $6)",
    ).bind(id).bind(guardian).bind(child.org_id).bind(student).bind(relation).bind(cx.now)
     .execute(c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut *tx, c => sqlx::query(
        "INSERT INTO family_members (student_id, person_id, relation, is_guardian, position)
         VALUES ($1, $2, $3, TRUE, (SELECT COALESCE(MAX(position), 0) + 1 FROM family_members WHERE student_id = $1))
         ON CONFLICT (student_id, person_id) DO UPDATE SET is_guardian = TRUE",
    ).bind(student).bind(guardian).bind(relation).execute(c).await.map(|r| r.rows_affected()))?;
    crate::changes::record(
        tx,
        cx.now,
        child.org_id,
        crate::changes::Entity::of_role("guardian"),
        guardian.0,
    )
    .await?;
    cx.audit(
        tx,
        AuditEvent::new("guardian.bind")
            .object("person", student)
            .node(child.org_id)
            .detail(serde_json::json!({
                "role_id": id, "guardian": guardian, "relation": relation,
            })),
    )
    .await?;
    Ok(id)
}

/// Ends a guardian's binding to a child: the guardian themselves, the child's head teacher or an
/// administrator of the child's school. Audited as `guardian.unbind`.
pub async fn unbind_guardian(cx: &Ctx<'_>, guardian: PersonId, student: PersonId) -> AppResult<()> {
    let db = cx.db();
    let child = people::find(db, student)
        .await?
        .ok_or(AppError::NotFound("directory.person_not_found"))?;
    let class: Option<(NodeId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT node_id FROM role_assignments WHERE person_id = $1 AND role = 'student' LIMIT 1",
    ).bind(student).fetch_optional(p).await)?;
    let heads = class.is_some_and(|(c,)| {
        cx.actor
            .grants_of(Role::HeadTeacher)
            .any(|g| g.node_id == c)
    });
    let allowed = cx.actor.person_id == guardian
        || heads
        || authz::administers(db, cx.actor, child.org_id).await?;
    if !allowed {
        return Err(AppError::NotFound("directory.person_not_found"));
    }
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "DELETE FROM role_assignments WHERE person_id = $1 AND role = 'guardian' AND student_id = $2",
    ).bind(guardian).bind(student).execute(c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound("directory.role_not_found"));
    }
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE family_members SET is_guardian = FALSE WHERE student_id = $1 AND person_id = $2",
    ).bind(student).bind(guardian).execute(c).await.map(|r| r.rows_affected()))?;
    crate::changes::record(
        &mut tx,
        cx.now,
        child.org_id,
        crate::changes::Entity::of_role("guardian"),
        guardian.0,
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("guardian.unbind")
            .object("person", student)
            .node(child.org_id)
            .detail(serde_json::json!({ "guardian": guardian })),
    )
    .await?;
    tx.commit().await
}
