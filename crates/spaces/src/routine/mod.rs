//! The teaching routine check (教学常规检查): lesson plans and materials a teacher has put in
//! the library (and so in their space's resources column) count as submitted. A school's
//! administrators see each teacher's plans of a week with their subjects, without asking for
//! paper copies, and comment on them; the teacher is told.

use crate::scope;
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use kernel::audit::AuditEvent;
use kernel::{AppError, AppResult, Ctx, NodeId, PersonId, notify, on_db, on_tx};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, redirect, render};

/// The kinds of resource the check reads: plans and what is taught with them.
pub const KINDS: [&str; 4] = [
    "lesson_plan",
    "teaching_design",
    "study_guide",
    "courseware",
];

pub struct Item {
    pub id: kernel::ResourceId,
    pub title: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
}

pub struct Comment {
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub struct TeacherWeek {
    pub teacher_id: PersonId,
    pub name: String,
    pub subjects: Vec<String>,
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
}

/// The Monday of a day's week.
pub fn monday(day: NaiveDate) -> NaiveDate {
    day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

async fn require_school_admin(cx: &Ctx<'_>, school: NodeId) -> AppResult<()> {
    let node = directory::nodes::find(cx.db(), school)
        .await?
        .filter(|n| n.kind == "school")
        .ok_or(AppError::NotFound("directory.node_not_found"))?;
    if scope::administers(cx.db(), cx.actor, node.id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("directory.node_not_found"))
    }
}

/// Each teacher of the school with their plans of the week starting `week` and its comments.
pub async fn week(cx: &Ctx<'_>, school: NodeId, week: NaiveDate) -> AppResult<Vec<TeacherWeek>> {
    require_school_admin(cx, school).await?;
    let rows: Vec<(PersonId, String, Option<String>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT DISTINCT p.id, p.name, r.subject FROM org_closure c JOIN role_assignments r ON r.node_id = c.descendant_id
         JOIN persons p ON p.id = r.person_id AND p.active = TRUE
         WHERE c.ancestor_id = $1 AND r.role IN ('teacher', 'head_teacher') ORDER BY p.name",
    ).bind(school).fetch_all(p).await)?;
    let zone = cx.state.config.time_zone;
    let from = zone
        .at(week.and_hms_opt(0, 0, 0).unwrap_or_default())
        .unwrap_or(cx.now);
    let to = from + chrono::Duration::days(7);
    let comments: Vec<(PersonId, String, String, DateTime<Utc>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT k.teacher_id, a.name, k.body, k.created_at FROM routine_comments k JOIN persons a ON a.id = k.author_id
         WHERE k.school_id = $1 AND k.week = $2 ORDER BY k.created_at",
    ).bind(school).bind(week).fetch_all(p).await)?;
    let mut out: Vec<TeacherWeek> = Vec::new();
    for (id, name, subject) in rows {
        let subject = subject.map(|s| standards::subjects::subject_name(&s));
        if let Some(t) = out.iter_mut().find(|t| t.teacher_id == id) {
            if let Some(s) = subject
                && !t.subjects.contains(&s)
            {
                t.subjects.push(s);
            }
            continue;
        }
        out.push(TeacherWeek {
            teacher_id: id,
            name,
            subjects: subject.into_iter().collect(),
            items: Vec::new(),
            comments: comments
                .iter()
                .filter(|c| c.0 == id)
                .map(|c| Comment {
                    author: c.1.clone(),
                    body: c.2.clone(),
                    created_at: c.3,
                })
                .collect(),
        });
    }
    let page = kernel::paging::PageQuery {
        page: Some(1),
        per_page: Some(100),
    };
    for t in &mut out {
        let list = resources::library::listing::list(
            cx,
            &resources::library::listing::ListFilter {
                author: Some(t.teacher_id),
                ..Default::default()
            },
            &page,
        )
        .await?;
        t.items = list
            .items
            .into_iter()
            .filter(|r| {
                KINDS.contains(&r.resource.kind.as_str())
                    && r.resource.created_at >= from
                    && r.resource.created_at < to
            })
            .map(|r| Item {
                id: r.resource.id,
                title: r.resource.title,
                kind: r.resource.kind,
                created_at: r.resource.created_at,
            })
            .collect();
    }
    Ok(out)
}

pub const COMMENT_MAX: usize = 500;

/// The teaching office comments on a teacher's week; the teacher is told.
pub async fn comment(
    cx: &Ctx<'_>,
    school: NodeId,
    teacher: PersonId,
    week: NaiveDate,
    body: &str,
) -> AppResult<()> {
    require_school_admin(cx, school).await?;
    let body = body.trim();
    if body.is_empty() || body.chars().count() > COMMENT_MAX {
        return Err(AppError::field("body", "routine.error.comment"));
    }
    let (teaches,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM org_closure c JOIN role_assignments r ON r.node_id = c.descendant_id
         WHERE c.ancestor_id = $1 AND r.person_id = $2 AND r.role IN ('teacher', 'head_teacher')",
    ).bind(school).bind(teacher).fetch_one(p).await)?;
    if teaches == 0 {
        return Err(AppError::NotFound("directory.person_not_found"));
    }
    let week = monday(week);
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO routine_comments (id, school_id, teacher_id, week, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    ).bind(uuid::Uuid::now_v7()).bind(school).bind(teacher).bind(week).bind(cx.actor.person_id).bind(body).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    notify::send(
        &mut tx,
        teacher,
        "notice.routine_comment",
        None,
        None,
        serde_json::json!({ "week": week.to_string() }),
        cx.now,
    )
    .await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("routine.comment")
            .object("person", teacher)
            .node(school),
    )
    .await?;
    tx.commit().await
}

#[derive(Template)]
#[template(path = "routine/week.html")]
struct WeekPage {
    ctx: PageCtx,
    school: NodeId,
    label: String,
    week: NaiveDate,
    previous: NaiveDate,
    next: NaiveDate,
    teachers: Vec<TeacherWeek>,
    submitted: usize,
}

#[derive(Deserialize)]
pub struct WeekQuery {
    week: Option<String>,
    done: Option<String>,
}

pub async fn page(
    page: Page,
    IdPath(school): IdPath<NodeId>,
    Query(q): Query<WeekQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let day = q
        .week
        .as_deref()
        .and_then(|w| NaiveDate::parse_from_str(w, "%Y-%m-%d").ok())
        .unwrap_or(cx.today());
    let week = monday(day);
    let teachers = self::week(&cx, school, week).await?;
    Ok(render(&WeekPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        label: scope::label(cx.db(), school).await?.unwrap_or_default(),
        submitted: teachers.iter().filter(|t| !t.items.is_empty()).count(),
        previous: week - chrono::Duration::days(7),
        next: week + chrono::Duration::days(7),
        school,
        week,
        teachers,
    }))
}

#[derive(Deserialize)]
pub struct CommentForm {
    teacher: String,
    week: String,
    body: String,
}

pub async fn add_comment(
    page: Page,
    IdPath(school): IdPath<NodeId>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> AppResult<Response> {
    let teacher = web::parse_id::<PersonId>(&f.teacher)?;
    let week = NaiveDate::parse_from_str(&f.week, "%Y-%m-%d")
        .map_err(|_| AppError::field("week", "routine.error.comment"))?;
    comment(&page.cx(), school, teacher, week, &f.body).await?;
    Ok(redirect(&format!(
        "/spaces/routine/{school}?week={week}&done=routine_commented"
    )))
}

pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/spaces/routine/{school}", get(page))
        .route("/spaces/routine/{school}/comment", post(add_comment))
}
