//! Files handed to the browser as downloads.

use axum::http::header;
use axum::response::{IntoResponse, Response};

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// A download named `name`: UTF-8 in `filename*`, and a plain ASCII name with the same
/// extension for clients that do not read it.
pub fn attachment(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let ext = name.rsplit_once('.').map_or("bin", |(_, e)| e);
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"download.{ext}\"; filename*=UTF-8''{}",
                    crate::auth::url_encode(name)
                ),
            ),
        ],
        bytes,
    )
        .into_response()
}
