//! Reviewer appointments: a school's administrator appoints teachers of the school as 教研组长,
//! a district's or city's administrator appoints 教研员, optionally for one subject.

use super::{Labels, page_ctx, parse_id};
use crate::library::reviewers::{self, Appointment, Candidate, Reviewer};
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::{AppError, AppResult, Ctx, FieldErrors, NodeId, PersonId};
use serde::Deserialize;
use web::{CsrfForm, Page, PageCtx, Session, redirect, render};

#[derive(Template)]
#[template(path = "review_reviewers.html")]
struct ReviewersPage {
    ctx: PageCtx,
    nodes: Vec<(NodeId, String, String)>,
    node: Option<(NodeId, String, String)>,
    reviewers: Vec<Reviewer>,
    candidates: Vec<Candidate>,
    subjects: Vec<(String, String)>,
    errors: FieldErrors,
    form: AppointForm,
}

impl ReviewersPage {
    fn l(&self) -> Labels<'_> {
        Labels(&self.ctx)
    }
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
    fn title_of(&self, kind: &str) -> String {
        if kind == "school" {
            self.ctx.t("review.leader").to_owned()
        } else {
            self.ctx.t("review.researcher").to_owned()
        }
    }
    fn subject_of(&self, s: &Option<String>) -> String {
        match s {
            Some(s) => self.l().subject(s),
            None => self.ctx.t("review.all_subjects").to_owned(),
        }
    }
    fn is_node(&self, id: &NodeId) -> bool {
        self.node.as_ref().is_some_and(|n| n.0 == *id)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct AppointForm {
    #[serde(default)]
    node: String,
    #[serde(default)]
    person_id: String,
    #[serde(default)]
    subject: String,
}

#[derive(Deserialize)]
pub struct PageQuery {
    node: Option<String>,
    ok: Option<String>,
}

async fn render_page(
    cx: &Ctx<'_>,
    session: &Session,
    node: Option<NodeId>,
    ok: Option<&str>,
    errors: FieldErrors,
    form: AppointForm,
) -> AppResult<ReviewersPage> {
    let nodes = reviewers::appointing_nodes(cx).await?;
    if nodes.is_empty() {
        return Err(AppError::Forbidden);
    }
    let node = match node {
        Some(n) => {
            reviewers::list(cx, n).await?;
            let (name, kind): (String, String) = kernel::on_db!(cx.db(), p => sqlx::query_as(
                "SELECT name, kind FROM org_nodes WHERE id = $1",
            ).bind(n).fetch_one(p).await)?;
            Some((n, name, kind))
        }
        None => nodes.first().cloned(),
    };
    let (reviewers, candidates) = match &node {
        Some((n, _, _)) => (
            reviewers::list(cx, *n).await?,
            reviewers::candidates(cx, *n).await?,
        ),
        None => (Vec::new(), Vec::new()),
    };
    Ok(ReviewersPage {
        ctx: page_ctx(session, ok),
        nodes,
        node,
        reviewers,
        candidates,
        subjects: standards::subjects::subjects(),
        errors,
        form,
    })
}

pub async fn page_of(page: Page, Query(q): Query<PageQuery>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let node = match q.node.as_deref().filter(|s| !s.is_empty()) {
        Some(n) => Some(parse_id::<NodeId>(n)?),
        None => None,
    };
    let page = render_page(
        &cx,
        session,
        node,
        q.ok.as_deref(),
        FieldErrors::new(),
        AppointForm::default(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn appoint(page: Page, CsrfForm(f): CsrfForm<AppointForm>) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let node: NodeId = parse_id(&f.node)?;
    let result = match f.person_id.parse::<PersonId>() {
        Ok(person_id) => {
            let subject = Some(f.subject.clone()).filter(|s| !s.trim().is_empty());
            reviewers::appoint(&cx, node, Appointment { person_id, subject })
                .await
                .map(|_| ())
        }
        Err(_) => Err(AppError::field(
            "person_id",
            "error.resources.reviewer_not_staff",
        )),
    };
    match result {
        Ok(()) => Ok(redirect(&format!(
            "/library/reviewers?node={node}&ok=appointed"
        ))),
        Err(AppError::Invalid(errors)) => {
            let page = render_page(&cx, session, Some(node), None, errors, f).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn dismiss(page: Page, CsrfForm(f): CsrfForm<AppointForm>) -> AppResult<Response> {
    let cx = page.cx();
    let node: NodeId = parse_id(&f.node)?;
    let person: PersonId = parse_id(&f.person_id)?;
    reviewers::dismiss(&cx, node, person).await?;
    Ok(redirect(&format!(
        "/library/reviewers?node={node}&ok=dismissed"
    )))
}
