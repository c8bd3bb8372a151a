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

pub async fn render_errors(req: Request, next: Next) -> Response {
    let is_api = req.uri().path().starts_with("/api/");
    let headers = req.headers().clone();
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut res = next.run(req).await;
    let Some(ErrorPayload(err)) = res.extensions_mut().remove::<ErrorPayload>() else {
        return res;
    };
    let locale = if is_api {
        api_locale(&headers)
    } else {
        locale_from_headers(&headers)
    };
    let status = err.status();
    let message = i18n::t(locale, &format!("error.{}", err.code())).to_owned();
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
        let ctx = PageCtx::anonymous(&headers);
        let page = ErrorPage {
            ctx: PageCtx { locale, ..ctx },
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
    out
}

/// Unknown routes.
pub async fn not_found() -> kernel::AppError {
    kernel::AppError::NotFound("not_found")
}
