//! Notices (通知) with read receipts: a head teacher, a school or a region sends a notice to the
//! guardians, students or staff of classes, grades, schools or regions; the runner expands the
//! targets into recipients; each recipient reads, confirms or replies; the sender sees the read
//! list per class and reminds the rest in one tap.

pub mod api;
pub mod deliver;
pub mod pages;
pub mod read;
pub mod send;

use chrono::{DateTime, Utc};
use kernel::{NodeId, NoticeId, PersonId};
use serde::{Deserialize, Serialize};

pub use read::{confirm, inbox, open, reply};
pub use send::{NewNotice, send, send_with};

/// Whose guardians, students or staff a target reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Guardians,
    Students,
    Staff,
}

impl Audience {
    pub const ALL: [Audience; 3] = [Audience::Guardians, Audience::Students, Audience::Staff];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Guardians => "guardians",
            Self::Students => "students",
            Self::Staff => "staff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// The guardians (or students, or staff) of a node and everything below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Target {
    pub node_id: NodeId,
    pub audience: Audience,
}

/// A notice as its sender and its recipients see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notice {
    pub id: NoticeId,
    pub sender_id: PersonId,
    pub sender_name: String,
    pub node_id: NodeId,
    /// `notice` or `homework`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub needs_confirm: bool,
    pub reply_prompt: Option<String>,
    /// `queued` while its recipients are being worked out, then `sent`.
    pub state: String,
    pub recipients: i64,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub reminded_at: Option<DateTime<Utc>>,
}

const NOTICE_COLUMNS: &str = "n.id, n.sender_id, p.name AS sender_name, n.node_id, n.kind, n.title, n.body, \
     n.needs_confirm, n.reply_prompt, n.state, n.recipients, n.created_at, n.sent_at, n.reminded_at";

/// The notices' pages and API.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/notices", get(pages::list))
        .route("/notices/new", get(pages::new_form))
        .route("/notices/{id}", get(pages::show))
        .route("/notices/{id}/confirm", post(pages::confirm))
        .route("/notices/{id}/reply", post(pages::reply))
        .route("/notices/{id}/remind", post(pages::remind))
        .merge(api::routes())
}
