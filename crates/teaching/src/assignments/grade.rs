//! Marking. A mark is an event (`marks`): who gave how many points to which answer, when, with
//! which rubric levels, comment and reason. Nothing is updated or deleted: an answer's mark is
//! its latest event, and every change stays traceable. A submission's score is recomputed
//! from its marks under a lock on the submission, and the gradebook's totals move by the
//! difference, so two teachers marking at once never overwrite each other.

use super::{
    Assignment, Part, Submission, SubmissionId, WHOLE, gradebook, graded_submission, parts,
};
use crate::items::score::{self, Answer};
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, Ctx, FieldErrors, PersonId, Tx, on_db, on_tx};
use serde::{Deserialize, Serialize};

pub const COMMENT_MAX: usize = 2_000;
pub const REASON_MAX: usize = 200;

/// A mark as kept.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Mark {
    pub id: uuid::Uuid,
    pub position: i64,
    pub seq: i64,
    pub points: Option<i64>,
    pub source: String,
    pub rubric: String,
    pub comment: String,
    pub reason: String,
    pub grader_id: Option<PersonId>,
    pub created_at: DateTime<Utc>,
    #[sqlx(default)]
    pub grader: Option<String>,
}

impl Mark {
    pub fn points_text(&self) -> String {
        self.points.map(super::points_text).unwrap_or_default()
    }
    /// The rubric levels chosen: criterion → level.
    pub fn levels(&self) -> Vec<(String, String)> {
        serde_json::from_str(&self.rubric).unwrap_or_default()
    }
}

/// Every mark of a submission, oldest first.
pub async fn history(db: &kernel::Db, id: SubmissionId) -> AppResult<Vec<Mark>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT m.id, m.position, m.seq, m.points, m.source, m.rubric, m.comment, m.reason, m.grader_id,
                m.created_at, g.name AS grader
         FROM marks m LEFT JOIN persons g ON g.id = m.grader_id
         WHERE m.submission_id = $1 ORDER BY m.seq, m.id",
    ).bind(id).fetch_all(p).await)?)
}

/// Takes the submission's lock for the rest of the transaction (its version's increment: a
/// second writer waits here, then reads everything committed before it) and returns the new
/// version, the order of the marks written under it.
pub async fn lock(tx: &mut Tx, id: SubmissionId) -> AppResult<i64> {
    let (v,): (i64,) = on_tx!(tx, t => sqlx::query_as(
        "UPDATE submissions SET version = version + 1 WHERE id = $1 RETURNING version",
    ).bind(id).fetch_one(&mut *t).await)?;
    Ok(v)
}

/// The latest mark of each position.
pub fn latest(history: &[Mark]) -> Vec<&Mark> {
    let mut out: Vec<&Mark> = Vec::new();
    for m in history {
        match out.iter_mut().find(|x| x.position == m.position) {
            Some(x) => *x = m,
            None => out.push(m),
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
async fn insert(
    tx: &mut Tx,
    sub: SubmissionId,
    seq: i64,
    position: i64,
    points: Option<i64>,
    source: &str,
    rubric: &str,
    comment: &str,
    reason: &str,
    grader: Option<PersonId>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    on_tx!(tx, t => sqlx::query(
        "INSERT INTO marks (id, submission_id, position, seq, points, source, rubric, comment, reason, grader_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    ).bind(uuid::Uuid::now_v7()).bind(sub).bind(position).bind(seq).bind(points).bind(source).bind(rubric)
     .bind(comment).bind(reason).bind(grader).bind(now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The saved answers of a submission: position → answer.
pub async fn answers(db: &kernel::Db, id: SubmissionId) -> AppResult<Vec<(i64, Answer)>> {
    let rows: Vec<(i64, String)> = on_db!(db, p => sqlx::query_as(
        "SELECT position, response FROM answers WHERE submission_id = $1 ORDER BY position",
    ).bind(id).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(p, r)| serde_json::from_str(&r).ok().map(|a| (p, a)))
        .collect())
}

/// Marks a submission as it is handed in, inside its transaction: each item by rule, an
/// unanswered item 0, a written answer (or photos) waits for a teacher; work without items
/// waits for a teacher as a whole.
pub async fn auto_mark(
    tx: &mut Tx,
    parts: &[Part],
    s: &Submission,
    answers: &[(i64, Answer)],
    photos: &[i64],
    now: DateTime<Utc>,
) -> AppResult<()> {
    let seq = lock(tx, s.id).await?;
    if parts.is_empty() {
        return insert(tx, s.id, seq, WHOLE, None, "auto", "[]", "", "", None, now).await;
    }
    for p in parts {
        let answer = answers
            .iter()
            .find(|(pos, _)| *pos == p.position)
            .map(|a| &a.1);
        let has_photo = photos.contains(&p.position);
        let (points, reason) = match answer {
            None if !has_photo => (Some(0), "unanswered"),
            _ if p.manual() => (None, ""),
            Some(a) => {
                let m = score::mark(&p.key(), p.points as f64 / 100.0, a);
                (m.points.map(|x| (x * 100.0).round() as i64), "")
            }
            None => (Some(0), "unanswered"),
        };
        insert(
            tx, s.id, seq, p.position, points, "auto", "[]", "", reason, None, now,
        )
        .await?;
    }
    Ok(())
}

/// The score with the late deduction applied.
fn after_late(a: &Assignment, s: &Submission, raw: i64) -> i64 {
    if s.late && a.late_policy == "deduct" {
        raw * (100 - a.late_deduct.clamp(0, 100)) / 100
    } else {
        raw
    }
}

/// Recomputes a submission's score and pending count from its marks, under a lock on its row,
/// moves the gradebook's totals by the difference and the student's mastery by the marks.
pub async fn rescore(
    tx: &mut Tx,
    a: &Assignment,
    id: SubmissionId,
    now: DateTime<Utc>,
) -> AppResult<()> {
    lock(tx, id).await?;
    let sql = format!(
        "SELECT {} FROM submissions s JOIN persons p ON p.id = s.student_id WHERE s.id = $1",
        super::SUBMISSION_COLUMNS
    );
    let s: Submission = on_tx!(tx, t => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_one(&mut *t).await)?;
    let marked: Vec<(i64, Option<i64>, String)> = on_tx!(tx, t => sqlx::query_as(
        "SELECT m.position, m.points, m.reason FROM marks m WHERE m.submission_id = $1
           AND m.id = (SELECT x.id FROM marks x WHERE x.submission_id = m.submission_id AND x.position = m.position
                       ORDER BY x.seq DESC, x.id DESC LIMIT 1)
         ORDER BY m.position",
    ).bind(id).fetch_all(&mut *t).await)?;
    let latest: Vec<(i64, Option<i64>)> = marked.iter().map(|m| (m.0, m.1)).collect();
    let (score, pending) = if latest.is_empty() {
        (None, 0)
    } else {
        let raw: i64 = latest.iter().filter_map(|(_, p)| *p).sum();
        let pending = latest.iter().filter(|(_, p)| p.is_none()).count() as i64;
        (Some(after_late(a, &s, raw)), pending)
    };
    on_tx!(tx, t => sqlx::query("UPDATE submissions SET score = $2, pending = $3 WHERE id = $1")
        .bind(id).bind(score).bind(pending).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    // Every marked answer is evidence of the student's mastery of its knowledge points.
    crate::analysis::observe_submission(tx, a, &s, &marked, now).await?;
    let before = gradebook::counted(&s, a.total_points);
    let after = gradebook::counted(
        &Submission {
            score,
            pending,
            ..s.clone()
        },
        a.total_points,
    );
    gradebook::apply(tx, a, &s, before, after).await
}

/// A teacher's mark for one answer (`position`, or [`WHOLE`] for work without items).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Given {
    pub position: i64,
    /// Points as typed (`3`, `2.5`).
    pub points: String,
    /// The rubric levels chosen: criterion → level.
    pub rubric: Vec<(String, String)>,
    pub comment: String,
    pub reason: String,
    /// The `seq` of the mark the teacher was shown (0: none yet). A field equal to what was
    /// shown is left alone; a changed field over a mark that moved since is refused, so a form
    /// opened earlier never reverts a colleague's newer mark. `None`: compared with the
    /// current mark.
    pub seen: Option<i64>,
}

/// Points as a teacher types them, in hundredths: 0 to `max`.
pub fn parse_points(s: &str, max: i64) -> Option<i64> {
    let v = crate::items::normalise::number(s)?;
    let h = (v * 100.0).round() as i64;
    (0..=max).contains(&h).then_some(h)
}

/// Records a teacher's marks on a submission (those that change something), recomputes its
/// score, audited. A foreign submission is 404; a student of another class too.
pub async fn mark(cx: &Ctx<'_>, id: SubmissionId, given: &[Given]) -> AppResult<usize> {
    let (a, s) = graded_submission(cx, id).await?;
    if s.submitted_at.is_none() {
        return Err(AppError::Conflict(
            "teaching.not_submitted",
            FieldErrors::new(),
        ));
    }
    let parts = parts(cx.db(), a.id).await?;
    let before = history(cx.db(), id).await?;
    let current = latest(&before);
    let mut e = FieldErrors::new();
    let mut rows = Vec::new();
    for g in given {
        let max = if g.position == WHOLE && parts.is_empty() {
            a.total_points
        } else if let Some(p) = parts.iter().find(|p| p.position == g.position) {
            p.points
        } else {
            e.add(
                &format!("points.{}", g.position),
                "error.teaching.mark_item",
            );
            continue;
        };
        let field = format!("points.{}", g.position);
        let points = if g.points.trim().is_empty() {
            None
        } else {
            match parse_points(&g.points, max) {
                Some(p) => Some(p),
                None => {
                    e.add(&field, "error.teaching.mark_points");
                    continue;
                }
            }
        };
        if g.comment.chars().count() > COMMENT_MAX {
            e.add(
                &format!("comment.{}", g.position),
                "error.teaching.mark_comment",
            );
        }
        if g.reason.chars().count() > REASON_MAX {
            e.add(
                &format!("reason.{}", g.position),
                "error.teaching.mark_reason",
            );
        }
        let rubric = serde_json::to_string(&g.rubric).map_err(AppError::internal)?;
        // What the teacher was shown: the mark they saw, or the current one.
        let shown = match g.seen {
            Some(seq) => before
                .iter()
                .find(|m| m.position == g.position && m.seq == seq),
            None => current.iter().find(|m| m.position == g.position).copied(),
        };
        let unchanged = match shown {
            Some(m) => m.points == points && m.comment == g.comment.trim() && m.rubric == rubric,
            None => points.is_none() && g.comment.trim().is_empty() && g.rubric.is_empty(),
        };
        if unchanged {
            continue;
        }
        rows.push((
            g.position,
            points,
            rubric,
            g.comment.trim(),
            g.reason.trim(),
            g.seen,
        ));
    }
    e.into_result()?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = cx.begin().await?;
    let seq = lock(&mut tx, id).await?;
    // Under the lock: a mark that moved since the teacher saw it is not overwritten.
    let mut moved = FieldErrors::new();
    for (position, _, _, _, _, seen) in &rows {
        if let Some(seen) = seen {
            let (last,): (Option<i64>,) = on_tx!(&mut tx, t => sqlx::query_as(
                "SELECT MAX(seq) FROM marks WHERE submission_id = $1 AND position = $2",
            ).bind(id).bind(*position).fetch_one(&mut *t).await)?;
            if last.unwrap_or(0) > *seen {
                moved.add(&format!("points.{position}"), "error.teaching.mark_changed");
            }
        }
    }
    moved.into_result()?;
    for (position, points, rubric, comment, reason, _) in &rows {
        insert(
            &mut tx,
            id,
            seq,
            *position,
            *points,
            "teacher",
            rubric,
            comment,
            reason,
            Some(cx.actor.person_id),
            cx.now,
        )
        .await?;
    }
    rescore(&mut tx, &a, id, cx.now).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("submission.mark")
            .object("submission", id)
            .node(s.class_id)
            .detail(serde_json::json!({
                "marks": rows.iter().map(|r| serde_json::json!({"position": r.0, "points": r.1})).collect::<Vec<_>>(),
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}

/// A row of the paper entry: the submission and its cells (position, points as typed, the seq
/// of the mark the grid showed).
pub type EntryRow = (SubmissionId, Vec<(i64, String, Option<i64>)>);

/// Marks typed from paper, a row per student (the fast entry of a printed test or workbook):
/// `rows` are (submission, [(position, points as typed, the seq of the mark the grid showed)]).
/// A row left empty is skipped (the student was away); a row filled in part names its empty
/// cells; every cell is checked before anything is written. Work not handed in online counts
/// as handed in on paper now. Cells equal to the current mark change nothing; a changed cell
/// over a mark that moved since the grid was opened is refused on its field. One transaction,
/// one audit record. Returns the rows written.
pub async fn enter(cx: &Ctx<'_>, id: super::AssignmentId, rows: &[EntryRow]) -> AppResult<usize> {
    let a = super::get_graded(cx, id).await?;
    let subs = super::visible_submissions(cx, &a, super::Access::Grade).await?;
    let parts = super::parts(cx.db(), id).await?;
    let positions: Vec<(i64, i64)> = if parts.is_empty() {
        vec![(WHOLE, a.total_points)]
    } else {
        parts.iter().map(|p| (p.position, p.points)).collect()
    };
    let mut e = FieldErrors::new();
    let mut todo = Vec::new();
    for (sub, cells) in rows {
        let Some(s) = subs.iter().find(|x| x.id == *sub) else {
            return Err(AppError::NotFound(super::SUBMISSION_NOT_FOUND));
        };
        let typed = |pos: i64| {
            cells
                .iter()
                .find(|c| c.0 == pos)
                .map(|c| c.1.trim())
                .unwrap_or_default()
        };
        if positions.iter().all(|(p, _)| typed(*p).is_empty()) {
            continue;
        }
        let current = latest_points(cx.db(), s.id).await?;
        let seen = |pos: i64| cells.iter().find(|c| c.0 == pos).and_then(|c| c.2);
        let mut marks = Vec::new();
        for (pos, max) in &positions {
            let field = format!("m.{}.{pos}", s.id);
            let t = typed(*pos);
            if t.is_empty() {
                e.add(&field, "error.teaching.entry_missing");
                continue;
            }
            match parse_points(t, *max) {
                Some(p) if current.iter().any(|c| c.0 == *pos && c.1 == Some(p)) => {}
                Some(p) => marks.push((*pos, p, seen(*pos))),
                None => e.add(&field, "error.teaching.mark_points"),
            }
        }
        if !marks.is_empty() || s.submitted_at.is_none() {
            todo.push((s, marks));
        }
    }
    e.into_result()?;
    // Students in one order: each student's mastery is locked while their marks are counted,
    // and two grids entered at once (two tests of the same students) take them the same way.
    todo.sort_by_key(|(s, _)| s.student_id);
    let mut tx = cx.begin().await?;
    let mut moved = FieldErrors::new();
    for (s, marks) in &todo {
        let seq = lock(&mut tx, s.id).await?;
        for (pos, _, seen) in marks {
            if let Some(seen) = seen {
                let (last,): (Option<i64>,) = on_tx!(&mut tx, t => sqlx::query_as(
                    "SELECT MAX(seq) FROM marks WHERE submission_id = $1 AND position = $2",
                ).bind(s.id).bind(*pos).fetch_one(&mut *t).await)?;
                if last.unwrap_or(0) > *seen {
                    moved.add(&format!("m.{}.{pos}", s.id), "error.teaching.mark_changed");
                }
            }
        }
        if s.submitted_at.is_none() {
            let handed = on_tx!(&mut tx, t => sqlx::query(
                "UPDATE submissions SET submitted_at = $2, started_at = COALESCE(started_at, $2), late = FALSE
                 WHERE id = $1 AND submitted_at IS NULL",
            ).bind(s.id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
            if handed == 1 {
                super::work::counted(&mut tx, &a, s, cx.now).await?;
            }
        }
        for (pos, p, _) in marks {
            insert(
                &mut tx,
                s.id,
                seq,
                *pos,
                Some(*p),
                "entry",
                "[]",
                "",
                "",
                Some(cx.actor.person_id),
                cx.now,
            )
            .await?;
        }
        rescore(&mut tx, &a, s.id, cx.now).await?;
    }
    // Refused as a whole: the transaction is dropped, nothing written.
    moved.into_result()?;
    cx.audit(
        &mut tx,
        AuditEvent::new("submission.enter")
            .object("assignment", id)
            .node(a.school_id)
            .detail(serde_json::json!({ "rows": todo.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(todo.len())
}

/// The latest points of each position of a submission.
async fn latest_points(db: &kernel::Db, id: SubmissionId) -> AppResult<Vec<(i64, Option<i64>)>> {
    Ok(latest(&history(db, id).await?)
        .into_iter()
        .map(|m| (m.position, m.points))
        .collect())
}

pub const FEEDBACK_MAX: usize = 2_000;

/// Returns marked work to the student with feedback: the student and their guardians see the
/// result and are told. Work still waiting for a mark is refused (checked again under the
/// submission's lock); a test's results go out together, once the test is released.
pub async fn give_back(cx: &Ctx<'_>, id: SubmissionId, feedback: &str) -> AppResult<()> {
    let (a, s) = graded_submission(cx, id).await?;
    let feedback = feedback.trim();
    if feedback.chars().count() > FEEDBACK_MAX {
        return Err(AppError::field("feedback", "error.teaching.feedback"));
    }
    if a.is_test() && a.released_at.is_none() {
        return Err(AppError::Conflict(
            "teaching.not_released",
            FieldErrors::new(),
        ));
    }
    let mut tx = cx.begin().await?;
    lock(&mut tx, id).await?;
    let changed = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE submissions SET feedback = $2, returned_at = COALESCE(returned_at, $3)
         WHERE id = $1 AND submitted_at IS NOT NULL AND pending = 0 AND score IS NOT NULL",
    ).bind(id).bind(feedback).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(AppError::Conflict(
            "teaching.not_graded",
            FieldErrors::new(),
        ));
    }
    if s.returned_at.is_none() {
        tell_returned(cx, &mut tx, &a, &s).await?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("submission.return")
            .object("submission", id)
            .node(s.class_id),
    )
    .await?;
    tx.commit().await
}

/// The student and their guardians told that a result is out; the fact counted once.
async fn tell_returned(cx: &Ctx<'_>, tx: &mut Tx, a: &Assignment, s: &Submission) -> AppResult<()> {
    let guardians: Vec<(PersonId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT person_id FROM role_assignments WHERE role = 'guardian' AND student_id = $1",
    ).bind(s.student_id).fetch_all(p).await)?;
    let args = serde_json::json!({ "title": a.title, "student": s.student });
    for (who, link) in std::iter::once((s.student_id, format!("/teaching/homework/{}", a.id)))
        .chain(
            guardians
                .into_iter()
                .map(|(g,)| (g, format!("/teaching/results?student={}", s.student_id))),
        )
    {
        let key = if who == s.student_id {
            "notice.work_returned"
        } else {
            "notice.child_work_returned"
        };
        spaces::tell(
            cx.state,
            tx,
            who,
            "homework",
            key,
            s.id.0,
            &link,
            args.clone(),
            &format!("returned:{}:{who}", s.id),
            cx.now,
        )
        .await?;
    }
    facts::record(
        tx,
        cx.now,
        Fact::once(
            "teaching.work_graded",
            s.class_id,
            Some(cx.actor.person_id),
            s.id.0,
            format!("work.graded:{}", s.id),
        ),
    )
    .await?;
    Ok(())
}

/// Releases an assignment's results in the classes the actor marks: every marked submission
/// there is returned at once (a test's results all together); work still waiting is returned
/// when it is marked and given back. The author's release releases the assignment (a test's
/// late-marked work may then be given back one by one). Returns how many were returned now.
pub async fn release(cx: &Ctx<'_>, id: super::AssignmentId) -> AppResult<usize> {
    let (a, access) = super::get(cx, id).await?;
    if access != super::Access::Grade {
        return Err(AppError::NotFound(super::NOT_FOUND));
    }
    let subs = super::visible_submissions(cx, &a, access).await?;
    let mut tx = cx.begin().await?;
    if a.author_id == cx.actor.person_id {
        on_tx!(&mut tx, t => sqlx::query(
            "UPDATE assignments SET released_at = COALESCE(released_at, $2) WHERE id = $1",
        ).bind(id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    } else if a.is_test() && a.released_at.is_none() {
        return Err(AppError::Conflict(
            "teaching.not_released",
            FieldErrors::new(),
        ));
    }
    let mut n = 0;
    for s in subs.iter().filter(|s| s.returned_at.is_none()) {
        let changed = on_tx!(&mut tx, t => sqlx::query(
            "UPDATE submissions SET returned_at = $2 WHERE id = $1 AND returned_at IS NULL
               AND submitted_at IS NOT NULL AND pending = 0 AND score IS NOT NULL",
        ).bind(s.id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
        if changed == 1 {
            tell_returned(cx, &mut tx, &a, s).await?;
            n += 1;
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("assignment.release")
            .object("assignment", id)
            .node(a.school_id)
            .detail(serde_json::json!({ "returned": n })),
    )
    .await?;
    tx.commit().await?;
    Ok(n)
}

/// The next of `subs` after `after` that is handed in and not yet returned (marking goes
/// student by student in the class's order), wrapping around.
pub fn next_to_mark(subs: &[Submission], after: Option<SubmissionId>) -> Option<SubmissionId> {
    let start = after
        .and_then(|x| subs.iter().position(|s| s.id == x))
        .map_or(0, |i| i + 1);
    subs.iter()
        .cycle()
        .skip(start)
        .take(subs.len())
        .find(|s| s.submitted_at.is_some() && s.returned_at.is_none() && Some(s.id) != after)
        .map(|s| s.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_typed_within_the_items_points() {
        assert_eq!(parse_points("3", 500), Some(300));
        assert_eq!(parse_points("２.５", 500), Some(250));
        assert_eq!(parse_points("0", 500), Some(0));
        assert_eq!(parse_points("5.5", 500), None);
        assert_eq!(parse_points("-1", 500), None);
        assert_eq!(parse_points("很好", 500), None);
    }
}
