//! The student's and the guardian's pages: the homework list, doing a piece of work on a phone
//! (answers, photos of paper work, the micro-lesson of a flipped task, the minutes spent), the
//! returned work with its marks, comments and the teacher's pen (a guardian's view of the
//! returned results is in `results`).

use super::grade::{self, Mark};
use super::photos::{self, Photo, PhotoId};
use super::{Assignment, AssignmentId, Part, Submission, WHOLE, work};
use crate::items::score::Answer;
use askama::Template;
use axum::Router;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use kernel::{AppError, AppResult, AppState, Ctx, FieldErrors, PersonId, ResourceId, Role, on_db};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, redirect, render};

pub fn routes() -> Router<AppState> {
    // A test's storm (a whole grade opening it, then answering): served first come, first
    // served, a few at a time, rather than every request at once slowing all of them.
    let storm = Router::new()
        .route("/teaching/homework/{id}", get(show).post(save))
        .route("/teaching/homework/{id}/start", post(start))
        .route("/teaching/homework/{id}/answer", post(answer))
        .route_layer(axum::middleware::from_fn(in_turn));
    Router::new()
        .merge(storm)
        .route("/teaching/homework", get(list))
        .route("/teaching/homework/{id}/minutes", post(minutes))
        .route("/teaching/homework/{id}/left", post(left))
        .route("/teaching/homework/{id}/watched", post(watched))
        .route("/teaching/homework/{id}/files/{resource}", get(file))
        .route("/teaching/homework/{id}/audio/{position}", get(audio))
        .route("/teaching/photos/{id}", get(photo))
        .route("/teaching/photos/{id}/delete", post(remove_photo))
        .route("/static/homework.js", get(script))
}

/// How many of a test's page views and answers a node serves at once; the rest wait their turn
/// in order (a fair semaphore), so the first to arrive are served first.
pub const IN_TURN: usize = 48;
static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(IN_TURN);

async fn in_turn(mut req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let arrived = std::time::Instant::now();
    let _turn = TURNS.acquire().await;
    req.extensions_mut().insert(Waited(arrived.elapsed()));
    next.run(req).await
}

/// How long a request waited for its turn: an answer is taken at the moment it arrived, so
/// waiting in the end-of-test rush never makes it late.
#[derive(Clone, Copy)]
struct Waited(std::time::Duration);

/// The request's context with its time put back to its arrival.
fn arrived<'a>(page: &'a Page, waited: Option<Waited>) -> Ctx<'a> {
    let mut cx = page.cx();
    if let Some(Waited(w)) = waited {
        cx.now -= chrono::Duration::from_std(w).unwrap_or_default();
    }
    cx
}

pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/teaching/homework/{id}/photos", post(upload))
}

const SCRIPT: &str = include_str!("../../static/homework.js");

async fn script() -> impl axum::response::IntoResponse {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

/// A line of a student's list: the work and where they are with it.
pub struct Row {
    pub a: Assignment,
    pub s: Submission,
    pub class: String,
}

#[derive(Template)]
#[template(path = "assignments/homework_list.html")]
struct ListPage {
    ctx: PageCtx,
    todo: Vec<Row>,
    done: Vec<Row>,
    now: chrono::DateTime<chrono::Utc>,
}

/// The student's work: open and not handed in (the nearest due first), then handed in (the
/// latest first).
pub async fn mine(cx: &Ctx<'_>, student: PersonId) -> AppResult<(Vec<Row>, Vec<Row>)> {
    let sql = format!(
        "SELECT {} FROM submissions s JOIN persons p ON p.id = s.student_id
         JOIN assignments a ON a.id = s.assignment_id
         WHERE s.student_id = $1 AND a.deleted_at IS NULL AND (a.opens_at <= $2 OR a.kind = 'test')
         ORDER BY a.due_at DESC LIMIT 300",
        super::SUBMISSION_COLUMNS
    );
    let subs: Vec<Submission> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(student).bind(cx.now).fetch_all(p).await)?;
    let (mut todo, mut done) = (Vec::new(), Vec::new());
    for s in subs {
        let Some(a) = super::find(cx.db(), s.assignment_id).await? else {
            continue;
        };
        let row = Row {
            class: crate::label(cx.db(), s.class_id).await?,
            a,
            s,
        };
        let over = matches!(
            work::closed(&row.a, &row.s, cx.now),
            Some("teaching.past_due" | "teaching.time_over")
        );
        if row.s.submitted_at.is_none() && !over {
            todo.push(row);
        } else {
            done.push(row);
        }
    }
    todo.reverse();
    Ok((todo, done))
}

async fn list(page: Page) -> AppResult<Response> {
    let cx = page.cx();
    if !cx.actor.has_role(Role::Student) {
        return Err(AppError::Forbidden);
    }
    let (todo, done) = mine(&cx, cx.actor.person_id).await?;
    Ok(render(&ListPage {
        ctx: page.ctx(),
        todo,
        done,
        now: cx.now,
    }))
}

/// One item as the student sees it: in the order of their layout, choices in theirs, with the
/// answer saved so far, and once returned its mark.
pub struct Question {
    pub number: usize,
    pub part: Part,
    pub stem: String,
    /// (shown index, rendered text) in the order shown.
    pub choices: Vec<(usize, String)>,
    pub blanks: usize,
    pub answer: Option<Answer>,
    /// The saved choices as shown indexes.
    pub chosen: Vec<usize>,
    pub photos: Vec<Photo>,
    pub mark: Option<Mark>,
    pub explanation: String,
    pub manual: bool,
}

impl Question {
    pub(crate) fn prefix(&self) -> String {
        format!("a{}.", self.part.position)
    }
    pub(crate) fn is_chosen(&self, i: &usize) -> bool {
        self.chosen.contains(i)
    }
    pub(crate) fn value_is(&self, v: bool) -> bool {
        matches!(self.answer, Some(Answer::TrueFalse { value }) if value == v)
    }
    pub(crate) fn text(&self, i: &usize) -> String {
        match &self.answer {
            Some(Answer::Texts { texts }) => texts.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        }
    }
    pub(crate) fn written(&self) -> String {
        match &self.answer {
            Some(Answer::Written { text, .. }) => text.clone(),
            _ => String::new(),
        }
    }
    pub(crate) fn pair_is(&self, left: &usize, right: &usize) -> bool {
        matches!(&self.answer, Some(Answer::Pairs { pairs }) if pairs.get(*left).copied().flatten() == Some(*right))
    }
    pub(crate) fn order_is(&self, place: &usize, entry: &usize) -> bool {
        matches!(&self.answer, Some(Answer::Order { order }) if order.get(*place) == Some(entry))
    }
    pub(crate) fn letter(&self, i: &usize) -> char {
        char::from(b'A' + u8::try_from(*i).unwrap_or(0))
    }
    pub(crate) fn mark_text(&self) -> String {
        self.mark
            .as_ref()
            .map(Mark::points_text)
            .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "assignments/homework.html")]
struct WorkPage {
    ctx: PageCtx,
    a: Assignment,
    s: Submission,
    questions: Vec<Question>,
    whole_photos: Vec<Photo>,
    whole_mark: Option<Mark>,
    attached: Vec<super::Attached>,
    lesson: Option<super::Attached>,
    /// Answers may be given now; or why not.
    open: bool,
    closed: Option<&'static str>,
    /// A test that may be started now.
    may_start: bool,
    /// Results shown (returned to the student).
    returned: bool,
    /// A started test's seconds left, by the server's clock.
    remaining: Option<i64>,
    /// A test not open yet: seconds to its start.
    starts_in: Option<i64>,
    errors: FieldErrors,
}

impl WorkPage {
    fn kind_key(&self) -> String {
        format!("assignments.kind.{}", self.a.kind)
    }
}

/// Whether a student's work shows its content: homework once open; a test once it is open and
/// the attempt started (or starts together), or handed in.
fn under_way(a: &Assignment, s: &Submission, now: chrono::DateTime<chrono::Utc>) -> bool {
    !a.is_test()
        || s.submitted_at.is_some()
        || (now >= a.opens_at && (s.started_at.is_some() || s.ends_at.is_some()))
}

/// The questions of a submission in the student's order.
pub async fn questions(
    cx: &Ctx<'_>,
    a: &Assignment,
    s: &Submission,
    show_marks: bool,
) -> AppResult<(Vec<Question>, Vec<Photo>, Option<Mark>)> {
    let cached = work::with_parts(cx.state, a.id).await?;
    let parts: &[Part] = cached.as_ref().map_or(&[], |c| c.1.as_slice());
    // An attempt not started has no answer and no photo (saving either starts it): the first
    // page of a test the whole grade opens at once reads nothing more.
    let started = s.started_at.is_some();
    let answers = if started {
        grade::answers(cx.db(), s.id).await?
    } else {
        Vec::new()
    };
    // Photos go only with items a teacher marks (or work without items).
    let photos = if started && (parts.is_empty() || parts.iter().any(Part::manual)) {
        photos::of(cx.db(), s.id).await?
    } else {
        Vec::new()
    };
    let history = if show_marks {
        grade::history(cx.db(), s.id).await?
    } else {
        Vec::new()
    };
    let latest = grade::latest(&history);
    let layout = s.layout();
    let order: Vec<i64> = if layout.order.len() == parts.len() {
        layout.order.clone()
    } else {
        parts.iter().map(|p| p.position).collect()
    };
    let mut out = Vec::new();
    for (n, pos) in order.iter().enumerate() {
        let Some(p) = parts.iter().find(|p| p.position == *pos) else {
            continue;
        };
        let o = p.options();
        let shown: Vec<usize> = layout
            .choices
            .get(usize::try_from(*pos).unwrap_or(0))
            .filter(|c| c.len() == o.choices.len())
            .cloned()
            .unwrap_or_else(|| (0..o.choices.len()).collect());
        let answer = answers.iter().find(|x| x.0 == *pos).map(|x| x.1.clone());
        let chosen = match &answer {
            Some(Answer::Choice { chosen }) => shown
                .iter()
                .enumerate()
                .filter(|(_, stored)| chosen.contains(stored))
                .map(|(i, _)| i)
                .collect(),
            _ => Vec::new(),
        };
        let blanks = match p.key() {
            crate::items::score::Key::Blanks { blanks, .. } => blanks.len(),
            crate::items::score::Key::Pinyin { accepted } => accepted.len(),
            _ => 0,
        };
        out.push(Question {
            number: n + 1,
            stem: crate::items::math::render(&p.stem),
            choices: shown
                .iter()
                .enumerate()
                .map(|(i, stored)| {
                    (
                        i,
                        o.choices
                            .get(*stored)
                            .map(|c| crate::items::math::render(c))
                            .unwrap_or_default(),
                    )
                })
                .collect(),
            blanks,
            chosen,
            answer,
            photos: photos
                .iter()
                .filter(|f| f.position == *pos)
                .cloned()
                .collect(),
            mark: latest
                .iter()
                .find(|m| m.position == *pos)
                .map(|m| (*m).clone()),
            explanation: if show_marks {
                crate::items::math::render(&p.explanation)
            } else {
                String::new()
            },
            manual: p.manual(),
            part: p.clone(),
        });
    }
    let whole = photos
        .iter()
        .filter(|f| f.position == WHOLE)
        .cloned()
        .collect();
    let whole_mark = latest
        .iter()
        .find(|m| m.position == WHOLE)
        .map(|m| (*m).clone());
    Ok((out, whole, whole_mark))
}

async fn work_page(
    page: &Page,
    id: AssignmentId,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (a, mut s) = work::open(&cx, id).await?;
    // A test whose time ran out is handed in with what was saved.
    if s.submitted_at.is_none()
        && s.started_at.is_some()
        && s.ends_at.is_some_and(|e| e < cx.now)
        && work::expire(&cx, s.id).await?
    {
        (_, s) = work::open(&cx, id).await?;
    }
    let returned = s.returned_at.is_some();
    let (mut questions, mut whole_photos, whole_mark) = questions(&cx, &a, &s, returned).await?;
    // A test's items show once it is started (or open, for a test that starts together),
    // never before.
    if a.is_test() && ((s.started_at.is_none() && s.ends_at.is_none()) || cx.now < a.opens_at) {
        questions.clear();
    }
    // The teacher's pen shows with the results, not before.
    if !returned {
        for p in questions
            .iter_mut()
            .flat_map(|q| q.photos.iter_mut())
            .chain(whole_photos.iter_mut())
        {
            p.annotation = None;
        }
    }
    let attached = if under_way(&a, &s, cx.now) {
        work::with_parts(cx.state, id)
            .await?
            .map(|c| c.2.clone())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let lesson = attached
        .iter()
        .find(|r| Some(r.resource_id) == a.lesson_resource_id)
        .cloned();
    let closed = work::closed(&a, &s, cx.now);
    let remaining = s.ends_at.map(|e| (e - cx.now).num_seconds().max(0));
    let starts_in = (a.is_test() && s.submitted_at.is_none() && a.opens_at > cx.now)
        .then(|| (a.opens_at - cx.now).num_seconds());
    Ok(render(&WorkPage {
        ctx: page.ctx().with_notice(done),
        attached: attached
            .into_iter()
            .filter(|r| Some(r.resource_id) != a.lesson_resource_id)
            .collect(),
        lesson,
        open: closed.is_none(),
        may_start: a.is_test()
            && s.started_at.is_none()
            && s.ends_at.is_none()
            && s.submitted_at.is_none()
            && a.opens_at <= cx.now
            && cx.now < a.due_at,
        closed,
        returned,
        remaining,
        starts_in,
        questions,
        whole_photos,
        whole_mark,
        a,
        s,
        errors,
    }))
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn show(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    work_page(&page, id, FieldErrors::new(), q.done.as_deref()).await
}

/// The answers a form posts, in stored terms (the shown choices mapped back through the
/// student's layout).
fn posted_answers(
    parts: &[Part],
    s: &Submission,
    pairs: &[(String, String)],
) -> Vec<(i64, Answer)> {
    let layout = s.layout();
    let mut out = Vec::new();
    for p in parts {
        // Each question's form carries `a{pos}.shown`: a question shown and left empty (every
        // box unticked, no value) clears its answer.
        let prefix = format!("a{}.", p.position);
        if !pairs.iter().any(|(k, _)| k.starts_with(&prefix)) {
            continue;
        }
        let mut answer = crate::items::form::answer_from(&p.kind, pairs, &prefix)
            .unwrap_or(Answer::Choice { chosen: Vec::new() });
        if let Answer::Choice { chosen } = &mut answer
            && let Some(map) = layout
                .choices
                .get(usize::try_from(p.position).unwrap_or(0))
                .filter(|m| !m.is_empty())
        {
            *chosen = chosen.iter().filter_map(|i| map.get(*i).copied()).collect();
            chosen.sort_unstable();
        }
        out.push((p.position, answer));
    }
    out
}

/// Saves the answers a form posts, if any (a form of the work: the whole work, a photo's
/// upload or removal); field errors as the work page shows them.
async fn save_posted(cx: &Ctx<'_>, id: AssignmentId, pairs: &[(String, String)]) -> AppResult<()> {
    let (ap, s) = work::open_with_parts(cx, id).await?;
    let answers = posted_answers(&ap.1, &s, pairs);
    if !answers.is_empty() {
        // Closed (handed in, time over): refused and said so, never "saved" in silence.
        work::save(cx, id, &answers).await?;
    }
    Ok(())
}

/// `POST /teaching/homework/{id}`: saves the answers; with `action=submit` hands the work in
/// (with the minutes spent, `minutes`). The answers are saved first, whatever else is wrong.
async fn save(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    waited: Option<axum::Extension<Waited>>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = arrived(&page, waited.map(|w| w.0));
    let one = |k: &str| super::field(&pairs, k);
    match save_posted(&cx, id, &pairs).await {
        Ok(()) => {}
        Err(AppError::Invalid(e)) => return work_page(&page, id, e, None).await,
        Err(e) => return Err(e),
    }
    let minutes = match work::parse_minutes(&one("minutes")) {
        Ok(m) => m,
        Err(key) => {
            let mut e = FieldErrors::new();
            e.add("minutes", key);
            return work_page(&page, id, e, None).await;
        }
    };
    if one("action") == "submit" {
        work::submit(&cx, id, minutes).await?;
        return Ok(redirect(&format!("/teaching/homework/{id}?done=submitted")));
    }
    Ok(redirect(&format!(
        "/teaching/homework/{id}?done=work_saved"
    )))
}

/// `POST /teaching/homework/{id}/start`: starts a test (the server's clock starts).
async fn start(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    work::start(&page.cx(), id).await?;
    Ok(redirect(&format!("/teaching/homework/{id}")))
}

/// `POST /teaching/homework/{id}/answer`: one question's answer as it is given (the page's
/// script; `position` and the question's fields). 204 when saved; 409 or 422 with the reason
/// in words when it is not (the time is over, the answer's form is wrong).
async fn answer(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    waited: Option<axum::Extension<Waited>>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    use axum::response::IntoResponse;
    let cx = arrived(&page, waited.map(|w| w.0));
    let ctx = page.ctx();
    let position: Option<i64> = pairs
        .iter()
        .find(|(k, _)| k == "position")
        .and_then(|(_, v)| v.parse().ok());
    let (ap, s) = work::open_with_parts(&cx, id).await?;
    let answers: Vec<(i64, Answer)> = posted_answers(&ap.1, &s, &pairs)
        .into_iter()
        .filter(|(p, _)| Some(*p) == position)
        .collect();
    if answers.is_empty() {
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            ctx.t("error.teaching.answer_shape").to_owned(),
        )
            .into_response());
    }
    match work::save(&cx, id, &answers).await {
        Ok(_) => Ok(axum::http::StatusCode::NO_CONTENT.into_response()),
        Err(AppError::Conflict(code, _)) => Ok((
            axum::http::StatusCode::CONFLICT,
            ctx.t(&format!("error.{code}")).to_owned(),
        )
            .into_response()),
        Err(AppError::Invalid(f)) => Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            f.0.first()
                .map(|(_, k)| ctx.t(k).to_owned())
                .unwrap_or_default(),
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

/// `POST /teaching/homework/{id}/left`: the test's page was left (sent by the page's script).
async fn left(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    use axum::response::IntoResponse;
    work::left_page(&page.cx(), id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
pub struct MinutesForm {
    minutes: String,
}

async fn minutes(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    CsrfForm(f): CsrfForm<MinutesForm>,
) -> AppResult<Response> {
    match work::parse_minutes(&f.minutes) {
        Ok(Some(m)) => {
            work::report_minutes(&page.cx(), id, m).await?;
            Ok(redirect(&format!(
                "/teaching/homework/{id}?done=minutes_saved"
            )))
        }
        _ => {
            let mut e = FieldErrors::new();
            e.add("minutes", "error.teaching.minutes");
            work_page(&page, id, e, None).await
        }
    }
}

#[derive(Deserialize)]
pub struct WatchedForm {
    #[serde(default)]
    seconds: f64,
    #[serde(default)]
    duration: f64,
}

/// `POST /teaching/homework/{id}/watched`: the micro-lesson's progress (sent by the page's
/// script as the video plays; 204).
async fn watched(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    CsrfForm(f): CsrfForm<WatchedForm>,
) -> AppResult<Response> {
    let to = |v: f64| if v.is_finite() { v as i64 } else { 0 };
    work::watched(&page.cx(), id, to(f.seconds), to(f.duration)).await?;
    Ok(axum::response::IntoResponse::into_response(
        axum::http::StatusCode::NO_CONTENT,
    ))
}

/// The work behind a file or recording link: for the student once it is under way (a test:
/// started), or for those who mark or read it; 404 for anyone else.
async fn heard_by(cx: &Ctx<'_>, id: &str) -> AppResult<Assignment> {
    let id: AssignmentId = id
        .parse()
        .map_err(|_| AppError::NotFound(super::NOT_FOUND))?;
    Ok(match work::open(cx, id).await {
        Ok((a, s)) if under_way(&a, &s, cx.now) => a,
        Ok(_) => return Err(AppError::NotFound(super::NOT_FOUND)),
        Err(_) => super::get(cx, id).await?.0,
    })
}

/// An attached resource's file, for the students the work is set to (and its graders): inline
/// with range requests, so a micro-lesson plays and seeks. Opening the micro-lesson counts as
/// opened.
async fn file(
    page: Page,
    Path((id, resource)): Path<(String, String)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let cx = page.cx();
    let resource: ResourceId = resource
        .parse()
        .map_err(|_| AppError::NotFound(super::NOT_FOUND))?;
    let a = heard_by(&cx, &id).await?;
    let id = a.id;
    if !super::attached(cx.db(), a.id)
        .await?
        .iter()
        .any(|r| r.resource_id == resource)
    {
        return Err(AppError::NotFound(super::NOT_FOUND));
    }
    let r = resources::library::resource::find(cx.db(), resource)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or(AppError::NotFound("resources.no_file"))?;
    let hash = r
        .blob_hash
        .clone()
        .ok_or(AppError::NotFound("resources.no_file"))?;
    let b = resources::files::blob::find(cx.db(), &hash)
        .await?
        .ok_or(AppError::NotFound("resources.no_file"))?;
    // The micro-lesson opened by the student: counted, with or without the page's script.
    if a.lesson_resource_id == Some(resource)
        && let Ok((_, s)) = work::open(&cx, id).await
        && s.lesson_opened_at.is_none()
    {
        work::watched(&cx, id, 0, 0).await?;
    }
    let name = r.file_name.clone().unwrap_or_else(|| r.title.clone());
    resources::files::serve::respond_blob(
        cx.state,
        &b,
        &headers,
        resources::files::serve::Disposition::inline(&name),
    )
    .await
}

/// `GET /teaching/homework/{id}/audio/{position}`: a listening item's recording, for the
/// student once the work is under way (a test: started), or for those who mark or read it.
async fn audio(
    page: Page,
    Path((id, position)): Path<(String, i64)>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let cx = page.cx();
    let a = heard_by(&cx, &id).await?;
    let audio = super::parts(cx.db(), a.id)
        .await?
        .into_iter()
        .find(|p| p.position == position)
        .and_then(|p| p.audio_id)
        .ok_or(AppError::NotFound(super::NOT_FOUND))?;
    crate::items::pages::serve_audio(&cx, audio, &headers).await
}

async fn photo(page: Page, IdPath(id): IdPath<PhotoId>) -> AppResult<Response> {
    photos::serve(&page.cx(), id).await
}

/// `POST /teaching/photos/{id}/delete`: a button of the work's form, so the answers typed on
/// the page are saved too.
async fn remove_photo(
    page: Page,
    IdPath(id): IdPath<PhotoId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    if let Some(a) = photos::assignment_of(cx.db(), id).await? {
        save_posted(&cx, a, &pairs).await?;
    }
    let a = photos::remove(&cx, id).await?;
    Ok(redirect(&format!(
        "/teaching/homework/{a}?done=photo_removed"
    )))
}

/// `POST /teaching/homework/{id}/photos` (multipart, a button of the work's form): the answers
/// typed on the page (saved first) and the photos chosen for each item (`photo.{pos}`, several)
/// or for the work as a whole (`photo.-1`).
async fn upload(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    mut form: axum::extract::Multipart,
) -> AppResult<Response> {
    let limit = u64::try_from(spaces::photos::MAX_BYTES).unwrap_or(u64::MAX)
        * photos::MAX_PER_ANSWER as u64;
    let bad = |e| web::upload::multipart_error(e, limit, "photo", "photos.error.broken");
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut files: Vec<(i64, Bytes)> = Vec::new();
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        if let Some(pos) = name.strip_prefix("photo.") {
            let pos: i64 = pos.parse().unwrap_or(WHOLE);
            let data = field.bytes().await.map_err(bad)?;
            if !data.is_empty() {
                files.push((pos, data));
            }
        } else {
            let value = field.text().await.map_err(bad)?;
            pairs.push((name, value));
        }
    }
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    page.session.verify_csrf(csrf)?;
    let cx = page.cx();
    match save_posted(&cx, id, &pairs).await {
        Ok(()) => {}
        Err(AppError::Invalid(e)) => return work_page(&page, id, e, None).await,
        Err(e) => return Err(e),
    }
    let mut positions: Vec<i64> = files.iter().map(|f| f.0).collect();
    positions.dedup();
    if positions.is_empty() {
        let mut e = FieldErrors::new();
        e.add("photo.-1", "photos.error.none");
        return work_page(&page, id, e, None).await;
    }
    for pos in &positions {
        let mine: Vec<Bytes> = files
            .iter()
            .filter(|f| f.0 == *pos)
            .map(|f| f.1.clone())
            .collect();
        match photos::add(&cx, id, *pos, mine).await {
            Ok(_) => {}
            Err(AppError::Invalid(e)) => return work_page(&page, id, e, None).await,
            Err(e) => return Err(e),
        }
    }
    Ok(redirect(&format!(
        "/teaching/homework/{id}?done=photos_added#q{}",
        positions[0]
    )))
}
