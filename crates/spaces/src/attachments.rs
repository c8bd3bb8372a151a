//! Attachments of notices and messages: up to five files of the kinds schools exchange (PDF,
//! Word, Excel, PowerPoint, plain text, JPEG and PNG photos), 20 MB each, sent with the form
//! (multipart); photos lose their metadata (the phone's GPS position) as in posts. Each is
//! stored in the file store under its SHA-256 and downloaded by whoever may read its notice
//! or conversation.

use axum::extract::Multipart;
use axum::response::Response;
use img_parts::Bytes;
use kernel::{AppError, AppResult, Ctx, FieldErrors, MessageId, NoticeId, Tx, on_db, on_tx};
use serde::Serialize;

kernel::id_type!(
    /// A notice's or message's attachment.
    AttachmentId => "spaces.attachment_not_found",
);

pub const MAX_FILES: usize = 5;
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

/// The extensions taken, with their content types.
const KINDS: [(&str, &str); 11] = [
    ("pdf", "application/pdf"),
    ("doc", "application/msword"),
    (
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("xls", "application/vnd.ms-excel"),
    (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("ppt", "application/vnd.ms-powerpoint"),
    (
        "pptx",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ),
    ("txt", "text/plain; charset=utf-8"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
];

/// A file as it arrived with a form.
pub struct NewFile {
    pub name: String,
    pub data: Bytes,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Attachment {
    pub id: AttachmentId,
    pub file_name: String,
    pub content_type: String,
    pub bytes: i64,
}

impl Attachment {
    /// The size as people read it.
    pub fn size(&self) -> String {
        if self.bytes >= 1024 * 1024 {
            format!("{:.1} MB", self.bytes as f64 / 1024.0 / 1024.0)
        } else {
            format!("{} KB", (self.bytes + 1023) / 1024)
        }
    }
}

/// A form posted with files (multipart) or without (URL-encoded, as the offline queue and
/// older clients send it), its CSRF token checked: its text fields in order, and its files.
pub struct FilesForm(pub Vec<(String, String)>, pub Vec<NewFile>);

impl axum::extract::FromRequest<kernel::AppState> for FilesForm {
    type Rejection = Response;

    async fn from_request(
        req: axum::extract::Request,
        state: &kernel::AppState,
    ) -> Result<Self, Self::Rejection> {
        use axum::extract::FromRequestParts;
        use axum::response::IntoResponse;
        let (mut parts, body) = req.into_parts();
        let session = web::Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let req = axum::extract::Request::from_parts(parts, body);
        let broken = || AppError::field("attachments", "attachments.error.broken").into_response();
        let multipart = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let (fields, files) = if multipart {
            let form = Multipart::from_request(req, state)
                .await
                .map_err(|_| broken())?;
            read_form(form).await.map_err(IntoResponse::into_response)?
        } else {
            let body = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|_| broken())?;
            let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|_| AppError::BadRequest("invalid_form").into_response())?;
            (fields, Vec::new())
        };
        let csrf = fields
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or_default();
        session
            .verify_csrf(csrf)
            .map_err(IntoResponse::into_response)?;
        Ok(Self(fields, files))
    }
}

/// A multipart form's text fields, in order, and its files (empty file inputs skipped).
pub async fn read_form(mut form: Multipart) -> AppResult<(Vec<(String, String)>, Vec<NewFile>)> {
    let limit = (MAX_BYTES * MAX_FILES) as u64;
    let bad = |e| web::upload::multipart_error(e, limit, "attachments", "attachments.error.broken");
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                let data = field.bytes().await.map_err(bad)?;
                if !file_name.is_empty() || !data.is_empty() {
                    files.push(NewFile {
                        name: file_name,
                        data,
                    });
                }
            }
            None => fields.push((name, field.text().await.map_err(bad)?)),
        }
    }
    Ok((fields, files))
}

/// A checked file: its safe name, content type and content (a photo without its metadata).
pub struct Checked {
    name: String,
    content_type: &'static str,
    data: Bytes,
}

/// Checks the files (how many, how large, what kind), naming what is wrong in `f`.
pub fn check(files: Vec<NewFile>, f: &mut FieldErrors) -> Vec<Checked> {
    if files.len() > MAX_FILES {
        f.add("attachments", "attachments.error.too_many");
        return Vec::new();
    }
    let mut out = Vec::new();
    for file in files {
        // The name as given, without a path.
        let name: String = file
            .name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(120)
            .collect();
        let ext = name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default();
        let Some((_, content_type)) = KINDS.iter().find(|(e, _)| *e == ext) else {
            f.add("attachments", "attachments.error.kind");
            f.add("attachment_files", &name);
            continue;
        };
        if file.data.len() > MAX_BYTES {
            f.add("attachments", "attachments.error.too_large");
            f.add("attachment_files", &name);
            continue;
        }
        if file.data.is_empty() {
            f.add("attachments", "attachments.error.empty");
            f.add("attachment_files", &name);
            continue;
        }
        let data = if content_type.starts_with("image/") {
            match crate::photos::strip(file.data) {
                Ok((d, _)) => d,
                Err(key) => {
                    f.add("attachments", key);
                    f.add("attachment_files", &name);
                    continue;
                }
            }
        } else {
            file.data
        };
        out.push(Checked {
            name,
            content_type,
            data,
        });
    }
    out
}

/// Where attachments belong.
#[derive(Clone, Copy)]
pub enum Owner {
    Notice(NoticeId),
    Message(MessageId),
}

impl Owner {
    fn parts(self) -> (&'static str, uuid::Uuid) {
        match self {
            Self::Notice(n) => ("notice", n.0),
            Self::Message(m) => ("message", m.0),
        }
    }
}

/// A file in the file store, not yet recorded.
pub struct Stored {
    name: String,
    content_type: &'static str,
    bytes: i64,
    hash: String,
}

/// Puts checked files' content in the file store, before the action's transaction (one that
/// fails leaves only content-addressed bytes nobody points at).
pub async fn upload(cx: &Ctx<'_>, files: Vec<Checked>) -> AppResult<Vec<Stored>> {
    let mut out = Vec::with_capacity(files.len());
    for file in files {
        let bytes = file.data.len() as i64;
        out.push(Stored {
            hash: resources::files::store::put_small(cx.state, file.data).await?,
            name: file.name,
            content_type: file.content_type,
            bytes,
        });
    }
    Ok(out)
}

/// Records uploaded files as `owner`'s attachments inside `tx`.
pub async fn store(cx: &Ctx<'_>, tx: &mut Tx, owner: Owner, files: Vec<Stored>) -> AppResult<()> {
    let (kind, id) = owner.parts();
    for (i, file) in files.into_iter().enumerate() {
        let (bytes, hash) = (file.bytes, &file.hash);
        on_tx!(tx, c => sqlx::query(
            "INSERT INTO attachments (id, owner_kind, owner_id, position, file_name, content_type, bytes, blob_hash, uploaded_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        ).bind(AttachmentId(uuid::Uuid::now_v7())).bind(kind).bind(id).bind(i as i64).bind(&file.name)
         .bind(file.content_type).bind(bytes).bind(hash).bind(cx.actor.person_id).bind(cx.now)
         .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// The attachments of an owner, in the order sent.
pub async fn of(db: &kernel::Db, owner: Owner) -> AppResult<Vec<Attachment>> {
    let (kind, id) = owner.parts();
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, file_name, content_type, bytes FROM attachments WHERE owner_kind = $1 AND owner_id = $2 ORDER BY position",
    ).bind(kind).bind(id).fetch_all(p).await)?)
}

/// The attachments of a conversation's messages: (message, attachment).
pub async fn of_conversation(
    db: &kernel::Db,
    conversation: kernel::ConversationId,
) -> AppResult<Vec<(MessageId, Attachment)>> {
    let rows: Vec<(MessageId, AttachmentId, String, String, i64)> = on_db!(db, p => sqlx::query_as(
        "SELECT m.id, a.id, a.file_name, a.content_type, a.bytes FROM attachments a
         JOIN messages m ON m.id = a.owner_id AND a.owner_kind = 'message'
         WHERE m.conversation_id = $1 ORDER BY a.position",
    ).bind(conversation).fetch_all(p).await)?;
    Ok(rows
        .into_iter()
        .map(|(m, id, file_name, content_type, bytes)| {
            (
                m,
                Attachment {
                    id,
                    file_name,
                    content_type,
                    bytes,
                },
            )
        })
        .collect())
}

/// Downloads an attachment: for whoever may open its notice or conversation.
pub async fn download(
    page: web::Page,
    web::IdPath(id): web::IdPath<AttachmentId>,
) -> AppResult<Response> {
    let cx = page.cx();
    let row: Option<(String, uuid::Uuid, String, String, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT owner_kind, owner_id, file_name, content_type, blob_hash FROM attachments WHERE id = $1",
    ).bind(id).fetch_optional(p).await)?;
    let Some((kind, owner, name, content_type, hash)) = row else {
        return Err(AppError::NotFound("spaces.attachment_not_found"));
    };
    let allowed = match kind.as_str() {
        "notice" => crate::notices::read::open(&cx, NoticeId(owner))
            .await
            .is_ok(),
        _ => {
            let conversation: Option<(kernel::ConversationId,)> = on_db!(cx.db(), p => sqlx::query_as(
                "SELECT conversation_id FROM messages WHERE id = $1",
            ).bind(owner).fetch_optional(p).await)?;
            match conversation {
                Some((c,)) => crate::messages::open(&cx, c).await.is_ok(),
                None => false,
            }
        }
    };
    if !allowed {
        return Err(AppError::NotFound("spaces.attachment_not_found"));
    }
    let data = resources::files::store::get_small(cx.state, &hash).await?;
    Ok(web::attachment(&name, &content_type, data.to_vec()))
}

pub fn routes() -> axum::Router<kernel::AppState> {
    axum::Router::new().route("/attachments/{id}", axum::routing::get(download))
}

/// The largest body of a form with files: the files and their form.
pub const UPLOAD_LIMIT: usize = MAX_BYTES * MAX_FILES + 256 * 1024;
