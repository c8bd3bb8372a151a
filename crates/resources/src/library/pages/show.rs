//! The resource page: metadata, catalogue paths, the preview, the download, the signals and
//! the quality's parts, comments, the rating form, the favourite, the lists it was selected
//! for, the review history (author and reviewers) and the actions this viewer may take.

use super::{Labels, page_ctx};
use crate::access::Viewer;
use crate::library::detail::{self, ResourceDetail};
use crate::library::quality;
use crate::library::resource;
use crate::library::signals::{self, Comment};
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, Ctx, FieldErrors, ResourceId};
use serde::Deserialize;
use web::{IdPath, Page, PageCtx, Session, render};

/// What the viewer typed into an action's form, kept when it comes back with an error.
#[derive(Debug, Clone, Default)]
pub struct Kept {
    pub comment: String,
    pub score: String,
    pub stars: String,
    pub rating_comment: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "library_resource.html")]
pub struct ResourcePage {
    ctx: PageCtx,
    d: ResourceDetail,
    comments: Paged<Comment>,
    errors: FieldErrors,
    /// A message for the whole page (a decision refused because the resource changed).
    error: Option<String>,
    kept: Kept,
}

impl ResourcePage {
    fn l(&self) -> Labels<'_> {
        Labels(&self.ctx)
    }
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
    fn state(&self) -> String {
        self.l().state(&self.d.resource)
    }
    fn kind(&self) -> String {
        self.l().kind(&self.d.resource.kind)
    }
    /// image | video | audio | frame | pending | unavailable | none
    fn preview(&self) -> &'static str {
        let Some(b) = &self.d.file else { return "none" };
        match b.category.as_str() {
            "image" => "image",
            "video" => "video",
            "audio" => "audio",
            "pdf" | "text" => "frame",
            "document" | "slides" | "spreadsheet" => match b.preview_state.as_str() {
                "ready" => "frame",
                "pending" => "pending",
                _ => "unavailable",
            },
            _ => "unavailable",
        }
    }
    fn file_size(&self) -> String {
        self.d
            .file
            .as_ref()
            .map(|b| super::size(b.size))
            .unwrap_or_default()
    }
    fn term(&self) -> String {
        match (self.d.resource.school_year, self.d.resource.term) {
            (Some(y), Some(t)) => self.ctx.tf(
                "library.term_of",
                &[
                    ("year", y.to_string().as_str()),
                    ("next", (y + 1).to_string().as_str()),
                    ("term", t.to_string().as_str()),
                ],
            ),
            _ => "—".to_owned(),
        }
    }
    fn rating(&self) -> String {
        match self.d.resource.rating() {
            Some(m) => format!("{m:.1}"),
            None => "—".into(),
        }
    }
    fn q_points(&self) -> (f64, f64, f64) {
        self.d.quality_parts.points()
    }
    fn weights(&self) -> (f64, f64, f64) {
        (
            100.0 * quality::WEIGHT_USAGE,
            100.0 * quality::WEIGHT_RATING,
            100.0 * quality::WEIGHT_EXPERT,
        )
    }
    fn expert(&self) -> String {
        match self.d.resource.expert_score {
            Some(e) => format!("{e:.1}"),
            None => "—".into(),
        }
    }
    fn review_level(&self) -> String {
        self.d
            .allowed
            .review
            .map(|l| self.l().level(l.as_str()))
            .unwrap_or_default()
    }
    fn recommend_level(&self) -> String {
        self.d
            .allowed
            .recommend
            .map(|l| self.l().level(l.as_str()))
            .unwrap_or_default()
    }
    fn term_of(&self, year: &Option<i64>, term: &Option<i64>) -> String {
        match (year, term) {
            (Some(y), Some(t)) => self.ctx.tf(
                "library.term_of",
                &[
                    ("year", y.to_string().as_str()),
                    ("next", (y + 1).to_string().as_str()),
                    ("term", t.to_string().as_str()),
                ],
            ),
            _ => String::new(),
        }
    }
    fn comments_link(&self, page: u32) -> String {
        format!("/library/r/{}?cpage={page}#comments", self.d.resource.id)
    }
    fn my_stars(&self) -> String {
        if !self.kept.stars.is_empty() {
            return self.kept.stars.clone();
        }
        self.d
            .my_rating
            .as_ref()
            .map(|r| r.stars.to_string())
            .unwrap_or_default()
    }
    fn my_rating_comment(&self) -> String {
        if !self.kept.rating_comment.is_empty() {
            return self.kept.rating_comment.clone();
        }
        self.d
            .my_rating
            .as_ref()
            .map(|r| r.comment.clone())
            .unwrap_or_default()
    }
}

/// Renders the page for a resource the actor sees.
#[allow(clippy::too_many_arguments)]
pub async fn render_page(
    cx: &Ctx<'_>,
    session: &Session,
    id: ResourceId,
    ok: Option<&str>,
    errors: FieldErrors,
    error: Option<String>,
    kept: Kept,
    cpage: Option<u32>,
) -> AppResult<ResourcePage> {
    let d = detail::detail(cx, id).await?;
    let comments = signals::comments(
        cx,
        id,
        &PageQuery {
            page: cpage,
            per_page: Some(50),
        },
    )
    .await?;
    Ok(ResourcePage {
        ctx: page_ctx(session, ok),
        d,
        comments,
        errors,
        error,
        kept,
    })
}

#[derive(Deserialize)]
pub struct ShowQuery {
    ok: Option<String>,
    cpage: Option<u32>,
}

pub async fn page_of(
    page: Page,
    IdPath(id): IdPath<ResourceId>,
    Query(q): Query<ShowQuery>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = resource::get_as(&cx, &viewer, id).await?;
    signals::view(&cx, &r).await?;
    let page = render_page(
        &cx,
        session,
        id,
        q.ok.as_deref(),
        FieldErrors::new(),
        None,
        Kept::default(),
        q.cpage,
    )
    .await?;
    Ok(render(&page))
}

/// The page again with an action's errors, `status` 422 or 409.
#[allow(clippy::too_many_arguments)]
pub async fn again(
    cx: &Ctx<'_>,
    session: &Session,
    id: ResourceId,
    status: StatusCode,
    errors: FieldErrors,
    error: Option<String>,
    kept: Kept,
) -> AppResult<Response> {
    let page = render_page(cx, session, id, None, errors, error, kept, None).await?;
    Ok((status, render(&page)).into_response())
}
