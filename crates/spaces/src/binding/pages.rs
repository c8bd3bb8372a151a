//! The binding pages: a guardian's form (and their children, with unbinding), a class's code,
//! QR code and requests for its head teacher.

use super::Request;
use crate::scope::{self, Child};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use chrono::{DateTime, Utc};
use kernel::{AppError, AppResult, FieldErrors, NodeId, PersonId};
use serde::Deserialize;
use web::{CsrfForm, CsrfToken, IdPath, Page, PageCtx, redirect, render};

#[derive(Deserialize, Default)]
pub struct FormQuery {
    code: Option<String>,
    done: Option<String>,
}

#[derive(Default)]
struct Draft {
    code: String,
    child_name: String,
    last4: String,
    relation: String,
}

#[derive(Template)]
#[template(path = "binding/form.html")]
struct FormPage {
    ctx: PageCtx,
    draft: Draft,
    errors: FieldErrors,
    children: Vec<Child>,
    requests: Vec<Request>,
    relations: Vec<(&'static str, &'static str)>,
}

fn relations() -> Vec<(&'static str, &'static str)> {
    ["51", "52", "61", "62", "63", "64", "97"]
        .into_iter()
        .filter_map(|c| {
            standards::codes::name(standards::codes::Table::FamilyRelation, c).map(|n| (c, n))
        })
        .collect()
}

async fn form_page(
    page: &Page,
    draft: Draft,
    errors: FieldErrors,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    Ok(render(&FormPage {
        ctx: page.ctx().with_notice(done),
        draft,
        errors,
        children: scope::children(&cx).await?,
        requests: super::mine(&cx).await?,
        relations: relations(),
    }))
}

pub async fn form(page: Page, Query(q): Query<FormQuery>) -> AppResult<Response> {
    let draft = Draft {
        code: q.code.unwrap_or_default(),
        relation: "52".into(),
        ..Draft::default()
    };
    form_page(&page, draft, FieldErrors::new(), q.done.as_deref()).await
}

#[derive(Deserialize)]
pub struct RequestForm {
    code: String,
    child_name: String,
    last4: String,
    relation: String,
}

pub async fn request(page: Page, CsrfForm(f): CsrfForm<RequestForm>) -> AppResult<Response> {
    match super::request(&page.cx(), &f.code, &f.child_name, &f.last4, &f.relation).await {
        Ok(_) => Ok(redirect("/bind?done=binding_requested")),
        Err(AppError::Invalid(errors)) => {
            let draft = Draft {
                code: f.code,
                child_name: f.child_name,
                last4: f.last4,
                relation: f.relation,
            };
            form_page(&page, draft, errors, None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct UnbindForm {
    student: String,
}

pub async fn unbind(page: Page, CsrfForm(f): CsrfForm<UnbindForm>) -> AppResult<Response> {
    let student = web::parse_id::<PersonId>(&f.student)?;
    let cx = page.cx();
    directory::roles::unbind_guardian(&cx, cx.actor.person_id, student).await?;
    Ok(redirect("/bind?done=unbound"))
}

#[derive(Template)]
#[template(path = "binding/class.html")]
struct ClassPage {
    ctx: PageCtx,
    class: NodeId,
    label: String,
    code: String,
    expires: DateTime<Utc>,
    qr: String,
    requests: Vec<Request>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn class_page(
    page: &Page,
    class: NodeId,
    renew: bool,
    done: Option<&str>,
) -> AppResult<Response> {
    let cx = page.cx();
    let (code, expires) = super::code(&cx, class, renew).await?;
    let url = format!("{}/bind?code={code}", cx.state.config.base_url());
    Ok(render(&ClassPage {
        ctx: page.ctx().with_notice(done),
        label: scope::label(cx.db(), class).await?.unwrap_or_default(),
        qr: identity::mfa::qr_svg(&url)?,
        requests: super::requests(&cx, class).await?,
        class,
        code,
        expires,
    }))
}

pub async fn class(
    page: Page,
    IdPath(class): IdPath<NodeId>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    class_page(&page, class, false, q.done.as_deref()).await
}

pub async fn renew(
    page: Page,
    IdPath(class): IdPath<NodeId>,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    super::code(&page.cx(), class, true).await?;
    Ok(redirect(&format!("/bind/class/{class}?done=code_renewed")))
}

#[derive(Deserialize)]
pub struct DecideForm {
    decision: String,
}

pub async fn decide(
    page: Page,
    axum::extract::Path(id): axum::extract::Path<String>,
    CsrfForm(f): CsrfForm<DecideForm>,
) -> AppResult<Response> {
    let id: uuid::Uuid = id
        .parse()
        .map_err(|_| AppError::NotFound("directory.class_not_found"))?;
    let approve = match f.decision.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(AppError::BadRequest("invalid_form")),
    };
    let class = super::decide(&page.cx(), id, approve).await?;
    Ok(redirect(&format!(
        "/bind/class/{class}?done=binding_decided"
    )))
}
