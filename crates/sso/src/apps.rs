//! Connected applications: OIDC clients and CAS services registered by the administrators of a
//! node for the people of its subtree.

use chrono::{DateTime, Utc};
use kernel::audit::{self, AuditEvent, Who};
use kernel::authz::{self, Permission};
use kernel::{
    Actor, AppError, AppResult, AppState, ApplicationId, Db, NodeId, RequestMeta, on_db, on_tx,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Application {
    pub id: ApplicationId,
    pub node_id: NodeId,
    pub protocol: String,
    pub name: String,
    pub description: String,
    pub icon_url: Option<String>,
    pub home_url: Option<String>,
    pub client_id: Option<String>,
    #[serde(skip)]
    #[schema(ignore)]
    pub secret_hash: Option<String>,
    #[sqlx(try_from = "String")]
    #[schema(value_type = Vec<String>)]
    pub redirect_uris: List,
    #[sqlx(try_from = "String")]
    #[schema(value_type = Vec<String>)]
    pub post_logout_redirect_uris: List,
    #[sqlx(try_from = "String")]
    #[schema(value_type = Vec<String>)]
    pub grant_types: List,
    pub backchannel_logout_uri: Option<String>,
    pub id_token_alg: String,
    pub allow_password_grant: bool,
    pub service_prefix: Option<String>,
    pub single_logout: bool,
    pub trusted: bool,
    #[sqlx(try_from = "String")]
    #[schema(value_type = Vec<String>)]
    pub allowed_roles: List,
    /// Asks for the registry number (and a login name made of it or of the ID number); given
    /// only where the region allows it too ([`releases_numbers`]).
    pub release_registry_no: bool,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

/// A list of strings stored as a JSON array in a text column (portable between the databases).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct List(pub Vec<String>);

impl TryFrom<String> for List {
    type Error = serde_json::Error;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&s).map(List)
    }
}

impl std::ops::Deref for List {
    type Target = Vec<String>;
    fn deref(&self) -> &Vec<String> {
        &self.0
    }
}

impl Application {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

const COLUMNS: &str = "id, node_id, protocol, name, description, icon_url, home_url, client_id, secret_hash, redirect_uris, post_logout_redirect_uris, grant_types, backchannel_logout_uri, id_token_alg, allow_password_grant, service_prefix, single_logout, trusted, allowed_roles, release_registry_no, active, created_at";

pub async fn by_client_id(db: &Db, client_id: &str) -> AppResult<Option<Application>> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE client_id = $1 AND active = TRUE");
    Ok(
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(client_id).fetch_optional(p).await)?,
    )
}

/// Clients as the token endpoint sees them, cached for a few seconds per node: a changed secret
/// or a deactivated client takes effect everywhere within [`CLIENT_CACHE_SECONDS`].
#[derive(Default)]
pub struct ClientCache {
    map: std::sync::Mutex<HashMap<String, (Instant, Option<Application>)>>,
}

impl ClientCache {
    /// The client ids held (known clients and misses).
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

pub const CLIENT_CACHE_SECONDS: u64 = 5;
const CLIENT_CACHE_MAX: usize = 10_000;
/// No client id is longer (ours are `jy-` and 16 characters): a longer one is no client, and
/// is neither looked up nor kept, so the cache (misses included) stays within
/// `CLIENT_CACHE_MAX` × this many bytes of keys whatever callers send.
pub const CLIENT_ID_MAX: usize = 128;

pub async fn cached_client(state: &AppState, client_id: &str) -> AppResult<Option<Application>> {
    if client_id.len() > CLIENT_ID_MAX {
        return Ok(None);
    }
    let cache = state.cache::<ClientCache>();
    let fresh = Duration::from_secs(CLIENT_CACHE_SECONDS);
    if let Some((at, app)) = cache
        .map
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(client_id)
        && at.elapsed() < fresh
    {
        return Ok(app.clone());
    }
    let app = by_client_id(&state.db, client_id).await?;
    let mut map = cache.map.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= CLIENT_CACHE_MAX {
        map.clear();
    }
    map.insert(client_id.to_owned(), (Instant::now(), app.clone()));
    Ok(app)
}

pub async fn get(db: &Db, id: ApplicationId) -> AppResult<Option<Application>> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE id = $1");
    Ok(on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await)?)
}

/// The active CAS application whose prefix covers `service` (the most specific prefix when
/// several do), matched by parsed URL (see `service_url`); none for a refused URL.
pub async fn cas_service_for(db: &Db, service: &str) -> AppResult<Option<Application>> {
    let Ok(service) = crate::service_url::parse_service(service) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM applications WHERE protocol = 'cas' AND active = TRUE AND service_prefix IS NOT NULL"
    );
    let all: Vec<Application> =
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
    Ok(all
        .into_iter()
        .filter_map(|a| {
            let prefix = crate::service_url::parse_prefix(a.service_prefix.as_deref()?).ok()?;
            prefix.covers(&service).then_some((prefix.depth(), a))
        })
        .max_by_key(|(depth, _)| *depth)
        .map(|(_, a)| a))
}

/// May this person use the application? They must hold one of its allowed roles (any, when it
/// names none) inside its node's subtree; administrators above the node count when the
/// administrator role is allowed. An application for teachers and students is not offered to,
/// nor opened by, the city's administrators.
pub async fn may_use(db: &Db, app: &Application, actor: &Actor) -> AppResult<bool> {
    let allows =
        |role: &str| app.allowed_roles.is_empty() || app.allowed_roles.iter().any(|r| r == role);
    if allows(kernel::Role::Admin.as_str()) && authz::administers(db, actor, app.node_id).await? {
        return Ok(true);
    }
    for g in &actor.grants {
        if allows(g.role.as_str()) && kernel::tree::is_within(db, g.node_id, app.node_id).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// What an administrator registers.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewApplication {
    pub node_id: NodeId,
    /// `oidc` or `cas`.
    pub protocol: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub icon_url: Option<String>,
    pub home_url: Option<String>,
    /// OIDC: exact redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// OIDC: `authorization_code`, `refresh_token`, `client_credentials` (default: the first two).
    #[serde(default)]
    pub grant_types: Vec<String>,
    pub backchannel_logout_uri: Option<String>,
    /// OIDC: a public client (a phone or single-page app) has no secret and must use PKCE.
    #[serde(default)]
    pub public: bool,
    /// OIDC: `ES256` (default) or `RS256`.
    pub id_token_alg: Option<String>,
    #[serde(default)]
    pub allow_password_grant: bool,
    /// CAS: service URLs starting with this are this application.
    pub service_prefix: Option<String>,
    #[serde(default)]
    pub trusted: bool,
    #[serde(default)]
    pub allowed_roles: Vec<String>,
    /// Asks for the registry number; the region must allow it too.
    #[serde(default)]
    pub release_registry_no: bool,
}

impl NewApplication {
    /// An application with nothing but its node, protocol and name: no URLs, default grants,
    /// confidential, not trusted, open to every role of the subtree.
    pub fn new(node_id: NodeId, protocol: &str, name: &str) -> Self {
        Self {
            node_id,
            protocol: protocol.to_owned(),
            name: name.to_owned(),
            description: String::new(),
            icon_url: None,
            home_url: None,
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            backchannel_logout_uri: None,
            public: false,
            id_token_alg: None,
            allow_password_grant: false,
            service_prefix: None,
            trusted: false,
            allowed_roles: vec![],
            release_registry_no: false,
        }
    }
}

/// Whether the application receives identifiers that carry a person's ID number (the registry
/// number, a login name made of it): it asked for them, and its region allows it.
pub async fn releases_numbers(state: &AppState, app: &Application) -> AppResult<bool> {
    Ok(app.release_registry_no
        && identity::policy::effective(state, app.node_id)
            .await?
            .release_registry_no)
}

/// A registered application with its client secret, shown once.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub id: ApplicationId,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

const GRANTS: [&str; 4] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
];

fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && !s.contains(['#', ' '])
        && s.len() > 8
}

/// Plain `http://` on a host other than the local machine: codes and tickets sent there can be
/// read on the network.
fn is_remote_http(s: &str) -> bool {
    let Ok(u) = url::Url::parse(s) else {
        return false;
    };
    let local = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    u.scheme() == "http" && !local
}

/// Checks what an administrator registers; `allow_http` is the region's explicit permission for
/// plain-http return addresses on other hosts.
async fn validate_for(state: &AppState, a: &NewApplication) -> AppResult<()> {
    let allow_http = identity::policy::effective(state, a.node_id)
        .await?
        .allow_http_redirects;
    validate(a, allow_http)
}

fn validate(a: &NewApplication, allow_http: bool) -> AppResult<()> {
    let mut errors = kernel::error::FieldErrors::default();
    if !allow_http {
        let returns = a
            .redirect_uris
            .iter()
            .chain(&a.post_logout_redirect_uris)
            .chain(&a.backchannel_logout_uri);
        if returns.clone().any(|u| is_remote_http(u)) {
            errors.add("redirect_uris", "error.sso.http_not_allowed");
        }
        if a.service_prefix.as_deref().is_some_and(is_remote_http) {
            errors.add("service_prefix", "error.sso.http_not_allowed");
        }
    }
    if a.name.trim().is_empty() {
        errors.add("name", "error.required");
    }
    match a.protocol.as_str() {
        "oidc" => {
            if a.redirect_uris.is_empty()
                && !a.grant_types.iter().any(|g| g == "client_credentials")
            {
                errors.add("redirect_uris", "error.required");
            }
            if a.redirect_uris
                .iter()
                .chain(&a.post_logout_redirect_uris)
                .chain(&a.backchannel_logout_uri)
                .any(|u| !is_url(u))
            {
                errors.add("redirect_uris", "error.sso.bad_url");
            }
            if a.grant_types.iter().any(|g| !GRANTS.contains(&g.as_str())) {
                errors.add("grant_types", "error.sso.bad_grant_type");
            }
            if a.id_token_alg
                .as_deref()
                .is_some_and(|x| crate::keys::Alg::parse(x).is_none())
            {
                errors.add("id_token_alg", "error.sso.bad_alg");
            }
        }
        "cas" => {
            match a
                .service_prefix
                .as_deref()
                .map(crate::service_url::parse_prefix)
            {
                Some(Ok(_)) => {}
                Some(Err(why)) => errors.add("service_prefix", why.key()),
                None => errors.add("service_prefix", "error.sso.bad_url"),
            }
        }
        _ => errors.add("protocol", "error.sso.bad_protocol"),
    }
    if a.allowed_roles
        .iter()
        .any(|r| kernel::Role::parse(r).is_none())
    {
        errors.add("allowed_roles", "error.invalid_choice");
    }
    if a.home_url.as_deref().is_some_and(|u| !is_url(u))
        || a.icon_url
            .as_deref()
            .is_some_and(|u| !is_url(u) && !u.starts_with('/'))
    {
        errors.add("home_url", "error.sso.bad_url");
    }
    errors.into_result()
}

/// Registers an application; the actor must administer its node.
pub async fn register(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    a: NewApplication,
) -> AppResult<Registered> {
    authz::require(&state.db, actor, Permission::ManageApplications, a.node_id).await?;
    validate_for(state, &a).await?;
    // The client's key must be in the JWKS before the client first reads it.
    if let Some(alg) = a.id_token_alg.as_deref().and_then(crate::keys::Alg::parse) {
        crate::keys::signing_key(state, alg).await?;
    }
    let now = state.clock.now();
    let id = ApplicationId::new();
    let oidc = a.protocol == "oidc";
    let client_id = oidc.then(|| format!("jy-{}", &kernel::secret::random_token()[..16]));
    let secret = (oidc && !a.public).then(kernel::secret::random_token);
    let grants = if a.grant_types.is_empty() {
        vec!["authorization_code".to_owned(), "refresh_token".to_owned()]
    } else {
        a.grant_types.clone()
    };
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "INSERT INTO applications (id, node_id, protocol, name, description, icon_url, home_url, client_id, secret_hash,
           redirect_uris, post_logout_redirect_uris, grant_types, backchannel_logout_uri, id_token_alg, allow_password_grant,
           service_prefix, trusted, allowed_roles, created_at, updated_at, release_registry_no)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $20)",
    ).bind(id).bind(a.node_id).bind(&a.protocol).bind(a.name.trim()).bind(&a.description)
    .bind(&a.icon_url).bind(&a.home_url).bind(&client_id)
    .bind(secret.as_deref().map(kernel::secret::token_hash))
    .bind(json(&a.redirect_uris)).bind(json(&a.post_logout_redirect_uris)).bind(json(&grants))
    .bind(&a.backchannel_logout_uri).bind(a.id_token_alg.as_deref().unwrap_or("ES256"))
    .bind(a.allow_password_grant || grants.iter().any(|g| g == "password"))
    .bind(&a.service_prefix).bind(a.trusted).bind(json(&a.allowed_roles)).bind(now)
    .bind(a.release_registry_no)
    .execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        now,
        Who::from(actor),
        meta,
        AuditEvent::new("sso.application_create")
            .object("application", id)
            .node(a.node_id)
            .detail(serde_json::json!({ "name": a.name, "protocol": a.protocol, "client_id": client_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(Registered {
        id,
        client_id,
        client_secret: secret,
    })
}

/// The applications whose node is within the actor's reach, for the portal: those they may use.
pub async fn usable_by(db: &Db, actor: &Actor) -> AppResult<Vec<Application>> {
    let sql = format!("SELECT {COLUMNS} FROM applications WHERE active = TRUE ORDER BY name, id");
    let all: Vec<Application> =
        on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await)?;
    let mut out = Vec::new();
    for a in all {
        if may_use(db, &a, actor).await? {
            out.push(a);
        }
    }
    Ok(out)
}

/// The applications of a node's subtree, for its administrators.
pub async fn list_managed(db: &Db, actor: &Actor, node: NodeId) -> AppResult<Vec<Application>> {
    authz::require(db, actor, Permission::ManageApplications, node).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM applications a WHERE EXISTS (SELECT 1 FROM org_closure c WHERE c.descendant_id = a.node_id AND c.ancestor_id = $1) ORDER BY name, id"
    );
    Ok(on_db!(db, p => sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(node).fetch_all(p).await)?)
}

/// What an administrator may change of a registered application (absent fields stay). The
/// protocol, client id and grant types are fixed at registration; a new secret is its own action.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct AppChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Empty string removes it.
    pub icon_url: Option<String>,
    /// Empty string removes it.
    pub home_url: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Empty string removes it.
    pub backchannel_logout_uri: Option<String>,
    pub service_prefix: Option<String>,
    pub trusted: Option<bool>,
    /// Roles that may use it (`admin`, `teacher`, `head_teacher`, `student`, `guardian`); empty
    /// means every role of the subtree.
    pub allowed_roles: Option<Vec<String>>,
    /// Asks for the registry number (the region must allow it too).
    pub release_registry_no: Option<bool>,
    /// `false` deactivates it: its logins, tokens and tickets stop at once (access tokens already
    /// issued live out their few minutes); `true` brings it back.
    pub active: Option<bool>,
}

/// An application the actor manages, or `NotFound` (never revealing one elsewhere).
pub async fn managed(db: &Db, actor: &Actor, id: ApplicationId) -> AppResult<Application> {
    let app = get(db, id)
        .await?
        .ok_or(AppError::NotFound("sso.application_not_found"))?;
    if !authz::may(db, actor, Permission::ManageApplications, app.node_id).await? {
        return Err(AppError::NotFound("sso.application_not_found"));
    }
    Ok(app)
}

/// Changes an application (validated like a registration) with an audit record naming the
/// changed fields; clients see the change within [`CLIENT_CACHE_SECONDS`].
pub async fn update(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    id: ApplicationId,
    ch: AppChanges,
) -> AppResult<Application> {
    let app = managed(&state.db, actor, id).await?;
    let blank = |v: Option<String>, old: &Option<String>| match v {
        Some(s) if s.trim().is_empty() => None,
        Some(s) => Some(s.trim().to_owned()),
        None => old.clone(),
    };
    let next = NewApplication {
        node_id: app.node_id,
        protocol: app.protocol.clone(),
        name: ch.name.clone().unwrap_or_else(|| app.name.clone()),
        description: ch
            .description
            .clone()
            .unwrap_or_else(|| app.description.clone()),
        icon_url: blank(ch.icon_url.clone(), &app.icon_url),
        home_url: blank(ch.home_url.clone(), &app.home_url),
        redirect_uris: ch
            .redirect_uris
            .clone()
            .unwrap_or_else(|| app.redirect_uris.0.clone()),
        post_logout_redirect_uris: ch
            .post_logout_redirect_uris
            .clone()
            .unwrap_or_else(|| app.post_logout_redirect_uris.0.clone()),
        grant_types: app.grant_types.0.clone(),
        backchannel_logout_uri: blank(
            ch.backchannel_logout_uri.clone(),
            &app.backchannel_logout_uri,
        ),
        public: app.is_public(),
        id_token_alg: Some(app.id_token_alg.clone()),
        allow_password_grant: app.allow_password_grant,
        service_prefix: blank(ch.service_prefix.clone(), &app.service_prefix),
        trusted: ch.trusted.unwrap_or(app.trusted),
        allowed_roles: ch
            .allowed_roles
            .clone()
            .unwrap_or_else(|| app.allowed_roles.0.clone()),
        release_registry_no: ch.release_registry_no.unwrap_or(app.release_registry_no),
    };
    validate_for(state, &next).await?;
    let active = ch.active.unwrap_or(app.active);
    let mut changed = Vec::new();
    let mut note = |field: &'static str, differs: bool| {
        if differs {
            changed.push(field);
        }
    };
    note("name", next.name.trim() != app.name);
    note("description", next.description != app.description);
    note("icon_url", next.icon_url != app.icon_url);
    note("home_url", next.home_url != app.home_url);
    note("redirect_uris", next.redirect_uris != app.redirect_uris.0);
    note(
        "post_logout_redirect_uris",
        next.post_logout_redirect_uris != app.post_logout_redirect_uris.0,
    );
    note(
        "backchannel_logout_uri",
        next.backchannel_logout_uri != app.backchannel_logout_uri,
    );
    note("service_prefix", next.service_prefix != app.service_prefix);
    note("trusted", next.trusted != app.trusted);
    note("allowed_roles", next.allowed_roles != app.allowed_roles.0);
    note(
        "release_registry_no",
        next.release_registry_no != app.release_registry_no,
    );
    note("active", active != app.active);
    let now = state.clock.now();
    let json = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query(
        "UPDATE applications SET name = $2, description = $3, icon_url = $4, home_url = $5, redirect_uris = $6,
             post_logout_redirect_uris = $7, backchannel_logout_uri = $8, service_prefix = $9, trusted = $10,
             allowed_roles = $11, active = $12, updated_at = $13, release_registry_no = $14
         WHERE id = $1",
    ).bind(id).bind(next.name.trim()).bind(&next.description).bind(&next.icon_url).bind(&next.home_url)
    .bind(json(&next.redirect_uris)).bind(json(&next.post_logout_redirect_uris))
    .bind(&next.backchannel_logout_uri).bind(&next.service_prefix).bind(next.trusted)
    .bind(json(&next.allowed_roles)).bind(active).bind(now).bind(next.release_registry_no)
    .execute(c).await.map(|r| r.rows_affected()))?;
    let action = match (app.active, active) {
        (true, false) => "sso.application_deactivate",
        (false, true) => "sso.application_reactivate",
        _ => "sso.application_update",
    };
    audit::record(
        &mut tx,
        now,
        Who::from(actor),
        meta,
        AuditEvent::new(action)
            .object("application", id)
            .node(app.node_id)
            .detail(serde_json::json!({ "changed": changed })),
    )
    .await?;
    tx.commit().await?;
    forget_cached(state);
    get(&state.db, id)
        .await?
        .ok_or(AppError::NotFound("sso.application_not_found"))
}

/// A new client secret (the old one stops working); returned once.
pub async fn new_secret(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    id: ApplicationId,
) -> AppResult<Registered> {
    let app = managed(&state.db, actor, id).await?;
    if app.protocol != "oidc" || app.is_public() {
        return Err(AppError::BadRequest("sso.no_secret"));
    }
    let secret = kernel::secret::random_token();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    on_tx!(&mut tx, c => sqlx::query("UPDATE applications SET secret_hash = $2, updated_at = $3 WHERE id = $1")
        .bind(id).bind(kernel::secret::token_hash(&secret)).bind(now)
        .execute(c).await.map(|r| r.rows_affected()))?;
    audit::record(
        &mut tx,
        now,
        Who::from(actor),
        meta,
        AuditEvent::new("sso.application_secret")
            .object("application", id)
            .node(app.node_id),
    )
    .await?;
    tx.commit().await?;
    forget_cached(state);
    Ok(Registered {
        id,
        client_id: app.client_id,
        client_secret: Some(secret),
    })
}

/// Drops this node's cached clients so a change applies here at once.
fn forget_cached(state: &AppState) {
    state
        .cache::<ClientCache>()
        .map
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
}
