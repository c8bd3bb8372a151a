//! The audit log of an administrator's subtree: search and CSV export.

use super::parse_id;
use crate::audit_log::{self, AuditQuery};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kernel::audit::{AuditEntry, AuditEvent};
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, AppState, Ctx, NodeId};
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
    let export_link = format!("/admin/audit.csv?{}", f.query_string());
    Ok(render(&AuditPage {
        ctx: PageCtx::for_session(&session),
        f,
        result,
        export_link,
    }))
}

/// The matching entries as CSV (UTF-8 with BOM, so Excel opens Chinese text correctly).
pub async fn export_csv(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    Query(f): Query<Filters>,
) -> AppResult<Response> {
    let cx = Ctx::new(&state, &session.actor, &meta);
    let rows = audit_log::export(&cx, &f.query()?).await?;
    let mut w = csv::Writer::from_writer(Vec::from("\u{FEFF}".as_bytes()));
    let header = [
        "id",
        "at",
        "actor_id",
        "actor_name",
        "ip",
        "user_agent",
        "action",
        "object_type",
        "object_id",
        "node_id",
        "outcome",
        "request_id",
        "detail",
    ];
    w.write_record(header).map_err(AppError::internal)?;
    for r in &rows {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        w.write_record([
            r.id.to_string(),
            r.at.to_rfc3339(),
            r.actor_id.map(|i| i.to_string()).unwrap_or_default(),
            s(&r.actor_name),
            s(&r.ip),
            s(&r.user_agent),
            r.action.clone(),
            s(&r.object_type),
            s(&r.object_id),
            r.node_id.map(|i| i.to_string()).unwrap_or_default(),
            r.outcome.clone(),
            s(&r.request_id),
            s(&r.detail),
        ])
        .map_err(AppError::internal)?;
    }
    let body = w.into_inner().map_err(AppError::internal)?;
    kernel::audit::record_alone(
        cx.db(),
        cx.now,
        kernel::audit::Who::from(cx.actor),
        cx.meta,
        AuditEvent::new("audit.export")
            .node(
                cx.actor
                    .admin_nodes()
                    .first()
                    .copied()
                    .unwrap_or(cx.actor.org_id),
            )
            .detail(serde_json::json!({ "rows": rows.len(), "filter": f.query_string() })),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"audit-{}.csv\"",
                    cx.now.format("%Y%m%d-%H%M%S")
                ),
            ),
        ],
        body,
    )
        .into_response())
}
