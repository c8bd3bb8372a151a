//! UserInfo (OIDC Core §5.3), by GET or POST, with the access token as a bearer header or
//! (POST) a form field.

use super::error::OAuthError;
use crate::{apps, claims, tokens};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use kernel::AppState;

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
}

pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    respond(&state, bearer(&headers)).await
}

pub async fn post(State(state): State<AppState>, headers: HeaderMap, body: String) -> Response {
    let form: Vec<(String, String)> = serde_urlencoded_pairs(&body);
    let from_form = form
        .iter()
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.as_str());
    respond(&state, bearer(&headers).or(from_form)).await
}

fn serde_urlencoded_pairs(body: &str) -> Vec<(String, String)> {
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(
        &format!("/?{body}").parse().unwrap_or_default(),
    )
    .map(|q| q.0)
    .unwrap_or_default()
}

async fn respond(state: &AppState, token: Option<&str>) -> Response {
    let Some(token) = token else {
        return OAuthError::new("invalid_token", "an access token is required").into_response();
    };
    let (claims, epoch) = match tokens::check_access(state, token).await {
        Ok(Ok(c)) => (c.claims, c.epoch),
        Ok(Err(_)) => {
            return OAuthError::new("invalid_token", "the access token is not valid")
                .into_response();
        }
        Err(e) => return OAuthError::from(e).into_response(),
    };
    if !claims.has_scope("openid") {
        return OAuthError::new("insufficient_scope", "the token lacks the openid scope")
            .into_response();
    }
    let Ok(person) = claims.sub.parse::<kernel::PersonId>() else {
        return OAuthError::new("invalid_token", "the token is not a person's").into_response();
    };
    let numbers = match apps::cached_client(state, &claims.client_id).await {
        Ok(Some(app)) => apps::releases_numbers(state, &app).await,
        Ok(None) => Ok(false),
        Err(e) => Err(e),
    };
    let numbers = match numbers {
        Ok(n) => n,
        Err(e) => return OAuthError::from(e).into_response(),
    };
    match claims::for_person_at(state, person, &claims.scope, numbers, epoch).await {
        Ok(Some(c)) => Json(c).into_response(),
        Ok(None) => {
            OAuthError::new("invalid_token", "the account is no longer active").into_response()
        }
        Err(e) => OAuthError::from(e).into_response(),
    }
}
