//! Daily attendance (考勤): the head teacher marks a class's absences in a few taps; approved
//! leave is filled in; the guardians of an unexplained absence are told at once; the school
//! and the district are alerted when illness absences in a class or a school pass a share
//! (晨午检, 因病缺课追踪).

pub mod pages;

use crate::scope;
use chrono::NaiveDate;
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId, on_db, on_tx};
use serde::Serialize;

/// The share of a class's or school's students absent through illness on one day at which the
/// school's (for a class) or the district's (for a school) administrators are alerted.
pub const ILLNESS_ALERT_PERCENT: i64 = 10;
/// A school alert needs at least this many illness absences (one ill child in a small school
/// is not an outbreak).
pub const SCHOOL_ALERT_MIN: i64 = 3;
/// How many days back attendance may still be taken or corrected.
pub const DAYS_BACK: i64 = 7;

pub const STATUSES: [&str; 4] = ["absent", "late", "sick_leave", "personal_leave"];

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Line {
    pub student_id: PersonId,
    pub name: String,
    /// The mark saved for the day, if any (`None`: present).
    pub status: Option<String>,
    /// Approved leave covering the day: `sick_leave` or `personal_leave`.
    pub leave: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Sheet {
    pub class_id: NodeId,
    pub label: String,
    pub day: NaiveDate,
    pub taken: bool,
    pub lines: Vec<Line>,
}

async fn require_class(cx: &Ctx<'_>, class: NodeId) -> AppResult<(String, NodeId)> {
    let node = directory::nodes::find(cx.db(), class)
        .await?
        .filter(|n| n.kind == "class")
        .ok_or(AppError::NotFound("directory.class_not_found"))?;
    if !(scope::teaches(cx.actor, class) || scope::administers(cx.db(), cx.actor, class).await?) {
        return Err(AppError::NotFound("directory.class_not_found"));
    }
    let label = scope::label(cx.db(), class).await?.unwrap_or(node.name);
    Ok((label, node.school_id.unwrap_or(class)))
}

/// A class's sheet for a day: every student, their mark, the leave that covers them.
pub async fn sheet(cx: &Ctx<'_>, class: NodeId, day: NaiveDate) -> AppResult<Sheet> {
    let (label, _) = require_class(cx, class).await?;
    let marks: Vec<(PersonId, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT student_id, status FROM attendance_marks WHERE class_id = $1 AND day = $2",
    ).bind(class).bind(day).fetch_all(p).await)?;
    let (taken,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM attendance_days WHERE class_id = $1 AND day = $2",
    ).bind(class).bind(day).fetch_one(p).await)?;
    let leave = crate::leave::approved_on(cx.db(), class, day).await?;
    let lines = scope::students(cx.db(), class)
        .await?
        .into_iter()
        .map(|(student_id, name)| Line {
            status: marks
                .iter()
                .find(|m| m.0 == student_id)
                .map(|m| m.1.clone()),
            leave: leave.iter().find(|l| l.student_id == student_id).map(|l| {
                if l.reason == "illness" {
                    "sick_leave"
                } else {
                    "personal_leave"
                }
                .to_owned()
            }),
            student_id,
            name,
        })
        .collect();
    Ok(Sheet {
        class_id: class,
        label,
        day,
        taken: taken > 0,
        lines,
    })
}

/// What `take` did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Taken {
    pub absent: i64,
    /// Guardians told of an unexplained absence.
    pub guardians_told: i64,
    pub class_alert: bool,
    pub school_alert: bool,
}

/// Saves a class's attendance for a day: `marks` are the students not simply present. A
/// student on approved leave is marked with it whatever was sent.
pub async fn take(
    cx: &Ctx<'_>,
    class: NodeId,
    day: NaiveDate,
    marks: &[(PersonId, String)],
) -> AppResult<Taken> {
    let (label, school) = require_class(cx, class).await?;
    let today = cx.today();
    if day > today || day < today - chrono::Duration::days(DAYS_BACK) {
        return Err(AppError::field("day", "attendance.error.day"));
    }
    let students = scope::students(cx.db(), class).await?;
    let mut f = FieldErrors::new();
    for (s, status) in marks {
        if !students.iter().any(|(id, _)| id == s) {
            f.add("marks", "attendance.error.not_in_class");
        }
        if !STATUSES.contains(&status.as_str()) {
            f.add("marks", "attendance.error.status");
        }
    }
    f.into_result()?;
    let leave = crate::leave::approved_on(cx.db(), class, day).await?;
    let before: Vec<(PersonId, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT student_id, status FROM attendance_marks WHERE class_id = $1 AND day = $2",
    ).bind(class).bind(day).fetch_all(p).await)?;
    // The final marks: leave first, then what the teacher marked.
    let mut final_marks: Vec<(PersonId, String, Option<kernel::LeaveId>)> = leave
        .iter()
        .map(|l| {
            let s = if l.reason == "illness" {
                "sick_leave"
            } else {
                "personal_leave"
            };
            (l.student_id, s.to_owned(), Some(l.id))
        })
        .collect();
    for (s, status) in marks {
        if !final_marks.iter().any(|m| m.0 == *s) {
            final_marks.push((*s, status.clone(), None));
        }
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO attendance_days (class_id, day, school_id, students, taken_by, taken_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (class_id, day) DO UPDATE SET students = excluded.students, taken_by = excluded.taken_by, taken_at = excluded.taken_at",
    ).bind(class).bind(day).bind(school).bind(students.len() as i64).bind(cx.actor.person_id).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM attendance_marks WHERE class_id = $1 AND day = $2")
        .bind(class).bind(day).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    let mut told = 0;
    for (s, status, leave_id) in &final_marks {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO attendance_marks (student_id, day, class_id, status, leave_id) VALUES ($1, $2, $3, $4, $5)",
        ).bind(s).bind(day).bind(class).bind(status).bind(leave_id)
         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        facts::record(
            &mut tx,
            cx.now,
            Fact::once(
                "attendance.absence",
                class,
                Some(*s),
                s.0,
                format!("attendance.absence:{s}:{day}:{status}"),
            ),
        )
        .await?;
        let new_absence =
            status == "absent" && !before.iter().any(|b| b.0 == *s && b.1 == "absent");
        if new_absence {
            let name = students
                .iter()
                .find(|x| x.0 == *s)
                .map(|x| x.1.clone())
                .unwrap_or_default();
            for g in scope::guardians(cx.db(), *s).await? {
                crate::tell(
                    cx.state,
                    &mut tx,
                    g,
                    "attendance",
                    "notice.absence_unexplained",
                    s.0,
                    "/leave/new",
                    serde_json::json!({ "student": name, "day": day.to_string() }),
                    &format!("absence:{s}:{day}"),
                    cx.now,
                )
                .await?;
                told += 1;
            }
        }
    }
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "attendance.taken",
            class,
            Some(cx.actor.person_id),
            class.0,
            format!("attendance.taken:{class}:{day}"),
        ),
    )
    .await?;
    let sick = final_marks.iter().filter(|m| m.1 == "sick_leave").count() as i64;
    let class_alert = !students.is_empty()
        && sick >= 2
        && sick * 100 >= ILLNESS_ALERT_PERCENT * students.len() as i64
        && alert(
            cx,
            &mut tx,
            "attendance.illness_alert.class",
            class,
            school,
            day,
            &label,
            sick,
        )
        .await?;
    // The school's share over every class taken that day (this class's marks included).
    let (school_sick, school_students): (i64, i64) = on_tx!(&mut tx, c => sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM attendance_marks m JOIN attendance_days d ON d.class_id = m.class_id AND d.day = m.day
                 WHERE d.school_id = $1 AND m.day = $2 AND m.status = 'sick_leave'),
                (SELECT CAST(COALESCE(SUM(students), 0) AS BIGINT) FROM attendance_days WHERE school_id = $1 AND day = $2)",
    ).bind(school).bind(day).fetch_one(&mut *c).await)?;
    let school_alert = school_sick >= SCHOOL_ALERT_MIN
        && school_sick * 100 >= ILLNESS_ALERT_PERCENT * school_students.max(1)
        && {
            let school_name = scope::label(cx.db(), school).await?.unwrap_or_default();
            alert(
                cx,
                &mut tx,
                "attendance.illness_alert.school",
                school,
                school,
                day,
                &school_name,
                school_sick,
            )
            .await?
        };
    cx.audit(
        &mut tx,
        AuditEvent::new("attendance.take")
            .object("node", class)
            .node(class)
            .detail(serde_json::json!({ "day": day.to_string(), "absent": final_marks.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(Taken {
        absent: final_marks.len() as i64,
        guardians_told: told,
        class_alert,
        school_alert,
    })
}

/// Records an illness alert once per node and day and tells the administrators: a class's go
/// to its school's administrators, a school's to its district's (and city's).
#[allow(clippy::too_many_arguments)]
async fn alert(
    cx: &Ctx<'_>,
    tx: &mut kernel::Tx,
    kind: &str,
    node: NodeId,
    school: NodeId,
    day: NaiveDate,
    name: &str,
    sick: i64,
) -> AppResult<bool> {
    let first = facts::record(
        tx,
        cx.now,
        Fact {
            kind,
            node_id: node,
            person_id: None,
            object_id: Some(node.0),
            value: sick,
            idempotency_key: Some(format!("{kind}:{node}:{day}")),
        },
    )
    .await?;
    if !first {
        return Ok(false);
    }
    // A class alert: the school's administrators; a school alert: those above the school.
    let sql = if node == school && kind.ends_with("school") {
        "SELECT DISTINCT r.person_id FROM org_closure c JOIN role_assignments r ON r.node_id = c.ancestor_id AND r.role = 'admin'
         WHERE c.descendant_id = $1 AND c.depth > 0"
    } else {
        "SELECT DISTINCT r.person_id FROM role_assignments r WHERE r.node_id = $1 AND r.role = 'admin'"
    };
    let admins: Vec<(PersonId,)> =
        on_tx!(tx, c => sqlx::query_as(sql).bind(school).fetch_all(&mut *c).await)?;
    let link = format!("/attendance/stats/{school}?day={day}");
    for (a,) in admins {
        crate::tell(
            cx.state,
            tx,
            a,
            "attendance",
            "notice.illness_alert",
            node.0,
            &link,
            serde_json::json!({ "name": name, "day": day.to_string(), "count": sick }),
            &format!("illness_alert:{node}:{day}"),
            cx.now,
        )
        .await?;
    }
    Ok(true)
}

/// One class's figures for a day.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ClassDay {
    pub class_id: NodeId,
    pub students: i64,
    pub absent: i64,
    pub late: i64,
    pub sick_leave: i64,
    pub personal_leave: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub node_id: NodeId,
    pub label: String,
    pub day: NaiveDate,
    /// Classes that took attendance, with their labels.
    pub classes: Vec<(ClassDay, String)>,
    /// Classes below the node that have not taken it.
    pub not_taken: i64,
}

/// A school's or region's attendance on a day, per class: for its administrators.
pub async fn stats(cx: &Ctx<'_>, node: NodeId, day: NaiveDate) -> AppResult<Stats> {
    if !scope::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::NotFound("directory.node_not_found"));
    }
    let label = scope::label(cx.db(), node).await?.unwrap_or_default();
    let rows: Vec<ClassDay> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT d.class_id, d.students,
            (SELECT COUNT(*) FROM attendance_marks m WHERE m.class_id = d.class_id AND m.day = d.day AND m.status = 'absent') AS absent,
            (SELECT COUNT(*) FROM attendance_marks m WHERE m.class_id = d.class_id AND m.day = d.day AND m.status = 'late') AS late,
            (SELECT COUNT(*) FROM attendance_marks m WHERE m.class_id = d.class_id AND m.day = d.day AND m.status = 'sick_leave') AS sick_leave,
            (SELECT COUNT(*) FROM attendance_marks m WHERE m.class_id = d.class_id AND m.day = d.day AND m.status = 'personal_leave') AS personal_leave
         FROM attendance_days d JOIN org_closure c ON c.descendant_id = d.class_id AND c.ancestor_id = $1
         WHERE d.day = $2 ORDER BY d.class_id LIMIT 500",
    ).bind(node).bind(day).fetch_all(p).await)?;
    let (classes_total,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM org_closure c JOIN org_nodes n ON n.id = c.descendant_id
         WHERE c.ancestor_id = $1 AND n.kind = 'class' AND n.active = TRUE",
    ).bind(node).fetch_one(p).await)?;
    let mut classes = Vec::with_capacity(rows.len());
    for r in rows {
        let l = scope::label(cx.db(), r.class_id).await?.unwrap_or_default();
        classes.push((r, l));
    }
    classes.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(Stats {
        node_id: node,
        label,
        day,
        not_taken: classes_total - classes.len() as i64,
        classes,
    })
}

/// The attendance pages.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::get;
    axum::Router::new()
        .route("/attendance", get(pages::mine))
        .route("/attendance/{class}", get(pages::sheet).post(pages::take))
        .route("/attendance/stats/{node}", get(pages::stats))
}
