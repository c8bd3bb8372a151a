//! The authorization endpoint: the authorization code flow with PKCE.
//!
//! Errors about the client or its redirect URI are shown on a page and never redirected (an
//! unchecked redirect would make the platform an open redirector); every later error goes back
//! to the application's registered redirect URI with `error` and `state`.

use crate::apps::{self, Application};
use crate::claims::SUPPORTED_SCOPES;
use crate::tokens;
use axum::extract::{Form, Query, State};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use kernel::audit::{self, AuditEvent, Who};
use kernel::{AppError, AppResult, AppState, RequestMeta, on_db, on_tx};
use std::collections::BTreeMap;
use web::auth::url_encode;
use web::{MaybeSession, Meta, Session};

/// The request's parameters, each at most once.
#[derive(Debug, Default, Clone)]
pub struct AuthRequest {
    pub params: BTreeMap<String, String>,
}

impl AuthRequest {
    pub fn parse(pairs: Vec<(String, String)>) -> Result<Self, String> {
        let mut params = BTreeMap::new();
        for (k, v) in pairs {
            if params.insert(k.clone(), v).is_some() {
                return Err(format!("parameter {k} repeated"));
            }
        }
        Ok(Self { params })
    }
    pub fn get(&self, k: &str) -> Option<&str> {
        self.params
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
    /// The request as a query string, minus `drop`.
    fn query_without(&self, drop: &[&str]) -> String {
        self.params
            .iter()
            .filter(|(k, _)| !drop.contains(&k.as_str()))
            .map(|(k, v)| format!("{}={}", url_encode(k), url_encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// Where an error goes once the redirect URI is known to be the client's.
pub struct Back<'a> {
    redirect_uri: &'a str,
    state: Option<&'a str>,
    /// The issuer, on every response (RFC 9207), errors included.
    iss: String,
}

impl Back<'_> {
    pub fn error(&self, error: &str, description: &str) -> Response {
        let mut url = format!(
            "{}{}error={}&error_description={}",
            self.redirect_uri,
            if self.redirect_uri.contains('?') {
                '&'
            } else {
                '?'
            },
            error,
            url_encode(description)
        );
        if let Some(s) = self.state {
            url.push_str(&format!("&state={}", url_encode(s)));
        }
        url.push_str(&format!("&iss={}", url_encode(&self.iss)));
        web::redirect(&url)
    }
}

pub async fn get(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Meta(meta): Meta,
    Query(pairs): Query<Vec<(String, String)>>,
) -> AppResult<Response> {
    authorize(&state, session, &meta, pairs).await
}

pub async fn post(
    State(state): State<AppState>,
    MaybeSession(session): MaybeSession,
    Meta(meta): Meta,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    authorize(&state, session, &meta, pairs).await
}

/// A page that explains an error that cannot go back to the application.
fn refuse(code: &'static str) -> AppResult<Response> {
    Err(AppError::BadRequest(code))
}

pub async fn authorize(
    state: &AppState,
    session: Option<Session>,
    meta: &RequestMeta,
    pairs: Vec<(String, String)>,
) -> AppResult<Response> {
    let Ok(req) = AuthRequest::parse(pairs) else {
        return refuse("sso.repeated_parameter");
    };
    let Some(client_id) = req.get("client_id") else {
        return refuse("sso.unknown_client");
    };
    let Some(app) = apps::by_client_id(&state.db, client_id).await? else {
        return refuse("sso.unknown_client");
    };
    if app.protocol != "oidc" {
        return refuse("sso.unknown_client");
    }
    // Exact match only: no prefixes, no wildcards, no normalisation.
    let Some(redirect_uri) = req.get("redirect_uri") else {
        return refuse("sso.redirect_uri_mismatch");
    };
    if !app.redirect_uris.iter().any(|u| u == redirect_uri) {
        return refuse("sso.redirect_uri_mismatch");
    }
    let back = Back {
        redirect_uri,
        state: req.get("state"),
        iss: tokens::issuer(state),
    };
    if req.get("request").is_some() {
        return Ok(back.error("request_not_supported", "request objects are not supported"));
    }
    if req.get("request_uri").is_some() {
        return Ok(back.error("request_uri_not_supported", "request_uri is not supported"));
    }
    if req.get("response_type") != Some("code") {
        return Ok(back.error(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    if req.get("response_mode").is_some_and(|m| m != "query") {
        return Ok(back.error("invalid_request", "only response_mode=query is supported"));
    }
    if !app.allows_grant("authorization_code") {
        return Ok(back.error(
            "unauthorized_client",
            "this client may not use the code flow",
        ));
    }
    let scope = req.get("scope").unwrap_or("");
    let scopes: Vec<&str> = scope
        .split(' ')
        .filter(|s| SUPPORTED_SCOPES.contains(s))
        .collect();
    if scopes.is_empty() {
        return Ok(back.error(
            "invalid_scope",
            "scope must include openid or a supported scope",
        ));
    }
    let scope = scopes.join(" ");
    let challenge = req.get("code_challenge");
    match (challenge, req.get("code_challenge_method")) {
        (None, _) if app.is_public() => {
            return Ok(back.error("invalid_request", "public clients must use PKCE (S256)"));
        }
        (Some(c), m) => {
            if m != Some("S256") {
                return Ok(back.error("invalid_request", "code_challenge_method must be S256"));
            }
            if !(43..=128).contains(&c.len()) {
                return Ok(back.error(
                    "invalid_request",
                    "code_challenge must be 43 to 128 characters",
                ));
            }
        }
        (None, _) => {}
    }
    let prompt: Vec<&str> = req
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|p| !p.is_empty())
        .collect();
    if prompt.contains(&"none") && prompt.len() > 1 {
        return Ok(back.error("invalid_request", "prompt=none cannot be combined"));
    }
    let now = state.clock.now();
    let max_age = match req.get("max_age").map(str::parse::<i64>) {
        None => None,
        // Longer than chrono can hold (some 292 million years): no limit at all.
        Some(Ok(s)) if s >= 0 => Duration::try_seconds(s),
        Some(_) => return Ok(back.error("invalid_request", "max_age must be a number of seconds")),
    };
    // The person the application expects (id_token_hint).
    let hinted = match req.get("id_token_hint") {
        Some(t) => match tokens::read_id_token(state, t).await? {
            Some(c) => c.get("sub").and_then(|s| s.as_str()).map(str::to_owned),
            None => {
                return Ok(back.error(
                    "invalid_request",
                    "id_token_hint is not a token of this provider",
                ));
            }
        },
        None => None,
    };

    // Is there a fitting login? The login this endpoint sent the person to satisfies both
    // `prompt=login` and `max_age`: with max_age=0 or 1 the walk back from the login page takes
    // longer than the limit, and must not send the person round again.
    let fitting = session.filter(|s| {
        let fresh = fresh_login(&req, s.auth_time, now);
        !s.actor.must_change_password
            && (fresh || max_age.is_none_or(|m| now - s.auth_time <= m))
            && hinted
                .as_deref()
                .is_none_or(|h| h == s.actor.person_id.to_string())
            && (!prompt.contains(&"login") || fresh)
    });
    let Some(session) = fitting else {
        if prompt.contains(&"none") {
            return Ok(back.error("login_required", "the person must log in"));
        }
        // Back here after login; `prompt=login` is satisfied by a login after this moment.
        let mut next = format!(
            "/oidc/authorize?{}",
            req.query_without(&["prompt", "jy_login_after"])
        );
        let rest: Vec<&str> = prompt.iter().copied().filter(|p| *p != "login").collect();
        if !rest.is_empty() {
            next.push_str(&format!("&prompt={}", url_encode(&rest.join(" "))));
        }
        next.push_str(&format!("&jy_login_after={}", now.timestamp()));
        let mut url = format!("/login?next={}", url_encode(&next));
        if let Some(h) = req.get("login_hint") {
            url.push_str(&format!("&username={}", url_encode(h)));
        }
        if let Some(l) = req.get("ui_locales") {
            url.push_str(&format!("&ui_locales={}", url_encode(l)));
        }
        return Ok(web::redirect(&url));
    };
    if !apps::may_use(&state.db, &app, &session.actor).await? {
        return Ok(back.error("access_denied", "this account may not use this application"));
    }
    // Consent: trusted applications skip it; others once per scope set.
    let consented = app.trusted || has_consent(state, &session, &app, &scope).await?;
    if prompt.contains(&"consent") || !consented {
        if prompt.contains(&"none") {
            return Ok(back.error("consent_required", "the person must consent"));
        }
        if !(prompt.contains(&"consent") && app.trusted) {
            return crate::oidc::consent::page_of(state, &session, &app, &req, &scope).await;
        }
    }
    issue_code(state, &session, meta, &app, &req, &scope, back).await
}

/// How long the walk through the login page may take for a login to count as the one this
/// endpoint asked for. The mark travels in the URL: an older (or forged, e.g. `0`) mark must not
/// pass a long-standing session off as a fresh login.
pub const LOGIN_ROUND_TRIP_SECONDS: i64 = 10 * 60;

/// Whether the session's login came after the `jy_login_after` mark this endpoint set when it
/// sent the person to log in (for `prompt=login` or `max_age`), and the mark is recent.
fn fresh_login(req: &AuthRequest, auth_time: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    req.get("jy_login_after")
        .and_then(|t| t.parse::<i64>().ok())
        .is_some_and(|t| {
            auth_time.timestamp() >= t && now.timestamp() - t <= LOGIN_ROUND_TRIP_SECONDS
        })
}

async fn has_consent(
    state: &AppState,
    session: &Session,
    app: &Application,
    scope: &str,
) -> AppResult<bool> {
    let row: Option<(String,)> = on_db!(&state.db, p => sqlx::query_as(
        "SELECT scope FROM oauth_consents WHERE person_id = $1 AND application_id = $2",
    ).bind(session.actor.person_id).bind(app.id).fetch_optional(p).await)?;
    Ok(row.is_some_and(|(granted,)| scope.split(' ').all(|s| granted.split(' ').any(|g| g == s))))
}

/// Issues the code and sends the person back to the application.
pub async fn issue_code(
    state: &AppState,
    session: &Session,
    meta: &RequestMeta,
    app: &Application,
    req: &AuthRequest,
    scope: &str,
    back: Back<'_>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let code = kernel::secret::random_token();
    let expires = now + Duration::seconds(i64::from(state.config.sso.code_seconds));
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO oauth_codes (code_hash, application_id, person_id, session_id, redirect_uri, scope, nonce,
           code_challenge, auth_time, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    ).bind(kernel::secret::token_hash(&code)).bind(app.id).bind(session.actor.person_id)
    .bind(session.session_id).bind(back.redirect_uri).bind(scope).bind(req.get("nonce"))
    .bind(req.get("code_challenge")).bind(session.auth_time).bind(now).bind(expires)
    .execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        now,
        Who::from(&session.actor),
        meta,
        AuditEvent::new("sso.code_issued")
            .object("application", app.id)
            .node(app.node_id)
            .detail(serde_json::json!({ "client_id": app.client_id, "scope": scope })),
    )
    .await?;
    tx.commit().await?;
    let mut url = format!(
        "{}{}code={}",
        back.redirect_uri,
        if back.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        },
        code
    );
    if let Some(s) = back.state {
        url.push_str(&format!("&state={}", url_encode(s)));
    }
    url.push_str(&format!("&iss={}", url_encode(&tokens::issuer(state))));
    Ok(web::redirect(&url))
}

/// The `Back` for a request already checked by [`authorize`] (the consent form posts it again).
pub fn back_for<'a>(state: &AppState, app: &Application, req: &'a AuthRequest) -> Option<Back<'a>> {
    let redirect_uri = req.get("redirect_uri")?;
    app.redirect_uris
        .iter()
        .any(|u| u == redirect_uri)
        .then(|| Back {
            redirect_uri,
            state: req.get("state"),
            iss: tokens::issuer(state),
        })
}
