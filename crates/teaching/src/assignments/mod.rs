//! Assignments (作业): homework, flipped-class tasks and tests set to classes or to chosen
//! students of them. Each student's submission is made when the work is set, with the order its
//! items are shown in, so opening it is one read. Answers are saved as they are given; what the
//! rules can mark is marked on submission, a teacher marks the rest (on a phone: the pen on a
//! photo, rubric levels, a comment, the next student). Marks are events that are never
//! overwritten ([`grade`]); the gradebook's totals follow them ([`gradebook`]). The
//! homework-load rules of the "double reduction" policy are shown while work is set and a class
//! over its limit is flagged to its head teacher ([`load`]).

pub mod demo;
pub mod grade;
pub mod gradebook;
pub mod load;
pub mod pages;
pub mod photos;
pub mod results;
pub mod set;
pub mod student;
pub mod work;

use crate::items::form::Options;
use crate::items::score::Key;
use chrono::{DateTime, Utc};
use kernel::{
    AppError, AppResult, CatalogId, Ctx, NodeId, PersonId, ResourceId, Role, TermId, on_db,
};
use serde::{Deserialize, Serialize};

kernel::id_type!(
    /// Work set to students: homework, a flipped-class task or a test.
    AssignmentId => "teaching.assignment_not_found",
);
kernel::id_type!(
    /// One student's work on an assignment.
    SubmissionId => "teaching.submission_not_found",
);

pub const NOT_FOUND: &str = "teaching.assignment_not_found";
pub const SUBMISSION_NOT_FOUND: &str = "teaching.submission_not_found";

/// The kinds, in the form's order.
pub const KINDS: [&str; 3] = ["homework", "flipped", "test"];
/// The gradebook's categories.
pub const CATEGORIES: [&str; 3] = ["homework", "quiz", "exam"];
/// What happens to work handed in after the due time.
pub const LATE_POLICIES: [&str; 3] = ["refuse", "accept", "deduct"];
/// The position of a mark or photo for the work as a whole (work without items).
pub const WHOLE: i64 = -1;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Assignment {
    pub id: AssignmentId,
    pub school_id: NodeId,
    pub author_id: PersonId,
    pub kind: String,
    pub stage: String,
    pub subject: String,
    pub title: String,
    pub instructions: String,
    pub catalog_id: Option<CatalogId>,
    pub category: String,
    pub term_id: Option<TermId>,
    pub opens_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub late_policy: String,
    pub late_deduct: i64,
    pub expected_minutes: i64,
    pub written: bool,
    pub lesson_resource_id: Option<ResourceId>,
    pub time_limit: Option<i64>,
    pub shuffle_items: bool,
    pub shuffle_options: bool,
    pub total_points: i64,
    pub released_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[sqlx(default)]
    pub author: String,
}

impl Assignment {
    /// The points as shown: `100`, `12.5`.
    pub fn total_text(&self) -> String {
        points_text(self.total_points)
    }
    pub fn is_test(&self) -> bool {
        self.kind == "test"
    }
    /// The gradebook's term key: the term's id, or empty before the region sets terms.
    pub fn term_key(&self) -> String {
        self.term_id.map(|t| t.to_string()).unwrap_or_default()
    }
}

/// Hundredths of a point as shown: `12`, `12.5`, `12.25`.
pub fn points_text(h: i64) -> String {
    format!("{}", h as f64 / 100.0)
}

/// One item of an assignment, as it was when the work was set.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Part {
    pub position: i64,
    pub item_id: crate::items::bank::ItemId,
    pub item_version: i64,
    pub kind: String,
    pub stem: String,
    pub options: String,
    pub answer_key: String,
    pub explanation: String,
    pub points: i64,
    /// A listening item's recording.
    pub audio_id: Option<ResourceId>,
}

impl Part {
    pub fn options(&self) -> Options {
        serde_json::from_str(&self.options).unwrap_or_default()
    }
    pub fn key(&self) -> Key {
        serde_json::from_str(&self.answer_key).unwrap_or(Key::Manual)
    }
    pub fn points_text(&self) -> String {
        points_text(self.points)
    }
    /// Marked by a teacher rather than by rule.
    pub fn manual(&self) -> bool {
        matches!(self.key(), Key::Manual)
    }
}

/// The order a student sees: the items' positions in the order shown, and per item the order
/// of its choices (empty: as stored).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub order: Vec<i64>,
    #[serde(default)]
    pub choices: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Submission {
    pub id: SubmissionId,
    pub assignment_id: AssignmentId,
    pub student_id: PersonId,
    pub class_id: NodeId,
    pub layout: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub submitted_at: Option<DateTime<Utc>>,
    pub late: bool,
    pub minutes_spent: Option<i64>,
    pub lesson_opened_at: Option<DateTime<Utc>>,
    pub watched_seconds: i64,
    pub lesson_seconds: i64,
    pub left_page: i64,
    pub score: Option<i64>,
    pub pending: i64,
    pub feedback: String,
    pub returned_at: Option<DateTime<Utc>>,
    pub version: i64,
    #[sqlx(default)]
    pub student: String,
}

impl Submission {
    pub fn layout(&self) -> Layout {
        serde_json::from_str(&self.layout).unwrap_or_default()
    }
    pub fn score_text(&self) -> String {
        self.score.map(points_text).unwrap_or_default()
    }
    /// Every answer has its mark.
    pub fn graded(&self) -> bool {
        self.submitted_at.is_some() && self.pending == 0 && self.score.is_some()
    }
    /// The share of the micro-lesson watched, in percent.
    pub fn watched_percent(&self) -> i64 {
        if self.lesson_seconds > 0 {
            (self.watched_seconds * 100 / self.lesson_seconds).clamp(0, 100)
        } else {
            0
        }
    }
}

const COLUMNS: &str = "a.id, a.school_id, a.author_id, a.kind, a.stage, a.subject, a.title, a.instructions, \
     a.catalog_id, a.category, a.term_id, a.opens_at, a.due_at, a.late_policy, a.late_deduct, \
     a.expected_minutes, a.written, a.lesson_resource_id, a.time_limit, a.shuffle_items, \
     a.shuffle_options, a.total_points, a.released_at, a.created_at, p.name AS author";

const FROM: &str = "FROM assignments a JOIN persons p ON p.id = a.author_id";

pub const SUBMISSION_COLUMNS: &str = "s.id, s.assignment_id, s.student_id, s.class_id, s.layout, \
     s.started_at, s.ends_at, s.submitted_at, s.late, s.minutes_spent, s.lesson_opened_at, \
     s.watched_seconds, s.lesson_seconds, s.left_page, s.score, s.pending, s.feedback, \
     s.returned_at, s.version, p.name AS student";

pub async fn find(db: &kernel::Db, id: AssignmentId) -> AppResult<Option<Assignment>> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE a.id = $1 AND a.deleted_at IS NULL");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// The classes an assignment is set to.
pub async fn classes_of(db: &kernel::Db, id: AssignmentId) -> AppResult<Vec<NodeId>> {
    let rows: Vec<(NodeId,)> = on_db!(db, p => sqlx::query_as(
        "SELECT class_id FROM assignment_classes WHERE assignment_id = $1 ORDER BY class_id",
    ).bind(id).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// What the actor may do with an assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Its author, or a teacher of its subject (or the head teacher) of one of its classes:
    /// mark, return, release.
    Grade,
    /// An administrator of its school or a region above: read.
    Read,
}

/// The classes of an assignment whose work the actor marks: a teacher of its subject (or the
/// head teacher) marks their own classes' work; its author, while they still teach one of its
/// classes, marks all of it. Empty for anyone else.
pub async fn graded_classes(cx: &Ctx<'_>, a: &Assignment) -> AppResult<Vec<NodeId>> {
    let all = classes_of(cx.db(), a.id).await?;
    let taught: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|c| resources::catalog::progress::teaches(cx, *c, &a.subject))
        .collect();
    Ok(if a.author_id == cx.actor.person_id && !taught.is_empty() {
        all
    } else {
        taught
    })
}

/// Whether the actor marks any of an assignment's work (see [`graded_classes`]).
pub async fn grades(cx: &Ctx<'_>, a: &Assignment) -> AppResult<bool> {
    Ok(!graded_classes(cx, a).await?.is_empty())
}

/// The assignment for those who mark it or read it (404 for anyone else).
pub async fn get(cx: &Ctx<'_>, id: AssignmentId) -> AppResult<(Assignment, Access)> {
    let a = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    if grades(cx, &a).await? {
        return Ok((a, Access::Grade));
    }
    if kernel::authz::administers(cx.db(), cx.actor, a.school_id).await? {
        return Ok((a, Access::Read));
    }
    Err(AppError::NotFound(NOT_FOUND))
}

/// The assignment for those who mark it (404 for anyone else, readers included).
pub async fn get_graded(cx: &Ctx<'_>, id: AssignmentId) -> AppResult<Assignment> {
    match get(cx, id).await? {
        (a, Access::Grade) => Ok(a),
        _ => Err(AppError::NotFound(NOT_FOUND)),
    }
}

/// An assignment's items in their stored order.
pub async fn parts(db: &kernel::Db, id: AssignmentId) -> AppResult<Vec<Part>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT position, item_id, item_version, kind, stem, options, answer_key, explanation, points, audio_id
         FROM assignment_items WHERE assignment_id = $1 ORDER BY position",
    ).bind(id).fetch_all(p).await)?)
}

/// An assignment's items, inside a transaction.
pub async fn parts_tx(tx: &mut kernel::Tx, id: AssignmentId) -> AppResult<Vec<Part>> {
    Ok(kernel::on_tx!(tx, t => sqlx::query_as(
        "SELECT position, item_id, item_version, kind, stem, options, answer_key, explanation, points, audio_id
         FROM assignment_items WHERE assignment_id = $1 ORDER BY position",
    ).bind(id).fetch_all(&mut *t).await)?)
}

/// A library resource attached to an assignment.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Attached {
    pub resource_id: ResourceId,
    pub version: i64,
    pub title: String,
    pub kind: String,
}

pub async fn attached(db: &kernel::Db, id: AssignmentId) -> AppResult<Vec<Attached>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT x.resource_id, x.version, r.title, r.kind FROM assignment_resources x
         JOIN resources r ON r.id = x.resource_id
         WHERE x.assignment_id = $1 AND r.deleted_at IS NULL ORDER BY x.position",
    ).bind(id).fetch_all(p).await)?)
}

pub async fn find_submission(db: &kernel::Db, id: SubmissionId) -> AppResult<Option<Submission>> {
    let sql = format!(
        "SELECT {SUBMISSION_COLUMNS} FROM submissions s JOIN persons p ON p.id = s.student_id WHERE s.id = $1"
    );
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await)?,
    )
}

/// The student's submission of an assignment, if the work was set to them.
pub async fn submission_of(
    db: &kernel::Db,
    id: AssignmentId,
    student: PersonId,
) -> AppResult<Option<Submission>> {
    let sql = format!(
        "SELECT {SUBMISSION_COLUMNS} FROM submissions s JOIN persons p ON p.id = s.student_id
         WHERE s.assignment_id = $1 AND s.student_id = $2"
    );
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).bind(student).fetch_optional(p).await)?,
    )
}

/// An assignment's submissions, by class and name.
pub async fn submissions(db: &kernel::Db, id: AssignmentId) -> AppResult<Vec<Submission>> {
    let sql = format!(
        "SELECT {SUBMISSION_COLUMNS} FROM submissions s JOIN persons p ON p.id = s.student_id
         WHERE s.assignment_id = $1 ORDER BY s.class_id, p.name, s.id"
    );
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_all(p).await)?,
    )
}

/// A submission and its assignment for those who mark its class's work (404 for anyone else,
/// a teacher of another class of the same assignment included).
pub async fn graded_submission(
    cx: &Ctx<'_>,
    id: SubmissionId,
) -> AppResult<(Assignment, Submission)> {
    let s = find_submission(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(SUBMISSION_NOT_FOUND))?;
    let a = find(cx.db(), s.assignment_id)
        .await?
        .ok_or(AppError::NotFound(SUBMISSION_NOT_FOUND))?;
    if !graded_classes(cx, &a).await?.contains(&s.class_id) {
        return Err(AppError::NotFound(SUBMISSION_NOT_FOUND));
    }
    Ok((a, s))
}

/// The submissions the actor sees of an assignment: those of the classes they mark, or all
/// for an administrator who reads it.
pub async fn visible_submissions(
    cx: &Ctx<'_>,
    a: &Assignment,
    access: Access,
) -> AppResult<Vec<Submission>> {
    let all = submissions(cx.db(), a.id).await?;
    if access == Access::Read {
        return Ok(all);
    }
    let classes = graded_classes(cx, a).await?;
    Ok(all
        .into_iter()
        .filter(|s| classes.contains(&s.class_id))
        .collect())
}

/// Who reads a submission's results: the student, their guardians (once returned), its
/// graders, and the administrators above its school.
pub async fn may_read_submission(cx: &Ctx<'_>, a: &Assignment, s: &Submission) -> AppResult<bool> {
    if s.student_id == cx.actor.person_id {
        return Ok(true);
    }
    if s.returned_at.is_some()
        && cx
            .actor
            .grants_of(Role::Guardian)
            .any(|g| g.student_id == Some(s.student_id))
    {
        return Ok(true);
    }
    Ok(graded_classes(cx, a).await?.contains(&s.class_id)
        || kernel::authz::administers(cx.db(), cx.actor, a.school_id).await?)
}

/// The assignments the actor set or marks, the latest due first.
pub async fn mine(cx: &Ctx<'_>, limit: i64) -> AppResult<Vec<(Assignment, Counts)>> {
    let sql = format!(
        "SELECT DISTINCT {COLUMNS} {FROM} LEFT JOIN assignment_classes ac ON ac.assignment_id = a.id
         WHERE a.deleted_at IS NULL AND (a.author_id = $1 OR ac.class_id IN (SELECT node_id FROM role_assignments
               WHERE person_id = $1 AND role IN ('teacher', 'head_teacher')))
         ORDER BY a.due_at DESC, a.id LIMIT {limit}"
    );
    let rows: Vec<Assignment> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(cx.actor.person_id).fetch_all(p).await)?;
    let mut out = Vec::new();
    for a in rows {
        // Only work the actor marks (an author who no longer teaches its classes does not).
        if !grades(cx, &a).await? {
            continue;
        }
        let c = counts(cx.db(), a.id).await?;
        out.push((a, c));
    }
    Ok(out)
}

/// How far an assignment's work is: set to, handed in, marked, returned.
#[derive(Debug, Clone, Copy, Default, Serialize, sqlx::FromRow)]
pub struct Counts {
    pub students: i64,
    pub submitted: i64,
    pub graded: i64,
    pub returned: i64,
}

pub async fn counts(db: &kernel::Db, id: AssignmentId) -> AppResult<Counts> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) AS students,
                COUNT(submitted_at) AS submitted,
                COALESCE(SUM(CASE WHEN submitted_at IS NOT NULL AND pending = 0 AND score IS NOT NULL THEN 1 ELSE 0 END), 0) AS graded,
                COUNT(returned_at) AS returned
         FROM submissions WHERE assignment_id = $1",
    ).bind(id).fetch_one(p).await)?)
}

/// A posted form's first value of `field`, or empty.
pub(crate) fn field(pairs: &[(String, String)], field: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// The routes of assignments: the teacher's, the student's and the guardian's pages.
pub fn routes() -> axum::Router<kernel::AppState> {
    pages::routes()
        .merge(student::routes())
        .merge(results::routes())
}

/// The forms that carry photos.
pub fn upload_routes() -> axum::Router<kernel::AppState> {
    student::upload_routes()
}
