//! The directory: regions, schools, grades and classes (the organisation tree), people and their
//! scoped roles, terms, the audit log pages, and the demo region. Pages under `/`, `/admin`,
//! `/classes` and `/people`; the JSON API under `/api/v1`.

pub mod api;
pub mod api_registry;
pub mod audit_log;
pub mod changes;
pub mod classes;
pub mod demo;
pub mod exchange;
pub mod export;
pub mod filecheck;
pub mod headers;
pub mod import;
pub mod lifecycle;
pub mod model;
pub mod nodes;
pub mod pages;
pub mod people;
pub mod registry;
pub mod roles;
pub mod rowcheck;
pub mod slips;
pub mod staffcheck;
pub mod stats;
pub mod terms;

// The national standards, where the directory first had them.
pub use standards::{codes, divisions, typed, validate};

use axum::Router;
use kernel::AppState;

pub fn routes() -> Router<AppState> {
    pages::routes()
        .merge(api::routes())
        .merge(exchange::routes())
}

/// The routes that take spreadsheet uploads (served with the upload size limit).
pub fn upload_routes() -> Router<AppState> {
    pages::upload_routes()
}
