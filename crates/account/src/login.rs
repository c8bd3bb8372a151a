//! Login and logout.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, http};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use chrono::{DateTime, Utc};
use identity::LoginError;
use identity::login::MfaError;
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;
use web::CsrfForm;
use web::auth::{SESSION_COOKIE, Session};
use web::ctx::{LANG_COOKIE, PageCtx, render};
use web::meta::Meta;
use web::pages::safe_next;
use web::{CsrfToken, cookie};

/// Before login there is no session, so the login form's CSRF token is a double-submit cookie.
pub(super) const PRE_CSRF_COOKIE: &str = "jy_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    next: String,
    username: String,
    error: Option<String>,
    /// Upstream identity providers people may log in through: (id, name).
    upstream: Vec<(kernel::ProviderId, String)>,
    /// Passwordless login with a passkey is offered (WebAuthn works at this address).
    passkeys: bool,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// Prefills the account name (an application's `login_hint`).
    username: Option<String>,
    /// The languages an application asks the page in (OIDC `ui_locales`, space-separated, in
    /// order of preference); the visitor's own choice (the language cookie) comes first.
    ui_locales: Option<String>,
    /// A pending second-factor login ran out (too many wrong codes, or too slow).
    again: Option<String>,
    /// A login through an upstream provider was refused: the message key's last part.
    upstream_error: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let token = kernel::secret::random_token();
    let mut ctx = PageCtx::anonymous(&headers);
    ctx.csrf = token.clone();
    ctx.demo = state.config.demo;
    if web::ctx::cookie_in(&headers, LANG_COOKIE).is_none()
        && let Some(l) = q
            .ui_locales
            .as_deref()
            .and_then(|l| l.split(' ').find_map(kernel::Locale::parse))
    {
        ctx.locale = l;
    }
    let error = match (&q.again, &q.upstream_error) {
        (Some(_), _) => Some(ctx.t("mfa.start_again").to_owned()),
        // Only known keys are shown: the query cannot put text on the page.
        (None, Some(e)) => Some(e)
            .filter(|e| e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .map(|e| ctx.t(&format!("login.upstream_{e}")).to_owned()),
        (None, None) => None,
    };
    let page = LoginPage {
        next: safe_next(q.next.as_deref()).to_owned(),
        username: q.username.unwrap_or_default(),
        error,
        upstream: identity::federation::login_choices(&state.db).await?,
        passkeys: identity::passkey::relying_party(&state).is_some(),
        ctx,
    };
    Ok((
        jar.add(cookie(&state, PRE_CSRF_COOKIE, token, true)),
        render(&page),
    )
        .into_response())
}

/// Checks a form's token against the double-submit cookie (there is no session yet); returns it.
pub(super) fn pre_login_csrf(jar: &CookieJar, submitted: &str) -> AppResult<String> {
    let expected = jar
        .get(PRE_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !kernel::secret::constant_time_eq(&expected, submitted) {
        return Err(AppError::Csrf);
    }
    Ok(expected)
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
    /// "Keep me signed in on this device".
    remember: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Meta(meta): Meta,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let expected = pre_login_csrf(&jar, &form.csrf)?;
    let mut ctx = PageCtx::anonymous(&headers);
    ctx.demo = state.config.demo;
    if form.username.trim().is_empty() || form.password.is_empty() {
        ctx.csrf = expected;
        let page = LoginPage {
            error: Some(ctx.t("login.missing").to_owned()),
            ctx,
            next: form.next.unwrap_or_default(),
            username: form.username,
            upstream: identity::federation::login_choices(&state.db).await?,
            passkeys: identity::passkey::relying_party(&state).is_some(),
        };
        return Ok((http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    let refuse = async |ctx: PageCtx, status, message: String| -> AppResult<Response> {
        let mut ctx = ctx;
        ctx.csrf = expected.clone();
        let page = LoginPage {
            error: Some(message),
            ctx,
            next: form.next.clone().unwrap_or_default(),
            username: form.username.clone(),
            upstream: identity::federation::login_choices(&state.db).await?,
            passkeys: identity::passkey::relying_party(&state).is_some(),
        };
        Ok((status, render(&page)).into_response())
    };
    match identity::login::verify_account(&state, &form.username, &form.password, &meta).await {
        Ok(mut v) => {
            v.remember = form.remember.is_some();
            let next = safe_next(form.next.as_deref()).to_owned();
            let jar = jar.remove(Cookie::build(PRE_CSRF_COOKIE).path("/"));
            finish(&state, jar, &v, "pwd", &meta, &next).await
        }
        Err(LoginError::InvalidCredentials) => {
            let m = ctx.t("login.failed").to_owned();
            refuse(ctx, http::StatusCode::UNAUTHORIZED, m).await
        }
        Err(LoginError::Throttled(until)) => {
            let m = wait_message(&ctx, until, state.clock.now());
            refuse(ctx, http::StatusCode::TOO_MANY_REQUESTS, m).await
        }
        Err(LoginError::Other(e)) => Err(e),
    }
}

/// Completes a verified login (by password, or through an upstream provider): on to the second
/// factor if the person has one, otherwise into a new session and on to `next` (a local path).
pub async fn finish(
    state: &AppState,
    jar: CookieJar,
    v: &identity::login::Verified,
    amr: &str,
    meta: &kernel::RequestMeta,
    next: &str,
) -> AppResult<Response> {
    if v.account.second_factor {
        let token = identity::login::await_second_factor(state, v, next).await?;
        let jar = jar.add(cookie(state, MFA_COOKIE, token, true));
        return Ok((jar, Redirect::to("/login/mfa")).into_response());
    }
    let out = identity::login::open_session(state, v, amr, meta).await?;
    Ok(signed_in(state, jar, out, next))
}

/// "Too many attempts; try again in N minutes" (the same for every account name).
pub(super) fn wait_message(ctx: &PageCtx, until: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = ((until - now).num_seconds().max(1) + 59) / 60;
    ctx.tf("login.throttled", &[("minutes", &minutes.to_string())])
}

/// Sets the session cookie of a completed login and goes on (to the password form first when
/// the password must change).
pub(super) fn signed_in(
    state: &AppState,
    jar: CookieJar,
    out: identity::LoginOutcome,
    next: &str,
) -> Response {
    let next = if out.must_change_password {
        "/profile/password"
    } else {
        next
    };
    // A new session token on every login: a token planted before login is worthless. A
    // remembered session's cookie outlives the browser as long as the session lasts.
    let mut session = cookie(state, SESSION_COOKIE, out.token, true);
    if let Some(days) = out.remembered_days {
        session.set_max_age(::cookie::time::Duration::days(i64::from(days)));
    }
    let jar = jar
        .remove(Cookie::build(MFA_COOKIE).path("/"))
        .add(session)
        .add(cookie(state, LANG_COOKIE, out.locale, false));
    (jar, web::redirect(next)).into_response()
}

/// The pending login waiting for its second factor.
pub(super) const MFA_COOKIE: &str = "jy_mfa";

#[derive(Template)]
#[template(path = "login_mfa.html")]
struct MfaPage {
    ctx: PageCtx,
    error: Option<String>,
    /// Which second factors the person has: passkeys, an authenticator app (and its codes).
    passkey: bool,
    totp: bool,
}

impl MfaPage {
    async fn new(
        state: &AppState,
        ctx: PageCtx,
        person: Option<kernel::PersonId>,
        error: Option<String>,
    ) -> AppResult<Self> {
        let (passkey, totp) = match person {
            Some(p) => (
                identity::passkey::relying_party(state).is_some()
                    && identity::passkey::has_any(&state.db, p).await?,
                identity::mfa::totp_of(&state.db, p)
                    .await?
                    .is_some_and(|t| t.confirmed_at.is_some()),
            ),
            None => (false, true),
        };
        Ok(Self {
            ctx,
            error,
            passkey,
            // Without a passkey the code form is always there (recovery codes).
            totp: totp || !passkey,
        })
    }
}

pub async fn mfa_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> AppResult<Response> {
    let token = jar
        .get(MFA_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let Some(person) = identity::login::pending_person(&state, &token).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let csrf = kernel::secret::random_token();
    let mut ctx = PageCtx::anonymous(&headers);
    ctx.csrf = csrf.clone();
    let page = MfaPage::new(&state, ctx, Some(person), None).await?;
    Ok((
        jar.add(cookie(&state, PRE_CSRF_COOKIE, csrf, true)),
        render(&page),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct MfaForm {
    code: String,
    csrf: String,
}

pub async fn mfa_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Meta(meta): Meta,
    Form(form): Form<MfaForm>,
) -> AppResult<Response> {
    let expected = pre_login_csrf(&jar, &form.csrf)?;
    let token = jar
        .get(MFA_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let mut ctx = PageCtx::anonymous(&headers);
    ctx.csrf = expected;
    let again = async |ctx: PageCtx, status, key: String| -> AppResult<Response> {
        let person = identity::login::pending_person(&state, &token).await?;
        let page = MfaPage::new(&state, ctx, person, Some(key)).await?;
        Ok((status, render(&page)).into_response())
    };
    match identity::login::second_factor(&state, &token, &form.code, &meta).await {
        Ok((out, next)) => Ok(signed_in(
            &state,
            jar.remove(Cookie::build(PRE_CSRF_COOKIE).path("/")),
            out,
            safe_next(Some(&next)),
        )),
        Err(MfaError::Wrong { retry: true }) => {
            let m = ctx.t("mfa.wrong_code").to_owned();
            again(ctx, http::StatusCode::UNAUTHORIZED, m).await
        }
        Err(MfaError::Wrong { retry: false } | MfaError::Expired) => {
            let jar = jar.remove(Cookie::build(MFA_COOKIE).path("/"));
            Ok((jar, Redirect::to("/login?again=1")).into_response())
        }
        Err(MfaError::Throttled(until)) => {
            let m = wait_message(&ctx, until, state.clock.now());
            again(ctx, http::StatusCode::TOO_MANY_REQUESTS, m).await
        }
        Err(MfaError::Other(e)) => Err(e),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    jar: CookieJar,
    Meta(meta): Meta,
    CsrfForm(_): CsrfForm<CsrfToken>,
) -> AppResult<Response> {
    identity::login::logout(&state, &session.actor, session.session_id, &meta).await?;
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}
