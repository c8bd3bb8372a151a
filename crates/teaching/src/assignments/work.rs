//! A student's work: opening it, saving answers as they are given, handing it in (marked at
//! once where the rules allow), saying how long it took, and for a flipped task how much of the
//! micro-lesson was watched. The server's clock decides: an answer after the due time (or a
//! test's end) is refused and says so, unless late work is accepted.

use super::{Assignment, AssignmentId, Part, Submission, find, grade, parts, submission_of};
use crate::items::score::Answer;
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, Ctx, FieldErrors, on_db, on_tx};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TEXT_MAX: usize = 5_000;
pub const TEXTS_MAX: usize = 20;

/// Assignments with their items, kept a few seconds per node: a test's thousands of answers
/// read them once, not once per answer. Items never change once set; a deleted assignment
/// stops taking answers within [`CACHE_FOR`].
#[derive(Default)]
struct Cache(Mutex<HashMap<AssignmentId, (Instant, WithParts)>>);

/// An assignment, its items and the library resources attached to it, shared.
pub type WithParts = Arc<(Assignment, Vec<Part>, Vec<super::Attached>)>;

const CACHE_FOR: Duration = Duration::from_secs(5);

/// An assignment and its items, from the cache when fresh.
pub async fn with_parts(
    state: &kernel::AppState,
    id: AssignmentId,
) -> AppResult<Option<WithParts>> {
    let cache = state.cache::<Cache>();
    {
        let map = cache.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, v)) = map.get(&id)
            && at.elapsed() < CACHE_FOR
        {
            return Ok(Some(v.clone()));
        }
    }
    let Some(a) = find(&state.db, id).await? else {
        return Ok(None);
    };
    let v = Arc::new((
        a,
        parts(&state.db, id).await?,
        super::attached(&state.db, id).await?,
    ));
    let mut map = cache.0.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() > 1_000 {
        map.retain(|_, (at, _)| at.elapsed() < CACHE_FOR);
    }
    map.insert(id, (Instant::now(), v.clone()));
    Ok(Some(v))
}

/// The work set to the actor, once it is open (a test shows before its start, to wait for it),
/// with its items.
pub async fn open_with_parts(cx: &Ctx<'_>, id: AssignmentId) -> AppResult<(WithParts, Submission)> {
    let ap = with_parts(cx.state, id)
        .await?
        .ok_or(AppError::NotFound(super::NOT_FOUND))?;
    let s = submission_of(cx.db(), id, cx.actor.person_id)
        .await?
        .ok_or(AppError::NotFound(super::NOT_FOUND))?;
    if ap.0.opens_at > cx.now && !ap.0.is_test() {
        return Err(AppError::NotFound(super::NOT_FOUND));
    }
    Ok((ap, s))
}

/// The work set to the actor, once it is open (see [`open_with_parts`]).
pub async fn open(cx: &Ctx<'_>, id: AssignmentId) -> AppResult<(Assignment, Submission)> {
    let (ap, s) = open_with_parts(cx, id).await?;
    Ok((ap.0.clone(), s))
}

/// Starts a test: the server's end is the start plus the time limit, at most the due time. One
/// write; starting again (a reload, a second device) changes nothing. Homework needs no start.
pub async fn start(cx: &Ctx<'_>, id: AssignmentId) -> AppResult<()> {
    let (ap, s) = open_with_parts(cx, id).await?;
    let a = &ap.0;
    // A test that starts together has its end already: nothing to write.
    if !a.is_test() || s.started_at.is_some() || s.ends_at.is_some() || s.submitted_at.is_some() {
        return Ok(());
    }
    if cx.now < a.opens_at {
        return Err(refused("teaching.not_open"));
    }
    if cx.now >= a.due_at {
        return Err(refused("teaching.past_due"));
    }
    let limit = chrono::Duration::minutes(a.time_limit.unwrap_or(0).max(1));
    let end = (cx.now + limit).min(a.due_at);
    on_db!(cx.db(), p => sqlx::query(
        "UPDATE submissions SET started_at = $2, ends_at = $3 WHERE id = $1 AND started_at IS NULL",
    ).bind(s.id).bind(cx.now).bind(end).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A test's page was left (another app, another tab): counted while it takes answers.
pub async fn left_page(cx: &Ctx<'_>, id: AssignmentId) -> AppResult<()> {
    let (_, s) = open_with_parts(cx, id).await?;
    on_db!(cx.db(), p => sqlx::query(
        "UPDATE submissions SET left_page = left_page + 1
         WHERE id = $1 AND (started_at IS NOT NULL OR ends_at IS NOT NULL) AND submitted_at IS NULL",
    ).bind(s.id).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Why an answer cannot be taken now, if it cannot.
pub fn closed(a: &Assignment, s: &Submission, now: DateTime<Utc>) -> Option<&'static str> {
    if s.submitted_at.is_some() {
        return Some("teaching.already_submitted");
    }
    if now < a.opens_at {
        return Some("teaching.not_open");
    }
    if let Some(end) = s.ends_at
        && now > end
    {
        return Some("teaching.time_over");
    }
    if now > a.due_at && (a.late_policy == "refuse" || a.is_test()) {
        return Some("teaching.past_due");
    }
    if a.is_test() && s.started_at.is_none() && s.ends_at.is_none() {
        return Some("teaching.not_started");
    }
    None
}

fn refused(code: &'static str) -> AppError {
    AppError::Conflict(code, FieldErrors::new())
}

/// Checks an answer's shape against its item: the right kind of answer, sizes within bounds.
pub fn check_answer(p: &Part, a: &Answer) -> Result<(), &'static str> {
    let ok = match (p.kind.as_str(), a) {
        ("single" | "multiple", Answer::Choice { chosen }) => {
            let n = p.options().choices.len();
            chosen.iter().all(|c| *c < n) && (p.kind == "multiple" || chosen.len() <= 1)
        }
        ("true_false", Answer::TrueFalse { .. }) => true,
        ("blanks" | "pinyin", Answer::Texts { texts }) => {
            texts.len() <= TEXTS_MAX && texts.iter().all(|t| t.chars().count() <= 200)
        }
        ("matching", Answer::Pairs { pairs }) => {
            let o = p.options();
            pairs.len() <= o.left.len() && pairs.iter().flatten().all(|r| *r < o.right.len())
        }
        ("ordering", Answer::Order { order }) => {
            let n = p.options().choices.len();
            order.len() <= n && order.iter().all(|i| *i < n)
        }
        (_, Answer::Written { text, photos }) => {
            p.manual() && text.chars().count() <= TEXT_MAX && photos.is_empty()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err("error.teaching.answer_shape")
    }
}

/// Whether an answer says anything (an empty form field is no answer).
pub fn is_given(a: &Answer) -> bool {
    match a {
        Answer::Choice { chosen } => !chosen.is_empty(),
        Answer::TrueFalse { .. } => true,
        Answer::Texts { texts } => texts.iter().any(|t| !t.trim().is_empty()),
        Answer::Pairs { pairs } => pairs.iter().any(Option::is_some),
        Answer::Order { order } => !order.is_empty(),
        Answer::Written { text, photos } => !text.trim().is_empty() || !photos.is_empty(),
    }
}

/// Saves answers (position → answer), each replacing the one before; an empty one removes
/// it. Returns how many were saved. Refused once the work is closed to answers: checked here
/// and again in each write, so a hand-in or a test's end in between is never overtaken. One
/// answer to work already started (a test's answers as they are given) is one statement.
pub async fn save(cx: &Ctx<'_>, id: AssignmentId, given: &[(i64, Answer)]) -> AppResult<usize> {
    let (ap, s) = open_with_parts(cx, id).await?;
    let (a, parts) = (&ap.0, &ap.1);
    if let Some(code) = closed(a, &s, cx.now) {
        return Err(refused(code));
    }
    let mut e = FieldErrors::new();
    for (pos, ans) in given {
        match parts.iter().find(|p| p.position == *pos) {
            Some(p) => {
                if is_given(ans)
                    && let Err(k) = check_answer(p, ans)
                {
                    e.add(&format!("answer.{pos}"), k);
                }
            }
            None => e.add(&format!("answer.{pos}"), "error.teaching.answer_shape"),
        }
    }
    e.into_result()?;
    let mut json = Vec::with_capacity(given.len());
    for (pos, ans) in given {
        json.push((
            *pos,
            is_given(ans)
                .then(|| serde_json::to_string(ans))
                .transpose()
                .map_err(AppError::internal)?,
        ));
    }
    if let ([(pos, Some(j))], true) = (
        json.as_slice(),
        s.started_at.is_some() || s.ends_at.is_some(),
    ) {
        // A test started together: its first answer says the student is at it (first: an
        // attempt with answers is always started, so a page of one not started reads none).
        if s.started_at.is_none() {
            on_db!(cx.db(), p => sqlx::query(
                "UPDATE submissions SET started_at = $2 WHERE id = $1 AND started_at IS NULL",
            ).bind(s.id).bind(cx.now).execute(p).await.map(|r| r.rows_affected()))?;
        }
        let n = on_db!(cx.db(), p => sqlx::query(sqlx::AssertSqlSafe(upsert(cx.db())))
            .bind(s.id).bind(*pos).bind(j).bind(cx.now).execute(p).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            return Err(refused("teaching.time_over"));
        }
        return Ok(1);
    }
    let mut tx = cx.begin().await?;
    let open_now = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE submissions SET started_at = COALESCE(started_at, $2) WHERE id = $1 AND submitted_at IS NULL
           AND (ends_at IS NULL OR ends_at >= $2)",
    ).bind(s.id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if open_now == 0 {
        return Err(refused("teaching.time_over"));
    }
    for (pos, j) in &json {
        match j {
            Some(j) => {
                on_tx!(&mut tx, t => sqlx::query(sqlx::AssertSqlSafe(upsert(cx.db())))
                    .bind(s.id).bind(*pos).bind(j).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
            }
            None => {
                on_tx!(&mut tx, t => sqlx::query("DELETE FROM answers WHERE submission_id = $1 AND position = $2")
                    .bind(s.id).bind(*pos).execute(&mut *t).await.map(|r| r.rows_affected()))?;
            }
        }
    }
    tx.commit().await?;
    Ok(json.len())
}

/// An answer written only while its submission takes answers (not handed in, its end not
/// passed): `$1` submission, `$2` position, `$3` the answer, `$4` now.
const UPSERT: &str = "INSERT INTO answers (submission_id, position, response, saved_at)
     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM submissions
         WHERE id = $1 AND submitted_at IS NULL AND (ends_at IS NULL OR ends_at >= $4))
     ON CONFLICT (submission_id, position) DO UPDATE SET response = excluded.response, saved_at = excluded.saved_at";

/// The same on PostgreSQL, where the check takes a share lock on the attempt: an answer racing
/// a hand-in waits for it and is then refused, never stored after the marking read the answers.
/// (SQLite has one writer: a hand-in's transaction and an answer never interleave.)
const UPSERT_PG: &str = "INSERT INTO answers (submission_id, position, response, saved_at)
     SELECT $1, $2, $3, $4 WHERE EXISTS (SELECT 1 FROM submissions
         WHERE id = $1 AND submitted_at IS NULL AND (ends_at IS NULL OR ends_at >= $4) FOR SHARE)
     ON CONFLICT (submission_id, position) DO UPDATE SET response = excluded.response, saved_at = excluded.saved_at";

fn upsert(db: &kernel::Db) -> &'static str {
    match db {
        kernel::Db::Sqlite(_) => UPSERT,
        kernel::Db::Postgres(_) => UPSERT_PG,
    }
}

/// Minutes as a student reports them: 0–600.
pub fn parse_minutes(s: &str) -> Result<Option<i64>, &'static str> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    match s.parse::<i64>() {
        Ok(m) if (0..=600).contains(&m) => Ok(Some(m)),
        _ => Err("error.teaching.minutes"),
    }
}

/// Hands the work in: marked at once where the rules allow, late if after the due time
/// (refused when late work is not taken). The minutes spent are the student's own word.
pub async fn submit(cx: &Ctx<'_>, id: AssignmentId, minutes: Option<i64>) -> AppResult<()> {
    let (a, s) = open(cx, id).await?;
    if let Some(code) = closed(&a, &s, cx.now) {
        return Err(refused(code));
    }
    hand_in(cx, &a, &s, cx.now, minutes).await
}

/// Hands a submission in at `at` (its own hand-in, or a test's end passing).
pub async fn hand_in(
    cx: &Ctx<'_>,
    a: &Assignment,
    s: &Submission,
    at: DateTime<Utc>,
    minutes: Option<i64>,
) -> AppResult<()> {
    let parts = parts(cx.db(), a.id).await?;
    let late = at > a.due_at;
    let mut tx = cx.begin().await?;
    let changed = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE submissions SET submitted_at = $2, late = $3, minutes_spent = COALESCE($4, minutes_spent),
             started_at = COALESCE(started_at, $2)
         WHERE id = $1 AND submitted_at IS NULL",
    ).bind(s.id).bind(at).bind(late).bind(minutes).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if changed == 0 {
        return Err(refused("teaching.already_submitted"));
    }
    let answers = grade::answers(cx.db(), s.id).await?;
    let photos = super::photos::positions(cx.db(), s.id).await?;
    grade::auto_mark(&mut tx, &parts, s, &answers, &photos, cx.now).await?;
    grade::rescore(&mut tx, a, s.id, cx.now).await?;
    counted(&mut tx, a, s, cx.now).await?;
    cx.audit(
        &mut tx,
        AuditEvent::new("submission.hand_in")
            .object("submission", s.id)
            .node(s.class_id)
            .detail(serde_json::json!({ "late": late })),
    )
    .await?;
    tx.commit().await
}

/// The fact of a hand-in (online, at a test's end, or entered from paper), once per attempt.
pub(crate) async fn counted(
    tx: &mut kernel::Tx,
    a: &Assignment,
    s: &Submission,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let kind = if a.is_test() {
        "teaching.test_taken"
    } else {
        "teaching.work_submitted"
    };
    let key = format!("{kind}:{}", s.id);
    facts::record(
        tx,
        now,
        Fact::once(kind, s.class_id, Some(s.student_id), s.id.0, key),
    )
    .await?;
    Ok(())
}

/// Hands in every attempt whose server end has passed without a hand-in (a test's time ran
/// out): at its end, with the answers saved by then, as the system. Every node's runner calls
/// it; the hand-in's conditional write makes each happen once. `only`: one assignment's.
pub async fn close_expired(
    state: &kernel::AppState,
    only: Option<AssignmentId>,
) -> AppResult<usize> {
    let now = state.clock.now();
    // Attempts never started (nothing answered) are not handed in: the student missed it.
    const OPEN: &str = "SELECT s.id FROM submissions s JOIN assignments a ON a.id = s.assignment_id
         WHERE s.submitted_at IS NULL AND s.ends_at < $1 AND s.started_at IS NOT NULL
           AND a.deleted_at IS NULL";
    let rows: Vec<(super::SubmissionId,)> = match only {
        Some(a) => {
            let sql = format!("{OPEN} AND s.assignment_id = $2 ORDER BY s.ends_at LIMIT 5000");
            on_db!(&state.db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(now).bind(a).fetch_all(p).await)?
        }
        None => {
            let sql = format!("{OPEN} ORDER BY s.ends_at LIMIT 5000");
            on_db!(&state.db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(now).fetch_all(p).await)?
        }
    };
    let actor = kernel::Actor::system();
    let meta = kernel::RequestMeta::cli();
    let cx = Ctx::new(state, &actor, &meta);
    let mut n = 0;
    for (id,) in rows {
        match expire(&cx, id).await {
            Ok(true) => n += 1,
            Ok(false) => {}
            // One attempt that cannot be handed in does not hold the others up.
            Err(e) => {
                tracing::error!(submission = %id, error = %e, "handing in an ended attempt failed")
            }
        }
    }
    Ok(n)
}

/// Hands in one attempt whose end has passed, at its end; `false` if it was handed in already.
pub async fn expire(cx: &Ctx<'_>, id: super::SubmissionId) -> AppResult<bool> {
    let Some(s) = super::find_submission(cx.db(), id).await? else {
        return Ok(false);
    };
    let (Some(a), Some(end)) = (find(cx.db(), s.assignment_id).await?, s.ends_at) else {
        return Ok(false);
    };
    if s.submitted_at.is_some() || end >= cx.now {
        return Ok(false);
    }
    match hand_in(cx, &a, &s, end, None).await {
        Ok(()) => Ok(true),
        Err(AppError::Conflict("teaching.already_submitted", _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The student's word on the minutes spent, also after handing in.
pub async fn report_minutes(cx: &Ctx<'_>, id: AssignmentId, minutes: i64) -> AppResult<()> {
    let (_, s) = open(cx, id).await?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query("UPDATE submissions SET minutes_spent = $2 WHERE id = $1")
        .bind(s.id).bind(minutes).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    tx.commit().await
}

/// A flipped task's micro-lesson: opened (`seconds` 0), or watched up to `seconds` of
/// `duration`. The furthest point is kept.
pub async fn watched(cx: &Ctx<'_>, id: AssignmentId, seconds: i64, duration: i64) -> AppResult<()> {
    let (a, s) = open(cx, id).await?;
    if a.lesson_resource_id.is_none() {
        return Err(AppError::NotFound(super::NOT_FOUND));
    }
    let duration = duration.clamp(0, 24 * 3600);
    let seconds = seconds.clamp(0, duration.max(0));
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query(
        "UPDATE submissions SET lesson_opened_at = COALESCE(lesson_opened_at, $2),
             watched_seconds = CASE WHEN watched_seconds < $3 THEN $3 ELSE watched_seconds END,
             lesson_seconds = CASE WHEN lesson_seconds < $4 THEN $4 ELSE lesson_seconds END
         WHERE id = $1",
    ).bind(s.id).bind(cx.now).bind(seconds).bind(duration).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_as_reported() {
        assert_eq!(parse_minutes(""), Ok(None));
        assert_eq!(parse_minutes("35"), Ok(Some(35)));
        assert!(parse_minutes("-3").is_err());
        assert!(parse_minutes("601").is_err());
    }
}
