//! The language switch, remembered in a cookie and, for a signed-in person, on their account.

use super::cookie;
use super::safe_next;
use crate::auth::{Session, SessionRejection};
use crate::ctx::LANG_COOKIE;
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use kernel::{AppError, AppResult, AppState, Locale};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct LangForm {
    lang: String,
    next: Option<String>,
    csrf: Option<String>,
}

/// Anonymous visitors may switch freely (nothing is stored but a cookie); a signed-in person's
/// choice is saved on the account after the CSRF check.
pub async fn switch(
    State(state): State<AppState>,
    session: Result<Session, SessionRejection>,
    jar: CookieJar,
    headers: axum::http::HeaderMap,
    Form(form): Form<LangForm>,
) -> AppResult<Response> {
    let locale =
        Locale::parse(&form.lang).ok_or_else(|| AppError::field("lang", "error.invalid_input"))?;
    if let Ok(session) = session {
        session.verify_csrf(form.csrf.as_deref().unwrap_or(""))?;
        identity::accounts::set_locale(&state.db, session.actor.person_id, locale.tag()).await?;
    }
    let jar = jar.add(cookie(&state, LANG_COOKIE, locale.tag().to_owned(), false));
    // Back to the page the switch was pressed on (the form names it, or the browser does).
    let from_referer = headers
        .get(axum::http::header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://"))
        .map(|(_, rest)| {
            let path = rest.find('/').map_or("/", |i| &rest[i..]);
            path.split('#').next().unwrap_or("/").to_owned()
        });
    let next = form.next.or(from_referer);
    Ok((jar, crate::redirect(safe_next(next.as_deref()))).into_response())
}
