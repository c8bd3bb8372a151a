//! The teacher's pages: the assignments (with the head teacher's week of homework load), setting
//! work (the classes first, then the form with the day's load), an assignment's progress,
//! marking student by student on a phone, the gradebook and its export, and a region's
//! homework-load limits.

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

const PEN: &str = include_str!("../../static/pen.js");

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
    let items = bank::list(
        &cx,
        &bank::Filter {
            subject: d.subject.clone(),
            ..bank::Filter::default()
        },
    )
    .await
    .unwrap_or_default()
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

// ---------------------------------------------------------------------------------------------
// Paper: the test printed for a class without devices, and its marks typed a row per student.

/// One item on the printed paper.
pub struct PaperItem {
    pub number: usize,
    pub part: Part,
    pub stem: String,
    pub choices: Vec<String>,
}

#[derive(Template)]
#[template(path = "assignments/paper.html")]
struct PaperPage {
    ctx: PageCtx,
    a: Assignment,
    school: String,
    items: Vec<PaperItem>,
}

impl PaperPage {
    fn letter(&self, i: &usize) -> char {
        char::from(b'A' + u8::try_from(*i).unwrap_or(0))
    }
}

async fn paper(page: Page, IdPath(id): IdPath<AssignmentId>) -> AppResult<Response> {
    let cx = page.cx();
    let (a, _) = super::get(&cx, id).await?;
    let items = super::parts(cx.db(), id)
        .await?
        .into_iter()
        .enumerate()
        .map(|(n, p)| PaperItem {
            number: n + 1,
            stem: crate::items::math::render(&p.stem),
            choices: p
                .options()
                .choices
                .iter()
                .map(|c| crate::items::math::render(c))
                .collect(),
            part: p,
        })
        .collect();
    Ok(render(&PaperPage {
        ctx: page.ctx(),
        school: crate::label(cx.db(), a.school_id).await?,
        a,
        items,
    }))
}

#[derive(Deserialize)]
pub struct EntryQuery {
    class: Option<String>,
    done: Option<String>,
}

/// A student's row in the entry grid.
pub struct EntryRow {
    pub s: Submission,
    /// Per column: the cell's current points, and the seq of that mark (0: none).
    pub cells: Vec<(String, i64)>,
}

#[derive(Template)]
#[template(path = "assignments/entry.html")]
struct EntryPage {
    ctx: PageCtx,
    a: Assignment,
    /// The classes to choose from: (id, name), and the one shown.
    classes: Vec<(NodeId, String)>,
    class: NodeId,
    /// The columns: (position, number shown, full marks).
    columns: Vec<(i64, String, String)>,
    rows: Vec<EntryRow>,
    posted: Vec<(String, String)>,
    errors: FieldErrors,
}

impl EntryPage {
    fn value(&self, r: &EntryRow, i: &usize) -> String {
        let (pos, _, _) = &self.columns[*i];
        self.posted
            .iter()
            .find(|(k, _)| *k == format!("m.{}.{pos}", r.s.id))
            .map_or_else(|| r.cells[*i].0.clone(), |(_, v)| v.clone())
    }
    fn field(&self, r: &EntryRow, i: &usize) -> String {
        format!("m.{}.{}", r.s.id, self.columns[*i].0)
    }
    /// The seq the grid showed for a cell (kept as posted when the grid comes back).
    fn seen(&self, r: &EntryRow, i: &usize) -> String {
        let (pos, _, _) = &self.columns[*i];
        self.posted
            .iter()
            .find(|(k, _)| *k == format!("s.{}.{pos}", r.s.id))
            .map_or_else(|| r.cells[*i].1.to_string(), |(_, v)| v.clone())
    }
    fn seen_field(&self, r: &EntryRow, i: &usize) -> String {
        format!("s.{}.{}", r.s.id, self.columns[*i].0)
    }
    fn label(&self, i: &usize) -> &str {
        &self.columns[*i].1
    }
}

async fn entry_page(
    page: &Page,
    id: AssignmentId,
    class: Option<NodeId>,
    posted: Vec<(String, String)>,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let a = super::get_graded(&cx, id).await?;
    let graded = super::graded_classes(&cx, &a).await?;
    let class = class
        .filter(|c| graded.contains(c))
        .or(graded.first().copied())
        .ok_or(AppError::NotFound(super::NOT_FOUND))?;
    let mut classes = Vec::new();
    for c in &graded {
        classes.push((*c, crate::label(cx.db(), *c).await?));
    }
    let parts = super::parts(cx.db(), id).await?;
    let columns: Vec<(i64, String, String)> = if parts.is_empty() {
        vec![(
            WHOLE,
            page.ctx().t("assignments.whole").to_owned(),
            a.total_text(),
        )]
    } else {
        parts
            .iter()
            .enumerate()
            .map(|(n, p)| (p.position, (n + 1).to_string(), p.points_text()))
            .collect()
    };
    let mut rows = Vec::new();
    for s in super::visible_submissions(&cx, &a, Access::Grade)
        .await?
        .into_iter()
        .filter(|s| s.class_id == class)
    {
        let latest = grade::history(cx.db(), s.id).await?;
        let latest = grade::latest(&latest);
        let cells = columns
            .iter()
            .map(|(pos, _, _)| {
                latest
                    .iter()
                    .find(|m| m.position == *pos)
                    .map(|m| (m.points_text(), m.seq))
                    .unwrap_or_default()
            })
            .collect();
        rows.push(EntryRow { s, cells });
    }
    Ok(render(&EntryPage {
        ctx: page.ctx().with_notice(done),
        a,
        classes,
        class,
        columns,
        rows,
        posted,
        errors,
    }))
}

async fn entry(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    Query(q): Query<EntryQuery>,
) -> AppResult<Response> {
    let class = q.class.as_deref().and_then(|c| c.parse().ok());
    entry_page(
        &page,
        id,
        class,
        Vec::new(),
        FieldErrors::new(),
        q.done.as_deref(),
    )
    .await
}

/// `POST /teaching/assignments/{id}/entry`: the grid's cells `m.{submission}.{position}`.
async fn save_entry(
    page: Page,
    IdPath(id): IdPath<AssignmentId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let class: Option<NodeId> = pairs
        .iter()
        .find(|(k, _)| k == "class")
        .and_then(|(_, v)| v.parse().ok());
    let mut rows: Vec<grade::EntryRow> = Vec::new();
    for (k, v) in &pairs {
        let Some(rest) = k.strip_prefix("m.") else {
            continue;
        };
        let Some((sub, pos)) = rest.split_once('.') else {
            continue;
        };
        let (Ok(sub), Ok(pos)) = (sub.parse::<SubmissionId>(), pos.parse::<i64>()) else {
            continue;
        };
        let seen = super::field(&pairs, &format!("s.{sub}.{pos}")).parse().ok();
        match rows.iter_mut().find(|r| r.0 == sub) {
            Some(r) => r.1.push((pos, v.clone(), seen)),
            None => rows.push((sub, vec![(pos, v.clone(), seen)])),
        }
    }
    match grade::enter(&cx, id, &rows).await {
        Ok(_) => Ok(redirect(&format!(
            "/teaching/assignments/{id}/entry?class={}&done=entered",
            class.map(|c| c.to_string()).unwrap_or_default()
        ))),
        Err(AppError::Invalid(e)) => entry_page(&page, id, class, pairs, e, None).await,
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------------------------
// Marking.

/// One answer on the marking page.
pub struct Marking {
    pub part: Part,
    pub number: usize,
    pub stem: String,
    /// The student's answer in words.
    pub answer: String,
    pub photos: Vec<Photo>,
    pub latest: Option<Mark>,
    pub rubric: Vec<crate::items::form::Criterion>,
    pub key: String,
}

impl Marking {
    fn seen(&self) -> i64 {
        self.latest.as_ref().map_or(0, |m| m.seq)
    }
    fn waits(&self) -> bool {
        self.latest.as_ref().is_none_or(|m| m.points.is_none())
    }
}

#[derive(Template)]
#[template(path = "assignments/mark.html")]
struct MarkPage {
    ctx: PageCtx,
    a: Assignment,
    s: Submission,
    class: String,
    answers: Vec<Marking>,
    whole: Option<Marking>,
    history: Vec<Mark>,
    place: usize,
    of: usize,
    previous: Option<SubmissionId>,
    next: Option<SubmissionId>,
    /// A test's results go out together: no returning one by one before its release.
    may_return: bool,
    /// The form as posted, when it comes back with errors.
    posted: Vec<(String, String)>,
    errors: FieldErrors,
}

impl MarkPage {
    fn mark_number(&self, m: &Mark) -> String {
        if m.position == WHOLE {
            String::new()
        } else {
            self.answers
                .iter()
                .find(|a| a.part.position == m.position)
                .map(|a| a.number.to_string())
                .unwrap_or_default()
        }
    }
    fn posted(&self, field: &str) -> Option<&str> {
        self.posted
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
    }
    /// A field's value: as posted when the form came back, else from the latest mark.
    fn points_value(&self, m: &Marking) -> String {
        self.posted(&format!("points.{}", m.part.position))
            .map(str::to_owned)
            .unwrap_or_else(|| m.latest.as_ref().map(Mark::points_text).unwrap_or_default())
    }
    fn comment(&self, m: &Marking) -> String {
        self.posted(&format!("comment.{}", m.part.position))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                m.latest
                    .as_ref()
                    .map(|x| x.comment.clone())
                    .unwrap_or_default()
            })
    }
    fn reason(&self, m: &Marking) -> String {
        self.posted(&format!("reason.{}", m.part.position))
            .unwrap_or_default()
            .to_owned()
    }
    fn feedback(&self) -> String {
        self.posted("feedback")
            .map_or_else(|| self.s.feedback.clone(), str::to_owned)
    }
    fn level_chosen(&self, m: &Marking, criterion: &str, level: &str) -> bool {
        let field = format!("level.{}.{criterion}", m.part.position);
        if !self.posted.is_empty() {
            return self.posted(&field) == Some(level);
        }
        m.latest
            .as_ref()
            .is_some_and(|x| x.levels().iter().any(|(c, l)| c == criterion && l == level))
    }
    /// A hidden field's value: as posted when the form came back, else `shown`.
    fn kept(&self, field: &str, shown: String) -> String {
        self.posted(field).map_or(shown, str::to_owned)
    }
    fn seen(&self, m: &Marking) -> String {
        self.kept(&format!("seen.{}", m.part.position), m.seen().to_string())
    }
    fn points_was(&self, m: &Marking) -> String {
        self.kept(
            &format!("points_was.{}", m.part.position),
            m.latest.as_ref().map(Mark::points_text).unwrap_or_default(),
        )
    }
    fn levels_was(&self, m: &Marking) -> String {
        self.kept(
            &format!("levels_was.{}", m.part.position),
            m.latest
                .as_ref()
                .map(|x| x.rubric.clone())
                .unwrap_or_else(|| "[]".to_owned()),
        )
    }
    fn strokes(&self, p: &Photo) -> String {
        self.posted(&format!("annotation.{}", p.id))
            .map_or_else(|| p.annotation_json(), str::to_owned)
    }
    fn strokes_was(&self, p: &Photo) -> String {
        self.posted(&format!("annotation_was.{}", p.id))
            .map_or_else(|| p.annotation_json(), str::to_owned)
    }
}

/// An answer in words, for the teacher: letters, texts, pairs.
pub fn answer_words(p: &Part, a: Option<&Answer>) -> String {
    let letter = |i: &usize| char::from(b'A' + u8::try_from(*i).unwrap_or(0)).to_string();
    let o = p.options();
    match a {
        None => String::new(),
        Some(Answer::Choice { chosen }) => chosen.iter().map(letter).collect::<Vec<_>>().join(""),
        Some(Answer::TrueFalse { value }) => (if *value { "对" } else { "错" }).to_owned(),
        Some(Answer::Texts { texts }) => texts.join("；"),
        Some(Answer::Pairs { pairs }) => o
            .left
            .iter()
            .zip(pairs)
            .map(|(l, r)| {
                format!(
                    "{l} — {}",
                    r.and_then(|r| o.right.get(r).cloned()).unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join("；"),
        Some(Answer::Order { order }) => order
            .iter()
            .filter_map(|i| o.choices.get(*i).cloned())
            .collect::<Vec<_>>()
            .join(" → "),
        Some(Answer::Written { text, .. }) => text.clone(),
    }
}

async fn mark_page_of(
    page: &Page,
    id: SubmissionId,
    posted: Vec<(String, String)>,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (a, s) = super::graded_submission(&cx, id).await?;
    let parts = super::parts(cx.db(), a.id).await?;
    let answers = grade::answers(cx.db(), id).await?;
    let history = grade::history(cx.db(), id).await?;
    let latest = grade::latest(&history);
    let photos = photos::of(cx.db(), id).await?;
    let layout = s.layout();
    let mut shown: Vec<Marking> = Vec::new();
    let order: Vec<i64> = if layout.order.len() == parts.len() {
        layout.order.clone()
    } else {
        parts.iter().map(|p| p.position).collect()
    };
    for (n, pos) in order.iter().enumerate() {
        let Some(p) = parts.iter().find(|p| p.position == *pos) else {
            continue;
        };
        let answer = answers.iter().find(|x| x.0 == *pos).map(|x| &x.1);
        shown.push(Marking {
            number: n + 1,
            stem: crate::items::math::render(&p.stem),
            answer: answer_words(p, answer),
            photos: photos
                .iter()
                .filter(|f| f.position == *pos)
                .cloned()
                .collect(),
            latest: latest
                .iter()
                .find(|m| m.position == *pos)
                .map(|m| (*m).clone()),
            rubric: p.options().rubric,
            key: crate::items::math::render(&p.explanation),
            part: p.clone(),
        });
    }
    let whole = parts.is_empty().then(|| Marking {
        number: 0,
        stem: String::new(),
        answer: String::new(),
        photos: photos
            .iter()
            .filter(|f| f.position == WHOLE)
            .cloned()
            .collect(),
        latest: latest
            .iter()
            .find(|m| m.position == WHOLE)
            .map(|m| (*m).clone()),
        rubric: Vec::new(),
        key: String::new(),
        part: Part {
            position: WHOLE,
            item_id: ItemId(uuid::Uuid::nil()),
            item_version: 0,
            kind: "essay".into(),
            stem: String::new(),
            options: "{}".into(),
            answer_key: "{\"type\":\"manual\"}".into(),
            explanation: String::new(),
            points: a.total_points,
        },
    });
    let all = super::visible_submissions(&cx, &a, Access::Grade).await?;
    let handed: Vec<&Submission> = all.iter().filter(|x| x.submitted_at.is_some()).collect();
    let place = handed.iter().position(|x| x.id == id).map_or(0, |i| i + 1);
    let previous = place
        .checked_sub(2)
        .and_then(|i| handed.get(i))
        .map(|x| x.id);
    Ok(render(&MarkPage {
        ctx: page.ctx().with_notice(done),
        class: crate::label(cx.db(), s.class_id).await?,
        next: grade::next_to_mark(&all, Some(id)),
        of: handed.len(),
        may_return: !a.is_test() || a.released_at.is_some(),
        place,
        previous,
        answers: shown,
        whole,
        history,
        posted,
        a,
        s,
        errors,
    }))
}

async fn mark_page(
    page: Page,
    IdPath(id): IdPath<SubmissionId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    mark_page_of(&page, id, Vec::new(), FieldErrors::new(), q.done.as_deref()).await
}

/// The marks a marking form posts: per item `points.{pos}`, `comment.{pos}`, `reason.{pos}`,
/// `level.{pos}.{criterion}`, and `seen.{pos}` (the seq of the mark shown) with the levels
/// shown (`levels_was.{pos}`). Rubric levels changed and points not: the levels' sum.
fn given_marks(parts: &[Part], pairs: &[(String, String)]) -> Vec<Given> {
    let one = |k: &str| super::field(pairs, k);
    let mut positions: Vec<i64> = parts.iter().map(|p| p.position).collect();
    if parts.is_empty() {
        positions.push(WHOLE);
    }
    let mut given = Vec::new();
    for pos in positions {
        if !pairs.iter().any(|(k, _)| *k == format!("points.{pos}")) {
            continue;
        }
        let prefix = format!("level.{pos}.");
        let rubric: Vec<(String, String)> = pairs
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(&prefix)
                    .filter(|_| !v.is_empty())
                    .map(|c| (c.to_owned(), v.clone()))
            })
            .collect();
        let criteria = parts
            .iter()
            .find(|p| p.position == pos)
            .map(|p| p.options().rubric)
            .unwrap_or_default();
        let levels_sum = || -> String {
            let sum: i64 = rubric
                .iter()
                .filter_map(|(c, l)| {
                    criteria
                        .iter()
                        .find(|x| x.name == *c)
                        .and_then(|x| x.levels.iter().find(|v| v.0 == *l))
                        .map(|v| v.1)
                })
                .sum();
            super::points_text(sum)
        };
        let mut points = one(&format!("points.{pos}"));
        let levels_now = serde_json::to_string(&rubric).unwrap_or_default();
        let levels_changed = !rubric.is_empty() && levels_now != one(&format!("levels_was.{pos}"));
        let points_kept = points.trim() == one(&format!("points_was.{pos}")).trim();
        if !rubric.is_empty() && (points.trim().is_empty() || (levels_changed && points_kept)) {
            points = levels_sum();
        }
        given.push(Given {
            position: pos,
            points,
            rubric,
            comment: one(&format!("comment.{pos}")),
            reason: one(&format!("reason.{pos}")),
            seen: one(&format!("seen.{pos}")).parse().ok(),
        });
    }
    given
}

/// `POST /teaching/submissions/{id}`: the marks (see [`given_marks`]), the pen's strokes
/// (`annotation.{photo}`, with `annotation_was.{photo}` as shown), the feedback; `action` =
/// `save`, `return` (give it back) or `next` (give it back and go on). Everything is checked
/// before anything is written; a form with errors comes back as posted.
async fn mark(
    page: Page,
    IdPath(id): IdPath<SubmissionId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (a, s) = super::graded_submission(&cx, id).await?;
    let one = |k: &str| super::field(&pairs, k);
    let parts = super::parts(cx.db(), a.id).await?;
    let given = given_marks(&parts, &pairs);
    let mut errors = FieldErrors::new();
    // The pen: checked first, written after the marks, only where it was used.
    let mut pens = Vec::new();
    for (k, v) in &pairs {
        let Some(photo) = k.strip_prefix("annotation.") else {
            continue;
        };
        let Ok(photo) = photo.parse::<PhotoId>() else {
            continue;
        };
        let was = one(&format!("annotation_was.{photo}"));
        if *v == was {
            continue;
        }
        match photos::parse_strokes(v) {
            Ok(strokes) => pens.push((photo, strokes, was)),
            Err(key) => errors.add(k, key),
        }
    }
    if !errors.is_empty() {
        return mark_page_of(&page, id, pairs, errors, None).await;
    }
    if let Err(e) = grade::mark(&cx, id, &given).await {
        match e {
            AppError::Invalid(f) => return mark_page_of(&page, id, pairs, f, None).await,
            other => return Err(other),
        }
    }
    for (photo, strokes, was) in &pens {
        match photos::annotate(&cx, *photo, strokes, was).await {
            Ok(_) => {}
            Err(AppError::Invalid(f)) => errors.0.extend(f.0),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        // The marks are saved; the pen that met a newer one comes back. The form shows the
        // marks as they are now, so saving it again does not meet its own marks.
        let kept: Vec<(String, String)> = pairs
            .into_iter()
            .filter(|(k, _)| {
                !k.starts_with("seen.")
                    && !k.starts_with("points_was.")
                    && !k.starts_with("levels_was.")
            })
            .collect();
        return mark_page_of(&page, id, kept, errors, None).await;
    }
    let action = one("action");
    let feedback = one("feedback");
    if action == "return" || action == "next" {
        match grade::give_back(&cx, id, &feedback).await {
            Ok(()) => {}
            Err(AppError::Conflict(
                code @ ("teaching.not_graded" | "teaching.not_released"),
                _,
            )) => {
                let mut f = FieldErrors::new();
                f.add("feedback", &format!("error.{code}"));
                return mark_page_of(&page, id, pairs, f, None).await;
            }
            Err(e) => return Err(e),
        }
    } else if s.returned_at.is_some() && feedback.trim() != s.feedback {
        grade::give_back(&cx, id, &feedback).await?;
    }
    if action == "next" {
        let all = super::visible_submissions(&cx, &a, Access::Grade).await?;
        return Ok(match grade::next_to_mark(&all, Some(id)) {
            Some(n) => redirect(&format!("/teaching/submissions/{n}?done=returned")),
            None => redirect(&format!("/teaching/assignments/{}?done=all_marked", a.id)),
        });
    }
    let done = if action == "return" {
        "returned"
    } else {
        "marked"
    };
    Ok(redirect(&format!("/teaching/submissions/{id}?done={done}")))
}

// ---------------------------------------------------------------------------------------------
// The gradebook.

#[derive(Deserialize)]
pub struct BookQuery {
    class: Option<String>,
    subject: Option<String>,
    term: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "assignments/gradebook.html")]
struct BookPage {
    ctx: PageCtx,
    b: gradebook::Book,
    terms: Vec<(String, String)>,
    categories: [&'static str; 3],
    errors: FieldErrors,
}

impl BookPage {
    fn cell(&self, s: &Option<Submission>) -> String {
        match s {
            None => "—".to_owned(),
            Some(s) if s.graded() => s.score_text(),
            Some(s) if s.submitted_at.is_some() => self.ctx.t("assignments.cell_waits").to_owned(),
            Some(_) => self.ctx.t("assignments.cell_missing").to_owned(),
        }
    }
    fn query(&self) -> String {
        format!(
            "class={}&subject={}&term={}",
            self.b.class_id, self.b.subject, self.b.term
        )
    }
}

async fn book_args(cx: &Ctx<'_>, q: &BookQuery) -> AppResult<(NodeId, String, String)> {
    let class: NodeId = q
        .class
        .as_deref()
        .and_then(|c| c.parse().ok())
        .ok_or(AppError::NotFound("teaching.class_not_found"))?;
    let subject = q.subject.clone().unwrap_or_default();
    let term = match &q.term {
        Some(t) => t.clone(),
        None => match directory::nodes::find(cx.db(), class)
            .await?
            .and_then(|n| n.school_id)
        {
            Some(school) => set::term_of(cx.db(), school, cx.today())
                .await?
                .map(|t| t.to_string())
                .unwrap_or_default(),
            None => String::new(),
        },
    };
    Ok((class, subject, term))
}

async fn book_page(page: &Page, q: &BookQuery, errors: FieldErrors) -> AppResult<Response> {
    let cx = page.cx();
    let (class, subject, term) = book_args(&cx, q).await?;
    let b = gradebook::book(&cx, class, &subject, &term).await?;
    let terms = gradebook::terms(cx.db(), class)
        .await?
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect();
    Ok(render(&BookPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        b,
        terms,
        categories: CATEGORIES,
        errors,
    }))
}

async fn book(page: Page, Query(q): Query<BookQuery>) -> AppResult<Response> {
    book_page(&page, &q, FieldErrors::new()).await
}

#[derive(Deserialize)]
pub struct WeightsForm {
    class: String,
    subject: String,
    term: String,
    weight_homework: String,
    weight_quiz: String,
    weight_exam: String,
}

async fn weights(page: Page, CsrfForm(f): CsrfForm<WeightsForm>) -> AppResult<Response> {
    let cx = page.cx();
    let class: NodeId = f
        .class
        .parse()
        .map_err(|_| AppError::NotFound("teaching.class_not_found"))?;
    let typed = [
        f.weight_homework.clone(),
        f.weight_quiz.clone(),
        f.weight_exam.clone(),
    ];
    let q = BookQuery {
        class: Some(f.class.clone()),
        subject: Some(f.subject.clone()),
        term: Some(f.term.clone()),
        done: None,
    };
    match gradebook::set_weights(&cx, class, &f.subject, &f.term, &typed).await {
        Ok(()) => Ok(redirect(&format!(
            "/teaching/gradebook?class={}&subject={}&term={}&done=weights_saved",
            f.class, f.subject, f.term
        ))),
        Err(AppError::Invalid(e)) => book_page(&page, &q, e).await,
        Err(e) => Err(e),
    }
}

async fn export(page: Page, Query(q): Query<BookQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let (class, subject, term) = book_args(&cx, &q).await?;
    let b = gradebook::book(&cx, class, &subject, &term).await?;
    let ctx = page.ctx();
    let names = CATEGORIES.map(|c| ctx.t(&format!("assignments.category.{c}")).to_owned());
    let bytes = gradebook::xlsx(&b, &names, ctx.t("assignments.weighted"))?;
    let name = format!(
        "{} {} 成绩登记表.xlsx",
        b.class,
        resources::catalog::model::subject_name(&b.subject)
    );
    Ok(web::attachment(
        &name,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        bytes,
    ))
}

// ---------------------------------------------------------------------------------------------
// A region's homework-load limits.

#[derive(Deserialize)]
pub struct LimitsQuery {
    region: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "assignments/limits.html")]
struct LimitsPage {
    ctx: PageCtx,
    region: NodeId,
    label: String,
    grades: Vec<load::GradeLimit>,
    typed: Vec<(String, String)>,
    errors: FieldErrors,
}

impl LimitsPage {
    fn value(&self, g: &load::GradeLimit) -> String {
        let f = g.field();
        self.typed
            .iter()
            .find(|(k, _)| *k == f)
            .map_or_else(|| g.set_text(), |(_, v)| v.clone())
    }
}

fn region_of(cx: &Ctx<'_>, q: Option<&str>) -> AppResult<NodeId> {
    match q.and_then(|r| r.parse().ok()) {
        Some(r) => Ok(r),
        None => cx
            .actor
            .grants_of(Role::Admin)
            .find(|g| matches!(g.node_kind.as_str(), "province" | "city" | "district"))
            .map(|g| g.node_id)
            .ok_or(AppError::Forbidden),
    }
}

async fn limits_page(
    page: &Page,
    region: NodeId,
    typed: Vec<(String, String)>,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let grades = load::of_region(&cx, region).await?;
    Ok(render(&LimitsPage {
        ctx: page.ctx().with_notice(done),
        label: crate::label(cx.db(), region).await?,
        region,
        grades,
        typed,
        errors,
    }))
}

async fn limits(page: Page, Query(q): Query<LimitsQuery>) -> AppResult<Response> {
    let region = region_of(&page.cx(), q.region.as_deref())?;
    limits_page(
        &page,
        region,
        Vec::new(),
        FieldErrors::new(),
        q.done.as_deref(),
    )
    .await
}

async fn save_limits(
    page: Page,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let region_field = pairs
        .iter()
        .find(|(k, _)| k == "region")
        .map(|(_, v)| v.as_str());
    let region = region_of(&cx, region_field)?;
    match load::set_region(&cx, region, &pairs).await {
        Ok(()) => Ok(redirect(&format!(
            "/teaching/homework-limits?region={region}&done=limits_saved"
        ))),
        Err(AppError::Invalid(e)) => limits_page(&page, region, pairs, e, None).await,
        Err(e) => Err(e),
    }
}
