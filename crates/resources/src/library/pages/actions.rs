//! The resource page's forms: submit, withdraw, approve, reject, recommend, delete, favourite,
//! rate, comment. A refused decision comes back on the page beside its field (422), or with
//! the reason at the top (409 when the resource changed meanwhile).

use super::parse_id;
use super::show::{Kept, again};
use crate::library::resource;
use crate::library::review::{self, ReviewInput};
use crate::library::signals::{self, CommentInput, RatingInput};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use kernel::{AppError, AppResult, CommentId, Ctx, FieldErrors, ResourceId};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, Session, redirect};

/// A form with only its CSRF token (a missing token is refused as CSRF, not as bad input).
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {}

#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    score: String,
}

/// What a refused action looks like on the page.
async fn refused(
    cx: &Ctx<'_>,
    session: &Session,
    id: ResourceId,
    e: AppError,
    kept: Kept,
) -> AppResult<Response> {
    match e {
        AppError::Invalid(errors) => {
            again(
                cx,
                session,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                errors,
                None,
                kept,
            )
            .await
        }
        AppError::Conflict(code, _) => {
            let msg = kernel::i18n::t(session.actor.locale, &format!("error.{code}")).to_owned();
            again(
                cx,
                session,
                id,
                StatusCode::CONFLICT,
                FieldErrors::new(),
                Some(msg),
                kept,
            )
            .await
        }
        other => Err(other),
    }
}

/// `POST /library/r/{id}/{submit|withdraw|approve|reject|recommend}`.
pub async fn decide(
    page: Page,
    Path((id, action)): Path<(String, String)>,
    CsrfForm(f): CsrfForm<DecisionForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let id: ResourceId = parse_id(&id)?;
    let cx = page.cx();
    let kept = Kept {
        comment: f.comment.clone(),
        score: f.score.clone(),
        ..Default::default()
    };
    let Ok(version) = f.version.trim().parse::<i64>() else {
        return refused(
            &cx,
            session,
            id,
            super::super::review::changed_meanwhile(),
            kept,
        )
        .await;
    };
    let score = match f.score.trim() {
        "" => None,
        s => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                let e = AppError::field("score", "error.resources.score_range");
                return refused(&cx, session, id, e, kept).await;
            }
        },
    };
    let input = ReviewInput {
        version,
        comment: f.comment.clone(),
        score,
    };
    let (result, ok) = match action.as_str() {
        "submit" => (review::submit(&cx, id, input).await, "submitted"),
        "withdraw" => (review::withdraw(&cx, id, input).await, "withdrawn"),
        "approve" => (review::approve(&cx, id, input).await, "approved"),
        "reject" => (review::reject(&cx, id, input).await, "rejected"),
        "recommend" => (review::recommend(&cx, id, input).await, "recommended"),
        _ => return Err(AppError::NotFound("not_found")),
    };
    match result {
        Ok(_) => Ok(redirect(&format!("/library/r/{id}?ok={ok}"))),
        Err(e) => refused(&cx, session, id, e, kept).await,
    }
}

pub async fn delete(
    page: Page,
    IdPath(id): IdPath<ResourceId>,
    CsrfForm(_): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let cx = page.cx();
    resource::delete(&cx, id).await?;
    Ok(redirect("/library/mine?ok=deleted"))
}

#[derive(Debug, Deserialize)]
pub struct FavouriteForm {
    #[serde(default)]
    on: String,
}

pub async fn favourite(
    page: Page,
    IdPath(id): IdPath<ResourceId>,
    CsrfForm(f): CsrfForm<FavouriteForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let on = f.on != "false";
    signals::set_favourite(&cx, id, on).await?;
    let ok = if on { "favourited" } else { "unfavourited" };
    Ok(redirect(&format!("/library/r/{id}?ok={ok}")))
}

#[derive(Debug, Deserialize)]
pub struct RateForm {
    #[serde(default)]
    stars: String,
    #[serde(default)]
    comment: String,
}

pub async fn rate(
    page: Page,
    IdPath(id): IdPath<ResourceId>,
    CsrfForm(f): CsrfForm<RateForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let kept = Kept {
        stars: f.stars.clone(),
        rating_comment: f.comment.clone(),
        ..Default::default()
    };
    let input = RatingInput {
        stars: f.stars.trim().parse().unwrap_or(0),
        comment: f.comment.clone(),
    };
    match signals::rate(&cx, id, input).await {
        Ok(_) => Ok(redirect(&format!("/library/r/{id}?ok=rated"))),
        Err(e) => refused(&cx, session, id, e, kept).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
}

pub async fn comment(
    page: Page,
    IdPath(id): IdPath<ResourceId>,
    CsrfForm(f): CsrfForm<CommentForm>,
) -> AppResult<Response> {
    let Page { session, .. } = &page;
    let cx = page.cx();
    let kept = Kept {
        body: f.body.clone(),
        ..Default::default()
    };
    match signals::comment(
        &cx,
        id,
        CommentInput {
            body: f.body.clone(),
        },
    )
    .await
    {
        Ok(_) => Ok(redirect(&format!("/library/r/{id}?ok=commented#comments"))),
        Err(e) => refused(&cx, session, id, e, kept).await,
    }
}

pub async fn delete_comment(
    page: Page,
    Path((id, cid)): Path<(String, String)>,
    CsrfForm(_): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let id: ResourceId = parse_id(&id)?;
    let cid: CommentId = parse_id(&cid)?;
    let cx = page.cx();
    signals::delete_comment(&cx, id, cid).await?;
    Ok(redirect(&format!(
        "/library/r/{id}?ok=comment_deleted#comments"
    )))
}
