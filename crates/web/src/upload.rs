//! Request bodies and their limits: one answer for a body that is too large, wherever it is
//! found out (before reading, by its `Content-Length`; while streaming a form; in the JSON API).

use axum::extract::Request;
use axum::extract::multipart::MultipartError;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::AppError;

/// Refuses a request whose declared length is over `limit` before any of it is read, with the
/// platform's own error (page or JSON, naming the limit) instead of a bare 413.
pub async fn refuse_declared_over(limit: usize, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return AppError::TooLarge(limit as u64).into_response();
    }
    next.run(req).await
}

/// A multipart form that could not be read to its end: over the limit (`TooLarge`, which the
/// form shows with the limit), or cut short (`key` on `field`).
pub fn multipart_error(e: MultipartError, limit: u64, field: &str, key: &str) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::TooLarge(limit);
    }
    tracing::info!(error = %e, "upload cut short");
    AppError::field(field, key)
}

/// At most `limit` bytes of body: a declared length over it is refused at once with the
/// platform's own error naming the limit, and a body that streams past it is cut off.
pub fn body_limit(
    routes: axum::Router<kernel::AppState>,
    limit: usize,
) -> axum::Router<kernel::AppState> {
    routes
        .layer(tower_http::limit::RequestBodyLimitLayer::new(limit))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| refuse_declared_over(limit, req, next),
        ))
}

/// Routes whose bodies may be as large as `limit`: the body limit, and the same limit for the
/// extractors (`Multipart`, `Bytes`) that otherwise stop at axum's 2 MiB default.
pub fn upload_limit(
    routes: axum::Router<kernel::AppState>,
    limit: usize,
) -> axum::Router<kernel::AppState> {
    body_limit(
        routes.layer(axum::extract::DefaultBodyLimit::max(limit)),
        limit,
    )
}
