//! The pages of themed activities: the list (with each school's count this term for the
//! administrators), a new activity, an activity with its works, the work form and the
//! organisers' judging.

use super::{
    AWARDS, Activity, ActivityId, NewActivity, NewWork, PARTICIPANTS, THEMES, Work, WorkId,
};
use crate::scope::Addressable;
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::{AppError, AppResult, FieldErrors, NodeId, PersonId, Role};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, redirect, render};

/// One school's activities and works in the term.
pub struct SchoolCount {
    pub name: String,
    pub activities: i64,
    pub works: i64,
}

#[derive(Template)]
#[template(path = "activities/list.html")]
struct ListPage {
    ctx: PageCtx,
    items: Vec<Activity>,
    may_create: bool,
    /// The administrator's node, the term and its schools.
    schools: Option<(String, String, Vec<SchoolCount>)>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn list(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    let cx = page.cx();
    let items = super::list(&cx, 100).await?;
    let may_create = !super::organisable(&cx).await?.is_empty();
    let schools = match cx.actor.grants_of(Role::Admin).next() {
        Some(g) => {
            let terms = resources::stats::terms::of_node(cx.db(), g.node_id).await?;
            let term = resources::stats::terms::pick(&terms, None, cx.today())?;
            let rows = super::per_school(cx.db(), g.node_id, term.school_year, term.term).await?;
            let label = crate::scope::label(cx.db(), g.node_id)
                .await?
                .unwrap_or_default();
            let (year, next, n) = (
                term.school_year.to_string(),
                (term.school_year + 1).to_string(),
                term.term.to_string(),
            );
            Some((
                label,
                page.ctx().tf(
                    "activities.term",
                    &[("year", &year), ("next", &next), ("term", &n)],
                ),
                rows.into_iter()
                    .map(|(_, name, activities, works)| SchoolCount {
                        name,
                        activities,
                        works,
                    })
                    .collect(),
            ))
        }
        None => None,
    };
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        items,
        may_create,
        schools,
    }))
}

#[derive(Template)]
#[template(path = "activities/form.html")]
struct FormPage {
    ctx: PageCtx,
    organisers: Vec<Addressable>,
    draft: NewActivity,
    themes: [&'static str; 10],
    participants: [&'static str; 3],
    errors: FieldErrors,
}

async fn form_page(page: &Page, draft: NewActivity, errors: FieldErrors) -> AppResult<Response> {
    let cx = page.cx();
    let organisers = super::organisable(&cx).await?;
    if organisers.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(render(&FormPage {
        ctx: page.ctx(),
        organisers,
        draft,
        themes: THEMES,
        participants: PARTICIPANTS,
        errors,
    }))
}

pub async fn new(page: Page) -> AppResult<Response> {
    let today = page.cx().today();
    let draft = NewActivity {
        starts_on: today.to_string(),
        ends_on: (today + chrono::Duration::days(30)).to_string(),
        participants: "students".into(),
        theme: "reading".into(),
        ..Default::default()
    };
    form_page(&page, draft, FieldErrors::new()).await
}

pub async fn create(page: Page, CsrfForm(f): CsrfForm<NewActivity>) -> AppResult<Response> {
    match super::create(&page.cx(), &f).await {
        Ok(id) => Ok(redirect(&format!(
            "/spaces/activities/{id}?done=activity_created"
        ))),
        Err(AppError::Invalid(errors)) => form_page(&page, f, errors).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "activities/show.html")]
struct ShowPage {
    ctx: PageCtx,
    a: Activity,
    works: Vec<Work>,
    /// Who the actor may post as: (student id or empty, name).
    entrants: Vec<(String, String)>,
    posted: bool,
    organiser: bool,
    open: bool,
    awards: [&'static str; 4],
    draft: NewWork,
    errors: FieldErrors,
}

impl ShowPage {
    fn award(&self, w: &Work) -> String {
        w.award
            .as_deref()
            .map(|a| self.ctx.t(&format!("activities.award.{a}")).to_owned())
            .unwrap_or_default()
    }
}

async fn show_page(
    page: &Page,
    id: ActivityId,
    draft: NewWork,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let a = super::get(&cx, id).await?;
    let works = super::works(&cx, &a).await?;
    let entrants: Vec<(Option<PersonId>, NodeId, String)> = super::entrants(&cx, &a).await?;
    // Those who already have a work here are not offered the form again.
    let entrants: Vec<(String, String)> = entrants
        .into_iter()
        .filter(|(s, _, _)| {
            !works.iter().any(|w| match s {
                Some(s) => w.student_id == Some(*s),
                None => w.student_id.is_none() && w.author_id == cx.actor.person_id,
            })
        })
        .map(|(s, _, name)| (s.map(|s| s.to_string()).unwrap_or_default(), name))
        .collect();
    let posted = works.iter().any(|w| w.author_id == cx.actor.person_id);
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(done),
        organiser: super::organises(&cx, a.node_id).await?,
        open: a.open_on(cx.today()),
        awards: AWARDS,
        a,
        works,
        entrants,
        posted,
        draft,
        errors,
    }))
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<ActivityId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    show_page(
        &page,
        id,
        NewWork::default(),
        FieldErrors::new(),
        q.done.as_deref(),
    )
    .await
}

pub async fn submit(
    page: Page,
    IdPath(id): IdPath<ActivityId>,
    CsrfForm(f): CsrfForm<NewWork>,
) -> AppResult<Response> {
    match super::submit(&page.cx(), id, &f).await {
        Ok(_) => Ok(redirect(&format!(
            "/spaces/activities/{id}?done=work_posted#works"
        ))),
        Err(AppError::Invalid(errors)) => show_page(&page, id, f, errors, None).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct JudgeForm {
    activity: String,
    #[serde(default)]
    featured: Option<String>,
    #[serde(default)]
    award: String,
    #[serde(default)]
    score: String,
}

pub async fn judge(
    page: Page,
    IdPath(id): IdPath<WorkId>,
    CsrfForm(f): CsrfForm<JudgeForm>,
) -> AppResult<Response> {
    let activity = web::parse_id::<ActivityId>(&f.activity)?;
    match super::judge(&page.cx(), id, f.featured.is_some(), &f.award, &f.score).await {
        Ok(()) => Ok(redirect(&format!(
            "/spaces/activities/{activity}?done=work_judged#works"
        ))),
        Err(AppError::Invalid(errors)) => {
            show_page(&page, activity, NewWork::default(), errors, None).await
        }
        Err(e) => Err(e),
    }
}

pub async fn publish(
    page: Page,
    IdPath(id): IdPath<ActivityId>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    super::publish(&page.cx(), id).await?;
    Ok(redirect(&format!(
        "/spaces/activities/{id}?done=activity_published"
    )))
}

pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/spaces/activities", get(list).post(create))
        .route("/spaces/activities/new", get(new))
        .route("/spaces/activities/{id}", get(show))
        .route("/spaces/activities/{id}/works", post(submit))
        .route("/spaces/activities/{id}/publish", post(publish))
        .route("/spaces/activities/works/{id}/judge", post(judge))
}
