//! The portal (every application a person may open, one click away) and the administrators'
//! page for connecting applications.

use crate::apps::{self, NewApplication, Registered};
use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::response::Response;
use kernel::{AppError, AppResult, AppState, NodeId, Role};
use serde::Deserialize;
use web::auth::url_encode;
use web::{Meta, PageCtx, Session, render};

struct Tile {
    name: String,
    description: String,
    icon: Option<String>,
    url: String,
}

#[derive(Template)]
#[template(path = "portal.html")]
struct PortalPage {
    ctx: PageCtx,
    /// The platform's own modules: (i18n key, address).
    modules: Vec<(&'static str, &'static str)>,
    apps: Vec<Tile>,
}

pub async fn portal(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    let mut modules = vec![("nav.home", "/"), ("profile.title", "/profile")];
    if session.actor.has_role(Role::Teacher) || session.actor.has_role(Role::HeadTeacher) {
        modules.push(("nav.classes", "/classes"));
    }
    if session.actor.has_role(Role::Admin) {
        modules.extend([
            ("nav.org", "/admin/org"),
            ("nav.people", "/admin/people"),
            ("nav.audit", "/admin/audit"),
        ]);
    }
    let apps = apps::usable_by(&state.db, &session.actor)
        .await?
        .into_iter()
        .filter_map(|a| {
            let home = a.home_url.clone().or_else(|| a.service_prefix.clone())?;
            // A CAS service is entered through the CAS login, which sees the portal session
            // and hands out a ticket; an OIDC application starts its own (silent) login.
            let url = if a.protocol == "cas" {
                format!("/cas/login?service={}", url_encode(&home))
            } else {
                home
            };
            Some(Tile {
                name: a.name,
                description: a.description,
                icon: a.icon_url,
                url,
            })
        })
        .collect();
    Ok(render(&PortalPage {
        ctx: PageCtx::for_session(&session),
        modules,
        apps,
    }))
}

#[derive(Debug, Default, Deserialize)]
pub struct AppForm {
    #[serde(default)]
    csrf: String,
    node_id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    protocol: String,
    #[serde(default)]
    home_url: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
    #[serde(default)]
    service_prefix: String,
    #[serde(default)]
    trusted: bool,
}

#[derive(Template)]
#[template(path = "apps.html")]
struct AppsPage {
    ctx: PageCtx,
    node_id: NodeId,
    apps: Vec<apps::Application>,
    form: AppForm,
    error: Option<String>,
    registered: Option<Registered>,
    issuer: String,
}

async fn page(
    state: &AppState,
    session: &Session,
    node: NodeId,
    form: AppForm,
    error: Option<String>,
    registered: Option<Registered>,
) -> AppResult<Response> {
    let apps = apps::list_managed(&state.db, &session.actor, node).await?;
    Ok(render(&AppsPage {
        ctx: PageCtx::for_session(session),
        node_id: node,
        apps,
        form,
        error,
        registered,
        issuer: state.config.base_url(),
    }))
}

fn admin_node(session: &Session) -> AppResult<NodeId> {
    session
        .actor
        .admin_nodes()
        .first()
        .copied()
        .ok_or(AppError::Forbidden)
}

pub async fn list(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    let node = admin_node(&session)?;
    let form = AppForm {
        protocol: "oidc".into(),
        ..Default::default()
    };
    page(&state, &session, node, form, None, None).await
}

pub async fn create(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    Form(form): Form<AppForm>,
) -> AppResult<Response> {
    session.verify_csrf(&form.csrf)?;
    let node = match form.node_id.as_deref().filter(|s| !s.is_empty()) {
        Some(n) => n
            .parse::<NodeId>()
            .map_err(|_| AppError::NotFound("directory.node_not_found"))?,
        None => admin_node(&session)?,
    };
    let opt = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let new = NewApplication {
        home_url: opt(&form.home_url),
        redirect_uris: form
            .redirect_uris
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        backchannel_logout_uri: opt(&form.backchannel_logout_uri),
        service_prefix: opt(&form.service_prefix),
        trusted: form.trusted,
        ..NewApplication::new(node, &form.protocol, &form.name)
    };
    match apps::register(&state, &session.actor, &meta, new).await {
        Ok(r) => {
            page(
                &state,
                &session,
                node,
                AppForm {
                    protocol: "oidc".into(),
                    ..Default::default()
                },
                None,
                Some(r),
            )
            .await
        }
        Err(AppError::Invalid(fields)) => {
            let ctx = PageCtx::for_session(&session);
            let msg = fields
                .0
                .iter()
                .map(|(_, k)| ctx.t(k).to_owned())
                .collect::<Vec<_>>()
                .join("；");
            page(&state, &session, node, form, Some(msg), None).await
        }
        Err(e) => Err(e),
    }
}
