//! The directory: regions, schools, grades and classes (the organisation tree), people and their
//! scoped roles, terms, base data (imports, exports, registry changes, statistics), the audit
//! log, the exchange between instances, and the demo region. Pages under `/`, `/admin`,
//! `/classes`, `/people` and `/export`; the JSON API under `/api/v1`. One folder per feature,
//! each with its service functions, `pages.rs` and `api.rs`, as in `crates/resources`.

pub mod audit;
pub mod changes;
pub mod classes;
pub mod demo;
pub mod exchange;
pub mod export;
pub mod home;
pub mod import;
pub mod lifecycle;
pub mod model;
pub mod nodes;
pub mod people;
pub mod registry;
pub mod roles;
pub mod stats;
pub mod terms;

// The national standards, where the directory first had them.
pub use standards::{codes, divisions, typed, validate};

use axum::Router;
use axum::routing::get;
use kernel::AppState;

/// The directory's pages and API, feature by feature.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .merge(classes::routes())
        .merge(nodes::routes())
        .merge(people::routes())
        .merge(import::routes())
        .merge(stats::routes())
        .merge(export::routes())
        .merge(audit::routes())
        .merge(registry::routes())
        .merge(exchange::routes())
}

/// The routes that take spreadsheet uploads (served with the upload size limit).
pub fn upload_routes() -> Router<AppState> {
    import::upload_routes()
}

/// The directory's part of the OpenAPI document.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = nodes::api::NodesApiDoc::openapi();
    doc.merge(people::api::PeopleApiDoc::openapi());
    doc.merge(classes::api::ClassesApiDoc::openapi());
    doc.merge(stats::api::StatsApiDoc::openapi());
    doc.merge(audit::api::AuditApiDoc::openapi());
    doc.merge(registry::api::RegistryApiDoc::openapi());
    doc.merge(exchange::api::ExchangeApiDoc::openapi());
    doc
}

/// The base data's tables: students, staff, families, class history, imports, transfers,
/// exchange with upper-level systems.
pub static SCHEMA: kernel::Schema = kernel::schema!("directory", [&identity::SCHEMA]);

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
