//! The shell's own pages: the language switch, the stylesheet and the icon. The account pages
//! (login, second factor, passkeys, profile, login security) are the `account` crate's.

mod lang;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, SameSite};
use kernel::AppState;

pub const STYLESHEET: &str = include_str!("../../static/app.css");

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

pub const ICON: &str = include_str!("../../static/icon.svg");

/// The platform's icon, at the address browsers ask for by themselves too.
async fn icon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
}

pub const MANIFEST: &str = include_str!("../../static/manifest.webmanifest");
pub const SERVICE_WORKER: &str = include_str!("../../static/sw.js");
pub const PWA_SCRIPT: &str = include_str!("../../static/pwa.js");

/// The mobile web app's manifest (installable from the browser: no app store).
async fn manifest() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/manifest+json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        MANIFEST,
    )
}

/// The service worker, at the root so its scope is the whole platform; always revalidated so
/// a new version reaches phones at once.
async fn service_worker() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER,
    )
}

async fn pwa_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        PWA_SCRIPT,
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lang", post(lang::switch))
        .route("/manifest.webmanifest", get(manifest))
        .route("/sw.js", get(service_worker))
        .route("/static/pwa.js", get(pwa_script))
        .route("/static/app.css", get(stylesheet))
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
}

/// A cookie of the platform's: the whole site, `SameSite=Lax`, `Secure` over HTTPS.
pub fn cookie<'a>(state: &AppState, name: &'a str, value: String, http_only: bool) -> Cookie<'a> {
    Cookie::build((name, value))
        .path("/")
        .http_only(http_only)
        .same_site(SameSite::Lax)
        .secure(state.config.https())
        .build()
}

/// Only local paths may be redirect targets (no open redirects).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_is_local_only() {
        assert_eq!(
            super::safe_next(Some("/admin/people?q=1")),
            "/admin/people?q=1"
        );
        assert_eq!(super::safe_next(Some("//evil.example")), "/");
        assert_eq!(super::safe_next(Some("https://evil.example")), "/");
        assert_eq!(super::safe_next(Some("/\\evil.example")), "/");
        assert_eq!(super::safe_next(None), "/");
    }
}
