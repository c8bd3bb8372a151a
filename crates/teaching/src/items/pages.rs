//! The question bank's pages: the school's items (filtered by subject, type, knowledge point or
//! author), the editor for each type, an item with its key and a form to try it, marked as a
//! student's answer would be.

use super::bank::{self, Filter, Item, ItemId, Place};
use super::form::{Draft, KINDS, Options};
use super::score::{self, Answer, Key, Marked};
use crate::knowledge::{self, Point, PointId};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::{get, post};
use kernel::{AppError, AppResult, AppState, CatalogId, Ctx, FieldErrors};
use resources::catalog::progress;
use serde::Deserialize;
use web::{CsrfForm, CsrfToken, IdPath, Page, PageCtx, redirect, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teaching/items", get(list).post(create))
        .route("/teaching/items/new", get(new))
        .route("/teaching/items/{id}", get(show).post(save))
        .route("/teaching/items/{id}/edit", get(edit))
        .route("/teaching/items/{id}/try", post(try_it))
        .route("/teaching/items/{id}/delete", post(delete))
        .route("/teaching/items/{id}/share", post(share))
        .route("/teaching/items/{id}/audio", get(audio))
        .route("/teaching/items/template.xlsx", get(template))
        .route("/teaching/items/export.zip", get(export))
}

/// A listening item's recording, for whoever may see the item (or the work or practice set it
/// is in: the caller checks): the library file as it now stands, served with ranges.
pub(crate) async fn serve_audio(
    cx: &Ctx<'_>,
    audio: kernel::ResourceId,
    headers: &axum::http::HeaderMap,
) -> AppResult<Response> {
    let gone = || AppError::NotFound("resources.no_file");
    let r = resources::library::resource::find(cx.db(), audio)
        .await?
        .filter(|r| r.deleted_at.is_none())
        .ok_or_else(gone)?;
    let hash = r.blob_hash.clone().ok_or_else(gone)?;
    let b = resources::files::blob::find(cx.db(), &hash)
        .await?
        .filter(|b| b.category == "audio")
        .ok_or_else(gone)?;
    let name = r.file_name.clone().unwrap_or_else(|| r.title.clone());
    resources::files::serve::respond_blob(
        cx.state,
        &b,
        headers,
        resources::files::serve::Disposition::inline(&name),
    )
    .await
}

/// `GET /teaching/items/{id}/audio`: the item's recording.
async fn audio(
    page: Page,
    IdPath(id): IdPath<ItemId>,
    headers: axum::http::HeaderMap,
) -> AppResult<Response> {
    let cx = page.cx();
    let item = bank::get(&cx, id).await?;
    let audio = item.audio_id.ok_or(AppError::NotFound(bank::NOT_FOUND))?;
    serve_audio(&cx, audio, &headers).await
}

/// The spreadsheet import: served under the spreadsheet upload limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/teaching/items/import", post(upload))
}

/// `POST /teaching/items/import`: a spreadsheet of items, all or nothing.
async fn upload(page: Page, form: axum::extract::Multipart) -> AppResult<Response> {
    use super::import::{self, ImportError};
    use axum::response::IntoResponse;
    let staged = resources::catalog::pages::import::receive(&page.state, form).await?;
    page.session
        .verify_csrf(staged.field("csrf").unwrap_or_default())?;
    let cx = page.cx();
    let (status, imported, rejected) = match staged.file_name.clone() {
        None => (
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(import::Rejected {
                file_name: String::new(),
                file_error: Some(page.ctx().t("error.import.no_file").to_owned()),
                problem_count: 1,
                problems: Vec::new(),
            }),
        ),
        Some(name) if name.to_ascii_lowercase().ends_with(".zip") => {
            let place = staged.field("subject").unwrap_or_default();
            let taught = subjects(&cx).await?;
            let chosen = taught
                .iter()
                .find(|(stage, subject, _)| format!("{stage}:{subject}") == place);
            let result = match chosen {
                Some((stage, subject, _)) => {
                    import::run_qti(&cx, &name, &staged.path, stage, subject).await
                }
                None => Err(ImportError::Rejected(import::Rejected {
                    file_name: name.clone(),
                    file_error: Some(format!(
                        "{name}：{}",
                        page.ctx().t("error.teaching.qti_subject")
                    )),
                    problem_count: 1,
                    problems: Vec::new(),
                })),
            };
            match result {
                Ok(done) => (axum::http::StatusCode::OK, Some(done), None),
                Err(ImportError::Rejected(r)) => {
                    (axum::http::StatusCode::UNPROCESSABLE_ENTITY, None, Some(r))
                }
                Err(ImportError::App(e)) => return Err(e),
            }
        }
        Some(name) => match import::run(&cx, &name, &staged.path).await {
            Ok(done) => (axum::http::StatusCode::OK, Some(done), None),
            Err(ImportError::Rejected(r)) => {
                (axum::http::StatusCode::UNPROCESSABLE_ENTITY, None, Some(r))
            }
            Err(ImportError::App(e)) => return Err(e),
        },
    };
    let filter = Filter::default();
    Ok((
        status,
        render(&ListPage {
            ctx: page.ctx(),
            items: bank::list(&cx, &filter).await?,
            filter,
            kinds: KINDS,
            subjects: subjects(&cx).await?,
            imported,
            rejected,
        }),
    )
        .into_response())
}

/// The import's template.
async fn template(_session: web::Session) -> AppResult<Response> {
    let file = super::import::template()?;
    Ok(web::attachment(&file.name, file.content_type, file.bytes))
}

/// `GET /teaching/items/export.zip[?subject=&kind=&mine=]`: the items the list shows (all of
/// them, not only its first page) as a QTI 2.1 package.
async fn export(page: Page, Query(f): Query<Filter>) -> AppResult<Response> {
    let cx = page.cx();
    let items = bank::list_up_to(&cx, &f, super::qti::MAX_ITEMS as i64).await?;
    let drafts: Vec<(String, Draft)> = items
        .iter()
        .map(|i| (format!("JY-{}", i.id), draft_of(i)))
        .collect();
    let zip = tokio::task::spawn_blocking(move || super::qti::package(&drafts))
        .await
        .map_err(AppError::internal)?
        .map_err(AppError::internal)?;
    if let Some(school) = bank::school_of(&cx).await? {
        let mut tx = cx.begin().await?;
        cx.audit(
            &mut tx,
            kernel::audit::AuditEvent::new("item.export")
                .object("node", school)
                .node(school)
                .detail(serde_json::json!({ "items": items.len(), "format": "qti21" })),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(web::attachment("items-qti21.zip", "application/zip", zip))
}

/// A stage and subject the teacher teaches: (stage code, subject code, subject name).
async fn subjects(cx: &Ctx<'_>) -> AppResult<Vec<(String, String, String)>> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for t in progress::taught_by(cx).await? {
        // A class's stage is its own, else its grade's.
        let Some(class) = directory::nodes::find(cx.db(), t.class_id).await? else {
            continue;
        };
        let grade = match class.parent_id {
            Some(g) => directory::nodes::find(cx.db(), g).await?,
            None => None,
        };
        let Some(stage) = class.stages.or(grade.and_then(|g| g.stages)) else {
            continue;
        };
        if !out
            .iter()
            .any(|(st, su, _)| *st == stage && *su == t.subject)
        {
            out.push((stage, t.subject, t.subject_name));
        }
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "items/list.html")]
struct ListPage {
    ctx: PageCtx,
    items: Vec<Item>,
    filter: Filter,
    kinds: [&'static str; 11],
    subjects: Vec<(String, String, String)>,
    imported: Option<super::import::Imported>,
    rejected: Option<super::import::Rejected>,
}

impl ListPage {
    fn stem(&self, i: &Item) -> String {
        let s: String = i.stem.chars().take(80).collect();
        super::math::render(&s)
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(flatten)]
    filter: Filter,
    done: Option<String>,
}

async fn list(page: Page, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let items = if q.filter.shared.is_empty() {
        bank::list(&cx, &q.filter).await?
    } else {
        bank::list_shared(&cx, &q.filter).await?
    };
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        items,
        filter: q.filter,
        kinds: KINDS,
        subjects: subjects(&cx).await?,
        imported: None,
        rejected: None,
    }))
}

#[derive(Template)]
#[template(path = "items/form.html")]
struct FormPage {
    ctx: PageCtx,
    item: Option<Item>,
    draft: Draft,
    stage: String,
    subject: String,
    subject_name: String,
    chapters: Vec<(CatalogId, String)>,
    chapter: Option<CatalogId>,
    points: Vec<Point>,
    chosen: Vec<PointId>,
    errors: FieldErrors,
}

impl FormPage {
    fn picked(&self, id: &PointId) -> bool {
        self.chosen.contains(id)
    }
    fn is_chapter(&self, id: &CatalogId) -> bool {
        self.chapter == Some(*id)
    }
    fn hint(&self) -> String {
        format!("items.hint.{}", self.draft.kind)
    }
}

/// The chapters of the volumes the teacher's classes study in the subject, and the knowledge
/// points of the stage and subject in the teacher's regions.
async fn places(
    cx: &Ctx<'_>,
    stage: &str,
    subject: &str,
) -> AppResult<(Vec<(CatalogId, String)>, Vec<Point>)> {
    let mut chapters: Vec<(CatalogId, String)> = Vec::new();
    for t in progress::taught_by(cx)
        .await?
        .into_iter()
        .filter(|t| t.subject == subject)
    {
        if let Some((_, volume)) =
            progress::volume_of_class(cx.db(), t.class_id, subject, cx.today()).await?
        {
            for u in resources::catalog::tree::outline(cx.db(), volume.id).await? {
                let mut push = |id: CatalogId, name: String| {
                    if !chapters.iter().any(|c| c.0 == id) {
                        chapters.push((id, name));
                    }
                };
                push(u.unit.id, format!("{} {}", volume.name, u.unit.name));
                for s in u.sections {
                    push(
                        s.id,
                        format!("{} {} · {}", volume.name, u.unit.name, s.name),
                    );
                }
            }
        }
    }
    let mut points = Vec::new();
    for r in resources::catalog::tree::regions_for(cx.db(), cx.actor).await? {
        points.extend(knowledge::tree(cx.db(), r, stage, subject, false).await?);
    }
    Ok((chapters, points))
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    page: &Page,
    item: Option<Item>,
    draft: Draft,
    stage: String,
    subject: String,
    chapter: Option<CatalogId>,
    chosen: Vec<PointId>,
    errors: FieldErrors,
) -> AppResult<Response> {
    let cx = page.cx();
    let (chapters, points) = places(&cx, &stage, &subject).await?;
    Ok(render(&FormPage {
        ctx: page.ctx(),
        item,
        draft,
        subject_name: resources::catalog::model::subject_name(&subject),
        stage,
        subject,
        chapters,
        chapter,
        points,
        chosen,
        errors,
    }))
}

#[derive(Deserialize)]
pub struct NewQuery {
    kind: Option<String>,
    subject: Option<String>,
}

async fn new(page: Page, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let subjects = subjects(&cx).await?;
    let (stage, subject, _) = subjects
        .iter()
        .find(|s| Some(&s.1) == q.subject.as_ref())
        .or(subjects.first())
        .cloned()
        .ok_or(AppError::Forbidden)?;
    let kind = q
        .kind
        .filter(|k| KINDS.contains(&k.as_str()))
        .unwrap_or_else(|| "single".into());
    let draft = Draft {
        kind,
        points: "2".into(),
        difficulty: "3".into(),
        ..Default::default()
    };
    form_page(
        &page,
        None,
        draft,
        stage,
        subject,
        None,
        Vec::new(),
        FieldErrors::new(),
    )
    .await
}

/// The editor's fields besides the draft's own.
struct Posted {
    draft: Draft,
    place: Place,
    version: i64,
}

fn posted(pairs: &[(String, String)]) -> AppResult<Posted> {
    let draft: Draft = serde_urlencoded::from_str(
        &serde_urlencoded::to_string(
            pairs
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "point_ids" | "csrf"))
                .collect::<Vec<_>>(),
        )
        .map_err(|_| AppError::BadRequest("invalid_form"))?,
    )
    .map_err(|_| AppError::BadRequest("invalid_form"))?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    Ok(Posted {
        place: Place {
            stage: get("stage"),
            subject: get("subject"),
            catalog_id: get("catalog_id").parse().ok().map(CatalogId),
            points: pairs
                .iter()
                .filter(|(k, _)| k == "point_ids")
                .filter_map(|(_, v)| v.parse().ok())
                .collect(),
        },
        version: get("version").parse().unwrap_or(0),
        draft,
    })
}

async fn create(
    page: Page,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let p = posted(&pairs)?;
    match bank::create(&page.cx(), &p.draft, &p.place).await {
        Ok(id) => Ok(redirect(&format!("/teaching/items/{id}?done=item_saved"))),
        Err(AppError::Invalid(e)) => {
            form_page(
                &page,
                None,
                p.draft,
                p.place.stage,
                p.place.subject,
                p.place.catalog_id,
                p.place.points,
                e,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

async fn edit(page: Page, IdPath(id): IdPath<ItemId>) -> AppResult<Response> {
    let cx = page.cx();
    let item = bank::get(&cx, id).await?;
    if item.author_id != cx.actor.person_id {
        return Err(AppError::Forbidden);
    }
    let draft = draft_of(&item);
    let chosen = bank::points_of(cx.db(), id)
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    let (stage, subject, chapter) = (item.stage.clone(), item.subject.clone(), item.catalog_id);
    form_page(
        &page,
        Some(item),
        draft,
        stage,
        subject,
        chapter,
        chosen,
        FieldErrors::new(),
    )
    .await
}

/// The editor's fields for a stored item (the inverse of `form::check`).
pub(crate) fn draft_of(i: &Item) -> Draft {
    let o = i.options();
    let letters = |v: &[usize]| {
        v.iter()
            .map(|x| char::from(b'A' + *x as u8))
            .collect::<String>()
    };
    let (choices, answer, partial, any_order) = match i.key() {
        Key::Single { correct } => (
            o.choices.join("\n"),
            letters(&[correct]),
            String::new(),
            String::new(),
        ),
        Key::Multiple { correct, partial } => (
            o.choices.join("\n"),
            letters(&correct),
            serde_json::to_value(partial)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            String::new(),
        ),
        Key::TrueFalse { correct } => (
            String::new(),
            if correct { "对" } else { "错" }.into(),
            String::new(),
            String::new(),
        ),
        Key::Blanks { blanks, any_order } => (
            String::new(),
            blanks
                .iter()
                .map(|b| match b.number {
                    Some(n) if b.tolerance > 0.0 => format!("={n}±{}", b.tolerance),
                    Some(n) => format!("={n}"),
                    None => b.accepted.join("|"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            String::new(),
            if any_order { "1".into() } else { String::new() },
        ),
        Key::Pinyin { accepted } => (
            String::new(),
            accepted
                .iter()
                .map(|a| a.join("|"))
                .collect::<Vec<_>>()
                .join("\n"),
            String::new(),
            String::new(),
        ),
        Key::Matching { pairs } => (
            o.left
                .iter()
                .zip(&pairs)
                .map(|(l, r)| format!("{l} = {}", o.right.get(*r).cloned().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join("\n"),
            String::new(),
            String::new(),
            String::new(),
        ),
        Key::Ordering { order, partial } => (
            order
                .iter()
                .filter_map(|i| o.choices.get(*i).cloned())
                .collect::<Vec<_>>()
                .join("\n"),
            String::new(),
            String::new(),
            if partial { "1".into() } else { String::new() },
        ),
        Key::Manual => (String::new(), String::new(), String::new(), String::new()),
    };
    Draft {
        kind: i.kind.clone(),
        stem: i.stem.clone(),
        choices,
        answer,
        partial,
        any_order,
        explanation: i.explanation.clone(),
        points: i.points_text(),
        difficulty: i.difficulty.to_string(),
        source: i.source.clone(),
        rubric: o
            .rubric
            .iter()
            .map(super::form::Criterion::line)
            .collect::<Vec<_>>()
            .join("\n"),
        audio: i.audio_id.map(|a| a.to_string()).unwrap_or_default(),
    }
}

async fn save(
    page: Page,
    IdPath(id): IdPath<ItemId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let p = posted(&pairs)?;
    let cx = page.cx();
    match bank::update(&cx, id, p.version, &p.draft, &p.place).await {
        Ok(()) => Ok(redirect(&format!("/teaching/items/{id}?done=item_saved"))),
        Err(AppError::Invalid(e) | AppError::Conflict(_, e)) => {
            let item = bank::get(&cx, id).await?;
            form_page(
                &page,
                Some(item),
                p.draft,
                p.place.stage,
                p.place.subject,
                p.place.catalog_id,
                p.place.points,
                e,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "items/show.html")]
struct ShowPage {
    ctx: PageCtx,
    item: Item,
    stem: String,
    options: Options,
    /// The options with their mathematics rendered, in the order shown.
    choices: Vec<String>,
    blanks: usize,
    points: Vec<Point>,
    own: bool,
    /// Another school's item, shared to the actor's through the library.
    foreign: bool,
    /// Shared through the library at its current version.
    shared: bool,
    /// The key in words, and the explanation rendered.
    key: String,
    explanation: String,
    result: Option<Marked>,
}

impl ShowPage {
    fn letter(&self, i: &usize) -> char {
        char::from(b'A' + u8::try_from(*i).unwrap_or(0))
    }
    fn got(&self) -> String {
        self.result
            .and_then(|r| r.points)
            .map(|p| format!("{p}"))
            .unwrap_or_default()
    }
}

fn key_in_words(ctx: &PageCtx, item: &Item, o: &Options) -> String {
    let letters = |v: &[usize]| {
        v.iter()
            .map(|x| char::from(b'A' + *x as u8).to_string())
            .collect::<Vec<_>>()
            .join("、")
    };
    match item.key() {
        Key::Single { correct } => letters(&[correct]),
        Key::Multiple { correct, partial } => {
            let rule = serde_json::to_value(partial)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!(
                "{}（{}）",
                letters(&correct),
                ctx.t(&format!("items.partial.{rule}"))
            )
        }
        Key::TrueFalse { correct } => ctx
            .t(if correct { "items.true" } else { "items.false" })
            .to_owned(),
        Key::Blanks { .. } | Key::Pinyin { .. } => draft_of(item).answer.replace('\n', "；"),
        Key::Matching { pairs } => o
            .left
            .iter()
            .zip(&pairs)
            .map(|(l, r)| format!("{l} — {}", o.right.get(*r).cloned().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("；"),
        Key::Ordering { order, .. } => order
            .iter()
            .filter_map(|i| o.choices.get(*i).cloned())
            .collect::<Vec<_>>()
            .join(" → "),
        Key::Manual => ctx.t("items.manual").to_owned(),
    }
}

async fn show_page(
    page: &Page,
    id: ItemId,
    result: Option<Marked>,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let item = bank::get(&cx, id).await?;
    let options = item.options();
    let ctx = page.ctx().with_notice(done);
    let key = key_in_words(&ctx, &item, &options);
    let blanks = match item.key() {
        Key::Blanks { blanks, .. } => blanks.len(),
        Key::Pinyin { accepted } => accepted.len(),
        _ => 0,
    };
    Ok(render(&ShowPage {
        stem: super::math::render(&item.stem),
        choices: options
            .choices
            .iter()
            .map(|c| super::math::render(c))
            .collect(),
        explanation: super::math::render(&item.explanation),
        points: bank::points_of(cx.db(), id).await?,
        own: item.author_id == cx.actor.person_id,
        foreign: !bank::schools_of(&cx).await?.contains(&item.school_id),
        shared: item.resource_id.is_some() && item.shared_version == Some(item.version),
        ctx,
        options,
        blanks,
        key,
        item,
        result,
    }))
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn show(
    page: Page,
    IdPath(id): IdPath<ItemId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    show_page(&page, id, None, q.done.as_deref()).await
}

/// `POST /teaching/items/{id}/try`: the answer marked as a student's would be.
async fn try_it(
    page: Page,
    IdPath(id): IdPath<ItemId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let item = bank::get(&page.cx(), id).await?;
    let answer = super::form::answer_from(&item.kind, &pairs, "")
        .unwrap_or(Answer::Choice { chosen: Vec::new() });
    let marked = score::mark(&item.key(), item.points as f64 / 100.0, &answer);
    show_page(&page, id, Some(marked), None).await
}

/// `POST /teaching/items/{id}/share`: the author's item to the library and its review.
async fn share(
    page: Page,
    IdPath(id): IdPath<ItemId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    match super::share::share(&page.cx(), id).await {
        Ok(_) => Ok(redirect(&format!("/teaching/items/{id}?done=item_shared"))),
        Err(AppError::Invalid(_)) => Ok(redirect(&format!(
            "/teaching/items/{id}?done=item_share_chapter"
        ))),
        Err(e) => Err(e),
    }
}

async fn delete(
    page: Page,
    IdPath(id): IdPath<ItemId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    bank::delete(&page.cx(), id).await?;
    Ok(redirect("/teaching/items?done=item_deleted"))
}
