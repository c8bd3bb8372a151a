//! The notices' pages: the inbox (received and sent), the form, a notice with its receipt or
//! its read list, and the buttons (confirm, reply, remind).

use super::read::{ClassReceipts, Inbox, Receipt};
use super::send::NewNotice;
use super::{Audience, Notice, Target};
use crate::scope::{self, Addressable};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use kernel::{AppError, AppResult, FieldErrors, NodeId, NoticeId, Role};
use serde::Deserialize;
use web::{CsrfForm, CsrfToken, IdPath, Page, PageCtx, redirect, render};

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

#[derive(Deserialize)]
pub struct ListQuery {
    done: Option<String>,
    /// `homework`: homework notices only.
    kind: Option<String>,
}

#[derive(Template)]
#[template(path = "notices/list.html")]
struct ListPage {
    ctx: PageCtx,
    inbox: Inbox,
    may_send: bool,
    homework: bool,
}

pub async fn list(page: Page, Query(q): Query<ListQuery>) -> AppResult<Response> {
    let cx = page.cx();
    let homework = q.kind.as_deref() == Some("homework");
    let inbox = super::read::inbox_of(&cx, 100, homework.then_some("homework")).await?;
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        inbox,
        may_send: may_send(&page) && !homework,
        homework,
    }))
}

fn may_send(page: &Page) -> bool {
    let a = page.actor();
    a.has_role(Role::Admin) || a.has_role(Role::Teacher) || a.has_role(Role::HeadTeacher)
}

/// The form's values, kept on error.
#[derive(Default)]
struct Draft {
    kind: String,
    title: String,
    body: String,
    needs_confirm: bool,
    reply_prompt: String,
    targets: Vec<String>,
}

#[derive(Template)]
#[template(path = "notices/form.html")]
struct FormPage {
    ctx: PageCtx,
    choices: Vec<Addressable>,
    draft: Draft,
    errors: FieldErrors,
    /// The targets refused as beyond the sender's reach, by name.
    refused: Option<String>,
}

impl FormPage {
    /// A class's guardians and students; a grade's, school's or region's staff too.
    fn audiences(&self, a: &Addressable) -> &'static [&'static str] {
        if a.kind == "class" {
            &["guardians", "students"]
        } else {
            &["guardians", "students", "staff"]
        }
    }
    fn checked(&self, a: &Addressable, audience: &str) -> bool {
        self.draft.targets.contains(&format!("{}:{audience}", a.id))
    }
}

pub async fn new_form(page: Page) -> AppResult<Response> {
    if !may_send(&page) {
        return Err(AppError::Forbidden);
    }
    let choices = scope::addressable(&page.cx()).await?;
    Ok(render(&FormPage {
        ctx: page.ctx(),
        choices,
        draft: Draft {
            kind: "notice".into(),
            ..Draft::default()
        },
        errors: FieldErrors::new(),
        refused: None,
    }))
}

fn parse_target(s: &str) -> Option<Target> {
    let (node, audience) = s.split_once(':')?;
    Some(Target {
        node_id: NodeId(node.parse().ok()?),
        audience: Audience::parse(audience)?,
    })
}

/// `POST /notices/new`: the form, with attachments (multipart) or without.
pub async fn create(
    page: Page,
    crate::attachments::FilesForm(fields, files): crate::attachments::FilesForm,
) -> AppResult<Response> {
    if !may_send(&page) {
        return Err(AppError::Forbidden);
    }
    let get = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let draft = Draft {
        kind: get("kind"),
        title: get("title"),
        body: get("body"),
        needs_confirm: get("needs_confirm") == "on",
        reply_prompt: get("reply_prompt"),
        targets: fields
            .iter()
            .filter(|(f, _)| f == "target")
            .map(|(_, v)| v.clone())
            .collect(),
    };
    let input = NewNotice {
        kind: draft.kind.clone(),
        title: draft.title.clone(),
        body: draft.body.clone(),
        needs_confirm: draft.needs_confirm,
        reply_prompt: Some(draft.reply_prompt.clone()),
        targets: draft
            .targets
            .iter()
            .filter_map(|t| parse_target(t))
            .collect(),
    };
    let cx = page.cx();
    match super::send_with(&cx, input, files).await {
        Ok(id) => Ok(redirect(&format!("/notices/{id}?done=notice_sent"))),
        Err(AppError::Invalid(errors)) => {
            let choices = scope::addressable(&cx).await?;
            let refused = errors.get("targets.refused").map(str::to_owned);
            Ok(render(&FormPage {
                ctx: page.ctx(),
                choices,
                draft,
                errors,
                refused,
            }))
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "notices/show.html")]
struct ShowPage {
    ctx: PageCtx,
    notice: Notice,
    receipt: Option<Receipt>,
    receipts: Option<Vec<ClassReceipts>>,
    /// Delivery outside the platform, per channel and state (for those who see the read list).
    delivery: Vec<kernel::outbox::Status>,
    files: Vec<crate::attachments::Attachment>,
    errors: FieldErrors,
}

impl ShowPage {
    fn waiting_total(&self) -> usize {
        self.receipts
            .as_ref()
            .map(|r| r.iter().map(|c| c.waiting.len()).sum())
            .unwrap_or(0)
    }
    fn pct(&self, part: &i64, whole: &i64) -> i64 {
        if *whole == 0 { 0 } else { part * 100 / whole }
    }
}

async fn show_with(
    page: &Page,
    id: NoticeId,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let opened = super::open(&page.cx(), id).await?;
    let delivery = if opened.receipts.is_some() {
        kernel::outbox::status(&page.state.db, &format!("notice:{id}")).await?
    } else {
        Vec::new()
    };
    let files = crate::attachments::of(
        page.cx().db(),
        crate::attachments::Owner::Notice(opened.notice.id),
    )
    .await?;
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(done),
        files,
        notice: opened.notice,
        receipt: opened.receipt,
        receipts: opened.receipts,
        delivery,
        errors,
    }))
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<NoticeId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    show_with(&page, id, FieldErrors::new(), q.done.as_deref()).await
}

pub async fn confirm(
    page: Page,
    IdPath(id): IdPath<NoticeId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    super::confirm(&page.cx(), id).await?;
    Ok(redirect(&format!("/notices/{id}?done=notice_confirmed")))
}

#[derive(Deserialize)]
pub struct ReplyForm {
    reply: String,
}

pub async fn reply(
    page: Page,
    IdPath(id): IdPath<NoticeId>,
    CsrfForm(f): CsrfForm<ReplyForm>,
) -> AppResult<Response> {
    match super::reply(&page.cx(), id, &f.reply).await {
        Ok(()) => Ok(redirect(&format!("/notices/{id}?done=notice_replied"))),
        Err(AppError::Invalid(errors)) => show_with(&page, id, errors, None).await,
        Err(e) => Err(e),
    }
}

pub async fn remind(
    page: Page,
    IdPath(id): IdPath<NoticeId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    match super::read::remind(&page.cx(), id).await {
        Ok(_) => Ok(redirect(&format!("/notices/{id}?done=notice_reminded"))),
        Err(AppError::Conflict("spaces.reminded_recently", _)) => Ok(redirect(&format!(
            "/notices/{id}?done=notice_reminded_recently"
        ))),
        Err(e) => Err(e),
    }
}
