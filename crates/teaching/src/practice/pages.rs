//! The student's practice pages: the weakest points per subject with a set to start, the
//! set to answer, and once answered its marks, explanations and how mastery moved (also for
//! their guardians and teachers).

use super::{Moved, PracticeId, PracticeSet, Practised, Weak};
use crate::assignments::{Part, student::Question};
use crate::items::score::Answer;
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::get;
use kernel::{AppError, AppResult, AppState, FieldErrors, Role};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, redirect, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teaching/practice", get(index).post(start))
        .route("/teaching/practice/{id}", get(show).post(finish))
        .route("/teaching/practice/{id}/audio/{position}", get(audio))
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// A subject the student can practise, with its weakest points.
pub struct SubjectWeak {
    pub subject: String,
    pub weak: Vec<Weak>,
}

#[derive(Template)]
#[template(path = "practice/index.html")]
struct IndexPage {
    ctx: PageCtx,
    subjects: Vec<SubjectWeak>,
    sets: Vec<(PracticeSet, i64)>,
    errors: FieldErrors,
}

impl IndexPage {
    fn percent(&self, s: &PracticeSet, n: &i64) -> i64 {
        s.percent(usize::try_from(*n).unwrap_or(0))
    }
}

async fn index_page(page: &Page, errors: FieldErrors, done: Option<&str>) -> AppResult<Response> {
    let cx = page.cx();
    if !cx.actor.has_role(Role::Student) {
        return Err(AppError::Forbidden);
    }
    let me = cx.actor.person_id;
    let mut subjects = Vec::new();
    if let Some(place) = super::place_of(cx.db(), me).await? {
        for subject in super::subjects(cx.db(), &place).await? {
            let weak = super::weak_points(cx.db(), me, &place, &subject).await?;
            subjects.push(SubjectWeak { subject, weak });
        }
    }
    let sets = super::sets_of(cx.db(), me, 20).await?;
    Ok(render(&IndexPage {
        ctx: page.ctx().with_notice(done),
        subjects,
        sets,
        errors,
    }))
}

/// `GET /teaching/practice`: the student's subjects, weakest points and recent sets.
async fn index(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    index_page(&page, FieldErrors::new(), q.done.as_deref()).await
}

/// `POST /teaching/practice`: a new set in the posted subject.
async fn start(
    page: Page,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let subject = crate::assignments::field(&pairs, "subject");
    match super::start(&page.cx(), &subject).await {
        Ok(id) => Ok(redirect(&format!("/teaching/practice/{id}"))),
        Err(AppError::Invalid(e)) => index_page(&page, e, None).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "practice/show.html")]
struct ShowPage {
    ctx: PageCtx,
    set: PracticeSet,
    questions: Vec<(Question, Practised)>,
    moved: Vec<Moved>,
    /// The student answering it now.
    open: bool,
    /// The student's own set.
    mine: bool,
    errors: FieldErrors,
}

impl ShowPage {
    fn chance(&self, p: &Practised) -> String {
        format!("{:.0}%", p.predicted * 100.0)
    }
    fn right(&self, p: &Practised) -> &'static str {
        match p.score {
            Some(s) if s >= 0.999 => "practice.right_answer",
            Some(s) if s > 0.0 => "practice.part_answer",
            _ => "practice.wrong_answer",
        }
    }
    fn percent(&self) -> i64 {
        self.set.percent(self.questions.len())
    }
}

/// A practised item as the answer form shows it (its choices in their stored order).
fn question(n: usize, p: &Practised, show: bool) -> Question {
    let i = &p.item;
    let part = Part {
        position: p.position,
        item_id: i.id,
        item_version: i.version,
        kind: i.kind.clone(),
        stem: i.stem.clone(),
        options: i.options.clone(),
        answer_key: i.answer_key.clone(),
        explanation: i.explanation.clone(),
        points: 100,
        audio_id: i.audio_id,
    };
    let o = i.options();
    let blanks = match i.key() {
        crate::items::score::Key::Blanks { blanks, .. } => blanks.len(),
        crate::items::score::Key::Pinyin { accepted } => accepted.len(),
        _ => 0,
    };
    Question {
        number: n + 1,
        stem: crate::items::math::render(&i.stem),
        choices: o
            .choices
            .iter()
            .enumerate()
            .map(|(n, c)| (n, crate::items::math::render(c)))
            .collect(),
        blanks,
        chosen: match &p.answer {
            Some(Answer::Choice { chosen }) => chosen.clone(),
            _ => Vec::new(),
        },
        answer: p.answer.clone(),
        photos: Vec::new(),
        mark: None,
        explanation: if show {
            crate::items::math::render(&i.explanation)
        } else {
            String::new()
        },
        manual: false,
        part,
    }
}

async fn show_page(
    page: &Page,
    id: PracticeId,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (set, items, moved) = super::open(&cx, id).await?;
    let mine = set.student_id == cx.actor.person_id;
    let open = set.finished_at.is_none() && mine;
    let questions = items
        .into_iter()
        .enumerate()
        .map(|(n, p)| (question(n, &p, !open), p))
        .collect();
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(done),
        set,
        questions,
        moved,
        open,
        mine,
        errors,
    }))
}

/// `GET /teaching/practice/{id}`: the set to answer, or its results.
async fn show(
    page: Page,
    IdPath(id): IdPath<PracticeId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    show_page(&page, id, FieldErrors::new(), q.done.as_deref()).await
}

/// `GET /teaching/practice/{id}/audio/{position}`: a listening item's recording, for those who
/// may open the set.
async fn audio(
    page: Page,
    axum::extract::Path((id, position)): axum::extract::Path<(String, i64)>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    let cx = page.cx();
    let id: PracticeId = id
        .parse()
        .map_err(|_| AppError::NotFound(super::NOT_FOUND))?;
    let (_, items, _) = super::open(&cx, id).await?;
    let audio = items
        .iter()
        .find(|p| p.position == position)
        .and_then(|p| p.item.audio_id)
        .ok_or(AppError::NotFound(super::NOT_FOUND))?;
    crate::items::pages::serve_audio(&cx, audio, &headers).await
}

/// `POST /teaching/practice/{id}`: the answers, marked at once.
async fn finish(
    page: Page,
    IdPath(id): IdPath<PracticeId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (_, items, _) = super::open(&cx, id).await?;
    let mut given = Vec::new();
    let mut errors = FieldErrors::new();
    for p in &items {
        let prefix = format!("a{}.", p.position);
        if let Some(a) = crate::items::form::answer_from(&p.item.kind, &pairs, &prefix) {
            let part = question(0, p, false).part;
            match crate::assignments::work::check_answer(&part, &a) {
                Ok(()) => given.push((p.position, a)),
                Err(key) => errors.add(&format!("answer.{}", p.position), key),
            }
        }
    }
    if !errors.is_empty() {
        return show_page(&page, id, errors, None).await;
    }
    super::finish(&cx, id, &given).await?;
    Ok(redirect(&format!(
        "/teaching/practice/{id}?done=practice_done"
    )))
}
