//! The audit log search as a file (the page's filters and authorization, `audit::export`).

use super::{Mask, Request, Table};
use crate::audit::{self, AuditQuery};
use kernel::{AppError, AppResult, Ctx};

/// The columns are the log's own field names (the file is read by tools as much as by people).
const COLUMNS: [(&str, &str); 13] = [
    ("id", "id"),
    ("at", "at"),
    ("actor_id", "actor_id"),
    ("actor_name", "actor_name"),
    ("ip", "ip"),
    ("user_agent", "user_agent"),
    ("action", "action"),
    ("object_type", "object_type"),
    ("object_id", "object_id"),
    ("node_id", "node_id"),
    ("outcome", "outcome"),
    ("request_id", "request_id"),
    ("detail", "detail"),
];

/// The entries matching `q` (at most 100,000) in a subtree whose log the actor may read.
pub async fn audit_log(cx: &Ctx<'_>, q: &AuditQuery, req: Request) -> AppResult<super::File> {
    let entries = audit::export(cx, q).await?;
    let node = match q.node {
        Some(n) => n,
        None => *cx.actor.admin_nodes().first().ok_or(AppError::Forbidden)?,
    };
    let s = |o: &Option<String>| o.clone().unwrap_or_default();
    let rows = entries
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                cx.state.config.time_zone.local(r.at).to_rfc3339(),
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
            ]
        })
        .collect();
    let table = Table {
        stem: format!(
            "{}-{}",
            kernel::i18n::t(cx.actor.locale, "export_list.file_audit"),
            cx.now.format("%Y%m%d-%H%M%S")
        ),
        columns: COLUMNS.to_vec(),
        rows,
    };
    super::deliver(cx, super::List::Audit, node, table, req, Mask::masked()).await
}
