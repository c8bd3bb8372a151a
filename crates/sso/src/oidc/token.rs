//! The token endpoint: authorization code (with PKCE), refresh token (rotated, reuse revokes
//! the family), client credentials, and the legacy password grant where a client has it on.

use super::client_auth::{self, ClientCredentials};
use super::error::{OAuthError, OAuthResult};
use super::grants::{Grants, NewGrant, Spend, Write};
use crate::apps::Application;
use crate::{claims, tokens};
use axum::Json;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use kernel::audit::{self, AuditEvent, Outcome, Who};
use kernel::secret::token_hash;
use kernel::{AppState, GrantId, PersonId, RequestMeta, SessionId, on_db, on_tx};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use web::Meta;

type Params = BTreeMap<String, String>;

pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    Meta(meta): Meta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    match handle(&state, &headers, &meta, pairs).await {
        Ok(body) => {
            let mut r = Json(body).into_response();
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) => e.into_response(),
    }
}

/// Form parameters, each at most once (RFC 6749 §3.2).
pub fn params(pairs: Vec<(String, String)>) -> OAuthResult<Params> {
    let mut p = Params::new();
    for (k, v) in pairs {
        if p.insert(k.clone(), v).is_some() {
            return Err(OAuthError::invalid_request(format!(
                "parameter {k} repeated"
            )));
        }
    }
    Ok(p)
}

fn param<'a>(p: &'a Params, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

async fn handle(
    state: &AppState,
    headers: &HeaderMap,
    meta: &RequestMeta,
    pairs: Vec<(String, String)>,
) -> OAuthResult<Value> {
    let p = params(pairs)?;
    let creds = ClientCredentials::from_request(headers, &p)?;
    let app = client_auth::authenticate(state, &creds).await?;
    let grant_type = param(&p, "grant_type")
        .ok_or_else(|| OAuthError::invalid_request("grant_type is required"))?;
    let allowed =
        app.allows_grant(grant_type) || (grant_type == "password" && app.allow_password_grant);
    if !allowed {
        return Err(OAuthError::new(
            "unauthorized_client",
            format!("this client may not use the {grant_type} grant"),
        ));
    }
    // Keys are created outside the grant's transaction: SQLite has one writer.
    crate::keys::signing_key(state, crate::keys::Alg::Es256).await?;
    if let Some(alg) = crate::keys::Alg::parse(&app.id_token_alg) {
        crate::keys::signing_key(state, alg).await?;
    }
    match grant_type {
        "authorization_code" => code_grant(state, meta, &app, &p).await,
        "refresh_token" => refresh_grant(state, meta, &app, &p).await,
        "client_credentials" => client_credentials(state, &app, &p).await,
        "password" => password_grant(state, meta, &app, &p).await,
        other => Err(OAuthError::new(
            "unsupported_grant_type",
            format!("{other} is not supported"),
        )),
    }
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    application_id: kernel::ApplicationId,
    person_id: PersonId,
    session_id: Option<SessionId>,
    redirect_uri: String,
    scope: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    auth_time: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    grant_id: Option<GrantId>,
    /// How the person authenticated in the session the code came from.
    amr: Option<String>,
}

async fn code_grant(
    state: &AppState,
    meta: &RequestMeta,
    app: &Application,
    p: &Params,
) -> OAuthResult<Value> {
    let code = param(p, "code").ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    let now = state.clock.now();
    let hash = token_hash(code);
    let row: Option<CodeRow> = on_db!(&state.db, c => sqlx::query_as(
        "SELECT c.application_id, c.person_id, c.session_id, c.redirect_uri, c.scope, c.nonce, c.code_challenge,
                c.auth_time, c.expires_at, c.used_at, c.grant_id, s.amr
         FROM oauth_codes c LEFT JOIN sessions s ON s.id = c.session_id WHERE c.code_hash = $1",
    ).bind(&hash).fetch_optional(c).await)?;
    // Another client's code is as unknown as a made-up one.
    let Some(row) = row.filter(|r| r.application_id == app.id) else {
        return Err(OAuthError::invalid_grant("the code is unknown"));
    };
    if row.used_at.is_some() {
        // A second use: the code leaked. Revoke what the first use issued.
        if let Some(g) = row.grant_id {
            revoke_grant_alone(state, meta, app, g, "code_reuse").await?;
        }
        return Err(OAuthError::invalid_grant("the code was already used"));
    }
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code has expired"));
    }
    if param(p, "redirect_uri") != Some(row.redirect_uri.as_str()) {
        return Err(OAuthError::invalid_grant(
            "redirect_uri differs from the authorization request",
        ));
    }
    match (&row.code_challenge, param(p, "code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            let ok_form = (43..=128).contains(&verifier.len())
                && verifier
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            let computed = B64URL.encode(Sha256::digest(verifier.as_bytes()));
            if !ok_form || !kernel::secret::constant_time_eq(&computed, challenge) {
                return Err(OAuthError::invalid_grant("code_verifier does not match"));
            }
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "code_verifier given but no code_challenge was",
            ));
        }
        (None, None) => {}
    }
    let grant = GrantId::new();
    let issued = Issue {
        person: row.person_id,
        scope: row.scope.clone(),
        grant,
        session: row.session_id,
        nonce: row.nonce.clone(),
        auth_time: row.auth_time,
        amr: row.amr.clone(),
    };
    let (body, refresh) = prepare(state, app, &issued).await?;
    let write = Write::new(state, meta, app, &issued, refresh, "authorization_code")
        .spending(Spend::Code { hash, grant })
        .creating(NewGrant {
            application: app.id,
            session: row.session_id,
            nonce: row.nonce.clone(),
        });
    // Single use, decided by the database: of two racing exchanges one wins.
    if !kernel::batch::submit::<Grants>(state, write).await? {
        return Err(OAuthError::invalid_grant("the code was already used"));
    }
    Ok(body)
}

/// What a grant gives, whichever way it was obtained.
pub(super) struct Issue {
    pub(super) person: PersonId,
    pub(super) scope: String,
    pub(super) grant: GrantId,
    pub(super) session: Option<SessionId>,
    pub(super) nonce: Option<String>,
    pub(super) auth_time: DateTime<Utc>,
    /// How the person authenticated in the session (`pwd otp`), if the grant came from one.
    pub(super) amr: Option<String>,
}

/// The response for a grant: access token, a new refresh token and ID token, all made before
/// the grant's transaction opens (it holds SQLite's one write lock; reading or loading keys
/// inside it would wait for pool connections that waiting writers hold). Returns the body and
/// the refresh token to store.
async fn prepare(
    state: &AppState,
    app: &Application,
    g: &Issue,
) -> OAuthResult<(Value, Option<String>)> {
    let client_id = app.client_id.as_deref().unwrap_or_default();
    let (access, claims) = tokens::access_token(
        state,
        g.person.to_string(),
        client_id,
        &g.scope,
        Some(g.grant),
        Some(g.auth_time),
    )
    .await?;
    let mut body = json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": claims.exp - claims.iat,
        "scope": g.scope,
    });
    let refresh = app
        .allows_grant("refresh_token")
        .then(kernel::secret::random_token);
    if let Some(r) = &refresh {
        body["refresh_token"] = r.clone().into();
    }
    if g.scope.split(' ').any(|s| s == "openid") {
        let numbers = crate::apps::releases_numbers(state, app).await?;
        let Some(mut c) = claims::for_person(&state.db, g.person, &g.scope, numbers).await? else {
            return Err(OAuthError::invalid_grant("the account is no longer active"));
        };
        c.insert("auth_time".into(), g.auth_time.timestamp().into());
        c.insert("at_hash".into(), tokens::half_hash(&access).into());
        if let Some(n) = &g.nonce {
            c.insert("nonce".into(), n.clone().into());
        }
        if let Some(s) = g.session {
            c.insert("sid".into(), s.to_string().into());
            // How the person authenticated (RFC 8176): pwd, otp.
            if let Some(amr) = &g.amr {
                c.insert("amr".into(), amr.split(' ').collect::<Vec<_>>().into());
            }
        }
        body["id_token"] = tokens::id_token(state, &app.id_token_alg, client_id, c)
            .await?
            .into();
    }
    Ok((body, refresh))
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    grant_id: GrantId,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    application_id: kernel::ApplicationId,
    person_id: PersonId,
    session_id: Option<SessionId>,
    scope: String,
    auth_time: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    session_ended_at: Option<DateTime<Utc>>,
    amr: Option<String>,
}

async fn refresh_grant(
    state: &AppState,
    meta: &RequestMeta,
    app: &Application,
    p: &Params,
) -> OAuthResult<Value> {
    let token = param(p, "refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let now = state.clock.now();
    let hash = token_hash(token);
    let row: Option<RefreshRow> = on_db!(&state.db, c => sqlx::query_as(
        "SELECT t.grant_id, t.expires_at, t.used_at, g.application_id, g.person_id, g.session_id, g.scope,
                g.auth_time, g.revoked_at, s.ended_at AS session_ended_at, s.amr
         FROM oauth_refresh_tokens t JOIN oauth_grants g ON g.id = t.grant_id
         LEFT JOIN sessions s ON s.id = g.session_id WHERE t.token_hash = $1",
    ).bind(&hash).fetch_optional(c).await)?;
    let Some(row) = row.filter(|r| r.application_id == app.id) else {
        return Err(OAuthError::invalid_grant("the refresh token is unknown"));
    };
    // The session it came from ended: revoked, even before the single-logout sweep says so.
    if row.revoked_at.is_some() || row.session_ended_at.is_some() {
        return Err(OAuthError::invalid_grant("the refresh token was revoked"));
    }
    if row.used_at.is_some() {
        // Reuse after rotation: one of the two holders is not the application. End the family.
        revoke_grant_alone(state, meta, app, row.grant_id, "refresh_reuse").await?;
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    }
    if row.expires_at <= now {
        return Err(OAuthError::invalid_grant("the refresh token has expired"));
    }
    // A narrower scope may be asked for, never a wider one.
    let scope = match param(p, "scope") {
        Some(s) => {
            if !s.split(' ').all(|x| row.scope.split(' ').any(|y| y == x)) {
                return Err(OAuthError::new(
                    "invalid_scope",
                    "the scope exceeds what was granted",
                ));
            }
            s.to_owned()
        }
        None => row.scope.clone(),
    };
    let issued = Issue {
        person: row.person_id,
        scope,
        grant: row.grant_id,
        session: row.session_id,
        nonce: None,
        auth_time: row.auth_time,
        amr: row.amr.clone(),
    };
    let (body, refresh) = prepare(state, app, &issued).await?;
    let write = Write::new(state, meta, app, &issued, refresh, "refresh_token")
        .spending(Spend::Refresh { hash });
    if !kernel::batch::submit::<Grants>(state, write).await? {
        return Err(OAuthError::invalid_grant(
            "the refresh token was already used",
        ));
    }
    Ok(body)
}

/// A token for the application itself (machine to machine); no person, no refresh token.
async fn client_credentials(state: &AppState, app: &Application, p: &Params) -> OAuthResult<Value> {
    if app.is_public() {
        return Err(OAuthError::new(
            "unauthorized_client",
            "public clients cannot use client credentials",
        ));
    }
    let scope = param(p, "scope").unwrap_or("");
    let client_id = app.client_id.as_deref().unwrap_or_default();
    let (access, claims) =
        tokens::access_token(state, client_id.to_owned(), client_id, scope, None, None).await?;
    Ok(json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": claims.exp - claims.iat,
        "scope": scope,
    }))
}

/// The resource-owner password grant, for legacy systems only: off unless the administrator
/// switched it on for this client. Same login checks (and lockout) as the login page.
async fn password_grant(
    state: &AppState,
    meta: &RequestMeta,
    app: &Application,
    p: &Params,
) -> OAuthResult<Value> {
    if !app.allow_password_grant {
        return Err(OAuthError::new(
            "unauthorized_client",
            "the password grant is off for this client",
        ));
    }
    let (Some(user), Some(pass)) = (param(p, "username"), param(p, "password")) else {
        return Err(OAuthError::invalid_request(
            "username and password are required",
        ));
    };
    let person = match identity::login::check_password(state, user, pass, meta).await {
        Ok(p) => p,
        Err(identity::LoginError::InvalidCredentials) => {
            return Err(OAuthError::invalid_grant("wrong account name or password"));
        }
        Err(identity::LoginError::Throttled(_)) => {
            return Err(OAuthError::invalid_grant(
                "too many failed attempts; try again later",
            ));
        }
        Err(identity::LoginError::Other(e)) => return Err(e.into()),
    };
    let actor = kernel::Actor::load(&state.db, person, kernel::actor::Via::Token).await?;
    let Some(actor) = actor else {
        return Err(OAuthError::invalid_grant("wrong account name or password"));
    };
    // The grant has no second step: whoever has or owes a second factor cannot use it.
    if identity::mfa::owed(state, &actor).await?
        || identity::mfa::enrolled(&state.db, person).await?
    {
        return Err(OAuthError::invalid_grant(
            "this account logs in with a second factor; use the authorization code flow",
        ));
    }
    if !crate::apps::may_use(&state.db, app, &actor).await? {
        return Err(OAuthError::invalid_grant(
            "this account may not use this application",
        ));
    }
    let scope = param(p, "scope").unwrap_or("openid").to_owned();
    let now = state.clock.now();
    let grant = GrantId::new();
    let issued = Issue {
        person,
        scope,
        grant,
        session: None,
        nonce: None,
        auth_time: now,
        amr: None,
    };
    let (body, refresh) = prepare(state, app, &issued).await?;
    let write = Write::new(state, meta, app, &issued, refresh, "password").creating(NewGrant {
        application: app.id,
        session: None,
        nonce: None,
    });
    kernel::batch::submit::<Grants>(state, write).await?;
    Ok(body)
}

/// Revokes a grant (and with it every token of the family) in its own transaction, audited.
pub async fn revoke_grant_alone(
    state: &AppState,
    meta: &RequestMeta,
    app: &Application,
    grant: GrantId,
    reason: &str,
) -> OAuthResult<()> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE oauth_grants SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
    ).bind(grant).bind(now).bind(reason).execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        now,
        Who {
            id: None,
            name: None,
        },
        meta,
        AuditEvent::new("sso.grant_revoked")
            .outcome(Outcome::Failure)
            .object("grant", grant)
            .node(app.node_id)
            .detail(json!({ "client_id": app.client_id, "reason": reason })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
