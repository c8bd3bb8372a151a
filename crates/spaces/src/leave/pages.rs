//! The leave pages: the list (a guardian's requests, a teacher's classes'), the form, a
//! request with the head teacher's decision buttons.

use super::{Leave, NewLeave, SYMPTOMS};
use crate::scope::{self, Child};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use chrono::NaiveDate;
use kernel::{AppError, AppResult, FieldErrors, LeaveId, PersonId, Role};
use serde::Deserialize;
use web::{CsrfForm, CsrfToken, IdPath, Page, PageCtx, redirect, render};

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "leave/list.html")]
struct ListPage {
    ctx: PageCtx,
    requests: Vec<Leave>,
    guardian: bool,
}

pub async fn list(page: Page, Query(q): Query<Done>) -> AppResult<Response> {
    let requests = super::mine(&page.cx(), 100).await?;
    Ok(render(&ListPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        requests,
        guardian: page.actor().has_role(Role::Guardian),
    }))
}

#[derive(Default)]
struct Draft {
    student_id: String,
    starts_on: String,
    starts_half: String,
    ends_on: String,
    ends_half: String,
    reason: String,
    symptoms: Vec<String>,
    note: String,
}

#[derive(Template)]
#[template(path = "leave/form.html")]
struct FormPage {
    ctx: PageCtx,
    children: Vec<Child>,
    draft: Draft,
    errors: FieldErrors,
    symptoms: [&'static str; 8],
}

impl FormPage {
    fn has_symptom(&self, s: &str) -> bool {
        self.draft.symptoms.iter().any(|x| x == s)
    }
}

pub async fn new_form(page: Page) -> AppResult<Response> {
    let cx = page.cx();
    let children = scope::children(&cx).await?;
    if children.is_empty() {
        return Err(AppError::Forbidden);
    }
    let today = cx.today().to_string();
    Ok(render(&FormPage {
        ctx: page.ctx(),
        draft: Draft {
            student_id: children[0].student_id.to_string(),
            starts_on: today.clone(),
            starts_half: "am".into(),
            ends_on: today,
            ends_half: "pm".into(),
            reason: "illness".into(),
            ..Draft::default()
        },
        children,
        errors: FieldErrors::new(),
        symptoms: SYMPTOMS,
    }))
}

pub async fn create(
    page: Page,
    CsrfForm(fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let draft = Draft {
        student_id: get("student_id"),
        starts_on: get("starts_on"),
        starts_half: get("starts_half"),
        ends_on: get("ends_on"),
        ends_half: get("ends_half"),
        reason: get("reason"),
        symptoms: fields
            .iter()
            .filter(|(f, _)| f == "symptom")
            .map(|(_, v)| v.clone())
            .collect(),
        note: get("note"),
    };
    let mut errors = FieldErrors::new();
    let date = |s: &str, field: &str, errors: &mut FieldErrors| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| errors.add(field, "leave.error.date"))
            .ok()
    };
    let starts = date(&draft.starts_on, "starts_on", &mut errors);
    let ends = date(&draft.ends_on, "ends_on", &mut errors);
    let student = draft.student_id.parse().ok().map(PersonId);
    if student.is_none() {
        errors.add("student_id", "leave.error.not_your_child");
    }
    let cx = page.cx();
    let result = match (starts, ends, student) {
        (Some(starts_on), Some(ends_on), Some(student_id)) if errors.is_empty() => {
            super::request(
                &cx,
                NewLeave {
                    student_id,
                    starts_on,
                    starts_half: draft.starts_half.clone(),
                    ends_on,
                    ends_half: draft.ends_half.clone(),
                    reason: draft.reason.clone(),
                    symptoms: draft.symptoms.clone(),
                    note: draft.note.clone(),
                },
            )
            .await
        }
        _ => Err(AppError::Invalid(errors)),
    };
    match result {
        Ok(id) => Ok(redirect(&format!("/leave/{id}?done=leave_requested"))),
        Err(AppError::Invalid(errors)) => Ok(render(&FormPage {
            ctx: page.ctx(),
            children: scope::children(&cx).await?,
            draft,
            errors,
            symptoms: SYMPTOMS,
        })),
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "leave/show.html")]
struct ShowPage {
    ctx: PageCtx,
    leave: Leave,
    may_decide: bool,
    may_cancel: bool,
}

pub async fn show(
    page: Page,
    IdPath(id): IdPath<LeaveId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    let cx = page.cx();
    let leave = super::get(&cx, id).await?;
    let may_decide = leave.state == "pending" && super::may_decide(&cx, &leave).await?;
    let may_cancel = leave.requested_by == cx.actor.person_id
        && (leave.state == "pending"
            || (leave.state == "approved" && leave.starts_on > cx.today()));
    Ok(render(&ShowPage {
        ctx: page.ctx().with_notice(q.done.as_deref()),
        leave,
        may_decide,
        may_cancel,
    }))
}

#[derive(Deserialize)]
pub struct DecideForm {
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    page: Page,
    IdPath(id): IdPath<LeaveId>,
    CsrfForm(f): CsrfForm<DecideForm>,
) -> AppResult<Response> {
    let approve = match f.decision.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(AppError::BadRequest("invalid_form")),
    };
    super::decide(&page.cx(), id, approve, &f.note).await?;
    let done = if approve {
        "leave_approved"
    } else {
        "leave_declined"
    };
    Ok(redirect(&format!("/leave/{id}?done={done}")))
}

pub async fn cancel(
    page: Page,
    IdPath(id): IdPath<LeaveId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    super::cancel(&page.cx(), id).await?;
    Ok(redirect(&format!("/leave/{id}?done=leave_cancelled")))
}
