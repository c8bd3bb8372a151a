//! The cleanup of abandoned uploads: an open upload (or an assembly whose node died)
//! untouched for `files.upload_expiry_hours` is aborted and its chunks deleted; objects left
//! under `uploads/` by a crash (a whole-file upload cut off, an upload already finished) are
//! deleted once they are that old. Run by the files runner; [`run_once`] is one pass.

use super::store;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use kernel::{Actor, AppResult, AppState, AuditEvent, Ctx, RequestMeta, UploadId, on_db, on_tx};
use std::collections::HashMap;

/// What one pass removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cleaned {
    /// Uploads aborted for being left too long.
    pub uploads: usize,
    /// Objects deleted under `uploads/`.
    pub objects: usize,
}

/// One pass of the cleanup at `now`.
pub async fn run_once(state: &AppState, now: DateTime<Utc>) -> AppResult<Cleaned> {
    let hours = i64::from(state.config.files.upload_expiry_hours);
    let before = now - chrono::Duration::hours(hours);
    let actor = Actor::system();
    let meta = RequestMeta {
        request_id: format!("job-files-cleanup-{}", uuid::Uuid::now_v7()),
        ip: None,
        user_agent: Some("jiaoyun-runner".into()),
    };
    let mut cx = Ctx::new(state, &actor, &meta);
    cx.now = now;
    let store = store::store(state)?;
    let stale: Vec<(UploadId, kernel::NodeId)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT id, org_id FROM uploads WHERE state IN ('open', 'assembling') AND updated_at < $1
         ORDER BY updated_at LIMIT 500",
    ).bind(before).fetch_all(p).await)?;
    let mut cleaned = Cleaned::default();
    for (id, org) in stale {
        let mut tx = cx.begin().await?;
        let n = on_tx!(&mut tx, c => sqlx::query(
            "UPDATE uploads SET state = 'aborted', updated_at = $2
             WHERE id = $1 AND state IN ('open', 'assembling') AND updated_at < $3",
        ).bind(id).bind(now).bind(before).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        if n == 0 {
            continue;
        }
        on_tx!(&mut tx, c => sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
            .bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        cx.audit(
            &mut tx,
            AuditEvent::new("upload.expire")
                .object("upload", id)
                .node(org)
                .detail(serde_json::json!({ "after_hours": hours })),
        )
        .await?;
        tx.commit().await?;
        store::remove_all(&store, &store::upload_prefix(id)).await;
        cleaned.uploads += 1;
    }
    cleaned.objects = sweep(state, &store, before).await?;
    Ok(cleaned)
}

/// Deletes objects under `uploads/` older than `before` whose upload is no longer open.
async fn sweep(state: &AppState, store: &store::Store, before: DateTime<Utc>) -> AppResult<usize> {
    let prefix = object_store::path::Path::from("uploads");
    let mut list = store.list(Some(&prefix));
    let mut old: Vec<(UploadId, object_store::path::Path)> = Vec::new();
    while let Some(item) = list.next().await {
        let meta = item.map_err(store::err)?;
        if meta.last_modified >= before {
            continue;
        }
        let id = meta
            .location
            .parts()
            .nth(1)
            .and_then(|p| p.as_ref().parse::<UploadId>().ok());
        if let Some(id) = id {
            old.push((id, meta.location));
        }
    }
    let mut open: HashMap<UploadId, bool> = HashMap::new();
    let mut deleted = 0;
    for (id, key) in old {
        let still_open = match open.get(&id) {
            Some(o) => *o,
            None => {
                let state_of: Option<(String,)> = on_db!(&state.db, p => sqlx::query_as(
                    "SELECT state FROM uploads WHERE id = $1",
                ).bind(id).fetch_optional(p).await)?;
                let o = state_of.is_some_and(|(s,)| s == "open" || s == "assembling");
                open.insert(id, o);
                o
            }
        };
        if !still_open {
            store::remove(store, &key).await?;
            deleted += 1;
        }
    }
    Ok(deleted)
}
