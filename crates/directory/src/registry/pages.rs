//! Registry change pages: a student's registry (history, class change, leave / suspension /
//! return and the other changes), a node's transfers (a school's requests in and out with the
//! form to ask for a student, a region's requests waiting for it, a school's change records),
//! and one transfer request with its decisions.

use crate::model::Node;
use crate::nodes;
use crate::registry::kinds::{self, CLASS_CHANGE_KINDS, RECORDABLE_KINDS};
use crate::registry::transfers::{self, Decision, NewTransfer, TransferLists, TransferView};
use crate::registry::{self, ChangeRow, NewChange, StudentRegistry};
use askama::Template;
use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use kernel::paging::{PageQuery, Paged};
use kernel::{AppError, AppResult, AppState, FieldErrors, NodeId, PersonId, TransferId};
use serde::Deserialize;
use web::{CsrfForm, IdPath, Page, PageCtx, render};

pub fn routes() -> axum::Router<AppState> {
    axum::Router::new()
        .route("/people/{id}/registry", get(student))
        .route("/people/{id}/registry/class", post(class_change))
        .route("/people/{id}/registry/changes", post(record_change))
        .route("/admin/org/{id}/transfers", get(node_page).post(request))
        .route("/transfers/{id}", get(transfer))
        .route("/transfers/{id}/approve", post(approve))
        .route("/transfers/{id}/reject", post(reject))
        .route("/transfers/{id}/cancel", post(cancel))
}

/// The notice after a redirect (`?ok=…`), from a fixed list.
fn notice(ok: Option<&str>) -> Option<String> {
    let key = match ok? {
        "class_changed" => "registry.done_class_changed",
        "recorded" => "registry.done_recorded",
        "requested" => "registry.done_requested",
        "approved" => "registry.done_approved",
        "rejected" => "registry.done_rejected",
        "cancelled" => "registry.done_cancelled",
        _ => return None,
    };
    Some(key.to_owned())
}

/// Status and history labels shared by the templates.
trait Labels {
    fn page_ctx(&self) -> &PageCtx;
    fn status(&self, s: &str) -> String {
        self.page_ctx()
            .t(&format!("registry.status_{s}"))
            .to_owned()
    }
    fn history_reason(&self, s: &str) -> String {
        self.page_ctx()
            .t(&format!("registry.history_{s}"))
            .to_owned()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    effective_on: String,
    #[serde(default)]
    class_id: String,
    #[serde(default)]
    note: String,
}

impl ChangeForm {
    fn parse(&self) -> Result<NewChange, FieldErrors> {
        let mut errors = FieldErrors::new();
        let effective_on = match self.effective_on.trim() {
            "" => None,
            s => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.add("effective_on", "error.registry.effective_on_invalid");
                    None
                }
            },
        };
        let class_id = match self.class_id.trim() {
            "" => None,
            s => match s.parse::<NodeId>() {
                Ok(id) => Some(id),
                Err(_) => {
                    errors.add("class_id", "error.registry.class_not_in_school");
                    None
                }
            },
        };
        errors.into_result().map_err(|e| match e {
            AppError::Invalid(f) => f,
            _ => FieldErrors::new(),
        })?;
        Ok(NewChange {
            kind: self.kind.clone(),
            reason: Some(self.reason.clone()),
            effective_on,
            class_id,
            note: Some(self.note.clone()),
        })
    }
}

#[derive(Template)]
#[template(path = "registry/student.html")]
struct StudentPage {
    ctx: PageCtx,
    r: StudentRegistry,
    classes: Vec<(NodeId, String)>,
    class_kinds: Vec<(String, String)>,
    record_kinds: Vec<(String, String)>,
    reasons: Vec<(String, String)>,
    /// Which form the errors and the kept input belong to: "class" or "change".
    which: &'static str,
    form: ChangeForm,
    errors: FieldErrors,
    today: NaiveDate,
}

impl Labels for StudentPage {
    fn page_ctx(&self) -> &PageCtx {
        &self.ctx
    }
}

impl StudentPage {
    fn err(&self, which: &str, field: &str) -> Option<String> {
        (self.which == which)
            .then(|| self.ctx.field_error(&self.errors, field))
            .flatten()
    }
    fn kept<'a>(&'a self, which: &str, value: &'a str) -> &'a str {
        if self.which == which { value } else { "" }
    }
    fn is_current(&self, class: &NodeId) -> bool {
        self.r.class_id == Some(*class)
    }
    fn date(&self, which: &str) -> String {
        match self.kept(which, &self.form.effective_on) {
            "" => self.today.to_string(),
            s => s.to_owned(),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn student_page(
    page: &Page,
    id: PersonId,
    which: &'static str,
    form: ChangeForm,
    errors: FieldErrors,
    ok: Option<&str>,
) -> AppResult<StudentPage> {
    let cx = page.cx();
    let r = registry::student(&cx, id).await?;
    let classes = registry::classes_of(cx.db(), r.school_id).await?;
    let mut ctx = page.ctx();
    ctx.notice = notice(ok);
    Ok(StudentPage {
        ctx,
        r,
        classes,
        class_kinds: kinds::kinds(CLASS_CHANGE_KINDS),
        record_kinds: kinds::kinds(RECORDABLE_KINDS),
        reasons: kinds::reasons(),
        which,
        form,
        errors,
        today: cx.today(),
    })
}

#[derive(Deserialize)]
pub struct OkQuery {
    ok: Option<String>,
    page: Option<u32>,
}

pub async fn student(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    Query(q): Query<OkQuery>,
) -> AppResult<Response> {
    let page = student_page(
        &page,
        id,
        "",
        ChangeForm::default(),
        FieldErrors::new(),
        q.ok.as_deref(),
    )
    .await?;
    Ok(render(&page))
}

async fn change_submit(
    page: Page,
    id: PersonId,
    form: ChangeForm,
    which: &'static str,
) -> AppResult<Response> {
    let cx = page.cx();
    let result = match form.parse() {
        Ok(input) if which == "class" => match input.class_id {
            Some(class_id) => {
                registry::class_change(
                    &cx,
                    id,
                    registry::ClassChange {
                        class_id,
                        kind: Some(input.kind).filter(|k| !k.is_empty()),
                        effective_on: input.effective_on,
                        note: input.note,
                    },
                )
                .await
            }
            None => Err(AppError::field("class_id", "error.registry.class_required")),
        },
        Ok(input) => registry::record(&cx, id, input).await,
        Err(f) => Err(AppError::Invalid(f)),
    };
    match result {
        Ok(_) => {
            let ok = if which == "class" {
                "class_changed"
            } else {
                "recorded"
            };
            Ok(Redirect::to(&format!("/people/{id}/registry?ok={ok}")).into_response())
        }
        Err(AppError::Invalid(errors) | AppError::Conflict(_, errors)) if !errors.is_empty() => {
            let page = student_page(&page, id, which, form, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn class_change(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(form): CsrfForm<ChangeForm>,
) -> AppResult<Response> {
    change_submit(page, id, form, "class").await
}

pub async fn record_change(
    page: Page,
    IdPath(id): IdPath<PersonId>,
    CsrfForm(form): CsrfForm<ChangeForm>,
) -> AppResult<Response> {
    change_submit(page, id, form, "change").await
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RequestForm {
    #[serde(default)]
    registry_no: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    to_class_id: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    note: String,
}

#[derive(Template)]
#[template(path = "registry/transfers.html")]
struct NodePage {
    ctx: PageCtx,
    node: Node,
    is_school: bool,
    lists: TransferLists,
    records: Option<Paged<ChangeRow>>,
    classes: Vec<(NodeId, String)>,
    reasons: Vec<(String, String)>,
    form: RequestForm,
    errors: FieldErrors,
}

impl Labels for NodePage {
    fn page_ctx(&self) -> &PageCtx {
        &self.ctx
    }
}

impl NodePage {
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
    fn rows(&self, which: &str) -> &[transfers::Transfer] {
        match which {
            "incoming" => &self.lists.incoming,
            "outgoing" => &self.lists.outgoing,
            "waiting" => &self.lists.waiting,
            "at_schools" => &self.lists.at_schools,
            _ => &self.lists.recent,
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn node_page_for(
    req: &Page,
    id: NodeId,
    page: Option<u32>,
    form: RequestForm,
    errors: FieldErrors,
    ok: Option<&str>,
) -> AppResult<NodePage> {
    let cx = req.cx();
    let lists = transfers::for_node(&cx, id).await?;
    let node = nodes::get(&cx, id).await?;
    let is_school = node.kind.as_str() == "school";
    let (records, classes) = if is_school {
        (
            Some(
                registry::of_school(
                    &cx,
                    id,
                    &PageQuery {
                        page,
                        per_page: Some(30),
                    },
                )
                .await?,
            ),
            registry::classes_of(cx.db(), id).await?,
        )
    } else {
        (None, Vec::new())
    };
    let mut ctx = req.ctx();
    ctx.notice = notice(ok);
    Ok(NodePage {
        ctx,
        node,
        is_school,
        lists,
        records,
        classes,
        reasons: kinds::reasons(),
        form,
        errors,
    })
}

pub async fn node_page(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    Query(q): Query<OkQuery>,
) -> AppResult<Response> {
    let page = node_page_for(
        &page,
        id,
        q.page,
        RequestForm::default(),
        FieldErrors::new(),
        q.ok.as_deref(),
    )
    .await?;
    Ok(render(&page))
}

pub async fn request(
    page: Page,
    IdPath(id): IdPath<NodeId>,
    CsrfForm(form): CsrfForm<RequestForm>,
) -> AppResult<Response> {
    let cx = page.cx();
    let to_class_id = match form.to_class_id.trim() {
        "" => None,
        s => Some(s.parse::<NodeId>().unwrap_or(NodeId(uuid::Uuid::nil()))),
    };
    let input = NewTransfer {
        registry_no: form.registry_no.clone(),
        name: form.name.clone(),
        to_class_id,
        reason: form.reason.clone(),
        note: Some(form.note.clone()),
    };
    match transfers::request(&cx, id, input).await {
        Ok(t) => Ok(Redirect::to(&format!("/transfers/{}?ok=requested", t.id)).into_response()),
        Err(AppError::Invalid(errors) | AppError::Conflict(_, errors)) if !errors.is_empty() => {
            let page = node_page_for(&page, id, None, form, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "registry/transfer.html")]
struct TransferPage {
    ctx: PageCtx,
    v: TransferView,
    errors: FieldErrors,
    comment: String,
}

impl Labels for TransferPage {
    fn page_ctx(&self) -> &PageCtx {
        &self.ctx
    }
}

impl TransferPage {
    fn err(&self, field: &str) -> Option<String> {
        self.ctx.field_error(&self.errors, field)
    }
}

pub async fn transfer(
    page: Page,
    IdPath(id): IdPath<TransferId>,
    Query(q): Query<OkQuery>,
) -> AppResult<Response> {
    let cx = page.cx();
    let v = transfers::get(&cx, id).await?;
    let mut ctx = page.ctx();
    ctx.notice = notice(q.ok.as_deref());
    Ok(render(&TransferPage {
        ctx,
        v,
        errors: FieldErrors::new(),
        comment: String::new(),
    }))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    comment: String,
}

async fn decide(
    page: Page,
    id: TransferId,
    form: DecisionForm,
    action: &'static str,
) -> AppResult<Response> {
    let cx = page.cx();
    let d = Decision {
        comment: Some(form.comment.clone()),
    };
    let result = match action {
        "approved" => transfers::approve(&cx, id, d).await,
        "rejected" => transfers::reject(&cx, id, d).await,
        _ => transfers::cancel(&cx, id).await,
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/transfers/{id}?ok={action}")).into_response()),
        Err(e) if e.fields().is_some_and(|f| !f.is_empty()) => {
            let status = e.status();
            let errors = e.fields().cloned().unwrap_or_default();
            let v = transfers::get(&cx, id).await?;
            let page = TransferPage {
                ctx: page.ctx(),
                v,
                errors,
                comment: form.comment,
            };
            Ok((status, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn approve(
    page: Page,
    IdPath(id): IdPath<TransferId>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> AppResult<Response> {
    decide(page, id, form, "approved").await
}

pub async fn reject(
    page: Page,
    IdPath(id): IdPath<TransferId>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> AppResult<Response> {
    decide(page, id, form, "rejected").await
}

pub async fn cancel(
    page: Page,
    IdPath(id): IdPath<TransferId>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> AppResult<Response> {
    decide(page, id, form, "cancelled").await
}
