//! RP-initiated logout (OIDC RP-Initiated Logout 1.0): an application sends the person here to
//! log out of the platform, and so of every application (see [`crate::logout`]). Without an
//! `id_token_hint` naming the signed-in person, the person confirms on a page first, so a
//! third-party page cannot log people out.

use crate::{apps, tokens};
use askama::Template;
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use kernel::{AppResult, AppState, RequestMeta};
use std::collections::BTreeMap;
use web::auth::url_encode;
use web::{MaybeSession, Meta, PageCtx, Session, render};

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct ConfirmPage {
    ctx: PageCtx,
    params: Vec<(String, String)>,
}

type Params = BTreeMap<String, String>;

fn parse(pairs: Vec<(String, String)>) -> Params {
    pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

pub async fn get(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Meta(meta): Meta,
    Query(pairs): Query<Vec<(String, String)>>,
) -> AppResult<Response> {
    handle(&state, session, &meta, parse(pairs), false).await
}

pub async fn post(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Meta(meta): Meta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut p = parse(pairs);
    let confirmed = match (p.remove("csrf"), &session) {
        (Some(c), Some(s)) => {
            s.verify_csrf(&c)?;
            true
        }
        _ => false,
    };
    handle(&state, session, &meta, p, confirmed).await
}

async fn handle(
    state: &AppState,
    session: Option<Session>,
    meta: &RequestMeta,
    p: Params,
    confirmed: bool,
) -> AppResult<Response> {
    let hint = match p.get("id_token_hint") {
        Some(t) => tokens::read_id_token(state, t).await?,
        None => None,
    };
    let client_id = hint
        .as_ref()
        .and_then(|c| c.get("aud").and_then(|a| a.as_str()).map(str::to_owned))
        .or_else(|| p.get("client_id").cloned());
    let app = match &client_id {
        Some(c) => apps::by_client_id(&state.db, c).await?,
        None => None,
    };
    // Back to the application only to an address it registered for this.
    let back = p.get("post_logout_redirect_uri").and_then(|u| {
        app.as_ref()
            .filter(|a| a.post_logout_redirect_uris.iter().any(|r| r == u))
            .map(|_| match p.get("state") {
                Some(s) => format!(
                    "{u}{}state={}",
                    if u.contains('?') { '&' } else { '?' },
                    url_encode(s)
                ),
                None => u.clone(),
            })
    });
    if let Some(s) = &session {
        let hinted_self = hint
            .as_ref()
            .and_then(|c| c.get("sub").and_then(|v| v.as_str()))
            .is_some_and(|sub| sub == s.actor.person_id.to_string());
        if !hinted_self && !confirmed {
            let page = ConfirmPage {
                ctx: PageCtx::for_session(s),
                params: p.into_iter().collect(),
            };
            return Ok(render(&page));
        }
        identity::login::logout(state, &s.actor, s.session_id, meta).await?;
        crate::logout::propagate(state).await?;
    }
    let jar = CookieJar::new().remove(Cookie::build(web::auth::SESSION_COOKIE).path("/"));
    Ok((jar, web::redirect(back.as_deref().unwrap_or("/login"))).into_response())
}
