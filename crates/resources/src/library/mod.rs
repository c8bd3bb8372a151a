//! Resources: creation against catalogue nodes, editing, sharing and review through the
//! levels, quality signals, excellent-resource lists, and their pages and API.

pub mod api;
mod api_review;
pub mod demo;
pub mod detail;
pub mod excellent;
pub mod input;
pub mod listing;
mod pages;
pub mod quality;
pub mod queue;
pub mod resource;
pub mod review;
pub mod reviewers;
pub mod signals;

use axum::Router;
use kernel::AppState;

pub fn routes() -> Router<AppState> {
    pages::routes().merge(api::routes())
}

/// The routes that take a whole file with the resource form (the form without JavaScript).
pub fn upload_routes() -> Router<AppState> {
    pages::upload_routes()
}
