//! A stored file content (`blobs`), shared by every resource with the same SHA-256.

use chrono::{DateTime, Utc};
use kernel::{Actor, AppError, AppResult, Db, UploadId, on_db};
use serde::Serialize;

#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Blob {
    /// SHA-256, lower-case hex.
    pub hash: String,
    pub size: i64,
    /// The type sniffed from the content.
    pub mime: String,
    /// document | slides | spreadsheet | pdf | image | audio | video | archive | text
    pub category: String,
    #[serde(skip)]
    pub storage_key: String,
    /// none | pending | ready | unavailable | failed
    pub preview_state: String,
    #[serde(skip)]
    pub preview_key: Option<String>,
    /// clean | not_scanned
    pub scan: String,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "b.hash, b.size, b.mime, b.category, b.storage_key, b.preview_state, \
                       b.preview_key, b.scan, b.created_at";

/// The blob with this hash.
pub async fn find(db: &Db, hash: &str) -> AppResult<Option<Blob>> {
    let sql = format!("SELECT {COLUMNS} FROM blobs b WHERE b.hash = $1");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(hash).fetch_optional(p).await)?,
    )
}

/// The blob of a completed upload of `actor`'s, which a new resource (or a new version of
/// one) takes as its file. Someone else's upload, an unfinished one or an unknown id is
/// `files.upload_not_found`.
pub async fn of_upload(db: &Db, actor: &Actor, upload: UploadId) -> AppResult<Blob> {
    let sql = format!(
        "SELECT {COLUMNS} FROM uploads u JOIN blobs b ON b.hash = u.blob_hash
         WHERE u.id = $1 AND u.person_id = $2 AND u.state = 'complete'"
    );
    let blob: Option<Blob> = on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
        .bind(upload).bind(actor.person_id).fetch_optional(p).await)?;
    blob.ok_or(AppError::NotFound("files.upload_not_found"))
}
