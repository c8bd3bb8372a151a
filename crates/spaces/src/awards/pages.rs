//! The pages of the excellent-space selection: the list, a new selection, and a selection with
//! its nominees, the nomination form, the panel's scoring and the organiser's steps.

use super::{Award, AwardId, CRITERIA, DEFAULT_WEIGHTS, NewAward, Nominee};
use crate::scope::Addressable;
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::{AppError, AppResult, FieldErrors, SpaceId};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, redirect, render};

#[derive(Template)]
#[template(path = "awards/list.html")]
struct ListPage {
    ctx: PageCtx,
    items: Vec<Award>,
    may_create: bool,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn list(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    let cx = page.cx();
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        items: super::list(&cx).await?,
        may_create: !super::organisable(&cx).await?.is_empty(),
    }))
}

#[derive(Template)]
#[template(path = "awards/form.html")]
struct FormPage {
    ctx: PageCtx,
    organisers: Vec<Addressable>,
    draft: NewAward,
    criteria: [&'static str; 5],
    errors: FieldErrors,
}

impl FormPage {
    fn weight(&self, i: &usize) -> String {
        self.draft.weights.get(*i).cloned().unwrap_or_default()
    }
}

async fn form_page(page: &Page, draft: NewAward, errors: FieldErrors) -> AppResult<Response> {
    let organisers = super::organisable(&page.cx()).await?;
    if organisers.is_empty() {
        return Err(AppError::Forbidden);
    }
    Ok(render(&FormPage {
        ctx: page.ctx(),
        organisers,
        draft,
        criteria: CRITERIA,
        errors,
    }))
}

pub async fn new(page: Page) -> AppResult<Response> {
    let year = directory::import::classes::school_year(page.cx().today());
    let draft = NewAward {
        school_year: year.to_string(),
        weights: DEFAULT_WEIGHTS.iter().map(i64::to_string).collect(),
        prizes: "10".into(),
        ..Default::default()
    };
    form_page(&page, draft, FieldErrors::new()).await
}

/// The form's fields: `weight` repeats, one per criterion.
pub async fn create(
    page: Page,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let draft = NewAward {
        node_id: get("node_id"),
        title: get("title"),
        school_year: get("school_year"),
        weights: fields
            .iter()
            .filter(|(n, _)| n == "weight")
            .map(|(_, v)| v.clone())
            .collect(),
        prizes: get("prizes"),
        judges: get("judges"),
    };
    match super::create(&page.cx(), &draft).await {
        Ok(id) => Ok(redirect(&format!("/spaces/awards/{id}?done=award_created"))),
        Err(AppError::Invalid(errors)) => form_page(&page, draft, errors).await,
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "awards/show.html")]
struct ShowPage {
    ctx: PageCtx,
    a: Award,
    weights: Vec<i64>,
    criteria: [&'static str; 5],
    nominees: Vec<Nominee>,
    panel: Vec<(kernel::PersonId, String)>,
    runs: bool,
    judge: bool,
    errors: FieldErrors,
}

impl ShowPage {
    fn weight(&self, i: &usize) -> i64 {
        self.weights.get(*i).copied().unwrap_or(0)
    }
}

async fn show_page(
    page: &Page,
    id: AwardId,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let a = super::get(&cx, id).await?;
    let runs = super::runs(&cx, &a).await?;
    let panel = super::panel(&cx, &a).await?;
    let judge = panel.iter().any(|j| j.0 == cx.actor.person_id);
    let mut nominees = super::nominees(&cx, &a).await?;
    // Before the results, only the organisers and the panel see the scores and ranking; the
    // others see the nominees.
    if a.state != "published" && !(runs || judge) {
        for n in &mut nominees {
            n.content = None;
            n.total = 0.0;
        }
    }
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(done),
        weights: a.weight_list(),
        criteria: CRITERIA,
        panel,
        nominees,
        runs,
        judge,
        a,
        errors,
    }))
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<AwardId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    show_page(&page, id, FieldErrors::new(), q.done.as_deref()).await
}

#[derive(Deserialize)]
pub struct NominateForm {
    space: String,
    #[serde(default)]
    reason: String,
}

pub async fn nominate(
    page: Page,
    IdPath(id): IdPath<AwardId>,
    CsrfForm(f): CsrfForm<NominateForm>,
) -> AppResult<Response> {
    match super::nominate(&page.cx(), id, &f.space, &f.reason).await {
        Ok(()) => Ok(redirect(&format!(
            "/spaces/awards/{id}?done=space_nominated#nominees"
        ))),
        Err(AppError::Invalid(errors)) => show_page(&page, id, errors, None).await,
        Err(e) => Err(e),
    }
}

pub async fn start(
    page: Page,
    IdPath(id): IdPath<AwardId>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    super::start_judging(&page.cx(), id).await?;
    Ok(redirect(&format!("/spaces/awards/{id}?done=award_judging")))
}

#[derive(Deserialize)]
pub struct ScoreForm {
    space: String,
    score: String,
}

pub async fn score(
    page: Page,
    IdPath(id): IdPath<AwardId>,
    CsrfForm(f): CsrfForm<ScoreForm>,
) -> AppResult<Response> {
    let space = web::parse_id::<SpaceId>(&f.space)?;
    match super::score(&page.cx(), id, space, &f.score).await {
        Ok(()) => Ok(redirect(&format!(
            "/spaces/awards/{id}?done=award_scored#nominees"
        ))),
        Err(AppError::Invalid(errors)) => show_page(&page, id, errors, None).await,
        Err(e) => Err(e),
    }
}

pub async fn publish(
    page: Page,
    IdPath(id): IdPath<AwardId>,
    CsrfForm(_): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    super::publish(&page.cx(), id).await?;
    Ok(redirect(&format!(
        "/spaces/awards/{id}?done=award_published"
    )))
}

pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/spaces/awards", get(list).post(create))
        .route("/spaces/awards/new", get(new))
        .route("/spaces/awards/{id}", get(show))
        .route("/spaces/awards/{id}/nominate", post(nominate))
        .route("/spaces/awards/{id}/judging", post(start))
        .route("/spaces/awards/{id}/score", post(score))
        .route("/spaces/awards/{id}/publish", post(publish))
}
