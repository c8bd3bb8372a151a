//! Renders [`AppError`]s in the requester's language: the JSON error body under `/api/`, an
//! error page elsewhere. Internals never reach the user; the request id lets support find them
//! in the log.

use crate::ctx::{PageCtx, api_locale, locale_from_headers, render};
use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kernel::error::ErrorPayload;
use kernel::i18n;
use serde_json::json;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: PageCtx,
    status: u16,
    message: &'a str,
    request_id: &'a str,
}

pub async fn render_errors(
    axum::extract::State(state): axum::extract::State<kernel::AppState>,
    req: Request,
    next: Next,
) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let headers = req.headers().clone();
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut res = next.run(req).await;
    let Some(ErrorPayload(err)) = res.extensions_mut().remove::<ErrorPayload>() else {
        if is_api && is_rejection(&res) {
            return rejection_as_json(res.status(), &headers, &request_id);
        }
        return res;
    };
    let locale = if is_api {
        api_locale(&headers)
    } else {
        locale_from_headers(&headers)
    };
    let status = err.status();
    let message = err.message(locale);
    let mut out = if is_api {
        let fields: serde_json::Map<String, serde_json::Value> = err
            .fields()
            .map(|f| {
                f.0.iter()
                    .map(|(k, v)| (k.clone(), json!(i18n::t(locale, v))))
                    .collect()
            })
            .unwrap_or_default();
        let body = json!({ "error": { "code": err.code(), "message": message, "fields": fields, "request_id": request_id } });
        (status, axum::Json(body)).into_response()
    } else {
        // A signed-in person keeps their menu, their logout and a working language switch on
        // an error page.
        let session = crate::auth::session_from_headers(&headers, &state)
            .await
            .ok()
            .flatten()
            .filter(|s| !s.mfa_pending);
        let ctx = match &session {
            Some(s) => PageCtx::for_session(s),
            None => PageCtx {
                locale,
                ..PageCtx::anonymous(&headers)
            },
        };
        let page = ErrorPage {
            ctx,
            status: status.as_u16(),
            message: &message,
            request_id: &request_id,
        };
        (status, render(&page)).into_response()
    };
    if status == axum::http::StatusCode::UNAUTHORIZED && is_api {
        out.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    // The database or the file store is recovering: nothing was saved, try again shortly.
    if status == axum::http::StatusCode::SERVICE_UNAVAILABLE {
        out.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    out
}

/// A client error the framework answered by itself: axum's extractor rejections and the body
/// limit are plain text, the router's 405 has no body. (A handler's own answers, such as a 416
/// for a range request, are left alone.)
fn is_rejection(res: &Response) -> bool {
    let status = res.status();
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    status.is_client_error()
        && (content_type.is_some_and(|v| v.starts_with("text/plain"))
            || (content_type.is_none() && status == axum::http::StatusCode::METHOD_NOT_ALLOWED))
}

/// A request the framework refused before any handler ran (a query or path that does not
/// parse, a method the route does not have, a body of the wrong type): the API's one JSON error
/// shape all the same, never the framework's plain text.
fn rejection_as_json(
    status: axum::http::StatusCode,
    headers: &axum::http::HeaderMap,
    request_id: &str,
) -> Response {
    use axum::http::StatusCode as S;
    let code = match status {
        S::NOT_FOUND => "not_found",
        S::METHOD_NOT_ALLOWED => "method_not_allowed",
        S::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        S::PAYLOAD_TOO_LARGE => "too_large_unknown",
        S::UNAUTHORIZED => "unauthenticated",
        S::FORBIDDEN => "forbidden",
        S::UNPROCESSABLE_ENTITY => "invalid_input",
        _ => "bad_request",
    };
    let message = i18n::t(api_locale(headers), &format!("error.{code}")).to_owned();
    let body = json!({ "error": { "code": code, "message": message, "fields": {}, "request_id": request_id } });
    (status, axum::Json(body)).into_response()
}

/// Unknown routes.
pub async fn not_found() -> kernel::AppError {
    kernel::AppError::NotFound("not_found")
}
