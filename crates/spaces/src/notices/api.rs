//! The notices' API: `/api/v1/notices` (the inbox; send), `/api/v1/notices/{id}` (a notice,
//! which is also its read receipt), `/confirm` and `/reply`. The mobile app reads the inbox
//! through it. Documented in [`NoticesApiDoc`].

use super::read::{ClassReceipts, Receipt, Received, ReplyLine, Sent, Waiting};
use super::send::NewNotice;
use super::{Audience, Notice, Target};
use axum::routing::{get, post};
use axum::{Json, Router};
use kernel::{AppResult, AppState, NoticeId};
use serde::{Deserialize, Serialize};
use utoipa::OpenApi;
use web::{ApiCx, ApiJson, IdPath};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/notices", get(inbox).post(send))
        .route("/api/v1/notices/{id}", get(open))
        .route("/api/v1/notices/{id}/confirm", post(confirm))
        .route("/api/v1/notices/{id}/reply", post(reply))
}

#[derive(OpenApi)]
#[openapi(
    paths(inbox, send, open, confirm, reply),
    components(schemas(
        InboxJson,
        Received,
        Sent,
        NewNotice,
        Target,
        Audience,
        SentNotice,
        OpenedJson,
        Notice,
        Receipt,
        ClassReceipts,
        Waiting,
        ReplyLine,
        ReplyInput
    ))
)]
pub struct NoticesApiDoc;

#[derive(Serialize, utoipa::ToSchema)]
struct InboxJson {
    unread: i64,
    received: Vec<Received>,
    sent: Vec<Sent>,
}

/// The caller's notices: received (unread first) and sent, the latest 100 of each.
#[utoipa::path(get, path = "/api/v1/notices", responses((status = 200, body = InboxJson)))]
async fn inbox(c: ApiCx) -> AppResult<Json<InboxJson>> {
    let i = super::inbox(&c.cx(), 100).await?;
    Ok(Json(InboxJson {
        unread: i.unread,
        received: i.received,
        sent: i.sent,
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct SentNotice {
    id: NoticeId,
}

/// Sends a notice to the guardians, students or staff of the given nodes. Recipients are worked
/// out within seconds; a target beyond the caller's reach is refused (422, `fields.targets`,
/// with the refused names in `fields["targets.refused"]`).
#[utoipa::path(post, path = "/api/v1/notices", request_body = NewNotice, responses((status = 200, body = SentNotice), (status = 422)))]
async fn send(c: ApiCx, ApiJson(n): ApiJson<NewNotice>) -> AppResult<Json<SentNotice>> {
    let id = super::send(&c.cx(), n).await?;
    Ok(Json(SentNotice { id }))
}

#[derive(Serialize, utoipa::ToSchema)]
struct OpenedJson {
    notice: Notice,
    receipt: Option<Receipt>,
    receipts: Option<Vec<ClassReceipts>>,
}

/// A notice. For a recipient, reading it is the read receipt; for the sender and the
/// administrators above it, it comes with the read list per class.
#[utoipa::path(get, path = "/api/v1/notices/{id}", responses((status = 200, body = OpenedJson), (status = 404)))]
async fn open(c: ApiCx, IdPath(id): IdPath<NoticeId>) -> AppResult<Json<OpenedJson>> {
    let o = super::open(&c.cx(), id).await?;
    Ok(Json(OpenedJson {
        notice: o.notice,
        receipt: o.receipt,
        receipts: o.receipts,
    }))
}

/// Confirms a notice that asks for it.
#[utoipa::path(post, path = "/api/v1/notices/{id}/confirm", responses((status = 204), (status = 400), (status = 404)))]
async fn confirm(c: ApiCx, IdPath(id): IdPath<NoticeId>) -> AppResult<axum::http::StatusCode> {
    super::confirm(&c.cx(), id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ReplyInput {
    reply: String,
}

/// Answers a notice's question; a new answer replaces the last.
#[utoipa::path(post, path = "/api/v1/notices/{id}/reply", request_body = ReplyInput, responses((status = 204), (status = 404), (status = 422)))]
async fn reply(
    c: ApiCx,
    IdPath(id): IdPath<NoticeId>,
    ApiJson(r): ApiJson<ReplyInput>,
) -> AppResult<axum::http::StatusCode> {
    super::reply(&c.cx(), id, &r.reply).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
