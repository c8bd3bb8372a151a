//! Server-rendered pages. Each handler parses input, calls one service function and renders.

mod audit;
mod classes;
mod export;
mod home;
mod imports;
mod org;
mod people;
mod registry;
mod stats;

use axum::Router;
use axum::routing::{get, post};
use kernel::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/classes", get(classes::mine))
        .route("/classes/{id}", get(classes::roster))
        .route("/classes/{id}/accounts", post(classes::issue_accounts))
        .route("/admin/org", get(org::root))
        .route("/admin/org/{id}", get(org::show))
        .route("/admin/org/{id}/children", post(org::create_child))
        .route("/admin/org/{id}/rename", post(org::rename))
        .route("/admin/org/{id}/move", post(org::move_school))
        .route("/admin/org/{id}/deactivate", post(org::deactivate))
        .route("/admin/org/{id}/reactivate", post(org::reactivate))
        .route("/admin/org/{id}/terms", post(org::create_term))
        .route("/admin/org/{id}/promote", post(org::promote))
        .route("/admin/people", get(people::list).post(people::create))
        .route("/admin/people/new", get(people::new_form))
        .route("/people/{id}", get(people::show).post(people::update))
        .route("/people/{id}/edit", get(people::edit_form))
        .route("/people/{id}/deactivate", post(people::deactivate))
        .route("/people/{id}/reactivate", post(people::reactivate))
        .route("/people/{id}/reset-password", post(people::reset_password))
        .route("/people/{id}/end-sessions", post(people::end_sessions))
        .route("/people/{id}/reset-mfa", post(people::reset_mfa))
        .route("/people/{id}/roles", post(people::add_role))
        .route(
            "/people/{id}/roles/{role}/delete",
            post(people::remove_role),
        )
        .route("/admin/org/{id}/imports", get(imports::list))
        .route("/admin/org/{id}/stats", get(stats::show))
        .route("/export/students/{id}", get(export::students))
        .route("/export/staff/{id}", get(export::staff))
        .route("/export/classes/{id}", get(export::classes))
        .route("/export/roster/{id}", get(export::roster))
        .route("/export/registry/{id}", get(export::registry))
        .route("/export/people", get(export::people))
        .route("/export/oneroster/{id}", get(export::oneroster))
        .route("/export/audit", get(audit::export))
        .route(
            "/admin/imports/template.xlsx",
            get(imports::template_download),
        )
        .route("/admin/imports", get(imports::mine))
        .route("/admin/imports/{id}", get(imports::show))
        .route("/admin/imports/{id}/commit", post(imports::commit))
        .route("/admin/imports/{id}/discard", post(imports::discard))
        .route("/admin/imports/{id}/errors.xlsx", get(imports::error_copy))
        .merge(registry::routes())
        .route("/admin/audit", get(audit::list))
        .route("/admin/audit.csv", get(audit::export))
}

/// The spreadsheet upload, served under its own body-size limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/admin/org/{id}/imports", post(imports::upload))
}

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A download named `name`: UTF-8 in `filename*`, and a plain ASCII name with the same
/// extension for clients that do not read it.
pub fn attachment(name: &str, content_type: &str, bytes: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let ext = name.rsplit_once('.').map_or("bin", |(_, e)| e);
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"download.{ext}\"; filename*=UTF-8''{}",
                    web::auth::url_encode(name)
                ),
            ),
        ],
        bytes,
    )
        .into_response()
}

pub use web::parse_id;

pub use standards::subjects::{subject_name, subjects};
