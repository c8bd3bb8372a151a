//! The shared teaching-resource library (资源共建共享): the textbook catalogue, files in object
//! storage, resources and their review and recommendation through school, district and city,
//! quality signals, Chinese full-text search, recommendations and statistics. Pages under
//! `/library`, the API under `/api/v1/resources`, `/api/v1/catalog`, `/api/v1/uploads`.

pub mod access;
pub mod catalog;
pub mod changes;
pub mod demo;
pub mod files;
pub mod library;
pub mod model;
pub mod recommend;
pub mod search;
pub mod stats;

use axum::Router;
use kernel::AppState;

/// The library's pages and API.
pub fn routes() -> Router<AppState> {
    catalog::routes()
        .merge(files::routes())
        .merge(library::routes())
        .merge(search::routes())
        .merge(stats::routes())
        .merge(recommend::pages::routes())
}

/// The routes that take file bodies (served with the file size limit instead of the body limit).
pub fn upload_routes() -> Router<AppState> {
    catalog::upload_routes()
        .merge(files::upload_routes())
        .merge(library::upload_routes())
}

/// The library's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = library::api::LibraryApiDoc::openapi();
    doc.merge(files::api::FilesApiDoc::openapi());
    doc.merge(catalog::api::CatalogApiDoc::openapi());
    doc.merge(search::api::SearchApiDoc::openapi());
    doc.merge(stats::api::StatsApiDoc::openapi());
    doc.merge(recommend::pages::RecommendApiDoc::openapi());
    doc
}

/// The library's background work on every node: the search index following the change log,
/// previews, the cleanup of abandoned uploads.
pub async fn runner(state: AppState) {
    tokio::join!(search::runner(state.clone()), files::runner(state));
}

/// How the audit log names the library's objects.
pub const AUDIT_NAMES: &[kernel::audit::names::ObjectName] = &[
    kernel::audit::names::ObjectName {
        kind: "resource",
        sql: "SELECT title FROM resources WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "catalog",
        sql: "SELECT name FROM catalog_nodes WHERE id = $1",
    },
    kernel::audit::names::ObjectName {
        kind: "list",
        sql: "SELECT title FROM excellent_lists WHERE id = $1",
    },
];

/// The library's tables: catalogue, resources and their files, reviews, recommendations,
/// events and notifications.
pub static SCHEMA: kernel::Schema = kernel::schema!("resources", [&directory::SCHEMA]);

#[cfg(test)]
mod schema_tests {
    #[test]
    fn migration_folders_match() {
        kernel::testing::assert_folders_match(&super::SCHEMA);
    }

    #[tokio::test]
    #[ignore = "needs PostgreSQL: run with TEST_DATABASE_URL set and --include-ignored (.ci/run does)"]
    async fn schema_is_the_same_on_both_databases() {
        assert!(kernel::testing::assert_schema_parity(&super::SCHEMA).await > 20);
    }
}
