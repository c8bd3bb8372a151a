//! The end of an upload: a received content that passed the head's sniffing and the scan is
//! checked once more as a whole ([`super::container::verify`]), its text read, and then kept
//! under its hash (or dropped, when a blob with that hash exists: deduplication), with its
//! `blobs` row and its upload marked complete in one transaction. Refusals leave nothing but
//! their audit record (and, for a resumable upload, its row in state `refused:<code>`).

use super::blob::{self, Blob};
use super::ingest::Received;
use super::store::{self, Store};
use super::{Failure, Refusal, container, extract};
use kernel::{AppResult, AuditEvent, Ctx, Outcome, UploadId, on_tx};
use serde_json::json;

/// How the upload arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// In one request: the `uploads` row is written now, already complete.
    Whole,
    /// In chunks: the row exists (state `assembling`) and becomes complete.
    Chunked,
}

/// Keeps an accepted content and completes its upload; on a refusal the working object is
/// removed and the refusal returned.
pub async fn accept(
    cx: &Ctx<'_>,
    upload: UploadId,
    file_name: &str,
    r: Received,
    mode: Mode,
) -> Result<Blob, Failure> {
    let store = store::store(cx.state)?;
    if let Err(e) = container::verify(&store, &r.key, r.size, &r.sniffed).await {
        let _ = store::remove(&store, &r.key).await;
        return Err(e);
    }
    let category = r.sniffed.kind.category;
    let existing = blob::find(cx.db(), &r.hash).await?;
    let text = if existing.is_none() && category.has_text() && r.size <= extract::INLINE_MAX {
        match extract::text_of(&store, &r.key, &r.sniffed.mime, category, r.size).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "text extraction failed; the runner tries again");
                None
            }
        }
    } else if category.has_text() {
        None
    } else {
        Some(String::new())
    };
    let key = store::blob_key(&r.hash);
    let created = existing.is_none();
    if created {
        store.rename(&r.key, &key).await.map_err(store::err)?;
    } else {
        store::remove(&store, &r.key).await?;
    }
    match write_rows(cx, upload, file_name, &r, mode, text, created).await {
        Ok(()) => {}
        Err(e) => {
            // Remove the object only if no other upload's row points at it meanwhile.
            if created && blob::find(cx.db(), &r.hash).await.ok().flatten().is_none() {
                let _ = store::remove(&store, &key).await;
            }
            return Err(e.into());
        }
    }
    Ok(blob::find(cx.db(), &r.hash)
        .await?
        .ok_or(kernel::AppError::NotFound("files.upload_not_found"))?)
}

async fn write_rows(
    cx: &Ctx<'_>,
    upload: UploadId,
    file_name: &str,
    r: &Received,
    mode: Mode,
    text: Option<String>,
    created: bool,
) -> AppResult<()> {
    let category = r.sniffed.kind.category;
    let preview = if category.needs_conversion() {
        "pending"
    } else {
        "none"
    };
    let size = i64::try_from(r.size).unwrap_or(i64::MAX);
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO blobs (hash, size, mime, category, storage_key, text, preview_state, scan, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (hash) DO NOTHING",
    )
    .bind(&r.hash).bind(size).bind(&r.sniffed.mime).bind(category.as_str())
    .bind(store::blob_key(&r.hash).to_string()).bind(text.as_deref()).bind(preview)
    .bind(r.scan).bind(cx.now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if r.scan == "clean" {
        on_tx!(&mut tx, c => sqlx::query("UPDATE blobs SET scan = 'clean' WHERE hash = $1")
            .bind(&r.hash).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    match mode {
        Mode::Whole => {
            on_tx!(&mut tx, c => sqlx::query(
                "INSERT INTO uploads (id, person_id, org_id, file_name, size, chunk_size, state, blob_hash, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $5, 'complete', $6, $7, $7)",
            )
            .bind(upload).bind(cx.actor.person_id).bind(cx.actor.org_id).bind(file_name)
            .bind(size).bind(&r.hash).bind(cx.now)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
        Mode::Chunked => {
            on_tx!(&mut tx, c => sqlx::query(
                "UPDATE uploads SET state = 'complete', blob_hash = $2, updated_at = $3 WHERE id = $1",
            )
            .bind(upload).bind(&r.hash).bind(cx.now)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
            on_tx!(&mut tx, c => sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
                .bind(upload).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        }
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("upload.complete")
            .object("upload", upload)
            .node(cx.actor.org_id)
            .detail(json!({
                "file_name": file_name, "hash": r.hash, "size": r.size,
                "mime": r.sniffed.mime, "scan": r.scan, "stored_once": !created,
            })),
    )
    .await?;
    tx.commit().await
}

/// Records a refusal: the audit entry and, for a resumable upload, its row's state
/// (`refused:<code>`, so the uploader can still read why) without its chunks. The objects
/// under the upload's folder are removed.
pub async fn refuse(
    cx: &Ctx<'_>,
    upload: UploadId,
    file_name: &str,
    refusal: &Refusal,
    mode: Mode,
) -> AppResult<()> {
    let mut tx = cx.begin().await?;
    if mode == Mode::Chunked {
        let state = format!("refused:{}", refusal.code);
        on_tx!(&mut tx, c => sqlx::query("UPDATE uploads SET state = $2, updated_at = $3 WHERE id = $1")
            .bind(upload).bind(&state).bind(cx.now)
            .execute(&mut *c).await.map(|r| r.rows_affected()))?;
        on_tx!(&mut tx, c => sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
            .bind(upload).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    cx.audit(
        &mut tx,
        AuditEvent::new("upload.refused")
            .object("upload", upload)
            .node(cx.actor.org_id)
            .outcome(Outcome::Failure)
            .detail(
                json!({ "file_name": file_name, "code": refusal.code, "detail": refusal.detail }),
            ),
    )
    .await?;
    tx.commit().await?;
    if let Ok(s) = store::store(cx.state) {
        store::remove_all(&s, &store::upload_prefix(upload)).await;
    }
    Ok(())
}

/// Removes whatever an upload left in the store (its chunks, its working objects).
pub async fn remove_objects(store: &Store, upload: UploadId) {
    store::remove_all(store, &store::upload_prefix(upload)).await;
}
