//! One error type for the whole platform, with stable machine-readable codes. The HTTP status
//! is decided here once; the body (JSON for the API, a page for browsers) is rendered by the
//! web layer in the requester's language, see `web::errors`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub type AppResult<T> = Result<T, AppError>;

/// Per-field validation messages: field name → i18n key of the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn add(&mut self, field: &str, key: &str) {
        self.0.push((field.to_owned(), key.to_owned()));
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The message key for a field, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, k)| k.as_str())
    }
    /// `Ok(())` when empty, otherwise the validation error carrying these fields.
    pub fn into_result(self) -> AppResult<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Invalid(self))
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist *or the actor may not see it*: the two are never told apart.
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("forbidden")]
    Forbidden,
    #[error("authentication required")]
    Unauthenticated,
    #[error("invalid input: {0:?}")]
    Invalid(FieldErrors),
    /// A uniqueness or state conflict; the code names it, the fields say where.
    #[error("conflict: {0}")]
    Conflict(&'static str, FieldErrors),
    /// A request that cannot be served as asked (an unknown client, a redirect URI that is not
    /// registered); the code names the problem.
    #[error("bad request: {0}")]
    BadRequest(&'static str),
    #[error("invalid or missing CSRF token")]
    Csrf,
    #[error("too many requests")]
    TooManyRequests,
    /// A request body (an uploaded file) larger than the limit, in bytes, that applies to it.
    #[error("request body over {0} bytes")]
    TooLarge(u64),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A service the server needs is briefly unavailable (the object store not answering):
    /// 503, and the caller may try again. Database outages are [`AppError::Database`] errors
    /// that [`db_fault`] recognises.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The server's disk is full: 507. (A full database is a [`AppError::Database`] error.)
    #[error("storage full: {0}")]
    StorageFull(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        Self::Internal(e.to_string())
    }

    /// A single-field validation error.
    pub fn field(field: &str, key: &str) -> Self {
        let mut f = FieldErrors::new();
        f.add(field, key);
        Self::Invalid(f)
    }

    /// The stable code clients match on; it is also the i18n key of the message (`error.<code>`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(code) => code,
            Self::Forbidden => "forbidden",
            Self::Unauthenticated => "unauthenticated",
            Self::Invalid(_) => "invalid_input",
            Self::Conflict(code, _) => code,
            Self::BadRequest(code) => code,
            Self::Csrf => "csrf",
            Self::TooManyRequests => "too_many_requests",
            Self::TooLarge(_) => "too_large",
            Self::Database(e) => match db_fault(e) {
                Some(Fault::Unavailable) => "unavailable",
                Some(Fault::StorageFull) => "storage_full",
                None => "internal",
            },
            Self::Unavailable(_) => "unavailable",
            Self::StorageFull(_) => "storage_full",
            Self::Internal(_) => "internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Forbidden | Self::Csrf => StatusCode::FORBIDDEN,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Conflict(..) => StatusCode::CONFLICT,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Database(e) => match db_fault(e) {
                Some(Fault::Unavailable) => StatusCode::SERVICE_UNAVAILABLE,
                Some(Fault::StorageFull) => StatusCode::INSUFFICIENT_STORAGE,
                None => StatusCode::INTERNAL_SERVER_ERROR,
            },
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message a person reads, in their language: the code's text, with the limit filled
    /// in for [`AppError::TooLarge`].
    pub fn message(&self, locale: crate::i18n::Locale) -> String {
        let key = format!("error.{}", self.code());
        match self {
            Self::TooLarge(limit) => {
                crate::i18n::tf(locale, &key, &[("limit", &crate::i18n::bytes(*limit))])
            }
            _ => crate::i18n::t(locale, &key).to_owned(),
        }
    }

    pub fn fields(&self) -> Option<&FieldErrors> {
        match self {
            Self::Invalid(f) | Self::Conflict(_, f) => Some(f),
            _ => None,
        }
    }
}

/// A database error that is the server's state, not the request's: the caller may try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The database is unreachable, restarting or shutting down, or the pool gave no
    /// connection in time: 503.
    Unavailable,
    /// The disk is full (SQLite's `SQLITE_FULL`, PostgreSQL's `disk_full`): 507.
    StorageFull,
}

/// What kind of fault `e` is, if it is one.
pub fn db_fault(e: &sqlx::Error) -> Option<Fault> {
    match e {
        sqlx::Error::Io(io) if io.raw_os_error() == Some(28) => Some(Fault::StorageFull),
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Some(Fault::Unavailable),
        sqlx::Error::Database(d) => {
            let code = d.code();
            let code = code.as_deref().unwrap_or("");
            // SQLite: 13 SQLITE_FULL (also extended codes ending in it); PostgreSQL: 53100
            // disk_full, 53xxx insufficient resources.
            if code == "13" || code == "53100" || (d.message().contains("disk is full")) {
                Some(Fault::StorageFull)
            // PostgreSQL: 57P01-03 shut down or starting, 08xxx connection exceptions.
            } else if code.starts_with("57P") || code.starts_with("08") {
                Some(Fault::Unavailable)
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Carried in the response extensions so the web layer can render the body in the
/// requester's language and format.
#[derive(Clone)]
pub struct ErrorPayload(pub Arc<AppError>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // Internals go to the log (with the request id from the span), never to the user.
            tracing::error!(error = %self, "request failed");
        }
        let mut res = status.into_response();
        res.extensions_mut().insert(ErrorPayload(Arc::new(self)));
        res
    }
}

/// Map a unique-constraint violation to a conflict on `field`; other errors pass through.
pub fn unique_violation(e: sqlx::Error, code: &'static str, field: &str) -> AppError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        let mut f = FieldErrors::new();
        f.add(field, &format!("error.{code}"));
        return AppError::Conflict(code, f);
    }
    AppError::Database(e)
}
