//! The shell's pages: login, logout, profile (password, language, sessions), and the stylesheet.

mod lang;
pub mod login;
mod mfa;
mod passkey;
mod profile;
mod security;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
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

async fn passkey_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        passkey::SCRIPT,
    )
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::show).post(login::submit))
        .route("/login/mfa", get(login::mfa_form).post(login::mfa_submit))
        .route("/login/passkey/begin", post(passkey::login_begin))
        .route("/login/passkey/finish", post(passkey::login_finish))
        .route("/login/mfa/passkey/begin", post(passkey::second_begin))
        .route("/login/mfa/passkey/finish", post(passkey::second_finish))
        .route("/profile/mfa/passkeys/begin", post(passkey::register_begin))
        .route(
            "/profile/mfa/passkeys/finish",
            post(passkey::register_finish),
        )
        .route("/profile/mfa/passkeys/remove", post(passkey::remove))
        .route("/static/passkey.js", get(passkey_script))
        .route("/logout", post(login::logout))
        .route("/profile", get(profile::show))
        .route(
            "/profile/password",
            get(profile::password_form).post(profile::change_password),
        )
        .route(
            "/profile/sessions/end-others",
            post(profile::end_other_sessions),
        )
        .route("/profile/mfa", get(mfa::show))
        .route("/profile/mfa/totp", post(mfa::begin))
        .route("/profile/mfa/totp/confirm", post(mfa::confirm))
        .route("/profile/mfa/recovery-codes", post(mfa::renew_codes))
        .route("/profile/mfa/remove", post(mfa::remove))
        .route("/admin/security", get(security::show).post(security::save))
        .route("/lang", post(lang::switch))
        .route("/static/app.css", get(stylesheet))
        .route("/static/icon.svg", get(icon))
        .route("/favicon.ico", get(icon))
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
