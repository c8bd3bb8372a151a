//! The consent page: which application asks for what, allow or deny. Shown once per
//! application and scope set; trusted applications skip it.

use super::authorize::{AuthRequest, back_for};
use crate::apps::{self, Application};
use askama::Template;
use axum::extract::Form;
use axum::response::Response;
use kernel::audit::{self, AuditEvent, Who};
use kernel::{AppError, AppResult, AppState, on_db};
use web::{Page, PageCtx, Session, render};

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage {
    ctx: PageCtx,
    heading: String,
    scopes: Vec<String>,
    params: Vec<(String, String)>,
}

pub async fn page_of(
    state: &AppState,
    session: &Session,
    app: &Application,
    req: &AuthRequest,
    scope: &str,
) -> AppResult<Response> {
    let ctx = PageCtx::for_session(session);
    let heading = ctx.tf("consent.heading", &[("app", app.name.as_str())]);
    let mut scopes: Vec<String> = scope
        .split(' ')
        .filter(|s| *s != "openid")
        .map(|s| format!("scope.{s}"))
        .collect();
    // The registry number is named on its own when this application will receive it.
    if scope.split(' ').any(|s| s == "edu") && apps::releases_numbers(state, app).await? {
        scopes.push("scope.registry_no".to_owned());
    }
    let page = ConsentPage {
        heading,
        scopes,
        params: req
            .params
            .iter()
            .filter(|(k, _)| k.as_str() != "prompt")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        ctx,
    };
    Ok(render(&page))
}

pub async fn submit(page: Page, Form(pairs): Form<Vec<(String, String)>>) -> AppResult<Response> {
    let Page {
        state,
        session,
        meta,
    } = &page;
    let mut rest = Vec::new();
    let (mut csrf, mut decision) = (String::new(), String::new());
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => csrf = v,
            "decision" => decision = v,
            _ => rest.push((k, v)),
        }
    }
    session.verify_csrf(&csrf)?;
    let req =
        AuthRequest::parse(rest).map_err(|_| AppError::BadRequest("sso.repeated_parameter"))?;
    let app = match req.get("client_id") {
        Some(c) => apps::by_client_id(&state.db, c).await?,
        None => None,
    }
    .ok_or(AppError::BadRequest("sso.unknown_client"))?;
    let back =
        back_for(state, &app, &req).ok_or(AppError::BadRequest("sso.redirect_uri_mismatch"))?;
    if !apps::may_use(&state.db, &app, &session.actor).await? {
        return Err(AppError::Forbidden);
    }
    let scope = req.get("scope").unwrap_or("").to_owned();
    let now = state.clock.now();
    if decision != "allow" {
        audit::record_alone(
            &state.db,
            now,
            Who::from(&session.actor),
            meta,
            AuditEvent::new("sso.consent_denied")
                .object("application", app.id)
                .node(app.node_id),
        )
        .await?;
        return Ok(back.error("access_denied", "the person declined"));
    }
    // Remember the consent, then go through the full checks again.
    on_db!(&state.db, p => sqlx::query(
        "INSERT INTO oauth_consents (person_id, application_id, scope, granted_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (person_id, application_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
    ).bind(session.actor.person_id).bind(app.id).bind(&scope).bind(now).execute(p).await.map(|r| r.rows_affected()))?;
    audit::record_alone(
        &state.db,
        now,
        Who::from(&session.actor),
        meta,
        AuditEvent::new("sso.consent_granted")
            .object("application", app.id)
            .node(app.node_id)
            .detail(serde_json::json!({ "scope": scope })),
    )
    .await?;
    let pairs: Vec<(String, String)> = req.params.into_iter().collect();
    super::authorize::authorize(state, Some(session.clone()), meta, pairs).await
}
