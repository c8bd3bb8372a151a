//! Login and logout.

use super::safe_next;
use crate::auth::{SESSION_COOKIE, Session};
use crate::ctx::{LANG_COOKIE, PageCtx, render};
use crate::meta::Meta;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, http};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use identity::LoginError;
use kernel::{AppError, AppResult, AppState};
use serde::Deserialize;

/// Before login there is no session, so the login form's CSRF token is a double-submit cookie.
const PRE_CSRF_COOKIE: &str = "jy_login_csrf";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageCtx,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    /// Prefills the account name (an application's `login_hint`).
    username: Option<String>,
}

pub fn cookie<'a>(state: &AppState, name: &'a str, value: String, http_only: bool) -> Cookie<'a> {
    Cookie::build((name, value))
        .path("/")
        .http_only(http_only)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies)
        .build()
}

pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    let token = kernel::secret::random_token();
    let mut ctx = PageCtx::anonymous(&headers);
    ctx.csrf = token.clone();
    ctx.demo = state.config.demo;
    let page = LoginPage {
        ctx,
        next: safe_next(q.next.as_deref()).to_owned(),
        username: q.username.unwrap_or_default(),
        error: None,
    };
    (
        jar.add(cookie(&state, PRE_CSRF_COOKIE, token, true)),
        render(&page),
    )
        .into_response()
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Meta(meta): Meta,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let expected = jar
        .get(PRE_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !kernel::secret::constant_time_eq(&expected, &form.csrf) {
        return Err(AppError::Csrf);
    }
    let mut ctx = PageCtx::anonymous(&headers);
    ctx.demo = state.config.demo;
    if form.username.trim().is_empty() || form.password.is_empty() {
        ctx.csrf = expected;
        let page = LoginPage {
            error: Some(ctx.t("login.missing").to_owned()),
            ctx,
            next: form.next.unwrap_or_default(),
            username: form.username,
        };
        return Ok((http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)).into_response());
    }
    match identity::login(&state, &form.username, &form.password, &meta).await {
        Ok(out) => {
            let next = if out.must_change_password {
                "/profile/password".to_owned()
            } else {
                safe_next(form.next.as_deref()).to_owned()
            };
            // A new session token on every login: a token planted before login is worthless.
            let jar = jar
                .remove(Cookie::build(PRE_CSRF_COOKIE).path("/"))
                .add(cookie(&state, SESSION_COOKIE, out.token, true))
                .add(cookie(&state, LANG_COOKIE, out.locale, false));
            Ok((jar, Redirect::to(&next)).into_response())
        }
        Err(LoginError::InvalidCredentials) => {
            ctx.csrf = expected;
            let page = LoginPage {
                error: Some(ctx.t("login.failed").to_owned()),
                ctx,
                next: form.next.unwrap_or_default(),
                username: form.username,
            };
            Ok((http::StatusCode::UNAUTHORIZED, render(&page)).into_response())
        }
        Err(LoginError::Other(e)) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    session: Session,
    jar: CookieJar,
    Meta(meta): Meta,
    Form(form): Form<CsrfForm>,
) -> AppResult<Response> {
    session.verify_csrf(&form.csrf)?;
    identity::login::logout(&state, &session.actor, session.session_id, &meta).await?;
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}
