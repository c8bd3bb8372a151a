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
//!
//! This module keeps the providers' configuration; `rp` is the relying party (the login),
//! `pages` the administrators' pages.

mod pages;
mod rp;

pub use pages::{create_form, edit, list, save};
pub use rp::{callback, callback_url, claim, maintain, start};

use chrono::{DateTime, Utc};
use identity::federation::LinkAttribute;
use kernel::audit::{self, AuditEvent, Who};
use kernel::authz::{self, Permission};
use kernel::{
    Actor, AppError, AppResult, AppState, Db, NodeId, ProviderId, RequestMeta, on_db, on_tx,
};
use serde::Deserialize;
use serde_json::Value;

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
    pub(super) client_secret: String,
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
    rp::forget_metadata();
    Ok(())
}
