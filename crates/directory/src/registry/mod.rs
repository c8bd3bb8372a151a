//! Registry changes (学籍异动): a student's class changes within the school, leave, suspension,
//! return, withdrawal and the other JY/T 1001 kinds, each a `registry_changes` record with its
//! kind and reason codes; and transfers between schools of a region ([`transfers`]). Only the
//! administrators of the student's school (or a region above it) record them.
//!
//! What each kind does is in [`kinds`]: 休学 (leave) suspends the record and takes the student
//! out of their class; 停学 (suspension) suspends the record and keeps the class; 复学 (return)
//! enrols them again in a class the administrator chooses; 退学 and the like mark the record
//! `left` and take them out of the class. Every change closes and opens class-history rows as
//! needed, writes the change log and the audit record, in one transaction.

pub mod api;
pub mod pages;

pub mod kinds;
pub mod membership;
pub mod transfers;

use crate::changes::{self, Entity};
use crate::people;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::audit::AuditEvent;
use kernel::authz::{self, Permission, PersonPermission};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, on_db};
use kinds::Effect;
use membership::ChangeRecord;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One registry change record, with the names a page shows.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ChangeRow {
    pub id: Uuid,
    pub person_id: PersonId,
    pub person_name: String,
    /// Masked.
    pub registry_no: Option<String>,
    /// The school that owns the student now.
    pub current_school_id: NodeId,
    /// The school the record belongs to.
    pub school_id: NodeId,
    pub school_name: String,
    /// jyt1001_registry_change_kind code, and its name.
    pub kind: String,
    #[sqlx(skip)]
    pub kind_name: String,
    /// jyt1001_registry_change_reason code, and its name.
    pub reason: Option<String>,
    #[sqlx(skip)]
    pub reason_name: Option<String>,
    pub effective_on: NaiveDate,
    /// Transfers: the other school.
    pub other_school_id: Option<NodeId>,
    pub other_school_name: Option<String>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl ChangeRow {
    fn named(mut self) -> Self {
        self.kind_name = kinds::kind_name(&self.kind);
        self.reason_name = self.reason.as_deref().map(kinds::reason_name);
        self.registry_no = self
            .registry_no
            .as_deref()
            .map(kernel::privacy::mask_id_number);
        self
    }
}

const CHANGE_SELECT: &str = "SELECT r.id, r.person_id, p.name AS person_name, p.registry_no, p.org_id AS current_school_id,
        r.school_id, s.name AS school_name, r.kind, r.reason, r.effective_on, r.other_school_id,
        o.name AS other_school_name, r.note, r.created_at
    FROM registry_changes r JOIN persons p ON p.id = r.person_id JOIN org_nodes s ON s.id = r.school_id
    LEFT JOIN org_nodes o ON o.id = r.other_school_id";

/// One row of a student's class history.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct HistoryRow {
    pub class_id: NodeId,
    pub school_id: NodeId,
    pub school_name: String,
    pub school_year: i64,
    pub grade_name: String,
    pub class_name: String,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    /// import | promotion | class_change | transfer | graduation | return
    pub reason: String,
}

/// A student's registry: record status, class, changes and class history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StudentRegistry {
    pub person_id: PersonId,
    pub name: String,
    /// Masked.
    pub registry_no: Option<String>,
    pub school_id: NodeId,
    pub school_name: String,
    /// enrolled | suspended | left | graduated | transferred
    pub status: String,
    pub class_id: Option<NodeId>,
    /// Grade and class, "三年级 (2)班".
    pub class_name: Option<String>,
    /// Newest first.
    pub changes: Vec<ChangeRow>,
    /// Newest first.
    pub history: Vec<HistoryRow>,
}

/// The person if the actor administers them: `NotFound` if they may not see the person at all,
/// `Forbidden` if they see but do not administer them (a teacher of the class).
async fn administered(cx: &Ctx<'_>, person: PersonId) -> AppResult<crate::model::Person> {
    let p = people::get_visible(cx, person).await?;
    if !authz::may_person(cx.db(), cx.actor, PersonPermission::Manage, p.id, p.org_id).await? {
        return Err(AppError::Forbidden);
    }
    Ok(p)
}

/// School name, record status, class id and "grade class" name.
type StudentRow = (String, Option<String>, Option<NodeId>, Option<String>);

/// A student's registry, for the administrators of their school.
pub async fn student(cx: &Ctx<'_>, person: PersonId) -> AppResult<StudentRegistry> {
    let p = administered(cx, person).await?;
    let db = cx.db();
    let row: Option<StudentRow> = on_db!(db, c => sqlx::query_as(
        "SELECT o.name, s.status, r.node_id, g.name || ' ' || n.name
         FROM persons p JOIN org_nodes o ON o.id = p.org_id
         LEFT JOIN students s ON s.person_id = p.id
         LEFT JOIN role_assignments r ON r.person_id = p.id AND r.role = 'student'
         LEFT JOIN org_nodes n ON n.id = r.node_id LEFT JOIN org_nodes g ON g.id = n.parent_id
         WHERE p.id = $1",
    ).bind(person).fetch_optional(c).await)?;
    let (school_name, status, class_id, class_name) =
        row.ok_or(AppError::NotFound("directory.person_not_found"))?;
    if status.is_none() && class_id.is_none() {
        return Err(AppError::NotFound("registry.student_not_found"));
    }
    let changes: Vec<ChangeRow> = on_db!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CHANGE_SELECT} WHERE r.person_id = $1 ORDER BY r.effective_on DESC, r.created_at DESC"
    ))).bind(person).fetch_all(c).await)?;
    let history: Vec<HistoryRow> = on_db!(db, c => sqlx::query_as(
        "SELECT h.class_id, h.school_id, s.name AS school_name, h.school_year, h.grade_name, h.class_name,
                h.started_on, h.ended_on, h.reason
         FROM class_history h JOIN org_nodes s ON s.id = h.school_id
         WHERE h.person_id = $1 ORDER BY h.started_on DESC, h.id DESC",
    ).bind(person).fetch_all(c).await)?;
    Ok(StudentRegistry {
        person_id: p.id,
        name: p.name,
        registry_no: p
            .registry_no
            .as_deref()
            .map(kernel::privacy::mask_id_number),
        school_id: p.org_id,
        school_name,
        status: status.unwrap_or_else(|| "enrolled".into()),
        class_id,
        class_name,
        changes: changes.into_iter().map(ChangeRow::named).collect(),
        history,
    })
}

/// A registry change to record.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
pub struct NewChange {
    /// jyt1001_registry_change_kind: 29 转班级 (or 02/03/04), 11 休学, 13 停学, 12 复学, 31 退学, …
    pub kind: String,
    /// jyt1001_registry_change_reason; required for leave, suspension and withdrawal.
    pub reason: Option<String>,
    /// The day it takes effect (default: today).
    pub effective_on: Option<NaiveDate>,
    /// Class changes, return and restoration: the class (of the student's school).
    pub class_id: Option<NodeId>,
    pub note: Option<String>,
}

/// A class change within the school.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct ClassChange {
    pub class_id: NodeId,
    /// 29 转班级 (default), 02 留级, 03 降级, 04 跳级.
    pub kind: Option<String>,
    pub effective_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// What a recorded change did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Recorded {
    /// The registry change record.
    pub id: Uuid,
    /// The record's status afterwards.
    pub status: String,
    pub class_id: Option<NodeId>,
}

/// Moves a student to another class of their school (转班级).
pub async fn class_change(
    cx: &Ctx<'_>,
    person: PersonId,
    input: ClassChange,
) -> AppResult<Recorded> {
    record(
        cx,
        person,
        NewChange {
            kind: input.kind.unwrap_or_else(|| "29".into()),
            reason: None,
            effective_on: input.effective_on,
            class_id: Some(input.class_id),
            note: input.note,
        },
    )
    .await
}

fn clean_note(note: Option<String>, errors: &mut FieldErrors) -> Option<String> {
    let note = note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        errors.add("note", "error.registry.note_too_long");
    }
    note
}

/// Checks an effective date: from 2000 to a year from today.
fn effective(on: Option<NaiveDate>, today: NaiveDate, errors: &mut FieldErrors) -> NaiveDate {
    let on = on.unwrap_or(today);
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(today);
    if on < earliest || on > today + chrono::Days::new(366) {
        errors.add("effective_on", "error.registry.effective_on_range");
    }
    on
}

/// Records a registry change and applies it to the student's record and class.
pub async fn record(cx: &Ctx<'_>, person: PersonId, input: NewChange) -> AppResult<Recorded> {
    administered(cx, person).await?;
    let today = cx.today();
    let mut errors = FieldErrors::new();
    let kind = input.kind.trim().to_owned();
    let effect = kinds::effect(&kind);
    match effect {
        None => errors.add("kind", "error.registry.kind_not_recordable"),
        Some(Effect::Transfer) => errors.add("kind", "error.registry.kind_transfer_only"),
        _ => {}
    }
    let reason = input
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    match reason.as_deref() {
        Some(r) if crate::codes::name(crate::codes::Table::RegistryChangeReason, r).is_none() => {
            errors.add("reason", "error.registry.unknown_reason");
        }
        None if effect.is_some_and(Effect::needs_reason) => {
            errors.add("reason", "error.registry.reason_required");
        }
        _ => {}
    }
    let on = effective(input.effective_on, today, &mut errors);
    let note = clean_note(input.note, &mut errors);
    let needs_class = matches!(effect, Some(Effect::ClassChange | Effect::Restore));
    if needs_class && input.class_id.is_none() {
        errors.add("class_id", "error.registry.class_required");
    }
    errors.into_result()?;
    let Some(effect) = effect else {
        return Err(AppError::field(
            "kind",
            "error.registry.kind_not_recordable",
        ));
    };

    let mut tx = cx.begin().await?;
    let cur = membership::current(&mut tx, person).await?;
    if !effect.allowed_from(&cur.status) {
        return Err(AppError::Conflict(
            "registry.wrong_status",
            FieldErrors(vec![("kind".into(), "error.registry.wrong_status".into())]),
        ));
    }
    let target = match input.class_id {
        Some(id)
            if matches!(
                effect,
                Effect::ClassChange | Effect::Return | Effect::Restore
            ) =>
        {
            let class = membership::class_info(&mut tx, id).await?;
            match class {
                Some(c) if c.school == cur.school && c.active => Some(c),
                _ => {
                    return Err(AppError::field(
                        "class_id",
                        "error.registry.class_not_in_school",
                    ));
                }
            }
        }
        _ => None,
    };
    if effect == Effect::ClassChange && target.as_ref().map(|c| c.id) == cur.class {
        return Err(AppError::field("class_id", "error.registry.same_class"));
    }
    if effect == Effect::Return && target.is_none() && cur.class.is_none() {
        // Back from leave: the student left their class, so one must be chosen.
        return Err(AppError::field("class_id", "error.registry.class_required"));
    }
    match effect {
        Effect::Leave | Effect::Exit => membership::leave_class(&mut tx, person, on).await?,
        Effect::ClassChange => {
            if let Some(c) = &target {
                membership::join_class(&mut tx, person, c, "class_change", on, cx.now).await?;
            }
        }
        Effect::Return | Effect::Restore => match &target {
            Some(c) if Some(c.id) != cur.class => {
                membership::join_class(&mut tx, person, c, "return", on, cx.now).await?;
            }
            _ => {}
        },
        Effect::Suspend | Effect::Note | Effect::Transfer => {}
    }
    let status = effect
        .status_after()
        .unwrap_or(cur.status.as_str())
        .to_owned();
    if effect.status_after().is_some() {
        membership::set_record(&mut tx, person, cur.school, &status, cx.now).await?;
    }
    let id = membership::write_change(
        &mut tx,
        &ChangeRecord {
            person,
            school: cur.school,
            kind: &kind,
            reason: reason.as_deref(),
            effective_on: on,
            other_school: None,
            note: note.as_deref(),
            actor: actor_id(cx),
        },
        cx.now,
    )
    .await?;
    changes::record(&mut tx, cx.now, cur.school, Entity::Student, person.0).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new(if effect == Effect::ClassChange {
            "student.class_change"
        } else {
            "student.registry_change"
        })
        .object("person", person)
        .node(cur.school)
        .detail(serde_json::json!({
            "kind": kind, "reason": reason, "effective_on": on, "status": status,
            "from_class": cur.class, "to_class": target.as_ref().map(|c| c.id),
        })),
    )
    .await?;
    tx.commit().await?;
    let class_id = match effect {
        Effect::Leave | Effect::Exit => None,
        _ => target.map(|c| c.id).or(cur.class),
    };
    Ok(Recorded {
        id,
        status,
        class_id,
    })
}

/// The person id to store as who acted (`None` for the system).
pub(crate) fn actor_id(cx: &Ctx<'_>) -> Option<PersonId> {
    (!cx.actor.is_system()).then_some(cx.actor.person_id)
}

/// The registry change records of a school (its own side of every transfer included, also
/// after the student has left), newest first. Administrators of the school or above.
pub async fn of_school(
    cx: &Ctx<'_>,
    school: NodeId,
    page: &PageQuery,
) -> AppResult<Paged<ChangeRow>> {
    crate::nodes::get(cx, school).await?;
    authz::require(cx.db(), cx.actor, Permission::ManagePeople, school).await?;
    let db = cx.db();
    let (total,): (i64,) = on_db!(db, c => sqlx::query_as(
        "SELECT COUNT(*) FROM registry_changes WHERE school_id = $1",
    ).bind(school).fetch_one(c).await)?;
    let rows: Vec<ChangeRow> = on_db!(db, c => sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CHANGE_SELECT} WHERE r.school_id = $1 ORDER BY r.effective_on DESC, r.created_at DESC LIMIT $2 OFFSET $3"
    ))).bind(school).bind(page.limit()).bind(page.offset()).fetch_all(c).await)?;
    Ok(Paged::new(
        rows.into_iter().map(ChangeRow::named).collect(),
        total,
        page,
    ))
}

/// The active classes of a school, "grade class" names, for the class pickers.
pub async fn classes_of(db: &kernel::Db, school: NodeId) -> AppResult<Vec<(NodeId, String)>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT c.id, g.name || ' ' || c.name FROM org_nodes c JOIN org_nodes g ON g.id = c.parent_id
         WHERE c.school_id = $1 AND c.kind = 'class' AND c.active = TRUE ORDER BY g.stages, g.grade_code, c.name",
    ).bind(school).fetch_all(p).await)?)
}

/// The registry pages and API.
pub fn routes() -> axum::Router<kernel::AppState> {
    pages::routes().merge(api::routes())
}
