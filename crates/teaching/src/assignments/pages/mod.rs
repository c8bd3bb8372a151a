//! The teacher's pages: the assignments (with the head teacher's week of homework load), setting
//! work (the classes first, then the form with the day's load), an assignment's progress,
//! marking student by student on a phone (`marking`), the test on paper (`paper`), the gradebook
//! and its export and a region's homework-load limits (`book`).

mod book;
mod marking;
mod paper;

use book::{book, export, limits, save_limits, weights};
use marking::{mark, mark_page};
use paper::{entry, paper, save_entry};

use super::grade::{self, Given, Mark};
use super::photos::{self, Photo, PhotoId};
use super::set::{self, Draft};
use super::{
    Access, Assignment, AssignmentId, CATEGORIES, Counts, KINDS, LATE_POLICIES, Part, Submission,
    SubmissionId, WHOLE, gradebook, load,
};
use crate::items::bank::{self, ItemId};
use crate::items::score::Answer;
use crate::lesson_prep::pages::{Candidate, Chapter};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::{get, post};
use kernel::{
    AppError, AppResult, AppState, CatalogId, Ctx, FieldErrors, NodeId, PersonId, ResourceId, Role,
};
use resources::catalog::progress::{self, TaughtClass};
use serde::Deserialize;
use web::{CsrfForm, CsrfToken, IdPath, Page, PageCtx, redirect, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teaching/assignments", get(list).post(create))
        .route("/teaching/assignments/new", get(new))
        .route("/teaching/assignments/{id}", get(show))
        .route("/teaching/assignments/{id}/release", post(release))
        .route("/teaching/assignments/{id}/paper", get(paper))
        .route(
            "/teaching/assignments/{id}/entry",
            get(entry).post(save_entry),
        )
        .route("/teaching/assignments/{id}/delete", post(delete))
        .route("/teaching/submissions/{id}", get(mark_page).post(mark))
        .route("/teaching/gradebook", get(book))
        .route("/teaching/gradebook/weights", post(weights))
        .route("/teaching/gradebook/export.xlsx", get(export))
        .route("/teaching/homework-limits", get(limits).post(save_limits))
        .route("/static/pen.js", get(pen_script))
}

const PEN: &str = include_str!("../../../static/pen.js");

async fn pen_script() -> impl axum::response::IntoResponse {
    use axum::http::header;
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PEN,
    )
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
    class: Option<String>,
}

/// A head teacher's class and its week of written homework.
pub struct ClassWeek {
    pub class_id: NodeId,
    pub label: String,
    pub days: Vec<load::DayLoad>,
}

#[derive(Template)]
#[template(path = "assignments/list.html")]
struct ListPage {
    ctx: PageCtx,
    items: Vec<(Assignment, Counts)>,
    weeks: Vec<ClassWeek>,
    teaches: bool,
    books: Vec<TaughtClass>,
}

async fn list(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    let cx = page.cx();
    let taught = progress::taught_by(&cx).await?;
    let heads: Vec<NodeId> = cx
        .actor
        .grants_of(Role::HeadTeacher)
        .map(|g| g.node_id)
        .collect();
    if taught.is_empty() && heads.is_empty() {
        return Err(AppError::Forbidden);
    }
    let mut weeks = Vec::new();
    let chosen: Option<NodeId> = q.class.as_deref().and_then(|c| c.parse().ok());
    for class in heads.iter().filter(|c| chosen.is_none_or(|x| x == **c)) {
        weeks.push(ClassWeek {
            class_id: *class,
            label: crate::label(cx.db(), *class).await?,
            days: load::week(cx.db(), *class, cx.today()).await?,
        });
    }
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        items: super::mine(&cx, 200).await?,
        weeks,
        teaches: !taught.is_empty(),
        books: taught,
    }))
}

// ---------------------------------------------------------------------------------------------
// Setting work.

#[derive(Template)]
#[template(path = "assignments/pick.html")]
struct PickPage {
    ctx: PageCtx,
    /// Per subject: its code, name and the classes taught in it.
    subjects: Vec<(String, String, Vec<TaughtClass>)>,
}

/// A class in the form: its label and students (to choose a group or one student).
pub struct ClassBlock {
    pub id: NodeId,
    pub label: String,
    pub students: Vec<(PersonId, String)>,
}

/// The bank's items offered: id, type, stem (rendered, short), points.
pub struct Offered {
    pub id: ItemId,
    pub kind: String,
    pub stem: String,
    pub points: String,
}

#[derive(Template)]
#[template(path = "assignments/form.html")]
struct FormPage {
    ctx: PageCtx,
    d: Draft,
    subject_name: String,
    classes: Vec<ClassBlock>,
    chapters: Vec<Chapter>,
    items: Vec<Offered>,
    candidates: Vec<Candidate>,
    loads: Vec<(String, load::DayLoad)>,
    kinds: [&'static str; 3],
    categories: [&'static str; 3],
    late_policies: [&'static str; 3],
    errors: FieldErrors,
}

impl FormPage {
    fn has_item(&self, id: &ItemId) -> bool {
        self.d.items.contains(id)
    }
    fn has_resource(&self, id: &ResourceId) -> bool {
        self.d.resources.contains(id)
    }
    fn is_lesson(&self, id: &ResourceId) -> bool {
        self.d.lesson_resource_id == Some(*id)
    }
    fn has_student(&self, id: &PersonId) -> bool {
        self.d.students.contains(id)
    }
    fn is_chapter(&self, id: &CatalogId) -> bool {
        self.d.catalog_id == Some(*id)
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    subject: Option<String>,
    #[serde(default)]
    class: Vec<String>,
}

async fn new(
    page: Page,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> AppResult<Response> {
    let cx = page.cx();
    let raw = raw.unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&raw).unwrap_or_default();
    let q = NewQuery {
        subject: pairs
            .iter()
            .find(|(k, _)| k == "subject")
            .map(|p| p.1.clone()),
        class: pairs
            .iter()
            .filter(|(k, _)| k == "class")
            .map(|p| p.1.clone())
            .collect(),
    };
    let taught = progress::taught_by(&cx).await?;
    if taught.is_empty() {
        return Err(AppError::Forbidden);
    }
    let classes: Vec<NodeId> = q.class.iter().filter_map(|c| c.parse().ok()).collect();
    let Some(subject) = q.subject.filter(|_| !classes.is_empty()) else {
        let mut subjects: Vec<(String, String, Vec<TaughtClass>)> = Vec::new();
        for t in taught {
            match subjects.iter_mut().find(|s| s.0 == t.subject) {
                Some(s) => s.2.push(t),
                None => subjects.push((t.subject.clone(), t.subject_name.clone(), vec![t])),
            }
        }
        return Ok(render(&PickPage {
            ctx: page.ctx(),
            subjects,
        }));
    };
    let zone = cx.state.config.time_zone;
    let tomorrow = cx.today() + chrono::Days::new(1);
    let due = tomorrow
        .and_hms_opt(8, 0, 0)
        .and_then(|t| zone.at(t))
        .unwrap_or(cx.now);
    let d = Draft {
        kind: "homework".into(),
        subject,
        classes,
        category: "homework".into(),
        opens_at: zone.input(cx.now),
        due_at: zone.input(due),
        late_policy: "accept".into(),
        late_deduct: "20".into(),
        expected_minutes: "20".into(),
        written: true,
        total_points: "10".into(),
        time_limit: "40".into(),
        ..Draft::default()
    };
    form_page(&page, d, FieldErrors::new()).await
}

async fn form_page(page: &Page, mut d: Draft, errors: FieldErrors) -> AppResult<Response> {
    let cx = page.cx();
    let zone = cx.state.config.time_zone;
    let mut classes = Vec::new();
    for c in &d.classes {
        if !progress::teaches(&cx, *c, &d.subject) {
            return Err(AppError::NotFound("teaching.class_not_found"));
        }
        classes.push(ClassBlock {
            id: *c,
            label: crate::label(cx.db(), *c).await?,
            students: set::students_of(cx.db(), *c).await?,
        });
    }
    let (chapters, now) = match d.classes.first() {
        Some(c) => crate::lesson_prep::pages::chapters(&cx, *c, &d.subject).await?,
        None => (Vec::new(), None),
    };
    if d.catalog_id.is_none() && errors.is_empty() {
        d.catalog_id = now;
    }
    let mut placed = d.resources.clone();
    placed.extend(d.lesson_resource_id);
    let candidates = match d.catalog_id {
        Some(c) => crate::lesson_prep::pages::candidates(&cx, c, &placed).await?,
        None => Vec::new(),
    };
    let filter = bank::Filter {
        subject: d.subject.clone(),
        ..bank::Filter::default()
    };
    let mut offered = bank::list(&cx, &filter).await.unwrap_or_default();
    offered.extend(bank::list_shared(&cx, &filter).await.unwrap_or_default());
    let items = offered
        .into_iter()
        .map(|i| Offered {
            stem: crate::items::math::render(&i.stem.chars().take(80).collect::<String>()),
            points: i.points_text(),
            kind: i.kind,
            id: i.id,
        })
        .collect();
    // The day's written homework in each class, with this work's minutes when it is written.
    let mut loads = Vec::new();
    if let Some(opens) = zone.parse_input(&d.opens_at) {
        let mine = set::parse_minutes_or_zero(&d.expected_minutes);
        for c in &classes {
            let mut l = load::day(cx.db(), c.id, zone.date(opens), None).await?;
            if d.written && d.kind != "test" {
                l.minutes += mine;
                match l.subjects.iter_mut().find(|s| s.0 == d.subject) {
                    Some(s) => s.1 += mine,
                    None => l.subjects.push((d.subject.clone(), mine)),
                }
            }
            loads.push((c.label.clone(), l));
        }
    }
    Ok(render(&FormPage {
        ctx: page.ctx(),
        subject_name: resources::catalog::model::subject_name(&d.subject),
        d,
        classes,
        chapters,
        items,
        candidates,
        loads,
        kinds: KINDS,
        categories: CATEGORIES,
        late_policies: LATE_POLICIES,
        errors,
    }))
}

fn draft_of(pairs: &[(String, String)]) -> (Draft, bool) {
    let one = |k: &str| super::field(pairs, k);
    fn ids<T: std::str::FromStr>(pairs: &[(String, String)], k: &str) -> Vec<T> {
        pairs
            .iter()
            .filter(|(f, _)| f == k)
            .filter_map(|(_, v)| v.parse().ok())
            .collect()
    }
    let flag = |k: &str| pairs.iter().any(|(f, _)| f == k);
    let d = Draft {
        kind: one("kind"),
        subject: one("subject"),
        classes: ids(pairs, "class"),
        students: ids(pairs, "student"),
        title: one("title"),
        instructions: one("instructions"),
        catalog_id: one("catalog_id").parse().ok(),
        category: one("category"),
        opens_at: one("opens_at"),
        due_at: one("due_at"),
        late_policy: one("late_policy"),
        late_deduct: one("late_deduct"),
        expected_minutes: one("expected_minutes"),
        written: flag("written"),
        lesson_resource_id: one("lesson_resource_id").parse().ok(),
        resources: ids(pairs, "resource"),
        items: ids(pairs, "item"),
        total_points: one("total_points"),
        time_limit: one("time_limit"),
        shuffle_items: flag("shuffle_items"),
        shuffle_options: flag("shuffle_options"),
    };
    (d, one("action") == "check")
}

/// `POST /teaching/assignments`: sets the work, or ("check") shows the form again with the
/// day's load.
async fn create(
    page: Page,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let (d, check_only) = draft_of(&pairs);
    if check_only {
        return form_page(&page, d, FieldErrors::new()).await;
    }
    match set::create(&page.cx(), &d).await {
        Ok((id, over)) => {
            let done = if over.is_empty() {
                "assignment_set"
            } else {
                "assignment_set_over"
            };
            Ok(redirect(&format!("/teaching/assignments/{id}?done={done}")))
        }
        Err(AppError::Invalid(errors)) => form_page(&page, d, errors).await,
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// An assignment's progress.

#[derive(Template)]
#[template(path = "assignments/show.html")]
struct ShowPage {
    ctx: PageCtx,
    a: Assignment,
    access_grade: bool,
    own: bool,
    parts: Vec<(Part, String)>,
    attached: Vec<super::Attached>,
    classes: Vec<String>,
    subs: Vec<Submission>,
    counts: Counts,
    next: Option<SubmissionId>,
}

impl ShowPage {
    fn kind_key(&self) -> String {
        format!("assignments.kind.{}", self.a.kind)
    }
    fn category_key(&self) -> String {
        format!("assignments.category.{}", self.a.category)
    }
    fn is_lesson(&self, id: &ResourceId) -> bool {
        self.a.lesson_resource_id == Some(*id)
    }
}

async fn show(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (a, access) = super::get(&cx, id).await?;
    if a.is_test() {
        super::work::close_expired(cx.state, Some(a.id)).await?;
    }
    let subs = super::visible_submissions(&cx, &a, access).await?;
    let mut classes = Vec::new();
    for c in super::classes_of(cx.db(), id).await? {
        classes.push(crate::label(cx.db(), c).await?);
    }
    let parts = super::parts(cx.db(), id)
        .await?
        .into_iter()
        .map(|p| {
            let stem = crate::items::math::render(&p.stem);
            (p, stem)
        })
        .collect();
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        access_grade: access == Access::Grade,
        own: a.author_id == cx.actor.person_id,
        parts,
        attached: super::attached(cx.db(), id).await?,
        classes,
        next: grade::next_to_mark(&subs, None),
        subs,
        counts: super::counts(cx.db(), id).await?,
        a,
    }))
}

async fn release(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    grade::release(&page.cx(), id).await?;
    Ok(redirect(&format!(
        "/teaching/assignments/{id}?done=released"
    )))
}

async fn delete(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    set::delete(&page.cx(), id).await?;
    Ok(redirect("/teaching/assignments?done=assignment_deleted"))
}
