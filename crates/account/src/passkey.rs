//! Passkeys in the browser: registering one on the profile, using one as the second step of a
//! login, and logging in with one alone. The WebAuthn calls need JavaScript
//! (`/static/passkey.js`), so these endpoints speak JSON: `begin` hands out the options and a
//! ceremony token, `finish` takes the browser's answer. Errors are `{"error": message}` in the
//! person's language.

use crate::login::{MFA_COOKIE, PRE_CSRF_COOKIE, pre_login_csrf, signed_in};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use identity::LoginError;
use identity::login::MfaError;
use identity::passkey::{self, PublicKeyCredential, RegisterPublicKeyCredential};
use kernel::audit::{self, AuditEvent, Who};
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;
use serde_json::json;
use web::CsrfForm;
use web::auth::Session;
use web::ctx::PageCtx;
use web::meta::Meta;

pub const SCRIPT: &str = include_str!("../static/passkey.js");

fn refuse(ctx: &PageCtx, status: StatusCode, key: &str) -> Response {
    (status, Json(json!({ "error": ctx.t(key) }))).into_response()
}

fn begun<T: serde::Serialize>(options: T, token: String) -> Response {
    Json(json!({ "token": token, "options": options })).into_response()
}

#[derive(Deserialize)]
pub struct Begin {
    csrf: String,
}

/// Options for registering a new passkey on the signed-in person's account.
pub async fn register_begin(
    State(state): State<AppState>,
    session: Session,
    Json(b): Json<Begin>,
) -> AppResult<Response> {
    session.verify_csrf(&b.csrf)?;
    let ctx = PageCtx::for_session(&session);
    let person = session.actor.person_id;
    let Some(account) = identity::accounts::find_by_person(&state.db, person).await? else {
        return Err(AppError::Forbidden);
    };
    match passkey::begin_registration(&state, person, &account.username, &session.actor.name).await
    {
        Ok((options, token)) => Ok(begun(options, token)),
        Err(AppError::Invalid(e)) => Ok(refuse(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            e.get("passkey").unwrap_or("error.identity.passkey_failed"),
        )),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct RegisterFinish {
    csrf: String,
    token: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// Stores the new passkey; this session now counts as two-factor (the person just proved they
/// hold the authenticator).
pub async fn register_finish(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    Json(f): Json<RegisterFinish>,
) -> AppResult<Response> {
    session.verify_csrf(&f.csrf)?;
    let ctx = PageCtx::for_session(&session);
    let person = session.actor.person_id;
    let name = match f.name.trim() {
        "" => ctx.t("passkey.default_name"),
        n => n,
    };
    let (mut tx, id) =
        match passkey::finish_registration(&state, person, &f.token, name, &f.credential).await {
            Ok(x) => x,
            Err(AppError::Invalid(e)) => {
                let key = e.get("passkey").unwrap_or("error.identity.passkey_failed");
                return Ok(refuse(&ctx, StatusCode::UNPROCESSABLE_ENTITY, key));
            }
            Err(e) => return Err(e),
        };
    if !identity::sessions::is_multi_factor(&session.amr) {
        let amr = identity::sessions::with_method(&session.amr, "hwk", true);
        identity::sessions::set_amr(&mut tx, session.session_id, &amr).await?;
    }
    let detail = json!({ "passkey": id.to_string(), "name": name });
    audited(
        &state,
        &session,
        &meta,
        &mut tx,
        "auth.passkey_added",
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Json(json!({ "redirect": "/profile/mfa?done=passkey_added" })).into_response())
}

/// Records a change to the signed-in person's passkeys.
async fn audited(
    state: &AppState,
    session: &Session,
    meta: &kernel::RequestMeta,
    tx: &mut kernel::Tx,
    action: &'static str,
    detail: serde_json::Value,
) -> AppResult<()> {
    let ev = AuditEvent::new(action)
        .object("person", session.actor.person_id)
        .node(session.actor.org_id)
        .detail(detail);
    let who = Who::from(&session.actor);
    audit::record(tx, state.clock.now(), who, meta, ev).await
}

#[derive(Deserialize)]
pub struct RemoveForm {
    id: uuid::Uuid,
}

/// Removes one of the person's passkeys.
pub async fn remove(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    CsrfForm(f): CsrfForm<RemoveForm>,
) -> AppResult<Response> {
    let person = session.actor.person_id;
    let mut tx = state.db.begin().await?;
    if !passkey::remove(&mut tx, person, f.id).await? {
        return Err(AppError::NotFound("identity.passkey_not_found"));
    }
    let detail = json!({ "passkey": f.id.to_string() });
    audited(
        &state,
        &session,
        &meta,
        &mut tx,
        "auth.passkey_removed",
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to("/profile/mfa?done=passkey_removed").into_response())
}

/// Options for the second step of a pending login, with one of the person's passkeys.
pub async fn second_begin(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Json(b): Json<Begin>,
) -> AppResult<Response> {
    pre_login_csrf(&jar, &b.csrf)?;
    let ctx = PageCtx::anonymous(&headers);
    let token = jar
        .get(MFA_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let person = identity::login::pending_person(&state, &token).await?;
    let begun_ = match person {
        Some(p) => passkey::begin_second_factor(&state, p).await?,
        None => None,
    };
    Ok(match begun_ {
        Some((options, t)) => begun(options, t),
        None => refuse(&ctx, StatusCode::CONFLICT, "mfa.start_again"),
    })
}

#[derive(Deserialize)]
pub struct AssertionFinish {
    csrf: String,
    token: String,
    credential: PublicKeyCredential,
    #[serde(default)]
    next: Option<String>,
}

/// Completes a pending login with a passkey.
pub async fn second_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Meta(meta): Meta,
    Json(f): Json<AssertionFinish>,
) -> AppResult<Response> {
    pre_login_csrf(&jar, &f.csrf)?;
    let ctx = PageCtx::anonymous(&headers);
    let pending = jar
        .get(MFA_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    match identity::login::passkey_second_factor(&state, &pending, &f.token, &f.credential, &meta)
        .await
    {
        Ok((out, next)) => {
            let jar = jar.remove(Cookie::build(PRE_CSRF_COOKIE).path("/"));
            Ok(as_json(signed_in(
                &state,
                jar,
                out,
                web::pages::safe_next(Some(&next)),
            )))
        }
        Err(MfaError::Wrong { retry: true }) => Ok(refuse(
            &ctx,
            StatusCode::UNAUTHORIZED,
            "error.identity.passkey_failed",
        )),
        Err(MfaError::Wrong { retry: false } | MfaError::Expired) => {
            let jar = jar.remove(Cookie::build(MFA_COOKIE).path("/"));
            Ok((jar, Json(json!({ "redirect": "/login?again=1" }))).into_response())
        }
        Err(MfaError::Throttled(_)) => Ok(refuse(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "error.identity.passkey_failed",
        )),
        Err(MfaError::Other(e)) => Err(e),
    }
}

/// Options for a passwordless login with any discoverable passkey of this site.
pub async fn login_begin(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Json(b): Json<Begin>,
) -> AppResult<Response> {
    pre_login_csrf(&jar, &b.csrf)?;
    let ctx = PageCtx::anonymous(&headers);
    match passkey::begin_passwordless(&state).await {
        Ok((options, token)) => Ok(begun(options, token)),
        Err(AppError::Invalid(_)) => Ok(refuse(
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            "error.identity.passkey_unavailable",
        )),
        Err(e) => Err(e),
    }
}

/// Completes a passwordless login.
pub async fn login_finish(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Meta(meta): Meta,
    Json(f): Json<AssertionFinish>,
) -> AppResult<Response> {
    pre_login_csrf(&jar, &f.csrf)?;
    let ctx = PageCtx::anonymous(&headers);
    match identity::login::passwordless(&state, &f.token, &f.credential, &meta).await {
        Ok(out) => {
            let jar = jar.remove(Cookie::build(PRE_CSRF_COOKIE).path("/"));
            let next = web::pages::safe_next(f.next.as_deref()).to_owned();
            Ok(as_json(signed_in(&state, jar, out, &next)))
        }
        Err(LoginError::InvalidCredentials | LoginError::Throttled(_)) => Ok(refuse(
            &ctx,
            StatusCode::UNAUTHORIZED,
            "error.identity.passkey_failed",
        )),
        Err(LoginError::Other(e)) => Err(e),
    }
}

/// A redirect (with its cookies) turned into `{"redirect": …}` for the script to follow.
fn as_json(r: Response) -> Response {
    let (mut parts, _) = r.into_parts();
    let to = parts
        .headers
        .remove(axum::http::header::LOCATION)
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_else(|| "/".to_owned());
    parts.status = StatusCode::OK;
    let body = Json(json!({ "redirect": to })).into_response().into_body();
    let mut out = Response::from_parts(parts, body);
    out.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/json"),
    );
    out
}
