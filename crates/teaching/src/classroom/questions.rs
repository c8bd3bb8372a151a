//! Quick in-class questions (课堂提问): the teacher puts a question to the class during a
//! lesson, with options (A–F) or for a free answer; students answer on their phones while it is
//! open (and may change their answer until it closes); a choice is marked at once when the
//! teacher gave the right option, a free answer when the teacher marks it. The teacher sees
//! the tally and who answered what.

use super::{Lesson, SessionId};
use chrono::{DateTime, Utc};
use kernel::{AppError, AppResult, Ctx, FieldErrors, PersonId, Role, on_db, on_tx};
use serde::Serialize;

kernel::id_type!(
    /// A quick question put to a class in a lesson.
    QuestionId => "teaching.question_not_found",
);

pub const NOT_FOUND: &str = "teaching.question_not_found";
pub const PROMPT_MAX: usize = 500;
pub const ANSWER_MAX: usize = 500;
pub const OPTIONS_MAX: i64 = 6;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Question {
    pub id: QuestionId,
    pub session_id: SessionId,
    pub prompt: String,
    pub options: i64,
    pub correct: Option<i64>,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Question {
    /// The options' letters: A, B, …
    pub fn letters(&self) -> Vec<(i64, char)> {
        (0..self.options.clamp(0, OPTIONS_MAX))
            .map(|i| (i, char::from(b'A' + i as u8)))
            .collect()
    }
}

/// A student's answer, with their name.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Answer {
    pub student_id: PersonId,
    pub name: String,
    pub choice: Option<i64>,
    pub text: String,
    pub correct: Option<bool>,
    pub answered_at: DateTime<Utc>,
}

async fn find(db: &kernel::Db, id: QuestionId) -> AppResult<Option<Question>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, session_id, prompt, options, correct, opened_at, closed_at FROM classroom_questions WHERE id = $1",
    ).bind(id).fetch_optional(p).await)?)
}

/// The question and its lesson, for the lesson's teacher only.
async fn own(cx: &Ctx<'_>, id: QuestionId) -> AppResult<(Question, Lesson)> {
    let q = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let l = super::get_own(cx, q.session_id)
        .await
        .map_err(|_| AppError::NotFound(NOT_FOUND))?;
    Ok((q, l))
}

/// The lesson's questions, the latest first.
pub async fn of_lesson(db: &kernel::Db, id: SessionId) -> AppResult<Vec<Question>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, session_id, prompt, options, correct, opened_at, closed_at FROM classroom_questions
         WHERE session_id = $1 ORDER BY opened_at DESC, id DESC",
    ).bind(id).fetch_all(p).await)?)
}

/// Puts a question to the class (an open one closes first). `options` is 0 for a free answer
/// or 2–6; `correct` the right option, if any.
pub async fn ask(
    cx: &Ctx<'_>,
    lesson: SessionId,
    prompt: &str,
    options: i64,
    correct: Option<i64>,
) -> AppResult<QuestionId> {
    let l = super::get_own(cx, lesson).await?;
    if l.ended_at.is_some() {
        return Err(ended());
    }
    let mut errors = FieldErrors::new();
    let prompt = prompt.trim();
    if prompt.is_empty() || prompt.chars().count() > PROMPT_MAX {
        errors.add("prompt", "error.teaching.question_prompt");
    }
    if options != 0 && !(2..=OPTIONS_MAX).contains(&options) {
        errors.add("options", "error.teaching.question_options");
    }
    if correct.is_some_and(|c| options == 0 || !(0..options).contains(&c)) {
        errors.add("correct", "error.teaching.question_correct");
    }
    errors.into_result()?;
    let id = QuestionId::new();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query(
        "UPDATE classroom_questions SET closed_at = $2 WHERE session_id = $1 AND closed_at IS NULL",
    ).bind(lesson).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, t => sqlx::query(
        "INSERT INTO classroom_questions (id, session_id, prompt, options, correct, opened_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    ).bind(id).bind(lesson).bind(prompt).bind(options).bind(correct).bind(cx.now)
     .execute(&mut *t).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(id)
}

fn ended() -> AppError {
    AppError::Conflict("teaching.lesson_ended", FieldErrors::new())
}

/// Closes a question: no more answers.
pub async fn close(cx: &Ctx<'_>, id: QuestionId) -> AppResult<SessionId> {
    let (q, _) = own(cx, id).await?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, t => sqlx::query(
        "UPDATE classroom_questions SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL",
    ).bind(id).bind(cx.now).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(q.session_id)
}

/// The question open now in a lesson going on in one of the student's classes, with the
/// lesson and the student's answer so far.
pub async fn open_for(cx: &Ctx<'_>) -> AppResult<Option<(Question, Lesson, Option<Answer>)>> {
    let classes: Vec<kernel::NodeId> = cx
        .actor
        .grants_of(Role::Student)
        .map(|g| g.node_id)
        .collect();
    for class in classes {
        let row: Option<(QuestionId,)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT q.id FROM classroom_questions q JOIN classroom_sessions s ON s.id = q.session_id
             WHERE s.class_id = $1 AND s.ended_at IS NULL AND q.closed_at IS NULL
             ORDER BY q.opened_at DESC LIMIT 1",
        ).bind(class).fetch_optional(p).await)?;
        let Some((id,)) = row else { continue };
        let Some(q) = find(cx.db(), id).await? else {
            continue;
        };
        let Some(l) = super::find(cx.db(), q.session_id).await? else {
            continue;
        };
        let mine = answers(cx.db(), id)
            .await?
            .into_iter()
            .find(|a| a.student_id == cx.actor.person_id);
        return Ok(Some((q, l, mine)));
    }
    Ok(None)
}

/// A student answers an open question of a lesson in their class (again to change it).
pub async fn answer(
    cx: &Ctx<'_>,
    id: QuestionId,
    choice: Option<i64>,
    text: &str,
) -> AppResult<()> {
    let q = find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let l = super::find(cx.db(), q.session_id)
        .await?
        .ok_or(AppError::NotFound(NOT_FOUND))?;
    let in_class = cx
        .actor
        .grants_of(Role::Student)
        .any(|g| g.node_id == l.class_id);
    if !in_class {
        return Err(AppError::NotFound(NOT_FOUND));
    }
    if q.closed_at.is_some() || l.ended_at.is_some() {
        return Err(AppError::Conflict(
            "teaching.question_closed",
            FieldErrors::new(),
        ));
    }
    let text = text.trim();
    let correct = if q.options > 0 {
        let Some(c) = choice.filter(|c| (0..q.options).contains(c)) else {
            return Err(AppError::field("choice", "error.teaching.answer_choice"));
        };
        q.correct.map(|k| k == c)
    } else {
        if text.is_empty() || text.chars().count() > ANSWER_MAX {
            return Err(AppError::field("text", "error.teaching.answer_text"));
        }
        None
    };
    let (choice, text) = if q.options > 0 {
        (choice, "")
    } else {
        (None, text)
    };
    let mut tx = cx.begin().await?;
    // Written only while the question is open and its lesson goes on, checked in the write.
    let n = on_tx!(&mut tx, t => sqlx::query(
        "INSERT INTO classroom_answers (question_id, student_id, choice, text, correct, answered_at)
         SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS
           (SELECT 1 FROM classroom_questions q JOIN classroom_sessions s ON s.id = q.session_id
            WHERE q.id = $1 AND q.closed_at IS NULL AND s.ended_at IS NULL)
         ON CONFLICT (question_id, student_id) DO UPDATE SET choice = $3, text = $4, correct = $5, answered_at = $6",
    ).bind(id).bind(cx.actor.person_id).bind(choice).bind(text).bind(correct).bind(cx.now)
     .execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict(
            "teaching.question_closed",
            FieldErrors::new(),
        ));
    }
    tx.commit().await?;
    Ok(())
}

/// The teacher marks a student's answer right or wrong.
pub async fn mark(
    cx: &Ctx<'_>,
    id: QuestionId,
    student: PersonId,
    correct: bool,
) -> AppResult<SessionId> {
    let (q, _) = own(cx, id).await?;
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, t => sqlx::query(
        "UPDATE classroom_answers SET correct = $3 WHERE question_id = $1 AND student_id = $2",
    ).bind(id).bind(student).bind(correct).execute(&mut *t).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::NotFound("teaching.answer_not_found"));
    }
    tx.commit().await?;
    Ok(q.session_id)
}

/// The answers to a question, in the order given.
pub async fn answers(db: &kernel::Db, id: QuestionId) -> AppResult<Vec<Answer>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT a.student_id, p.name, a.choice, a.text, a.correct, a.answered_at
         FROM classroom_answers a JOIN persons p ON p.id = a.student_id
         WHERE a.question_id = $1 ORDER BY a.answered_at, p.name",
    ).bind(id).fetch_all(p).await)?)
}

/// How many chose each option.
pub fn tally(q: &Question, answers: &[Answer]) -> Vec<(char, usize)> {
    q.letters()
        .into_iter()
        .map(|(i, letter)| {
            (
                letter,
                answers.iter().filter(|a| a.choice == Some(i)).count(),
            )
        })
        .collect()
}
