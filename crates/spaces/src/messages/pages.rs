//! The messages' pages: the conversations, a new one (from the contacts), a conversation with
//! its reply box (works offline: the service worker queues the form), reporting, the review
//! queue of reported conversations.

use super::{Contact, Reported, Summary, Thread};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::{AppError, AppResult, ConversationId, FieldErrors, PersonId};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, redirect, render};

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "messages/list.html")]
struct ListPage {
    ctx: PageCtx,
    conversations: Vec<Summary>,
    reviewer: bool,
}

pub async fn list(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    let conversations = super::list(&page.cx(), 100).await?;
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        conversations,
        reviewer: page.actor().has_role(kernel::Role::Admin),
    }))
}

#[derive(Template)]
#[template(path = "messages/new.html")]
struct NewPage {
    ctx: PageCtx,
    contacts: Vec<Contact>,
    errors: FieldErrors,
    staff: bool,
}

fn staff(page: &Page) -> bool {
    page.actor().grants.iter().any(|g| {
        matches!(
            g.role,
            kernel::Role::Teacher | kernel::Role::HeadTeacher | kernel::Role::Admin
        )
    })
}

pub async fn new_form(page: Page) -> AppResult<Response> {
    let contacts = super::contacts(&page.cx()).await?;
    Ok(render(&NewPage {
        ctx: page.ctx(),
        contacts,
        errors: FieldErrors::new(),
        staff: staff(&page),
    }))
}

pub async fn start(
    page: Page,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let with: Vec<PersonId> = fields
        .iter()
        .filter(|(k, _)| k == "with")
        .filter_map(|(_, v)| v.parse().ok().map(PersonId))
        .collect();
    let title = fields
        .iter()
        .find(|(k, _)| k == "title")
        .map(|(_, v)| v.as_str());
    let cx = page.cx();
    match super::start(&cx, &with, title).await {
        Ok(id) => Ok(redirect(&format!("/messages/{id}"))),
        Err(AppError::Invalid(errors)) => Ok(render(&NewPage {
            ctx: page.ctx(),
            contacts: super::contacts(&cx).await?,
            errors,
            staff: staff(&page),
        })),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "messages/show.html")]
struct ShowPage {
    ctx: PageCtx,
    thread: Thread,
    me: PersonId,
    files: Vec<(kernel::MessageId, crate::attachments::Attachment)>,
    errors: FieldErrors,
}

impl ShowPage {
    fn files_of(&self, m: &kernel::MessageId) -> Vec<&crate::attachments::Attachment> {
        self.files
            .iter()
            .filter(|(id, _)| id == m)
            .map(|(_, a)| a)
            .collect()
    }
    fn others(&self) -> String {
        self.thread
            .members
            .iter()
            .filter(|m| m.0 != self.me)
            .map(|m| m.1.as_str())
            .collect::<Vec<_>>()
            .join("、")
    }
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<ConversationId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    let thread = super::open(&page.cx(), id).await?;
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        me: page.actor().person_id,
        files: crate::attachments::of_conversation(page.cx().db(), id).await?,
        thread,
        errors: FieldErrors::new(),
    }))
}

/// `POST /messages/{id}`: a message, with attachments (multipart) or without (the offline
/// queue sends URL-encoded forms).
pub async fn post(
    page: Page,
    IdPath(id): IdPath<ConversationId>,
    crate::attachments::FilesForm(fields, files): crate::attachments::FilesForm,
) -> AppResult<Response> {
    let cx = page.cx();
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let key = Some(get("client_key")).filter(|k| !k.is_empty());
    match super::post_with(&cx, id, get("body"), key, files).await {
        Ok(_) => Ok(redirect(&format!("/messages/{id}#latest"))),
        Err(AppError::Invalid(errors)) => Ok(render(&ShowPage {
            ctx: page.ctx(),
            me: page.actor().person_id,
            thread: super::open(&cx, id).await?,
            files: crate::attachments::of_conversation(cx.db(), id).await?,
            errors,
        })),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ReportForm {
    reason: String,
}

pub async fn report(
    page: Page,
    IdPath(id): IdPath<ConversationId>,
    CsrfForm(f): CsrfForm<ReportForm>,
) -> AppResult<Response> {
    super::report(&page.cx(), id, &f.reason).await?;
    Ok(redirect(&format!(
        "/messages/{id}?done=conversation_reported"
    )))
}

#[derive(Template)]
#[template(path = "messages/reported.html")]
struct ReportedPage {
    ctx: PageCtx,
    reported: Vec<Reported>,
}

pub async fn reported(page: Page) -> AppResult<Response> {
    if !page.actor().has_role(kernel::Role::Admin) {
        return Err(AppError::Forbidden);
    }
    let reported = super::reported(&page.cx()).await?;
    Ok(render(&ReportedPage {
        ctx: page.ctx(),
        reported,
    }))
}

#[derive(Template)]
#[template(path = "messages/retention.html")]
struct RetentionPage {
    ctx: PageCtx,
    schools: Vec<(kernel::NodeId, String, Option<i64>)>,
    errors: kernel::FieldErrors,
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

async fn retention_page(
    page: &Page,
    errors: kernel::FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    if !page.actor().has_role(kernel::Role::Admin) {
        return Err(AppError::Forbidden);
    }
    Ok(render(&RetentionPage {
        ctx: page.ctx().with_notice(done),
        schools: super::retention::schools(&page.cx()).await?,
        errors,
    }))
}

pub async fn retention(
    page: Page,
    axum::extract::Query(q): axum::extract::Query<DoneQuery>,
) -> AppResult<Response> {
    retention_page(&page, kernel::FieldErrors::new(), q.done.as_deref()).await
}

#[derive(Deserialize)]
pub struct RetentionForm {
    school: String,
    #[serde(default)]
    days: String,
}

pub async fn save_retention(
    page: Page,
    CsrfForm(f): CsrfForm<RetentionForm>,
) -> AppResult<Response> {
    let school = web::parse_id::<kernel::NodeId>(&f.school)?;
    let days = match f.days.trim() {
        "" => Ok(None),
        d => d
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::field("days", "messages.error.retention")),
    };
    let result = match days {
        Ok(days) => super::retention::set(&page.cx(), school, days).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => Ok(redirect("/messages/retention?done=retention_saved")),
        Err(AppError::Invalid(errors)) => retention_page(&page, errors, None).await,
        Err(e) => Err(e),
    }
}
