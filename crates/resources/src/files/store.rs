//! The object store behind the library's files, built once per [`AppState`] from
//! `config.files`: a local folder (`files.dir`, or `<data_dir>/files`) by default, any
//! S3-compatible storage (MinIO, Ceph, a cloud's OSS) with `store = "s3"`.
//!
//! Key layout:
//! - `blobs/ab/cd/<sha256>`: a file's content, stored once per hash;
//! - `previews/<sha256>.pdf`: the PDF made from an Office document for preview;
//! - `uploads/<upload id>/<chunk index>`: a resumable upload's chunks, each its own object so
//!   any node can take any chunk; `uploads/<upload id>/whole` and `…/assembled`: the content
//!   being received or assembled, before it is known to be acceptable and moved under its hash.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use kernel::config::FileStore;
use kernel::{AppError, AppResult, AppState, UploadId};
use object_store::path::Path;
use object_store::{GetResult, GetResultPayload, ObjectStore};
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, OnceLock};

/// The store shared by every request of one state.
pub type Store = Arc<dyn ObjectStore>;

#[derive(Default)]
struct Cell(OnceLock<Store>);

/// This state's object store, built on first use.
pub fn store(state: &AppState) -> AppResult<Store> {
    let cell = state.cache::<Cell>();
    if let Some(s) = cell.0.get() {
        return Ok(s.clone());
    }
    let built = build(state)?;
    let _ = cell.0.set(built.clone());
    Ok(cell.0.get().cloned().unwrap_or(built))
}

/// The local folder files are kept in (when the store is local).
pub fn local_dir(state: &AppState) -> std::path::PathBuf {
    state
        .config
        .files
        .dir
        .clone()
        .unwrap_or_else(|| state.config.data_dir.join("files"))
}

fn build(state: &AppState) -> AppResult<Store> {
    let f = &state.config.files;
    match f.store {
        FileStore::Local => {
            let dir = local_dir(state);
            std::fs::create_dir_all(&dir).map_err(|e| {
                AppError::internal(format!(
                    "cannot create the files folder {}: {e}",
                    dir.display()
                ))
            })?;
            let fs = object_store::local::LocalFileSystem::new_with_prefix(&dir)
                .map_err(AppError::internal)?
                .with_automatic_cleanup(true);
            Ok(Arc::new(fs))
        }
        FileStore::S3 => {
            let bucket = f
                .s3_bucket
                .as_deref()
                .ok_or_else(|| AppError::internal("files.store = \"s3\" needs files.s3_bucket"))?;
            // A store that does not answer fails the request in about ten seconds (503, try
            // again) instead of holding it past the request timeout.
            let mut b = object_store::aws::AmazonS3Builder::new()
                .with_bucket_name(bucket)
                .with_region(&f.s3_region)
                .with_client_options(
                    object_store::ClientOptions::new()
                        .with_timeout(std::time::Duration::from_secs(10))
                        .with_connect_timeout(std::time::Duration::from_secs(3)),
                )
                .with_retry(object_store::RetryConfig {
                    max_retries: 3,
                    retry_timeout: std::time::Duration::from_secs(10),
                    backoff: Default::default(),
                });
            if let Some(endpoint) = &f.s3_endpoint {
                b = b
                    .with_endpoint(endpoint)
                    .with_allow_http(endpoint.starts_with("http://"))
                    // MinIO and most self-hosted stores address buckets by path.
                    .with_virtual_hosted_style_request(false);
            }
            if let Some(k) = &f.s3_access_key_id {
                b = b.with_access_key_id(k);
            }
            if let Some(s) = &f.s3_secret_access_key {
                b = b.with_secret_access_key(s.expose());
            }
            Ok(Arc::new(b.build().map_err(AppError::internal)?))
        }
    }
}

/// Where the content with this SHA-256 lives.
pub fn blob_key(hash: &str) -> Path {
    let a = hash.get(0..2).unwrap_or("00");
    let b = hash.get(2..4).unwrap_or("00");
    Path::from(format!("blobs/{a}/{b}/{hash}"))
}

/// Where the PDF preview of the content with this SHA-256 lives.
pub fn preview_key(hash: &str) -> Path {
    Path::from(format!("previews/{hash}.pdf"))
}

/// The folder of an upload's chunks and working objects.
pub fn upload_prefix(id: UploadId) -> Path {
    Path::from(format!("uploads/{id}"))
}

/// One chunk of a resumable upload.
pub fn chunk_key(id: UploadId, index: i64) -> Path {
    Path::from(format!("uploads/{id}/{index}"))
}

/// The content of a whole-file upload while it arrives.
pub fn whole_key(id: UploadId) -> Path {
    Path::from(format!("uploads/{id}/whole"))
}

/// The content of a resumable upload while its chunks are put together.
pub fn assembled_key(id: UploadId) -> Path {
    Path::from(format!("uploads/{id}/assembled"))
}

/// The object store's error as the caller sees it: a full disk is 507, a store that does not
/// answer (S3 down, unreachable or timing out) is 503 (try again; nothing was stored), the
/// rest is internal.
pub fn err(e: object_store::Error) -> AppError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::StorageFull
        {
            return AppError::StorageFull(format!("object store: {e}"));
        }
        source = s.source();
    }
    match &e {
        // A remote store's failures after its retries: connection refused, timeouts, 5xx.
        object_store::Error::Generic { store, .. } if *store != "LocalFileSystem" => {
            AppError::Unavailable(format!("object store: {e}"))
        }
        _ => AppError::internal(format!("object store: {e}")),
    }
}

/// Deletes an object; one already gone is fine.
pub async fn remove(store: &Store, key: &Path) -> AppResult<()> {
    match store.delete(key).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// Deletes every object under `prefix`, logging (not failing on) what cannot be deleted.
pub async fn remove_all(store: &Store, prefix: &Path) {
    let mut list = store.list(Some(prefix));
    while let Some(item) = list.next().await {
        match item {
            Ok(meta) => {
                if let Err(e) = remove(store, &meta.location).await {
                    tracing::warn!(key = %meta.location, error = %e, "cannot delete");
                }
            }
            Err(e) => {
                tracing::warn!(prefix = %prefix, error = %e, "cannot list");
                break;
            }
        }
    }
}

/// Stores a small whole content (a photo) under its SHA-256, once per hash; the hash.
pub async fn put_small(state: &AppState, data: Bytes) -> AppResult<String> {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    store(state)?
        .put(&blob_key(&hash), data.into())
        .await
        .map_err(err)?;
    Ok(hash)
}

/// Reads a small whole content stored with [`put_small`].
pub async fn get_small(state: &AppState, hash: &str) -> AppResult<Bytes> {
    store(state)?
        .get(&blob_key(hash))
        .await
        .map_err(err)?
        .bytes()
        .await
        .map_err(err)
}

/// Reads `range` of an object whole (small ranges only: headers, directories, trailers).
pub async fn read_range(
    store: &Store,
    key: &Path,
    range: std::ops::Range<u64>,
) -> AppResult<Bytes> {
    if range.start >= range.end {
        return Ok(Bytes::new());
    }
    store.get_range(key, range).await.map_err(err)
}

/// Local files are read in pieces of this size (object_store's own stream reads 8 KiB at a
/// time, each on a blocking thread).
const READ_PIECE: u64 = 256 * 1024;

/// The bytes of a `get`, as a stream: remote stores' own stream, local files read in large
/// pieces on the blocking pool.
pub fn stream(result: GetResult) -> BoxStream<'static, AppResult<Bytes>> {
    let range = result.range.clone();
    match result.payload {
        GetResultPayload::File(file, path) => {
            let state = (Some(file), range.start, range.end, path);
            futures_util::stream::try_unfold(state, |(file, pos, end, path)| async move {
                let Some(mut file) = file else {
                    return Ok(None);
                };
                if pos >= end {
                    return Ok(None);
                }
                let want = (end - pos).min(READ_PIECE);
                let p = path.clone();
                let (file, buf) = tokio::task::spawn_blocking(move || {
                    file.seek(SeekFrom::Start(pos))?;
                    let mut buf = Vec::with_capacity(want as usize);
                    (&mut file).take(want).read_to_end(&mut buf)?;
                    Ok::<_, std::io::Error>((file, buf))
                })
                .await
                .map_err(AppError::internal)?
                .map_err(|e| AppError::internal(format!("reading {}: {e}", p.display())))?;
                if buf.is_empty() {
                    return Err(AppError::internal(format!("{} ended early", p.display())));
                }
                let next = pos + buf.len() as u64;
                Ok(Some((Bytes::from(buf), (Some(file), next, end, path))))
            })
            .boxed()
        }
        GetResultPayload::Stream(s) => s.map(|r| r.map_err(err)).boxed(),
    }
}
