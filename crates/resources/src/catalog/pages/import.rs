//! The catalogue import from the page (a spreadsheet with the CSRF token and the region), and
//! the template download.

use super::browse;
use crate::catalog::import::{self, ImportError};
use axum::extract::Multipart;
use axum::response::{IntoResponse, Response};
use kernel::{AppError, AppResult, AppState, NodeId};
use web::{Page, Session, render};

/// A spreadsheet received from a form or the API, in a staging file that is removed when this
/// is dropped.
pub struct Staged {
    pub path: std::path::PathBuf,
    pub file_name: Option<String>,
    /// The form's other fields.
    pub fields: Vec<(String, String)>,
}

impl Staged {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Streams a multipart form's `file` to a staging file under the data folder and keeps its other
/// fields.
pub async fn receive(state: &AppState, mut form: Multipart) -> AppResult<Staged> {
    use tokio::io::AsyncWriteExt;
    let dir = state.config.data_dir.join("imports");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(AppError::internal)?;
    let limit = state.config.files.max_file_bytes;
    let bad_upload =
        |e| web::upload::multipart_error(e, limit, "file", "error.import.upload_failed");
    let mut staged = Staged {
        path: dir.join(format!("catalog-{}", uuid::Uuid::now_v7())),
        file_name: None,
        fields: Vec::new(),
    };
    while let Some(mut field) = form.next_field().await.map_err(bad_upload)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            staged.file_name = field
                .file_name()
                .map(str::to_owned)
                .filter(|n| !n.is_empty());
            let mut out = tokio::fs::File::create(&staged.path)
                .await
                .map_err(AppError::internal)?;
            while let Some(chunk) = field.chunk().await.map_err(bad_upload)? {
                out.write_all(&chunk).await.map_err(AppError::internal)?;
            }
            out.flush().await.map_err(AppError::internal)?;
        } else {
            let value = field.text().await.map_err(bad_upload)?;
            staged.fields.push((name, value));
        }
    }
    Ok(staged)
}

pub async fn upload(page: Page, form: Multipart) -> AppResult<Response> {
    let Page { state, session, .. } = &page;
    let staged = receive(state, form).await?;
    session.verify_csrf(staged.field("csrf").unwrap_or_default())?;
    let cx = page.cx();
    let region: NodeId = super::parse_id(staged.field("region_id").unwrap_or_default())?;
    let mut page = browse::build(&cx, session, None, Some(region), None, None).await?;
    let Some(file_name) = staged.file_name.clone() else {
        page.error = Some(page.ctx.t("error.import.no_file").to_owned());
        return Ok(render(&page));
    };
    match import::run(&cx, region, &file_name, &staged.path).await {
        Ok(done) => {
            let mut page = browse::build(&cx, session, None, Some(region), None, None).await?;
            page.imported = Some(done);
            Ok(render(&page))
        }
        Err(ImportError::Rejected(r)) => {
            page.rejected = Some(r);
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(ImportError::App(e)) => Err(e),
    }
}

/// The empty template with the catalogue file's columns (and one example row).
pub async fn template(_session: Session) -> AppResult<Response> {
    let file = import::template()?;
    Ok(web::attachment(&file.name, file.content_type, file.bytes))
}
