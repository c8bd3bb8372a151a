//! Messages (消息): the plans' three-way communication. One-to-one and group conversations
//! between teachers and guardians, teachers and their students, and teachers among
//! themselves; guardians cannot message each other, nor students each other. A member can
//! report a conversation; the school's administrators review it (audited).

pub mod pages;
pub mod retention;

use crate::scope;
use chrono::{DateTime, Utc};
use kernel::audit::AuditEvent;
use kernel::facts::{self, Fact};
use kernel::{
    AppError, AppResult, ConversationId, Ctx, FieldErrors, MessageId, NodeId, PersonId, Role,
    on_db, on_tx,
};
use serde::Serialize;

pub const BODY_MAX: usize = 2_000;
pub const GROUP_MAX: usize = 100;

/// Someone the actor may write to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Contact {
    pub person_id: PersonId,
    pub name: String,
    /// What they are to the actor: `teacher`, `head_teacher`, `guardian`, `student`, `colleague`.
    pub relation: String,
    /// The class or child that links them (`一年级(1)班`, `王子涵`).
    pub context: String,
    pub school_id: NodeId,
}

/// The people the actor may message: a guardian their children's teachers; a student their
/// class's teachers; a teacher the students and guardians of their classes and the staff of
/// their school; a school administrator the school's staff.
pub async fn contacts(cx: &Ctx<'_>) -> AppResult<Vec<Contact>> {
    let db = cx.db();
    let me = cx.actor.person_id;
    let mut out: Vec<Contact> = Vec::new();
    let add = |c: Contact, out: &mut Vec<Contact>| {
        if c.person_id != me && !out.iter().any(|o| o.person_id == c.person_id) {
            out.push(c);
        }
    };
    // Teachers of my children's classes, and of my own class.
    let mut classes: Vec<(NodeId, String)> = scope::children(cx)
        .await?
        .into_iter()
        .map(|c| (c.class_id, c.name))
        .collect();
    for g in cx.actor.grants_of(Role::Student) {
        classes.push((g.node_id, String::new()));
    }
    for (class, child) in classes {
        let rows: Vec<(PersonId, String, String, Option<NodeId>)> = on_db!(db, p => sqlx::query_as(
            "SELECT p.id, p.name, r.role, c.school_id FROM role_assignments r JOIN persons p ON p.id = r.person_id
             JOIN org_nodes c ON c.id = r.node_id
             WHERE r.node_id = $1 AND r.role IN ('head_teacher', 'teacher') AND p.active = TRUE
             ORDER BY r.role, p.name",
        ).bind(class).fetch_all(p).await)?;
        let label = scope::label(db, class).await?.unwrap_or_default();
        for (id, name, role, school) in rows {
            let context = if child.is_empty() {
                label.clone()
            } else {
                format!("{child} · {label}")
            };
            add(
                Contact {
                    person_id: id,
                    name,
                    relation: role,
                    context,
                    school_id: school.unwrap_or(class),
                },
                &mut out,
            );
        }
    }
    // A teacher's classes: their students and the students' guardians.
    for g in &cx.actor.grants {
        if !matches!(g.role, Role::Teacher | Role::HeadTeacher) || g.node_kind != "class" {
            continue;
        }
        let label = scope::label(db, g.node_id).await?.unwrap_or_default();
        let rows: Vec<(PersonId, String, PersonId, String, Option<NodeId>)> = on_db!(db, p => sqlx::query_as(
            "SELECT gp.id, gp.name, sp.id, sp.name, c.school_id
             FROM role_assignments s JOIN persons sp ON sp.id = s.person_id AND sp.active = TRUE
             JOIN org_nodes c ON c.id = s.node_id
             JOIN role_assignments gr ON gr.student_id = sp.id AND gr.role = 'guardian'
             JOIN persons gp ON gp.id = gr.person_id AND gp.active = TRUE
             WHERE s.node_id = $1 AND s.role = 'student' ORDER BY sp.name",
        ).bind(g.node_id).fetch_all(p).await)?;
        for (gid, gname, sid, sname, school) in rows {
            let school = school.unwrap_or(g.node_id);
            add(
                Contact {
                    person_id: sid,
                    name: sname.clone(),
                    relation: "student".into(),
                    context: label.clone(),
                    school_id: school,
                },
                &mut out,
            );
            add(
                Contact {
                    person_id: gid,
                    name: gname,
                    relation: "guardian".into(),
                    context: format!("{sname} · {label}"),
                    school_id: school,
                },
                &mut out,
            );
        }
    }
    // Colleagues: the staff of the schools I teach in or administer.
    let mut schools: Vec<NodeId> = Vec::new();
    for g in &cx.actor.grants {
        let staff = matches!(g.role, Role::Teacher | Role::HeadTeacher)
            || (g.role == Role::Admin && g.node_kind == "school");
        if staff {
            let school: Option<(Option<NodeId>,)> = on_db!(db, p => sqlx::query_as(
                "SELECT school_id FROM org_nodes WHERE id = $1",
            ).bind(g.node_id).fetch_optional(p).await)?;
            let s = school.and_then(|s| s.0).unwrap_or(g.node_id);
            if !schools.contains(&s) {
                schools.push(s);
            }
        }
    }
    for school in schools {
        let rows: Vec<(PersonId, String)> = on_db!(db, p => sqlx::query_as(
            "SELECT DISTINCT p.id, p.name FROM persons p JOIN role_assignments r ON r.person_id = p.id
             WHERE p.org_id = $1 AND p.active = TRUE AND r.role IN ('teacher', 'head_teacher', 'admin')
             ORDER BY p.name",
        ).bind(school).fetch_all(p).await)?;
        let label = scope::label(db, school).await?.unwrap_or_default();
        for (id, name) in rows {
            add(
                Contact {
                    person_id: id,
                    name,
                    relation: "colleague".into(),
                    context: label.clone(),
                    school_id: school,
                },
                &mut out,
            );
        }
    }
    Ok(out)
}

/// A conversation in the actor's list.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Summary {
    pub id: ConversationId,
    pub title: Option<String>,
    /// The other members' names, joined.
    pub with_names: String,
    pub last_message_at: DateTime<Utc>,
    pub last_body: Option<String>,
    pub unread: i64,
}

/// A conversation's id, title, last message time and the member's last read time.
type ListRow = (
    ConversationId,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

pub async fn list(cx: &Ctx<'_>, limit: i64) -> AppResult<Vec<Summary>> {
    let me = cx.actor.person_id;
    let rows: Vec<ListRow> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT c.id, c.title, c.last_message_at, m.last_read_at FROM conversation_members m
         JOIN conversations c ON c.id = m.conversation_id
         WHERE m.person_id = $1 ORDER BY c.last_message_at DESC LIMIT $2",
    ).bind(me).bind(limit).fetch_all(p).await)?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, title, last, read) in rows {
        let names: Vec<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT p.name FROM conversation_members m JOIN persons p ON p.id = m.person_id
             WHERE m.conversation_id = $1 AND m.person_id <> $2 ORDER BY p.name LIMIT 6",
        ).bind(id).bind(me).fetch_all(p).await)?;
        let last_body: Option<(String,)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT body FROM messages WHERE conversation_id = $1 ORDER BY created_at DESC LIMIT 1",
        ).bind(id).fetch_optional(p).await)?;
        let (unread,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT COUNT(*) FROM messages WHERE conversation_id = $1 AND sender_id <> $2
             AND ($3 IS NULL OR created_at > $3)",
        ).bind(id).bind(me).bind(read).fetch_one(p).await)?;
        out.push(Summary {
            id,
            title,
            with_names: names
                .into_iter()
                .map(|n| n.0)
                .collect::<Vec<_>>()
                .join("、"),
            last_message_at: last,
            last_body: last_body.map(|b| b.0.chars().take(60).collect()),
            unread,
        });
    }
    Ok(out)
}

/// How many messages wait unread for the person, over all their conversations.
pub async fn unread(db: &kernel::Db, person: PersonId) -> AppResult<i64> {
    let (n,): (i64,) = on_db!(db, p => sqlx::query_as(
        "SELECT COUNT(*) FROM conversation_members m JOIN messages x ON x.conversation_id = m.conversation_id
         WHERE m.person_id = $1 AND x.sender_id <> $1 AND (m.last_read_at IS NULL OR x.created_at > m.last_read_at)",
    ).bind(person).fetch_one(p).await)?;
    Ok(n)
}

/// Starts a conversation with contacts (or returns the existing one-to-one conversation).
/// Only staff start groups.
pub async fn start(
    cx: &Ctx<'_>,
    with: &[PersonId],
    title: Option<&str>,
) -> AppResult<ConversationId> {
    let mut with: Vec<PersonId> = with
        .iter()
        .copied()
        .filter(|p| *p != cx.actor.person_id)
        .collect();
    with.sort();
    with.dedup();
    if with.is_empty() {
        return Err(AppError::field("with", "messages.error.nobody"));
    }
    if with.len() > GROUP_MAX {
        return Err(AppError::field("with", "messages.error.too_many"));
    }
    let contacts = contacts(cx).await?;
    let mut refused = Vec::new();
    for p in &with {
        if !contacts.iter().any(|c| c.person_id == *p) {
            refused.push(*p);
        }
    }
    if !refused.is_empty() {
        return Err(AppError::field("with", "messages.error.not_a_contact"));
    }
    let staff = cx
        .actor
        .grants
        .iter()
        .any(|g| matches!(g.role, Role::Teacher | Role::HeadTeacher | Role::Admin));
    if with.len() > 1 && !staff {
        return Err(AppError::field("with", "messages.error.groups_for_staff"));
    }
    let school = contacts
        .iter()
        .find(|c| c.person_id == with[0])
        .map(|c| c.school_id)
        .ok_or(AppError::NotFound("spaces.conversation_not_found"))?;
    if with.len() == 1 {
        let existing: Option<(ConversationId,)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT a.conversation_id FROM conversation_members a
             JOIN conversation_members b ON b.conversation_id = a.conversation_id AND b.person_id = $2
             WHERE a.person_id = $1
               AND (SELECT COUNT(*) FROM conversation_members x WHERE x.conversation_id = a.conversation_id) = 2
             LIMIT 1",
        ).bind(cx.actor.person_id).bind(with[0]).fetch_optional(p).await)?;
        if let Some((id,)) = existing {
            return Ok(id);
        }
    }
    let title = title
        .map(str::trim)
        .filter(|t| !t.is_empty() && with.len() > 1);
    let id = ConversationId::new();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO conversations (id, school_id, title, created_by, created_at, last_message_at) VALUES ($1, $2, $3, $4, $5, $5)",
    ).bind(id).bind(school).bind(title).bind(cx.actor.person_id).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    for p in with.iter().chain(std::iter::once(&cx.actor.person_id)) {
        on_tx!(&mut tx, c => sqlx::query(
            "INSERT INTO conversation_members (conversation_id, person_id) VALUES ($1, $2)",
        ).bind(id).bind(p).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    }
    tx.commit().await?;
    Ok(id)
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Message {
    pub id: MessageId,
    pub sender_id: PersonId,
    pub sender_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

pub struct Thread {
    pub id: ConversationId,
    pub title: Option<String>,
    pub members: Vec<(PersonId, String)>,
    pub messages: Vec<Message>,
    pub member: bool,
    pub reported: bool,
}

async fn is_member(cx: &Ctx<'_>, id: ConversationId) -> AppResult<bool> {
    let (n,): (i64,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT COUNT(*) FROM conversation_members WHERE conversation_id = $1 AND person_id = $2",
    ).bind(id).bind(cx.actor.person_id).fetch_one(p).await)?;
    Ok(n > 0)
}

/// A conversation for a member (reading marks it read), or for an administrator of its school
/// once a member has reported it (the review is audited).
pub async fn open(cx: &Ctx<'_>, id: ConversationId) -> AppResult<Thread> {
    let conv: Option<(Option<String>, NodeId, Option<DateTime<Utc>>)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT title, school_id, reported_at FROM conversations WHERE id = $1",
    ).bind(id).fetch_optional(p).await)?;
    let (title, school, reported) =
        conv.ok_or(AppError::NotFound("spaces.conversation_not_found"))?;
    let member = is_member(cx, id).await?;
    let reviewer =
        !member && reported.is_some() && scope::administers(cx.db(), cx.actor, school).await?;
    if !member && !reviewer {
        return Err(AppError::NotFound("spaces.conversation_not_found"));
    }
    let members: Vec<(PersonId, String)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT p.id, p.name FROM conversation_members m JOIN persons p ON p.id = m.person_id
         WHERE m.conversation_id = $1 ORDER BY p.name",
    ).bind(id).fetch_all(p).await)?;
    let messages: Vec<Message> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT x.id, x.sender_id, p.name AS sender_name, x.body, x.created_at FROM messages x
         JOIN persons p ON p.id = x.sender_id WHERE x.conversation_id = $1 ORDER BY x.created_at LIMIT 500",
    ).bind(id).fetch_all(p).await)?;
    let mut tx = cx.begin().await?;
    if member {
        on_tx!(&mut tx, c => sqlx::query(
            "UPDATE conversation_members SET last_read_at = $3 WHERE conversation_id = $1 AND person_id = $2",
        ).bind(id).bind(cx.actor.person_id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    } else {
        cx.audit(
            &mut tx,
            AuditEvent::new("conversation.review")
                .object("conversation", id)
                .node(school),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Thread {
        id,
        title,
        members,
        messages,
        member,
        reported: reported.is_some(),
    })
}

/// Posts a message. A `client_key` (the mobile app's id for a message written offline) makes
/// a second sending of the same message a no-op. A reply by a teacher to someone else's
/// message counts as answered.
pub async fn post(
    cx: &Ctx<'_>,
    id: ConversationId,
    body: &str,
    client_key: Option<&str>,
) -> AppResult<MessageId> {
    post_with(cx, id, body, client_key, Vec::new()).await
}

/// [`post`] with attachments; a message of files alone needs no text.
pub async fn post_with(
    cx: &Ctx<'_>,
    id: ConversationId,
    body: &str,
    client_key: Option<&str>,
    files: Vec<crate::attachments::NewFile>,
) -> AppResult<MessageId> {
    if !is_member(cx, id).await? {
        return Err(AppError::NotFound("spaces.conversation_not_found"));
    }
    let body = body.trim();
    let mut f = FieldErrors::new();
    if body.is_empty() && files.is_empty() {
        f.add("body", "messages.error.body_required");
    } else if body.chars().count() > BODY_MAX {
        f.add("body", "messages.error.body_too_long");
    }
    let files = crate::attachments::check(files, &mut f);
    f.into_result()?;
    let key = client_key
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 64);
    if let Some(k) = key {
        let existing: Option<(MessageId,)> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT id FROM messages WHERE sender_id = $1 AND client_key = $2",
        ).bind(cx.actor.person_id).bind(k).fetch_optional(p).await)?;
        if let Some((m,)) = existing {
            return Ok(m);
        }
    }
    let (school,): (NodeId,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT school_id FROM conversations WHERE id = $1",
    ).bind(id).fetch_one(p).await)?;
    let last_other: Option<(PersonId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT sender_id FROM messages WHERE conversation_id = $1 ORDER BY created_at DESC LIMIT 1",
    ).bind(id).fetch_optional(p).await)?;
    let files = crate::attachments::upload(cx, files).await?;
    let mid = MessageId::new();
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO messages (id, conversation_id, sender_id, body, client_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    ).bind(mid).bind(id).bind(cx.actor.person_id).bind(body).bind(key).bind(cx.now)
     .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    crate::attachments::store(cx, &mut tx, crate::attachments::Owner::Message(mid), files).await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE conversations SET last_message_at = $2 WHERE id = $1",
    ).bind(id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE conversation_members SET last_read_at = $3 WHERE conversation_id = $1 AND person_id = $2",
    ).bind(id).bind(cx.actor.person_id).bind(cx.now).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    // The other members hear of it on their channels (one notification per message).
    let others: Vec<(PersonId,)> = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT person_id FROM conversation_members WHERE conversation_id = $1 AND person_id <> $2",
    ).bind(id).bind(cx.actor.person_id).fetch_all(p).await)?;
    let excerpt: String = body.chars().take(80).collect();
    for (other,) in others {
        kernel::outbox::enqueue(
            cx.state,
            &mut tx,
            cx.now,
            kernel::outbox::To::One(other),
            &kernel::outbox::Message {
                kind: "message",
                dedup_key: &format!("message:{mid}"),
                title: &crate::outside_text(
                    "outbox_text.message_title",
                    &[("name", &cx.actor.name)],
                ),
                body: &excerpt,
                link: Some(&format!("/messages/{id}")),
            },
        )
        .await?;
    }
    facts::record(
        &mut tx,
        cx.now,
        Fact::once(
            "message.sent",
            school,
            Some(cx.actor.person_id),
            mid.0,
            format!("message.sent:{mid}"),
        ),
    )
    .await?;
    let staff = cx
        .actor
        .grants
        .iter()
        .any(|g| matches!(g.role, Role::Teacher | Role::HeadTeacher));
    if staff && last_other.is_some_and(|(s,)| s != cx.actor.person_id) {
        facts::record(
            &mut tx,
            cx.now,
            Fact::once(
                "message.answered",
                school,
                Some(cx.actor.person_id),
                mid.0,
                format!("message.answered:{mid}"),
            ),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(mid)
}

/// A member reports a conversation to the school's administrators for review.
pub async fn report(cx: &Ctx<'_>, id: ConversationId, reason: &str) -> AppResult<()> {
    if !is_member(cx, id).await? {
        return Err(AppError::NotFound("spaces.conversation_not_found"));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::field("reason", "messages.error.reason"));
    }
    let (school,): (NodeId,) = on_db!(cx.db(), p => sqlx::query_as(
        "SELECT school_id FROM conversations WHERE id = $1",
    ).bind(id).fetch_one(p).await)?;
    let mut tx = cx.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE conversations SET reported_at = $2, reported_by = $3, report_reason = $4 WHERE id = $1",
    ).bind(id).bind(cx.now).bind(cx.actor.person_id).bind(reason).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    cx.audit(
        &mut tx,
        AuditEvent::new("conversation.report")
            .object("conversation", id)
            .node(school),
    )
    .await?;
    tx.commit().await
}

/// A reported conversation in the review queue.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Reported {
    pub id: ConversationId,
    pub reported_at: DateTime<Utc>,
    pub reporter: String,
    pub reason: String,
}

/// The reported conversations of the schools the actor administers.
pub async fn reported(cx: &Ctx<'_>) -> AppResult<Vec<Reported>> {
    let mut out = Vec::new();
    for node in cx.actor.admin_nodes() {
        let rows: Vec<Reported> = on_db!(cx.db(), p => sqlx::query_as(
            "SELECT c.id, c.reported_at, p.name AS reporter, c.report_reason AS reason FROM conversations c
             JOIN org_closure oc ON oc.descendant_id = c.school_id AND oc.ancestor_id = $1
             JOIN persons p ON p.id = c.reported_by
             WHERE c.reported_at IS NOT NULL ORDER BY c.reported_at DESC LIMIT 100",
        ).bind(node).fetch_all(p).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// The messages' pages.
pub fn routes() -> axum::Router<kernel::AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/messages", get(pages::list))
        .route("/messages/new", get(pages::new_form).post(pages::start))
        .route("/messages/reported", get(pages::reported))
        .route(
            "/messages/retention",
            get(pages::retention).post(pages::save_retention),
        )
        .route("/messages/{id}", get(pages::show))
        .route("/messages/{id}/report", post(pages::report))
}
