//! The safety pages: a region's word list (its administrators), the moderation queue (the
//! administrators above the spaces), the report form on a post.

use super::{Item, Word};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::{AppError, AppResult, FieldErrors, NodeId, PostCommentId, PostId};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, redirect, render};

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "safety/queue.html")]
struct QueuePage {
    ctx: PageCtx,
    items: Vec<Item>,
}

pub async fn queue(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    if page.actor().admin_nodes().is_empty() {
        return Err(AppError::Forbidden);
    }
    let items = super::queue(&page.cx()).await?;
    Ok(render(&QueuePage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        items,
    }))
}

#[derive(Deserialize)]
pub struct DecideForm {
    what: String,
    id: String,
    decision: String,
}

pub async fn decide(page: Page, CsrfForm(f): CsrfForm<DecideForm>) -> AppResult<Response> {
    let id: uuid::Uuid =
        f.id.parse()
            .map_err(|_| AppError::NotFound("spaces.post_not_found"))?;
    let keep = match f.decision.as_str() {
        "keep" => true,
        "remove" => false,
        _ => return Err(AppError::BadRequest("invalid_form")),
    };
    super::decide(&page.cx(), &f.what, id, keep).await?;
    Ok(redirect("/spaces/moderation?done=moderated"))
}

#[derive(Template)]
#[template(path = "safety/words.html")]
struct WordsPage {
    ctx: PageCtx,
    region: NodeId,
    label: String,
    words: Vec<Word>,
    errors: FieldErrors,
}

async fn words_page(
    page: &Page,
    region: NodeId,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let words = super::words(&cx, region).await?;
    Ok(render(&WordsPage {
        ctx: page.ctx().with_notice(done),
        label: crate::scope::label(cx.db(), region)
            .await?
            .unwrap_or_default(),
        region,
        words,
        errors,
    }))
}

pub async fn words(
    page: Page,
    IdPath(region): IdPath<NodeId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    words_page(&page, region, FieldErrors::new(), q.done.as_deref()).await
}

#[derive(Deserialize)]
pub struct WordsForm {
    words: String,
    action: String,
}

pub async fn add_words(
    page: Page,
    IdPath(region): IdPath<NodeId>,
    CsrfForm(f): CsrfForm<WordsForm>,
) -> AppResult<Response> {
    match super::add_words(&page.cx(), region, &f.words, &f.action).await {
        Ok(_) => Ok(redirect(&format!(
            "/spaces/words/{region}?done=words_saved"
        ))),
        Err(AppError::Invalid(errors)) => words_page(&page, region, errors, None).await,
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct RemoveForm {
    word: String,
}

pub async fn remove_word(
    page: Page,
    IdPath(region): IdPath<NodeId>,
    CsrfForm(f): CsrfForm<RemoveForm>,
) -> AppResult<Response> {
    super::remove_word(&page.cx(), region, &f.word).await?;
    Ok(redirect(&format!(
        "/spaces/words/{region}?done=words_saved"
    )))
}

#[derive(Deserialize)]
pub struct ReportForm {
    reason: String,
    #[serde(default)]
    comment: String,
}

pub async fn report(
    page: Page,
    IdPath(id): IdPath<PostId>,
    CsrfForm(f): CsrfForm<ReportForm>,
) -> AppResult<Response> {
    let comment = match f.comment.trim() {
        "" => None,
        c => Some(web::parse_id::<PostCommentId>(c)?),
    };
    super::report(&page.cx(), id, comment, &f.reason).await?;
    Ok(redirect(&format!("/spaces/posts/{id}?done=reported")))
}
