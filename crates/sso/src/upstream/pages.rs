//! The administrators' page for upstream providers (`/admin/upstream`).

use super::{
    LinkAttribute, Provider, ProviderInput, callback_url, create, list_managed, managed, update,
};
use crate::pages::{Done, admin_node};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::{AppError, AppResult, AppState, ProviderId};
use web::{CsrfForm, Page, PageCtx, Session, render};

#[derive(askama::Template)]
#[template(path = "upstream.html")]
struct ProvidersPage {
    ctx: PageCtx,
    providers: Vec<Provider>,
    /// The provider being edited, if any.
    editing: Option<ProviderId>,
    form: ProviderInput,
    error: Option<String>,
    callback: String,
    attributes: [&'static str; 3],
}

fn new_form() -> ProviderInput {
    ProviderInput {
        kind: "oidc".into(),
        token_auth: "client_secret_basic".into(),
        scopes: "openid profile".into(),
        subject_claim: "sub".into(),
        link_attribute: "id_number".into(),
        active: true,
        ..Default::default()
    }
}

async fn providers_page(
    state: &AppState,
    session: &Session,
    editing: Option<ProviderId>,
    form: ProviderInput,
    error: Option<String>,
    notice: Option<&str>,
) -> AppResult<Response> {
    let providers = list_managed(&state.db, &session.actor, admin_node(session)?).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        render(&ProvidersPage {
            ctx: PageCtx::for_session(session).with_notice(notice),
            providers,
            editing,
            form,
            error,
            callback: callback_url(state),
            attributes: LinkAttribute::ALL.map(LinkAttribute::as_str),
        }),
    )
        .into_response())
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    region_only(&session)?;
    providers_page(&state, &session, None, new_form(), None, q.done.as_deref()).await
}

/// Login through an upper-level provider is set up by a region (district, city, province), for
/// every school in it.
fn region_only(session: &Session) -> AppResult<()> {
    if session.actor.administers_region() {
        Ok(())
    } else {
        Err(kernel::AppError::Forbidden)
    }
}

fn problems(session: &Session, e: &kernel::FieldErrors) -> String {
    let ctx = PageCtx::for_session(session);
    e.0.iter()
        .map(|(f, k)| format!("{}：{}", ctx.t(&format!("upstream.{f}")), ctx.t(k)))
        .collect::<Vec<_>>()
        .join("；")
}

pub async fn create_form(page: Page, CsrfForm(f): CsrfForm<ProviderInput>) -> AppResult<Response> {
    let Page {
        state,
        session,
        meta,
    } = &page;
    region_only(session)?;
    let node = admin_node(session)?;
    match create(state, &session.actor, meta, node, &f).await {
        Ok(_) => Ok(Redirect::to("/admin/upstream?done=saved").into_response()),
        Err(AppError::Invalid(e)) => {
            let msg = problems(session, &e);
            providers_page(state, session, None, f, Some(msg), None).await
        }
        Err(e) => Err(e),
    }
}

pub async fn edit(
    State(state): State<AppState>,
    session: Session,
    web::IdPath(id): web::IdPath<ProviderId>,
) -> AppResult<Response> {
    let p = managed(&state.db, &session.actor, id).await?;
    providers_page(
        &state,
        &session,
        Some(id),
        ProviderInput::of(&p),
        None,
        None,
    )
    .await
}

pub async fn save(
    page: Page,
    web::IdPath(id): web::IdPath<ProviderId>,
    CsrfForm(f): CsrfForm<ProviderInput>,
) -> AppResult<Response> {
    let Page {
        state,
        session,
        meta,
    } = &page;
    match update(state, &session.actor, meta, id, &f).await {
        Ok(()) => Ok(Redirect::to("/admin/upstream?done=saved").into_response()),
        Err(AppError::Invalid(e)) => {
            let msg = problems(session, &e);
            providers_page(state, session, Some(id), f, Some(msg), None).await
        }
        Err(e) => Err(e),
    }
}
