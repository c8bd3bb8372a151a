//! The request's id, address and user agent, for audit records.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use kernel::{AppState, RequestMeta};
use std::convert::Infallible;
use std::net::SocketAddr;

pub struct Meta(pub RequestMeta);

impl FromRequestParts<AppState> for Meta {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Meta(request_meta(parts, state)))
    }
}

pub fn request_meta(parts: &Parts, state: &AppState) -> RequestMeta {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let forwarded = if state.config.trust_proxy_headers {
        header("x-forwarded-for").and_then(|v| v.split(',').next().map(|s| s.trim().to_owned()))
    } else {
        None
    };
    let ip = forwarded.or_else(|| {
        parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip().to_string())
    });
    RequestMeta {
        request_id: header("x-request-id").unwrap_or_default(),
        ip,
        user_agent: header("user-agent").map(|ua| ua.chars().take(300).collect()),
    }
}
