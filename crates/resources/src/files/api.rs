//! The upload API under `/api/v1/uploads` (resumable uploads in chunks) and the upload
//! script at `/static/upload.js`.
//!
//! Callers authenticate with a bearer token, or with the session cookie; a cookie-borne call
//! that changes something (POST, PUT, DELETE) must carry the session's CSRF token in an
//! `X-CSRF-Token` header, as the pages' forms carry it in their `csrf` field (the script reads
//! it from the file input's `data-csrf`).

use super::serve::{self, Disposition};
use super::upload::{self, Completion, NewUpload, UploadError, UploadView};
use super::{Failure, Refusal};
use crate::files::blob::Blob;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use kernel::i18n::Locale;
use kernel::{AppError, AppResult, AppState, UploadId};
use serde::Serialize;
use serde_json::json;
use std::time::Duration;
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath, MaybeSession};

/// The script that uploads in chunks with a progress bar (see its header for the markup).
pub const SCRIPT: &str = include_str!("../../static/upload.js");

/// The header a cookie-authenticated script sends the session's CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/upload.js", get(script))
        .route("/api/v1/uploads", post(create))
        .route("/api/v1/uploads/{id}", get(status).delete(abort))
        .route("/api/v1/uploads/{id}/complete", post(complete))
        .route("/api/v1/uploads/{id}/content", get(content))
}

/// The routes that take chunk bodies (served with the file size limit).
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/api/v1/uploads/{id}/chunks/{index}", put(put_chunk))
}

#[derive(OpenApi)]
#[openapi(
    paths(create, status, put_chunk, complete, abort, content),
    components(schemas(NewUpload, UploadView, UploadError, ChunkAck, Blob, RefusalBody))
)]
pub struct FilesApiDoc;

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SCRIPT,
    )
}

/// Who calls: a bearer token, or the session cookie (with the CSRF header for writes).
pub struct FilesCx {
    pub api: ApiCx,
    pub locale: Locale,
    pub request_id: String,
}

impl FromRequestParts<AppState> for FilesCx {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let locale = web::ctx::api_locale(&parts.headers);
        let request_id = parts
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let safe = parts.method == Method::GET || parts.method == Method::HEAD;
        let api = if parts.headers.contains_key(header::AUTHORIZATION) || safe {
            ApiCx::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?
        } else {
            let MaybeSession(session) = MaybeSession::from_request_parts(parts, state)
                .await
                .map_err(IntoResponse::into_response)?;
            let session = session.ok_or_else(|| AppError::Unauthenticated.into_response())?;
            let token = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            session
                .verify_csrf(token)
                .map_err(IntoResponse::into_response)?;
            ApiCx {
                state: state.clone(),
                actor: session.actor,
                meta: web::meta::request_meta(parts, state),
            }
        };
        Ok(Self {
            api,
            locale,
            request_id,
        })
    }
}

/// A refusal's body: the platform's error shape, with a message that names the file.
#[derive(Serialize, utoipa::ToSchema)]
struct RefusalBody {
    /// `{"code": "files.disguised", "message": "…", "detail": "…", "fields": {}, "request_id": "…"}`
    error: serde_json::Value,
}

/// The status a refusal is answered with.
fn refusal_status(code: &str) -> StatusCode {
    match code {
        "files.too_large" => StatusCode::PAYLOAD_TOO_LARGE,
        "files.disguised"
        | "files.executable"
        | "files.executable_inside"
        | "files.unsupported_type" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "files.scan_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "files.upload_failed" => StatusCode::BAD_REQUEST,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn failure(c: &FilesCx, file_name: &str, f: Failure) -> Response {
    match f {
        Failure::App(e) => e.into_response(),
        Failure::Refused(r) => refused(c, file_name, &r),
    }
}

fn refused(c: &FilesCx, file_name: &str, r: &Refusal) -> Response {
    let message = super::refusal_message(c.locale, file_name, r);
    let body = json!({ "error": {
        "code": r.code, "message": message, "detail": r.detail,
        "fields": {}, "request_id": c.request_id,
    }});
    (refusal_status(r.code), Json(body)).into_response()
}

/// A view with the error message in the caller's language.
fn localized(c: &FilesCx, mut v: UploadView) -> UploadView {
    if let Some(e) = &mut v.error {
        e.message = kernel::i18n::t(c.locale, &format!("error.{}", e.code)).to_owned();
    }
    v
}

/// Starts a resumable upload. Sizes over `files.max_file_bytes` and names of types the library
/// does not take are refused at once.
#[utoipa::path(post, path = "/api/v1/uploads", request_body = NewUpload,
    responses((status = 201, body = UploadView), (status = 401), (status = 403),
              (status = 413, body = RefusalBody), (status = 415, body = RefusalBody), (status = 422, body = RefusalBody)))]
async fn create(c: FilesCx, ApiJson(input): ApiJson<NewUpload>) -> Response {
    let name = input.file_name.clone();
    match upload::create(&c.api.cx(), input).await {
        Ok(v) => (StatusCode::CREATED, Json(localized(&c, v))).into_response(),
        Err(f) => failure(&c, &name, f),
    }
}

/// An upload: its chunks received so far (resume by sending the others), its state
/// (`open`, `assembling`, `complete`, `aborted`, `refused` with the reason), its file once complete.
#[utoipa::path(get, path = "/api/v1/uploads/{id}",
    responses((status = 200, body = UploadView), (status = 401), (status = 404)))]
async fn status(c: FilesCx, IdPath(id): IdPath<UploadId>) -> AppResult<Json<UploadView>> {
    let v = upload::status(&c.api.cx(), id).await?;
    Ok(Json(localized(&c, v)))
}

#[derive(Serialize, utoipa::ToSchema)]
struct ChunkAck {
    index: i64,
    size: i64,
}

/// Sends chunk `index` (from 0) as the raw body: exactly `chunk_size` bytes, the last chunk
/// the rest. Sending a chunk again replaces it. The first chunk is sniffed at once: a
/// disguised file is refused before the rest is sent.
#[utoipa::path(put, path = "/api/v1/uploads/{id}/chunks/{index}", request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = ChunkAck), (status = 400), (status = 401), (status = 403), (status = 404),
              (status = 409), (status = 415, body = RefusalBody)))]
async fn put_chunk(c: FilesCx, Path((id, index)): Path<(String, String)>, body: Body) -> Response {
    let Ok(id) = id.parse::<UploadId>() else {
        return AppError::NotFound("files.upload_not_found").into_response();
    };
    let Ok(index) = index.parse::<i64>() else {
        return AppError::BadRequest("files.chunk_index").into_response();
    };
    let cx = c.api.cx();
    let stream = body.into_data_stream();
    match upload::put_chunk(&cx, id, index, stream).await {
        Ok(size) => Json(ChunkAck { index, size }).into_response(),
        Err(f) => {
            let name = upload::load(&cx, id)
                .await
                .map(|r| r.file_name)
                .unwrap_or_default();
            failure(&c, &name, f)
        }
    }
}

/// Puts the chunks together and keeps the file (sniffed, scanned, stored once per content).
/// `200` when done; `202` while a large file is still being put together (poll
/// `GET /api/v1/uploads/{id}` until `complete` or `refused`). `409 files.chunks_missing` when
/// chunks are missing: the status says which arrived.
#[utoipa::path(post, path = "/api/v1/uploads/{id}/complete",
    responses((status = 200, body = UploadView), (status = 202, body = UploadView), (status = 401), (status = 403),
              (status = 404), (status = 409), (status = 415, body = RefusalBody), (status = 422, body = RefusalBody),
              (status = 503, body = RefusalBody)))]
async fn complete(c: FilesCx, IdPath(id): IdPath<UploadId>) -> Response {
    let cx = c.api.cx();
    let budget = c
        .api
        .state
        .config
        .request_timeout_seconds
        .saturating_sub(5)
        .max(1);
    match upload::complete(&cx, id, Duration::from_secs(budget)).await {
        Ok(Completion::Done(v)) => Json(localized(&c, v)).into_response(),
        Ok(Completion::Assembling(v)) => {
            (StatusCode::ACCEPTED, Json(localized(&c, v))).into_response()
        }
        Err(f) => {
            let name = upload::load(&cx, id)
                .await
                .map(|r| r.file_name)
                .unwrap_or_default();
            failure(&c, &name, f)
        }
    }
}

/// Abandons an open upload; its chunks are deleted.
#[utoipa::path(delete, path = "/api/v1/uploads/{id}",
    responses((status = 204), (status = 401), (status = 403), (status = 404), (status = 409)))]
async fn abort(c: FilesCx, IdPath(id): IdPath<UploadId>) -> AppResult<StatusCode> {
    upload::abort(&c.api.cx(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The content of a completed upload, for its uploader to check before attaching it: range
/// requests (`206`, `416`), `ETag` (the SHA-256) and `If-None-Match` (`304`).
#[utoipa::path(get, path = "/api/v1/uploads/{id}/content",
    responses((status = 200), (status = 206), (status = 304), (status = 401), (status = 404), (status = 416)))]
async fn content(
    State(state): State<AppState>,
    c: FilesCx,
    IdPath(id): IdPath<UploadId>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let (row, blob) = upload::content(&c.api.cx(), id).await?;
    serve::respond_blob(&state, &blob, &headers, Disposition::inline(&row.file_name)).await
}

#[cfg(test)]
mod tests {
    use askama::Template;

    #[derive(Template)]
    #[template(
        source = "<form>{% include \"upload_field.html\" %}</form>",
        ext = "html"
    )]
    struct Form {
        ctx: web::PageCtx,
    }

    #[test]
    fn the_upload_field_follows_the_script_contract() {
        let ctx = web::PageCtx {
            locale: kernel::Locale::ZhCn,
            user: None,
            csrf: "tok-123".into(),
            notice: None,
            demo: false,
            zone: Default::default(),
        };
        let html = Form { ctx }.render().unwrap();
        assert!(html.contains("data-chunked-upload=\"upload_id\""), "{html}");
        assert!(html.contains("data-csrf=\"tok-123\""));
        assert!(html.contains("name=\"upload_id\""));
        assert!(html.contains("正在上传 {percent}%"));
        assert!(html.contains("src=\"/static/upload.js\""));
        assert!(super::SCRIPT.contains("data-chunked-upload"));
    }
}
