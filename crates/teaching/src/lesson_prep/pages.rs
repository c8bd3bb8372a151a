//! The lesson plan pages: the list (mine, colleagues' shared plans, a school's for its
//! administrators), a new plan (the class first, then the editor), a plan with its versions,
//! the editor, sharing, copying and deleting.

use super::share::{self, Shared};
use super::write::{self, Draft, Place, StepDraft};
use super::{Content, Plan, PlanId, SECTIONS, VersionInfo};
use askama::Template;
use axum::Router;
use axum::extract::Query;
use axum::response::Response;
use axum::routing::{get, post};
use kernel::{
    AppError, AppResult, AppState, CatalogId, Ctx, FieldErrors, NodeId, ResourceId, Role,
};
use resources::catalog::progress::{self, TaughtClass};
use serde::Deserialize;
use web::{CsrfForm, CsrfToken, IdPath, Page, PageCtx, redirect, render};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/teaching/plans", get(list).post(create))
        .route("/teaching/plans/new", get(new))
        .route("/teaching/plans/{id}", get(show).post(save))
        .route("/teaching/plans/{id}/edit", get(edit))
        .route("/teaching/plans/{id}/share", post(share_plan))
        .route("/teaching/plans/{id}/copy", post(copy))
        .route("/teaching/plans/{id}/courseware", post(courseware))
        .route("/teaching/plans/{id}/delete", post(delete))
        .route("/teaching/shared/{id}", get(shared))
}

/// Blank step rows the editor adds after the written ones.
const BLANK_ROWS: usize = 2;

#[derive(Template)]
#[template(path = "lesson_prep/list.html")]
struct ListPage {
    ctx: PageCtx,
    mine: Vec<Plan>,
    shared: Vec<Shared>,
    /// The administered node's name and its plans.
    school: Option<(String, Vec<Plan>)>,
    teaches: bool,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn list(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    let cx = page.cx();
    let mine = super::mine(&cx, 200).await?;
    let teaches = !progress::taught_by(&cx).await?.is_empty();
    let shared = if teaches {
        share::for_me(&cx, 20).await?
    } else {
        Vec::new()
    };
    let school = match cx.actor.grants_of(Role::Admin).next() {
        Some(g) => {
            let name = crate::label(cx.db(), g.node_id).await?;
            Some((name, super::of_school(&cx, g.node_id, 100).await?))
        }
        None => None,
    };
    if !teaches && school.is_none() && mine.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        mine,
        shared,
        school,
        teaches,
    }))
}

/// A catalogue node to pick: its id and its name indented under its unit.
pub struct Chapter {
    pub id: CatalogId,
    pub name: String,
    pub section: bool,
}

/// The units and sections of the volume the class studies in the subject this term, and
/// where the class is now (preselected).
pub(crate) async fn chapters(
    cx: &Ctx<'_>,
    class: NodeId,
    subject: &str,
) -> AppResult<(Vec<Chapter>, Option<CatalogId>)> {
    let today = cx.today();
    let Some(p) = progress::of_class(cx.db(), class, subject, today).await? else {
        return Ok((Vec::new(), None));
    };
    let mut out = Vec::new();
    for u in resources::catalog::tree::outline(cx.db(), p.volume).await? {
        out.push(Chapter {
            id: u.unit.id,
            name: u.unit.name.clone(),
            section: false,
        });
        for s in u.sections {
            out.push(Chapter {
                id: s.id,
                name: s.name.clone(),
                section: true,
            });
        }
    }
    Ok((out, Some(p.current)))
}

/// A resource the editor offers to place into steps.
pub struct Candidate {
    pub id: ResourceId,
    pub title: String,
    pub kind: String,
}

/// The library's resources on the chapter (and the unit it is in), and those already placed
/// that the author may still use.
pub(crate) async fn candidates(
    cx: &Ctx<'_>,
    chapter: CatalogId,
    placed: &[ResourceId],
) -> AppResult<Vec<Candidate>> {
    let mut nodes = resources::catalog::tree::subtree_ids(cx.db(), chapter).await?;
    if let Some(n) = resources::catalog::tree::find(cx.db(), chapter).await?
        && let Some(parent) = n.parent_id
        && n.kind() == resources::catalog::model::NodeKind::Section
    {
        nodes.push(parent);
    }
    let mut out: Vec<Candidate> = resources::library::listing::on_catalog(cx, &nodes, 12)
        .await?
        .into_iter()
        .map(|i| Candidate {
            id: i.resource.id,
            title: i.resource.title,
            kind: i.resource.kind,
        })
        .collect();
    let viewer = resources::access::Viewer::of(cx.db(), cx.actor).await?;
    for id in placed {
        if out.iter().any(|c| c.id == *id) {
            continue;
        }
        // Placed before, or posted: offered again only if the author may still use it.
        if let Some(r) = resources::library::resource::find(cx.db(), *id).await?
            && r.deleted_at.is_none()
            && resources::access::may_view(cx.db(), cx.actor, &viewer, &r).await?
        {
            out.push(Candidate {
                id: r.id,
                title: r.title,
                kind: r.kind,
            });
        }
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "lesson_prep/pick.html")]
struct PickPage {
    ctx: PageCtx,
    classes: Vec<TaughtClass>,
}

#[derive(Template)]
#[template(path = "lesson_prep/form.html")]
struct FormPage {
    ctx: PageCtx,
    /// `None` for a new plan.
    plan: Option<Plan>,
    class: TaughtClass,
    chapters: Vec<Chapter>,
    chapter: Option<CatalogId>,
    draft: Draft,
    rows: usize,
    candidates: Vec<Candidate>,
    /// Bank items on the chapter (and those placed already): (id, stem rendered).
    offered: Vec<(crate::items::bank::ItemId, String)>,
    sections_before: [&'static str; 3],
    sections_after: [&'static str; 3],
    errors: FieldErrors,
}

impl FormPage {
    fn step(&self, i: &usize) -> StepDraft {
        self.draft.steps.get(*i).cloned().unwrap_or_default()
    }
    fn placed(&self, i: &usize, id: &crate::items::bank::ItemId) -> bool {
        self.draft
            .steps
            .get(*i)
            .is_some_and(|s| s.items.contains(id))
    }
    fn linked(&self, i: &usize, id: &ResourceId) -> bool {
        self.draft
            .steps
            .get(*i)
            .is_some_and(|s| s.resources.contains(id))
    }
    fn step_error(&self, i: &usize, field: &str) -> Option<String> {
        // Errors number the written steps from 1; the editor shows them first, blank rows after.
        self.ctx
            .field_error(&self.errors, &format!("steps.{}.{field}", i + 1))
    }
    fn section_error(&self, field: &&str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
    fn chosen(&self, id: &CatalogId) -> bool {
        self.chapter == Some(*id)
    }
    fn total(&self) -> i64 {
        self.draft
            .steps
            .iter()
            .filter_map(|s| s.minutes.trim().parse::<i64>().ok())
            .sum()
    }
}

#[derive(Deserialize)]
pub struct NewQuery {
    class: Option<String>,
    subject: Option<String>,
}

async fn taught(cx: &Ctx<'_>, class: NodeId, subject: &str) -> AppResult<TaughtClass> {
    progress::taught_by(cx)
        .await?
        .into_iter()
        .find(|t| t.class_id == class && t.subject == subject)
        .ok_or(AppError::NotFound("teaching.class_not_found"))
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    page: &Page,
    plan: Option<Plan>,
    class: TaughtClass,
    chapter: Option<CatalogId>,
    draft: Draft,
    extra: usize,
    errors: FieldErrors,
) -> AppResult<Response> {
    let cx = page.cx();
    let (chapters, now) = chapters(&cx, class.class_id, &class.subject).await?;
    let chapter = chapter.or(now);
    let candidates = match chapter {
        Some(c) => {
            let placed: Vec<ResourceId> = draft
                .steps
                .iter()
                .flat_map(|s| s.resources.iter().copied())
                .collect();
            candidates(&cx, c, &placed).await?
        }
        None => Vec::new(),
    };
    let offered = offered_items(&cx, &class.subject, chapter, &draft).await?;
    let rows = draft.steps.len() + BLANK_ROWS + extra;
    Ok(render(&FormPage {
        offered,
        ctx: page.ctx(),
        plan,
        class,
        chapters,
        chapter,
        draft,
        rows,
        candidates,
        sections_before: [SECTIONS[0], SECTIONS[1], SECTIONS[2]],
        sections_after: [SECTIONS[3], SECTIONS[4], SECTIONS[5]],
        errors,
    }))
}

/// The bank items a step may show: the subject's items (the school's and those shared to it)
/// on the chapter or below it, and those placed already.
async fn offered_items(
    cx: &Ctx<'_>,
    subject: &str,
    chapter: Option<CatalogId>,
    draft: &Draft,
) -> AppResult<Vec<(crate::items::bank::ItemId, String)>> {
    use crate::items::bank;
    let placed: Vec<bank::ItemId> = draft.steps.iter().flat_map(|s| s.items.clone()).collect();
    let nodes = match chapter {
        Some(c) => resources::catalog::tree::subtree_ids(cx.db(), c).await?,
        None => Vec::new(),
    };
    let filter = bank::Filter {
        subject: subject.to_owned(),
        ..Default::default()
    };
    let mut all = bank::list(cx, &filter).await?;
    all.extend(bank::list_shared(cx, &filter).await?);
    Ok(all
        .into_iter()
        .filter(|i| placed.contains(&i.id) || i.catalog_id.is_some_and(|c| nodes.contains(&c)))
        .map(|i| {
            let stem: String = i.stem.chars().take(60).collect();
            (i.id, crate::items::math::render(&stem))
        })
        .collect())
}

/// `GET /teaching/plans/new`: the classes to choose from, then the editor for the one chosen.
async fn new(page: Page, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let classes = progress::taught_by(&cx).await?;
    if classes.is_empty() {
        return Err(AppError::Forbidden);
    }
    let chosen = match (q.class.as_deref(), q.subject.as_deref()) {
        (Some(c), Some(s)) => c.parse().ok().map(|c| (NodeId(c), s.to_owned())),
        _ if classes.len() == 1 => classes.first().map(|c| (c.class_id, c.subject.clone())),
        _ => None,
    };
    let Some((class, subject)) = chosen else {
        return Ok(render(&PickPage {
            ctx: page.ctx(),
            classes,
        }));
    };
    let class = taught(&cx, class, &subject).await?;
    let draft = Draft {
        steps: default_steps(&page.ctx()),
        ..Default::default()
    };
    form_page(&page, None, class, None, draft, 0, FieldErrors::new()).await
}

/// The usual steps of a lesson, to start from.
fn default_steps(ctx: &PageCtx) -> Vec<StepDraft> {
    [
        ("lesson_prep.step_intro", 5),
        ("lesson_prep.step_new", 15),
        ("lesson_prep.step_practice", 15),
        ("lesson_prep.step_summary", 5),
    ]
    .into_iter()
    .map(|(k, m)| StepDraft {
        title: ctx.t(k).to_owned(),
        minutes: m.to_string(),
        ..Default::default()
    })
    .collect()
}

/// The editor's fields as posted: repeated step fields in row order, and `link` boxes as
/// `row:resource`.
struct Posted {
    draft: Draft,
    class: Option<(NodeId, String)>,
    chapter: Option<CatalogId>,
    version: i64,
    more: bool,
}

fn posted(pairs: &[(String, String)]) -> Posted {
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let all = |k: &str| -> Vec<String> {
        pairs
            .iter()
            .filter(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let (titles, minutes, contents) = (all("step_title"), all("step_minutes"), all("step_content"));
    let mut steps: Vec<StepDraft> = (0..titles.len().max(minutes.len()).max(contents.len()))
        .map(|i| StepDraft {
            title: titles.get(i).cloned().unwrap_or_default(),
            minutes: minutes.get(i).cloned().unwrap_or_default(),
            content: contents.get(i).cloned().unwrap_or_default(),
            resources: Vec::new(),
            items: Vec::new(),
        })
        .collect();
    for item in all("item") {
        if let Some((row, id)) = item.split_once(':')
            && let (Ok(row), Ok(id)) = (row.parse::<usize>(), id.parse())
            && let Some(step) = steps.get_mut(row)
        {
            step.items.push(crate::items::bank::ItemId(id));
        }
    }
    for link in all("link") {
        if let Some((row, id)) = link.split_once(':')
            && let (Ok(row), Ok(id)) = (row.parse::<usize>(), id.parse())
            && let Some(step) = steps.get_mut(row)
        {
            step.resources.push(ResourceId(id));
        }
    }
    // Blank rows go: the written steps keep their order.
    let mut steps: Vec<StepDraft> = steps
        .into_iter()
        .filter(|s| {
            !(s.title.trim().is_empty()
                && s.minutes.trim().is_empty()
                && s.content.trim().is_empty()
                && s.resources.is_empty())
        })
        .collect();
    steps.truncate(super::STEPS_MAX + 5);
    let mut draft = Draft {
        title: get("title"),
        steps,
        ..Default::default()
    };
    for field in SECTIONS {
        if let Some(s) = draft.section_mut(field) {
            *s = get(field);
        }
    }
    let class = get("class")
        .split_once(':')
        .and_then(|(c, s)| Some((NodeId(c.parse().ok()?), s.to_owned())));
    Posted {
        draft,
        class,
        chapter: get("catalog_id").parse().ok().map(CatalogId),
        version: get("version").parse().unwrap_or(0),
        more: !get("more").is_empty(),
    }
}

/// `POST /teaching/plans`: a new plan from the editor.
async fn create(
    page: Page,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let p = posted(&pairs);
    let Some((class, subject)) = p.class.clone() else {
        return Err(AppError::BadRequest("invalid_form"));
    };
    let class = taught(&cx, class, &subject).await?;
    if p.more {
        return form_page(
            &page,
            None,
            class,
            p.chapter,
            p.draft,
            3,
            FieldErrors::new(),
        )
        .await;
    }
    let Some(chapter) = p.chapter else {
        return form_page(
            &page,
            None,
            class,
            None,
            p.draft,
            0,
            field("catalog_id", "error.teaching.chapter"),
        )
        .await;
    };
    let place = Place {
        class_id: class.class_id,
        subject: class.subject.clone(),
        catalog_id: chapter,
    };
    match write::create(&cx, &place, &p.draft, None).await {
        Ok(id) => Ok(redirect(&format!("/teaching/plans/{id}?done=plan_created"))),
        Err(AppError::Invalid(e)) => {
            form_page(&page, None, class, Some(chapter), p.draft, 0, e).await
        }
        Err(e) => Err(e),
    }
}

fn field(f: &str, key: &str) -> FieldErrors {
    let mut e = FieldErrors::new();
    e.add(f, key);
    e
}

async fn plan_class(cx: &Ctx<'_>, plan: &Plan) -> AppResult<TaughtClass> {
    match taught(cx, plan.class_id, &plan.subject).await {
        Ok(c) => Ok(c),
        // The author no longer teaches the class: the plan still opens in the editor.
        Err(_) => Ok(TaughtClass {
            class_id: plan.class_id,
            class_name: plan.class_name.clone(),
            school_name: String::new(),
            subject: plan.subject.clone(),
            subject_name: resources::catalog::model::subject_name(&plan.subject),
        }),
    }
}

/// `GET /teaching/plans/{id}/edit`.
async fn edit(page: Page, IdPath(id): IdPath<PlanId>) -> AppResult<Response> {
    let cx = page.cx();
    let plan = super::get_own(&cx, id).await?;
    let content = super::content(&cx, &plan, None).await?;
    let class = plan_class(&cx, &plan).await?;
    let chapter = Some(plan.catalog_id);
    form_page(
        &page,
        Some(plan),
        class,
        chapter,
        Draft::of(&content),
        0,
        FieldErrors::new(),
    )
    .await
}

/// `POST /teaching/plans/{id}`: the editor saved (a new version).
async fn save(
    page: Page,
    IdPath(id): IdPath<PlanId>,
    CsrfForm(pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let cx = page.cx();
    let plan = super::get_own(&cx, id).await?;
    let p = posted(&pairs);
    let class = plan_class(&cx, &plan).await?;
    let chapter = Some(plan.catalog_id);
    if p.more {
        return form_page(
            &page,
            Some(plan),
            class,
            chapter,
            p.draft,
            3,
            FieldErrors::new(),
        )
        .await;
    }
    match write::save(&cx, id, p.version, &p.draft).await {
        Ok(_) => Ok(redirect(&format!("/teaching/plans/{id}?done=plan_saved"))),
        Err(AppError::Invalid(e) | AppError::Conflict(_, e)) => {
            form_page(&page, Some(plan), class, chapter, p.draft, 0, e).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "lesson_prep/show.html")]
struct ShowPage {
    ctx: PageCtx,
    plan: Plan,
    content: Content,
    /// The version shown, when it is not the latest.
    old: Option<i64>,
    versions: Vec<VersionInfo>,
    own: bool,
    /// The shared resource's state: (id, scope, waiting at a level).
    library: Option<(ResourceId, String, Option<String>)>,
    /// The courseware made from it: (id, version).
    courseware: Option<(ResourceId, i64)>,
    /// Other classes of the author's in the plan's subject (to copy it there).
    classes: Vec<TaughtClass>,
    /// The plan it was started from, if the viewer may open it.
    source: Option<Plan>,
    sections_before: [&'static str; 3],
    sections_after: [&'static str; 3],
}

impl ShowPage {
    /// Whether `version` is the one on the page.
    fn shown(&self, version: &i64) -> bool {
        *version == self.version()
    }
    /// The version on the page.
    fn version(&self) -> i64 {
        self.old.unwrap_or(self.plan.version)
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    version: Option<i64>,
    done: Option<String>,
}

async fn show(
    page: Page,
    IdPath(id): IdPath<PlanId>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let plan = super::get(&cx, id).await?;
    let old = q.version.filter(|v| *v != plan.version);
    let content = super::content(&cx, &plan, old).await?;
    let versions = super::versions(&cx, &plan).await?;
    let own = plan.author_id == cx.actor.person_id;
    let library = match plan.resource_id {
        Some(rid) => resources::library::resource::find(cx.db(), rid)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .map(|r| (r.id, r.scope.clone(), r.pending_level.clone())),
        None => None,
    };
    let courseware = match plan.courseware_id {
        Some(rid) => resources::library::resource::find(cx.db(), rid)
            .await?
            .filter(|r| r.deleted_at.is_none())
            .map(|r| (r.id, r.version)),
        None => None,
    };
    let classes = if own {
        progress::taught_by(&cx)
            .await?
            .into_iter()
            .filter(|t| t.subject == plan.subject)
            .collect()
    } else {
        Vec::new()
    };
    let source = match plan.based_on {
        Some(s) => match super::find(cx.db(), s).await? {
            Some(p) if super::may_read(&cx, &p).await? => Some(p),
            _ => None,
        },
        None => None,
    };
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        plan,
        content,
        old,
        versions,
        own,
        library,
        courseware,
        classes,
        source,
        sections_before: [SECTIONS[0], SECTIONS[1], SECTIONS[2]],
        sections_after: [SECTIONS[3], SECTIONS[4], SECTIONS[5]],
    }))
}

/// `POST /teaching/plans/{id}/share`.
async fn share_plan(
    page: Page,
    IdPath(id): IdPath<PlanId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    match share::share(&page.cx(), id).await {
        Ok(_) => Ok(redirect(&format!("/teaching/plans/{id}?done=plan_shared"))),
        Err(AppError::Conflict("teaching.plan_shared", _)) => Ok(redirect(&format!(
            "/teaching/plans/{id}?done=plan_already_shared"
        ))),
        Err(e) => Err(e),
    }
}

/// `POST /teaching/plans/{id}/courseware`: the plan's slides made into courseware.
async fn courseware(
    page: Page,
    IdPath(id): IdPath<PlanId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    super::courseware::save(&page.cx(), id).await?;
    Ok(redirect(&format!(
        "/teaching/plans/{id}?done=courseware_made"
    )))
}

#[derive(Deserialize)]
pub struct CopyForm {
    class: String,
}

/// `POST /teaching/plans/{id}/copy`: a new plan of the actor's from this one, for one of their
/// classes in the same subject, on the same chapter.
async fn copy(
    page: Page,
    IdPath(id): IdPath<PlanId>,
    CsrfForm(f): CsrfForm<CopyForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let source = super::find(cx.db(), id)
        .await?
        .ok_or(AppError::NotFound(crate::lesson_prep::NOT_FOUND))?;
    let class = f
        .class
        .parse()
        .map(NodeId)
        .map_err(|_| AppError::field("class", "error.teaching.not_your_class"))?;
    let place = Place {
        class_id: class,
        subject: source.subject.clone(),
        catalog_id: source.catalog_id,
    };
    let new = share::start_from(&cx, id, &place).await?;
    Ok(redirect(&format!("/teaching/plans/{new}/edit")))
}

/// `POST /teaching/plans/{id}/delete`.
async fn delete(
    page: Page,
    IdPath(id): IdPath<PlanId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    write::delete(&page.cx(), id).await?;
    Ok(redirect("/teaching/plans?done=plan_deleted"))
}

#[derive(Template)]
#[template(path = "lesson_prep/shared.html")]
struct SharedPage {
    ctx: PageCtx,
    shared: Shared,
    content: Content,
    classes: Vec<TaughtClass>,
    sections_before: [&'static str; 3],
    sections_after: [&'static str; 3],
}

/// `GET /teaching/shared/{resource}`: a colleague's shared plan, to start from.
async fn shared(page: Page, IdPath(id): IdPath<ResourceId>) -> AppResult<Response> {
    let cx = page.cx();
    let shared = share::by_resource(&cx, id).await?;
    let content = share::shared_content(&cx, &shared).await?;
    let classes = progress::taught_by(&cx)
        .await?
        .into_iter()
        .filter(|t| t.subject == shared.plan.subject)
        .collect();
    Ok(render(&SharedPage {
        ctx: page.ctx(),
        shared,
        content,
        classes,
        sections_before: [SECTIONS[0], SECTIONS[1], SECTIONS[2]],
        sections_after: [SECTIONS[3], SECTIONS[4], SECTIONS[5]],
    }))
}
