//! The HTML shell: the page context and layout, the extractors that say who is asking
//! (session cookie or bearer token), CSRF, error pages, and the login, logout, profile and
//! language pages.

pub mod auth;
pub mod ctx;
pub mod download;
pub mod errors;
pub mod meta;
pub mod page;
pub mod pages;
pub mod panels;
pub mod upload;

pub use auth::{ApiActor, ApiCx, ApiJson, IdPath, MaybeSession, Session, parse_id, redirect};
pub use ctx::{PageCtx, render};
pub use download::{XLSX, attachment};
pub use meta::Meta;
pub use page::{CsrfForm, CsrfToken, Page};
pub use pages::cookie;

use axum::Router;
use kernel::AppState;

/// The shell's own routes: the language switch, the stylesheet, the icon.
pub fn routes() -> Router<AppState> {
    pages::routes()
}
