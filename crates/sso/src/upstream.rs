//! Upstream federation: logging in through an upper-level identity provider (the city's or
//! province's identity alliance over OpenID Connect, the national smart-education hub over
//! plain OAuth2 with a user-info mapping). This is the relying-party side; who the person is
//! here, and the link on first use, is `identity::federation`.
//!
//! The flow: `/login/upstream/{id}` stores a state (hashed), a nonce and a PKCE verifier, sets
//! the state in a cookie bound to this browser, and sends the person to the provider;
//! `/login/upstream/callback` takes the state once, exchanges the code, checks the ID token
//! (signature from the provider's JWKS, issuer, audience, expiry, nonce), reads the user info
//! (whose `sub` must match the ID token's), maps it, and logs the person in.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use chrono::{DateTime, Duration, Utc};
use identity::federation::{Assertion, LinkAttribute};
use kernel::audit::{self, AuditEvent, Outcome, Who};
use kernel::authz::{self, Permission};
use kernel::{
    Actor, AppError, AppResult, AppState, Db, NodeId, ProviderId, RequestMeta, on_db, on_tx,
};
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
use web::{Meta, PageCtx, Session, render};

/// A provider as configured. The client secret never leaves the server (not in pages, not in
/// logs, not in the audit log).
#[derive(Clone, sqlx::FromRow)]
pub struct Provider {
    pub id: ProviderId,
    pub node_id: NodeId,
    pub name: String,
    /// `oidc` or `oauth2`
    pub kind: String,
    pub issuer: Option<String>,
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub userinfo_url: Option<String>,
    pub client_id: String,
    client_secret: String,
    /// `client_secret_basic` or `client_secret_post`
    pub token_auth: String,
    pub scopes: String,
    pub subject_claim: String,
    pub link_attribute: String,
    pub link_claim: String,
    pub name_claim: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an administrator fills in, for a new provider or a change. An empty secret on a change
/// keeps the stored one.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ProviderInput {
    /// The page form's CSRF token (not part of the configuration).
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub issuer: String,
    #[serde(default)]
    pub authorize_url: String,
    #[serde(default)]
    pub token_url: String,
    #[serde(default)]
    pub userinfo_url: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub client_secret: String,
    #[serde(default)]
    pub token_auth: String,
    #[serde(default)]
    pub scopes: String,
    #[serde(default)]
    pub subject_claim: String,
    #[serde(default)]
    pub link_attribute: String,
    #[serde(default)]
    pub link_claim: String,
    #[serde(default)]
    pub name_claim: String,
    #[serde(default)]
    pub active: bool,
}

impl ProviderInput {
    fn of(p: &Provider) -> Self {
        let s = |o: &Option<String>| o.clone().unwrap_or_default();
        Self {
            name: p.name.clone(),
            kind: p.kind.clone(),
            issuer: s(&p.issuer),
            authorize_url: s(&p.authorize_url),
            token_url: s(&p.token_url),
            userinfo_url: s(&p.userinfo_url),
            client_id: p.client_id.clone(),
            client_secret: String::new(),
            csrf: String::new(),
            token_auth: p.token_auth.clone(),
            scopes: p.scopes.clone(),
            subject_claim: p.subject_claim.clone(),
            link_attribute: p.link_attribute.clone(),
            link_claim: p.link_claim.clone(),
            name_claim: s(&p.name_claim),
            active: p.active,
        }
    }
}

/// Provider endpoints must be HTTPS; plain HTTP only to this machine (development, tests).
fn is_endpoint(s: &str) -> bool {
    match reqwest::Url::parse(s) {
        Ok(u) => {
            u.scheme() == "https"
                || (u.scheme() == "http"
                    && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")))
        }
        Err(_) => false,
    }
}

fn validate(i: &ProviderInput, creating: bool) -> AppResult<()> {
    let mut e = kernel::FieldErrors::new();
    if i.name.trim().is_empty() || i.name.chars().count() > 100 {
        e.add("name", "error.required");
    }
    let url = |e: &mut kernel::FieldErrors, field: &str, v: &str| {
        if !is_endpoint(v.trim()) {
            e.add(field, "error.identity.bad_endpoint");
        }
    };
    match i.kind.as_str() {
        "oidc" => url(&mut e, "issuer", &i.issuer),
        "oauth2" => {
            url(&mut e, "authorize_url", &i.authorize_url);
            url(&mut e, "token_url", &i.token_url);
            url(&mut e, "userinfo_url", &i.userinfo_url);
        }
        _ => e.add("kind", "error.invalid_choice"),
    }
    if i.client_id.trim().is_empty() {
        e.add("client_id", "error.required");
    }
    if creating && i.client_secret.trim().is_empty() {
        e.add("client_secret", "error.required");
    }
    if !matches!(
        i.token_auth.as_str(),
        "client_secret_basic" | "client_secret_post"
    ) {
        e.add("token_auth", "error.invalid_choice");
    }
    if i.scopes.split_whitespace().next().is_none() {
        e.add("scopes", "error.required");
    }
    if LinkAttribute::parse(&i.link_attribute).is_none() {
        e.add("link_attribute", "error.invalid_choice");
    }
    let path = |s: &str| {
        !s.is_empty()
            && s.split('.').all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
    };
    for (field, v) in [
        ("subject_claim", i.subject_claim.trim()),
        ("link_claim", i.link_claim.trim()),
    ] {
        if !path(v) {
            e.add(field, "error.identity.bad_claim_path");
        }
    }
    if !i.name_claim.trim().is_empty() && !path(i.name_claim.trim()) {
        e.add("name_claim", "error.identity.bad_claim_path");
    }
    e.into_result()
}

macro_rules! select_providers {
    ($rest:literal) => {
        concat!(
            "SELECT id, node_id, name, kind, issuer, authorize_url, token_url, userinfo_url, client_id,
               client_secret, token_auth, scopes, subject_claim, link_attribute, link_claim, name_claim,
               active, created_at, updated_at FROM upstream_providers ",
            $rest
        )
    };
}

pub async fn get(db: &Db, id: ProviderId) -> AppResult<Option<Provider>> {
    let sql = select_providers!("WHERE id = $1");
    Ok(on_db!(db, p => sqlx::query_as(sql).bind(id).fetch_optional(p).await)?)
}

/// The providers of a node's subtree, for its administrators.
pub async fn list_managed(db: &Db, actor: &Actor, node: NodeId) -> AppResult<Vec<Provider>> {
    authz::require(db, actor, Permission::ManageApplications, node).await?;
    let sql = select_providers!(
        "WHERE node_id IN (SELECT descendant_id FROM org_closure WHERE ancestor_id = $1) ORDER BY name"
    );
    Ok(on_db!(db, p => sqlx::query_as(sql).bind(node).fetch_all(p).await)?)
}

/// A provider the actor manages, or `NotFound` (never revealing one elsewhere).
pub async fn managed(db: &Db, actor: &Actor, id: ProviderId) -> AppResult<Provider> {
    let p = get(db, id)
        .await?
        .ok_or(AppError::NotFound("identity.provider_not_found"))?;
    if !authz::may(db, actor, Permission::ManageApplications, p.node_id).await? {
        return Err(AppError::NotFound("identity.provider_not_found"));
    }
    Ok(p)
}

fn opt(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// What the audit log records of a configuration (no secret).
fn described(i: &ProviderInput) -> Value {
    serde_json::json!({
        "name": i.name.trim(), "kind": i.kind, "issuer": opt(&i.issuer),
        "authorize_url": opt(&i.authorize_url), "token_url": opt(&i.token_url),
        "userinfo_url": opt(&i.userinfo_url), "client_id": i.client_id.trim(),
        "token_auth": i.token_auth, "scopes": i.scopes.trim(), "subject_claim": i.subject_claim.trim(),
        "link_attribute": i.link_attribute, "link_claim": i.link_claim.trim(),
        "name_claim": opt(&i.name_claim), "active": i.active,
        "secret_changed": !i.client_secret.trim().is_empty(),
    })
}

/// Configures a provider for `node`'s subtree; the actor must administer the node.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    node: NodeId,
    i: &ProviderInput,
) -> AppResult<ProviderId> {
    authz::require(&state.db, actor, Permission::ManageApplications, node).await?;
    validate(i, true)?;
    let id = ProviderId::new();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO upstream_providers (id, node_id, name, kind, issuer, authorize_url, token_url, userinfo_url,
           client_id, client_secret, token_auth, scopes, subject_claim, link_attribute, link_claim, name_claim,
           active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $18)",
    ).bind(id).bind(node).bind(i.name.trim()).bind(&i.kind).bind(opt(&i.issuer))
    .bind(opt(&i.authorize_url)).bind(opt(&i.token_url)).bind(opt(&i.userinfo_url))
    .bind(i.client_id.trim()).bind(i.client_secret.trim()).bind(&i.token_auth).bind(i.scopes.trim())
    .bind(i.subject_claim.trim()).bind(&i.link_attribute).bind(i.link_claim.trim()).bind(opt(&i.name_claim))
    .bind(i.active).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    let ev = AuditEvent::new("sso.upstream_create")
        .object("upstream_provider", id)
        .node(node)
        .detail(described(i));
    audit::record(&mut tx, now, Who::from(actor), meta, ev).await?;
    tx.commit().await?;
    Ok(id)
}

/// Changes a provider (an empty secret keeps the stored one); audited with before and after.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    id: ProviderId,
    i: &ProviderInput,
) -> AppResult<()> {
    let before = managed(&state.db, actor, id).await?;
    validate(i, false)?;
    let secret = opt(&i.client_secret).unwrap_or_else(|| before.client_secret.clone());
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE upstream_providers SET name = $2, kind = $3, issuer = $4, authorize_url = $5, token_url = $6,
           userinfo_url = $7, client_id = $8, client_secret = $9, token_auth = $10, scopes = $11,
           subject_claim = $12, link_attribute = $13, link_claim = $14, name_claim = $15, active = $16,
           updated_at = $17
         WHERE id = $1",
    ).bind(id).bind(i.name.trim()).bind(&i.kind).bind(opt(&i.issuer))
    .bind(opt(&i.authorize_url)).bind(opt(&i.token_url)).bind(opt(&i.userinfo_url))
    .bind(i.client_id.trim()).bind(secret).bind(&i.token_auth).bind(i.scopes.trim())
    .bind(i.subject_claim.trim()).bind(&i.link_attribute).bind(i.link_claim.trim()).bind(opt(&i.name_claim))
    .bind(i.active).bind(now).execute(c).await.map(|r| r.rows_affected()))?;
    let ev = AuditEvent::new("sso.upstream_update")
        .object("upstream_provider", id)
        .node(before.node_id)
        .detail(serde_json::json!({
            "before": described(&ProviderInput::of(&before)), "after": described(i),
        }));
    audit::record(&mut tx, now, Who::from(actor), meta, ev).await?;
    tx.commit().await?;
    metadata_cache().lock().map(|mut m| m.clear()).ok();
    Ok(())
}

// ---- the relying party ----

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
        CoreClient::from_provider_metadata(
            md,
            ClientId::new(p.client_id.clone()),
            Some(ClientSecret::new(p.client_secret.clone())),
        )
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
    let client = CoreClient::from_provider_metadata(
        md,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(p.client_secret.clone())),
    )
    .set_redirect_uri(redirect_url(state)?)
    .set_auth_type(auth_type(p));
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
            let client = CoreClient::from_provider_metadata(
                md,
                ClientId::new(p.client_id.clone()),
                Some(ClientSecret::new(p.client_secret.clone())),
            );
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
            web::finish_login(&state, jar, &v, "fed", &meta, &pending.next).await
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

// ---- administrators' pages ----

#[derive(askama::Template)]
#[template(path = "upstream.html")]
struct ProvidersPage {
    ctx: PageCtx,
    providers: Vec<Provider>,
    /// The provider being edited, if any.
    editing: Option<ProviderId>,
    form: ProviderInput,
    error: Option<String>,
    callback: String,
    attributes: [&'static str; 3],
}

fn admin_node(session: &Session) -> AppResult<NodeId> {
    session
        .actor
        .admin_nodes()
        .first()
        .copied()
        .ok_or(AppError::Forbidden)
}

fn new_form() -> ProviderInput {
    ProviderInput {
        kind: "oidc".into(),
        token_auth: "client_secret_basic".into(),
        scopes: "openid profile".into(),
        subject_claim: "sub".into(),
        link_attribute: "id_number".into(),
        active: true,
        ..Default::default()
    }
}

async fn providers_page(
    state: &AppState,
    session: &Session,
    editing: Option<ProviderId>,
    form: ProviderInput,
    error: Option<String>,
    notice: Option<&str>,
) -> AppResult<Response> {
    let providers = list_managed(&state.db, &session.actor, admin_node(session)?).await?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        render(&ProvidersPage {
            ctx: PageCtx::for_session(session).with_notice(notice),
            providers,
            editing,
            form,
            error,
            callback: callback_url(state),
            attributes: LinkAttribute::ALL.map(LinkAttribute::as_str),
        }),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    providers_page(&state, &session, None, new_form(), None, q.done.as_deref()).await
}

fn problems(session: &Session, e: &kernel::FieldErrors) -> String {
    let ctx = PageCtx::for_session(session);
    e.0.iter()
        .map(|(f, k)| format!("{}：{}", ctx.t(&format!("upstream.{f}")), ctx.t(k)))
        .collect::<Vec<_>>()
        .join("；")
}

pub async fn create_form(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    Form(f): Form<ProviderInput>,
) -> AppResult<Response> {
    session.verify_csrf(&f.csrf)?;
    let node = admin_node(&session)?;
    match create(&state, &session.actor, &meta, node, &f).await {
        Ok(_) => Ok(Redirect::to("/admin/upstream?done=saved").into_response()),
        Err(AppError::Invalid(e)) => {
            let msg = problems(&session, &e);
            providers_page(&state, &session, None, f, Some(msg), None).await
        }
        Err(e) => Err(e),
    }
}

pub async fn edit(
    State(state): State<AppState>,
    session: Session,
    web::IdPath(id): web::IdPath<ProviderId>,
) -> AppResult<Response> {
    let p = managed(&state.db, &session.actor, id).await?;
    providers_page(
        &state,
        &session,
        Some(id),
        ProviderInput::of(&p),
        None,
        None,
    )
    .await
}

pub async fn save(
    State(state): State<AppState>,
    session: Session,
    Meta(meta): Meta,
    web::IdPath(id): web::IdPath<ProviderId>,
    Form(f): Form<ProviderInput>,
) -> AppResult<Response> {
    session.verify_csrf(&f.csrf)?;
    match update(&state, &session.actor, &meta, id, &f).await {
        Ok(()) => Ok(Redirect::to("/admin/upstream?done=saved").into_response()),
        Err(AppError::Invalid(e)) => {
            let msg = problems(&session, &e);
            providers_page(&state, &session, Some(id), f, Some(msg), None).await
        }
        Err(e) => Err(e),
    }
}
