//! Files: object storage (a local folder or S3-compatible), uploads (whole and resumable in
//! chunks), type sniffing, the virus-scan hook, text extraction, previews, and serving with
//! range requests.

pub mod blob;

use axum::Router;
use kernel::AppState;

/// Pages and API of files that take no large body.
pub fn routes() -> Router<AppState> {
    Router::new()
}

/// The routes that take file bodies.
pub fn upload_routes() -> Router<AppState> {
    Router::new()
}

/// Background work: previews of Office documents, removal of abandoned uploads.
pub async fn runner(state: AppState) {
    let _ = state;
}
