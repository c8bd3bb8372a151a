//! Token revocation (RFC 7009) and introspection (RFC 7662). Both authenticate the client and
//! act only on its own tokens; another client's token is treated as unknown.

use super::client_auth::{self, ClientCredentials};
use super::error::OAuthResult;
use super::token::params;
use crate::tokens;
use axum::Json;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use kernel::audit::{self, AuditEvent, Who};
use kernel::secret::token_hash;
use kernel::{AppState, GrantId, on_db, on_tx};
use serde_json::json;
use web::Meta;

pub async fn revoke(
    State(state): State<AppState>,
    headers: HeaderMap,
    Meta(meta): Meta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    match do_revoke(&state, &headers, &meta, pairs).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => e.into_response(),
    }
}

async fn do_revoke(
    state: &AppState,
    headers: &HeaderMap,
    meta: &kernel::RequestMeta,
    pairs: Vec<(String, String)>,
) -> OAuthResult<()> {
    let p = params(pairs)?;
    let app =
        client_auth::authenticate(state, &ClientCredentials::from_request(headers, &p)?).await?;
    let Some(token) = p.get("token").filter(|t| !t.is_empty()) else {
        return Err(super::error::OAuthError::invalid_request(
            "token is required",
        ));
    };
    let now = state.clock.now();
    // A refresh token: revoke its whole grant.
    let row: Option<(GrantId, kernel::ApplicationId)> = on_db!(&state.db, c => sqlx::query_as(
        "SELECT g.id, g.application_id FROM oauth_refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = $1",
    ).bind(token_hash(token)).fetch_optional(c).await)?;
    let access = match row {
        Some((_, owner)) if owner == app.id => None,
        _ => tokens::verify_access(state, token)
            .await?
            .ok()
            .filter(|c| Some(c.client_id.as_str()) == app.client_id.as_deref()),
    };
    let mut tx = state.db.begin().await?;
    let what = if let Some((grant, _)) = row.filter(|(_, o)| *o == app.id) {
        on_tx!(&mut tx, c => sqlx::query("UPDATE oauth_grants SET revoked_at = $2, revoke_reason = 'revoked' WHERE id = $1 AND revoked_at IS NULL")
            .bind(grant).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
        Some(("refresh_token", grant.to_string()))
    } else if let Some(c) = access {
        let exp = DateTime::<Utc>::from_timestamp(c.exp, 0).unwrap_or(now);
        on_tx!(&mut tx, x => sqlx::query("INSERT INTO oauth_revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(&c.jti).bind(exp).execute(x).await.map(|r| r.rows_affected()))?;
        Some(("access_token", c.jti))
    } else {
        // Unknown, foreign or already invalid: RFC 7009 answers 200 all the same.
        None
    };
    if let Some((kind, id)) = what {
        audit::record(
            &mut tx,
            now,
            Who {
                id: None,
                name: None,
            },
            meta,
            AuditEvent::new("sso.token_revoked")
                .object("application", app.id)
                .node(app.node_id)
                .detail(json!({ "client_id": app.client_id, "kind": kind, "id": id })),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

pub async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    match do_introspect(&state, &headers, pairs).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn do_introspect(
    state: &AppState,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> OAuthResult<serde_json::Value> {
    let p = params(pairs)?;
    let app =
        client_auth::authenticate(state, &ClientCredentials::from_request(headers, &p)?).await?;
    if app.is_public() {
        return Err(super::error::OAuthError::new(
            "invalid_client",
            "public clients cannot introspect",
        ));
    }
    let token = p.get("token").map(String::as_str).unwrap_or_default();
    let inactive = json!({ "active": false });
    if let Ok(Ok(c)) = tokens::verify_access(state, token).await {
        if Some(c.client_id.as_str()) != app.client_id.as_deref() {
            return Ok(inactive);
        }
        return Ok(json!({
            "active": true, "scope": c.scope, "client_id": c.client_id, "sub": c.sub,
            "exp": c.exp, "iat": c.iat, "iss": c.iss, "aud": c.aud, "jti": c.jti, "token_type": "Bearer",
        }));
    }
    let now = state.clock.now();
    let row: Option<RefreshInfo> = on_db!(&state.db, c => sqlx::query_as(
        "SELECT g.application_id, g.person_id, g.scope, t.expires_at, t.used_at, g.revoked_at, t.created_at
         FROM oauth_refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = $1",
    ).bind(token_hash(token)).fetch_optional(c).await)?;
    Ok(match row {
        Some(r)
            if r.application_id == app.id
                && r.expires_at > now
                && r.used_at.is_none()
                && r.revoked_at.is_none() =>
        {
            json!({
                "active": true, "scope": r.scope, "client_id": app.client_id, "sub": r.person_id.to_string(),
                "exp": r.expires_at.timestamp(), "iat": r.created_at.timestamp(), "iss": tokens::issuer(state),
                // RFC 7662 §2.2: the type of the access tokens this grant issues.
                "token_type": "Bearer",
            })
        }
        _ => inactive,
    })
}

#[derive(sqlx::FromRow)]
struct RefreshInfo {
    application_id: kernel::ApplicationId,
    person_id: kernel::PersonId,
    scope: String,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}
