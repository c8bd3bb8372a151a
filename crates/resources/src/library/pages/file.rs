//! A resource's file: `/library/r/{id}/file` (an attachment; counts a download) and
//! `/library/r/{id}/preview` (inline, with range requests), both for those who may see the
//! resource, served by the files module.

use super::parse_id;
use crate::access::Viewer;
use crate::files::blob::{self, Blob};
use crate::files::serve::{self, Disposition, PreviewOutcome};
use crate::library::{resource, signals};
use crate::model::ResourceRow;
use axum::extract::Path;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use kernel::{AppError, AppResult, Ctx, ResourceId};
use web::Page;

async fn load(cx: &Ctx<'_>, id: &str) -> AppResult<(ResourceRow, Blob, String)> {
    let id: ResourceId = parse_id(id)?;
    let viewer = Viewer::of(cx.db(), cx.actor).await?;
    let r = resource::get_as(cx, &viewer, id).await?;
    let hash = r
        .blob_hash
        .clone()
        .ok_or(AppError::NotFound("resources.no_file"))?;
    let b = blob::find(cx.db(), &hash)
        .await?
        .ok_or(AppError::NotFound("resources.no_file"))?;
    let name = r.file_name.clone().unwrap_or_else(|| r.title.clone());
    Ok((r, b, name))
}

/// Whether a request reads the file from its start (not a later part of a resumed download).
fn from_start(headers: &HeaderMap) -> bool {
    match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(r) => r.trim().trim_start_matches("bytes=").starts_with("0-"),
    }
}

pub async fn download(
    page: Page,
    method: Method,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let Page { state, .. } = &page;
    let cx = page.cx();
    let (r, b, name) = load(&cx, &id).await?;
    if method == Method::GET && from_start(&headers) {
        signals::download(&cx, &r).await?;
    }
    serve::respond_blob(state, &b, &headers, Disposition::attachment(&name)).await
}

pub async fn preview(
    page: Page,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let Page { state, .. } = &page;
    let cx = page.cx();
    let (_, b, name) = load(&cx, &id).await?;
    match serve::preview(state, &b, &headers, &name).await? {
        PreviewOutcome::Ready(res) => Ok(framed_by_own_pages(res)),
        PreviewOutcome::Pending => Err(AppError::NotFound("resources.preview_pending")),
        PreviewOutcome::Unavailable => Err(AppError::NotFound("resources.preview_unavailable")),
    }
}

/// A preview shows inside the resource page's own frame: framing by the platform's pages is
/// allowed, by any other site still refused (the server's defaults are `DENY` and `'none'`,
/// set only where a response has not set its own).
fn framed_by_own_pages(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        axum::http::header::X_FRAME_OPTIONS,
        axum::http::HeaderValue::from_static("SAMEORIGIN"),
    );
    h.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        axum::http::HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'self'; base-uri 'none'",
        ),
    );
    res
}
