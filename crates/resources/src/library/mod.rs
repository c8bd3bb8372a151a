//! Resources: creation against catalogue nodes, editing, sharing and review through the
//! levels, quality signals, excellent-resource lists, and their pages and API.

use axum::Router;
use kernel::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The routes that take a whole file with the resource form (the form without JavaScript).
pub fn upload_routes() -> Router<AppState> {
    Router::new()
}
