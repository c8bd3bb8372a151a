//! PDF previews of Office documents, made in the background by LibreOffice
//! (`soffice --headless --convert-to pdf`; `files.libreoffice`, or `soffice` on the PATH).
//!
//! A blob of an Office document starts `pending`. [`run_once`] takes one whose lease has run
//! out (`preview_lease_until`: only one node converts a blob at a time, and a node that dies
//! mid-way leaves it to another after the lease), converts it, stores the PDF at
//! `previews/<hash>.pdf` and marks it `ready`. A conversion that fails is tried again later,
//! [`MAX_ATTEMPTS`] times in all, then marked `failed`. Without LibreOffice pending previews
//! become `unavailable` (shown as 预览不可用), and go back to `pending` once it is installed.
//! Legacy binary files (.doc, .ppt, .xls, .wps) get their search text from the PDF.

use super::extract;
use super::sniff::{Category, KINDS};
use super::store::{self, Store};
use futures_util::StreamExt;
use kernel::{AppError, AppResult, AppState, on_db};
use object_store::path::Path;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// Conversions of one blob before it is marked `failed`.
pub const MAX_ATTEMPTS: i64 = 3;
/// How long a node may take over a blob's conversion before another may try.
const LEASE_SECONDS: i64 = 900;
/// A conversion taking longer is stopped (and counts as a failed attempt).
const CONVERT_TIMEOUT: Duration = Duration::from_secs(300);

/// LibreOffice's `soffice`: the configured one, else the first on the PATH.
pub fn soffice(state: &AppState) -> Option<PathBuf> {
    if let Some(p) = &state.config.files.libreoffice {
        return p.is_file().then(|| p.clone());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| [d.join("soffice"), d.join("libreoffice")])
        .find(|p| p.is_file())
}

#[derive(sqlx::FromRow)]
struct Candidate {
    hash: String,
    mime: String,
    storage_key: String,
    preview_attempts: i64,
}

/// One round of preview work: marks pending previews unavailable without LibreOffice (and
/// unavailable ones pending again with it), then converts at most one blob. Returns how many
/// blobs it converted (0 or 1).
pub async fn run_once(state: &AppState, now: chrono::DateTime<chrono::Utc>) -> AppResult<usize> {
    let db = &state.db;
    let Some(bin) = soffice(state) else {
        on_db!(db, p => sqlx::query("UPDATE blobs SET preview_state = 'unavailable' WHERE preview_state = 'pending'")
            .execute(p).await.map(|r| r.rows_affected()))?;
        return Ok(0);
    };
    on_db!(db, p => sqlx::query("UPDATE blobs SET preview_state = 'pending', preview_attempts = 0 WHERE preview_state = 'unavailable'")
        .execute(p).await.map(|r| r.rows_affected()))?;
    let candidate: Option<Candidate> = on_db!(db, p => sqlx::query_as(
        "SELECT hash, mime, storage_key, preview_attempts FROM blobs
         WHERE preview_state = 'pending' AND (preview_lease_until IS NULL OR preview_lease_until < $1)
         ORDER BY created_at LIMIT 1",
    ).bind(now).fetch_optional(p).await)?;
    let Some(c) = candidate else { return Ok(0) };
    let until = now + chrono::Duration::seconds(LEASE_SECONDS);
    let claimed = on_db!(db, p => sqlx::query(
        "UPDATE blobs SET preview_lease_until = $2, preview_attempts = preview_attempts + 1
         WHERE hash = $1 AND preview_state = 'pending'
           AND (preview_lease_until IS NULL OR preview_lease_until < $3)",
    ).bind(&c.hash).bind(until).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    if claimed == 0 {
        return Ok(0);
    }
    let store = store::store(state)?;
    let attempt = c.preview_attempts + 1;
    match convert(&store, &bin, &c).await {
        Ok(pdf) => {
            let key = store::preview_key(&c.hash);
            store
                .put(&key, pdf.clone().into())
                .await
                .map_err(store::err)?;
            on_db!(db, p => sqlx::query(
                "UPDATE blobs SET preview_state = 'ready', preview_key = $2, preview_lease_until = NULL WHERE hash = $1",
            ).bind(&c.hash).bind(key.to_string()).execute(p).await.map(|r| r.rows_affected()))?;
            text_from_preview(state, &c, &pdf).await?;
            Ok(1)
        }
        Err(e) => {
            tracing::warn!(hash = %c.hash, attempt, error = %e, "preview conversion failed");
            if attempt >= MAX_ATTEMPTS {
                on_db!(db, p => sqlx::query(
                    "UPDATE blobs SET preview_state = 'failed', preview_lease_until = NULL WHERE hash = $1",
                ).bind(&c.hash).execute(p).await.map(|r| r.rows_affected()))?;
            } else {
                // Try again after a pause that grows with each attempt.
                let again = now + chrono::Duration::seconds(60 * attempt);
                on_db!(db, p => sqlx::query("UPDATE blobs SET preview_lease_until = $2 WHERE hash = $1")
                    .bind(&c.hash).bind(again).execute(p).await.map(|r| r.rows_affected()))?;
            }
            Ok(0)
        }
    }
}

/// The search text of a legacy binary file, read from its new PDF.
async fn text_from_preview(state: &AppState, c: &Candidate, pdf: &bytes::Bytes) -> AppResult<()> {
    let legacy = KINDS
        .iter()
        .any(|k| k.mime == c.mime && matches!(k.magic, super::sniff::Magic::Cfb(_)));
    if !legacy {
        return Ok(());
    }
    let (text,): (Option<String>,) = on_db!(&state.db, p => sqlx::query_as("SELECT text FROM blobs WHERE hash = $1")
        .bind(&c.hash).fetch_one(p).await)?;
    if text.as_deref().is_some_and(|t| !t.is_empty()) {
        return Ok(());
    }
    let pdf = pdf.clone();
    let text = tokio::task::spawn_blocking(move || {
        extract::from_bytes("application/pdf", Category::Pdf, &pdf)
    })
    .await
    .map_err(AppError::internal)?;
    if !text.trim().is_empty() {
        extract::set_text(state, &c.hash, &text, false).await?;
    }
    Ok(())
}

/// Converts one blob in a folder of its own (LibreOffice's profile too, so conversions on one
/// machine do not wait for each other's lock).
async fn convert(store: &Store, bin: &std::path::Path, c: &Candidate) -> AppResult<bytes::Bytes> {
    let dir = std::env::temp_dir().join(format!("jy-preview-{}", uuid::Uuid::now_v7()));
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(AppError::internal)?;
    let result = async {
        let ext = KINDS
            .iter()
            .find(|k| k.mime == c.mime)
            .map_or("bin", |k| k.ext);
        let input = dir.join(format!("{}.{ext}", c.hash));
        let mut file = tokio::fs::File::create(&input)
            .await
            .map_err(AppError::internal)?;
        let got = store
            .get(&Path::from(c.storage_key.as_str()))
            .await
            .map_err(store::err)?;
        let mut stream = store::stream(got);
        while let Some(piece) = stream.next().await {
            file.write_all(&piece?).await.map_err(AppError::internal)?;
        }
        file.flush().await.map_err(AppError::internal)?;
        drop(file);
        let profile = format!("file://{}", dir.join("profile").display());
        let mut cmd = tokio::process::Command::new(bin);
        cmd.arg("--headless")
            .arg("--norestore")
            .arg("--nolockcheck")
            .arg(format!("-env:UserInstallation={profile}"))
            .arg("--convert-to")
            .arg("pdf")
            .arg("--outdir")
            .arg(&dir)
            .arg(&input)
            .env("HOME", &dir)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        let out = tokio::time::timeout(CONVERT_TIMEOUT, cmd.output())
            .await
            .map_err(|_| AppError::internal("LibreOffice took too long"))?
            .map_err(AppError::internal)?;
        let pdf = dir.join(format!("{}.pdf", c.hash));
        let bytes = tokio::fs::read(&pdf).await.map_err(|e| {
            AppError::internal(format!(
                "no PDF ({e}); soffice exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        })?;
        if !bytes.starts_with(b"%PDF-") {
            return Err(AppError::internal(
                "LibreOffice wrote something that is not a PDF",
            ));
        }
        Ok(bytes::Bytes::from(bytes))
    }
    .await;
    let _ = tokio::fs::remove_dir_all(&dir).await;
    result
}
