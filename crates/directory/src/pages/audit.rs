//! The audit log of an administrator's subtree: search and export (CSV, GBK CSV or XLSX).

use super::parse_id;
use crate::audit_log::{self, AuditQuery};
use crate::export::{Format, Request};
use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use kernel::audit::AuditEntry;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppResult, AppState, Ctx, NodeId};
use serde::Deserialize;
use web::{Meta, PageCtx, Session, render};

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    ctx: PageCtx,
    f: Filters,
    result: Paged<AuditEntry>,
    export_link: String,
}

impl AuditPage {
    fn link(&self, page: u32) -> String {
        format!("/admin/audit?{}&page={page}", self.f.query_string())
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    node: String,
    #[serde(default)]
    person: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    /// The export's format (`xlsx`, `csv`, `gbk`).
    #[serde(default)]
    format: String,
    page: Option<u32>,
}

impl Filters {
    fn query(&self) -> AppResult<AuditQuery> {
        let o = |s: &str| Some(s.to_owned()).filter(|s| !s.trim().is_empty());
        Ok(AuditQuery {
            node: match self.node.trim() {
                "" => None,
                n => Some(parse_id::<NodeId>(n)?),
            },
            person: o(&self.person),
            action: o(&self.action),
            object: o(&self.object),
            from: o(&self.from),
            to: o(&self.to),
        })
    }
    fn query_string(&self) -> String {
        let enc = |s: &str| {
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        };
        format!(
            "node={}&person={}&action={}&object={}&from={}&to={}",
            enc(&self.node),
            enc(&self.person),
            enc(&self.action),
            enc(&self.object),
            enc(&self.from),
            enc(&self.to)
        )
    }
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    Query(f): Query<Filters>,
) -> AppResult<Response> {
    let cx = Ctx::new(&state, &session.actor, &meta);
    let result = audit_log::search(
        &cx,
        &f.query()?,
        &PageQuery {
            page: f.page,
            per_page: Some(50),
        },
    )
    .await?;
    let export_link = format!("/export/audit?{}", f.query_string());
    Ok(render(&AuditPage {
        ctx: PageCtx::for_session(&session),
        f,
        result,
        export_link,
    }))
}

/// The matching entries as a file: CSV (UTF-8 with BOM, so Excel opens Chinese text
/// correctly) unless `format` asks for XLSX or GBK (see `export::audit_log`).
pub async fn export(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    Query(f): Query<Filters>,
) -> AppResult<Response> {
    let cx = Ctx::new(&state, &session.actor, &meta);
    let format = match f.format.as_str() {
        "" => Format::Csv,
        other => Format::parse(other),
    };
    let file = crate::export::audit_log(&cx, &f.query()?, Request::new(format)).await?;
    Ok(super::attachment(&file.name, file.content_type, file.bytes))
}
