//! The catalogue's pages: `/library/catalog` (browse the catalogues a person uses; for the
//! region's administrators the edit forms, the import and the textbook choices) and
//! `/library/progress` (a teacher's classes, where each one is, and a unit picker).

mod browse;
mod choose;
pub mod import;
mod progress;

pub use import::{Staged, receive as receive_upload};

use axum::Router;
use axum::routing::{get, post};
use kernel::{AppResult, AppState};
use web::{PageCtx, Session};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/library/catalog", get(browse::page_of))
        .route("/library/catalog/template.xlsx", get(import::template))
        .route("/library/catalog/nodes", post(browse::create))
        .route("/library/catalog/{id}/rename", post(browse::rename))
        .route("/library/catalog/{id}/move", post(browse::reorder))
        .route("/library/catalog/{id}/remove", post(browse::remove))
        .route("/library/catalog/{id}/reactivate", post(browse::reactivate))
        .route("/library/catalog/choices", post(choose::set))
        .route(
            "/library/progress",
            get(progress::page_of).post(progress::set),
        )
}

/// The catalogue import (a spreadsheet), under the upload size limit.
pub fn upload_routes() -> Router<AppState> {
    Router::new().route("/library/catalog/import", post(import::upload))
}

/// The notices the pages show after an action (`?ok=<name>` → `catalogue.ok_<name>`).
const OK: &[&str] = &[
    "created",
    "renamed",
    "moved",
    "deleted",
    "deactivated",
    "reactivated",
    "choice_saved",
    "choice_cleared",
    "progress_saved",
    "progress_cleared",
];

/// The page context with the notice of `?ok=` if it names one.
pub fn page_ctx(session: &Session, ok: Option<&str>) -> PageCtx {
    let mut ctx = PageCtx::for_session(session);
    if let Some(n) = ok.filter(|n| OK.contains(n)) {
        ctx.notice = Some(format!("catalogue.ok_{n}"));
    }
    ctx
}

pub use web::parse_id;

/// An optional id from a form or query (empty is none).
pub fn opt_id<T: kernel::ids::Id>(s: Option<&str>) -> AppResult<Option<T>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => parse_id(s).map(Some),
        None => Ok(None),
    }
}

/// A catalogue node's kind in words.
pub fn kind_label(ctx: &PageCtx, kind: &str) -> String {
    ctx.t(&format!("catalogue.kind_{kind}")).to_owned()
}

/// A stage code in words.
pub fn stage_label(ctx: &PageCtx, stage: &str) -> String {
    ctx.t(&format!("stage.{stage}")).to_owned()
}

/// What a node is, in a short line: 七年级 · 上册, or the subject's code.
pub fn detail(ctx: &PageCtx, n: &super::CatalogNode) -> String {
    use super::NodeKind;
    match n.kind() {
        NodeKind::Subject => n
            .subject
            .clone()
            .map(|c| format!("JY/T 1001: {c}"))
            .unwrap_or_default(),
        NodeKind::Edition => n.code.clone().unwrap_or_default(),
        NodeKind::Volume => {
            let stage = standards::kinds::Stage::parse(&n.stage);
            let grade = match (stage, n.year()) {
                (Some(s), Some(y)) => super::model::grade_name(s, y),
                _ => String::new(),
            };
            let term = match n.term {
                Some(1) => ctx.t("catalogue.term_1").to_owned(),
                Some(2) => ctx.t("catalogue.term_2").to_owned(),
                _ if grade.is_empty() => String::new(),
                _ => ctx.t("catalogue.term_whole").to_owned(),
            };
            [grade, term]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" · ")
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::NodeKind;
    use kernel::i18n::has_key;

    #[test]
    fn every_key_built_at_run_time_is_translated() {
        let mut keys: Vec<String> = super::OK
            .iter()
            .map(|n| format!("catalogue.ok_{n}"))
            .collect();
        for k in NodeKind::ALL {
            keys.push(format!("catalogue.kind_{k}"));
            keys.push(format!("catalogue.placeholder_{k}"));
        }
        for k in ["stage", "subject", "edition"] {
            keys.push(format!("catalogue.code_hint_{k}"));
        }
        keys.extend([
            "resource_stats.term_1".into(),
            "resource_stats.term_2".into(),
        ]);
        for s in crate::model::Scope::ALL {
            keys.push(format!("library.scope.{s}"));
        }
        for l in crate::model::Level::ALL {
            keys.push(format!("library.level.{l}"));
        }
        let missing: Vec<&String> = keys.iter().filter(|k| !has_key(k)).collect();
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn the_api_documents_build() {
        use utoipa::OpenApi;
        let doc = crate::catalog::api::CatalogApiDoc::openapi();
        assert!(doc.paths.paths.contains_key("/api/v1/catalog/import"));
        assert!(
            doc.paths
                .paths
                .contains_key("/api/v1/catalog/progress/{class}")
        );
        assert_eq!(doc.paths.paths.len(), 9);
        let doc = crate::stats::api::StatsApiDoc::openapi();
        assert!(
            doc.paths
                .paths
                .contains_key("/api/v1/resources/stats/{node}")
        );
        assert_eq!(doc.paths.paths.len(), 2);
    }
}
