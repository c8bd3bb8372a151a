//! The relying party: off to the provider with a state, a nonce and a PKCE verifier, and back
//! with a code to exchange, an ID token to check and user info to map.

use super::{Provider, get};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use chrono::{DateTime, Duration, Utc};
use identity::federation::{Assertion, LinkAttribute};
use kernel::audit::{self, AuditEvent, Outcome, Who};
use kernel::{AppError, AppResult, AppState, ProviderId, RequestMeta, on_db, on_tx};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm};
use openidconnect::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
    TokenUrl,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use web::Meta;

/// Where providers send people back; registered at the provider as the redirect URI.
pub fn callback_url(state: &AppState) -> String {
    format!("{}/login/upstream/callback", state.config.base_url())
}

/// The state cookie binds a login to the browser that started it.
const STATE_COOKIE: &str = "jy_upstream";
/// How long a person may take at the provider.
const LOGIN_MINUTES: i64 = 10;
/// How long discovered provider metadata (endpoints, keys) is reused.
const METADATA_SECONDS: i64 = 300;

/// Outgoing requests to providers: no redirects followed, bounded time.
fn http() -> &'static reqwest::Client {
    static C: OnceLock<reqwest::Client> = OnceLock::new();
    C.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default()
    })
}

type Metadata = openidconnect::core::CoreProviderMetadata;

/// Discovered metadata by issuer, with when it was fetched.
type MetadataCache = Mutex<HashMap<String, (DateTime<Utc>, Metadata)>>;

fn metadata_cache() -> &'static MetadataCache {
    static M: OnceLock<MetadataCache> = OnceLock::new();
    M.get_or_init(Default::default)
}

/// Drops the cached discovery documents (a provider's configuration changed).
pub(super) fn forget_metadata() {
    if let Ok(mut m) = metadata_cache().lock() {
        m.clear();
    }
}

/// The OIDC client for a provider from its discovery document.
fn oidc_client(
    md: Metadata,
    p: &Provider,
) -> openidconnect::core::CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
> {
    CoreClient::from_provider_metadata(
        md,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.clone())),
    )
    .set_auth_type(auth_type(p))
}

/// The provider's discovery document and keys, cached for a few minutes.
async fn metadata(issuer: &str, now: DateTime<Utc>, fresh: bool) -> Result<Metadata, String> {
    if !fresh
        && let Ok(m) = metadata_cache().lock()
        && let Some((at, md)) = m.get(issuer)
        && now - *at < Duration::seconds(METADATA_SECONDS)
    {
        return Ok(md.clone());
    }
    let url = IssuerUrl::new(issuer.to_owned()).map_err(|e| e.to_string())?;
    let md = Metadata::discover_async(url, http())
        .await
        .map_err(|e| format!("discovery: {e}"))?;
    if let Ok(mut m) = metadata_cache().lock() {
        m.insert(issuer.to_owned(), (now, md.clone()));
    }
    Ok(md)
}

/// The algorithms an upstream ID token may be signed with (never `none` or a MAC).
const ID_TOKEN_ALGS: [CoreJwsSigningAlgorithm; 6] = [
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::EdDsa,
];

fn auth_type(p: &Provider) -> AuthType {
    if p.token_auth == "client_secret_post" {
        AuthType::RequestBody
    } else {
        AuthType::BasicAuth
    }
}

/// The scopes asked for (the OIDC client adds `openid` itself).
fn scopes(p: &Provider) -> impl Iterator<Item = Scope> + '_ {
    let oidc = p.kind == "oidc";
    p.scopes
        .split_whitespace()
        .filter(move |s| !(oidc && *s == "openid"))
        .map(|s| Scope::new(s.to_owned()))
}

fn redirect_url(state: &AppState) -> Result<RedirectUrl, String> {
    RedirectUrl::new(callback_url(state)).map_err(|e| e.to_string())
}

fn oauth2_client(
    state: &AppState,
    p: &Provider,
) -> Result<
    oauth2::basic::BasicClient<
        oauth2::EndpointSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointNotSet,
        oauth2::EndpointSet,
    >,
    String,
> {
    let url = |s: &Option<String>| s.clone().unwrap_or_default();
    Ok(
        oauth2::basic::BasicClient::new(ClientId::new(p.client_id.clone()))
            .set_client_secret(ClientSecret::new(p.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(url(&p.authorize_url)).map_err(|e| e.to_string())?)
            .set_token_uri(TokenUrl::new(url(&p.token_url)).map_err(|e| e.to_string())?)
            .set_redirect_uri(redirect_url(state)?)
            .set_auth_type(auth_type(p)),
    )
}

/// The provider's authorization URL for a new login, with its state, nonce and PKCE verifier.
async fn authorization(
    state: &AppState,
    p: &Provider,
    login_state: &str,
    nonce: &str,
) -> Result<(String, PkceCodeVerifier), String> {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (login_state, nonce) = (login_state.to_owned(), nonce.to_owned());
    let st = move || CsrfToken::new(login_state);
    let url = if p.kind == "oidc" {
        let md = metadata(
            p.issuer.as_deref().unwrap_or_default(),
            state.clock.now(),
            false,
        )
        .await?;
        oidc_client(md, p)
            .set_redirect_uri(redirect_url(state)?)
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, st, move || {
                Nonce::new(nonce)
            })
            .add_scopes(scopes(p))
            .set_pkce_challenge(challenge)
            .url()
            .0
    } else {
        oauth2_client(state, p)?
            .authorize_url(st)
            .add_scopes(scopes(p))
            .set_pkce_challenge(challenge)
            .url()
            .0
    };
    Ok((url.to_string(), verifier))
}

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
}

/// `/login/upstream/{id}`: off to the provider.
pub async fn start(
    State(state): State<AppState>,
    web::IdPath(id): web::IdPath<ProviderId>,
    Query(q): Query<StartQuery>,
    jar: CookieJar,
    Meta(meta): Meta,
) -> AppResult<Response> {
    let p = get(&state.db, id)
        .await?
        .filter(|p| p.active)
        .ok_or(AppError::NotFound("identity.provider_not_found"))?;
    let login_state = kernel::secret::random_token();
    let nonce = kernel::secret::random_token();
    let (url, verifier) = match authorization(&state, &p, &login_state, &nonce).await {
        Ok(x) => x,
        Err(e) => return failed(&state, &p, &meta, &e, jar).await,
    };
    let now = state.clock.now();
    let next = web::pages::safe_next(q.next.as_deref());
    on_db!(&state.db, c => sqlx::query(
        "INSERT INTO upstream_logins (state_hash, provider_id, nonce, pkce_verifier, next, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    ).bind(kernel::secret::token_hash(&login_state)).bind(id).bind(&nonce)
    .bind(verifier.secret()).bind(next).bind(now + Duration::minutes(LOGIN_MINUTES))
    .execute(c).await.map(|r| r.rows_affected()))?;
    let jar = jar.add(web::cookie(&state, STATE_COOKIE, login_state, true));
    Ok((jar, web::redirect(&url)).into_response())
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Pending {
    provider_id: ProviderId,
    nonce: String,
    pkce_verifier: String,
    next: String,
    expires_at: DateTime<Utc>,
}

/// Back to the login page with a message (the key's last part).
fn to_login(jar: CookieJar, key: &str) -> Response {
    let jar = jar.remove(Cookie::build(STATE_COOKIE).path("/"));
    (jar, Redirect::to(&format!("/login?upstream_error={key}"))).into_response()
}

/// A protocol failure (the provider unreachable, a bad token, an error answer): audited with
/// what went wrong, and the person told the login through the provider failed.
async fn failed(
    state: &AppState,
    p: &Provider,
    meta: &RequestMeta,
    error: &str,
    jar: CookieJar,
) -> AppResult<Response> {
    tracing::warn!(provider = %p.name, error, "upstream login failed");
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let ev = AuditEvent::new("auth.login_failed")
        .outcome(Outcome::Failure)
        .node(p.node_id)
        .object("upstream_provider", p.id)
        .detail(serde_json::json!({
            "reason": "upstream_failed", "provider_name": p.name, "error": error,
        }));
    let who = Who {
        id: None,
        name: None,
    };
    audit::record(&mut tx, now, who, meta, ev).await?;
    tx.commit().await?;
    Ok(to_login(jar, "failed"))
}

/// A dotted path into the user info; strings and numbers are values.
pub fn claim(info: &Value, path: &str) -> Option<String> {
    let v = path
        .split('.')
        .try_fold(info, |v, k| v.get(k).filter(|x| !x.is_null()))?;
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

async fn user_info(url: &str, access_token: &str) -> Result<Value, String> {
    let r = http()
        .get(url)
        .bearer_auth(access_token)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(|e| format!("userinfo: {e}"))?;
    if !r.status().is_success() {
        return Err(format!("userinfo: HTTP {}", r.status()));
    }
    r.json().await.map_err(|e| format!("userinfo: {e}"))
}

/// Exchanges the code and reads who the person is: (subject, user info).
async fn identify(
    state: &AppState,
    p: &Provider,
    pending: &Pending,
    code: String,
) -> Result<(String, Value), String> {
    let verifier = PkceCodeVerifier::new(pending.pkce_verifier.clone());
    let code = AuthorizationCode::new(code);
    if p.kind != "oidc" {
        let tokens = oauth2_client(state, p)?
            .exchange_code(code)
            .set_pkce_verifier(verifier)
            .request_async(http())
            .await
            .map_err(|e| format!("token: {e}"))?;
        let info = user_info(
            p.userinfo_url.as_deref().unwrap_or_default(),
            tokens.access_token().secret(),
        )
        .await?;
        let sub = claim(&info, &p.subject_claim)
            .ok_or_else(|| format!("userinfo: no {}", p.subject_claim))?;
        return Ok((sub, info));
    }
    let md = metadata(
        p.issuer.as_deref().unwrap_or_default(),
        state.clock.now(),
        false,
    )
    .await?;
    let userinfo_url = md.userinfo_endpoint().map(|u| u.url().to_string());
    let client = oidc_client(md, p).set_redirect_uri(redirect_url(state)?);
    let tokens = client
        .exchange_code(code)
        .map_err(|e| e.to_string())?
        .set_pkce_verifier(verifier)
        .request_async(http())
        .await
        .map_err(|e| format!("token: {e}"))?;
    let id_token = tokens.id_token().ok_or("token: no ID token")?;
    let nonce = Nonce::new(pending.nonce.clone());
    let verifier = client
        .id_token_verifier()
        .set_allowed_algs(ID_TOKEN_ALGS.to_vec());
    let claims = match id_token.claims(&verifier, &nonce) {
        Ok(c) => c.clone(),
        Err(e) => {
            // The provider may have rotated its keys since they were cached: look again once.
            let md = metadata(
                p.issuer.as_deref().unwrap_or_default(),
                state.clock.now(),
                true,
            )
            .await?;
            let client = oidc_client(md, p);
            let verifier = client
                .id_token_verifier()
                .set_allowed_algs(ID_TOKEN_ALGS.to_vec());
            id_token
                .claims(&verifier, &nonce)
                .map_err(|e2| format!("ID token: {e}; after reloading keys: {e2}"))?
                .clone()
        }
    };
    let sub = claims.subject().as_str().to_owned();
    let info = match userinfo_url {
        Some(url) => {
            let info = user_info(&url, tokens.access_token().secret()).await?;
            // OIDC Core 5.3.2: the UserInfo subject must be the ID token's.
            if info.get("sub").and_then(Value::as_str) != Some(sub.as_str()) {
                return Err("userinfo: sub differs from the ID token's".into());
            }
            info
        }
        None => serde_json::json!({ "sub": sub }),
    };
    let sub = claim(&info, &p.subject_claim).unwrap_or(sub);
    Ok((sub, info))
}

/// `/login/upstream/callback`: the provider sends the person back here.
pub async fn callback(
    State(state): State<AppState>,
    Query(q): Query<CallbackQuery>,
    jar: CookieJar,
    Meta(meta): Meta,
) -> AppResult<Response> {
    let cookie = jar
        .get(STATE_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let given = q.state.unwrap_or_default();
    // A callback in a browser that did not start the login (login CSRF) is refused.
    if cookie.is_empty() || !kernel::secret::constant_time_eq(&cookie, &given) {
        return Ok(to_login(jar, "expired"));
    }
    let hash = kernel::secret::token_hash(&given);
    let mut tx = state.db.begin().await?;
    let pending: Option<Pending> = on_tx!(&mut tx, c => sqlx::query_as(
        "DELETE FROM upstream_logins WHERE state_hash = $1
         RETURNING provider_id, nonce, pkce_verifier, next, expires_at",
    ).bind(&hash).fetch_optional(c).await)?;
    tx.commit().await?;
    let now = state.clock.now();
    let Some(pending) = pending.filter(|p| p.expires_at > now) else {
        return Ok(to_login(jar, "expired"));
    };
    let Some(p) = get(&state.db, pending.provider_id)
        .await?
        .filter(|p| p.active)
    else {
        return Ok(to_login(jar, "expired"));
    };
    if let Some(e) = q.error {
        let e: String = e.chars().take(100).collect();
        return failed(&state, &p, &meta, &format!("provider answered {e}"), jar).await;
    }
    let Some(code) = q.code else {
        return failed(&state, &p, &meta, "no code", jar).await;
    };
    let (subject, info) = match identify(&state, &p, &pending, code).await {
        Ok(x) => x,
        Err(e) => return failed(&state, &p, &meta, &e, jar).await,
    };
    let attribute = LinkAttribute::parse(&p.link_attribute).unwrap_or(LinkAttribute::IdNumber);
    let value = claim(&info, &p.link_claim);
    let assertion = Assertion {
        provider: p.id,
        provider_name: &p.name,
        node: p.node_id,
        subject: &subject,
        attribute,
        value: value.as_deref(),
    };
    match identity::federation::verify(&state, &assertion, &meta).await? {
        Ok(v) => {
            let jar = jar.remove(Cookie::build(STATE_COOKIE).path("/"));
            account::finish_login(&state, jar, &v, "fed", &meta, &pending.next).await
        }
        Err(r) => Ok(to_login(jar, r.reason().trim_start_matches("upstream_"))),
    }
}

/// Hourly upkeep: forgets logins that never came back.
pub async fn maintain(state: &AppState) -> AppResult<u64> {
    let now = state.clock.now();
    Ok(
        on_db!(&state.db, p => sqlx::query("DELETE FROM upstream_logins WHERE expires_at < $1")
        .bind(now).execute(p).await.map(|r| r.rows_affected()))?,
    )
}
