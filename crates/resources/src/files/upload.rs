//! Uploads: a whole file in one request ([`store_stream`], for forms without JavaScript) or
//! resumable in chunks ([`create`], [`put_chunk`], [`status`], [`complete`], [`abort`]), for
//! videos of several gigabytes. Only the uploader may touch an upload; students and guardians
//! do not upload. A content that is refused (too large, disguised, corrupt, infected, …)
//! leaves no blob, object or complete row behind.

use super::blob::Blob;
use super::commit::{self, Mode};
use super::ingest::Ingest;
use super::sniff::{self, HEAD_LEN};
use super::store;
use super::{Failure, Refusal};
use crate::access::Viewer;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use kernel::{
    Actor, AppError, AppResult, AppState, AuditEvent, Ctx, FieldErrors, RequestMeta, UploadId,
    on_db, on_tx,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// An assembling upload whose node went silent this long may be taken over.
const ASSEMBLY_LEASE_SECONDS: i64 = 600;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub id: UploadId,
    pub person_id: kernel::PersonId,
    pub org_id: kernel::NodeId,
    pub file_name: String,
    pub size: i64,
    pub chunk_size: i64,
    /// open | assembling | complete | aborted | refused:<code>
    pub state: String,
    pub blob_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UploadRow {
    pub fn chunks(&self) -> i64 {
        if self.chunk_size <= 0 {
            return 1;
        }
        (self.size + self.chunk_size - 1) / self.chunk_size
    }
    /// The exact size chunk `index` must have.
    pub fn chunk_len(&self, index: i64) -> i64 {
        if index + 1 < self.chunks() {
            self.chunk_size
        } else {
            self.size - self.chunk_size * (self.chunks() - 1)
        }
    }
    /// The refusal's code of a refused upload.
    pub fn refusal(&self) -> Option<&str> {
        self.state.strip_prefix("refused:")
    }
}

const COLUMNS: &str =
    "id, person_id, org_id, file_name, size, chunk_size, state, blob_hash, created_at, updated_at";

/// What the uploader sees of an upload.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadView {
    pub id: UploadId,
    pub file_name: String,
    pub size: i64,
    pub chunk_size: i64,
    pub chunks: i64,
    /// The indexes of the chunks received (while open).
    pub received: Vec<i64>,
    /// open | assembling | complete | aborted | refused
    pub state: String,
    /// Why it was refused.
    pub error: Option<UploadError>,
    /// The stored file, once complete.
    pub blob: Option<Blob>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UploadError {
    pub code: String,
    pub message: String,
}

/// A new resumable upload.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewUpload {
    pub file_name: String,
    /// The file's size in bytes.
    pub size: i64,
}

/// Whole-file upload: streams `stream` into the store while hashing, counting, sniffing and
/// scanning it, keeps the content under its hash (once: an existing blob with the same hash is
/// reused), and records a complete upload of the actor's, which [`super::blob::of_upload`]
/// then finds.
pub async fn store_stream<S, E>(
    cx: &Ctx<'_>,
    file_name: &str,
    stream: S,
) -> AppResult<(UploadId, Blob)>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    store_stream_explained(cx, file_name, stream)
        .await
        .map_err(Failure::into_app)
}

/// [`store_stream`] with the refusal's detail (the virus's name, …) kept.
pub async fn store_stream_explained<S, E>(
    cx: &Ctx<'_>,
    file_name: &str,
    stream: S,
) -> Result<(UploadId, Blob), Failure>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    Viewer::of(cx.db(), cx.actor).await?.require_staff()?;
    let file_name = clean_name(file_name)?;
    let id = UploadId::new();
    let result = async {
        let store = store::store(cx.state)?;
        let ingest = Ingest::begin(cx.state, &file_name, store::whole_key(id)).await?;
        let stream = stream.map_err(|e| {
            tracing::info!(error = %e, "upload cut short");
            Failure::from(Refusal::new("files.upload_failed"))
        });
        let received = ingest.run(&store, stream).await?;
        commit::accept(cx, id, &file_name, received, Mode::Whole).await
    }
    .await;
    match result {
        Ok(blob) => Ok((id, blob)),
        Err(Failure::Refused(r)) => {
            commit::refuse(cx, id, &file_name, &r, Mode::Whole).await?;
            Err(Failure::Refused(r))
        }
        Err(e) => {
            if let Ok(s) = store::store(cx.state) {
                commit::remove_objects(&s, id).await;
            }
            Err(e)
        }
    }
}

/// A file name as kept: its last path segment, trimmed, at most 255 characters.
fn clean_name(name: &str) -> Result<String, Failure> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let cleaned: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        return Err(AppError::field("file_name", "error.files.name_required").into());
    }
    Ok(cleaned)
}

/// The actor's upload (another person's is not found).
pub async fn load(cx: &Ctx<'_>, id: UploadId) -> AppResult<UploadRow> {
    let sql = format!("SELECT {COLUMNS} FROM uploads WHERE id = $1 AND person_id = $2");
    let row: Option<UploadRow> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(id).bind(cx.actor.person_id).fetch_optional(p).await)?;
    row.ok_or(AppError::NotFound("files.upload_not_found"))
}

/// Starts a resumable upload of `size` bytes: refused at once when too large, empty, or
/// named like a file the library does not take.
pub async fn create(cx: &Ctx<'_>, input: NewUpload) -> Result<UploadView, Failure> {
    Viewer::of(cx.db(), cx.actor).await?.require_staff()?;
    let file_name = clean_name(&input.file_name)?;
    if input.size <= 0 {
        return Err(Refusal::new("files.empty").into());
    }
    let limit = cx.state.config.files.max_file_bytes;
    if u64::try_from(input.size).unwrap_or(u64::MAX) > limit {
        return Err(Refusal::new("files.too_large").into());
    }
    sniff::by_name(&file_name)?;
    let chunk = i64::try_from(cx.state.config.files.chunk_bytes.max(1)).unwrap_or(i64::MAX);
    let id = UploadId::new();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO uploads (id, person_id, org_id, file_name, size, chunk_size, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $7)",
    )
    .bind(id).bind(cx.actor.person_id).bind(cx.actor.org_id).bind(&file_name)
    .bind(input.size).bind(chunk).bind(cx.now)
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("upload.create")
            .object("upload", id)
            .node(cx.actor.org_id)
            .detail(serde_json::json!({ "file_name": file_name, "size": input.size })),
    )
    .await?;
    tx.commit().await?;
    Ok(status(cx, id).await?)
}

async fn received(cx: &Ctx<'_>, id: UploadId) -> AppResult<Vec<(i64, i64)>> {
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT idx, size FROM upload_chunks WHERE upload_id = $1 ORDER BY idx",
    ).bind(id).fetch_all(p).await)?)
}

/// The upload as its uploader sees it: which chunks arrived (to resume from), its state,
/// why it was refused, its blob once complete.
pub async fn status(cx: &Ctx<'_>, id: UploadId) -> AppResult<UploadView> {
    let row = load(cx, id).await?;
    view(cx, row).await
}

async fn view(cx: &Ctx<'_>, row: UploadRow) -> AppResult<UploadView> {
    let received = if row.state == "open" {
        received(cx, row.id)
            .await?
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    } else {
        Vec::new()
    };
    let blob = match &row.blob_hash {
        Some(h) if row.state == "complete" => super::blob::find(cx.db(), h).await?,
        _ => None,
    };
    let locale = cx.actor.locale;
    let error = row.refusal().map(|code| UploadError {
        code: code.to_owned(),
        message: kernel::i18n::t(locale, &format!("error.{code}")).to_owned(),
    });
    let state = if row.refusal().is_some() {
        "refused".to_owned()
    } else {
        row.state.clone()
    };
    Ok(UploadView {
        id: row.id,
        chunks: row.chunks(),
        file_name: row.file_name,
        size: row.size,
        chunk_size: row.chunk_size,
        received,
        state,
        error,
        blob,
    })
}

/// Stores chunk `index` (exactly `chunk_size` bytes, the last one the rest). Sending a chunk
/// again replaces it. The first chunk's head is sniffed at once, so a disguised file is
/// refused before the rest is sent.
pub async fn put_chunk<S, E>(
    cx: &Ctx<'_>,
    id: UploadId,
    index: i64,
    mut body: S,
) -> Result<i64, Failure>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin + Send,
    E: std::fmt::Display,
{
    let row = load(cx, id).await?;
    if row.state != "open" {
        return Err(closed(&row));
    }
    if index < 0 || index >= row.chunks() {
        return Err(AppError::BadRequest("files.chunk_index").into());
    }
    let expected = usize::try_from(row.chunk_len(index)).unwrap_or(usize::MAX);
    let mut data = Vec::with_capacity(expected.min(64 * 1024 * 1024));
    while let Some(piece) = body.next().await {
        let piece = piece.map_err(|e| {
            tracing::info!(error = %e, "chunk cut short");
            Failure::from(Refusal::new("files.upload_failed"))
        })?;
        if data.len() + piece.len() > expected {
            return Err(AppError::BadRequest("files.chunk_size").into());
        }
        data.extend_from_slice(&piece);
    }
    if data.len() != expected {
        return Err(AppError::BadRequest("files.chunk_size").into());
    }
    if index == 0 {
        let total = usize::try_from(row.size).unwrap_or(usize::MAX);
        let head = &data[..data.len().min(HEAD_LEN)];
        if head.len() >= HEAD_LEN.min(total)
            && let Err(r) = sniff::sniff(&row.file_name, head, total <= data.len())
        {
            commit::refuse(cx, id, &row.file_name, &r, Mode::Chunked).await?;
            return Err(r.into());
        }
    }
    let store = store::store(cx.state)?;
    let key = store::chunk_key(id, index);
    store
        .put(&key, Bytes::from(data).into())
        .await
        .map_err(store::err)?;
    let mut tx = cx.begin().await?;
    let open = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE uploads SET updated_at = $2 WHERE id = $1 AND state = 'open'",
    ).bind(id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if open == 0 {
        drop(tx);
        let _ = store::remove(&store, &key).await;
        return Err(closed(&load(cx, id).await?));
    }
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO upload_chunks (upload_id, idx, size) VALUES ($1, $2, $3)
         ON CONFLICT (upload_id, idx) DO UPDATE SET size = excluded.size",
    ).bind(id).bind(index).bind(row.chunk_len(index))
    .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    tx.commit().await?;
    Ok(row.chunk_len(index))
}

fn closed(row: &UploadRow) -> Failure {
    match row.refusal() {
        Some(code) => Refusal::new(super::known_code(code)).into(),
        None => AppError::Conflict("files.upload_closed", FieldErrors::new()).into(),
    }
}

/// The end of [`complete`]: done (complete, with its blob), or still being put together
/// (poll [`status`]).
#[derive(Debug)]
pub enum Completion {
    Done(UploadView),
    Assembling(UploadView),
}

/// Puts the chunks together in order into one object (hashing, sniffing, scanning on the
/// way), keeps it under its hash and completes the upload. Waits up to `wait` for that;
/// after it the work goes on and [`Completion::Assembling`] tells the caller to poll.
pub async fn complete(cx: &Ctx<'_>, id: UploadId, wait: Duration) -> Result<Completion, Failure> {
    let row = load(cx, id).await?;
    match row.state.as_str() {
        "complete" => return Ok(Completion::Done(view(cx, row).await?)),
        "assembling" if (cx.now - row.updated_at).num_seconds() < ASSEMBLY_LEASE_SECONDS => {
            return Ok(Completion::Assembling(view(cx, row).await?));
        }
        "open" | "assembling" => {}
        _ => return Err(closed(&row)),
    }
    let got = received(cx, id).await?;
    let all = got.len() as i64 == row.chunks()
        && got
            .iter()
            .enumerate()
            .all(|(i, (idx, size))| *idx == i as i64 && *size == row.chunk_len(*idx));
    if !all {
        return Err(AppError::Conflict("files.chunks_missing", FieldErrors::new()).into());
    }
    let stale = cx.now - chrono::Duration::seconds(ASSEMBLY_LEASE_SECONDS);
    let claimed = on_db!(cx.db(), p => sqlx::query(
        "UPDATE uploads SET state = 'assembling', updated_at = $2
         WHERE id = $1 AND (state = 'open' OR (state = 'assembling' AND updated_at < $3))",
    ).bind(id).bind(cx.now).bind(stale).execute(p).await.map(|r| r.rows_affected()))?;
    if claimed == 0 {
        let row = load(cx, id).await?;
        return match row.state.as_str() {
            "complete" => Ok(Completion::Done(view(cx, row).await?)),
            "assembling" => Ok(Completion::Assembling(view(cx, row).await?)),
            _ => Err(closed(&row)),
        };
    }
    let (state, actor, meta) = (cx.state.clone(), cx.actor.clone(), cx.meta.clone());
    let task = tokio::spawn(async move { assemble(state, actor, meta, row).await });
    match tokio::time::timeout(wait, task).await {
        Ok(Ok(Ok(()))) => Ok(Completion::Done(status(cx, id).await?)),
        Ok(Ok(Err(e))) => Err(e),
        Ok(Err(join)) => Err(AppError::internal(join).into()),
        Err(_) => Ok(Completion::Assembling(status(cx, id).await?)),
    }
}

/// The assembly, in its own task so that it finishes even if the request is cut off.
async fn assemble(
    state: AppState,
    actor: Actor,
    meta: RequestMeta,
    row: UploadRow,
) -> Result<(), Failure> {
    let cx = Ctx::new(&state, &actor, &meta);
    let id = row.id;
    let result = async {
        let store = store::store(&state)?;
        let ingest = Ingest::begin(&state, &row.file_name, store::assembled_key(id)).await?;
        let chunks = chunk_stream(&state, store.clone(), id, row.chunks());
        let received = ingest.run(&store, chunks).await?;
        commit::accept(&cx, id, &row.file_name, received, Mode::Chunked).await
    }
    .await;
    match result {
        Ok(_) => {
            if let Ok(s) = store::store(cx.state) {
                commit::remove_objects(&s, id).await;
            }
            Ok(())
        }
        Err(Failure::Refused(r)) => {
            commit::refuse(&cx, id, &row.file_name, &r, Mode::Chunked).await?;
            Err(Failure::Refused(r))
        }
        Err(e) => {
            // The store or the database failed: the chunks stay, the uploader may try again.
            tracing::warn!(upload = %id, error = ?e, "assembly failed");
            let _ = on_db!(cx.db(), p => sqlx::query("UPDATE uploads SET state = 'open', updated_at = $2 WHERE id = $1 AND state = 'assembling'")
                .bind(id).bind(cx.now).execute(p).await.map(|r| r.rows_affected()));
            if let Ok(s) = store::store(cx.state) {
                let _ = store::remove(&s, &store::assembled_key(id)).await;
            }
            Err(e)
        }
    }
}

/// The chunks' contents one after the other, keeping the assembly's lease on the way.
fn chunk_stream(
    state: &AppState,
    store: store::Store,
    id: UploadId,
    chunks: i64,
) -> BoxStream<'static, AppResult<Bytes>> {
    let (db, clock) = (state.db.clone(), state.clock.clone());
    futures_util::stream::iter(0..chunks)
        .then(move |i| open_chunk(db.clone(), clock.clone(), store.clone(), id, i))
        .try_flatten()
        .boxed()
}

async fn open_chunk(
    db: kernel::Db,
    clock: kernel::Clock,
    store: store::Store,
    id: UploadId,
    i: i64,
) -> AppResult<BoxStream<'static, AppResult<Bytes>>> {
    if i % 16 == 15 {
        on_db!(&db, p => sqlx::query("UPDATE uploads SET updated_at = $2 WHERE id = $1 AND state = 'assembling'")
            .bind(id).bind(clock.now()).execute(p).await.map(|r| r.rows_affected()))?;
    }
    let got = store
        .get(&store::chunk_key(id, i))
        .await
        .map_err(store::err)?;
    Ok(store::stream(got))
}

/// Abandons an open upload and removes its chunks.
pub async fn abort(cx: &Ctx<'_>, id: UploadId) -> AppResult<()> {
    let row = load(cx, id).await?;
    if row.state != "open" {
        return Err(closed(&row).into_app());
    }
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE uploads SET state = 'aborted', updated_at = $2 WHERE id = $1 AND state = 'open'",
    ).bind(id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(AppError::Conflict(
            "files.upload_closed",
            FieldErrors::new(),
        ));
    }
    on_tx!(&mut tx, c => sqlx::query("DELETE FROM upload_chunks WHERE upload_id = $1")
        .bind(id).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("upload.abort")
            .object("upload", id)
            .node(cx.actor.org_id),
    )
    .await?;
    tx.commit().await?;
    commit::remove_objects(&store::store(cx.state)?, id).await;
    Ok(())
}

/// The blob of the actor's completed upload, to check it before attaching it.
pub async fn content(cx: &Ctx<'_>, id: UploadId) -> AppResult<(UploadRow, Blob)> {
    let row = load(cx, id).await?;
    let blob = match (&row.blob_hash, row.state.as_str()) {
        (Some(h), "complete") => super::blob::find(cx.db(), h).await?,
        _ => None,
    };
    let blob = blob.ok_or(AppError::NotFound("files.upload_not_found"))?;
    Ok((row, blob))
}
