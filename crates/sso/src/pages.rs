//! The portal (every application a person may open, one click away) and the administrators'
//! page for connecting applications.

use crate::apps::{self, AppChanges, NewApplication, Registered};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use kernel::{AppError, AppResult, AppState, ApplicationId, NodeId, Role};
use serde::Deserialize;
use web::auth::url_encode;
use web::{CsrfForm, IdPath, Page, PageCtx, Session, render};

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
    #[serde(default)]
    release_registry_no: bool,
    #[serde(default)]
    role_admin: bool,
    #[serde(default)]
    role_teacher: bool,
    #[serde(default)]
    role_head_teacher: bool,
    #[serde(default)]
    role_student: bool,
    #[serde(default)]
    role_guardian: bool,
}

/// The roles ticked on a form (none: every role of the subtree), in [`ROLES`] order.
fn ticked(boxes: [bool; 5]) -> Vec<String> {
    ROLES
        .iter()
        .zip(boxes)
        .filter(|(_, on)| *on)
        .map(|(r, _)| (*r).to_owned())
        .collect()
}

impl AppForm {
    fn roles(&self) -> Vec<String> {
        ticked([
            self.role_admin,
            self.role_teacher,
            self.role_head_teacher,
            self.role_student,
            self.role_guardian,
        ])
    }
}

/// Every problem of a form, in the person's language, in one line.
fn problems(session: &Session, fields: &kernel::FieldErrors) -> String {
    let ctx = PageCtx::for_session(session);
    fields
        .0
        .iter()
        .map(|(_, k)| ctx.t(k).to_owned())
        .collect::<Vec<_>>()
        .join("；")
}

/// Roles an application may be limited to, for the forms' check boxes.
pub const ROLES: [&str; 5] = ["admin", "teacher", "head_teacher", "student", "guardian"];

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
    roles: &'static [&'static str],
}

async fn page_of(
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
        roles: &ROLES,
    }))
}

/// The node an administrator manages from the admin pages (their first admin grant).
pub(crate) fn admin_node(session: &Session) -> AppResult<NodeId> {
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
    page_of(&state, &session, node, form, None, None).await
}

pub async fn create(page: Page, CsrfForm(form): CsrfForm<AppForm>) -> AppResult<Response> {
    let Page {
        state,
        session,
        meta,
    } = &page;
    let node = match form.node_id.as_deref().filter(|s| !s.is_empty()) {
        Some(n) => n
            .parse::<NodeId>()
            .map_err(|_| AppError::NotFound("directory.node_not_found"))?,
        None => admin_node(session)?,
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
        allowed_roles: form.roles(),
        release_registry_no: form.release_registry_no,
        ..NewApplication::new(node, &form.protocol, &form.name)
    };
    match apps::register(state, &session.actor, meta, new).await {
        Ok(r) => {
            page_of(
                state,
                session,
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
            let msg = problems(session, &fields);
            page_of(state, session, node, form, Some(msg), None).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "app_edit.html")]
struct EditPage {
    ctx: PageCtx,
    app: apps::Application,
    error: Option<String>,
    /// A new secret, shown once.
    secret: Option<String>,
    roles: &'static [&'static str],
}

impl EditPage {
    fn allows(&self, role: &str) -> bool {
        self.app.allowed_roles.iter().any(|r| r == role)
    }
}

fn edit_page(
    session: &Session,
    app: apps::Application,
    error: Option<String>,
    secret: Option<String>,
    notice: Option<&str>,
) -> Response {
    render(&EditPage {
        ctx: PageCtx::for_session(session).with_notice(notice),
        app,
        error,
        secret,
        roles: &ROLES,
    })
}

/// `?done=…`: the notice after a change.
#[derive(Deserialize)]
pub struct Done {
    pub(crate) done: Option<String>,
}

pub async fn edit(
    State(state): State<AppState>,
    session: Session,
    IdPath(id): IdPath<ApplicationId>,
    axum::extract::Query(q): axum::extract::Query<Done>,
) -> AppResult<Response> {
    let app = apps::managed(&state.db, &session.actor, id).await?;
    Ok(edit_page(&session, app, None, None, q.done.as_deref()))
}

#[derive(Debug, Default, Deserialize)]
pub struct EditForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    icon_url: String,
    #[serde(default)]
    home_url: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
    #[serde(default)]
    service_prefix: String,
    #[serde(default)]
    trusted: bool,
    #[serde(default)]
    release_registry_no: bool,
    #[serde(default)]
    role_admin: bool,
    #[serde(default)]
    role_teacher: bool,
    #[serde(default)]
    role_head_teacher: bool,
    #[serde(default)]
    role_student: bool,
    #[serde(default)]
    role_guardian: bool,
}

pub async fn save(
    page: Page,
    IdPath(id): IdPath<ApplicationId>,
    CsrfForm(f): CsrfForm<EditForm>,
) -> AppResult<Response> {
    let Page {
        state,
        session,
        meta,
    } = &page;
    let app = apps::managed(&state.db, &session.actor, id).await?;
    let lines = |s: &str| s.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let cas = app.protocol == "cas";
    let ch = AppChanges {
        name: Some(f.name.clone()),
        description: Some(f.description.clone()),
        icon_url: Some(f.icon_url.clone()),
        home_url: Some(f.home_url.clone()),
        redirect_uris: (!cas).then(|| lines(&f.redirect_uris)),
        post_logout_redirect_uris: (!cas).then(|| lines(&f.post_logout_redirect_uris)),
        backchannel_logout_uri: (!cas).then(|| f.backchannel_logout_uri.clone()),
        service_prefix: cas.then(|| f.service_prefix.clone()),
        trusted: Some(f.trusted),
        release_registry_no: Some(f.release_registry_no),
        allowed_roles: Some(ticked([
            f.role_admin,
            f.role_teacher,
            f.role_head_teacher,
            f.role_student,
            f.role_guardian,
        ])),
        active: None,
    };
    match apps::update(state, &session.actor, meta, id, ch).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/apps/{id}?done=saved")).into_response()),
        Err(AppError::Invalid(fields)) => {
            let msg = problems(session, &fields);
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                edit_page(session, app, Some(msg), None, None),
            )
                .into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct ActiveForm {
    active: bool,
}

/// Deactivates or reactivates an application.
pub async fn set_active(
    page: Page,
    IdPath(id): IdPath<ApplicationId>,
    CsrfForm(f): CsrfForm<ActiveForm>,
) -> AppResult<Response> {
    let Page {
        state,
        session,
        meta,
    } = &page;
    let ch = AppChanges {
        active: Some(f.active),
        ..Default::default()
    };
    apps::update(state, &session.actor, meta, id, ch).await?;
    let done = if f.active {
        "reactivated"
    } else {
        "deactivated"
    };
    Ok(Redirect::to(&format!("/admin/apps/{id}?done={done}")).into_response())
}

/// A new client secret, shown once on the page.
pub async fn secret(
    page: Page,
    IdPath(id): IdPath<ApplicationId>,
    CsrfForm(_): CsrfForm<web::CsrfToken>,
) -> AppResult<Response> {
    let Page {
        state,
        session,
        meta,
    } = &page;
    let r = apps::new_secret(state, &session.actor, meta, id).await?;
    let app = apps::managed(&state.db, &session.actor, id).await?;
    Ok(edit_page(session, app, None, r.client_secret, None))
}
