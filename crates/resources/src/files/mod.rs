//! Files: object storage (a local folder or S3-compatible), uploads (whole and resumable in
//! chunks), type sniffing, the virus-scan hook, text extraction, previews, and serving with
//! range requests. See docs/files.md.
//!
//! For the library's pages and API:
//! - [`upload::store_stream`] keeps a file posted whole (a form without JavaScript);
//!   [`blob::of_upload`] then gives the blob of a completed upload of the actor's;
//! - [`serve::respond_blob`] serves a blob (download or inline, with ranges) and
//!   [`serve::preview`] its preview;
//! - [`refusal_message`] names the file and the reason of a refusal for a page.

pub mod api;
pub mod blob;
pub mod cleanup;
pub mod commit;
pub mod container;
pub mod extract;
pub mod ingest;
pub mod preview;
pub mod samples;
pub mod scan;
pub mod serve;
pub mod sniff;
pub mod store;
pub mod upload;

use axum::Router;
use kernel::i18n::Locale;
use kernel::{AppError, AppState};
use std::time::Duration;

/// Why a file was refused: a stable code (`files.*`, its message is `error.files.*`) and for
/// some a detail (the virus's signature, the program found inside an archive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub detail: Option<String>,
}

/// The codes of refusals (every other `files.*` code is a protocol error).
pub const REFUSALS: &[&str] = &[
    "files.disguised",
    "files.executable",
    "files.executable_inside",
    "files.unsupported_type",
    "files.too_large",
    "files.empty",
    "files.corrupt",
    "files.infected",
    "files.scan_unavailable",
    "files.upload_failed",
];

/// A refusal's code as a static string (codes read back from the database).
pub fn known_code(code: &str) -> &'static str {
    REFUSALS
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("files.corrupt")
}

impl Refusal {
    pub fn new(code: &'static str) -> Self {
        Self { code, detail: None }
    }
    pub fn with_detail(code: &'static str, detail: String) -> Self {
        Self {
            code,
            detail: Some(detail),
        }
    }
    /// As the platform's error (`400` with the code).
    pub fn error(&self) -> AppError {
        AppError::BadRequest(self.code)
    }
}

/// The failure of an upload step: a refusal of the file, or an error of the platform.
#[derive(Debug)]
pub enum Failure {
    Refused(Refusal),
    App(AppError),
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl From<AppError> for Failure {
    fn from(e: AppError) -> Self {
        Self::App(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::App(e.into())
    }
}

impl Failure {
    pub fn into_app(self) -> AppError {
        match self {
            Self::Refused(r) => r.error(),
            Self::App(e) => e,
        }
    }
}

/// `《课件.pptx》未被接受：文件内容与扩展名不符…` for a refusal.
pub fn refusal_message(locale: Locale, file_name: &str, r: &Refusal) -> String {
    let key = format!("error.{}", r.code);
    let reason = kernel::i18n::t(locale, &key);
    match &r.detail {
        Some(d) => kernel::i18n::tf(
            locale,
            "upload.refused_detail",
            &[("name", file_name), ("reason", reason), ("detail", d)],
        ),
        None => kernel::i18n::tf(
            locale,
            "upload.refused",
            &[("name", file_name), ("reason", reason)],
        ),
    }
}

/// [`refusal_message`] for an error from [`upload::store_stream`]: `Some` when it is a refusal
/// of the file.
pub fn refusal_message_of(locale: Locale, file_name: &str, e: &AppError) -> Option<String> {
    match e {
        AppError::BadRequest(code) if REFUSALS.contains(code) => {
            Some(refusal_message(locale, file_name, &Refusal::new(code)))
        }
        _ => None,
    }
}

/// Pages and API of files that take no large body.
pub fn routes() -> Router<AppState> {
    api::routes()
}

/// The routes that take file bodies.
pub fn upload_routes() -> Router<AppState> {
    api::upload_routes()
}

/// How often the cleanup of abandoned uploads runs.
const CLEANUP_EVERY: Duration = Duration::from_secs(600);

/// Background work: previews of Office documents, text of large files, removal of abandoned
/// uploads.
pub async fn runner(state: AppState) {
    let mut last_cleanup: Option<std::time::Instant> = None;
    loop {
        let now = state.clock.now();
        let converted = match preview::run_once(&state, now).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "preview round failed");
                0
            }
        };
        let extracted = match extract::run_once(&state).await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "text extraction round failed");
                0
            }
        };
        if last_cleanup.is_none_or(|t| t.elapsed() >= CLEANUP_EVERY) {
            last_cleanup = Some(std::time::Instant::now());
            match cleanup::run_once(&state, now).await {
                Ok(c) if c.uploads + c.objects > 0 => {
                    tracing::info!(
                        uploads = c.uploads,
                        objects = c.objects,
                        "abandoned uploads removed"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "upload cleanup failed"),
            }
        }
        if converted + extracted == 0 {
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
}
