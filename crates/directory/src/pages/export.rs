//! Downloading student lists (see `export::students`).

use super::{attachment, parse_id};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use kernel::{AppResult, AppState, Ctx};
use serde::Deserialize;
use web::{Meta, Session};

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
    #[serde(default)]
    headers: String,
    #[serde(default)]
    unmasked: Option<String>,
}

/// The students under a node as XLSX or CSV (see `export::students`).
pub async fn students(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    Path(id): Path<String>,
    Query(q): Query<ExportQuery>,
) -> AppResult<Response> {
    let cx = Ctx::new(&state, &session.actor, &meta);
    let f = crate::export::students(
        &cx,
        parse_id(&id)?,
        crate::export::Format::parse(&q.format),
        q.headers == "jyt",
        q.unmasked.is_some(),
    )
    .await?;
    Ok(attachment(&f.name, f.content_type, f.bytes))
}
