//! The profile: who I am, my roles, my password, my language, my sessions.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use identity::sessions::SessionSummary;
use kernel::audit::{self, AuditEvent, Who};
use kernel::{AppError, AppResult, AppState, FieldErrors};
use serde::Deserialize;
use web::CsrfForm;
use web::CsrfToken;
use web::auth::Session;
use web::ctx::{PageCtx, render};
use web::meta::Meta;

#[derive(Template)]
#[template(path = "profile.html")]
struct ProfilePage {
    ctx: PageCtx,
    username: String,
    roles: Vec<String>,
    sessions: Vec<SessionSummary>,
    logins: Vec<identity::login::LoginEvent>,
    current: kernel::SessionId,
    /// Accounts at upstream providers linked to this person: (provider, subject, linked at).
    links: Vec<(String, String, chrono::DateTime<chrono::Utc>)>,
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    session: Session,
    Query(n): Query<Notice>,
) -> AppResult<Response> {
    let ctx = PageCtx::for_session(&session).with_notice(n.done.as_deref());
    let account = identity::accounts::find_by_person(&state.db, session.actor.person_id).await?;
    let roles = session
        .actor
        .grants
        .iter()
        .map(|g| ctx.t(&format!("role.{}", g.role.as_str())).to_owned())
        .collect();
    let sessions =
        identity::sessions::list_live(&state.db, session.actor.person_id, state.clock.now())
            .await?;
    let logins = identity::login::recent_logins(&state, session.actor.person_id, 10).await?;
    let page = ProfilePage {
        username: account.map(|a| a.username).unwrap_or_default(),
        roles,
        sessions,
        logins,
        current: session.session_id,
        links: identity::federation::links_of(&state.db, session.actor.person_id).await?,
        ctx,
    };
    Ok(render(&page))
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    ctx: PageCtx,
    forced: bool,
    /// The rules of the person's policy, in words.
    rules: String,
    errors: FieldErrors,
}

async fn password_page(
    state: &AppState,
    session: &Session,
    errors: FieldErrors,
) -> AppResult<PasswordPage> {
    let ctx = PageCtx::for_session(session);
    let p = identity::policy::effective(state, session.actor.org_id).await?;
    let key = match p.profile {
        identity::policy::Profile::Mlps => "profile.password_rules",
        identity::policy::Profile::Modern => "profile.password_rules_modern",
    };
    Ok(PasswordPage {
        rules: ctx.tf(key, &[("n", &p.min_length.to_string())]),
        forced: session.actor.must_change_password,
        ctx,
        errors,
    })
}

pub async fn password_form(State(state): State<AppState>, session: Session) -> AppResult<Response> {
    Ok(render(
        &password_page(&state, &session, FieldErrors::new()).await?,
    ))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> AppResult<Response> {
    let result = if form.new_password != form.confirm_password {
        Err(AppError::field(
            "confirm_password",
            "error.password_mismatch",
        ))
    } else {
        identity::login::change_password(
            &state,
            &session.actor,
            Some(session.session_id),
            &form.current_password,
            &form.new_password,
            &meta,
        )
        .await
    };
    match result {
        Ok(()) => Ok(Redirect::to("/profile?done=password_changed").into_response()),
        Err(AppError::Invalid(errors)) => {
            let page = password_page(&state, &session, errors).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response())
        }
        Err(e) => Err(e),
    }
}

/// "Log out everywhere else".
pub async fn end_other_sessions(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let n = identity::sessions::end_all(
        &mut tx,
        session.actor.person_id,
        Some(session.session_id),
        "ended_by_user",
        now,
    )
    .await?;
    audit::record(
        &mut tx,
        now,
        Who::from(&session.actor),
        &meta,
        AuditEvent::new("auth.sessions_ended")
            .object("person", session.actor.person_id)
            .node(session.actor.org_id)
            .detail(serde_json::json!({ "sessions_ended": n })),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/profile?done=sessions_ended").into_response())
}
