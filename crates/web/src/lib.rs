//! The HTML shell: the page context and layout, the extractors that say who is asking
//! (session cookie or bearer token), CSRF, error pages, and the login, logout, profile and
//! language pages.

pub mod auth;
pub mod ctx;
pub mod errors;
pub mod meta;
pub mod pages;
pub mod panels;
pub mod upload;

pub use auth::{ApiActor, ApiCx, ApiJson, IdPath, MaybeSession, Session, redirect};
pub use ctx::{PageCtx, render};
pub use meta::Meta;
pub use pages::login::{CsrfForm, cookie, finish as finish_login};

use axum::Router;
use kernel::AppState;

/// The shell's own routes: login, logout, profile, language, the stylesheet.
pub fn routes() -> Router<AppState> {
    pages::routes()
}
