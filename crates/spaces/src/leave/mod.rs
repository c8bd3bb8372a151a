//! Leave requests (请假): a guardian asks leave for their child (days and half days, illness
//! with its symptoms or personal reasons); the class's head teacher approves or declines; on
//! approval the class's teachers are told and the leave fills in the attendance.

pub mod pages;

use crate::scope;
use chrono::{DateTime, NaiveDate, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, Ctx, FieldErrors, LeaveId, NodeId, PersonId, on_db, on_tx};
use serde::{Deserialize, Serialize};

/// The symptoms a guardian can tick for an illness (what schools track during epidemics).
pub const SYMPTOMS: [&str; 8] = [
    "fever",
    "cough",
    "sore_throat",
    "diarrhoea",
    "vomiting",
    "rash",
    "headache",
    "other",
];

/// The longest leave a guardian can ask for at once, in days.
pub const MAX_DAYS: i64 = 30;
/// How far back a request may start (an illness reported after the fact).
pub const MAX_DAYS_BACK: i64 = 7;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewLeave {
    pub student_id: PersonId,
    pub starts_on: NaiveDate,
    /// `am` or `pm`: from the morning or the afternoon of the first day.
    pub starts_half: String,
    pub ends_on: NaiveDate,
    /// `am` or `pm`: to the end of the morning or of the afternoon of the last day.
    pub ends_half: String,
    /// `illness` or `personal`.
    pub reason: String,
    #[serde(default)]
    pub symptoms: Vec<String>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Leave {
    pub id: LeaveId,
    pub student_id: PersonId,
    pub student_name: String,
    pub class_id: NodeId,
    pub requested_by: PersonId,
    pub requester_name: String,
    pub starts_on: NaiveDate,
    pub starts_half: String,
    pub ends_on: NaiveDate,
    pub ends_half: String,
    pub reason: String,
    pub symptoms: String,
    pub note: String,
    /// `pending`, `approved`, `declined` or `cancelled`.
    pub state: String,
    pub decided_at: Option<DateTime<Utc>>,
    pub decision_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Leave {
    /// The half days it covers.
    pub fn half_days(&self) -> i64 {
        half_days(
            self.starts_on,
            &self.starts_half,
            self.ends_on,
            &self.ends_half,
        )
    }
    pub fn symptom_list(&self) -> Vec<&str> {
        self.symptoms.split(',').filter(|s| !s.is_empty()).collect()
    }
}

fn half_days(from: NaiveDate, from_half: &str, to: NaiveDate, to_half: &str) -> i64 {
    let days = (to - from).num_days();
    days * 2 + 2 - i64::from(from_half == "pm") - i64::from(to_half == "am")
}

const LEAVE_COLUMNS: &str = "l.id, l.student_id, s.name AS student_name, l.class_id, l.requested_by, \
     g.name AS requester_name, l.starts_on, l.starts_half, l.ends_on, l.ends_half, l.reason, l.symptoms, \
     l.note, l.state, l.decided_at, l.decision_note, l.created_at";
const LEAVE_FROM: &str = "FROM leave_requests l JOIN persons s ON s.id = l.student_id JOIN persons g ON g.id = l.requested_by";

fn check(cx: &Ctx<'_>, n: &NewLeave) -> FieldErrors {
    let mut f = FieldErrors::new();
    let today = cx.today();
    if !matches!(n.starts_half.as_str(), "am" | "pm") {
        f.add("starts_half", "leave.error.half");
    }
    if !matches!(n.ends_half.as_str(), "am" | "pm") {
        f.add("ends_half", "leave.error.half");
    }
    if n.starts_on < today - chrono::Duration::days(MAX_DAYS_BACK) {
        f.add("starts_on", "leave.error.too_far_back");
    } else if n.starts_on > today + chrono::Duration::days(60) {
        f.add("starts_on", "leave.error.too_far_ahead");
    }
    if half_days(n.starts_on, &n.starts_half, n.ends_on, &n.ends_half) < 1 {
        f.add("ends_on", "leave.error.ends_before_start");
    } else if (n.ends_on - n.starts_on).num_days() >= MAX_DAYS {
        f.add("ends_on", "leave.error.too_long");
    }
    match n.reason.as_str() {
        "illness" => {
            if n.symptoms.is_empty() {
                f.add("symptoms", "leave.error.symptoms_required");
            } else if n.symptoms.iter().any(|s| !SYMPTOMS.contains(&s.as_str())) {
                f.add("symptoms", "leave.error.symptom_unknown");
            }
        }
        "personal" => {
            if n.note.trim().is_empty() {
                f.add("note", "leave.error.note_required");
            }
        }
        _ => f.add("reason", "leave.error.reason"),
    }
    if n.note.chars().count() > 500 {
        f.add("note", "leave.error.note_too_long");
    }
    f
}

/// A guardian asks leave for their child; the head teacher is told.
pub async fn request(cx: &Ctx<'_>, n: NewLeave) -> AppResult<LeaveId> {
    let child = scope::children(cx)
        .await?
        .into_iter()
        .find(|c| c.student_id == n.student_id)
        .ok_or_else(|| AppError::field("student_id", "leave.error.not_your_child"))?;
    check(cx, &n).into_result()?;
    let (overlap,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM leave_requests WHERE student_id = $1 AND state IN ('pending', 'approved')
         AND starts_on <= $3 AND ends_on >= $2",
    ).bind(n.student_id).bind(n.starts_on).bind(n.ends_on).fetch_one(p).await)?;
    if overlap > 0 {
        return Err(AppError::field("starts_on", "leave.error.overlaps"));
    }
    let id = LeaveId::new();
    let mut symptoms = n.symptoms.clone();
    symptoms.sort();
    symptoms.dedup();
    let symptoms = if n.reason == "illness" {
        symptoms.join(",")
    } else {
        String::new()
    };
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO leave_requests (id, student_id, class_id, school_id, requested_by, starts_on, starts_half,
             ends_on, ends_half, reason, symptoms, note, state, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'pending', $13)",
    ).bind(id).bind(n.student_id).bind(child.class_id).bind(child.school_id).bind(cx.actor.person_id)
     .bind(n.starts_on).bind(&n.starts_half).bind(n.ends_on).bind(&n.ends_half).bind(&n.reason)
     .bind(&symptoms).bind(n.note.trim()).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let link = format!("/leave/{id}");
    for head in head_teachers(cx.db(), child.class_id).await? {
        crate::tell(
            cx.state,
            &mut tx,
            head,
            "leave",
            "notice.leave_requested",
            id.0,
            &link,
            serde_json::json!({ "student": child.name }),
            &format!("leave:{id}"),
            cx.now,
        )
        .await?;
    }
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "leave.requested",
            child.class_id,
            Some(cx.actor.person_id),
            id.0,
            format!("leave.requested:{id}"),
        ),
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("leave.request")
            .object("leave", id)
            .node(child.class_id),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn head_teachers(db: &kernel::Db, class: NodeId) -> AppResult<Vec<PersonId>> {
    let rows: Vec<(PersonId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE node_id = $1 AND role = 'head_teacher'",
    ).bind(class).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// A leave request as its viewer may see it: the guardians of the child, the class's
/// teachers and the school's administrators.
pub async fn get(cx: &Ctx<'_>, id: LeaveId) -> AppResult<Leave> {
    let sql = format!("SELECT {LEAVE_COLUMNS} {LEAVE_FROM} WHERE l.id = $1");
    let l: Option<Leave> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
    let l = l.ok_or(AppError::NotFound("spaces.leave_not_found"))?;
    let guardian = cx
        .actor
        .grants_of(kernel::Role::Guardian)
        .any(|g| g.student_id == Some(l.student_id));
    if guardian
        || scope::teaches(cx.actor, l.class_id)
        || scope::administers(cx.db(), cx.actor, l.class_id).await?
    {
        Ok(l)
    } else {
        Err(AppError::NotFound("spaces.leave_not_found"))
    }
}

/// The requests the actor deals with: a guardian's children's, a teacher's classes' (pending
/// first, then the latest).
pub async fn mine(cx: &Ctx<'_>, limit: i64) -> AppResult<Vec<Leave>> {
    let mut students: Vec<PersonId> = cx
        .actor
        .grants_of(kernel::Role::Guardian)
        .filter_map(|g| g.student_id)
        .collect();
    students.dedup();
    let classes: Vec<NodeId> = cx
        .actor
        .grants
        .iter()
        .filter(|g| matches!(g.role, kernel::Role::Teacher | kernel::Role::HeadTeacher))
        .map(|g| g.node_id)
        .collect();
    let mut out: Vec<Leave> = Vec::new();
    let sql_s = format!(
        "SELECT {LEAVE_COLUMNS} {LEAVE_FROM} WHERE l.student_id = $1 ORDER BY l.created_at DESC LIMIT $2"
    );
    for s in students {
        let rows: Vec<Leave> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql_s.as_str())).bind(s).bind(limit).fetch_all(p).await)?;
        out.extend(rows);
    }
    let sql_c = format!(
        "SELECT {LEAVE_COLUMNS} {LEAVE_FROM} WHERE l.class_id = $1 ORDER BY l.created_at DESC LIMIT $2"
    );
    for c in classes {
        let rows: Vec<Leave> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql_c.as_str())).bind(c).bind(limit).fetch_all(p).await)?;
        for r in rows {
            if !out.iter().any(|o| o.id == r.id) {
                out.push(r);
            }
        }
    }
    out.sort_by(|a, b| {
        (a.state != "pending", std::cmp::Reverse(a.created_at))
            .cmp(&(b.state != "pending", std::cmp::Reverse(b.created_at)))
    });
    out.truncate(usize::try_from(limit).unwrap_or(100));
    Ok(out)
}

/// Whether the actor may decide the request: the class's head teacher or the school's
/// administrators.
pub async fn may_decide(cx: &Ctx<'_>, l: &Leave) -> AppResult<bool> {
    Ok(scope::heads(cx.actor, l.class_id)
        || scope::administers(cx.db(), cx.actor, l.class_id).await?)
}

/// The head teacher approves or declines a pending request: the guardian is told, and on
/// approval the class's teachers too; days already taken in the attendance turn to leave.
pub async fn decide(cx: &Ctx<'_>, id: LeaveId, approve: bool, note: &str) -> AppResult<()> {
    let l = get(cx, id).await?;
    if !may_decide(cx, &l).await? {
        return Err(AppError::Forbidden);
    }
    if l.state != "pending" {
        return Err(AppError::Conflict(
            "spaces.leave_decided",
            FieldErrors::new(),
        ));
    }
    if note.chars().count() > 200 {
        return Err(AppError::field("note", "leave.error.note_too_long"));
    }
    let state = if approve { "approved" } else { "declined" };
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE leave_requests SET state = $2, decided_by = $3, decided_at = $4, decision_note = $5
         WHERE id = $1 AND state = 'pending'",
    ).bind(id).bind(state).bind(cx.actor.person_id).bind(cx.now).bind(note.trim())
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Err(AppError::Conflict(
            "spaces.leave_decided",
            FieldErrors::new(),
        ));
    }
    let link = format!("/leave/{id}");
    let args = serde_json::json!({ "student": l.student_name });
    let decided = if approve {
        "notice.leave_approved"
    } else {
        "notice.leave_declined"
    };
    crate::tell(
        cx.state,
        &mut tx,
        l.requested_by,
        "leave",
        decided,
        id.0,
        &link,
        args.clone(),
        &format!("{decided}:{id}"),
        cx.now,
    )
    .await?;
    if approve {
        for t in scope::teachers(cx.db(), l.class_id).await? {
            if t != cx.actor.person_id {
                crate::tell(
                    cx.state,
                    &mut tx,
                    t,
                    "leave",
                    "notice.leave_for_teachers",
                    id.0,
                    &link,
                    args.clone(),
                    &format!("leave_approved:{id}"),
                    cx.now,
                )
                .await?;
            }
        }
        let status = if l.reason == "illness" {
            "sick_leave"
        } else {
            "personal_leave"
        };
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE attendance_marks SET status = $2, leave_id = $3
             WHERE student_id = $1 AND day >= $4 AND day <= $5 AND status = 'absent'",
        ).bind(l.student_id).bind(status).bind(id).bind(l.starts_on).bind(l.ends_on)
         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    facts::record(
        &mut tx,
        cx.now,
        Fact {
            kind: if approve {
                "leave.approved"
            } else {
                "leave.declined"
            },
            node_id: l.class_id,
            person_id: Some(cx.actor.person_id),
            object_id: Some(id.0),
            value: l.half_days(),
            idempotency_key: Some(format!("leave.decided:{id}")),
        },
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new(if approve {
            "leave.approve"
        } else {
            "leave.decline"
        })
        .object("leave", id)
        .node(l.class_id),
    )
    .await?;
    tx.commit().await
}

/// The guardian withdraws a request that is pending, or approved and not yet begun.
pub async fn cancel(cx: &Ctx<'_>, id: LeaveId) -> AppResult<()> {
    let l = get(cx, id).await?;
    if l.requested_by != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    let open = l.state == "pending" || (l.state == "approved" && l.starts_on > cx.today());
    if !open {
        return Err(AppError::Conflict(
            "spaces.leave_decided",
            FieldErrors::new(),
        ));
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE leave_requests SET state = 'cancelled' WHERE id = $1")
        .bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("leave.cancel")
            .object("leave", id)
            .node(l.class_id),
    )
    .await?;
    tx.commit().await
}

/// The approved leave of a class's students that covers `day`.
pub async fn approved_on(db: &kernel::Db, class: NodeId, day: NaiveDate) -> AppResult<Vec<Leave>> {
    let sql = format!(
        "SELECT {LEAVE_COLUMNS} {LEAVE_FROM} WHERE l.class_id = $1 AND l.state = 'approved' AND l.starts_on <= $2 AND l.ends_on >= $2"
    );
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(class).bind(day).fetch_all(p).await)?,
    )
}

/// The leave pages.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/leave", get(pages::list))
        .route("/leave/new", get(pages::new_form).post(pages::create))
        .route("/leave/{id}", get(pages::show))
        .route("/leave/{id}/decide", post(pages::decide))
        .route("/leave/{id}/cancel", post(pages::cancel))
}
