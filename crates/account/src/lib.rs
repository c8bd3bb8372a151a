//! The identity centre's pages: login (password, upstream provider, passkey), the second
//! factor, passkeys, the profile (password, sessions, language), and a region's login security
//! policy. The rules behind them are the `identity` crate's; the layout is `web`'s.

mod login;
mod mfa;
mod passkey;
mod profile;
mod security;

pub use login::finish as finish_login;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use kernel::AppState;

/// The account pages' routes.
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
