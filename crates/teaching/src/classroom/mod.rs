//! Classroom mode (授课): a lesson taught from a plan on the classroom computer or projector.
//! The plan's steps are its slides, shown full screen in order with the resources placed in
//! them; a timer per step; a random student picker that picks nobody twice until everyone in
//! the class has been picked; quick questions answered on students' phones. Each lesson taught
//! is recorded with its date, class and the library resources shown: ending it counts it, and
//! counts it as taught with platform resources when any was shown (the plans ask for ten a
//! month per teacher).

pub mod pages;
pub mod questions;

use crate::lesson_prep::{self, PlanId};
use chrono::{DateTime, Datelike, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, Ctx, NodeId, PersonId, ResourceId, Tx, on_db, on_tx};
use serde::Serialize;

kernel::id_type!(
    /// A lesson taught (授课记录).
    SessionId => "teaching.lesson_not_found",
);

pub const NOT_FOUND: &str = "teaching.lesson_not_found";

/// A lesson taught or going on.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Lesson {
    pub id: SessionId,
    pub class_id: NodeId,
    pub subject: String,
    pub teacher_id: PersonId,
    pub plan_id: Option<PlanId>,
    pub plan_version: Option<i64>,
    pub title: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// `一年级(1)班`, the teacher's name, and how many library resources were shown.
    #[sqlx(default)]
    pub class_name: String,
    #[sqlx(default)]
    pub teacher: String,
    #[sqlx(default)]
    pub resources: i64,
}

const COLUMNS: &str = "s.id, s.class_id, s.subject, s.teacher_id, s.plan_id, s.plan_version, s.title, \
     s.started_at, s.ended_at, g.name || c.name AS class_name, p.name AS teacher, \
     (SELECT COUNT(*) FROM classroom_resources r WHERE r.session_id = s.id) AS resources";

const FROM: &str = "FROM classroom_sessions s JOIN org_nodes c ON c.id = s.class_id \
     JOIN org_nodes g ON g.id = c.parent_id JOIN persons p ON p.id = s.teacher_id";

pub async fn find(db: &kernel::Db, id: SessionId) -> AppResult<Option<Lesson>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE s.id = $1");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// The lesson, for its teacher and the administrators above its class (404 for others).
pub async fn get(cx: &Ctx<'_>, id: SessionId) -> AppResult<Lesson> {
    match find(cx.db(), id).await? {
        Some(l)
            if l.teacher_id == cx.actor.person_id
                || kernel::authz::administers(cx.db(), cx.actor, l.class_id).await? =>
        {
            Ok(l)
        }
        _ => Err(AppError::NotFound(NOT_FOUND)),
    }
}

/// The lesson, for its teacher only (others who may read it are refused).
pub async fn get_own(cx: &Ctx<'_>, id: SessionId) -> AppResult<Lesson> {
    let l = get(cx, id).await?;
    if l.teacher_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    Ok(l)
}

/// Starts teaching the author's plan (its latest version) in its class. A lesson of the
/// teacher's still going on ends first: one lesson at a time.
pub async fn start(cx: &Ctx<'_>, plan: PlanId) -> AppResult<SessionId> {
    let plan = lesson_prep::get_own(cx, plan).await?;
    if !resources::catalog::progress::teaches(cx, plan.class_id, &plan.subject) {
        return Err(AppError::field("class", "error.teaching.not_your_class"));
    }
    let open: Vec<(SessionId, Option<PlanId>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT id, plan_id FROM classroom_sessions WHERE teacher_id = $1 AND ended_at IS NULL",
    ).bind(cx.actor.person_id).fetch_all(p).await)?;
    // Starting the plan's lesson again (the back button, a second click) goes on with it.
    if let Some((same, _)) = open.iter().find(|(_, p)| *p == Some(plan.id)) {
        return Ok(*same);
    }
    let id = SessionId::new();
    let mut tx = cx.begin().await?;
    for (old, _) in open {
        if let Some(l) = find(cx.db(), old).await? {
            close(cx, &mut tx, &l).await?;
        }
    }
    on_tx!(&mut tx, t => sqlx::query(
        "INSERT INTO classroom_sessions (id, class_id, subject, teacher_id, plan_id, plan_version, title, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    ).bind(id).bind(plan.class_id).bind(&plan.subject).bind(cx.actor.person_id).bind(plan.id)
     .bind(plan.version).bind(&plan.title).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("lesson.start")
            .object("classroom_session", id)
            .node(plan.class_id)
            .detail(serde_json::json!({ "plan": plan.id, "version": plan.version })),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Records the resources of a slide as shown in the lesson (once each) while it goes on.
pub async fn shown(cx: &Ctx<'_>, lesson: &Lesson, links: &[(ResourceId, i64)]) -> AppResult<()> {
    if lesson.ended_at.is_some() || links.is_empty() || lesson.teacher_id != cx.actor.person_id {
        return Ok(());
    }
    let mut tx = cx.begin().await?;
    for (rid, version) in links {
        // Only while the lesson goes on: what is shown after it ended is not counted.
        on_tx!(&mut tx, t => sqlx::query(
            "INSERT INTO classroom_resources (session_id, resource_id, resource_version, shown_at)
             SELECT $1, $2, $3, $4 WHERE EXISTS
               (SELECT 1 FROM classroom_sessions WHERE id = $1 AND ended_at IS NULL)
             ON CONFLICT (session_id, resource_id) DO NOTHING",
        ).bind(lesson.id).bind(*rid).bind(*version).bind(cx.now)
         .execute(&mut *t).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(())
}

/// Ends a lesson inside `tx`: its end time, and the facts that count it.
async fn close(cx: &Ctx<'_>, tx: &mut Tx, l: &Lesson) -> AppResult<()> {
    let n = on_tx!(tx, t => sqlx::query(
        "UPDATE classroom_sessions SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL",
    ).bind(l.id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Ok(());
    }
    let (shown,): (i64,) = on_tx!(tx, t => sqlx::query_as(
        "SELECT COUNT(*) FROM classroom_resources WHERE session_id = $1",
    ).bind(l.id).fetch_one(&mut *t).await)?;
    on_tx!(tx, t => sqlx::query(
        "UPDATE classroom_questions SET closed_at = $2 WHERE session_id = $1 AND closed_at IS NULL",
    ).bind(l.id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    let mut kinds = vec!["teaching.lesson_taught"];
    if shown > 0 {
        kinds.push("teaching.taught_with_resources");
    }
    for kind in kinds {
        facts::record(
            tx,
            cx.now,
            Fact::once(
                kind,
                l.class_id,
                Some(l.teacher_id),
                l.id.0,
                format!("{kind}:{}", l.id),
            ),
        )
        .await?;
    }
    cx.audit(
        tx,
        AuditEvent::new("lesson.end")
            .object("classroom_session", l.id)
            .node(l.class_id)
            .detail(serde_json::json!({ "resources": shown })),
    )
    .await?;
    Ok(())
}

/// Ends the teacher's lesson (nothing happens if it has ended).
pub async fn end(cx: &Ctx<'_>, id: SessionId) -> AppResult<()> {
    let l = get_own(cx, id).await?;
    let mut tx = cx.begin().await?;
    close(cx, &mut tx, &l).await?;
    tx.commit().await?;
    Ok(())
}

/// The teacher's lessons, the latest first.
pub async fn mine(cx: &Ctx<'_>, limit: i64) -> AppResult<Vec<Lesson>> {
    let sql = format!(
        "SELECT {COLUMNS} {FROM} WHERE s.teacher_id = $1 ORDER BY s.started_at DESC LIMIT $2"
    );
    Ok(
        on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(cx.actor.person_id).bind(limit).fetch_all(p).await)?,
    )
}

/// The first moment of the calendar month of `now` in the region's zone.
pub fn month_start(cx: &Ctx<'_>) -> DateTime<Utc> {
    let today = cx.today();
    let first = today.with_day(1).unwrap_or(today);
    cx.state.config.time_zone.day_start(first)
}

/// The teacher's lessons this month: (ended, of them taught with library resources).
pub async fn this_month(cx: &Ctx<'_>) -> AppResult<(i64, i64)> {
    let from = month_start(cx);
    let row: (i64, i64) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM classroom_resources r WHERE r.session_id = s.id) THEN 1 ELSE 0 END), 0)
         FROM classroom_sessions s WHERE s.teacher_id = $1 AND s.ended_at IS NOT NULL AND s.started_at >= $2",
    ).bind(cx.actor.person_id).bind(from).fetch_one(p).await)?;
    Ok(row)
}

/// A teacher's name, lessons ended this month, and of them taught with library resources.
pub type TeacherMonth = (String, i64, i64);

/// Per teacher of the schools at or below `node` this month, for its administrators: (name,
/// lessons ended, taught with library resources), the fewest first.
pub async fn per_teacher(cx: &Ctx<'_>, node: NodeId) -> AppResult<Vec<TeacherMonth>> {
    if !kernel::authz::administers(cx.db(), cx.actor, node).await? {
        return Err(AppError::Forbidden);
    }
    let from = month_start(cx);
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT p.name, COUNT(*) AS n,
                COALESCE(SUM(CASE WHEN EXISTS (SELECT 1 FROM classroom_resources r WHERE r.session_id = s.id) THEN 1 ELSE 0 END), 0) AS w
         FROM classroom_sessions s JOIN persons p ON p.id = s.teacher_id
         WHERE s.ended_at IS NOT NULL AND s.started_at >= $2
           AND s.class_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $1)
         GROUP BY p.id, p.name ORDER BY w, p.name LIMIT 200",
    ).bind(node).bind(from).fetch_all(p).await)?)
}

/// A student picked by the random picker, and in which round.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Pick {
    pub student_id: PersonId,
    pub name: String,
    pub round: i64,
}

/// The lesson's picks, the latest first.
pub async fn picks(db: &kernel::Db, id: SessionId) -> AppResult<Vec<Pick>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT k.student_id, p.name, k.round FROM classroom_picks k JOIN persons p ON p.id = k.student_id
         WHERE k.session_id = $1 ORDER BY k.seq DESC",
    ).bind(id).fetch_all(p).await)?)
}

/// Picks a student of the class at random: nobody twice in a round; when everyone has been
/// picked a new round starts. `None` for a class without students.
pub async fn pick(cx: &Ctx<'_>, id: SessionId) -> AppResult<Option<Pick>> {
    let l = get_own(cx, id).await?;
    if l.ended_at.is_some() {
        return Err(AppError::Conflict(
            "teaching.lesson_ended",
            kernel::FieldErrors::new(),
        ));
    }
    let roster = directory::classes::roster(cx, l.class_id).await?;
    let students: Vec<(PersonId, String)> = roster
        .students
        .into_iter()
        .map(|m| (m.person_id, m.name))
        .collect();
    if students.is_empty() {
        return Ok(None);
    }
    // Two picks at once: the one that loses the sequence number draws again.
    for _ in 0..3 {
        match draw(cx, id, &students).await {
            Err(AppError::Conflict(..)) => continue,
            other => return other,
        }
    }
    Err(AppError::Conflict(
        "teaching.pick_busy",
        kernel::FieldErrors::new(),
    ))
}

/// One draw of the picker (see [`pick`]).
async fn draw(
    cx: &Ctx<'_>,
    id: SessionId,
    students: &[(PersonId, String)],
) -> AppResult<Option<Pick>> {
    use rand::seq::SliceRandom;
    let done = picks(cx.db(), id).await?;
    let round = done.first().map_or(1, |p| p.round);
    let in_round: Vec<PersonId> = done
        .iter()
        .filter(|p| p.round == round)
        .map(|p| p.student_id)
        .collect();
    let mut left: Vec<&(PersonId, String)> = students
        .iter()
        .filter(|(s, _)| !in_round.contains(s))
        .collect();
    let round = if left.is_empty() {
        left = students.iter().collect();
        round + 1
    } else {
        round
    };
    let Some((student, name)) = left.choose(&mut rand::thread_rng()).map(|s| (*s).clone()) else {
        return Ok(None);
    };
    let mut tx = cx.begin().await?;
    let seq = done.len() as i64 + 1;
    on_tx!(&mut tx, t => sqlx::query(
        "INSERT INTO classroom_picks (session_id, seq, round, student_id, picked_at)
         VALUES ($1, $2, $3, $4, $5)",
    ).bind(id).bind(seq).bind(round).bind(student).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))
    .map_err(|e| kernel::error::unique_violation(e, "teaching.pick_busy", "pick"))?;
    tx.commit().await?;
    Ok(Some(Pick {
        student_id: student,
        name,
        round,
    }))
}
