//! A notice from both sides: a recipient's inbox, reading (the receipt), confirming and
//! replying; the sender's read list per class and the one-tap reminder to those who have not.

use super::{NOTICE_COLUMNS, Notice};
use crate::scope;
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{AppError, AppResult, Ctx, NodeId, NoticeId, PersonId, notify, on_db, on_tx};
use serde::Serialize;

/// A notice in a recipient's inbox.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Received {
    pub id: NoticeId,
    pub kind: String,
    pub title: String,
    pub sender_name: String,
    pub needs_confirm: bool,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    /// The child it is about (for a guardian).
    pub student_name: Option<String>,
}

/// A notice its sender sent, with its counts.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Sent {
    pub id: NoticeId,
    pub kind: String,
    pub title: String,
    pub state: String,
    pub needs_confirm: bool,
    pub recipients: i64,
    pub read: i64,
    pub confirmed: i64,
    pub created_at: DateTime<Utc>,
}

pub struct Inbox {
    pub received: Vec<Received>,
    pub sent: Vec<Sent>,
    pub unread: i64,
}

/// The actor's notices: received (unread first, then newest) and sent.
pub async fn inbox(cx: &Ctx<'_>, limit: i64) -> AppResult<Inbox> {
    inbox_of(cx, limit, None).await
}

/// The inbox with the received notices of one kind only (`homework`: the student's and the
/// guardian's homework list).
pub async fn inbox_of(cx: &Ctx<'_>, limit: i64, kind: Option<&str>) -> AppResult<Inbox> {
    let me = cx.actor.person_id;
    let received: Vec<Received> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT n.id, n.kind, n.title, s.name AS sender_name, n.needs_confirm, n.created_at,
                r.read_at, r.confirmed_at, st.name AS student_name
         FROM notice_recipients r JOIN notices n ON n.id = r.notice_id
         JOIN persons s ON s.id = n.sender_id
         LEFT JOIN persons st ON st.id = r.student_id AND r.student_id <> r.person_id
         WHERE r.person_id = $1 AND ($3 IS NULL OR n.kind = $3)
         ORDER BY (r.read_at IS NULL) DESC, n.created_at DESC LIMIT $2",
    ).bind(me).bind(limit).bind(kind).fetch_all(p).await)?;
    let sent: Vec<Sent> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT n.id, n.kind, n.title, n.state, n.needs_confirm, n.recipients,
                (SELECT COUNT(*) FROM notice_recipients r WHERE r.notice_id = n.id AND r.read_at IS NOT NULL) AS read,
                (SELECT COUNT(*) FROM notice_recipients r WHERE r.notice_id = n.id AND r.confirmed_at IS NOT NULL) AS confirmed,
                n.created_at
         FROM notices n WHERE n.sender_id = $1 ORDER BY n.created_at DESC LIMIT $2",
    ).bind(me).bind(limit).fetch_all(p).await)?;
    let unread = unread(cx.db(), me).await?;
    Ok(Inbox {
        received,
        sent,
        unread,
    })
}

/// How many notices the person has not read.
pub async fn unread(db: &kernel::Db, person: PersonId) -> AppResult<i64> {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM notice_recipients WHERE person_id = $1 AND read_at IS NULL",
    ).bind(person).fetch_one(p).await)?;
    Ok(n)
}

/// A recipient's own receipt.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Receipt {
    pub read_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub reply: Option<String>,
    pub student_name: Option<String>,
}

/// One class's (or the staff's) part of the read list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClassReceipts {
    pub class_id: Option<NodeId>,
    /// The class's label, or empty for staff.
    pub label: String,
    pub recipients: i64,
    pub read: i64,
    pub confirmed: i64,
    /// Those who have not read (or, where confirming is asked, not confirmed), by name.
    pub waiting: Vec<Waiting>,
    pub replies: Vec<ReplyLine>,
}

/// A recipient's answer, with who gave it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReplyLine {
    pub who: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Waiting {
    pub name: String,
    /// For a guardian: the child's name.
    pub student_name: Option<String>,
    pub read: bool,
}

/// A notice as one viewer may see it.
pub struct Opened {
    pub notice: Notice,
    /// The viewer's own receipt if they are a recipient.
    pub receipt: Option<Receipt>,
    /// The read list, for the sender and the administrators of the notice's node.
    pub receipts: Option<Vec<ClassReceipts>>,
}

async fn load(cx: &Ctx<'_>, id: NoticeId) -> AppResult<Notice> {
    let sql = format!(
        "SELECT {NOTICE_COLUMNS} FROM notices n JOIN persons p ON p.id = n.sender_id WHERE n.id = $1"
    );
    let n: Option<Notice> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id).fetch_optional(p).await)?;
    n.ok_or(AppError::NotFound("spaces.notice_not_found"))
}

async fn receipt_of(cx: &Ctx<'_>, id: NoticeId) -> AppResult<Option<Receipt>> {
    Ok(on_db!(cx.db(), p => sqlx::query_as(
        "SELECT r.read_at, r.confirmed_at, r.reply, st.name AS student_name
         FROM notice_recipients r LEFT JOIN persons st ON st.id = r.student_id AND r.student_id <> r.person_id
         WHERE r.notice_id = $1 AND r.person_id = $2",
    ).bind(id).bind(cx.actor.person_id).fetch_optional(p).await)?)
}

/// Whether the actor sees the read list: the sender, or an administrator of its node.
async fn sees_receipts(cx: &Ctx<'_>, n: &Notice) -> AppResult<bool> {
    Ok(n.sender_id == cx.actor.person_id
        || scope::administers(cx.db(), cx.actor, n.node_id).await?)
}

/// Opens a notice: a recipient's first opening is their read receipt (and a fact); the sender
/// and the administrators above it see the read list. Anyone else: not found.
pub async fn open(cx: &Ctx<'_>, id: NoticeId) -> AppResult<Opened> {
    let notice = load(cx, id).await?;
    let mut receipt = receipt_of(cx, id).await?;
    let receipts = if sees_receipts(cx, &notice).await? {
        Some(read_list(cx, &notice).await?)
    } else {
        None
    };
    if receipt.is_none() && receipts.is_none() {
        return Err(AppError::NotFound("spaces.notice_not_found"));
    }
    if let Some(r) = receipt.as_mut()
        && r.read_at.is_none()
    {
        let mut tx = cx.begin().await?;
        let n = on_tx!(&mut tx, c => sqlx::query(
            "UPDATE notice_recipients SET read_at = $3 WHERE notice_id = $1 AND person_id = $2 AND read_at IS NULL",
        ).bind(id).bind(cx.actor.person_id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
        if n == 1 {
            receipt_fact(cx, &mut tx, "notice.read", &notice).await?;
        }
        tx.commit().await?;
        r.read_at = Some(cx.now);
    }
    Ok(Opened {
        notice,
        receipt,
        receipts,
    })
}

/// A recipient's read, confirmed or replied fact, kept once per notice and person.
async fn receipt_fact(
    cx: &Ctx<'_>,
    tx: &mut kernel::Tx,
    kind: &str,
    n: &Notice,
) -> AppResult<bool> {
    let key = format!("{kind}:{}:{}", n.id, cx.actor.person_id);
    facts::record(
        tx,
        cx.now,
        Fact::once(kind, n.node_id, Some(cx.actor.person_id), n.id.0, key),
    )
    .await
}

async fn recipient_only(cx: &Ctx<'_>, id: NoticeId) -> AppResult<Notice> {
    let notice = load(cx, id).await?;
    if receipt_of(cx, id).await?.is_none() {
        return Err(AppError::NotFound("spaces.notice_not_found"));
    }
    Ok(notice)
}

/// A recipient confirms (the notice's "confirm" button); reading is implied.
pub async fn confirm(cx: &Ctx<'_>, id: NoticeId) -> AppResult<()> {
    let notice = recipient_only(cx, id).await?;
    if !notice.needs_confirm {
        return Err(AppError::BadRequest("spaces.notice_needs_no_confirmation"));
    }
    let mut tx = cx.begin().await?;
    let n = on_tx!(&mut tx, c => sqlx::query(
        "UPDATE notice_recipients SET confirmed_at = $3, read_at = COALESCE(read_at, $3)
         WHERE notice_id = $1 AND person_id = $2 AND confirmed_at IS NULL",
    ).bind(id).bind(cx.actor.person_id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n == 1 {
        // Confirming is reading too: the read fact's key keeps it once.
        receipt_fact(cx, &mut tx, "notice.read", &notice).await?;
        receipt_fact(cx, &mut tx, "notice.confirmed", &notice).await?;
    }
    tx.commit().await
}

pub const REPLY_MAX: usize = 500;

/// A recipient answers the notice's question (回执); a new answer replaces the last.
pub async fn reply(cx: &Ctx<'_>, id: NoticeId, text: &str) -> AppResult<()> {
    let notice = recipient_only(cx, id).await?;
    if notice.reply_prompt.is_none() {
        return Err(AppError::BadRequest("spaces.notice_takes_no_reply"));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::field("reply", "notices.error.reply_required"));
    }
    if text.chars().count() > REPLY_MAX {
        return Err(AppError::field("reply", "notices.error.reply_too_long"));
    }
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE notice_recipients SET reply = $3, read_at = COALESCE(read_at, $4)
         WHERE notice_id = $1 AND person_id = $2",
    ).bind(id).bind(cx.actor.person_id).bind(text).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    receipt_fact(cx, &mut tx, "notice.read", &notice).await?;
    receipt_fact(cx, &mut tx, "notice.replied", &notice).await?;
    tx.commit().await
}

#[derive(sqlx::FromRow)]
struct Row {
    class_id: Option<NodeId>,
    name: String,
    student_name: Option<String>,
    read_at: Option<DateTime<Utc>>,
    confirmed_at: Option<DateTime<Utc>>,
    reply: Option<String>,
}

/// The read list per class (staff last), with who is waiting and what they replied.
async fn read_list(cx: &Ctx<'_>, n: &Notice) -> AppResult<Vec<ClassReceipts>> {
    let rows: Vec<Row> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT r.class_id, p.name, st.name AS student_name, r.read_at, r.confirmed_at, r.reply
         FROM notice_recipients r JOIN persons p ON p.id = r.person_id
         LEFT JOIN persons st ON st.id = r.student_id AND r.student_id <> r.person_id
         WHERE r.notice_id = $1 ORDER BY p.name",
    ).bind(n.id).fetch_all(p).await)?;
    let mut out: Vec<ClassReceipts> = Vec::new();
    for row in rows {
        let i = match out.iter().position(|c| c.class_id == row.class_id) {
            Some(i) => i,
            None => {
                let label = match row.class_id {
                    Some(c) => scope::label(cx.db(), c).await?.unwrap_or_default(),
                    None => String::new(),
                };
                out.push(ClassReceipts {
                    class_id: row.class_id,
                    label,
                    recipients: 0,
                    read: 0,
                    confirmed: 0,
                    waiting: Vec::new(),
                    replies: Vec::new(),
                });
                out.len() - 1
            }
        };
        let c = &mut out[i];
        c.recipients += 1;
        let read = row.read_at.is_some();
        c.read += i64::from(read);
        c.confirmed += i64::from(row.confirmed_at.is_some());
        let done = if n.needs_confirm {
            row.confirmed_at.is_some()
        } else {
            read
        };
        if !done {
            c.waiting.push(Waiting {
                name: row.name.clone(),
                student_name: row.student_name.clone(),
                read,
            });
        }
        if let Some(reply) = row.reply {
            let who = match &row.student_name {
                Some(s) => format!("{}（{s}）", row.name),
                None => row.name.clone(),
            };
            c.replies.push(ReplyLine { who, text: reply });
        }
    }
    out.sort_by(|a, b| (a.class_id.is_none(), &a.label).cmp(&(b.class_id.is_none(), &b.label)));
    Ok(out)
}

/// How long after a reminder the next one may go.
pub const REMIND_EVERY_MINUTES: i64 = 30;

/// Reminds everyone who has not read (or not confirmed, where confirming is asked): a
/// notification each, at most once every half hour. Returns how many were reminded.
pub async fn remind(cx: &Ctx<'_>, id: NoticeId) -> AppResult<u64> {
    let notice = load(cx, id).await?;
    if !sees_receipts(cx, &notice).await? {
        return Err(AppError::NotFound("spaces.notice_not_found"));
    }
    if notice
        .reminded_at
        .is_some_and(|t| cx.now - t < chrono::Duration::minutes(REMIND_EVERY_MINUTES))
    {
        return Err(AppError::Conflict(
            "spaces.reminded_recently",
            kernel::FieldErrors::new(),
        ));
    }
    let waiting_on = if notice.needs_confirm {
        "notice_id = $1 AND confirmed_at IS NULL"
    } else {
        "notice_id = $1 AND read_at IS NULL"
    };
    let select = format!("SELECT person_id FROM notice_recipients WHERE {waiting_on}");
    let waiting: Vec<(PersonId,)> = on_db!(cx.db(), p => sqlx::query_as(sqlx::AssertSqlSafe(select.as_str())).bind(id).fetch_all(p).await)?;
    let mark = format!("UPDATE notice_recipients SET reminded_at = $2 WHERE {waiting_on}");
    let mut tx = cx.begin().await?;
    let link = format!("/notices/{id}");
    for (person,) in &waiting {
        notify::send(
            &mut tx,
            *person,
            "notice.notice_reminder",
            Some(id.0),
            Some(&link),
            serde_json::json!({ "title": notice.title, "sender": notice.sender_name }),
            cx.now,
        )
        .await?;
    }
    on_tx!(&mut tx, c => sqlx::query(sqlx::AssertSqlSafe(mark.as_str())).bind(id).bind(cx.now)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    // The reminder goes out on the other channels too; its text differs from the notice's,
    // which DingTalk would otherwise drop as a repeat.
    let outside = if notice.needs_confirm {
        "SELECT person_id FROM notice_recipients WHERE notice_id = $1 AND confirmed_at IS NULL"
    } else {
        "SELECT person_id FROM notice_recipients WHERE notice_id = $1 AND read_at IS NULL"
    };
    kernel::outbox::enqueue(
        cx.state,
        &mut tx,
        cx.now,
        kernel::outbox::To::Query {
            sql: outside,
            arg: id.0,
        },
        &kernel::outbox::Message {
            kind: "notice",
            dedup_key: &format!("notice_reminder:{id}:{}", cx.now.timestamp()),
            title: &crate::outside_text("outbox_text.reminder_title", &[("title", &notice.title)]),
            body: &crate::outside_text(
                "outbox_text.reminder_body",
                &[("sender", &notice.sender_name)],
            ),
            link: Some(&link),
        },
    )
    .await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE notices SET reminded_at = $2 WHERE id = $1")
        .bind(id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("notice.remind")
            .object("notice", id)
            .node(notice.node_id)
            .detail(serde_json::json!({ "reminded": waiting.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(waiting.len() as u64)
}
