//! Notifications to a person (a review decision on their resource, …), written in the same
//! transaction as what they report and shown on the person's home page. Later channels
//! (WeCom, DingTalk, SMS, e-mail) will read the same rows as an outbox.

use crate::ids::{NotificationId, PersonId};
use crate::{AppResult, Db, Tx, on_db, on_tx};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// A notification as shown: `kind` is the i18n key (under `notice.`) of a message whose
/// `{name}` placeholders `args` fills.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Notification {
    pub id: NotificationId,
    pub kind: String,
    pub object_id: Option<uuid::Uuid>,
    pub link: Option<String>,
    /// A JSON object of the message's arguments.
    pub args: String,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl Notification {
    /// The arguments as (name, value) pairs, for `Locale::format`-style filling.
    pub fn arg_pairs(&self) -> Vec<(String, String)> {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&self.args)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect()
    }
}

/// Writes a notification for `person` inside `tx`.
pub async fn send(
    tx: &mut Tx,
    person: PersonId,
    kind: &str,
    object: Option<uuid::Uuid>,
    link: Option<&str>,
    args: serde_json::Value,
    now: DateTime<Utc>,
) -> AppResult<()> {
    on_tx!(tx, c => sqlx::query(
        "INSERT INTO notifications (id, person_id, kind, object_id, link, args, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    ).bind(NotificationId::new()).bind(person).bind(kind).bind(object).bind(link)
     .bind(args.to_string()).bind(now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// A person's latest notifications, unread first.
pub async fn latest(db: &Db, person: PersonId, limit: i64) -> AppResult<Vec<Notification>> {
    Ok(on_db!(db, p => sqlx::query_as(
        "SELECT id, kind, object_id, link, args, created_at, read_at FROM notifications
         WHERE person_id = $1 ORDER BY (read_at IS NULL) DESC, created_at DESC LIMIT $2",
    ).bind(person).bind(limit).fetch_all(p).await)?)
}

/// How many of a person's notifications are unread (the bell's count).
pub async fn unread(db: &Db, person: PersonId) -> AppResult<i64> {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notifications WHERE person_id = $1 AND read_at IS NULL",
    ).bind(person).fetch_one(p).await)?;
    Ok(n)
}

/// Marks all of a person's notifications read.
pub async fn mark_all_read(db: &Db, person: PersonId, now: DateTime<Utc>) -> AppResult<()> {
    on_db!(db, p => sqlx::query(
        "UPDATE notifications SET read_at = $2 WHERE person_id = $1 AND read_at IS NULL",
    ).bind(person).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}
