//! The writes a registry change makes, inside the caller's transaction: the student's record,
//! their class (the student role at the class node) and their class history.

use crate::import::classes::school_year;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::{AppError, AppResult, NodeId, PersonId, RoleId, Tx, on_tx};
use uuid::Uuid;

/// A student as a change finds them, read inside the transaction.
#[derive(Debug, Clone)]
pub struct Current {
    pub person: PersonId,
    pub name: String,
    /// The school that owns the person (their school).
    pub school: NodeId,
    /// `enrolled` when the student has no registry record yet (the demo's students).
    pub status: String,
    pub class: Option<NodeId>,
}

/// Reads the student; `NotFound` if the person is not a student (no record and no class).
pub async fn current(tx: &mut Tx, person: PersonId) -> AppResult<Current> {
    let row: Option<(String, NodeId, Option<String>, Option<NodeId>)> = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT p.name, p.org_id, s.status,
                (SELECT r.node_id FROM role_assignments r WHERE r.person_id = p.id AND r.role = 'student' ORDER BY r.created_at LIMIT 1)
         FROM persons p LEFT JOIN students s ON s.person_id = p.id WHERE p.id = $1",
    ).bind(person).fetch_optional(c).await)?;
    match row {
        Some((name, school, status, class)) if status.is_some() || class.is_some() => Ok(Current {
            person,
            name,
            school,
            status: status.unwrap_or_else(|| "enrolled".into()),
            class,
        }),
        _ => Err(AppError::NotFound("registry.student_not_found")),
    }
}

/// A class with the names its history rows keep.
#[derive(Debug, Clone)]
pub struct ClassInfo {
    pub id: NodeId,
    pub school: NodeId,
    pub grade_name: String,
    pub class_name: String,
    pub active: bool,
}

/// id, school, class name, grade name, active.
type ClassRow = (NodeId, Option<NodeId>, String, Option<String>, bool);

/// The class `id`, if it is a class.
pub async fn class_info(tx: &mut Tx, id: NodeId) -> AppResult<Option<ClassInfo>> {
    let row: Option<ClassRow> = on_tx!(&mut *tx, c => sqlx::query_as(
        "SELECT c.id, c.school_id, c.name, g.name, c.active FROM org_nodes c LEFT JOIN org_nodes g ON g.id = c.parent_id
         WHERE c.id = $1 AND c.kind = 'class'",
    ).bind(id).fetch_optional(c).await)?;
    Ok(row.and_then(|(id, school, class_name, grade, active)| {
        Some(ClassInfo {
            id,
            school: school?,
            grade_name: grade.unwrap_or_default(),
            class_name,
            active,
        })
    }))
}

/// Writes the student's registry record: school and status (created if missing).
pub async fn set_record(
    tx: &mut Tx,
    person: PersonId,
    school: NodeId,
    status: &str,
    now: DateTime<Utc>,
) -> AppResult<()> {
    on_tx!(&mut *tx, c => sqlx::query(
        "INSERT INTO students (person_id, school_id, status, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (person_id) DO UPDATE SET school_id = excluded.school_id, status = excluded.status, updated_at = excluded.updated_at",
    ).bind(person).bind(school).bind(status).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Closes the student's open class-history rows on `on`.
pub async fn close_history(tx: &mut Tx, person: PersonId, on: NaiveDate) -> AppResult<()> {
    on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE class_history SET ended_on = $2 WHERE person_id = $1 AND ended_on IS NULL",
    ).bind(person).bind(on).execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The student leaves their class: the role goes, the history row closes.
pub async fn leave_class(tx: &mut Tx, person: PersonId, on: NaiveDate) -> AppResult<()> {
    on_tx!(&mut *tx, c => sqlx::query(
        "DELETE FROM role_assignments WHERE person_id = $1 AND role = 'student'",
    ).bind(person).execute(c).await.map(|r| r.rows_affected()))?;
    close_history(tx, person, on).await
}

/// The student joins `class` (leaving any class they are in): the role moves, the old history
/// row closes and a new one opens with `reason`.
pub async fn join_class(
    tx: &mut Tx,
    person: PersonId,
    class: &ClassInfo,
    reason: &str,
    on: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let moved = on_tx!(&mut *tx, c => sqlx::query(
        "UPDATE role_assignments SET node_id = $2 WHERE person_id = $1 AND role = 'student'",
    ).bind(person).bind(class.id).execute(c).await.map(|r| r.rows_affected()))?;
    if moved == 0 {
        on_tx!(&mut *tx, c => sqlx::query(
            "INSERT INTO role_assignments (id, person_id, role, node_id, created_at) VALUES ($1, $2, 'student', $3, $4)",
        ).bind(RoleId::new()).bind(person).bind(class.id).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    }
    close_history(tx, person, on).await?;
    on_tx!(&mut *tx, c => sqlx::query(
        "INSERT INTO class_history (id, person_id, class_id, school_id, school_year, grade_name, class_name, started_on, reason)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    ).bind(Uuid::now_v7()).bind(person).bind(class.id).bind(class.school).bind(school_year(on))
    .bind(&class.grade_name).bind(&class.class_name).bind(on).bind(reason)
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// One registry change record.
pub struct ChangeRecord<'a> {
    pub person: PersonId,
    pub school: NodeId,
    pub kind: &'a str,
    pub reason: Option<&'a str>,
    pub effective_on: NaiveDate,
    pub other_school: Option<NodeId>,
    pub note: Option<&'a str>,
    pub actor: Option<PersonId>,
}

/// Writes a registry change record; returns its id.
pub async fn write_change(
    tx: &mut Tx,
    r: &ChangeRecord<'_>,
    now: DateTime<Utc>,
) -> AppResult<Uuid> {
    let id = Uuid::now_v7();
    on_tx!(&mut *tx, c => sqlx::query(
        "INSERT INTO registry_changes (id, person_id, school_id, kind, reason, effective_on, other_school_id, note, actor_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    ).bind(id).bind(r.person).bind(r.school).bind(r.kind).bind(r.reason).bind(r.effective_on)
    .bind(r.other_school).bind(r.note).bind(r.actor).bind(now)
    .execute(c).await.map(|r| r.rows_affected()))?;
    Ok(id)
}
