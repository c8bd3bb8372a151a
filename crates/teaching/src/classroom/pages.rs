//! The classroom pages: the teacher's lessons and this month's count; the classroom view (the
//! plan's slides full screen with a timer, the picker and quick questions); the record of a
//! lesson taught; a student's page to answer the question open in their class.

use super::questions::{self, Answer, Question, QuestionId};
use super::{Lesson, Pick, SessionId};
use crate::lesson_prep::{self, Content, Link};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kernel::{AppError, AppResult, AppState, FieldErrors, PersonId, ResourceId, Role};
use serde::Deserialize;
use web::{CsrfForm, CsrfToken, IdPath, Page, PageCtx, redirect, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/classroom.js", get(script))
        .route("/teaching/lessons", get(list))
        .route("/teaching/plans/{id}/teach", post(start))
        .route("/teaching/lessons/{id}", get(show))
        .route("/teaching/lessons/{id}/pick", post(pick))
        .route("/teaching/lessons/{id}/ask", post(ask))
        .route("/teaching/lessons/{id}/ask-item", post(ask_item))
        .route("/teaching/lessons/{id}/end", post(end))
        .route("/teaching/questions/{id}/close", post(close))
        .route("/teaching/questions/{id}/mark", post(mark))
        .route("/teaching/classroom", get(student))
        .route("/teaching/classroom/{id}", post(answer))
}

/// The classroom's script: the step's countdown and the full-screen button.
const SCRIPT: &str = include_str!("../../static/classroom.js");

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

/// What the plans ask: lessons taught with platform resources per teacher and month.
pub const MONTHLY_TARGET: i64 = 10;

#[derive(Template)]
#[template(path = "classroom/list.html")]
struct ListPage {
    ctx: PageCtx,
    lessons: Vec<Lesson>,
    taught: i64,
    with_resources: i64,
    target: i64,
    /// The administered node's name and its teachers this month.
    teachers: Option<(String, Vec<super::TeacherMonth>)>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn list(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    let cx = page.cx();
    let teaches = !resources::catalog::progress::taught_by(&cx)
        .await?
        .is_empty();
    let teachers = match cx.actor.grants_of(Role::Admin).next() {
        Some(g) => Some((
            crate::label(cx.db(), g.node_id).await?,
            super::per_teacher(&cx, g.node_id).await?,
        )),
        None => None,
    };
    if !teaches && teachers.is_none() {
        return Err(AppError::Forbidden);
    }
    let (taught, with_resources) = super::this_month(&cx).await?;
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        lessons: super::mine(&cx, 100).await?,
        taught,
        with_resources,
        target: MONTHLY_TARGET,
        teachers,
    }))
}

/// `POST /teaching/plans/{id}/teach`: the lesson starts on its first slide.
async fn start(
    page: Page,
    IdPath(id): IdPath<lesson_prep::PlanId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    let lesson = super::start(&page.cx(), id).await?;
    Ok(redirect(&format!("/teaching/lessons/{lesson}")))
}

/// One slide: the title slide, a step, or the closing slide.
pub struct Slide {
    pub title: String,
    pub minutes: i64,
    /// (heading key or empty, text) blocks.
    pub blocks: Vec<(&'static str, String)>,
    /// The resources placed in it, with whether each is an image to show inline.
    pub links: Vec<(Link, bool)>,
    /// The bank items placed on it, to show and to ask.
    pub items: Vec<SlideItem>,
}

/// A bank item on a slide: its stem and choices rendered (formulas as MathML), and how it is
/// asked as the class's quick question (options A… and the right one, or a free answer).
pub struct SlideItem {
    pub id: crate::items::bank::ItemId,
    pub kind: String,
    pub stem: String,
    pub choices: Vec<String>,
    pub options: i64,
    pub correct: Option<i64>,
}

impl SlideItem {
    fn of(i: &crate::items::bank::Item) -> Self {
        use crate::items::score::Key;
        let o = i.options();
        let (options, correct) = match i.key() {
            Key::Single { correct } => (o.choices.len() as i64, Some(correct as i64)),
            Key::Multiple { .. } => (o.choices.len() as i64, None),
            Key::TrueFalse { correct } => (2, Some(if correct { 0 } else { 1 })),
            _ => (0, None),
        };
        Self {
            id: i.id,
            kind: i.kind.clone(),
            stem: crate::items::math::render(&i.stem),
            choices: if matches!(i.kind.as_str(), "single" | "multiple") {
                o.choices
                    .iter()
                    .map(|c| crate::items::math::render(c))
                    .collect()
            } else {
                Vec::new()
            },
            options: options.min(6),
            correct,
        }
    }
    fn letter(&self, i: &usize) -> char {
        char::from(b'A' + u8::try_from(*i).unwrap_or(0))
    }
}

async fn slides(cx: &kernel::Ctx<'_>, c: &Content) -> AppResult<Vec<Slide>> {
    let mut out = vec![Slide {
        title: c.title.clone(),
        minutes: 0,
        blocks: vec![
            ("lesson_prep.section.objectives", c.objectives.clone()),
            ("lesson_prep.section.key_points", c.key_points.clone()),
        ],
        links: Vec::new(),
        items: Vec::new(),
    }];
    for s in &c.steps {
        let mut items = Vec::new();
        for id in &s.items {
            // An item gone from the bank, or one the teacher no longer sees, is left out.
            if let Ok(i) = crate::items::bank::get(cx, *id).await {
                items.push(SlideItem::of(&i));
            }
        }
        let mut links = Vec::new();
        for l in &s.links {
            let image = match resources::library::resource::find(cx.db(), l.resource_id).await? {
                Some(r) => r.file_name.as_deref().is_some_and(|n| {
                    let n = n.to_lowercase();
                    [".png", ".jpg", ".jpeg", ".gif", ".webp"]
                        .iter()
                        .any(|e| n.ends_with(e))
                }),
                None => false,
            };
            links.push((l.clone(), image && l.visible));
        }
        out.push(Slide {
            title: s.title.clone(),
            minutes: s.minutes,
            blocks: vec![("", s.content.clone())],
            links,
            items,
        });
    }
    out.push(Slide {
        title: c.title.clone(),
        minutes: 0,
        blocks: vec![
            ("lesson_prep.section.board", c.board.clone()),
            ("lesson_prep.section.homework", c.homework.clone()),
        ],
        links: Vec::new(),
        items: Vec::new(),
    });
    Ok(out)
}

/// The question open in the lesson, its answers and how many chose each option.
type OpenQuestion = (Question, Vec<Answer>, Vec<(char, usize)>);

#[derive(Template)]
#[template(path = "classroom/teach.html")]
struct TeachPage {
    ctx: PageCtx,
    lesson: Lesson,
    slide: Slide,
    at: usize,
    count: usize,
    minutes_in: i64,
    picked: Option<Pick>,
    picks: usize,
    question: Option<OpenQuestion>,
    class_size: usize,
    errors: FieldErrors,
}

impl TeachPage {
    fn prev(&self) -> Option<usize> {
        self.at.checked_sub(1)
    }
    fn next(&self) -> Option<usize> {
        (self.at + 1 < self.count).then_some(self.at + 1)
    }
    fn number(&self) -> usize {
        self.at + 1
    }
    /// A slide's text with its formulas as MathML (the rest escaped, lines kept).
    fn rich(&self, text: &str) -> String {
        crate::items::math::render(text)
    }
}

#[derive(Template)]
#[template(path = "classroom/record.html")]
struct RecordPage {
    ctx: PageCtx,
    lesson: Lesson,
    own: bool,
    resources: Vec<(ResourceId, String, i64)>,
    picks: Vec<Pick>,
    questions: Vec<(Question, Vec<Answer>)>,
}

impl RecordPage {
    fn letter(&self, c: &i64) -> char {
        char::from(b'A' + u8::try_from(*c).unwrap_or(0))
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    slide: Option<usize>,
    picked: Option<String>,
    done: Option<String>,
}

async fn show(
    page: Page,
    IdPath(id): IdPath<SessionId>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let lesson = super::get(&cx, id).await?;
    let own = lesson.teacher_id == cx.actor.person_id;
    if !own || lesson.ended_at.is_some() {
        return record(&page, lesson, own, q.done.as_deref()).await;
    }
    teach_page(
        &page,
        lesson,
        q.slide.unwrap_or(0),
        q.picked.is_some(),
        FieldErrors::new(),
    )
    .await
}

async fn teach_page(
    page: &Page,
    lesson: Lesson,
    at: usize,
    show_pick: bool,
    errors: FieldErrors,
) -> AppResult<Response> {
    let cx = page.cx();
    let content = match lesson.plan_id {
        Some(pid) => {
            let plan = lesson_prep::find_any(cx.db(), pid)
                .await?
                .ok_or(AppError::NotFound(super::NOT_FOUND))?;
            lesson_prep::content(&cx, &plan, lesson.plan_version).await?
        }
        None => Content::default(),
    };
    let mut all = slides(&cx, &content).await?;
    let count = all.len();
    let at = at.min(count - 1);
    let slide = all.swap_remove(at);
    let shown: Vec<(ResourceId, i64)> = slide
        .links
        .iter()
        .filter(|(l, _)| l.visible)
        .map(|(l, _)| (l.resource_id, l.resource_version))
        .collect();
    super::shown(&cx, &lesson, &shown).await?;
    let picks = super::picks(cx.db(), lesson.id).await?;
    let question = match questions::of_lesson(cx.db(), lesson.id)
        .await?
        .into_iter()
        .next()
    {
        Some(q) if q.closed_at.is_none() => {
            let answers = questions::answers(cx.db(), q.id).await?;
            let tally = questions::tally(&q, &answers);
            Some((q, answers, tally))
        }
        _ => None,
    };
    let class_size = directory::classes::roster(&cx, lesson.class_id)
        .await
        .map(|r| r.students.len())
        .unwrap_or(0);
    let minutes_in = (cx.now - lesson.started_at).num_minutes().max(0);
    Ok(render(&TeachPage {
        ctx: page.ctx(),
        picked: if show_pick {
            picks.first().cloned()
        } else {
            None
        },
        picks: picks.len(),
        lesson,
        slide,
        at,
        count,
        minutes_in,
        question,
        class_size,
        errors,
    }))
}

async fn record(page: &Page, lesson: Lesson, own: bool, done: Option<&str>) -> AppResult<Response> {
    let cx = page.cx();
    let rows: Vec<(ResourceId, i64)> = kernel::on_db!(cx.db(), p => sqlx::query_as(
        "SELECT resource_id, resource_version FROM classroom_resources WHERE session_id = $1 ORDER BY shown_at",
    ).bind(lesson.id).fetch_all(p).await)?;
    let viewer = resources::access::Viewer::of(cx.db(), cx.actor).await?;
    let mut resources = Vec::new();
    for (rid, v) in rows {
        let title = match resources::library::resource::find(cx.db(), rid).await? {
            Some(r) if resources::access::may_view(cx.db(), cx.actor, &viewer, &r).await? => {
                r.title
            }
            Some(_) => page.ctx().t("lesson_prep.resource_hidden").to_owned(),
            None => page.ctx().t("lesson_prep.resource_gone").to_owned(),
        };
        resources.push((rid, title, v));
    }
    let mut questions = Vec::new();
    for q in questions::of_lesson(cx.db(), lesson.id).await? {
        let a = questions::answers(cx.db(), q.id).await?;
        questions.push((q, a));
    }
    Ok(render(&RecordPage {
        ctx: page.ctx().with_notice(done),
        picks: super::picks(cx.db(), lesson.id).await?,
        lesson,
        own,
        resources,
        questions,
    }))
}

#[derive(Deserialize)]
pub struct SlideForm {
    #[serde(default)]
    slide: usize,
}

/// `POST /teaching/lessons/{id}/pick`.
async fn pick(
    page: Page,
    IdPath(id): IdPath<SessionId>,
    CsrfForm(f): CsrfForm<SlideForm>,
) -> AppResult<Response> {
    super::pick(&page.cx(), id).await?;
    Ok(redirect(&format!(
        "/teaching/lessons/{id}?slide={}&picked=1",
        f.slide
    )))
}

#[derive(Deserialize)]
pub struct AskForm {
    #[serde(default)]
    slide: usize,
    #[serde(default)]
    prompt: String,
    #[serde(default)]
    options: String,
    #[serde(default)]
    correct: String,
}

/// `POST /teaching/lessons/{id}/ask`: a quick question to the class.
async fn ask(
    page: Page,
    IdPath(id): IdPath<SessionId>,
    CsrfForm(f): CsrfForm<AskForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let options = f.options.trim().parse::<i64>().unwrap_or(-1);
    let correct = match f.correct.trim() {
        "" => None,
        c => Some(
            c.chars()
                .next()
                .filter(char::is_ascii_uppercase)
                .map_or(-1, |l| i64::from(l as u8 - b'A')),
        ),
    };
    match questions::ask(&cx, id, &f.prompt, options, correct).await {
        Ok(_) => Ok(redirect(&format!(
            "/teaching/lessons/{id}?slide={}#question",
            f.slide
        ))),
        Err(AppError::Invalid(e)) => {
            let lesson = super::get_own(&cx, id).await?;
            teach_page(&page, lesson, f.slide, false, e).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct AskItemForm {
    #[serde(default)]
    slide: usize,
    item: String,
}

/// `POST /teaching/lessons/{id}/ask-item`: a bank item on the slide asked as the quick
/// question (its stem as the prompt, its choices as A…, its key as the right one).
async fn ask_item(
    page: Page,
    IdPath(id): IdPath<SessionId>,
    CsrfForm(f): CsrfForm<AskItemForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let item = f
        .item
        .parse()
        .map_err(|_| AppError::NotFound(crate::items::bank::NOT_FOUND))?;
    let item = crate::items::bank::get(&cx, crate::items::bank::ItemId(item)).await?;
    let asked = SlideItem::of(&item);
    let prompt: String = item.stem.chars().take(500).collect();
    questions::ask(&cx, id, &prompt, asked.options, asked.correct).await?;
    Ok(redirect(&format!(
        "/teaching/lessons/{id}?slide={}#question",
        f.slide
    )))
}

/// `POST /teaching/questions/{id}/close`.
async fn close(
    page: Page,
    IdPath(id): IdPath<QuestionId>,
    CsrfForm(f): CsrfForm<SlideForm>,
) -> AppResult<Response> {
    let lesson = questions::close(&page.cx(), id).await?;
    Ok(redirect(&format!(
        "/teaching/lessons/{lesson}?slide={}",
        f.slide
    )))
}

#[derive(Deserialize)]
pub struct MarkForm {
    #[serde(default)]
    slide: usize,
    student: String,
    correct: String,
}

/// `POST /teaching/questions/{id}/mark`: a free answer marked right or wrong.
async fn mark(
    page: Page,
    IdPath(id): IdPath<QuestionId>,
    CsrfForm(f): CsrfForm<MarkForm>,
) -> AppResult<Response> {
    let student: PersonId = f
        .student
        .parse()
        .map_err(|_| AppError::NotFound("teaching.answer_not_found"))?;
    let lesson = questions::mark(&page.cx(), id, student, f.correct == "1").await?;
    Ok(redirect(&format!(
        "/teaching/lessons/{lesson}?slide={}#question",
        f.slide
    )))
}

/// `POST /teaching/lessons/{id}/end`.
async fn end(
    page: Page,
    IdPath(id): IdPath<SessionId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    super::end(&page.cx(), id).await?;
    Ok(redirect(&format!(
        "/teaching/lessons/{id}?done=lesson_ended"
    )))
}

#[derive(Template)]
#[template(path = "classroom/student.html")]
struct StudentPage {
    ctx: PageCtx,
    open: Option<(Question, Lesson, Option<Answer>)>,
    errors: FieldErrors,
}

impl StudentPage {
    fn chose(&self, i: &i64) -> bool {
        self.open
            .as_ref()
            .and_then(|(_, _, a)| a.as_ref())
            .is_some_and(|a| a.choice == Some(*i))
    }
}

async fn student_page(page: &Page, done: Option<&str>, errors: FieldErrors) -> AppResult<Response> {
    let cx = page.cx();
    if cx.actor.grants_of(Role::Student).next().is_none() {
        return Err(AppError::Forbidden);
    }
    Ok(render(&StudentPage {
        ctx: page.ctx().with_notice(done),
        open: questions::open_for(&cx).await?,
        errors,
    }))
}

/// `GET /teaching/classroom`: the question open in the student's class now.
async fn student(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    student_page(&page, q.done.as_deref(), FieldErrors::new()).await
}

#[derive(Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    choice: Option<i64>,
    #[serde(default)]
    text: String,
}

/// `POST /teaching/classroom/{id}`: a student's answer.
async fn answer(
    page: Page,
    IdPath(id): IdPath<QuestionId>,
    CsrfForm(f): CsrfForm<AnswerForm>,
) -> AppResult<Response> {
    match questions::answer(&page.cx(), id, f.choice, &f.text).await {
        Ok(()) => Ok(redirect("/teaching/classroom?done=answered")),
        Err(AppError::Invalid(e)) => student_page(&page, None, e).await,
        Err(AppError::Conflict("teaching.question_closed", _)) => {
            Ok(redirect("/teaching/classroom?done=question_closed"))
        }
        Err(e) => Err(e),
    }
}
